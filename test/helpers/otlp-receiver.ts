// In-process OTLP receiver for end-to-end tests: a gRPC server (TraceService/LogsService/
// MetricsService Export) and an HTTP server (POST /v1/traces|logs|metrics, protobuf or JSON,
// optionally gzip), both on 127.0.0.1, normalizing everything into ReceivedSpan/ReceivedLog.
// It also injects faults (hang / error) and can stop and come back on the same ports.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { type DecodedBatch, MESSAGES, OtlpDecoder } from './otlp-receiver-decode.js';
import type {
  Headers,
  ReceivedLog,
  ReceivedRequest,
  ReceivedSpan,
  ReceiverError,
  ReceiverMode,
  ReceiverProtocol,
  ReceiverSignal,
} from './otlp-receiver-types.js';

export type * from './otlp-receiver-types.js';

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024 * 1024;

const HTTP_PATHS: Record<string, ReceiverSignal> = {
  '/v1/traces': 'traces',
  '/v1/logs': 'logs',
  '/v1/metrics': 'metrics',
};

const GRPC_SERVICES: Record<ReceiverSignal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
};

/**
 * What to wait for: a count of items, a per-item predicate (at least one match), or both
 * (`{ where, count }`: at least `count` items matching `where`).
 */
export type Match<T> = number | ((item: T) => boolean) | { where?: (item: T) => boolean; count?: number };

export interface ReceiverOptions {
  /** Fixed ports; default 0 (ephemeral). */
  grpcPort?: number;
  httpPort?: number;
  /** Initial fault mode; default 'ok'. */
  mode?: ReceiverMode;
}

export interface OtlpReceiver {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** 'http://127.0.0.1:<grpcPort>' (what OTEL_EXPORTER_OTLP_ENDPOINT expects for grpc). */
  readonly grpcUrl: string;
  /** 'http://127.0.0.1:<httpPort>' (base URL; exporters append /v1/traces etc.). */
  readonly httpUrl: string;
  readonly mode: ReceiverMode;
  /** Stored only while mode is 'ok'. Arrays are emptied in place by clear(). */
  readonly spans: ReceivedSpan[];
  readonly logs: ReceivedLog[];
  /** Every export request that reached the receiver, whatever the mode or outcome. */
  readonly requests: ReceivedRequest[];
  readonly errors: ReceiverError[];
  /** Resolves with the matching spans (all spans for a plain count); rejects listing what arrived. */
  waitForSpans(match: Match<ReceivedSpan>, timeoutMs?: number): Promise<ReceivedSpan[]>;
  waitForLogs(match: Match<ReceivedLog>, timeoutMs?: number): Promise<ReceivedLog[]>;
  waitForRequests(match: Match<ReceivedRequest>, timeoutMs?: number): Promise<ReceivedRequest[]>;
  clear(): void;
  setMode(mode: ReceiverMode): void;
  /** Closes both servers (connections forcibly), keeping data and the ports for restart(). */
  stop(): Promise<void>;
  /** Listens again on the same two ports. */
  restart(): Promise<void>;
  /** stop() and reject pending waits; the receiver cannot be restarted afterwards. */
  close(): Promise<void>;
}

export async function startReceiver(opts: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const receiver = new Receiver(opts);
  if (opts.grpcPort !== undefined || opts.httpPort !== undefined) {
    await receiver.start(opts.grpcPort ?? 0, opts.httpPort ?? 0);
    return receiver;
  }
  // Ports below the kernel's ephemeral range, so that restart() finds its ports free: while the receiver is
  // stopped, an ephemeral port (another test's outgoing connection or port-0 listener) could take them (seen in
  // CI as EADDRINUSE on restart). Nothing else here binds below that range; a collision just draws again.
  for (let attempt = 0; ; attempt++) {
    const low = lowPort();
    try {
      await receiver.start(low, low === 0 ? 0 : lowPort(), false);
      return receiver;
    } catch (err) {
      if (low === 0 || !isAddrInUse(err) || attempt >= 20) throw err;
    }
  }
}

/** A random port below the ephemeral range (net.ipv4.ip_local_port_range), or 0 when that range starts low. */
function lowPort(): number {
  let first = 32768;
  try {
    first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: the usual default
  }
  if (!(first > 12000)) return 0;
  return 10000 + Math.floor(Math.random() * (first - 10001));
}

function isAddrInUse(err: unknown): boolean {
  return (
    err instanceof Error &&
    /EADDRINUSE|address already in use|No address added/i.test(
      err.message + String((err as NodeJS.ErrnoException).code),
    )
  );
}

interface Waiter {
  check(): boolean;
  fail(reason: string): void;
}

class Receiver implements OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  readonly requests: ReceivedRequest[] = [];
  readonly errors: ReceiverError[] = [];
  grpcPort = 0;
  httpPort = 0;
  mode: ReceiverMode;

  private readonly decoder: OtlpDecoder;
  private readonly grpcServices: Record<ReceiverSignal, ServiceDefinition>;
  private grpcServer: Server | undefined;
  private httpServer: http.Server | undefined;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(opts: ReceiverOptions) {
    this.mode = opts.mode ?? 'ok';
    this.decoder = new OtlpDecoder();
    this.grpcServices = grpcServices();
  }

  get grpcUrl(): string {
    return `http://${HOST}:${this.grpcPort}`;
  }

  get httpUrl(): string {
    return `http://${HOST}:${this.httpPort}`;
  }

  /** `retry`: wait for the given ports to be released (restart); false when they were just drawn at random. */
  async start(grpcPort: number, httpPort: number, retry = true): Promise<void> {
    const grpc = await this.listenGrpc(grpcPort, retry);
    this.grpcServer = grpc.server;
    this.grpcPort = grpc.port;
    try {
      this.httpServer = await this.listenHttp(httpPort, retry);
    } catch (err) {
      this.grpcServer.forceShutdown();
      this.grpcServer = undefined;
      throw err;
    }
    const addr = this.httpServer.address();
    this.httpPort = typeof addr === 'object' && addr ? addr.port : httpPort;
  }

  setMode(mode: ReceiverMode): void {
    this.mode = mode;
  }

  clear(): void {
    this.spans.length = 0;
    this.logs.length = 0;
    this.requests.length = 0;
    this.errors.length = 0;
  }

  async stop(): Promise<void> {
    this.grpcServer?.forceShutdown();
    this.grpcServer = undefined;
    const httpServer = this.httpServer;
    this.httpServer = undefined;
    if (httpServer) {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections(); // also kills responses held open by 'hang' mode
      await closed;
    }
  }

  async restart(): Promise<void> {
    if (this.closed) throw new Error('OTLP receiver: restart() after close()');
    await this.stop();
    await this.start(this.grpcPort, this.httpPort);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    for (const w of this.waiters) w.fail('OTLP receiver closed while waiting');
    this.waiters.clear();
  }

  waitForSpans(match: Match<ReceivedSpan>, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    return this.waitFor('span', this.spans, match, timeoutMs, (s) => `${s.name} [${s.kindName}, ${s.protocol}]`);
  }

  waitForLogs(match: Match<ReceivedLog>, timeoutMs = 10_000): Promise<ReceivedLog[]> {
    return this.waitFor(
      'log',
      this.logs,
      match,
      timeoutMs,
      (l) => `${l.severityText || l.severityNumber}: ${short(l.body)} [${l.protocol}]`,
    );
  }

  waitForRequests(match: Match<ReceivedRequest>, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
    return this.waitFor('request', this.requests, match, timeoutMs, describeRequest);
  }

  private waitFor<T>(
    noun: string,
    list: T[],
    match: Match<T>,
    timeoutMs: number,
    describe: (item: T) => string,
  ): Promise<T[]> {
    const where = typeof match === 'function' ? match : typeof match === 'number' ? undefined : match.where;
    const count = typeof match === 'number' ? match : typeof match === 'function' ? 1 : (match.count ?? 1);
    const select = () => (where ? list.filter(where) : list.slice());
    return new Promise<T[]>((resolve, reject) => {
      if (this.closed) return reject(new Error('OTLP receiver: waitFor after close()'));
      const initial = select();
      if (initial.length >= count) return resolve(initial);
      const waiter: Waiter = {
        check: () => {
          const found = select();
          if (found.length < count) return false;
          clearTimeout(timer);
          resolve(found);
          return true;
        },
        fail: (reason) => {
          clearTimeout(timer);
          reject(new Error(reason));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const found = select();
        const wanted = `${count} ${noun}(s)${where ? ` matching ${describeFn(where)}` : ''}`;
        reject(
          new Error(
            `OTLP receiver: timed out after ${timeoutMs}ms waiting for ${wanted}; ${found.length} matched.\n${this.report(noun, list, describe)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Everything a failing test needs to see: what arrived, over what, and what was rejected. */
  private report<T>(noun: string, list: T[], describe: (item: T) => string): string {
    const LIMIT = 50;
    const items = list.slice(0, LIMIT).map(describe);
    if (list.length > LIMIT) items.push(`... ${list.length - LIMIT} more`);
    const lines = [
      `Received ${list.length} ${noun}(s)${items.length ? `: ${items.join('; ')}` : ''}.`,
      `Mode: ${this.mode}. Requests (${this.requests.length}): ${this.requests.slice(0, LIMIT).map(describeRequest).join('; ') || 'none'}.`,
    ];
    if (this.errors.length > 0) {
      lines.push(
        `Receiver errors (${this.errors.length}): ${this.errors
          .slice(0, LIMIT)
          .map((e) => `${e.protocol} ${e.path}: ${e.message}`)
          .join('; ')}`,
      );
    }
    return lines.join('\n');
  }

  private notify(): void {
    for (const w of this.waiters) if (w.check()) this.waiters.delete(w);
  }

  private recordError(e: ReceiverError): void {
    this.errors.push(e);
    this.notify();
  }

  /** Shared by both servers: decode, record, store (only in 'ok' mode), tell the caller how to answer. */
  private ingest(
    protocol: ReceiverProtocol,
    signal: ReceiverSignal,
    path: string,
    headers: Headers,
    compressed: boolean | undefined,
    decode: () => DecodedBatch,
  ): { outcome: ReceiverMode | 'decode-error'; message: string } {
    const mode = this.mode;
    const request: ReceivedRequest = {
      protocol,
      signal,
      path,
      headers,
      outcome: mode,
      compressed,
      spanCount: 0,
      logCount: 0,
      metricCount: 0,
    };
    let batch: DecodedBatch;
    try {
      batch = decode();
    } catch (err) {
      const message = `cannot decode ${protocol} ${signal} body: ${err instanceof Error ? err.message : String(err)}`;
      this.requests.push({ ...request, outcome: 'decode-error' });
      this.recordError({ protocol, signal, path, message, headers });
      return { outcome: 'decode-error', message };
    }
    for (const problem of batch.problems) this.errors.push({ protocol, signal, path, message: problem, headers });
    this.requests.push({
      ...request,
      spanCount: batch.spans.length,
      logCount: batch.logs.length,
      metricCount: batch.metricCount,
    });
    if (mode === 'ok') {
      this.spans.push(...batch.spans);
      this.logs.push(...batch.logs);
    }
    this.notify();
    return { outcome: mode, message: mode === 'error' ? 'OTLP test receiver is in error mode' : '' };
  }

  // ---- gRPC ----

  private async listenGrpc(port: number, retry: boolean): Promise<{ server: Server; port: number }> {
    return retryOnAddrInUse(retry ? port : 0, async () => {
      const server = new Server({ 'grpc.max_receive_message_length': MAX_BODY_BYTES });
      for (const signal of Object.keys(GRPC_SERVICES) as ReceiverSignal[]) {
        server.addService(this.grpcServices[signal], {
          Export: (call: ServerUnaryCall<Buffer, object>, callback: sendUnaryData<object>) =>
            this.handleGrpc(signal, call, callback),
        });
      }
      try {
        const bound = await new Promise<number>((resolve, reject) =>
          server.bindAsync(`${HOST}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
            err ? reject(err) : resolve(p),
          ),
        );
        return { server, port: bound };
      } catch (err) {
        server.forceShutdown();
        throw err;
      }
    });
  }

  private handleGrpc(
    signal: ReceiverSignal,
    call: ServerUnaryCall<Buffer, object>,
    callback: sendUnaryData<object>,
  ): void {
    const headers = metadataToHeaders(call.metadata);
    const path = `/${GRPC_SERVICES[signal]}/Export`;
    const enc = grpcIncomingEncoding(call);
    const compressed = enc === undefined ? undefined : enc !== 'identity';
    const result = this.ingest('grpc', signal, path, headers, compressed, () =>
      this.decoder.decodeProtobuf(signal, call.request, 'grpc', headers),
    );
    switch (result.outcome) {
      case 'ok':
        return callback(null, {}); // empty Export*ServiceResponse = full success
      case 'hang':
        return; // never answered; the client's deadline or stop()/close() ends the call
      case 'error':
        return callback(grpcError(status.UNAVAILABLE, result.message));
      case 'decode-error':
        return callback(grpcError(status.INVALID_ARGUMENT, result.message));
    }
  }

  // ---- HTTP ----

  private async listenHttp(port: number, retry: boolean): Promise<http.Server> {
    return retryOnAddrInUse(retry ? port : 0, async () => {
      const server = http.createServer((req, res) => this.handleHttp(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server;
    });
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const headers = httpHeaders(req.headers);
    const path = new URL(req.url ?? '/', 'http://receiver').pathname;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => {}); // client went away; nothing to answer
    req.on('end', () => {
      const fail = (code: number, message: string, signal: ReceiverSignal | 'unknown' = 'unknown') => {
        this.recordError({ protocol: 'http', signal, path, message, headers });
        res.writeHead(code, { 'content-type': 'text/plain' }).end(message);
      };
      const signal = HTTP_PATHS[path];
      if (!signal)
        return fail(404, `unexpected ${req.method} ${path} (expected POST /v1/traces, /v1/logs or /v1/metrics)`);
      if (req.method !== 'POST') return fail(405, `unexpected ${req.method} ${path}`, signal);
      if (tooLarge) return fail(413, `body larger than ${MAX_BODY_BYTES} bytes`, signal);
      const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const protocol: ReceiverProtocol | undefined =
        mediaType === 'application/json'
          ? 'http/json'
          : mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf'
            ? 'http/protobuf'
            : undefined;
      if (!protocol) return fail(415, `unsupported content-type '${headers['content-type'] ?? ''}'`, signal);
      const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
        return fail(415, `unsupported content-encoding '${encoding}'`, signal);
      }
      const raw = Buffer.concat(chunks);
      const result = this.ingest(protocol, signal, path, headers, encoding !== 'identity', () => {
        const body =
          encoding === 'identity' ? raw : encoding === 'deflate' ? zlib.inflateSync(raw) : zlib.gunzipSync(raw);
        return protocol === 'http/json'
          ? this.decoder.decodeJson(signal, body.toString('utf8'), headers)
          : this.decoder.decodeProtobuf(signal, body, protocol, headers);
      });
      switch (result.outcome) {
        case 'ok':
          // Empty Export*ServiceResponse: zero protobuf bytes, or {} in JSON.
          if (protocol === 'http/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          return;
        case 'hang':
          return; // held open until the client gives up or stop()/close() destroys the socket
        case 'error':
          res.writeHead(503, { 'content-type': 'text/plain' }).end(result.message);
          return;
        case 'decode-error':
          res.writeHead(400, { 'content-type': 'text/plain' }).end(result.message);
          return;
      }
    });
  }
}

/**
 * Each signal's Export method as opentelemetry-proto defines it (path, unary). The request deserializer is the
 * identity so our protobufjs decoder sees the raw bytes and can record undecodable bodies instead of grpc-js failing
 * them invisibly; the response is the generated (empty) Export*ServiceResponse.
 */
function grpcServices(): Record<ReceiverSignal, ServiceDefinition> {
  const services = {} as Record<ReceiverSignal, ServiceDefinition>;
  for (const [signal, name] of Object.entries(GRPC_SERVICES) as [ReceiverSignal, string][]) {
    const response = MESSAGES[signal].response;
    services[signal] = {
      Export: {
        path: `/${name}/Export`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (buf: Buffer) => buf,
        requestDeserialize: (buf: Buffer) => buf,
        responseSerialize: (msg: object) => Buffer.from(response.encode(msg).finish()),
        responseDeserialize: (buf: Buffer) => response.decode(buf),
      },
    };
  }
  return services;
}

/** Same-port relisten can briefly hit EADDRINUSE while the old socket finishes closing. */
async function retryOnAddrInUse<T>(port: number, listen: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await listen();
    } catch (err) {
      if (port === 0 || !isAddrInUse(err) || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * grpc-js decompresses before the handler runs and strips grpc-encoding from the metadata; the
 * request's encoding survives only on its internal call object (private field, grpc-js 1.14).
 * undefined when that internal changes: the receiver.test gzip case then fails loudly.
 */
function grpcIncomingEncoding(call: ServerUnaryCall<Buffer, object>): string | undefined {
  const inner = (call as unknown as { call?: { incomingEncoding?: unknown } }).call;
  return typeof inner?.incomingEncoding === 'string' ? inner.incomingEncoding : undefined;
}

function grpcError(code: status, details: string): Partial<ServiceError> {
  return { code, details, message: details };
}

function httpHeaders(h: http.IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function metadataToHeaders(md: Metadata): Headers {
  const out: Headers = {};
  for (const [k, values] of Object.entries(md.toJSON())) {
    out[k.toLowerCase()] = values.map((v) => (typeof v === 'string' ? v : v.toString('base64'))).join(', ');
  }
  return out;
}

function describeRequest(r: ReceivedRequest): string {
  const counts =
    r.signal === 'traces'
      ? `${r.spanCount} spans`
      : r.signal === 'logs'
        ? `${r.logCount} logs`
        : `${r.metricCount} metrics`;
  return `${r.protocol} ${r.path} ${counts} -> ${r.outcome}`;
}

function describeFn(fn: (item: never) => boolean): string {
  const src = fn.toString().replace(/\s+/g, ' ');
  return src.length > 120 ? `${src.slice(0, 117)}...` : src;
}

function short(v: unknown): string {
  const s =
    typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return s !== undefined && s.length > 60 ? `${s.slice(0, 57)}...` : String(s);
}
