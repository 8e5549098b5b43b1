// The span and log record processors of the exporter thread (TRACES_EXPORT_THREAD): each hands what ends (a sampled
// span) or is emitted (a log record) to its signal's HandOff, which encodes it into the ring the thread reads.
import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchConfig, LogLevel, OtlpConfig } from '../../config/index.js';
import type { Diag } from '../../diag.js';
import { encodeLogRecordRecord, encodeSpanRecord } from '../otlp-encoder.js';
import { HandOff } from './hand-off.js';

export interface ThreadOptions {
  otlp: OtlpConfig;
  batch: BatchConfig;
  diag: Diag;
  logLevel: LogLevel;
  secrets: string[];
}

export class ThreadSpanProcessor implements SpanProcessor {
  private readonly handOff: HandOff<ReadableSpan>;

  constructor(o: ThreadOptions) {
    this.handOff = new HandOff({ ...o, signal: 'traces', encode: encodeSpanRecord });
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) !== 0) this.handOff.hand(span); // sampled only, as the batch processor
  }

  forceFlush(): Promise<void> {
    return this.handOff.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.handOff.shutdown();
  }
}

export class ThreadLogRecordProcessor implements LogRecordProcessor {
  private readonly handOff: HandOff<ReadableLogRecord>;

  constructor(o: ThreadOptions) {
    this.handOff = new HandOff({ ...o, signal: 'logs', encode: encodeLogRecordRecord });
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    this.handOff.hand(record);
  }

  forceFlush(): Promise<void> {
    return this.handOff.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.handOff.shutdown();
  }
}
