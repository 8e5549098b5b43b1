// Spans and log records of every shape the SDKs can produce (all attribute types and bodies, events, links, remote
// parents, two resources and scopes interleaved), for the tests that compare the agent's encodings with the library
// serializer's.
import {
  context,
  ROOT_CONTEXT,
  SeverityNumber,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export function recordSpans(
  resourceAttributes: Record<string, string | number>,
  write: (provider: TracerProvider) => void,
): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    spanLimits: { attributeCountLimit: 200 },
  });
  write(provider);
  return exporter.getFinishedSpans();
}

const longAscii = 'a'.repeat(300);
const huge = 'x'.repeat(20_000); // KeyValue and Span lengths of three varint bytes

export function variedSpans(): ReadableSpan[] {
  const first = recordSpans({ 'service.name': 'enc', 'process.pid': 42 }, (provider) => {
    const tracer = provider.getTracer('scope-a', '1.2.3');
    const other = provider.getTracer('scope-b', undefined, { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
    const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: new TraceState('vendor=v1,other=o2'),
    });
    const server = tracer.startSpan('GET /items/:id', { kind: SpanKind.SERVER }, remoteParent);
    server.setAttributes({
      'http.request.method': 'GET',
      'url.path': '/items/7',
      'server.port': 8080,
      'network.peer.port': 65535 + 7,
      'big.int': 2 ** 40 + 3,
      'negative.int': -12,
      'very.negative': -(2 ** 45),
      'float.value': 3.25,
      'not.a.number': Number.NaN,
      'bool.true': true,
      'bool.false': false,
      'utf8.value': 'grüße, 世界 🚀',
      'utf8.key.é': 'v',
      'long.ascii': longAscii,
      'empty.string': '',
      'string.array': ['a', 'b', ''],
      'number.array': [1, 2.5, -3],
      'bool.array': [true, false],
      'mixed.array': ['a', null as unknown as string, undefined as unknown as string],
      'empty.array': [],
    });
    server.addEvent('started', { step: 1, label: 'warm' });
    server.addEvent('no attributes');
    server.addLink({
      context: {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.NONE,
        isRemote: true,
        traceState: new TraceState('k=v'),
      },
      attributes: { 'link.kind': 'follows' },
    });
    server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed: ünavailable' });
    const inner = context.with(trace.setSpan(ROOT_CONTEXT, server), () =>
      other.startSpan('child', { kind: SpanKind.CLIENT }),
    );
    inner.setAttribute('huge.value', huge);
    inner.end();
    const internal = tracer.startSpan('internal');
    internal.setStatus({ code: SpanStatusCode.OK });
    internal.end();
    for (const kind of [SpanKind.PRODUCER, SpanKind.CONSUMER]) {
      const s: Span = tracer.startSpan(`send tcp://127.0.0.1:${5550 + kind}`, {
        kind,
        attributes: { 'messaging.system': 'zeromq', 'messaging.message.body.size': 0 },
      });
      s.end();
    }
    server.end();
  });
  const second = recordSpans({ 'service.name': 'enc-2', 'host.name': 'h' }, (provider) => {
    const tracer = provider.getTracer('scope-a', '1.2.3');
    for (let i = 0; i < 300; i++) {
      // Cached values of one key that a careless cache would mix up: 200 and '200', 1 and true, 0 and -0.
      const s = tracer.startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': i % 2 ? 'GET' : 'POST',
          'url.path': `/r/${i}`,
          'http.response.status_code': i % 3 ? 200 : '200',
          'mixed.kinds': i % 2 ? 1 : true,
          'signed.zero': i % 2 ? 0 : -0,
          ratio: 0.5,
        },
      });
      s.end();
    }
  });
  // Interleaved resources and scopes: grouping must follow the library's (first appearance) order.
  return [...first.slice(0, 3), ...second.slice(0, 150), ...first.slice(3), ...second.slice(150)];
}

export function variedLogRecords(): ReadableLogRecord[] {
  const records: ReadableLogRecord[] = [];
  for (const service of ['logs-a', 'logs-b']) {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'process.pid': 7 }),
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    });
    const console = provider.getLogger('console', '1.0.0');
    const pino = provider.getLogger('pino', undefined, { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
    const inSpan = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    });
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    console.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'handled /items/7',
      context: inSpan,
    });
    console.emit({
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'grüße 🚀 '.repeat(30),
      attributes: { 'code.line': 12, 'exception.type': 'TypeError' },
      context: unsampled,
    });
    console.emit({ body: 'no severity, no span' });
    console.emit({ severityNumber: SeverityNumber.UNSPECIFIED, body: 'unspecified severity' });
    pino.emit({
      severityNumber: SeverityNumber.WARN,
      body: { msg: 'structured', n: 5, nested: { ok: true, list: [1, 'two'] } },
      attributes: { 'log.tag': 'x' },
      context: inSpan,
    });
    pino.emit({
      severityNumber: SeverityNumber.DEBUG,
      body: new Uint8Array([0, 1, 255]),
      eventName: 'app.bytes',
      context: inSpan,
    });
    pino.emit({
      severityNumber: SeverityNumber.TRACE,
      body: ['a', 2, false],
      timestamp: new Date('2026-11-22T09:00:00.123Z'),
    });
    pino.emit({ severityText: 'custom', attributes: { huge: 'y'.repeat(20_000) } });
    for (let i = 0; i < 200; i++)
      console.emit({
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: `line ${i}`,
        attributes: { 'log.source': 'console' },
        context: inSpan,
      });
    records.push(...memory.getFinishedLogRecords());
  }
  return records;
}
