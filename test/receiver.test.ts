// Tests the test OTLP receiver itself against the real OpenTelemetry exporters, so that the
// end-to-end suites can trust what it reports.

import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SeverityNumber, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type OtlpReceiver, type ReceiverProtocol, startReceiver } from './helpers/otlp-receiver.js';

type Compression = 'none' | 'gzip';

let r: OtlpReceiver;
beforeAll(async () => {
  r = await startReceiver();
});
afterAll(async () => {
  await r?.close();
});
beforeEach(() => {
  r.setMode('ok');
  r.clear();
});

// ---- span / log fixtures produced by the real SDK ----

const LINKED = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

function makeSpans(tag: string): { spans: ReadableSpan[]; traceId: string; parentId: string } {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'receiver-test', 'test.tag': tag }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('receiver-test-scope', '1.2.3');
  const parent = tracer.startSpan('parent', {
    kind: SpanKind.SERVER,
    attributes: {
      'attr.string': 'hello',
      'attr.int': 42,
      'attr.double': 3.5,
      'attr.bool': true,
      'attr.strings': ['a', 'b'],
      'attr.ints': [1, 2, 3],
      'attr.bools': [true, false],
    },
  });
  const child = tracer.startSpan(
    'child',
    { kind: SpanKind.CLIENT, links: [{ context: LINKED, attributes: { 'link.attr': 'l' } }] },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.addEvent('evt', { 'evt.n': 7, 'evt.s': 'x' });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  child.end();
  parent.end();
  return {
    spans: memory.getFinishedSpans(),
    traceId: parent.spanContext().traceId,
    parentId: parent.spanContext().spanId,
  };
}

function makeLogs(tag: string): { logs: ReadableLogRecord[]; traceId: string; spanId: string } {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'receiver-test' }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const spanContext = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
  };
  provider.getLogger('receiver-test-logger', '0.0.1').emit({
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: { msg: `hello ${tag}`, n: 5 },
    attributes: { 'log.tag': tag, 'log.int': 9 },
    context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
  });
  return { logs: memory.getFinishedLogRecords(), traceId: spanContext.traceId, spanId: spanContext.spanId };
}

function exportWith<T>(
  exporter: { export(items: T[], cb: (r: ExportResult) => void): void },
  items: T[],
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

// ---- exporters under test ----

interface Variant {
  protocol: ReceiverProtocol;
  traces(opts: { headerValue: string; compression: Compression; timeoutMillis?: number }): SpanExporter;
  logs(opts: { headerValue: string }): LogRecordExporter;
}

/** The 0.301 gRPC exporters take no `headers`: custom headers go in as a grpc-js Metadata. */
function metadata(value: string): Metadata {
  const md = new Metadata();
  md.set('x-test-header', value);
  return md;
}

const VARIANTS: Variant[] = [
  {
    protocol: 'grpc',
    traces: (o) =>
      new GrpcTraceExporter({
        url: r.grpcUrl,
        metadata: metadata(o.headerValue),
        compression: o.compression as never,
        timeoutMillis: o.timeoutMillis,
      }),
    logs: (o) => new GrpcLogExporter({ url: r.grpcUrl, metadata: metadata(o.headerValue) }),
  },
  {
    protocol: 'http/protobuf',
    traces: (o) =>
      new ProtoTraceExporter({
        url: `${r.httpUrl}/v1/traces`,
        headers: { 'x-test-header': o.headerValue },
        compression: o.compression as never,
        timeoutMillis: o.timeoutMillis,
      }),
    logs: (o) => new ProtoLogExporter({ url: `${r.httpUrl}/v1/logs`, headers: { 'x-test-header': o.headerValue } }),
  },
  {
    protocol: 'http/json',
    traces: (o) =>
      new JsonTraceExporter({
        url: `${r.httpUrl}/v1/traces`,
        headers: { 'x-test-header': o.headerValue },
        compression: o.compression as never,
        timeoutMillis: o.timeoutMillis,
      }),
    logs: (o) => new JsonLogExporter({ url: `${r.httpUrl}/v1/logs`, headers: { 'x-test-header': o.headerValue } }),
  },
];

describe.each(VARIANTS)('$protocol', (v) => {
  test.each(['none', 'gzip'] as const)('decodes spans from the real exporter (compression %s)', async (compression) => {
    const { spans, traceId, parentId } = makeSpans(`${v.protocol}-${compression}`);
    const exporter = v.traces({ headerValue: `${v.protocol}-value`, compression });
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);

    const got = await r.waitForSpans({ where: (s) => s.traceId === traceId, count: 2 }, 2000);
    const parent = got.find((s) => s.name === 'parent')!;
    const child = got.find((s) => s.name === 'child')!;
    expect(parent.spanId).toBe(parentId);
    expect(parent.parentSpanId).toBe('');
    expect(child.parentSpanId).toBe(parent.spanId);
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect([parent.kind, parent.kindName, child.kind, child.kindName]).toEqual([2, 'SERVER', 3, 'CLIENT']);
    expect(parent.attributes).toEqual({
      'attr.string': 'hello',
      'attr.int': 42,
      'attr.double': 3.5,
      'attr.bool': true,
      'attr.strings': ['a', 'b'],
      'attr.ints': [1, 2, 3],
      'attr.bools': [true, false],
    });
    expect(typeof parent.startTimeUnixNano).toBe('bigint');
    expect(parent.startTimeUnixNano).toBeGreaterThan(1_600_000_000_000_000_000n);
    // Only within one span: the SDK anchors each span's clock separately (~1 ms apart).
    for (const s of [parent, child]) expect(s.endTimeUnixNano).toBeGreaterThanOrEqual(s.startTimeUnixNano);
    expect(child.events).toHaveLength(1);
    expect(child.events[0]!.name).toBe('evt');
    expect(child.events[0]!.attributes).toEqual({ 'evt.n': 7, 'evt.s': 'x' });
    expect(child.events[0]!.timeUnixNano).toBeGreaterThanOrEqual(child.startTimeUnixNano);
    expect(child.links).toEqual([
      {
        traceId: LINKED.traceId,
        spanId: LINKED.spanId,
        traceState: '',
        flags: expect.any(Number),
        attributes: { 'link.attr': 'l' },
      },
    ]);
    expect(child.status).toEqual({ code: 2, message: 'boom' });
    expect(parent.status.code).toBe(0);
    expect(parent.flags & 0xff).toBe(1); // sampled
    expect(parent.resource).toMatchObject({
      'service.name': 'receiver-test',
      'test.tag': `${v.protocol}-${compression}`,
    });
    expect(parent.scope).toEqual({ name: 'receiver-test-scope', version: '1.2.3', attributes: {} });
    expect(parent.protocol).toBe(v.protocol);
    expect(parent.headers['x-test-header']).toBe(`${v.protocol}-value`);
    expect(parent.headers['user-agent']).toContain('OTel-OTLP-Exporter-JavaScript');

    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]).toMatchObject({
      protocol: v.protocol,
      signal: 'traces',
      spanCount: 2,
      outcome: 'ok',
      compressed: compression === 'gzip',
    });
    expect(r.errors).toEqual([]);
  });

  test('decodes logs from the real exporter', async () => {
    const { logs, traceId, spanId } = makeLogs(v.protocol);
    const exporter = v.logs({ headerValue: `${v.protocol}-log` });
    const result = await exportWith(exporter, logs);
    await exporter.shutdown();
    expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);

    const [log] = await r.waitForLogs(1, 2000);
    expect(log).toMatchObject({
      severityNumber: 13,
      severityText: 'WARN',
      body: { msg: `hello ${v.protocol}`, n: 5 },
      attributes: { 'log.tag': v.protocol, 'log.int': 9 },
      traceId,
      spanId,
      resource: { 'service.name': 'receiver-test' },
      scope: { name: 'receiver-test-logger', version: '0.0.1' },
      protocol: v.protocol,
    });
    expect(log!.timeUnixNano).toBeGreaterThan(0n);
    expect(log!.headers['x-test-header']).toBe(`${v.protocol}-log`);
    expect(r.requests[0]).toMatchObject({ signal: 'logs', logCount: 1 });
  });

  test('hang mode: request is recorded, never answered, and the exporter times out', async () => {
    r.setMode('hang');
    const { spans } = makeSpans('hang');
    const exporter = v.traces({ headerValue: 'h', compression: 'none', timeoutMillis: 300 });
    const started = Date.now();
    const result = await exportWith(exporter, spans);
    const elapsed = Date.now() - started;
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    expect(r.requests).toMatchObject([{ protocol: v.protocol, outcome: 'hang', spanCount: 2 }]);
    expect(r.spans).toEqual([]);
  });

  test('error mode: HTTP 503 / gRPC UNAVAILABLE fails the export', async () => {
    r.setMode('error');
    const { spans } = makeSpans('error');
    const exporter = v.traces({ headerValue: 'e', compression: 'none', timeoutMillis: 500 });
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.FAILED);
    if (v.protocol === 'grpc') expect((result.error as { code?: number }).code).toBe(status.UNAVAILABLE);
    expect(r.requests[0]).toMatchObject({ outcome: 'error' });
    expect(r.spans).toEqual([]);
  });
});

describe('bad input is reported, not swallowed', () => {
  test('undecodable protobuf body: 400, error entry, and waitForSpans says so', async () => {
    const res = await fetch(`${r.httpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), // field 1, absurd length
    });
    expect(res.status).toBe(400);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/cannot decode http\/protobuf traces body/);
    await expect(r.waitForSpans(1, 100)).rejects.toThrow(/Receiver errors \(1\).*cannot decode/s);
  });

  test('OTLP/JSON with base64 (non-hex) ids is rejected', async () => {
    const body = {
      resourceSpans: [
        { scopeSpans: [{ spans: [{ name: 'b64', traceId: 'CvdlGRbNQ92ESOshHIAxnA==', spanId: 't61rcWkgMzE=' }] }] },
      ],
    };
    const res = await fetch(`${r.httpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(r.errors[0]!.message).toMatch(/traceId must be a hex string/);
  });

  test('hand-written OTLP/JSON: hex ids, string int64, enum ints', async () => {
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-svc' } }] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  parentSpanId: 'eee19b7ec3c1b173',
                  name: 'json-span',
                  kind: 4,
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: '1544712661000000000',
                  attributes: [
                    { key: 'i', value: { intValue: '9007199254740991' } },
                    { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
                    { key: 'bytes', value: { bytesValue: 'AQID' } },
                    { key: 'empty', value: {} },
                  ],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${r.httpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const [span] = await r.waitForSpans((s) => s.name === 'json-span', 1000);
    expect(span).toMatchObject({
      traceId: '5b8efff798038103d269b633813fc60c',
      parentSpanId: 'eee19b7ec3c1b173',
      kind: 4,
      kindName: 'PRODUCER',
      startTimeUnixNano: 1544712660000000000n,
      status: { code: 1, message: '' },
      resource: { 'service.name': 'json-svc' },
      protocol: 'http/json',
    });
    expect(span!.attributes).toEqual({
      i: 9007199254740991,
      kv: { k: true },
      bytes: new Uint8Array([1, 2, 3]),
      empty: null,
    });
  });

  test('malformed ids in a decodable body are recorded as errors, data kept', async () => {
    const body = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'short-id', traceId: 'abcd', spanId: '0000000000000000' }] }] }],
    };
    await fetch(`${r.httpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.spans.map((s) => s.name)).toEqual(['short-id']);
    expect(r.errors.map((e) => e.message)).toEqual([
      "span 'short-id': traceId has 2 bytes, expected 16",
      "span 'short-id': spanId is all zeros",
    ]);
  });

  test('wrong path and content type are recorded', async () => {
    const a = await fetch(`${r.httpUrl}/v1/trace`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const b = await fetch(`${r.httpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect([a.status, b.status]).toEqual([404, 415]);
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('unexpected POST /v1/trace '),
      expect.stringContaining("unsupported content-type 'text/plain'"),
    ]);
  });

  test('undecodable gRPC body: INVALID_ARGUMENT and an error entry', async () => {
    const client = new Client(`127.0.0.1:${r.grpcPort}`, credentials.createInsecure());
    try {
      const err = await new Promise<{ code?: number } | null>((resolve) =>
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
          (e) => resolve(e),
        ),
      );
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(r.errors[0]).toMatchObject({
        protocol: 'grpc',
        signal: 'traces',
        message: expect.stringMatching(/cannot decode grpc traces body/),
      });
    } finally {
      client.close();
    }
  });
});

describe('waitFor*', () => {
  test('timeout message lists what was received', async () => {
    const { spans } = makeSpans('wait');
    const exporter = VARIANTS[1]!.traces({ headerValue: 'w', compression: 'none' });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    const err = await r.waitForSpans((s) => s.name === 'nope', 100).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/timed out after 100ms waiting for 1 span\(s\) matching .*nope/);
    expect((err as Error).message).toMatch(
      /Received 2 span\(s\): child \[CLIENT, http\/protobuf\]; parent \[SERVER, http\/protobuf\]/,
    );
  });

  test('resolves for data arriving after the call', async () => {
    const waiting = r.waitForSpans(2, 2000);
    const { spans } = makeSpans('later');
    const exporter = VARIANTS[0]!.traces({ headerValue: 'l', compression: 'none' });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    expect((await waiting).map((s) => s.name).sort()).toEqual(['child', 'parent']);
  });
});

describe('stop / restart', () => {
  test('restart comes back on the same ports and exporters reconnect', async () => {
    const { grpcPort, httpPort } = r;
    const http = VARIANTS[1]!.traces({ headerValue: 'r', compression: 'none', timeoutMillis: 500 });
    const grpc = VARIANTS[0]!.traces({ headerValue: 'r', compression: 'none', timeoutMillis: 500 });
    try {
      // Connect the gRPC channel first, so the test covers reconnection, not a first connect.
      expect((await exportWith(grpc, makeSpans('before').spans)).code).toBe(ExportResultCode.SUCCESS);

      await r.stop();
      expect((await exportWith(http, makeSpans('down').spans)).code).toBe(ExportResultCode.FAILED);
      expect((await exportWith(grpc, makeSpans('down').spans)).code).toBe(ExportResultCode.FAILED);

      await r.restart();
      expect([r.grpcPort, r.httpPort]).toEqual([grpcPort, httpPort]);
      r.clear();
      expect((await exportWith(http, makeSpans('after-http').spans)).code).toBe(ExportResultCode.SUCCESS);
      // grpc-js reconnects with its own backoff (~1 s); UNAVAILABLE until then is expected.
      let grpcResult: ExportResult | undefined;
      for (let i = 0; i < 20 && grpcResult?.code !== ExportResultCode.SUCCESS; i++) {
        if (i > 0) await new Promise((res) => setTimeout(res, 150));
        grpcResult = await exportWith(grpc, makeSpans('after-grpc').spans);
      }
      expect(grpcResult?.code).toBe(ExportResultCode.SUCCESS);
      const got = await r.waitForSpans({ where: (s) => s.name === 'parent', count: 2 }, 1000);
      expect(new Set(got.map((s) => s.protocol))).toEqual(new Set(['http/protobuf', 'grpc']));
    } finally {
      await Promise.all([http.shutdown(), grpc.shutdown()]);
    }
  });
});

describe('exporters read OTEL_EXPORTER_OTLP_* themselves', () => {
  test('OTEL_EXPORTER_OTLP_HEADERS is merged under code-provided headers/metadata', async () => {
    const saved = { ...process.env };
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-from-env=env,x-test-header=env-loses';
    process.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = 'x-traces-env=tenv';
    let exporters: SpanExporter[] = [];
    try {
      exporters = VARIANTS.map((v) => v.traces({ headerValue: 'code-wins', compression: 'none' }));
    } finally {
      process.env = saved; // env is read when the exporter is constructed
    }
    for (const exporter of exporters) {
      expect((await exportWith(exporter, makeSpans('env').spans)).code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();
    }
    expect(r.requests).toHaveLength(3);
    for (const req of r.requests) {
      expect(req.headers, req.protocol).toMatchObject({
        'x-from-env': 'env',
        'x-traces-env': 'tenv',
        'x-test-header': 'code-wins',
      });
    }
  });
});
