// Builds the exporters the configuration names, for spans and for log records. An OTLP exporter is wrapped in a
// LazyExporter so its transport (grpc-js, protobuf: tens of ms) loads shortly after the app has started, not during
// start-up.
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { requireBundle } from '../code-cache.js';
import type { AgentConfig, LogsConfig, OtlpConfig } from '../config/index.js';
import { type Diag, secretsOf } from '../diag.js';
import { FileSpanExporter } from './file.js';
import { LazyExporter, OutageGate } from './lazy.js';
import type { Signal } from './otlp-wire.js';
import { spanQueueWatch } from './queue-watch.js';
import { ThreadSpanProcessor } from './thread/processor.js';

/**
 * One processor per exporter: a batch processor in front of it, or, for OTLP with TRACES_EXPORT_THREAD, the
 * hand-off to the exporter thread.
 */
export function createSpanProcessors(config: AgentConfig, diag: Diag): SpanProcessor[] {
  const threaded = config.exportThread;
  return createSpanExporters({ ...config, exporters: config.exporters.filter((n) => !threaded || n !== 'otlp') }, diag)
    .map((exporter): SpanProcessor => {
      const batch = new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.batch.scheduledDelayMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: config.batch.maxExportBatchSize,
        exportTimeoutMillis: config.batch.exportTimeoutMs,
        selfObsMeterProvider: spanQueueWatch(config.batch.maxQueueSize, diag), // counts queue-full drops
      });
      return exporter instanceof LazyExporter ? new OutageGate(exporter, batch) : batch;
    })
    .concat(
      threaded && config.exporters.includes('otlp')
        ? [new ThreadSpanProcessor({ ...config, diag, secrets: secretsOf(config) })]
        : [],
    );
}

export function createSpanExporters(config: AgentConfig, diag: Diag): SpanExporter[] {
  return config.exporters.map((name): SpanExporter => {
    switch (name) {
      case 'otlp':
        return lazyOtlp('traces', config.otlp, diag);
      case 'file':
        return new FileSpanExporter(config.filePath, diag);
      case 'console':
        return new ConsoleSpanExporter();
    }
  });
}

export function createLogExporters(logs: LogsConfig, diag: Diag): LogRecordExporter[] {
  return logs.exporters.map((name): LogRecordExporter => {
    if (name === 'otlp') return lazyOtlp('logs', logs.otlp, diag);
    const { ConsoleLogRecordExporter } = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    return new ConsoleLogRecordExporter();
  });
}

function lazyOtlp<T>(signal: Signal, otlp: OtlpConfig, diag: Diag): LazyExporter<T> {
  return new LazyExporter<T>(signal, () => loadOtlpModule(diag).createOtlpExporter<T>(signal, otlp, diag), otlp, diag);
}

/**
 * The OTLP exporters are built into a bundle of their own (scripts/bundle.mjs), loaded with the code cache of its
 * earlier runs (an app's first export, often the one at its exit, compiles less).
 */
function loadOtlpModule(diag: Diag): typeof import('./otlp.js') {
  return requireBundle('@x/trace-agent/internal/otlp-exporter', diag.debug) as typeof import('./otlp.js');
}
