// OTLP's transports on Node built-ins: a gRPC unary Export call is one HTTP/2 POST of a length-prefixed message
// (node:http2), OTLP/HTTP one POST (node:http, node:https). One connection per target, kept open between exports.
// Written by hand rather than loading the official exporters' transports because those (grpc-js, protobufjs and the
// exporter base, a 1.6 MB bundle) cost ~76 ms of CPU on the first export of an Express + pg app, at its exit
// (bench/startup.mjs express-pg), and their own isolate's worth of heap in the exporter thread (bench/memory.mjs).
// Node built-ins only: the exit-time sender (exit-sender.ts) loads this in a bare worker thread.
import type * as Http from 'node:http';
import type * as Http2 from 'node:http2';
import {
  decodeGrpcMessage,
  GRPC_CODE_NAMES,
  GRPC_PATHS,
  grpcPrefix,
  type Signal,
  type TlsFiles,
} from '../otlp-wire.js';

export type WireProtocol = 'grpc' | 'http/protobuf' | 'http/json';

/** Where and how one signal is sent. */
export interface WireTarget {
  protocol: WireProtocol;
  signal: Signal;
  url: string;
  headers: Record<string, string>;
  tls: TlsFiles;
  /** The body given to post() is gzip-compressed already. */
  gzip: boolean;
}

/**
 * How one request ended: `status` is the gRPC status code or the HTTP status (0 when none came back); `retryable`
 * when sending the same request again may succeed (OTLP's retryable codes, a reused connection reset).
 */
export interface Answer {
  outcome: 'ok' | 'rejected' | 'network' | 'timeout';
  status: number;
  message: string;
  retryable: boolean;
  /** The collector's Retry-After (HTTP) when it gave one. */
  retryAfterMs?: number;
  /** The response message (an Export*ServiceResponse), for partial success. */
  body?: Buffer;
}

export interface Transport {
  /** Never rejects. */
  post(body: Uint8Array, timeoutMs: number): Promise<Answer>;
  close(): void;
}

export const USER_AGENT = '@x/trace-agent (OTLP exporter)';

/** gRPC codes OTLP says to retry: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS. */
const GRPC_RETRYABLE = new Set([1, 4, 8, 10, 11, 14, 15]);
/** HTTP statuses OTLP/HTTP says to retry. */
const HTTP_RETRYABLE = new Set([429, 502, 503, 504]);
/** A connection the collector closed while idle shows as one of these on the next request: sent again once. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']);
/** A collector answer larger than this is cut off (an OTLP response is a few bytes). */
const MAX_RESPONSE_BYTES = 4 << 20;

export function createTransport(target: WireTarget): Transport {
  return target.protocol === 'grpc' ? new GrpcTransport(target) : new HttpTransport(target);
}

function networkAnswer(thrown: unknown, reused: boolean): Answer {
  // A call on an HTTP/2 session that could not connect fails as "canceled", caused by the connection's error.
  const cause = (thrown as { cause?: unknown })?.cause;
  const err = cause instanceof Error ? cause : thrown;
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return { outcome: 'network', status: 0, message, retryable: reused && STALE_CONNECTION.has(String(code)) };
}

function timeoutAnswer(timeoutMs: number): Answer {
  return { outcome: 'timeout', status: 0, message: `timed out after ${timeoutMs} ms`, retryable: false };
}

/** Resolves once with the first answer given; a timer gives the timeout answer and calls `cancel`. */
function settleOnce(timeoutMs: number, resolve: (a: Answer) => void, cancel: () => void) {
  let settled = false;
  const timer = setTimeout(() => {
    finish(timeoutAnswer(timeoutMs));
    cancel();
  }, timeoutMs);
  const finish = (a: Answer): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolve(a);
  };
  return finish;
}

class GrpcTransport implements Transport {
  private session: Http2.ClientHttp2Session | undefined;
  /** The session has completed a call: a reset on it may be an idle close by the collector. */
  private used = false;
  private active = 0;
  private readonly http2 = require('node:http2') as typeof Http2;
  private readonly url: URL;

  constructor(private readonly target: WireTarget) {
    this.url = new URL(target.url);
  }

  private connect(): Http2.ClientHttp2Session {
    const live = this.session;
    if (live && !live.closed && !live.destroyed) return live;
    // Node leaves the TLS server name out for an IP address (RFC 6066) and checks the certificate against it.
    const session = this.http2.connect(this.url.origin, { ...this.target.tls });
    session.on('error', () => undefined); // each call reports the failure itself
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    session.unref(); // an idle connection never keeps the app alive; a call in flight does (ref() below)
    this.session = session;
    this.used = false;
    return session;
  }

  post(body: Uint8Array, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve) => {
      let req: Http2.ClientHttp2Stream | undefined;
      let session: Http2.ClientHttp2Session | undefined;
      const reused = this.used;
      const finish = settleOnce(
        timeoutMs,
        (a) => {
          if (session && --this.active === 0 && !session.destroyed) session.unref();
          if (a.outcome === 'ok') this.used = true;
          resolve(a);
        },
        () => req?.close(this.http2.constants.NGHTTP2_CANCEL),
      );
      try {
        session = this.connect();
        this.active++;
        session.ref();
        const t = this.target;
        req = session.request({
          ...t.headers,
          ':method': 'POST',
          ':path': GRPC_PATHS[t.signal],
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
          'user-agent': USER_AGENT,
          ...(t.gzip ? { 'grpc-encoding': 'gzip' } : {}),
        });
        const chunks: Buffer[] = [];
        let size = 0;
        const settle = (h: Http2.IncomingHttpHeaders) => {
          const raw = h['grpc-status'];
          if (raw === undefined) return false;
          const code = Number(raw);
          if (code === 0) {
            finish({ outcome: 'ok', status: 0, message: 'OK', retryable: false, body: grpcMessage(chunks) });
          } else {
            const detail = decodeGrpcMessage(h['grpc-message']);
            finish({
              outcome: 'rejected',
              status: code,
              message: `${code} ${GRPC_CODE_NAMES[code] ?? 'UNKNOWN'}${detail ? `: ${detail}` : ''}`,
              retryable: GRPC_RETRYABLE.has(code),
            });
          }
          return true;
        };
        req.on('response', (h) => {
          const status = Number(h[':status']);
          if (status !== 200) {
            // Not a gRPC server answering (a proxy, a plain HTTP/2 server): its HTTP status, mapped as gRPC does.
            const retryable = HTTP_RETRYABLE.has(status);
            finish({ outcome: 'rejected', status: retryable ? 14 : 2, message: `HTTP status ${status}`, retryable });
          } else settle(h); // a trailers-only answer carries the status in the headers
        });
        req.on('trailers', (h) => settle(h));
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        req.on('end', () =>
          finish({
            outcome: 'rejected',
            status: 2,
            message: '2 UNKNOWN: no grpc-status in the answer',
            retryable: false,
          }),
        );
        req.on('error', (err) => finish(networkAnswer(err, reused)));
        // The frame's 5-byte prefix, then the body as it is: framing it in one buffer copied each request (~150 KB).
        req.write(grpcPrefix(body.length, this.target.gzip));
        req.end(body);
      } catch (err) {
        finish(networkAnswer(err, false));
      }
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}

/** The message of a gRPC answer: the first length-prefixed frame's payload. */
function grpcMessage(chunks: Buffer[]): Buffer | undefined {
  const all = Buffer.concat(chunks);
  if (all.length < 5 || all[0] !== 0) return undefined; // none, or compressed (the agent asks for none)
  return all.subarray(5, 5 + all.readUInt32BE(1));
}

class HttpTransport implements Transport {
  private readonly agent: Http.Agent;
  private readonly request: typeof Http.request;
  private readonly url: URL;

  constructor(private readonly target: WireTarget) {
    this.url = new URL(target.url);
    const secure = this.url.protocol === 'https:';
    const mod = (secure ? require('node:https') : require('node:http')) as typeof Http;
    this.request = mod.request;
    // Idle keep-alive sockets are unref'd by Node's agent: they never keep the app alive.
    this.agent = new mod.Agent({ keepAlive: true, maxSockets: 4, ...(secure ? this.target.tls : {}) });
  }

  post(body: Uint8Array, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve) => {
      let req: Http.ClientRequest | undefined;
      const finish = settleOnce(timeoutMs, resolve, () => req?.destroy());
      const t = this.target;
      try {
        req = this.request(this.url, {
          method: 'POST',
          agent: this.agent,
          headers: {
            ...t.headers,
            'content-type': t.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
            'content-length': String(body.byteLength),
            'user-agent': USER_AGENT,
            ...(t.gzip ? { 'content-encoding': 'gzip' } : {}),
          },
        });
        const sent = req;
        sent.on('response', (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          });
          res.on('error', (err) => finish(networkAnswer(err, false)));
          res.on('end', () => {
            if (status >= 200 && status < 300) {
              finish({ outcome: 'ok', status, message: 'OK', retryable: false, body: Buffer.concat(chunks) });
              return;
            }
            const text = Buffer.concat(chunks).toString('utf8', 0, Math.min(size, 200)).trim();
            finish({
              outcome: 'rejected',
              status,
              message: `HTTP status ${status}${text ? `: ${text}` : ''}`,
              retryable: HTTP_RETRYABLE.has(status),
              retryAfterMs: retryAfter(res.headers['retry-after']),
            });
          });
        });
        sent.on('error', (err) => finish(networkAnswer(err, sent.reusedSocket)));
        sent.end(body);
      } catch (err) {
        finish(networkAnswer(err, false));
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}
