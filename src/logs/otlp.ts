// OTLP log exporters for the three protocols, built from the official exporter packages with the agent's parsed
// logs configuration. Loaded lazily (see LazyLogExporter): nothing here runs during start-up.
import { readFileSync } from 'node:fs';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { withFastEncoding } from '../exporters/otlp-encoder.js';

export function createOtlpLogExporter(otlp: OtlpConfig, diag: Diag): LogRecordExporter {
  const common = { url: otlp.url, timeoutMillis: otlp.timeoutMs, compression: otlp.compression as never };
  if (otlp.protocol === 'grpc') {
    const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc') as typeof import('@opentelemetry/exporter-logs-otlp-grpc');
    // Metadata and credentials must come from the grpc-js the exporter itself uses (through its base package).
    const grpcBase = require('@opentelemetry/otlp-grpc-exporter-base') as typeof import('@opentelemetry/otlp-grpc-exporter-base');
    const metadata = grpcBase.createEmptyMetadata();
    for (const [key, value] of Object.entries(otlp.headers)) metadata.set(key, value);
    const credentials = otlp.url.startsWith('http://')
      ? grpcBase.createInsecureCredentials()
      : (() => {
          const tls = readTlsFiles(otlp, diag);
          return grpcBase.createSslCredentials(tls.ca, tls.key, tls.cert);
        })();
    return withFastEncoding(new OTLPLogExporter({ ...common, metadata, credentials }), diag, 'logs');
  }
  const tls = otlp.url.startsWith('https://') ? readTlsFiles(otlp, diag) : {};
  const http = {
    ...common,
    headers: otlp.headers,
    httpAgentOptions: Object.keys(tls).length ? { ...tls, keepAlive: true } : undefined,
  };
  if (otlp.protocol === 'http/json') {
    const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http') as typeof import('@opentelemetry/exporter-logs-otlp-http');
    return new OTLPLogExporter(http);
  }
  const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-proto') as typeof import('@opentelemetry/exporter-logs-otlp-proto');
  return withFastEncoding(new OTLPLogExporter(http), diag, 'logs');
}

function readTlsFiles(otlp: OtlpConfig, diag: Diag): { ca?: Buffer; key?: Buffer; cert?: Buffer } {
  const out: { ca?: Buffer; key?: Buffer; cert?: Buffer } = {};
  const files = [
    ['ca', 'OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE', otlp.certificateFile],
    ['key', 'OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY', otlp.clientKeyFile],
    ['cert', 'OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE', otlp.clientCertificateFile],
  ] as const;
  for (const [field, variable, file] of files) {
    if (!file) continue;
    try {
      out[field] = readFileSync(file);
    } catch (err) {
      diag.warn(`${variable}: cannot read ${file} (${describeError(err)}); ignoring it`);
    }
  }
  return out;
}
