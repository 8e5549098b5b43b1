// Defers building (and so loading) a real exporter until the first batch is exported. No OpenTelemetry
// package offers this; it is what keeps the transport's module load out of the app's start-up time.
// It also owns what the app sees of export trouble: one warning per outage, and the spans still undelivered when
// the process ends abruptly (see exit-flush.ts).
import { context, type Context } from '@opentelemetry/api';
import { suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { redactUrl, type OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { PendingBatches, registerExitSink, type ExitSink } from './exit-flush.js';
import { deliverAtExit } from './sync-send.js';

/**
 * A failed gRPC export makes the next one use a new channel (at most this often): grpc-js waits out an exponential
 * reconnect backoff of up to 120 s before it even tries the collector again, failing every call meanwhile, so a
 * collector back after a long outage would otherwise get no spans for up to two minutes.
 */
export const GRPC_REBUILD_MS = 1000;

/**
 * While exports fail, at most one attempt starts per this period; batches in between are dropped at once (and
 * counted). A collector that refuses connections fails each export in microseconds, and the batch processor then
 * hands over the next batch at once: without this, every span of the outage was serialised and sent in vain, which
 * cost CPU and grew the heap by ~200 MiB over a million spans (bench/memory.mjs). A collector that hangs is paced
 * by the export timeout already, so it is not paused further.
 */
export const RETRY_PERIOD_MS = 1000;

const SUCCESS: ExportResult = { code: 0 }; // ExportResultCode.SUCCESS
const FAILED: ExportResult = { code: 1 }; // ExportResultCode.FAILED
/** Built this long after start-up even before any export, so a flush at SIGTERM finds the exporter ready. */
const WARM_UP_DELAY_MS = 250;

export class LazySpanExporter implements SpanExporter, ExitSink {
  private delegate: SpanExporter | undefined;
  private broken = false;
  private readonly pending = new PendingBatches();
  private readonly target: string;

  constructor(
    private readonly build: () => SpanExporter,
    private readonly otlp: OtlpConfig,
    private readonly diag: Diag,
  ) {
    this.target = redactUrl(otlp.url);
    // Built with tracing suppressed, so nothing the transport does while loading is traced or logged as the app.
    setTimeout(() => context.with(suppressTracing(context.active()), () => this.get()), WARM_UP_DELAY_MS).unref();
    registerExitSink(this);
  }

  private builtAt = 0;

  private get(): SpanExporter | undefined {
    if (!this.delegate && !this.broken) {
      try {
        this.builtAt = Date.now();
        this.delegate = this.build();
      } catch (err) {
        this.broken = true;
        this.diag.error(`cannot create the OTLP exporter: ${describeError(err)}; spans will not be exported`);
      }
    }
    return this.delegate;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.pending.capturing) {
      this.pending.keep(spans);
      return resultCallback(SUCCESS);
    }
    const delegate = this.get();
    if (!delegate) return resultCallback(FAILED);
    if (this.paused()) {
      this.dropped += spans.length;
      return resultCallback(FAILED);
    }
    this.lastAttemptAt = Date.now();
    const settled = this.pending.track(spans);
    try {
      delegate.export(spans, (result) => {
        settled();
        this.report(result, spans.length);
        resultCallback(result);
      });
    } catch (err) {
      // An exporter must report through the callback; one that throws is treated as a failed export.
      settled();
      const result: ExportResult = { code: 1, error: err instanceof Error ? err : new Error(String(err)) };
      this.report(result, spans.length);
      resultCallback(result);
    }
  }

  /** Inside an outage, between two attempts: spans would only be dropped (see RETRY_PERIOD_MS). */
  paused(): boolean {
    return this.failing && Date.now() < this.lastAttemptAt + RETRY_PERIOD_MS;
  }

  /** A span dropped before it reached the batch processor's queue (OutageGate): counted with the failed batches. */
  countDropped(count: number): void {
    this.dropped += count;
  }

  /** One warning when exports start failing and one line when they recover: never one per batch. */
  private failing = false;
  private dropped = 0;
  private lastAttemptAt = 0;
  private report(result: ExportResult, count: number): void {
    if (result.code !== 0) {
      this.dropped += count;
      if (this.otlp.protocol === 'grpc' && Date.now() - this.builtAt >= GRPC_REBUILD_MS) {
        const old = this.delegate;
        this.delegate = undefined; // the next export builds a fresh exporter, whose channel connects at once
        void old?.shutdown().catch(() => undefined);
      }
      if (!this.failing) {
        this.failing = true;
        this.diag.notice(
          `span export to ${this.target} failed (${describeError(result.error)}); ` +
            `retrying every ${RETRY_PERIOD_MS / 1000} s or more, spans made meanwhile are dropped`,
        );
      }
    } else if (this.failing) {
      this.failing = false;
      this.diag.notice(`span export to ${this.target} works again; ${this.dropped} span(s) were dropped while it failed`);
      this.dropped = 0;
    }
  }

  capture(): void {
    this.pending.capturing = true;
  }

  drainSync(deadline: number): void {
    const encode = (spans: ReadableSpan[]) => {
      const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
      return (this.otlp.protocol === 'http/json' ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer).serializeRequest(spans);
    };
    deliverAtExit(this.pending.take(), encode, { otlp: this.otlp, signal: 'traces', target: this.target, noun: 'span' }, deadline, this.diag);
  }

  async shutdown(): Promise<void> {
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}

/**
 * In front of a batch processor whose exporter is a LazySpanExporter: while that exporter is paused in an outage,
 * finished spans are dropped here instead of queued, since the queue would only hand them to an export that drops
 * them. Same outcome for the spans, but they die young: a queue of spans waiting to be dropped kept them alive
 * long enough to be promoted to V8's old generation, which then grew by tens of MiB (bench/memory.mjs).
 */
export class OutageGate implements SpanProcessor {
  constructor(
    private readonly exporter: LazySpanExporter,
    private readonly next: SpanProcessor,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.exporter.paused()) this.exporter.countDropped(1);
    else this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
