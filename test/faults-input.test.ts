// Bad input from every side: the app's own odd calls into the instrumented APIs (nothing the instrumentations do
// may change what the app sees), an exporter that fails for real (unwritable file), and a process environment full
// of bad values (the app starts, one warning per variable, tracing goes on with the fallbacks).
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentLines, load, sleep } from './helpers/fault-utils.js';
import { byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness({ apps: 'each', receivers: 'all' }); // apps killed also when a test fails midway
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});
const startApp = h.start;

/** Ports and OpenSSL's per-process addresses differ from run to run; nothing else may. */
const normalize = (lines: string[]) =>
  lines.map((l) => l.replace(/:\d{4,5}\b/g, ':PORT').replace(/\b[0-9A-F]{8,}\b/g, 'HEX'));
const probeLines = (lines: string[]) => lines.filter((l) => l.startsWith('{"probe"') || l.startsWith('{"done"'));

describe('odd and wrong calls into instrumented APIs (http, https, fetch, raw requests, console)', () => {
  let plain: Awaited<ReturnType<typeof runApp>>;
  beforeAll(async () => {
    plain = await runApp('fault-misuse.mjs', { nodeArgs: [] });
    expect(plain.code).toBe(0);
    expect(probeLines(plain.stdout).length).toBeGreaterThan(40);
  });

  it('with spans and logs exported: stdout and stderr identical to the run without the agent', async () => {
    const service = 'misuse';
    const run = await runApp('fault-misuse.mjs', {
      env: { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, FD_SERVICE_NAME: service },
    });
    expect(run.code).toBe(0);
    expect(normalize(run.stdout)).toEqual(normalize(plain.stdout));
    expect(normalize(run.stderr)).toEqual(normalize(plain.stderr));
    // The instrumentations were at work all along: client and server spans, the raw requests' tcp.connect (net,
    // loaded when the probe imports node:net), console records.
    const spans = await receiver.waitForSpans({ where: byService(service), count: 30 }, 15_000);
    expect(new Set(spans.map((s) => s.kindName))).toEqual(new Set(['SERVER', 'CLIENT', 'INTERNAL']));
    expect(new Set(spans.filter((s) => s.kindName === 'INTERNAL').map((s) => s.scope.name))).toEqual(
      new Set(['@opentelemetry/instrumentation-net']),
    );
    await receiver.waitForLogs(
      (l) => l.resource['service.name'] === service && String(l.body).includes('outer'),
      15_000,
    );
  });

  it('with TRACES_LOG_FORMAT=jsonl and debug diagnostics: same outcomes for every probe; console lines are JSON', async () => {
    const run = await runApp('fault-misuse.mjs', {
      env: {
        TRACES_ENABLE: 'true',
        TRACES_EXPORTER: 'console',
        TRACES_LOG_FORMAT: 'jsonl',
        OTEL_LOG_LEVEL: 'debug',
        OTEL_LOGS_EXPORTER: 'none',
      },
    });
    expect(run.code).toBe(0);
    expect(normalize(probeLines(run.stdout))).toEqual(normalize(probeLines(plain.stdout)));
    // No agent error of any kind while all that happened.
    expect(agentLines(run.stderr).filter((l) => /\] (error|warn):/.test(l))).toEqual([]);
  });
});

describe('an exporter that fails for real', () => {
  it('unwritable TRACES_FILE: one warning naming the file, the app unaffected, also at exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fault-file-'));
    chmodSync(dir, 0o500); // read-only directory: appends fail with EACCES (root ignores this: then a missing dir)
    const file = process.getuid?.() === 0 ? join(dir, 'missing', 'spans.jsonl') : join(dir, 'spans.jsonl');
    const app = startApp('fault-server.mjs', {
      env: {
        TRACES_ENABLE: 'true',
        TRACES_EXPORTER: 'file',
        TRACES_FILE: file,
        FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '100',
      },
    });
    const { port } = await app.waitForJson<{ port: number }>((v) => typeof v.port === 'number');
    for (let round = 0; round < 5; round++) {
      const results = await load(`http://127.0.0.1:${port}/`, 50);
      expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
      await sleep(200); // several batches, each failing
    }
    app.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const lines = agentLines(app.stderr);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`cannot write spans to ${file.replace(/[/.]/g, '\\$&')}: (EACCES|ENOENT)`)),
    ]);
    expect(existsSync(file)).toBe(false);
  });
});

describe('a process environment full of bad values', () => {
  // One bad value per variable the agent reads (those not shadowed by a higher-precedence twin).
  const BAD: Record<string, string> = {
    OTEL_SDK_DISABLED: 'perhaps',
    OTEL_NODE_RESOURCE_DETECTORS: 'k8s,none,env',
    TRACES_EXPORTER: 'zipkin,otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc-web',
    OTEL_EXPORTER_OTLP_HEADERS: 'ok=1,novalue,bad key=2',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli',
    OTEL_EXPORTER_OTLP_TIMEOUT: '10s',
    FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '-100',
    FD_OTLP_EXPORTER_MAX_EXPORT_BATCH_SIZE: '1e3',
    OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
    OTEL_BSP_EXPORT_TIMEOUT: '0x20',
    OTEL_TRACES_SAMPLER: 'parentbased_sometimes',
    OTEL_PROPAGATORS: 'tracecontext,xray',
    OTEL_LOGS_EXPORTER: 'loki,otlp',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://logs:21',
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'udp',
    OTEL_BLRP_MAX_QUEUE_SIZE: '0',
    TRACES_CONSOLE_LOGS: 'si',
    TRACES_LOG_FORMAT: 'yaml',
    TRACES_ZMQ_PROPAGATION: 'maybe',
    TRACES_SHUTDOWN_TIMEOUT_MS: 'forever',
    OTEL_RESOURCE_ATTRIBUTES: 'team=core,=x,service.name=',
    OTEL_LOG_LEVEL: 'chatty',
  };

  it('the app starts and answers, each variable is named in exactly one warning, spans still arrive', async () => {
    const service = 'bad-env-e2e';
    const app = startApp('fault-server.mjs', {
      env: { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, FD_SERVICE_NAME: service, ...BAD },
    });
    const { port } = await app.waitForJson<{ port: number }>((v) => typeof v.port === 'number');
    const results = await load(`http://127.0.0.1:${port}/`, 20);
    expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
    const spans = await receiver.waitForSpans({ where: byService(service), count: 20 }, 15_000);
    expect(spans[0]!.resource.team).toBe('core'); // the good part of OTEL_RESOURCE_ATTRIBUTES was kept
    expect(spans[0]!.headers.ok).toBe('1'); // and the good header
    app.kill('SIGTERM');
    await app.exited;
    const lines = agentLines(app.stderr);
    for (const name of Object.keys(BAD)) {
      const naming = lines.filter((l) => new RegExp(`(^|[^A-Z_])${name}([^A-Z_]|$)`).test(l));
      expect(naming, `${name}:\n${lines.join('\n')}`).toHaveLength(1);
    }
    expect(lines).toHaveLength(Object.keys(BAD).length);
  });

  it('slice API settings, read at first use: each bad variable named once, the calls still work', async () => {
    const run = await runApp('fault-slice-env.mjs', {
      env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', TRACES_REQ_TTL_MS: 'a while', TRACES_REQ_MAX: '-3' },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toEqual([JSON.stringify({ traced: true })]);
    const lines = agentLines(run.stderr);
    for (const name of ['TRACES_REQ_TTL_MS', 'TRACES_REQ_MAX']) {
      expect(
        lines.filter((l) => l.includes(name)),
        lines.join('\n'),
      ).toHaveLength(1);
    }
  });
});
