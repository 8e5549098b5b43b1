// Defers building (and so loading) a real exporter until the first batch is exported. No OpenTelemetry
// package offers this; it is what keeps the transport's module load out of the app's start-up time.
import { context } from '@opentelemetry/api';
import { suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describeError, type Diag } from '../diag.js';

const FAILED: ExportResult = { code: 1 }; // ExportResultCode.FAILED
/** Built this long after start-up even before any export, so a flush at SIGTERM finds the exporter ready. */
const WARM_UP_DELAY_MS = 250;

export class LazySpanExporter implements SpanExporter {
  private delegate: SpanExporter | undefined;
  private broken = false;

  constructor(
    private readonly build: () => SpanExporter,
    private readonly diag: Diag,
  ) {
    // Built with tracing suppressed, so nothing the transport does while loading is traced or logged as the app.
    setTimeout(() => context.with(suppressTracing(context.active()), () => this.get()), WARM_UP_DELAY_MS).unref();
  }

  private get(): SpanExporter | undefined {
    if (!this.delegate && !this.broken) {
      try {
        this.delegate = this.build();
      } catch (err) {
        this.broken = true;
        this.diag.error(`cannot create the OTLP exporter: ${describeError(err)}; spans will not be exported`);
      }
    }
    return this.delegate;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const delegate = this.get();
    if (!delegate) return resultCallback(FAILED);
    delegate.export(spans, (result) => {
      this.report(result, spans.length);
      resultCallback(result);
    });
  }

  /** One warning when exports start failing and one line when they recover: never one per batch. */
  private failing = false;
  private dropped = 0;
  private report(result: ExportResult, count: number): void {
    if (result.code !== 0) {
      this.dropped += count;
      if (!this.failing) {
        this.failing = true;
        this.diag.notice(`span export failed (${describeError(result.error)}); retrying with each batch, spans of failed batches are dropped`);
      }
    } else if (this.failing) {
      this.failing = false;
      this.diag.notice(`span export works again; ${this.dropped} span(s) were dropped while it failed`);
      this.dropped = 0;
    }
  }

  async shutdown(): Promise<void> {
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}
