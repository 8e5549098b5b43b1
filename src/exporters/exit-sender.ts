// The program of the short-lived worker thread that sends one OTLP request while the ending process waits for it
// (sync-send.ts). Started with no preload and no environment, it loads only this file, otlp-wire.ts and Node
// built-ins (http, https, http2: a gRPC unary call is one HTTP/2 POST), so it starts in tens of ms.
// It writes the outcome into the shared array and wakes the waiting thread: 1 ok, 2 answered with an error status
// (state[1]: the HTTP status or gRPC status code), 3 network/TLS error, 4 timed out.
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { workerData } from 'node:worker_threads';
import { GRPC_PATHS, grpcFrame, readTlsFiles, type Signal, type TlsFileNames } from './otlp-wire.js';

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

function send(d: SenderData): void {
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
    const tls = readTlsFiles(d.tls); // an unreadable file was reported already when the exporter was built
    const body = Buffer.from(d.body.buffer, d.body.byteOffset, d.body.byteLength);
    const url = new URL(d.url);
    if (d.protocol === 'grpc') {
      const session = http2.connect(url.origin, tls);
      session.on('error', () => finish(3));
      const req = session.request({
        ...d.headers,
        ':method': 'POST',
        ':path': GRPC_PATHS[d.signal],
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${d.timeoutMs}m`,
      });
      const settle = (h: Record<string, unknown>) => {
        const status = h['grpc-status'];
        if (status === undefined) return;
        finish(String(status) === '0' ? 1 : 2, Number(status));
      };
      req.on('response', (h) => {
        if (Number(h[':status']) !== 200) finish(2, Number(h[':status']));
        else settle(h); // a trailers-only answer carries the status in the headers
      });
      req.on('trailers', (h) => settle(h));
      req.on('data', () => undefined);
      req.on('end', () => finish(2, -1));
      req.on('error', () => finish(3));
      req.end(grpcFrame(body));
      return;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(
      url,
      {
        method: 'POST',
        headers: {
          ...d.headers,
          'content-type': d.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
          'content-length': String(body.length),
        },
        ...tls,
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

const data = workerData as SenderData | undefined;
if (data?.sab instanceof SharedArrayBuffer) send(data);
