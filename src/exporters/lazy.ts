// One exporter wrapper for both signals (spans and log records), as OpenTelemetry's BatchSpanProcessorBase<T> is one
// processor for several. It defers building (and so loading) the real OTLP exporter until shortly after start-up or
// the first export — no OpenTelemetry package offers this; it keeps the transport's module load out of the app's
// start-up — and owns what the app sees of export trouble: one outage policy (one attempt per RETRY_PERIOD_MS while
// exports fail, one warning per outage, one line with the count dropped when it recovers) and the items still
// undelivered when the process ends abruptly (see exit-flush.ts).
import { type Context, context } from '@opentelemetry/api';
import { type ExportResult, suppressTracing } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { type OtlpConfig, redactUrl } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import { type ExitSink, PendingBatches, registerExitSink } from './exit-flush.js';
import { otlpSerializer } from './otlp-serializer.js';
import { NOUNS, type Signal } from './otlp-wire.js';
import { deliverAtExit } from './sync-send.js';

/**
 * A failed gRPC export makes the next one use a new exporter (at most this often). Needed for the official one
 * (gRPC through a proxy): grpc-js waits out an exponential reconnect backoff of up to 120 s before it even tries the
 * collector again, failing every call meanwhile, so a collector back after a long outage would otherwise get nothing
 * for up to two minutes. The agent's own transport reconnects at the next call anyway; for it this costs nothing.
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

const FAILED: ExportResult = { code: 1 }; // ExportResultCode.FAILED
/** Built this long after start-up even before any export, so a flush at SIGTERM finds the exporter ready. */
const WARM_UP_DELAY_MS = 250;

/** What the wrapper needs of a span or log record exporter. */
export interface Exporter<T> {
  export(items: T[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

export class LazyExporter<T> implements Exporter<T>, ExitSink {
  private delegate: Exporter<T> | undefined;
  private broken = false;
  private builtAt = 0;
  private readonly pending = new PendingBatches<T>();
  private readonly target: string;
  private readonly noun: string;
  /** Inside an outage: set at the first failure, cleared by the next success. */
  private failing = false;
  private dropped = 0;
  private lastAttemptAt = 0;
  /**
   * Items the batch processor still holds that its forceFlush does not hand over synchronously (the logs SDK's),
   * read at an abrupt exit; set by the pipeline that owns the processor.
   */
  queued: () => T[] = () => [];
  /** The request body of items at an abrupt exit: the SDK items' serializer, unless the owner's items need another. */
  encodeAtExit: (items: T[]) => Uint8Array | undefined = (items) =>
    otlpSerializer<T>(this.signal, this.otlp.protocol === 'http/json').serializeRequest(items);

  constructor(
    private readonly signal: Signal,
    private readonly build: () => Exporter<T>,
    private readonly otlp: OtlpConfig,
    private readonly diag: Diag,
  ) {
    this.target = redactUrl(otlp.url);
    this.noun = NOUNS[signal];
    // Built with tracing suppressed, so nothing the transport does while loading is traced or logged as the app.
    setTimeout(() => context.with(suppressTracing(context.active()), () => this.get()), WARM_UP_DELAY_MS).unref();
    registerExitSink(this);
  }

  private get(): Exporter<T> | undefined {
    if (!this.delegate && !this.broken) {
      try {
        this.builtAt = Date.now();
        this.delegate = this.build();
      } catch (err) {
        this.broken = true;
        this.diag.error(
          `cannot create the OTLP ${this.noun} exporter: ${describeError(err)}; ${this.noun}s will not be exported`,
        );
      }
    }
    return this.delegate;
  }

  export(items: T[], resultCallback: (result: ExportResult) => void): void {
    if (this.pending.capturing) {
      this.pending.keep(items);
      return resultCallback({ code: 0 });
    }
    const delegate = this.get();
    if (!delegate) return resultCallback(FAILED);
    if (this.paused()) {
      this.dropped += items.length;
      return resultCallback(FAILED);
    }
    this.lastAttemptAt = Date.now();
    const settled = this.pending.track(items);
    const done = (result: ExportResult) => {
      settled();
      this.report(result, items.length);
      resultCallback(result);
    };
    try {
      delegate.export(items, done);
    } catch (err) {
      // An exporter must report through the callback; one that throws is treated as a failed export.
      done({ code: 1, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** Inside an outage, between two attempts: items would only be dropped (see RETRY_PERIOD_MS). */
  paused(): boolean {
    return Date.now() < this.pausedUntil();
  }

  /** When the pause of an outage ends (epoch ms), or 0 when exports are not failing. */
  pausedUntil(): number {
    return this.failing ? this.lastAttemptAt + RETRY_PERIOD_MS : 0;
  }

  /** An item dropped before it reached the batch processor's queue (OutageGate): counted with the failed batches. */
  countDropped(count: number): void {
    this.dropped += count;
  }

  /** One warning when exports start failing and one line when they recover: never one per batch. */
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
          `${this.noun} export to ${this.target} failed (${describeError(result.error)}); ` +
            `retrying every ${RETRY_PERIOD_MS / 1000} s or more, ${this.noun}s made meanwhile are dropped`,
        );
      }
    } else if (this.failing) {
      this.failing = false;
      this.diag.notice(
        `${this.noun} export to ${this.target} works again; ${this.dropped} ${this.noun}(s) were dropped while it failed`,
      );
      this.dropped = 0;
    }
  }

  capture(): void {
    this.pending.capturing = true;
  }

  /** process.exit(), a crash: what was not delivered yet (the last lines before a crash, often) sent synchronously. */
  drainSync(deadline: number): void {
    const items = [...this.pending.take(), ...this.queued()];
    const to = { otlp: this.otlp, signal: this.signal, target: this.target };
    deliverAtExit(items, this.encodeAtExit, to, deadline, this.diag);
  }

  async shutdown(): Promise<void> {
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}

export type LazySpanExporter = LazyExporter<ReadableSpan>;
export type LazyLogExporter = LazyExporter<ReadableLogRecord>;

/**
 * In front of a batch processor whose exporter is a LazyExporter: while that exporter is paused in an outage,
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
