// Appends one OTLP/JSON ExportTraceServiceRequest per line: the shape the OpenTelemetry Collector's file
// exporter writes, so the same tools read both. No OpenTelemetry JS package writes this format to a file;
// the serialisation itself is the official JsonTraceSerializer.
import { appendFile } from 'node:fs';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describeError, type Diag } from '../diag.js';

export class FileSpanExporter implements SpanExporter {
  private pending = 0;
  private idle: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly diag: Diag,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) return resultCallback({ code: 1 });
    let line: string;
    try {
      const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
      line = Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? []).toString('utf8') + '\n';
    } catch (err) {
      this.diag.error(`cannot serialise spans for ${this.path}: ${describeError(err)}`);
      return resultCallback({ code: 1 });
    }
    this.pending++;
    // Asynchronous append: the event loop never waits on the disk.
    appendFile(this.path, line, (err) => {
      if (err) this.diag.warn(`cannot write spans to ${this.path}: ${err.message}`);
      resultCallback({ code: err ? 1 : 0 });
      if (--this.pending === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
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
