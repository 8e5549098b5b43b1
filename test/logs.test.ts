// Logs end to end: real processes preloaded with the agent, records decoded by the real OTLP receiver on all
// three protocols, correlated with the spans that were active when the app wrote them.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { cleanEnv, FIXTURES, REPO_ROOT, runApp, TEST_NODE } from './helpers/run-app.js';

const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const SEVERITY = { DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17 } as const;

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

const ofService = byService;
const endpointOf = (r: OtlpReceiver, protocol: Protocol) => (protocol === 'grpc' ? r.grpcUrl : r.httpUrl);
const otlpEnv = (service: string, protocol: Protocol, extra: Record<string, string> = {}) => ({
  TRACES_ENABLE: 'true',
  EXPORTER_OTLP_ENDPOINT: endpointOf(receiver, protocol),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  FD_SERVICE_NAME: service,
  ...extra,
});
const tag = (protocol: string) => protocol.replace(/\W/g, '-');

/** What logs-script.mjs writes: body as util.format renders it, severity, and the span it is written in. */
const SCRIPT_RECORDS: {
  body: string;
  severity: keyof typeof SEVERITY;
  span: 'work' | 'child' | null;
  iostream: string;
}[] = [
  { body: 'outside a span 42', severity: 'INFO', span: null, iostream: 'stdout' },
  { body: 'plain formatted line', severity: 'INFO', span: 'work', iostream: 'stdout' },
  { body: "info line { user: 'u1', count: 3 }", severity: 'INFO', span: 'work', iostream: 'stdout' },
  { body: 'warn line', severity: 'WARN', span: 'work', iostream: 'stderr' },
  { body: 'error line { code: 7, nested: { ok: true } }', severity: 'ERROR', span: 'work', iostream: 'stderr' },
  { body: 'debug line', severity: 'DEBUG', span: 'work', iostream: 'stdout' },
  { body: '100% literal and %d 5', severity: 'INFO', span: 'work', iostream: 'stdout' },
  { body: 'in child', severity: 'INFO', span: 'child', iostream: 'stdout' },
  { body: 'after the spans', severity: 'ERROR', span: null, iostream: 'stderr' },
];

async function scriptSpans(service: string) {
  const spans = await receiver.waitForSpans({ where: ofService(service), count: 2 });
  const work = spans.find((s) => s.name === 'work')!;
  const child = spans.find((s) => s.name === 'child')!;
  expect(child.parentSpanId).toBe(work.spanId);
  return { work, child };
}

describe.each(PROTOCOLS)('console records over %s', (protocol) => {
  it('carry severity, body and the trace/span ids of the active span; headers and resource apply', async () => {
    const service = `logs-console-${tag(protocol)}`;
    const run = await runApp('logs-script.mjs', {
      env: otlpEnv(service, protocol, {
        EXPORTER_OTLP_HEADERS: 'x-tenant=acme',
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs-key=L%201',
        FD_HOST_NAME: 'logs_host',
      }),
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const { work, child } = await scriptSpans(service);
    const logs = await receiver.waitForLogs({ where: ofService(service), count: SCRIPT_RECORDS.length });
    expect(logs).toHaveLength(SCRIPT_RECORDS.length);
    for (const want of SCRIPT_RECORDS) {
      const log = logs.find((l) => l.body === want.body);
      expect(log, `a record with body ${JSON.stringify(want.body)}`).toBeDefined();
      expect(log!.severityNumber).toBe(SEVERITY[want.severity]);
      expect(log!.severityText).toBe(want.severity);
      expect(log!.attributes['log.iostream']).toBe(want.iostream);
      const span = want.span === 'work' ? work : want.span === 'child' ? child : undefined;
      expect(log!.traceId).toBe(span?.traceId ?? '');
      expect(log!.spanId).toBe(span?.spanId ?? '');
      expect(log!.timeUnixNano).toBeGreaterThan(0n);
      expect(log!.scope.name).toBe('@x/trace-agent/console');
      expect(log!.resource['host.name']).toBe('logs_host');
      expect(log!.protocol).toBe(protocol);
      expect(log!.headers['x-tenant']).toBe('acme');
      expect(log!.headers['x-logs-key']).toBe('L 1');
    }
    // Records keep the order they were written in.
    const times = SCRIPT_RECORDS.map((want) => logs.find((l) => l.body === want.body)!.timeUnixNano);
    expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(times);
    // The logs-only header stays off the trace export.
    expect(work.headers['x-tenant']).toBe('acme');
    expect(work.headers['x-logs-key']).toBeUndefined();
  });
});

/** Runs a fixture and keeps its raw stdout/stderr bytes. */
function runRaw(script: string, nodeArgs: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }>((done, fail) => {
    const child = spawn(TEST_NODE, [...nodeArgs, resolve(FIXTURES, script)], {
      cwd: REPO_ROOT,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

describe('console output', () => {
  it('stays byte-identical in text format while records are exported', async () => {
    const service = 'logs-identical';
    const bare = await runRaw('logs-script.mjs', [], {});
    const traced = await runRaw('logs-script.mjs', ['--import', '@x/trace-agent'], otlpEnv(service, 'grpc'));
    expect(traced.code).toBe(0);
    expect(bare.stdout.length).toBeGreaterThan(0);
    expect(traced.stdout.equals(bare.stdout), `stdout:\n${traced.stdout}\nvs\n${bare.stdout}`).toBe(true);
    expect(traced.stderr.equals(bare.stderr), `stderr:\n${traced.stderr}\nvs\n${bare.stderr}`).toBe(true);
    // Control: the traced run did export its records.
    await receiver.waitForLogs({ where: ofService(service), count: SCRIPT_RECORDS.length });
  });

  it('TRACES_CONSOLE_LOGS=false exports no console records; OTEL_LOGS_EXPORTER=none exports no logs at all', async () => {
    for (const [service, extra] of [
      ['logs-console-off', { TRACES_CONSOLE_LOGS: 'false' }],
      ['logs-exporter-none', { OTEL_LOGS_EXPORTER: 'none' }],
    ] as const) {
      const run = await runApp('logs-script.mjs', { env: otlpEnv(service, 'http/protobuf', extra) });
      expect(run.code).toBe(0);
      await scriptSpans(service); // spans are flushed at exit together with any records
      await receiver.waitForRequests((r) => r.signal === 'traces' && r.spanCount > 0);
      expect(receiver.logs.filter(ofService(service))).toEqual([]);
    }
  });

  it('records written in an HTTP request handler carry the server span ids', async () => {
    const service = 'logs-http-server';
    const { app, port } = await h.serve('logs-server.mjs', { env: otlpEnv(service, 'grpc') });
    expect(await (await fetch(`http://127.0.0.1:${port}/items/7`)).text()).toBe('ok');
    const [log] = await receiver.waitForLogs((l) => ofService(service)(l) && l.body === 'handling /items/7');
    const [server] = await receiver.waitForSpans((s) => ofService(service)(s) && s.kind === 2);
    expect(log!.traceId).toBe(server!.traceId);
    expect(log!.spanId).toBe(server!.spanId);
    expect(app.stdout).toContain('handling /items/7');
    app.kill('SIGKILL');
  });
});

interface JsonLine {
  time: string;
  level: string;
  message: string;
  trace_id?: string;
  span_id?: string;
  [field: string]: unknown;
}

describe("Dynamo's variables", () => {
  it('OTEL_EXPORT_ENABLED=true and DYN_LOGGING_JSONL=true alone: spans and records exported, console lines as JSONL', async () => {
    const service = 'dynamo-vars';
    const run = await runApp('logs-script.mjs', {
      env: {
        OTEL_EXPORT_ENABLED: 'true',
        DYN_LOGGING_JSONL: 'true',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.grpcUrl,
        OTEL_SERVICE_NAME: service,
      },
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const lines = run.stdout.map((line) => JSON.parse(line) as JsonLine);
    expect(lines.map((l) => l.message)).toContain('in child');
    const { child } = await scriptSpans(service);
    expect(lines.find((l) => l.message === 'in child')).toMatchObject({
      trace_id: child.traceId,
      span_id: child.spanId,
    });
    await receiver.waitForLogs((l) => ofService(service)(l) && l.body === 'in child');
  });
});

describe('TRACES_LOG_FORMAT=jsonl', () => {
  it('prints one JSON object per line with time, level, message, ids inside spans, and fields', async () => {
    const service = 'logs-jsonl';
    const run = await runApp('logs-script.mjs', { env: otlpEnv(service, 'http/json', { TRACES_LOG_FORMAT: 'jsonl' }) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const stdout = run.stdout.map((line) => JSON.parse(line) as JsonLine);
    const stderr = run.stderr.map((line) => JSON.parse(line) as JsonLine);
    expect(stdout.map((l) => l.message)).toEqual([
      'outside a span 42',
      'plain formatted line',
      'info line',
      'debug line',
      '100% literal and %d 5',
      'in child',
    ]);
    expect(stderr.map((l) => l.message)).toEqual(['warn line', 'error line', 'after the spans']);
    const { work, child } = await scriptSpans(service);
    const records = await receiver.waitForLogs({ where: ofService(service), count: SCRIPT_RECORDS.length });
    for (const line of [...stdout, ...stderr]) {
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(Math.abs(Date.parse(line.time) - Date.now())).toBeLessThan(60_000);
      const want = SCRIPT_RECORDS.find((r) => r.body.startsWith(line.message))!;
      expect(line.level).toBe(want.severity);
      const span = want.span === 'work' ? work : want.span === 'child' ? child : undefined;
      if (span) {
        expect(line.trace_id).toBe(span.traceId);
        expect(line.span_id).toBe(span.spanId);
      } else {
        expect(line).not.toHaveProperty('trace_id');
        expect(line).not.toHaveProperty('span_id');
      }
      // The exported record is the same event: same message, same microsecond, same ids.
      const record = records.find((r) => r.body === line.message)!;
      expect(record.timeUnixNano / 1000n).toBe(BigInt(Date.parse(line.time)) * 1000n + BigInt(line.time.slice(23, 26)));
      expect(record.spanId).toBe(span?.spanId ?? '');
    }
    expect(stdout.find((l) => l.message === 'info line')).toMatchObject({ user: 'u1', count: 3 });
    expect(stderr.find((l) => l.message === 'error line')).toMatchObject({ code: 7, nested: { ok: true } });
    expect(records.find((r) => r.body === 'info line')!.attributes).toMatchObject({ user: 'u1', count: 3 });
  });

  it('works without exporting logs, and a field never overwrites the line keys', async () => {
    const run = await runApp('logs-jsonl-fields.mjs', {
      env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', TRACES_LOG_FORMAT: 'jsonl' },
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const lines = run.stdout.map((line) => JSON.parse(line) as JsonLine);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'clash',
      'fields.level': 'mine',
      'fields.trace_id': 'x',
      other: 1,
    });
    expect(lines[0]!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[1]).toMatchObject({
      message: 'big',
      n: '12345678901234567890',
      err: { type: 'Error', message: 'bad', stack: expect.stringContaining('logs-jsonl-fields.mjs') },
      self: { n: '12345678901234567890', self: '[Circular]' },
    });
    expect(lines[2]).toMatchObject({ level: 'DEBUG', message: 'a %s literal' });
  });
});

describe.each([
  ['CommonJS', 'logs-libs.cjs'],
  ['ESM', 'logs-libs.mjs'],
])('pino, winston and bunyan (%s)', (_kind, script) => {
  it.each(PROTOCOLS)('records over %s carry severity, body, fields and the active span ids', async (protocol) => {
    const service = `logs-libs-${script.replace('.', '-')}-${tag(protocol)}`;
    const run = await runApp(script, { env: otlpEnv(service, protocol, { TRACES_CONSOLE_LOGS: 'false' }) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const installed = (JSON.parse(run.stdout[0]!) as { libs: string[] }).libs;
    // pino and winston are devDependencies; bunyan is checked when present.
    expect(installed).toEqual(expect.arrayContaining(['pino', 'winston']));
    const [span] = await receiver.waitForSpans((s) => ofService(service)(s) && s.name === 'libs');
    const expected: [lib: string, body: string, severity: number, inSpan: boolean, attrs: Record<string, unknown>][] = [
      ['pino', 'pino info', SEVERITY.INFO, true, { user: 'u1' }],
      ['pino', 'pino error', SEVERITY.ERROR, true, {}],
      ['pino', 'pino outside', SEVERITY.INFO, false, {}],
      ['winston', 'winston info', SEVERITY.INFO, true, { user: 'u2' }],
      ['winston', 'winston warn', SEVERITY.WARN, true, {}],
      ['winston', 'winston outside', SEVERITY.INFO, false, {}],
      ['bunyan', 'bunyan info', SEVERITY.INFO, true, { user: 'u3' }],
      ['bunyan', 'bunyan error', SEVERITY.ERROR, true, {}],
      ['bunyan', 'bunyan outside', SEVERITY.INFO, false, {}],
    ];
    const wanted = expected.filter(([lib]) => installed.includes(lib));
    const logs = await receiver.waitForLogs({ where: ofService(service), count: wanted.length });
    for (const [lib, body, severity, inSpan, attrs] of wanted) {
      const log = logs.find((l) => l.body === body);
      expect(log, `${lib} record ${body}`).toBeDefined();
      expect(log!.severityNumber).toBe(severity);
      expect(log!.scope.name).toContain(lib);
      expect(log!.attributes).toMatchObject(attrs);
      expect(log!.traceId).toBe(inSpan ? span!.traceId : '');
      expect(log!.spanId).toBe(inSpan ? span!.spanId : '');
      expect(log!.protocol).toBe(protocol);
    }
    // No console records (TRACES_CONSOLE_LOGS=false) and nothing twice.
    expect(logs).toHaveLength(wanted.length);
    // The libraries' own output is correlated too.
    const pinoLine = run.stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'pino info');
    expect(pinoLine).toMatchObject({ trace_id: span!.traceId, span_id: span!.spanId });
  });
});

describe('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', () => {
  it("cuts the records' attribute values, before the general OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", async () => {
    const service = 'logs-limits';
    const run = await runApp('logs-libs.cjs', {
      env: otlpEnv(service, 'grpc', {
        TRACES_CONSOLE_LOGS: 'false',
        OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '1',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100',
      }),
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const logs = await receiver.waitForLogs({ where: ofService(service), count: 6 });
    const pino = logs.find((l) => l.body === 'pino info');
    const winston = logs.find((l) => l.body === 'winston info');
    expect(pino?.attributes).toMatchObject({ user: 'u' }); // 'u1', cut; the body is not an attribute
    expect(winston?.attributes).toMatchObject({ user: 'u' });
  });
});

describe('log library instrumentations', () => {
  it('are loaded only when the app loads the library', async () => {
    const run = await runApp('logs-lazy.cjs', { env: otlpEnv('logs-lazy', 'grpc') });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout[0]!)).toEqual({ before: false, after: true });
  });
  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=pino leaves pino alone', async () => {
    const run = await runApp('logs-lazy.cjs', {
      env: otlpEnv('logs-lazy-off', 'grpc', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pino' }),
    });
    expect(JSON.parse(run.stdout[0]!)).toEqual({ before: false, after: false });
  });
});

describe('separate logs endpoint', () => {
  it('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT/_PROTOCOL send logs elsewhere, over their own protocol', async () => {
    const logsReceiver = await h.receiver();
    try {
      const service = 'logs-elsewhere';
      const run = await runApp('logs-script.mjs', {
        env: otlpEnv(service, 'grpc', {
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${logsReceiver.httpUrl}/v1/logs`,
          OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
        }),
      });
      expect(run.code).toBe(0);
      const logs = await logsReceiver.waitForLogs({ where: ofService(service), count: SCRIPT_RECORDS.length });
      expect(new Set(logs.map((l) => l.protocol))).toEqual(new Set(['http/json']));
      const { work } = await scriptSpans(service);
      expect(work.protocol).toBe('grpc');
      expect(logs.find((l) => l.body === 'warn line')!.spanId).toBe(work.spanId);
      expect(receiver.logs.filter(ofService(service))).toEqual([]);
      expect(logsReceiver.spans).toEqual([]);
    } finally {
      await logsReceiver.close();
    }
  });
});

/** A tiny HTTP switch the flood fixture polls: "wait", then "go", then "stop". */
async function startGate(): Promise<{ url: string; set(answer: 'go' | 'stop'): void; close(): Promise<void> }> {
  let answer = 'wait';
  const server: Server = createServer((_req, res) => res.end(answer));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    set: (next) => {
      answer = next;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function expectQuietStderr(stderr: string[]) {
  // A handful of distinct diagnostics, each printed once: never a line per batch or per record. Up to 5: with
  // TRACES_EXPORT_THREAD a full log queue is reported (start and count), where the logs SDK's batch processor drops
  // silently.
  expect(stderr.length, stderr.join('\n')).toBeLessThanOrEqual(5);
  expect(new Set(stderr).size).toBe(stderr.length);
  for (const line of stderr) expect(line).toMatch(/^\[@x\/trace-agent\] /);
}

describe('collector down', () => {
  const FLOOD = ['--expose-gc', '--import', '@x/trace-agent'];
  const MB = 1024 * 1024;

  it.each(PROTOCOLS)(
    'over %s: 60 000 console lines cause no diagnostic storm and no memory growth',
    async (protocol) => {
      const closedPort = 'http://127.0.0.1:9'; // discard port: nothing listens
      const started = Date.now();
      const run = await runApp('logs-flood.mjs', {
        nodeArgs: FLOOD,
        args: ['30', '2000'],
        env: {
          TRACES_ENABLE: 'true',
          EXPORTER_OTLP_ENDPOINT: closedPort,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
          TRACES_SHUTDOWN_TIMEOUT_MS: '1000',
        },
        timeoutMs: 30_000,
      });
      expect(run.code, run.stderr.join('\n')).toBe(0);
      const report = JSON.parse(run.stdout.at(-1)!) as { heap: { warm: number; end: number }; lines: number };
      expect(report.lines).toBe(60_000);
      expect(run.stdout).toHaveLength(60_001); // the app's own lines, untouched, and nothing else
      // 50 000 records after the warm-up would be ~25 MB if kept; the bounded queue keeps at most 2048.
      expect(report.heap.end - report.heap.warm).toBeLessThan(4 * MB);
      expectQuietStderr(run.stderr);
      expect(run.stderr.join('\n')).toMatch(/log record export to \S+ failed/);
      expect(Date.now() - started).toBeLessThan(25_000);
    },
  );

  it('a collector that fails and comes back receives only the app records, none about the failure', async () => {
    const service = 'logs-outage';
    const gate = await startGate();
    receiver.setMode('error');
    try {
      const app = h.start('logs-flood.mjs', {
        nodeArgs: FLOOD,
        args: ['10', '500', gate.url],
        // The agent prints a debug line for every request it sends: none of it may become a record.
        env: otlpEnv(service, 'grpc', { OTEL_LOG_LEVEL: 'debug' }),
      });
      await app.waitForJson((v) => 'heap' in v, 30_000);
      // The outage was seen: the failing exports reached the receiver and were refused.
      await receiver.waitForRequests((r) => r.signal === 'logs' && r.outcome === 'error');
      receiver.setMode('ok');
      gate.set('go');
      // Batches are dropped for a moment after each failure; the markers written after that arrive.
      const markers = await receiver
        .waitForLogs(
          { where: (l) => ofService(service)(l) && String(l.body).startsWith('marker line'), count: 3 },
          15_000,
        )
        .catch((err: Error) => {
          throw new Error(`${err.message}\napp stderr (last 40 lines):\n${app.stderr.slice(-40).join('\n')}`);
        });
      expect(markers.every((l) => l.severityNumber === SEVERITY.WARN && l.spanId !== '')).toBe(true);
      gate.set('stop');
      expect(await app.exited).toMatchObject({ code: 0 });
      const received = receiver.logs.filter(ofService(service)).map((l) => String(l.body));
      const foreign = received.filter((body) => !/^(flood line \d+|marker line \d+) /.test(body));
      expect(foreign, "records that are not the app's own lines").toEqual([]);
      // The debug lines of the refused exports were printed: they went to stderr only.
      expect(
        app.stderr.some((line) => /debug: OTLP grpc export of \d+ log record\(s\).*: 14 UNAVAILABLE/.test(line)),
      ).toBe(true);
    } finally {
      receiver.setMode('ok');
      await gate.close();
    }
  });
});
