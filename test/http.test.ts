// End to end: real processes preloaded with the agent, real sockets, spans decoded by the real OTLP receiver.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { REPO_ROOT, runApp } from './helpers/run-app.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const SERVER = 2;
const CLIENT = 3;

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

function endpointFor(protocol: string): string {
  return protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl;
}

const startServer = (env: Record<string, string>, script = 'http-server.mjs', nodeArgs?: string[]) =>
  h.serve(script, { env, nodeArgs });

describe.each(['grpc', 'http/protobuf', 'http/json'])('over %s', (protocol) => {
  it('joins a client process and a server process in one trace, with headers, resource and x-request-id', async () => {
    const tag = protocol.replace(/\W/g, '-');
    const common = {
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: endpointFor(protocol),
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
      // A value containing '=' and a percent-encoded space: both must arrive intact.
      EXPORTER_OTLP_HEADERS: 'Authentication=Tok=en%20x, x-tenant = acme',
      FD_HOST_NAME: 'trace_test',
    };
    const { port } = await startServer({ ...common, FD_SERVICE_NAME: `server-${tag}` });
    const client = await runApp('http-client.mjs', {
      env: { ...common, FD_SERVICE_NAME: `client-${tag}` },
      args: [`http://127.0.0.1:${port}/`],
    });
    expect(client.code, client.stderr.join('\n')).toBe(0);
    expect(client.stdout).toContain(JSON.stringify({ body: 'hello' }));

    const [clientSpan] = await receiver.waitForSpans((s) => byService(`client-${tag}`)(s) && s.kind === CLIENT);
    const [serverSpan] = await receiver.waitForSpans((s) => byService(`server-${tag}`)(s) && s.kind === SERVER);
    expect(serverSpan!.traceId).toBe(clientSpan!.traceId);
    expect(serverSpan!.parentSpanId).toBe(clientSpan!.spanId);
    expect(serverSpan!.name).toMatch(/^GET/);
    expect(serverSpan!.attributes.x_request_id).toBe('req-42');
    expect(serverSpan!.attributes['http.request.method'] ?? serverSpan!.attributes['http.method']).toBe('GET');
    expect(serverSpan!.resource['host.name']).toBe('trace_test');
    expect(serverSpan!.resource['process.pid']).toBeTypeOf('number');
    expect(serverSpan!.resource).toMatchObject({
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.version': expect.stringMatching(/^\d+\.\d+\.\d+/),
      'telemetry.distro.name': '@x/trace-agent',
      'telemetry.distro.version': PACKAGE_VERSION,
    });
    expect(serverSpan!.protocol).toBe(protocol);
    expect(serverSpan!.headers.authentication).toBe('Tok=en x');
    expect(serverSpan!.headers['x-tenant']).toBe('acme');
    expect(clientSpan!.headers.authentication).toBe('Tok=en x');
  });
});

describe('entry points', () => {
  const cases: [string, string, string[], Record<string, string>][] = [
    ['--import, ESM app', 'http-server.mjs', ['--import', '@x/trace-agent'], {}],
    ['--import, CJS app', 'http-server.cjs', ['--import', '@x/trace-agent'], {}],
    ['--require, CJS app', 'http-server.cjs', ['--require', '@x/trace-agent'], {}],
    ['NODE_OPTIONS=--import, ESM app', 'http-server.mjs', [], { NODE_OPTIONS: '--import @x/trace-agent' }],
    [
      '--require and --import together start one agent',
      'http-server.mjs',
      ['--require', '@x/trace-agent', '--import', '@x/trace-agent'],
      {},
    ],
  ];
  it.each(cases)(
    '%s: server and outgoing spans (fetch and http.get) in one trace',
    async (label, script, nodeArgs, extraEnv) => {
      const service = `entry-${label.replace(/\W+/g, '-')}`;
      const { port } = await startServer(
        { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, FD_SERVICE_NAME: service, ...extraEnv },
        script,
        nodeArgs,
      );
      for (const via of ['fetch', 'http']) {
        const res = await fetch(
          `http://127.0.0.1:${port}/proxy?via=${via}&to=${encodeURIComponent(`http://127.0.0.1:${port}/leaf-${via}`)}`,
        );
        expect(await res.text()).toBe('proxied:hello');
        const spans = await receiver.waitForSpans({
          where: (s) => byService(service)(s) && s.attributes['url.path'] === `/leaf-${via}`,
          count: 1,
        });
        const leaf = spans.find((s) => s.kind === SERVER)!;
        // The three spans may come in two exports (the proxy's ends last): wait for the outgoing one and its parent.
        const [outgoing] = await receiver.waitForSpans({ where: (s) => s.spanId === leaf.parentSpanId, count: 1 });
        await receiver.waitForSpans({ where: (s) => s.spanId === outgoing?.parentSpanId, count: 1 });
        const all = receiver.spans.filter(byService(service));
        expect(outgoing, `the /leaf-${via} server span's parent is the outgoing ${via} span`).toBeDefined();
        expect(outgoing!.kind).toBe(CLIENT);
        const proxy = all.find((s) => s.spanId === outgoing!.parentSpanId);
        expect(proxy?.kind).toBe(SERVER);
        expect(proxy!.parentSpanId).toBe('');
        expect(new Set([leaf.traceId, outgoing!.traceId, proxy!.traceId]).size).toBe(1);
        // Exactly one span per operation: a second agent would have produced duplicates.
        expect(all.filter((s) => s.attributes['url.path'] === `/leaf-${via}` && s.kind === SERVER)).toHaveLength(1);
      }
    },
  );
});

describe('recorded spans', () => {
  it("are the agent's lean spans in a preloaded process (the SDK Tracer is only the fallback)", async () => {
    const service = 'lean-spans';
    const { port } = await startServer(
      { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, FD_SERVICE_NAME: service },
      'http-server.cjs',
      ['--require', '@x/trace-agent'],
    );
    expect(await (await fetch(`http://127.0.0.1:${port}/active-span`)).text()).toBe('LeanSpan');
    const [span] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(span!.attributes['url.path']).toBe('/active-span');
    expect(span!.attributes['http.response.status_code']).toBe(200);
    // The scope of @opentelemetry/instrumentation-http, at the version test/http-parity.test.ts compares against.
    const installed = JSON.parse(
      readFileSync(join(REPO_ROOT, 'node_modules/@opentelemetry/instrumentation-http/package.json'), 'utf8'),
    ) as { version: string };
    expect(span!.scope).toMatchObject({ name: '@opentelemetry/instrumentation-http', version: installed.version });
  });
});

describe('incoming trace context', () => {
  it('continues a W3C traceparent sent by a caller without the agent', async () => {
    const service = 'continue-traceparent';
    const { port } = await startServer({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl,
      FD_SERVICE_NAME: service,
    });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await (
      await fetch(`http://127.0.0.1:${port}/`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } })
    ).text();
    const [span] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(span!.traceId).toBe(traceId);
    expect(span!.parentSpanId).toBe(parentId);
  });
});
