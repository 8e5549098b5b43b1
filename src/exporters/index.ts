// Builds the span exporters the config names. The OTLP exporter classes come from the OpenTelemetry packages;
// each is wrapped in a LazySpanExporter so its transport (grpc-js alone is tens of ms to load) is loaded at the
// first export, after the app has started, instead of during start-up.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { AgentConfig, OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { FileSpanExporter } from './file.js';
import { LazySpanExporter } from './lazy.js';

export function createSpanExporters(config: AgentConfig, diag: Diag): SpanExporter[] {
  return config.exporters.map((name): SpanExporter => {
    switch (name) {
      case 'otlp':
        return new LazySpanExporter(() => createOtlpExporter(config.otlp, diag), diag);
      case 'file':
        return new FileSpanExporter(config.filePath, diag);
      case 'console': {
        const { ConsoleSpanExporter } = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
        return new ConsoleSpanExporter();
      }
    }
  });
}

function createOtlpExporter(otlp: OtlpConfig, diag: Diag): SpanExporter {
  const common = {
    url: otlp.url,
    timeoutMillis: otlp.timeoutMs,
    compression: otlp.compression as never,
  };
  if (otlp.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    // The exporter's own copy of grpc-js must build the metadata and credentials it is handed.
    const grpcBase = createRequire(require.resolve('@opentelemetry/exporter-trace-otlp-grpc'))(
      '@opentelemetry/otlp-grpc-exporter-base',
    ) as typeof import('@opentelemetry/otlp-grpc-exporter-base');
    const metadata = grpcBase.createEmptyMetadata();
    for (const [key, value] of Object.entries(otlp.headers)) metadata.set(key, value);
    return new OTLPTraceExporter({ ...common, metadata, credentials: grpcCredentials(grpcBase, otlp, diag) });
  }
  const http = { ...common, headers: otlp.headers, httpAgentOptions: tlsOptions(otlp, diag) };
  if (otlp.protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(http);
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(http);
}

/** `http://` is plaintext, `https://` is TLS verified against the system roots or the configured CA. */
function grpcCredentials(grpcBase: typeof import('@opentelemetry/otlp-grpc-exporter-base'), otlp: OtlpConfig, diag: Diag) {
  if (otlp.url.startsWith('http://')) return grpcBase.createInsecureCredentials();
  const tls = readTlsFiles(otlp, diag);
  return grpcBase.createSslCredentials(tls.ca, tls.key, tls.cert);
}

function tlsOptions(otlp: OtlpConfig, diag: Diag): Record<string, unknown> | undefined {
  if (!otlp.url.startsWith('https://')) return undefined;
  const tls = readTlsFiles(otlp, diag);
  return Object.keys(tls).length ? { ...tls, keepAlive: true } : undefined;
}

function readTlsFiles(otlp: OtlpConfig, diag: Diag): { ca?: Buffer; key?: Buffer; cert?: Buffer } {
  const read = (variable: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      diag.warn(`${variable}: cannot read ${file} (${describeError(err)}); ignoring it`);
      return undefined;
    }
  };
  const out: { ca?: Buffer; key?: Buffer; cert?: Buffer } = {};
  const ca = read('OTEL_EXPORTER_OTLP_CERTIFICATE', otlp.certificateFile);
  const key = read('OTEL_EXPORTER_OTLP_CLIENT_KEY', otlp.clientKeyFile);
  const cert = read('OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', otlp.clientCertificateFile);
  if (ca) out.ca = ca;
  if (key) out.key = key;
  if (cert) out.cert = cert;
  return out;
}
