// OTLP span exporters for the three protocols, built from the official exporter packages with the agent's
// own parsed configuration. Loaded lazily (see LazySpanExporter): nothing here runs during start-up.
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpConfig } from '../config.js';
import type { Diag } from '../diag.js';
import { withFastEncoding } from './otlp-encoder.js';
import { grpcTransport, httpTransport } from './otlp-transport.js';

import { createOtlpLogExporter as createLogExporter } from '../logs/otlp.js';

export function createOtlpLogExporter(...args: Parameters<typeof createLogExporter>): ReturnType<typeof createLogExporter> {
  return withoutOtlpEnv(() => createLogExporter(...args));
}

export function createOtlpSpanExporter(otlp: OtlpConfig, diag: Diag): SpanExporter {
  return withoutOtlpEnv(() => createSpanExporter(otlp, diag));
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

function createSpanExporter(otlp: OtlpConfig, diag: Diag): SpanExporter {
  const common = { url: otlp.url, timeoutMillis: otlp.timeoutMs, compression: otlp.compression as never };
  if (otlp.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    return withFastEncoding(new OTLPTraceExporter({ ...common, ...grpcTransport(otlp, diag, 'traces') }), diag);
  }
  const http = { ...common, ...httpTransport(otlp, diag, 'traces') };
  if (otlp.protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(http);
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return withFastEncoding(new OTLPTraceExporter(http), diag);
}
