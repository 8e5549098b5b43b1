// The official OTLP exporters of both signals, for the three protocols, built with the agent's own parsed
// configuration: used only where the agent's own transport (wire/) lacks something, today gRPC through a proxy
// (grpc-js honours grpc_proxy/https_proxy/http_proxy and no_proxy). A bundle of its own (scripts/bundle.mjs).
import type { OtlpConfig, OtlpProtocol } from '../config/index.js';
import type { Diag } from '../diag.js';
import type { Exporter } from './lazy.js';
import { withFastEncoding } from './otlp-encoder.js';
import { grpcTransport, httpTransport } from './otlp-transport.js';
import type { Signal } from './otlp-wire.js';

type ExporterClass = new (config: object) => Exporter<never>;

/** Each package is required only when its exporter is built (static strings, so the bundler sees them). */
const CLASSES: Record<Signal, Record<OtlpProtocol, () => ExporterClass>> = {
  traces: {
    grpc: () =>
      (require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc'))
        .OTLPTraceExporter,
    'http/protobuf': () =>
      (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto'))
        .OTLPTraceExporter,
    'http/json': () =>
      (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http'))
        .OTLPTraceExporter,
  },
  logs: {
    grpc: () =>
      (require('@opentelemetry/exporter-logs-otlp-grpc') as typeof import('@opentelemetry/exporter-logs-otlp-grpc'))
        .OTLPLogExporter,
    'http/protobuf': () =>
      (require('@opentelemetry/exporter-logs-otlp-proto') as typeof import('@opentelemetry/exporter-logs-otlp-proto'))
        .OTLPLogExporter,
    'http/json': () =>
      (require('@opentelemetry/exporter-logs-otlp-http') as typeof import('@opentelemetry/exporter-logs-otlp-http'))
        .OTLPLogExporter,
  },
};

/**
 * The signal's OTLP exporter; protobuf requests are written by the agent's one-pass encoder (otlp-encoder.ts), or by
 * `serialize` when given (the exporter thread's items are encoded already).
 */
export function createOfficialExporter<T>(
  signal: Signal,
  otlp: OtlpConfig,
  diag: Diag,
  serialize?: (items: T[]) => Uint8Array,
): Exporter<T> {
  return withoutOtlpEnv(() => {
    const common = { url: otlp.url, timeoutMillis: otlp.timeoutMs, compression: otlp.compression };
    const transport = otlp.protocol === 'grpc' ? grpcTransport(otlp, diag, signal) : httpTransport(otlp, diag, signal);
    const exporter = new (CLASSES[signal][otlp.protocol]())({ ...common, ...transport });
    return (
      otlp.protocol === 'http/json' ? exporter : withFastEncoding(exporter, diag, signal, serialize)
    ) as Exporter<T>;
  });
}

/**
 * The official exporters also read OTEL_EXPORTER_OTLP_* themselves when constructed, and merge what they find into
 * the options they are given, with parsers of their own: a header pair the agent skipped with a warning (a key with
 * a space) then makes every export fail (gRPC metadata refuses it when the exporter is built, HTTP when each request
 * is made), and a bad timeout or compression is warned about a second time. The agent's parsed configuration is
 * the only source: those variables are hidden while an exporter is constructed (synchronously; restored at once).
 */
function withoutOtlpEnv<T>(build: () => T): T {
  const hidden: [string, string][] = [];
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('OTEL_EXPORTER_OTLP_') && value !== undefined) {
      hidden.push([key, value]);
      delete process.env[key];
    }
  }
  try {
    return build();
  } finally {
    for (const [key, value] of hidden) process.env[key] = value;
  }
}
