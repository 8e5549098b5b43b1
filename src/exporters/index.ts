// Builds the exporters the configuration names, for spans and for log records. An OTLP exporter is wrapped in a
// LazyExporter so its transport (grpc-js, protobuf: tens of ms) loads shortly after the app has started, not during
// start-up.
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { AgentConfig, LogsConfig, OtlpConfig } from '../config/index.js';
import type { Diag } from '../diag.js';
import { FileSpanExporter } from './file.js';
import { LazyExporter } from './lazy.js';
import type { Signal } from './otlp-wire.js';

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
  return new LazyExporter<T>(signal, () => loadOtlpModule().createOtlpExporter<T>(signal, otlp, diag), otlp, diag);
}

/**
 * The OTLP exporters are built into a bundle of their own (scripts/bundle.mjs), reached through the package's
 * self-reference so that the bundled and the unbundled agent find the same file.
 */
function loadOtlpModule(): typeof import('./otlp.js') {
  return require('@x/trace-agent/internal/otlp-exporter') as typeof import('./otlp.js');
}
