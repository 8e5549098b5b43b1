// OTLP span exporters for the three protocols, built from the official exporter packages with the agent's
// own parsed configuration. Loaded lazily (see LazySpanExporter): nothing here runs during start-up.
import { readFileSync } from 'node:fs';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { withFastEncoding } from './otlp-encoder.js';

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
  const common = {
    url: otlp.url,
    timeoutMillis: otlp.timeoutMs,
    compression: otlp.compression as never,
  };
  if (otlp.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    // The exporter's own grpc-js (through its base package, a direct dependency at the same version) must
    // build the metadata and credentials it is handed.
    const grpcBase = require('@opentelemetry/otlp-grpc-exporter-base') as typeof import('@opentelemetry/otlp-grpc-exporter-base');
    const metadata = grpcBase.createEmptyMetadata();
    for (const [key, value] of Object.entries(otlp.headers)) metadata.set(key, value);
    return withFastEncoding(new OTLPTraceExporter({ ...common, metadata, credentials: grpcCredentials(grpcBase, otlp, diag) }), diag);
  }
  const http = { ...common, headers: otlp.headers, httpAgentOptions: tlsOptions(otlp, diag) };
  if (otlp.protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(http);
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return withFastEncoding(new OTLPTraceExporter(http), diag);
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
