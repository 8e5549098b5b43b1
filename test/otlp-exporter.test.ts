// The agent's own OTLP exporter (src/exporters/wire/): what it sends is decoded by the test receiver (grpc-js and
// protobufjs, independent of the agent's encoder and transport) for every protocol, compressed or not; what a
// collector answers is honoured as OTLP says: retryable answers are sent again within the timeout, others are final,
// a refused connection fails at once, a partial success is reported once; and with a proxy variable, gRPC goes
// through the official exporter (grpc-js honours proxies).
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ExportResult } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OtlpConfig } from '../src/config/index.js';
import type { Diag } from '../src/diag.js';
import { createOtlpExporter } from '../src/exporters/otlp.js';
import { encodeLogsExportRequest, encodeTraceExportRequest } from '../src/exporters/otlp-encoder.js';
import { WireExporter } from '../src/exporters/wire/exporter.js';
import { type OtlpReceiver, startReceiver } from './helpers/otlp-receiver.js';
import { variedSpans } from './helpers/varied-spans.js';

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

function capturingDiag(): Diag & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    notice: at('warn'),
    info: at('info'),
    debug: at('debug'),
    enabled: () => true,
  };
}

const otlpFor = (protocol: OtlpConfig['protocol'], url: string, extra: Partial<OtlpConfig> = {}): OtlpConfig => ({
  protocol,
  url,
  headers: {},
  compression: 'none',
  timeoutMs: 5000,
  ...extra,
});

function exportOnce<T>(exporter: { export(items: T[], cb: (r: ExportResult) => void): void }, items: T[]) {
  return new Promise<ExportResult>((resolve) => exporter.export(items, resolve));
}

describe('every protocol, with and without gzip', () => {
  for (const protocol of ['grpc', 'http/protobuf', 'http/json'] as const) {
    for (const compression of ['none', 'gzip'] as const) {
      it(`${protocol}, compression ${compression}: the receiver decodes every span, with the configured headers`, async () => {
        receiver.clear();
        const url = protocol === 'grpc' ? receiver.grpcUrl : `${receiver.httpUrl}/v1/traces`;
        const spans = variedSpans();
        const exporter = createOtlpExporter(
          'traces',
          otlpFor(protocol, url, { compression, headers: { 'x-tenant': 'acme' } }),
          capturingDiag(),
        );
        expect(exporter).toBeInstanceOf(WireExporter);
        expect(await exportOnce(exporter, spans)).toEqual({ code: 0 });
        await exporter.shutdown();
        expect(receiver.spans.map((s) => s.name).sort()).toEqual(spans.map((s) => s.name).sort());
        const [request] = receiver.requests;
        expect(request).toMatchObject({ protocol, outcome: 'ok', spanCount: spans.length });
        if (request!.compressed !== undefined) expect(request!.compressed).toBe(compression === 'gzip');
        expect(request!.headers['x-tenant']).toBe('acme');
        expect(request!.headers['user-agent']).toMatch(/@x\/trace-agent/);
      });
    }
  }
});

/** A collector that answers each request with the next of `answers` (the last one repeats). */
async function scriptedHttp(answers: { status: number; headers?: Record<string, string>; body?: Buffer }[]) {
  const seen: number[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answers[Math.min(seen.length, answers.length - 1)]!;
      seen.push(Date.now());
      res.writeHead(a.status, { 'content-type': 'application/x-protobuf', ...a.headers });
      res.end(a.body ?? Buffer.alloc(0));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

async function scriptedGrpc(answers: { status: number; message?: string }[]) {
  const seen: number[] = [];
  const server = http2.createServer();
  server.on('stream', (stream: http2.ServerHttp2Stream) => {
    stream.resume();
    stream.on('end', () => {
      const a = answers[Math.min(seen.length, answers.length - 1)]!;
      seen.push(Date.now());
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': String(a.status), 'grpc-message': encodeURIComponent(a.message ?? '') }),
      );
      stream.end(a.status === 0 ? Buffer.from([0, 0, 0, 0, 0]) : undefined);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

/** ExportTraceServiceResponse { partial_success { rejected_spans: 2, error_message: "too old" } } */
const PARTIAL = Buffer.from([0x0a, 0x0b, 0x08, 0x02, 0x12, 0x07, ...Buffer.from('too old')]);

describe('what the collector answers', () => {
  it('HTTP 503 with Retry-After is sent again after it; the partial success that follows is warned about once', async () => {
    const collector = await scriptedHttp([
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 200, body: PARTIAL },
    ]);
    const diag = capturingDiag();
    const exporter = createOtlpExporter('traces', otlpFor('http/protobuf', collector.url), diag);
    const started = Date.now();
    expect(await exportOnce(exporter, variedSpans())).toEqual({ code: 0 });
    expect(collector.seen).toHaveLength(2);
    expect(collector.seen[1]! - started).toBeGreaterThanOrEqual(950); // waited as asked
    expect(await exportOnce(exporter, variedSpans())).toEqual({ code: 0 });
    const warnings = diag.lines.filter((l) => l.startsWith('warn'));
    expect(warnings).toEqual([
      expect.stringMatching(/^warn: the collector rejected 2 span\(s\) of an export: too old/),
    ]);
    expect(diag.lines).toContainEqual(expect.stringMatching(/debug: OTLP http\/protobuf export .*HTTP status 503/));
    await exporter.shutdown();
    await collector.close();
  });

  it('HTTP 400 is final: one request, the status and the answer in the error', async () => {
    const collector = await scriptedHttp([{ status: 400, body: Buffer.from('bad request body') }]);
    const exporter = createOtlpExporter('traces', otlpFor('http/protobuf', collector.url), capturingDiag());
    const result = await exportOnce(exporter, variedSpans());
    expect(result.code).toBe(1);
    expect(result.error?.message).toBe('HTTP status 400: bad request body');
    expect(collector.seen).toHaveLength(1);
    await exporter.shutdown();
    await collector.close();
  });

  it('gRPC UNAVAILABLE is retried with backoff; INVALID_ARGUMENT is final', async () => {
    const flaky = await scriptedGrpc([{ status: 14, message: 'busy' }, { status: 0 }]);
    const exporter = createOtlpExporter('traces', otlpFor('grpc', flaky.url), capturingDiag());
    expect(await exportOnce(exporter, variedSpans())).toEqual({ code: 0 });
    expect(flaky.seen).toHaveLength(2);
    expect(flaky.seen[1]! - flaky.seen[0]!).toBeGreaterThanOrEqual(700); // 1 s backoff, ±20% jitter
    await exporter.shutdown();
    await flaky.close();

    const strict = await scriptedGrpc([{ status: 3, message: 'bad span: id' }]);
    const refusing = createOtlpExporter('traces', otlpFor('grpc', strict.url), capturingDiag());
    const result = await exportOnce(refusing, variedSpans());
    expect(result.error?.message).toBe('3 INVALID_ARGUMENT: bad span: id');
    expect(strict.seen).toHaveLength(1);
    await refusing.shutdown();
    await strict.close();
  });

  it.each(['grpc', 'http/protobuf'] as const)(
    '%s, connection refused: fails at once, not retried',
    async (protocol) => {
      const exporter = createOtlpExporter('logs', otlpFor(protocol, 'http://127.0.0.1:9/v1/logs'), capturingDiag());
      const started = Date.now();
      const result = await exportOnce(exporter, []);
      expect(result.code).toBe(1);
      expect(result.error?.message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:9$/);
      expect(Date.now() - started).toBeLessThan(900); // the first retry would come after ~1 s
      await exporter.shutdown();
    },
  );

  it.each(['grpc', 'http/protobuf'] as const)('%s, a collector that never answers: timed out', async (protocol) => {
    const hanging = await startReceiver({ mode: 'hang' });
    const url = protocol === 'grpc' ? hanging.grpcUrl : `${hanging.httpUrl}/v1/traces`;
    const exporter = createOtlpExporter('traces', otlpFor(protocol, url, { timeoutMs: 400 }), capturingDiag());
    const started = Date.now();
    const result = await exportOnce(exporter, variedSpans());
    const elapsed = Date.now() - started;
    expect(result.error?.message).toBe('timed out after 400 ms');
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2000);
    await exporter.shutdown();
    await hanging.close();
  });
});

describe('gRPC through a proxy', () => {
  it('with https_proxy set, gRPC goes through the official exporter, with the agent encoder in it', async () => {
    const before = process.env.https_proxy;
    process.env.https_proxy = 'http://127.0.0.1:3128';
    try {
      for (const signal of ['traces', 'logs'] as const) {
        const exporter = createOtlpExporter(signal, otlpFor('grpc', 'http://127.0.0.1:1'), capturingDiag());
        const serializer = (exporter as unknown as { _delegate: { _serializer: { serializeRequest: unknown } } })
          ._delegate._serializer;
        // The official bundle has its own copy of the agent's encoder: the same function by name and output.
        const encoder = signal === 'traces' ? encodeTraceExportRequest : encodeLogsExportRequest;
        expect((serializer.serializeRequest as { name: string }).name).toBe(encoder.name);
        if (signal === 'traces') {
          const spans = variedSpans();
          const encode = serializer.serializeRequest as (items: unknown[]) => Uint8Array;
          expect(Buffer.from(encode(spans)).equals(Buffer.from(encodeTraceExportRequest(spans)))).toBe(true);
        }
        await exporter.shutdown();
      }
    } finally {
      if (before === undefined) delete process.env.https_proxy;
      else process.env.https_proxy = before;
    }
  });
});
