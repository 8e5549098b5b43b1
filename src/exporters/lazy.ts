// Defers building (and so loading) a real exporter until the first batch is exported. No OpenTelemetry
// package offers this; it is what keeps the transport's module load out of the app's start-up time.
// It also owns what the app sees of export trouble: one warning per outage, and the spans still undelivered when
// the process ends abruptly (see exit-flush.ts).
import { context } from '@opentelemetry/api';
import { suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { redactUrl, type OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { PendingBatches, registerExitSink, type ExitSink } from './exit-flush.js';
import { sendSync } from './sync-send.js';

/**
 * A failed gRPC export makes the next one use a new channel (at most this often): grpc-js waits out an exponential
 * reconnect backoff of up to 120 s before it even tries the collector again, failing every call meanwhile, so a
 * collector back after a long outage would otherwise get no spans for up to two minutes.
 */
export const GRPC_REBUILD_MS = 1000;

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

  /** One warning when exports start failing and one line when they recover: never one per batch. */
  private failing = false;
  private dropped = 0;
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
            'retrying with each batch, spans of failed batches are dropped',
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
    const spans = this.pending.take();
    if (spans.length === 0) return;
    let body: Uint8Array | undefined;
    try {
      const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
      const serializer = this.otlp.protocol === 'http/json' ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer;
      body = serializer.serializeRequest(spans);
    } catch (err) {
      this.diag.warn(`${spans.length} span(s) not delivered at exit: cannot encode them (${describeError(err)})`);
      return;
    }
    if (!body) return;
    const { outcome, detail } = sendSync(this.otlp, body, deadline - Date.now());
    if (outcome !== 'ok') {
      const why = outcome === 'rejected' ? `the collector answered with status ${detail}` : outcome === 'timeout' ? 'timed out' : `${outcome} error`;
      this.diag.warn(`${spans.length} span(s) not delivered at exit to ${this.target}: ${why}`);
    }
  }

  async shutdown(): Promise<void> {
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}
