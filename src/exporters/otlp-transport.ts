// The transport options the official OTLP exporters are built with, from the agent's parsed configuration: gRPC
// metadata and credentials, HTTP headers and TLS agent options. One place for spans and logs.
import { isIP } from 'node:net';
import type { OtlpConfig } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import { readTlsFiles, type Signal, type TlsFiles, tlsVariables } from './otlp-wire.js';

type GrpcBase = typeof import('@opentelemetry/otlp-grpc-exporter-base');
/** Named through the exporter base package: grpc-js is only a dev dependency here (the tests' receiver), so the
 * declaration must not refer to it (tsc: "cannot be named without a reference", seen with a linked node_modules). */
interface GrpcTransport {
  metadata: ReturnType<GrpcBase['createEmptyMetadata']>;
  credentials: ReturnType<GrpcBase['createInsecureCredentials']>;
}

/**
 * Metadata and credentials for a gRPC exporter. They must come from the grpc-js the exporter itself uses, so they
 * are made through its base package (a direct dependency at the same version). `http://` is plaintext, `https://`
 * is TLS verified against the system roots or the configured CA.
 */
export function grpcTransport(otlp: OtlpConfig, diag: Diag, signal: Signal): GrpcTransport {
  const grpcBase = require('@opentelemetry/otlp-grpc-exporter-base') as GrpcBase;
  const metadata = grpcBase.createEmptyMetadata();
  for (const [key, value] of Object.entries(otlp.headers)) metadata.set(key, value);
  if (otlp.url.startsWith('http://')) return { metadata, credentials: grpcBase.createInsecureCredentials() };
  const tls = tlsFiles(otlp, diag, signal);
  return { metadata, credentials: withoutIpServerName(grpcBase.createSslCredentials(tls.ca, tls.key, tls.cert)) };
}

interface SecureConnector {
  connectionOptions?: { servername?: unknown };
}

/**
 * grpc-js (1.14) sets the TLS server name to the endpoint's host even when that is an IP address, which RFC 6066
 * forbids and Node 26 refuses (DEP0123 is an error there): every export to `https://10.0.0.5:4317` failed before the
 * handshake. An IP address is left out of the server name; the certificate is still verified against it (Node checks
 * the host when no server name is set). If grpc-js's connector changes shape, nothing is touched.
 */
function withoutIpServerName<C extends object>(credentials: C): C {
  const c = credentials as { _createSecureConnector?: (...args: unknown[]) => SecureConnector };
  const create = c._createSecureConnector;
  if (typeof create !== 'function') return credentials;
  c._createSecureConnector = function (this: unknown, ...args: unknown[]) {
    const connector = create.apply(this, args);
    const options = connector?.connectionOptions;
    if (typeof options?.servername === 'string' && isIP(options.servername)) delete options.servername;
    return connector;
  };
  return credentials;
}

/** Headers and, for `https://` with PEM files configured, the TLS options of the exporter's HTTP agent. */
export function httpTransport(
  otlp: OtlpConfig,
  diag: Diag,
  signal: Signal,
): { headers: Record<string, string>; httpAgentOptions: Record<string, unknown> | undefined } {
  const tls = otlp.url.startsWith('https://') ? tlsFiles(otlp, diag, signal) : {};
  return { headers: otlp.headers, httpAgentOptions: Object.keys(tls).length ? { ...tls, keepAlive: true } : undefined };
}

/** The PEM files configured; one that cannot be read is warned about (by variable, never its content) and skipped. */
export function tlsFiles(otlp: OtlpConfig, diag: Diag, signal: Signal): TlsFiles {
  return readTlsFiles(otlp, (spec, file, err) =>
    diag.warn(`${tlsVariables(signal, spec.suffix)}: cannot read ${file} (${describeError(err)}); ignoring it`),
  );
}
