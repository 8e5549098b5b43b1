// Sends one OTLP request synchronously, for the moment the process ends ('exit' event: process.exit(), an uncaught
// exception, an unhandled rejection), when no event-loop turn is left for an asynchronous export. A worker thread
// does the network I/O while this thread blocks on Atomics.wait, bounded by a deadline. The worker uses only
// Node built-ins (http, https, http2: a gRPC unary call is one HTTP/2 POST), so it starts in tens of ms and
// needs nothing resolved from the app's node_modules.
import type { OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';

export type SyncSendOutcome = 'ok' | 'rejected' | 'network' | 'timeout' | 'unavailable';

const OUTCOMES: Record<number, SyncSendOutcome> = { 1: 'ok', 2: 'rejected', 3: 'network', 4: 'timeout' };

/** What the worker needs; plain data only (it crosses the thread boundary by structured clone). */
interface SenderData {
  sab: SharedArrayBuffer;
  protocol: OtlpConfig['protocol'];
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  timeoutMs: number;
  tls: { ca?: string; key?: string; cert?: string };
  /** The gRPC method: the trace or the logs service's Export. */
  grpcPath: string;
}

const GRPC_PATHS = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
} as const;

/**
 * Posts `body` (an encoded Export{Trace,Logs}ServiceRequest) to the configured endpoint and waits for the answer at
 * most `timeoutMs`. Never throws. `detail` is the HTTP status or gRPC status code when the collector answered.
 */
export function sendSync(
  otlp: OtlpConfig,
  body: Uint8Array,
  timeoutMs: number,
  signal: keyof typeof GRPC_PATHS = 'traces',
): { outcome: SyncSendOutcome; detail: number } {
  if (timeoutMs <= 0) return { outcome: 'timeout', detail: 0 };
  try {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const sab = new SharedArrayBuffer(8);
    const state = new Int32Array(sab);
    const data: SenderData = {
      sab,
      protocol: otlp.protocol,
      url: otlp.url,
      headers: otlp.headers,
      body,
      // The worker gives up a little before this thread stops waiting, so that a timeout is reported as one.
      timeoutMs: Math.max(1, timeoutMs - 50),
      tls: { ca: otlp.certificateFile, key: otlp.clientKeyFile, cert: otlp.clientCertificateFile },
      grpcPath: GRPC_PATHS[signal],
    };
    const worker = new Worker(`(${senderMain.toString()})()`, {
      eval: true,
      workerData: data,
      // No preload (the agent must not start in its own sender), no environment, and output kept off the app's.
      execArgv: [],
      env: {},
      stdout: true,
      stderr: true,
      name: '@x/trace-agent exit flush',
    });
    worker.on('error', () => undefined);
    worker.unref();
    Atomics.wait(state, 0, 0, timeoutMs);
    const code = Atomics.load(state, 0);
    if (code === 0) void worker.terminate().catch(() => undefined);
    return { outcome: OUTCOMES[code] ?? 'timeout', detail: Atomics.load(state, 1) };
  } catch {
    return { outcome: 'unavailable', detail: 0 };
  }
}

/**
 * What an exporter does at an abrupt exit: encodes what it has not delivered and sends it with sendSync() before
 * `deadline` (epoch ms). Never throws; when the items cannot be encoded or sent, one warning says how many were
 * lost and why.
 */
export function deliverAtExit<T>(
  items: T[],
  encode: (items: T[]) => Uint8Array | undefined,
  to: { otlp: OtlpConfig; signal: keyof typeof GRPC_PATHS; target: string; noun: string },
  deadline: number,
  diag: Pick<Diag, 'warn'>,
): void {
  if (items.length === 0) return;
  let body: Uint8Array | undefined;
  try {
    body = encode(items);
  } catch (err) {
    diag.warn(`${items.length} ${to.noun}(s) not delivered at exit: cannot encode them (${describeError(err)})`);
    return;
  }
  if (!body) return;
  const { outcome, detail } = sendSync(to.otlp, body, deadline - Date.now(), to.signal);
  if (outcome !== 'ok') {
    const why = outcome === 'rejected' ? `the collector answered with status ${detail}` : outcome === 'timeout' ? 'timed out' : `${outcome} error`;
    diag.warn(`${items.length} ${to.noun}(s) not delivered at exit to ${to.target}: ${why}`);
  }
}

/**
 * The worker's whole program. Self-contained on purpose: it is stringified and evaluated in the worker, so it may
 * use only `require` of built-ins and its own locals. Writes the outcome into the shared array and wakes the
 * waiting thread: 1 ok, 2 answered with an error status (state[1]), 3 network/TLS error, 4 timed out.
 */
function senderMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const d = workerData as SenderData;
  const state = new Int32Array(d.sab);
  let settled = false;
  const finish = (code: number, detail = 0): void => {
    if (settled) return;
    settled = true;
    Atomics.store(state, 1, detail);
    Atomics.store(state, 0, code);
    Atomics.notify(state, 0);
    process.exit(0);
  };
  setTimeout(() => finish(4), d.timeoutMs);
  try {
    const read = (file: string | undefined) => {
      if (!file) return undefined;
      try {
        return fs.readFileSync(file);
      } catch {
        return undefined; // reported already when the exporter was built
      }
    };
    const tls = { ca: read(d.tls.ca), key: read(d.tls.key), cert: read(d.tls.cert) };
    const tlsOptions = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
    const body = Buffer.from(d.body.buffer, d.body.byteOffset, d.body.byteLength);
    const url = new URL(d.url);
    if (d.protocol === 'grpc') {
      const http2 = require('node:http2') as typeof import('node:http2');
      const session = http2.connect(url.origin, tlsOptions);
      session.on('error', () => finish(3));
      // gRPC over HTTP/2: a length-prefixed message (flag byte 0 = uncompressed, 4-byte big-endian length).
      const framed = Buffer.alloc(5 + body.length);
      framed.writeUInt32BE(body.length, 1);
      body.copy(framed, 5);
      const req = session.request({
        ...d.headers,
        ':method': 'POST',
        ':path': d.grpcPath,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${d.timeoutMs}m`,
      });
      const settle = (h: Record<string, unknown>) => {
        const status = h['grpc-status'];
        if (status === undefined) return false;
        finish(String(status) === '0' ? 1 : 2, Number(status));
        return true;
      };
      req.on('response', (h) => {
        if (Number(h[':status']) !== 200) finish(2, Number(h[':status']));
        else settle(h); // a trailers-only answer carries the status in the headers
      });
      req.on('trailers', (h) => settle(h));
      req.on('data', () => undefined);
      req.on('end', () => finish(2, -1));
      req.on('error', () => finish(3));
      req.end(framed);
      return;
    }
    const transport = (url.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:https');
    const req = transport.request(
      url,
      {
        method: 'POST',
        headers: {
          ...d.headers,
          'content-type': d.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
          'content-length': String(body.length),
        },
        ...tlsOptions,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => finish(status >= 200 && status < 300 ? 1 : 2, status));
        res.on('error', () => finish(3));
      },
    );
    req.on('error', () => finish(3));
    req.end(body);
  } catch {
    finish(3);
  }
}
