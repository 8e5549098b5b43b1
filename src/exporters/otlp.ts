// The OTLP exporter of a signal, built when LazyExporter first needs it (a bundle of its own, scripts/bundle.mjs):
// the agent's own (wire/), or the official one where the agent's lacks something (official.ts).
import type { OtlpConfig } from '../config/index.js';
import type { Diag } from '../diag.js';
import type { Exporter } from './lazy.js';
import { encodeLogsExportRequest, encodeTraceExportRequest } from './otlp-encoder.js';
import { otlpSerializer } from './otlp-serializer.js';
import { tlsFiles } from './otlp-transport.js';
import type { Signal } from './otlp-wire.js';
import { WireExporter } from './wire/exporter.js';

/**
 * The signal's OTLP exporter. Protobuf requests are written by the agent's one-pass encoder (otlp-encoder.ts), or by
 * `serialize` when given (the exporter thread's items are encoded already); JSON ones by the library's serializer.
 */
export function createOtlpExporter<T>(
  signal: Signal,
  otlp: OtlpConfig,
  diag: Diag,
  serialize?: (items: T[]) => Uint8Array | undefined,
): Exporter<T> {
  if (otlp.protocol === 'grpc' && grpcProxy()) {
    diag.debug(`OTLP ${signal}: a proxy variable is set; exporting with grpc-js, which honours it`);
    const official = require('@x/trace-agent/internal/otlp-official') as typeof import('./official.js');
    return official.createOfficialExporter(signal, otlp, diag, serialize as (items: never[]) => Uint8Array);
  }
  const tls = otlp.url.startsWith('https://') ? tlsFiles(otlp, diag, signal) : {};
  const encode =
    serialize ??
    (otlp.protocol === 'http/json'
      ? (items: T[]) => otlpSerializer<T>(signal, true).serializeRequest(items)
      : ((signal === 'traces' ? encodeTraceExportRequest : encodeLogsExportRequest) as unknown as (
          items: T[],
        ) => Uint8Array));
  return new WireExporter<T>(signal, otlp, tls, encode, diag);
}

/** The variables grpc-js takes a proxy from (lowercase only, as it reads them). */
function grpcProxy(): boolean {
  return Boolean(process.env.grpc_proxy || process.env.https_proxy || process.env.http_proxy);
}
