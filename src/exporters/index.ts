// Builds the span exporters the config names. The OTLP exporter is wrapped in a LazySpanExporter so its
// transport (grpc-js, protobuf: tens of ms) loads shortly after the app has started, not during start-up.
import { ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { AgentConfig } from '../config.js';
import type { Diag } from '../diag.js';
import { FileSpanExporter } from './file.js';
import { LazySpanExporter } from './lazy.js';

export function createSpanExporters(config: AgentConfig, diag: Diag): SpanExporter[] {
  return config.exporters.map((name): SpanExporter => {
    switch (name) {
      case 'otlp':
        return new LazySpanExporter(() => loadOtlpModule().createOtlpSpanExporter(config.otlp, diag), config.otlp, diag);
      case 'file':
        return new FileSpanExporter(config.filePath, diag);
      case 'console':
        return new ConsoleSpanExporter();
    }
  });
}

/**
 * The OTLP exporters are built into a bundle of their own (see package.json "build"), reached through the
 * package's self-reference so that the bundled and the unbundled agent find the same file.
 */
function loadOtlpModule(): typeof import('./otlp.js') {
  return require('@x/trace-agent/internal/otlp-exporter') as typeof import('./otlp.js');
}
