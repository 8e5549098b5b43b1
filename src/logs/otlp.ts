// OTLP log exporters for the three protocols, built from the official exporter packages with the agent's parsed
// logs configuration. Loaded lazily (see LazyLogExporter): nothing here runs during start-up.
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { OtlpConfig } from '../config.js';
import type { Diag } from '../diag.js';
import { withFastEncoding } from '../exporters/otlp-encoder.js';
import { grpcTransport, httpTransport } from '../exporters/otlp-transport.js';

export function createOtlpLogExporter(otlp: OtlpConfig, diag: Diag): LogRecordExporter {
  const common = { url: otlp.url, timeoutMillis: otlp.timeoutMs, compression: otlp.compression as never };
  if (otlp.protocol === 'grpc') {
    const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc') as typeof import('@opentelemetry/exporter-logs-otlp-grpc');
    return withFastEncoding(new OTLPLogExporter({ ...common, ...grpcTransport(otlp, diag, 'logs') }), diag, 'logs');
  }
  const http = { ...common, ...httpTransport(otlp, diag, 'logs') };
  if (otlp.protocol === 'http/json') {
    const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http') as typeof import('@opentelemetry/exporter-logs-otlp-http');
    return new OTLPLogExporter(http);
  }
  const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-proto') as typeof import('@opentelemetry/exporter-logs-otlp-proto');
  return withFastEncoding(new OTLPLogExporter(http), diag, 'logs');
}
