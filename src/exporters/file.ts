// Appends one OTLP/JSON ExportTraceServiceRequest per line: the shape the OpenTelemetry Collector's file
// exporter writes, so the same tools read both. No OpenTelemetry JS package writes this format to a file;
// the serialisation itself is the official JsonTraceSerializer.
import { appendFile, appendFileSync } from 'node:fs';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { type Diag, describeError } from '../diag.js';
import { type ExitSink, PendingBatches, registerExitSink } from './exit-flush.js';

export class FileSpanExporter implements SpanExporter, ExitSink {
  private pending = 0;
  private idle: (() => void)[] = [];
  private stopped = false;
  private readonly atExit = new PendingBatches();

  constructor(
    private readonly path: string,
    private readonly diag: Diag,
  ) {
    registerExitSink(this);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.atExit.capturing) {
      this.atExit.keep(spans);
      return resultCallback({ code: 0 });
    }
    if (this.stopped) return resultCallback({ code: 1 });
    const line = this.serialize(spans);
    if (line === undefined) return resultCallback({ code: 1 });
    this.pending++;
    const settled = this.atExit.track(spans);
    // Asynchronous append: the event loop never waits on the disk.
    appendFile(this.path, line, (err) => {
      settled();
      if (err) this.diag.warn(`cannot write spans to ${this.path}: ${err.message}`);
      resultCallback({ code: err ? 1 : 0 });
      if (--this.pending === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
  }

  private serialize(spans: ReadableSpan[]): string | undefined {
    try {
      const { JsonTraceSerializer } =
        require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
      return `${Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? []).toString('utf8')}\n`;
    } catch (err) {
      this.diag.error(`cannot serialise spans for ${this.path}: ${describeError(err)}`);
      return undefined;
    }
  }

  capture(): void {
    this.atExit.capturing = true;
  }

  /**
   * At exit: the queued spans and the appends not confirmed yet, written synchronously. An append in progress needs
   * more event-loop turns (open, write, close) that will never come, so it is written again (at-least-once).
   */
  drainSync(): void {
    const spans = this.atExit.take();
    if (spans.length === 0) return;
    const line = this.serialize(spans);
    if (line === undefined) return;
    try {
      appendFileSync(this.path, line);
    } catch (err) {
      this.diag.warn(`cannot write spans to ${this.path}: ${describeError(err)}`);
    }
  }

  forceFlush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.forceFlush();
  }
}
