// Which instrumentations run (OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS), propagators, and export options.
import { beforeAll, describe, expect, it } from 'vitest';
import { byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});
type Seen = { seen: Record<string, string>[] };

async function run(service: string, env: Record<string, string>, protocol = 'grpc') {
  const result = await runApp('echo-headers.mjs', {
    env: {
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      FD_SERVICE_NAME: service,
      ...env,
    },
  });
  expect(result.code, result.stderr.join('\n')).toBe(0);
  return { ...result, output: JSON.parse(result.stdout.at(-1)!) as Seen };
}

describe('instrumentation selection', () => {
  it("by default (the official register's set): http, fetch and dns spans; traceparent injected into both requests", async () => {
    const { output } = await run('default-set', {});
    const spans = await receiver.waitForSpans({ where: byService('default-set'), count: 5 });
    const scopes = new Set(spans.map((s) => s.scope.name));
    expect(scopes).toEqual(
      new Set([
        '@opentelemetry/instrumentation-http',
        '@opentelemetry/instrumentation-undici',
        '@opentelemetry/instrumentation-dns', // loaded by the app's import of node:dns/promises
      ]),
    );
    expect(output.seen.map((h) => h.traceparent)).toEqual([
      expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    ]);
  });

  it('OTEL_NODE_ENABLED_INSTRUMENTATIONS loads a contrib instrumentation by name and only what is named', async () => {
    await run('enabled-dns', { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,dns' });
    const [lookup] = await receiver.waitForSpans(
      (s) => byService('enabled-dns')(s) && s.scope.name === '@opentelemetry/instrumentation-dns',
    );
    expect(lookup!.name).toMatch(/lookup/);
    expect(receiver.spans.filter((s) => byService('enabled-dns')(s) && s.scope.name.includes('undici'))).toEqual([]);
  });

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS removes one; unknown names give one warning', async () => {
    const { output, stderr } = await run('disabled-undici', {
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'undici',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici,no-such-thing',
    });
    await receiver.waitForSpans({ where: byService('disabled-undici'), count: 2 });
    const scopes = new Set(receiver.spans.filter(byService('disabled-undici')).map((s) => s.scope.name));
    expect(scopes).toEqual(new Set(['@opentelemetry/instrumentation-http']));
    // fetch is not instrumented, so only the http.get request carries context.
    expect(output.seen[0]!.traceparent).toBeUndefined();
    expect(output.seen[1]!.traceparent).toBeDefined();
    expect(stderr.filter((l) => l.includes('no-such-thing'))).toHaveLength(1);
  });
});

describe('propagators', () => {
  it('OTEL_PROPAGATORS=b3multi injects B3 headers instead of traceparent', async () => {
    const { output } = await run('b3', { OTEL_PROPAGATORS: 'b3multi' });
    const [client] = await receiver.waitForSpans((s) => byService('b3')(s) && s.kind === 3);
    const withB3 = output.seen.find((h) => h['x-b3-traceid'] === client!.traceId);
    expect(withB3).toBeDefined();
    expect(output.seen.every((h) => h.traceparent === undefined)).toBe(true);
  });
});

describe('export options', () => {
  it.each(['grpc', 'http/protobuf'])('OTEL_EXPORTER_OTLP_COMPRESSION=gzip over %s', async (protocol) => {
    const service = `gzip-${protocol.replace(/\W/g, '')}`;
    await run(service, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, protocol);
    await receiver.waitForSpans(byService(service));
    const requests = receiver.requests.filter((r) => r.protocol === protocol && r.spanCount > 0);
    expect(requests.some((r) => r.compressed === true)).toBe(true);
  });
});
