// Console records are built by the agent (src/logs/console-records.ts) instead of the logs SDK's Logger for lines
// without fields. Such a record must be indistinguishable from the one the SDK would have made: same fields, same
// scope object (exporters group by its identity), the same bytes on the wire; lines with fields still go through
// the SDK, which applies the attribute limits.
import { context, ROOT_CONTEXT, SeverityNumber, TraceFlags, trace } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import { encodeLogsExportRequest } from '../src/exporters/otlp-encoder.js';
import { consoleRecordEmitter, type RecordLevel } from '../src/logs/console-records.js';

const SCOPE = '@x/trace-agent/console';
const WARN: RecordLevel = { severityNumber: SeverityNumber.WARN, severityText: 'WARN', iostream: 'stderr' };
const INFO: RecordLevel = { severityNumber: SeverityNumber.INFO, severityText: 'INFO', iostream: 'stdout' };

function setup(limits?: { attributeCountLimit: number }) {
  const exporter = new InMemoryLogRecordExporter();
  const processors = [new SimpleLogRecordProcessor({ exporter })];
  const resource = resourceFromAttributes({ 'service.name': 'records-test' });
  const provider = new LoggerProvider({ resource, processors, ...(limits ? { logRecordLimits: limits } : {}) });
  const logger = provider.getLogger(SCOPE);
  const emit = consoleRecordEmitter({ logger, processors, resource, scopeName: SCOPE });
  return { exporter, logger, emit, provider };
}

const inSpan = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
});

/** The readable fields of a record, as exporters read them. */
function view(r: ReadableLogRecord) {
  return {
    hrTime: r.hrTime,
    hrTimeObserved: r.hrTimeObserved,
    spanContext: r.spanContext,
    severityText: r.severityText,
    severityNumber: r.severityNumber,
    body: r.body,
    eventName: r.eventName,
    resource: r.resource,
    instrumentationScope: r.instrumentationScope,
    attributes: { ...r.attributes },
    droppedAttributesCount: r.droppedAttributesCount,
  };
}

describe('console records', () => {
  it('a line without fields gives the record the SDK Logger would give, with its very scope object', () => {
    const { exporter, logger, emit } = setup();
    for (const ctx of [inSpan, ROOT_CONTEXT]) {
      const time: [number, number] = [1_790_000_000, 123_456_000];
      // What console.ts did before records were built by hand: the SDK path.
      logger.emit({
        timestamp: time,
        observedTimestamp: time,
        severityNumber: WARN.severityNumber,
        severityText: WARN.severityText,
        body: 'a warning 42',
        attributes: { 'log.iostream': 'stderr' },
        context: ctx,
      });
      emit(WARN, time, 'a warning 42', undefined, ctx);
    }
    const [sdkInSpan, ownInSpan, sdkRoot, ownRoot] = exporter.getFinishedLogRecords();
    expect(view(ownInSpan!)).toEqual(view(sdkInSpan!));
    expect(view(ownRoot!)).toEqual(view(sdkRoot!));
    expect(ownInSpan!.spanContext?.spanId).toBe('b7ad6b7169203331');
    expect(ownRoot!.spanContext).toBeUndefined();
    expect(ownInSpan!.instrumentationScope).toBe(sdkInSpan!.instrumentationScope);
    // The same bytes, from the library's serializer and from the agent's encoder, in one scope group.
    const records = exporter.getFinishedLogRecords();
    expect(Buffer.from(encodeLogsExportRequest(records))).toEqual(
      Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!),
    );
    const sdkOnly = [sdkInSpan!, sdkRoot!, sdkInSpan!, sdkRoot!];
    expect(encodeLogsExportRequest(records).length).toBe(encodeLogsExportRequest(sdkOnly).length);
  });

  it('a line with fields goes through the SDK Logger, which applies the attribute limits', () => {
    const { exporter, emit } = setup({ attributeCountLimit: 2 });
    emit(INFO, [1, 2], 'with fields', { user: 'u1', nested: { ok: true }, third: 3 }, inSpan);
    const [record] = exporter.getFinishedLogRecords();
    expect(record!.attributes).toEqual({ 'log.iostream': 'stdout', user: 'u1' });
    expect(record!.droppedAttributesCount).toBe(2);
    expect(record!.spanContext?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('records reach a batch processor, and none after the provider is shut down', async () => {
    const bodies: unknown[] = []; // (the in-memory exporter forgets its records at shutdown)
    const exporter = new InMemoryLogRecordExporter();
    const export_ = exporter.export.bind(exporter);
    exporter.export = (records, done) => {
      bodies.push(...records.map((r) => r.body));
      export_(records, done);
    };
    const processors = [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 10 })];
    const resource = resourceFromAttributes({});
    const provider = new LoggerProvider({ resource, processors });
    const emit = consoleRecordEmitter({ logger: provider.getLogger(SCOPE), processors, resource, scopeName: SCOPE });
    context.with(inSpan, () => emit(INFO, [1, 2], 'queued', undefined, context.active()));
    await provider.forceFlush();
    expect(bodies).toEqual(['queued']);
    await provider.shutdown();
    emit(INFO, [1, 2], 'after shutdown', undefined, ROOT_CONTEXT);
    await processors[0]!.forceFlush();
    expect(bodies).toEqual(['queued']);
  });
});
