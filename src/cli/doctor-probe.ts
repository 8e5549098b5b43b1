// Sends ONE empty OTLP export request (no spans / no log records) to an endpoint, on the configured protocol,
// and says what happened. The official exporters would send it too (an empty list still serialises), but they
// retry for up to the whole timeout on a refused connection or a 503, and report only "export failed": a doctor
// needs the first error, its kind (DNS, TCP, TLS, HTTP status, gRPC status) and the latency. So the request is
// made here, once, with Node's http/https/http2 and the body from the official OTLP serializers
// (@opentelemetry/otlp-transformer): protobuf or JSON over HTTP, length-prefixed protobuf frames over gRPC.
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { gzipSync } from 'node:zlib';
import type { OtlpConfig } from '../config/index.js';
import { type OtlpSerializer, otlpSerializer } from '../exporters/otlp-serializer.js';
import {
  decodeGrpcMessage,
  GRPC_CODE_NAMES,
  GRPC_PATHS,
  grpcFrame,
  readTlsFiles,
  type Signal,
  type TlsFiles,
} from '../exporters/otlp-wire.js';
import { messageOf } from './errors.js';

export interface ProbeResult {
  ok: boolean;
  /** One line: what happened, e.g. "HTTP 200 in 12 ms" or "connection refused by 127.0.0.1:4317". */
  summary: string;
  /** What to do about it, when something is wrong or worth knowing. */
  hint?: string;
  latencyMs?: number;
}

const MAX_BODY = 64 * 1024;
const USER_AGENT = 'trace-agent-doctor';

export async function probeEndpoint(signal: Signal, otlp: OtlpConfig, timeoutMs: number): Promise<ProbeResult> {
  let tls: TlsFiles;
  try {
    tls = readTls(otlp);
  } catch (err) {
    return { ok: false, summary: messageOf(err), hint: 'fix the path, or unset the variable to use the system CAs' };
  }
  try {
    return otlp.protocol === 'grpc'
      ? await probeGrpc(signal, otlp, tls, timeoutMs)
      : await probeHttp(signal, otlp, tls, timeoutMs);
  } catch (err) {
    return failure(err, otlp, timeoutMs);
  }
}

function readTls(otlp: OtlpConfig): TlsFiles {
  return readTlsFiles(otlp, (spec, file, err) => {
    const why = (err as NodeJS.ErrnoException).code ?? messageOf(err);
    throw new Error(`cannot read the ${spec.what} (OTEL_EXPORTER_OTLP_${spec.suffix}) file ${file}: ${why}`);
  });
}

function probeHttp(signal: Signal, otlp: OtlpConfig, tls: TlsFiles, timeoutMs: number): Promise<ProbeResult> {
  const json = otlp.protocol === 'http/json';
  const ser = otlpSerializer(signal, json);
  let body = Buffer.from(ser.serializeRequest([]) ?? new Uint8Array());
  const headers: Record<string, string> = {
    ...otlp.headers,
    'content-type': json ? 'application/json' : 'application/x-protobuf',
    'user-agent': USER_AGENT,
  };
  if (otlp.compression === 'gzip') {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = String(body.length);
  const url = new URL(otlp.url);
  const mod = url.protocol === 'https:' ? https : http;
  const started = performance.now();
  return new Promise<ProbeResult>((resolve, reject) => {
    const req = mod.request(url, { method: 'POST', headers, agent: false, timeout: timeoutMs, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        const latencyMs = Math.round(performance.now() - started);
        resolve(
          httpVerdict(
            res.statusCode ?? 0,
            res.statusMessage ?? '',
            String(res.headers['content-type'] ?? ''),
            Buffer.concat(chunks),
            ser,
            latencyMs,
            otlp,
          ),
        );
      });
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

function httpVerdict(
  status: number,
  statusText: string,
  contentType: string,
  body: Buffer,
  ser: OtlpSerializer,
  latencyMs: number,
  otlp: OtlpConfig,
): ProbeResult {
  const head = `HTTP ${status}${statusText ? ` ${statusText}` : ''} in ${latencyMs} ms`;
  if (status >= 200 && status < 300) {
    if (/text\/html/i.test(contentType)) {
      return {
        ok: false,
        latencyMs,
        summary: `${head}, but the answer is an HTML page, not an OTLP response`,
        hint: 'this is a web server, not an OTLP receiver: check the host, port and path',
      };
    }
    const partial = partialSuccess(ser, body);
    return {
      ok: true,
      latencyMs,
      summary: `${head}: the endpoint accepts OTLP ${otlp.protocol}`,
      ...(partial ? { hint: `the receiver says: ${partial}` } : {}),
    };
  }
  const text = snippet(body);
  const summary = `${head}${text ? `: ${text}` : ''}`;
  const hints: Record<number, string> = {
    400: 'the receiver could not read the request: is this endpoint expecting another protocol (OTEL_EXPORTER_OTLP_PROTOCOL)?',
    401: 'authentication failed: check the headers (OTEL_EXPORTER_OTLP_HEADERS / EXPORTER_OTLP_HEADERS)',
    403: 'not allowed: check the headers (OTEL_EXPORTER_OTLP_HEADERS / EXPORTER_OTLP_HEADERS)',
    404: 'nothing at this path: an OTLP/HTTP receiver listens on /v1/traces (a base endpoint gets it appended; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used exactly as given)',
    405: 'the path does not take POST: is this an OTLP/HTTP receiver?',
    413: 'the receiver rejects even an empty request as too large: check its limits',
    415: `the receiver does not accept ${otlp.protocol === 'http/json' ? 'JSON' : 'protobuf'}: try OTEL_EXPORTER_OTLP_PROTOCOL=${otlp.protocol === 'http/json' ? 'http/protobuf' : 'http/json'}`,
    429: 'the receiver is throttling: spans would be retried and may be dropped',
  };
  const hint =
    hints[status] ??
    (status >= 500 ? 'the receiver (or a proxy in front of it) is failing: check its logs' : undefined);
  return { ok: false, latencyMs, summary, ...(hint ? { hint } : {}) };
}

function probeGrpc(signal: Signal, otlp: OtlpConfig, tls: TlsFiles, timeoutMs: number): Promise<ProbeResult> {
  let message = Buffer.from(otlpSerializer(signal, false).serializeRequest([]) ?? new Uint8Array());
  const gzip = otlp.compression === 'gzip';
  if (gzip) message = gzipSync(message);
  const frame = grpcFrame(message, gzip);

  const url = new URL(otlp.url);
  const origin = `${url.protocol}//${url.host}`;
  const started = performance.now();
  return new Promise<ProbeResult>((resolve, reject) => {
    let settled = false;
    const session = http2.connect(origin, { ...tls, ...(url.protocol === 'https:' ? { ALPNProtocols: ['h2'] } : {}) });
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))),
      timeoutMs,
    );
    session.on('error', (err) => done(() => reject(err)));
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ...otlp.headers,
        ':method': 'POST',
        ':path': GRPC_PATHS[signal],
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': USER_AGENT,
        'grpc-timeout': `${timeoutMs}m`,
        'grpc-accept-encoding': 'identity',
        ...(gzip ? { 'grpc-encoding': 'gzip' } : {}),
      });
    } catch (err) {
      // A header value HTTP/2 refuses (the message names the header, never its value).
      return done(() => reject(err));
    }
    let httpStatus = 0;
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const note = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeGrpcMessage(String(h['grpc-message']));
    };
    stream.on('response', (h) => {
      httpStatus = Number(h[':status'] ?? 0);
      note(h); // a "trailers-only" answer carries the status in the headers
    });
    stream.on('trailers', note);
    stream.on('data', () => {});
    // A stream cancelled because the connection failed carries the connection's error (ECONNREFUSED, TLS…).
    stream.on('error', (err) => done(() => reject((err as Error & { cause?: unknown }).cause ?? err)));
    stream.on('close', () =>
      done(() => {
        const latencyMs = Math.round(performance.now() - started);
        if (grpcStatus === undefined) {
          if (!httpStatus)
            return reject(
              Object.assign(new Error('the stream closed without an answer'), { code: 'ERR_HTTP2_STREAM_ERROR' }),
            );
          return resolve({
            ok: false,
            latencyMs,
            summary: `HTTP/2 ${httpStatus} without a gRPC status in ${latencyMs} ms: not a gRPC server`,
            hint: 'is this an OTLP/HTTP endpoint? Then set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf',
          });
        }
        resolve(grpcVerdict(Number(grpcStatus), grpcMessage, latencyMs));
      }),
    );
    stream.end(frame);
  });
}

function grpcVerdict(code: number, message: string, latencyMs: number): ProbeResult {
  const name = GRPC_CODE_NAMES[code] ?? `code ${code}`;
  const head = `gRPC status ${code} ${name} in ${latencyMs} ms`;
  if (code === 0) return { ok: true, latencyMs, summary: `${head}: the endpoint accepts OTLP grpc` };
  const hints: Record<number, string> = {
    3: 'the receiver could not read the request: is it an OTLP receiver of this OTLP version?',
    7: 'not allowed: check the headers (OTEL_EXPORTER_OTLP_HEADERS / EXPORTER_OTLP_HEADERS)',
    12: 'this gRPC server has no OTLP service for this signal: is it an OpenTelemetry Collector (or another OTLP receiver)?',
    14: 'the receiver is unavailable or overloaded: check its logs',
    16: 'authentication failed: check the headers (OTEL_EXPORTER_OTLP_HEADERS / EXPORTER_OTLP_HEADERS)',
  };
  const hint = hints[code];
  return {
    ok: false,
    latencyMs,
    summary: `${head}${message ? `: ${oneLine(message)}` : ''}`,
    ...(hint ? { hint } : {}),
  };
}

/** Turns a transport error into a sentence and advice. Messages are Node's, which never contain header values. */
function failure(err: unknown, otlp: OtlpConfig, timeoutMs: number): ProbeResult {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const msg = messageOf(err);
  const url = new URL(otlp.url);
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  const otherProtocol =
    otlp.protocol === 'grpc'
      ? 'is this an OTLP/HTTP port (usually 4318)? Then set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf'
      : 'is this a gRPC port (usually 4317)? Then set OTEL_EXPORTER_OTLP_PROTOCOL=grpc';
  if (code === 'ECONNREFUSED') {
    return {
      ok: false,
      summary: `connection refused by ${hostPort}`,
      hint: 'nothing listens there: start the collector, or fix the endpoint (EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)',
    };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      ok: false,
      summary: `cannot resolve the host name ${url.hostname}`,
      hint: 'check the host in the endpoint variable, and DNS',
    };
  }
  if (code === 'ETIMEDOUT') {
    return {
      ok: false,
      summary: `no answer from ${hostPort} within ${timeoutMs} ms`,
      hint: 'a firewall, a wrong port, or a receiver that hangs; OTEL_EXPORTER_OTLP_TIMEOUT sets the limit',
    };
  }
  if (isTlsError(code, msg)) {
    const plain = /wrong version number|packet length too long|unknown protocol|http request/i.test(msg);
    // OpenSSL's message is a long internal string; its reason ("wrong version number") says the same.
    const sslReason = (err as { reason?: unknown } | undefined)?.reason;
    const reason = typeof sslReason === 'string' ? `${sslReason}${code ? ` (${code})` : ''}` : oneLine(msg);
    return {
      ok: false,
      summary: `TLS failure talking to ${hostPort}: ${reason}`,
      hint: plain
        ? 'the endpoint does not speak TLS: use http:// instead of https://'
        : 'the certificate is not trusted: set OTEL_EXPORTER_OTLP_CERTIFICATE to the PEM file of the CA that signed it',
    };
  }
  if (
    code.startsWith('HPE_') ||
    code.startsWith('ERR_HTTP2') ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    /socket hang up|protocol error/i.test(msg)
  ) {
    return {
      ok: false,
      summary: `the connection to ${hostPort} failed without an OTLP answer (${code || msg})`,
      hint: `the endpoint may speak another protocol: ${otherProtocol}`,
    };
  }
  if (
    code === 'ERR_INVALID_CHAR' ||
    code === 'ERR_HTTP_INVALID_HEADER_VALUE' ||
    code === 'ERR_HTTP2_INVALID_HEADER_VALUE'
  ) {
    return {
      ok: false,
      summary: `a header cannot be sent: ${msg}`,
      hint: 'check the header variables (values must be printable text; percent-encode the rest)',
    };
  }
  return { ok: false, summary: `${code ? `${code}: ` : ''}${msg}` };
}

function isTlsError(code: string, msg: string): boolean {
  return (
    /^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO/.test(code) || /\bSSL\b|\bTLS\b|certificate/i.test(msg)
  );
}

/** The partial_success of an export response (rejected items or an error message), if any. */
function partialSuccess(ser: OtlpSerializer, body: Buffer): string | undefined {
  if (!body.length) return undefined;
  try {
    const res = ser.deserializeResponse(body) as { partialSuccess?: Record<string, unknown> } | undefined;
    const p = res?.partialSuccess;
    if (!p) return undefined;
    const parts = Object.entries(p)
      .filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== 0 && String(v) !== '0')
      .map(([k, v]) => `${k}=${oneLine(String(v))}`);
    return parts.length ? parts.join(', ') : undefined;
  } catch {
    return undefined;
  }
}

function snippet(body: Buffer): string {
  const text = oneLine(body.toString('utf8'));
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  return s.replace(/[\u0000-\u001f]+/g, ' ').trim();
}
