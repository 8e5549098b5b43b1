// The program of the short-lived worker thread that sends one OTLP request while the ending process waits for it
// (sync-send.ts). Started with no preload and no environment, it loads only this file, the agent's transport
// (wire/transport.ts) and Node built-ins, so it starts in tens of ms.
// It writes the outcome into the shared array and wakes the waiting thread: 1 ok, 2 answered with an error status
// (state[1]: the HTTP status or gRPC status code), 3 network/TLS error, 4 timed out.
import { workerData } from 'node:worker_threads';
import { readTlsFiles, type Signal, type TlsFileNames } from './otlp-wire.js';
import { createTransport } from './wire/transport.js';

/** What the worker is given; plain data only (it crosses the thread boundary by structured clone). */
export interface SenderData {
  sab: SharedArrayBuffer;
  protocol: 'grpc' | 'http/protobuf' | 'http/json';
  signal: Signal;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  timeoutMs: number;
  tls: TlsFileNames;
}

const CODES = { ok: 1, rejected: 2, network: 3, timeout: 4 } as const;

function send(d: SenderData): void {
  const state = new Int32Array(d.sab);
  const finish = (code: number, detail = 0): void => {
    Atomics.store(state, 1, detail);
    Atomics.store(state, 0, code);
    Atomics.notify(state, 0);
    process.exit(0);
  };
  try {
    const tls = readTlsFiles(d.tls); // an unreadable file was reported already when the exporter was built
    const transport = createTransport({ ...d, tls, gzip: false });
    void transport.post(d.body, d.timeoutMs).then((a) => finish(CODES[a.outcome], a.status));
  } catch {
    finish(CODES.network);
  }
}

const data = workerData as SenderData | undefined;
if (data?.sab instanceof SharedArrayBuffer) send(data);
