// Sends one OTLP request synchronously, for the moment the process ends ('exit' event: process.exit(), an uncaught
// exception, an unhandled rejection), when no event-loop turn is left for an asynchronous export. A worker thread
// (exit-sender.ts) does the network I/O while this thread blocks on Atomics.wait, bounded by a deadline.
import { type OtlpConfig, workersForbidden } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import type { SenderData } from './exit-sender.js';
import { NOUNS, type Signal } from './otlp-wire.js';

export type SyncSendOutcome = 'ok' | 'rejected' | 'network' | 'timeout' | 'unavailable';

const OUTCOMES: Record<number, SyncSendOutcome> = { 1: 'ok', 2: 'rejected', 3: 'network', 4: 'timeout' };

/**
 * Posts `body` (an encoded Export{Trace,Logs}ServiceRequest) to the configured endpoint and waits for the answer at
 * most `timeoutMs`. Never throws. `detail` is the HTTP status or gRPC status code when the collector answered.
 */
export function sendSync(
  otlp: OtlpConfig,
  body: Uint8Array,
  timeoutMs: number,
  signal: Signal = 'traces',
): { outcome: SyncSendOutcome; detail: number } {
  if (timeoutMs <= 0) return { outcome: 'timeout', detail: 0 };
  try {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const sab = new SharedArrayBuffer(8);
    const state = new Int32Array(sab);
    const data: SenderData = {
      sab,
      protocol: otlp.protocol,
      signal,
      url: otlp.url,
      headers: otlp.headers,
      body,
      // The worker gives up a little before this thread stops waiting, so that a timeout is reported as one.
      timeoutMs: Math.max(1, timeoutMs - 50),
      tls: {
        certificateFile: otlp.certificateFile,
        clientKeyFile: otlp.clientKeyFile,
        clientCertificateFile: otlp.clientCertificateFile,
      },
    };
    // Through the package's self-reference, so the bundled and the unbundled agent start the same file.
    const worker = new Worker(require.resolve('@x/trace-agent/internal/exit-sender'), {
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
  to: { otlp: OtlpConfig; signal: Signal; target: string },
  deadline: number,
  diag: Pick<Diag, 'warn'>,
): void {
  if (items.length === 0) return;
  let body: Uint8Array | undefined;
  try {
    body = encode(items);
  } catch (err) {
    diag.warn(
      `${items.length} ${NOUNS[to.signal]}(s) not delivered at exit: cannot encode them (${describeError(err)})`,
    );
    return;
  }
  if (!body) return;
  const { outcome, detail } = sendSync(to.otlp, body, deadline - Date.now(), to.signal);
  if (outcome !== 'ok') {
    const why =
      outcome === 'rejected'
        ? `the collector answered with status ${detail}`
        : outcome === 'timeout'
          ? 'timed out'
          : outcome === 'unavailable'
            ? `the worker thread that sends them cannot start${workersForbidden() ? " (Node's permission model: --allow-worker)" : ''}`
            : `${outcome} error`;
    diag.warn(`${items.length} ${NOUNS[to.signal]}(s) not delivered at exit to ${to.target}: ${why}`);
  }
}
