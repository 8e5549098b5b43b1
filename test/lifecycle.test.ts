// Start-up decisions, exporters other than OTLP, and how a traced process ends.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const SERVER = 2;
const CLIENT = 3;
const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

const otlp = (service: string, extra: Record<string, string> = {}) => agentEnv(receiver, service, extra);
const serve = (script: string, env: Record<string, string>) => h.serve(script, { env });

describe('tracing off', () => {
  it.each([
    ['TRACES_ENABLE unset', {}],
    ['TRACES_ENABLE=false', { TRACES_ENABLE: 'false' }],
    ['OTEL_SDK_DISABLED=true', { TRACES_ENABLE: 'true', OTEL_SDK_DISABLED: 'true' }],
  ])('%s: nothing from OpenTelemetry is loaded and nothing is printed', async (_label, env) => {
    for (const nodeArgs of [
      ['--require', '@x/trace-agent'],
      ['--import', '@x/trace-agent'],
    ]) {
      const run = await runApp('loaded-modules.cjs', { env, nodeArgs });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout[0]!)).toMatchObject({ loaded: 0 });
      expect(run.stderr).toEqual([]);
    }
  });
  it('a garbage TRACES_ENABLE gives one warning naming it and the app runs untraced', async () => {
    const run = await runApp('loaded-modules.cjs', { env: { TRACES_ENABLE: 'maybe' } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout[0]!)).toMatchObject({ loaded: 0 });
    expect(run.stderr).toEqual([expect.stringMatching(/^\[@x\/trace-agent\] warning: TRACES_ENABLE/)]);
  });
  it('tracing on does load the pipeline (control for the tests above)', async () => {
    const run = await runApp('loaded-modules.cjs', {
      env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none' },
      nodeArgs: ['--require', '@x/trace-agent'],
    });
    expect(JSON.parse(run.stdout[0]!).loaded).toBeGreaterThan(0);
  });
});

const SYSTEM_NODE = '/usr/bin/node';
const oldNode = existsSync(SYSTEM_NODE) && Number(/^v(\d+)/.exec(String(readVersion(SYSTEM_NODE)))?.[1]) < 22;
function readVersion(bin: string): string {
  try {
    return execFileSync(bin, ['--version']).toString();
  } catch {
    return 'v999';
  }
}

describe.runIf(oldNode)('Node older than 22.15', () => {
  it('warns once, keeps tracing off, and the app runs', async () => {
    const run = await runApp('loaded-modules.cjs', {
      node: SYSTEM_NODE,
      env: { TRACES_ENABLE: 'true' },
      nodeArgs: ['--require', '@x/trace-agent'],
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout[0]!)).toMatchObject({ loaded: 0 });
    expect(run.stderr).toEqual([expect.stringMatching(/warning: Node 2\d\.\d+\.\d+ is not supported/)]);
  });
});

describe('exporters without a collector', () => {
  it('TRACES_ENABLE=true alone prints spans on the console', async () => {
    const { port } = await serve('http-server.mjs', { FD_SERVICE_NAME: 'console-server' });
    const run = await runApp('http-client.mjs', {
      env: { TRACES_ENABLE: 'true', FD_SERVICE_NAME: 'console-client' },
      args: [`http://127.0.0.1:${port}/`],
    });
    expect(run.code).toBe(0);
    const out = run.stdout.join('\n');
    expect(out).toContain(JSON.stringify({ body: 'hello' }));
    expect(out).toMatch(/traceId: '[0-9a-f]{32}'/);
    expect(out).toMatch(/'service\.name': 'console-client'/);
  });
  it('TRACES_EXPORTER=file appends one OTLP/JSON export request per line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trace-agent-')), 'traces.jsonl');
    const { port } = await serve('http-server.mjs', {
      TRACES_ENABLE: 'true',
      TRACES_EXPORTER: 'file',
      TRACES_FILE: file,
      FD_SERVICE_NAME: 'file-server',
    });
    const run = await runApp('http-client.mjs', {
      env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'file', TRACES_FILE: file, FD_SERVICE_NAME: 'file-client' },
      args: [`http://127.0.0.1:${port}/`],
    });
    expect(run.code).toBe(0);
    const deadline = Date.now() + 5000;
    let spans: {
      name: string;
      kind: number;
      traceId: string;
      parentSpanId?: string;
      spanId: string;
      service: string;
    }[] = [];
    while (Date.now() < deadline) {
      const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
      spans = lines.flatMap((line) =>
        (JSON.parse(line).resourceSpans as any[]).flatMap((rs) =>
          rs.scopeSpans.flatMap((ss: any) =>
            ss.spans.map((s: any) => ({
              ...s,
              service: rs.resource.attributes.find((a: any) => a.key === 'service.name').value.stringValue,
            })),
          ),
        ),
      );
      if (spans.some((s) => s.service === 'file-server')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const client = spans.find((s) => s.service === 'file-client' && s.kind === CLIENT)!;
    const server = spans.find((s) => s.service === 'file-server' && s.kind === SERVER)!;
    expect(client).toBeDefined();
    expect(server.traceId).toBe(client.traceId);
    expect(server.parentSpanId).toBe(client.spanId);
  });
});

describe('sampling', () => {
  it('OTEL_TRACES_SAMPLER=always_off records nothing; traceidratio 1 records everything', async () => {
    const { port } = await serve('http-server.mjs', otlp('sampled-server'));
    const off = await runApp('http-client.mjs', {
      env: otlp('unsampled-client', { OTEL_TRACES_SAMPLER: 'always_off' }),
      args: [`http://127.0.0.1:${port}/a`],
    });
    const onRun = await runApp('http-client.mjs', {
      env: otlp('ratio-client', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' }),
      args: [`http://127.0.0.1:${port}/b`],
    });
    expect([off.code, onRun.code]).toEqual([0, 0]);
    await receiver.waitForSpans((s) => byService('ratio-client')(s));
    await receiver.waitForSpans((s) => byService('sampled-server')(s) && s.attributes['url.path'] === '/b');
    // The unsampled caller's flag travels: the parent-based server does not record /a either.
    expect(receiver.spans.filter(byService('unsampled-client'))).toEqual([]);
    expect(receiver.spans.filter((s) => s.attributes['url.path'] === '/a')).toEqual([]);
  });
});

describe('ending the process', () => {
  // A minute-long batch delay: only the agent's exit-time flush can deliver these spans.
  const slowBatch = { FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '60000' };

  it('natural exit delivers every finished span', async () => {
    const { port } = await serve('http-server.mjs', otlp('natural-server'));
    const run = await runApp('http-client.mjs', {
      env: otlp('natural-exit', slowBatch),
      args: [`http://127.0.0.1:${port}/`],
    });
    expect(run.code).toBe(0);
    await receiver.waitForSpans((s) => byService('natural-exit')(s) && s.kind === CLIENT, 3000);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s without an app handler: spans delivered, process dies of the signal',
    async (signal) => {
      const service = `signal-${signal}`;
      const { app, port } = await serve('http-server.mjs', otlp(service, slowBatch));
      await (await fetch(`http://127.0.0.1:${port}/`)).text();
      const started = Date.now();
      app.kill(signal);
      const exit = await app.exited;
      expect(exit).toEqual({ code: null, signal });
      expect(Date.now() - started).toBeLessThan(5000);
      await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER, 3000);
    },
  );

  it('SIGTERM with the collector down still ends within the shutdown timeout', async () => {
    const { app, port } = await serve('http-server.mjs', {
      ...otlp('signal-down', slowBatch),
      EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // discard port: nothing listens
      TRACES_SHUTDOWN_TIMEOUT_MS: '1000',
    });
    await (await fetch(`http://127.0.0.1:${port}/`)).text();
    const started = Date.now();
    app.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('an app with its own SIGTERM handler keeps control of its shutdown and exit status', async () => {
    const service = 'own-sigterm';
    const { app, port } = await serve('own-sigterm.mjs', otlp(service, slowBatch));
    await (await fetch(`http://127.0.0.1:${port}/`)).text();
    // A service that has run for a moment: its exporter is warm (built 250 ms after start), so the flush the
    // agent starts at the signal completes within the 100 ms this app gives itself before process.exit().
    await new Promise((r) => setTimeout(r, 600));
    app.kill('SIGTERM');
    await app.waitForJson((v) => v.draining === true);
    expect(await app.exited).toEqual({ code: 7, signal: null });
    // The agent flushed when the signal came, before the app's own exit.
    await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER, 3000);
  });
});

describe('worker threads', () => {
  it('a worker exports its own spans, joined to the main thread by trace context', async () => {
    const service = 'worker-app';
    const run = await runApp('worker-request.mjs', { env: otlp(service) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stdout).toContain(JSON.stringify({ worker: 'from-main' }));
    const [client] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === CLIENT);
    const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(client!.resource['thread.id']).toBeGreaterThan(0);
    expect(server!.resource['thread.id']).toBeUndefined();
    expect(server!.traceId).toBe(client!.traceId);
    expect(server!.parentSpanId).toBe(client!.spanId);
  });
});

describe('bad environment values', () => {
  it('each gives one warning naming the variable, never a secret, and tracing goes on with fallbacks', async () => {
    const service = 'bad-env';
    const { port } = await serve('http-server.mjs', otlp('bad-env-server'));
    const run = await runApp('http-client.mjs', {
      env: otlp(service, {
        OTEL_BSP_SCHEDULE_DELAY: 'soon',
        EXPORTER_OTLP_HEADERS: 'authorization=Bearer s3cr3t-token,broken-pair',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_LOG_LEVEL: 'loud',
      }),
      args: [`http://127.0.0.1:${port}/`],
    });
    expect(run.code).toBe(0);
    const warnings = run.stderr.filter((l) => l.startsWith('[@x/trace-agent]'));
    for (const name of ['OTEL_BSP_SCHEDULE_DELAY', 'EXPORTER_OTLP_HEADERS', 'OTEL_TRACES_SAMPLER', 'OTEL_LOG_LEVEL']) {
      expect(
        warnings.filter((w) => w.includes(name)),
        name,
      ).toHaveLength(1);
    }
    expect(run.stderr.join('\n')).not.toContain('s3cr3t');
    const [span] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === CLIENT);
    expect(span!.headers.authorization).toBe('Bearer s3cr3t-token');
  });
});

describe('package managers', () => {
  const npmCli = '/usr/lib/node_modules/npm/bin/npm-cli.js';
  it.runIf(existsSync(npmCli))('NODE_OPTIONS reaches npm too, but only the app it starts is traced', async () => {
    const register = new URL('../dist/register.js', import.meta.url).href;
    const env = {
      TRACES_ENABLE: 'true',
      TRACES_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'info',
      NODE_OPTIONS: `--import ${register}`,
    };
    const run = await runApp(npmCli, {
      nodeArgs: [],
      args: ['--prefix', new URL('./fixtures/npm-app', import.meta.url).pathname, 'run', '--silent', 'start'],
      env,
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const starts = run.stderr.filter((l) => l.includes('tracing on:'));
    expect(starts).toHaveLength(1);
    expect(JSON.parse(run.stdout.at(-1)!).loaded).toBeGreaterThan(0);
    // TRACES_PACKAGE_MANAGERS=true traces npm itself as well: two pipelines start.
    const both = await runApp(npmCli, {
      nodeArgs: [],
      args: ['--prefix', new URL('./fixtures/npm-app', import.meta.url).pathname, 'run', '--silent', 'start'],
      env: { ...env, TRACES_PACKAGE_MANAGERS: 'true' },
    });
    expect(both.stderr.filter((l) => l.includes('tracing on:'))).toHaveLength(2);
  });
});
