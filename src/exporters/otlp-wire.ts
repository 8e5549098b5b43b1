// What OTLP puts on the wire, in one place for everything that speaks it without the official exporters: the exit-time
// sender (exit-sender.ts), `trace-agent doctor`'s probe, and the transport options of the official exporters.
// Node built-ins only: exit-sender.ts loads it in a bare worker thread.
import { readFileSync } from 'node:fs';
import type { Signal } from '../config/types.js';

export type { Signal };

/** Each signal's gRPC Export method (opentelemetry-proto collector services). */
export const GRPC_PATHS: Readonly<Record<Signal, string>> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/** Each signal's OTLP/HTTP path, appended to a base endpoint. */
export const HTTP_PATHS: Readonly<Record<Signal, string>> = { traces: '/v1/traces', logs: '/v1/logs' };

/** What one exported item is called in messages. */
export const NOUNS: Readonly<Record<Signal, string>> = { traces: 'span', logs: 'log record' };

/** gRPC status code names, by code. */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec); a header given twice is joined. */
export function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const text = Array.isArray(raw) ? raw.join(', ') : (raw ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A gRPC length-prefixed message: 1 byte "compressed" flag, 4 bytes big-endian length, the message. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  return Buffer.concat([grpcPrefix(message.length, compressed), message]);
}

/** The 5 bytes before a gRPC message: compressed or not, and its length. */
export function grpcPrefix(length: number, compressed = false): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** The PEM files of a TLS endpoint, as the configuration names them. */
export interface TlsFileNames {
  certificateFile?: string;
  clientKeyFile?: string;
  clientCertificateFile?: string;
}

export interface TlsFiles {
  ca?: Buffer;
  key?: Buffer;
  cert?: Buffer;
}

/** Per field: the variable suffix the file comes from, and what it is. */
export const TLS_FILES = [
  { field: 'ca', name: 'certificateFile', suffix: 'CERTIFICATE', what: 'CA certificate' },
  { field: 'key', name: 'clientKeyFile', suffix: 'CLIENT_KEY', what: 'client key' },
  { field: 'cert', name: 'clientCertificateFile', suffix: 'CLIENT_CERTIFICATE', what: 'client certificate' },
] as const;

/** The variables a TLS file may come from, the signal's own first. */
export function tlsVariables(signal: Signal, suffix: string): string {
  return `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${suffix} or OTEL_EXPORTER_OTLP_${suffix}`;
}

/**
 * Reads the configured PEM files. A file that cannot be read goes to `onError` (which may throw to stop) and is left
 * out; without `onError` it is left out silently.
 */
export function readTlsFiles(
  names: TlsFileNames,
  onError?: (file: (typeof TLS_FILES)[number], path: string, err: unknown) => void,
): TlsFiles {
  const out: TlsFiles = {};
  for (const spec of TLS_FILES) {
    const path = names[spec.name];
    if (!path) continue;
    try {
      out[spec.field] = readFileSync(path);
    } catch (err) {
      onError?.(spec, path, err);
    }
  }
  return out;
}
