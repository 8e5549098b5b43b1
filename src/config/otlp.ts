// What each signal's OTLP export is configured with — endpoint, protocol, headers, compression, timeout, TLS files,
// batching — read by one set of functions parameterised by the signal: `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_*` over the
// general `OTEL_EXPORTER_OTLP_*`, and the FastDeploy variables for traces.
import type { Reader } from './reader.js';
import {
  type BatchConfig,
  DEFAULT_GRPC_URL,
  DEFAULT_HTTP_BASE,
  type OtlpConfig,
  type OtlpProtocol,
  type Signal,
} from './types.js';

export const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
const HTTP_PATHS: Record<Signal, string> = { traces: '/v1/traces', logs: '/v1/logs' };

export interface ParsedEndpoint {
  origin: string;
  port: string;
  /** Path without a trailing slash; '' for none. */
  path: string;
}

/** An endpoint variable that was set, parsed (undefined when it does not parse: the default is used). */
export interface EndpointVar {
  name: string;
  parsed: ParsedEndpoint | undefined;
  /** A per-signal variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`…) is used exactly as given (OTel spec). */
  perSignal: boolean;
}

/** The first endpoint variable of `names` that is set, parsed. */
export function readEndpoint(r: Reader, key: string, names: string[]): EndpointVar | undefined {
  const found = r.first(key, ...names);
  if (!found) return undefined;
  return {
    name: found.name,
    parsed: parseEndpoint(r, found.name, found.value),
    perSignal: /_(TRACES|LOGS)_ENDPOINT$/.test(found.name),
  };
}

/** Accepts `http(s)://host:port[/path]` and bare `host:port` (taken as plain http). */
function parseEndpoint(r: Reader, name: string, value: string): ParsedEndpoint | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    r.warn(`${name} is not a valid URL or host:port (${redactUrl(value)}); using the default endpoint`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    r.warn(`${name} must use http:// or https:// (got ${url.protocol}); using the default endpoint`);
    return undefined;
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return { origin: `${url.protocol}//${auth}${url.host}`, port, path: url.pathname.replace(/\/+$/, '') };
}

/** Hides user:password in a URL so it can be printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

/** The conventional HTTP port implies HTTP when nobody said otherwise. */
export function protocolForPort(endpoint: ParsedEndpoint | undefined): OtlpProtocol {
  return endpoint?.port === '4318' ? 'http/protobuf' : 'grpc';
}

/**
 * The URL the signal's exporter talks to: scheme+host+port for gRPC; for HTTP a per-signal endpoint as given, a base
 * endpoint with the signal's path appended (in place of a `/v1/traces` it already names: a FastDeploy-style traces
 * endpoint is neither extended twice nor used for logs as is).
 */
export function signalUrl(signal: Signal, protocol: OtlpProtocol, endpoint: EndpointVar | undefined): string {
  const parsed = endpoint?.parsed;
  if (protocol === 'grpc') return parsed ? parsed.origin : DEFAULT_GRPC_URL;
  if (!parsed) return `${DEFAULT_HTTP_BASE}${HTTP_PATHS[signal]}`;
  if (endpoint.perSignal) return `${parsed.origin}${parsed.path || '/'}`;
  const base = parsed.path.endsWith(HTTP_PATHS.traces) ? parsed.path.slice(0, -HTTP_PATHS.traces.length) : parsed.path;
  return `${parsed.origin}${base}${HTTP_PATHS[signal]}`;
}

/**
 * Everything but the URL and protocol, which the caller decides (they default differently per signal). Source keys
 * are prefixed `logs.` for logs, as `trace-agent doctor` reads them.
 */
export function readOtlp(r: Reader, signal: Signal, protocol: OtlpProtocol, url: string): OtlpConfig {
  const SIGNAL = signal.toUpperCase();
  const key = (name: string) => (signal === 'traces' ? name : `logs.${name}`);
  const file = (name: string, suffix: string) =>
    r.first(key(name), `OTEL_EXPORTER_OTLP_${SIGNAL}_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`)?.value;
  const certificateFile = file('certificate', 'CERTIFICATE');
  const clientKeyFile = file('clientKey', 'CLIENT_KEY');
  const clientCertificateFile = file('clientCertificate', 'CLIENT_CERTIFICATE');
  // General, then per-signal, then FastDeploy headers: merged key by key, the later winning.
  const headerVars = ['OTEL_EXPORTER_OTLP_HEADERS', `OTEL_EXPORTER_OTLP_${SIGNAL}_HEADERS`, 'EXPORTER_OTLP_HEADERS'];
  return {
    protocol,
    url,
    headers: Object.assign({}, ...headerVars.map((name) => r.headerVar(name))) as Record<string, string>,
    compression: r.oneOf(
      key('compression'),
      [`OTEL_EXPORTER_OTLP_${SIGNAL}_COMPRESSION`, 'OTEL_EXPORTER_OTLP_COMPRESSION'],
      ['gzip', 'none'],
      'none',
      'gzip or none',
    ),
    timeoutMs: r.int(
      key('timeoutMs'),
      [`OTEL_EXPORTER_OTLP_${SIGNAL}_TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT'],
      10_000,
      1,
      600_000,
    ),
    ...(certificateFile ? { certificateFile } : {}),
    ...(clientKeyFile ? { clientKeyFile } : {}),
    ...(clientCertificateFile ? { clientCertificateFile } : {}),
  };
}

/** Batching variables per signal: FastDeploy's and OTEL_BSP_* for spans, OTEL_BLRP_* for log records. */
const BATCH_VARS: Record<Signal, Record<Exclude<keyof BatchConfig, 'maxQueueSizeSet'>, string[]>> = {
  traces: {
    scheduledDelayMs: ['FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS', 'OTEL_BSP_SCHEDULE_DELAY'],
    maxQueueSize: ['OTEL_BSP_MAX_QUEUE_SIZE'],
    maxExportBatchSize: ['FD_OTLP_EXPORTER_MAX_EXPORT_BATCH_SIZE', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
    exportTimeoutMs: ['OTEL_BSP_EXPORT_TIMEOUT'],
  },
  logs: {
    scheduledDelayMs: ['OTEL_BLRP_SCHEDULE_DELAY'],
    maxQueueSize: ['OTEL_BLRP_MAX_QUEUE_SIZE'],
    maxExportBatchSize: ['OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'],
    exportTimeoutMs: ['OTEL_BLRP_EXPORT_TIMEOUT'],
  },
};

/** 500 ms rather than the spec's 5 s, so a request shows up in the collector about a second after it ends. */
export const DEFAULT_BATCH: BatchConfig = {
  scheduledDelayMs: 500,
  maxQueueSize: 2048,
  maxQueueSizeSet: false,
  maxExportBatchSize: 512,
  exportTimeoutMs: 30_000,
};

/** The signal's batching; each unset value takes `defaults` (for logs: the span batching values). */
export function readBatch(r: Reader, signal: Signal, defaults: BatchConfig = DEFAULT_BATCH): BatchConfig {
  const vars = BATCH_VARS[signal];
  const key = (name: string) => `${signal === 'traces' ? '' : 'logs.'}batch.${name}`;
  const maxQueueSize = r.int(key('maxQueueSize'), vars.maxQueueSize, defaults.maxQueueSize, 1, 1_000_000);
  let maxExportBatchSize = r.int(
    key('maxExportBatchSize'),
    vars.maxExportBatchSize,
    Math.min(defaults.maxExportBatchSize, maxQueueSize),
    1,
    1_000_000,
  );
  if (maxExportBatchSize > maxQueueSize) {
    r.warn(
      `${r.sources[key('maxExportBatchSize')]} is larger than the queue size ${maxQueueSize}; using ${maxQueueSize}`,
    );
    maxExportBatchSize = maxQueueSize;
  }
  return {
    scheduledDelayMs: r.int(key('scheduledDelayMs'), vars.scheduledDelayMs, defaults.scheduledDelayMs, 0, 3_600_000),
    maxQueueSize,
    maxQueueSizeSet:
      defaults.maxQueueSizeSet || Number(r.first(key('maxQueueSize'), ...vars.maxQueueSize)?.value) === maxQueueSize,
    maxExportBatchSize,
    exportTimeoutMs: r.int(key('exportTimeoutMs'), vars.exportTimeoutMs, defaults.exportTimeoutMs, 1, 600_000),
  };
}
