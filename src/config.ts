// Reads and validates every environment variable the agent understands into one typed object.
// Pure: takes an env map, returns the config plus warnings; printing is the caller's job. A bad value never
// throws: it yields one warning naming the variable (never a header value or URL credentials) and a fallback.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export type Env = Record<string, string | undefined>;
export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export type TraceExporterName = 'otlp' | 'console' | 'file';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi';
export type LogExporterName = 'otlp' | 'console';
export type LogFormat = 'text' | 'jsonl';

export interface OtlpConfig {
  protocol: OtlpProtocol;
  /** Final URL the exporter talks to: with `/v1/traces` for HTTP, scheme+host+port for gRPC. */
  url: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  timeoutMs: number;
  /** PEM file paths for TLS (`https://`); read when the exporter is built. */
  certificateFile?: string;
  clientKeyFile?: string;
  clientCertificateFile?: string;
}

export interface AgentConfig {
  enabled: boolean;
  serviceName: string;
  hostName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, parsed; service.name / host.name above take precedence. */
  resourceAttributes: Record<string, string>;
  resourceDetectors: Set<string>;
  /** Empty when TRACES_EXPORTER=none. */
  exporters: TraceExporterName[];
  otlp: OtlpConfig;
  filePath: string;
  batch: { scheduledDelayMs: number; maxQueueSize: number; maxExportBatchSize: number; exportTimeoutMs: number };
  sampler: { name: SamplerName; ratio: number };
  propagators: PropagatorName[];
  logLevel: LogLevel;
  /** Short instrumentation names (`http`, `undici`, `express`…); `enabled` null means "the defaults". */
  instrumentations: { enabled: string[] | null; disabled: string[] };
  zmqPropagation: boolean;
  shutdownTimeoutMs: number;
  logs: LogsConfig;
  /** Which variable set each value that came from the environment (for `trace-agent doctor`). */
  sources: Record<string, string>;
}

export interface LogsConfig {
  /** Where log records go; empty (the default unless traces go over OTLP) means no logs pipeline at all. */
  exporters: LogExporterName[];
  /** Endpoint, protocol and headers for logs: defaults follow the traces OTLP settings. */
  otlp: OtlpConfig;
  batch: AgentConfig['batch'];
  /** TRACES_CONSOLE_LOGS: console.log/info/warn/error/debug become log records. */
  console: boolean;
  /** TRACES_LOG_FORMAT: `jsonl` rewrites console output as one JSON object per line. */
  format: LogFormat;
}

export interface ConfigResult {
  config: AgentConfig;
  warnings: string[];
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);
const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
const EXPORTERS = new Set(['otlp', 'console', 'file', 'none']);
const SAMPLERS = new Set<string>([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);
const LOG_LEVELS = new Set<string>(['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all']);
const PROPAGATORS = new Set<string>(['tracecontext', 'baggage', 'b3', 'b3multi', 'none']);
const DETECTORS = new Set<string>(['env', 'host', 'os', 'process', 'container', 'alibaba', 'aws', 'azure', 'gcp', 'all', 'none']);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Instrumentations that run when OTEL_NODE_ENABLED_INSTRUMENTATIONS is not set (log libraries: see src/logs). */
export const DEFAULT_INSTRUMENTATIONS: readonly string[] = ['http', 'undici', 'zeromq'];

export const DEFAULT_GRPC_URL = 'http://localhost:4317';
export const DEFAULT_HTTP_BASE = 'http://localhost:4318';

/** Whether the agent should trace at all. Cheap on purpose: the tracing-off path calls only this. */
export function tracingRequested(env: Env): boolean {
  const raw = env.TRACES_ENABLE;
  if (raw === undefined || !TRUE_WORDS.has(raw.trim().toLowerCase())) return false;
  return !TRUE_WORDS.has((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase());
}

/** Hides user:password in a URL so it can be printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

class Reader {
  readonly warnings: string[] = [];
  readonly sources: Record<string, string> = {};
  private readonly pairCache = new Map<string, Record<string, string>>();
  constructor(private readonly env: Env) {}

  /** Variables shared by traces and logs (OTEL_EXPORTER_OTLP_TIMEOUT…) are read twice but warn once. */
  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** A `k=v,...` header variable, parsed once: traces and logs share some, and a bad pair warns only once. */
  headerVar(name: string): Record<string, string> {
    let parsed = this.pairCache.get(name);
    if (!parsed) {
      const found = this.first(`headers:${name}`, name);
      parsed = found ? parsePairs(this, name, found.value, true) : {};
      this.pairCache.set(name, parsed);
    }
    return parsed;
  }

  /** First variable of `names` that is set to a non-blank value; records it as the source of `key`. */
  first(key: string, ...names: string[]): { name: string; value: string } | undefined {
    for (const name of names) {
      const value = this.env[name];
      if (value !== undefined && value.trim() !== '') {
        this.sources[key] = name;
        return { name, value: value.trim() };
      }
    }
    return undefined;
  }

  bool(key: string, name: string, fallback: boolean): boolean {
    const found = this.first(key, name);
    if (!found) return fallback;
    const word = found.value.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    this.warn(`${name}="${found.value}" is not a boolean (use true/false); using ${fallback}`);
    return fallback;
  }

  /** A whole number within [min, max], from the first variable set. */
  int(key: string, names: string[], fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const found = this.first(key, ...names);
    if (!found) return fallback;
    // Plain decimal digits only: Number() would also take "1e3", "0x10" or "1.0", which nobody means here.
    const n = /^\+?\d+$/.test(found.value) ? Number(found.value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.warn(`${found.name}="${found.value}" must be a whole number from ${min} to ${max}; using ${fallback}`);
      return fallback;
    }
    return n;
  }

  /** A comma list; words lower-cased, blanks dropped. */
  list(key: string, ...names: string[]): { name: string; items: string[] } | undefined {
    const found = this.first(key, ...names);
    if (!found) return undefined;
    const items = found.value
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    return { name: found.name, items };
  }
}

export function readConfig(env: Env = process.env, cwd: string = process.cwd()): ConfigResult {
  const r = new Reader(env);
  const enabled = readEnabled(r, env);
  const resourceAttributes = readResourceAttributes(r, env);
  const serviceName =
    r.first('serviceName', 'FD_SERVICE_NAME', 'OTEL_SERVICE_NAME')?.value ??
    resourceAttributes['service.name'] ??
    appPackageName(cwd) ??
    'unknown_service:node';
  const hostName = r.first('hostName', 'FD_HOST_NAME')?.value ?? resourceAttributes['host.name'] ?? hostname();
  const endpointVar = r.first(
    'endpoint',
    'EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
  );
  const endpoint = endpointVar ? parseEndpoint(r, endpointVar.name, endpointVar.value) : undefined;
  const exporters = readExporters(r, endpointVar !== undefined);
  const otlp = readOtlp(r, endpointVar, endpoint);
  const batch = readBatch(r);
  const config: AgentConfig = {
    enabled,
    serviceName,
    hostName,
    resourceAttributes,
    resourceDetectors: readDetectors(r),
    exporters,
    otlp,
    filePath: resolve(cwd, r.first('filePath', 'TRACES_FILE')?.value ?? 'otel_traces.jsonl'),
    batch,
    sampler: readSampler(r),
    propagators: readPropagators(r),
    logLevel: readLogLevel(r),
    instrumentations: {
      enabled: r.list('instrumentations.enabled', 'OTEL_NODE_ENABLED_INSTRUMENTATIONS')?.items ?? null,
      disabled: r.list('instrumentations.disabled', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS')?.items ?? [],
    },
    zmqPropagation: r.bool('zmqPropagation', 'TRACES_ZMQ_PROPAGATION', true),
    shutdownTimeoutMs: r.int('shutdownTimeoutMs', ['TRACES_SHUTDOWN_TIMEOUT_MS'], 5000, 0, 600_000),
    logs: readLogs(r, exporters, otlp, endpoint, batch),
    sources: r.sources,
  };
  return { config, warnings: r.warnings };
}

function readEnabled(r: Reader, env: Env): boolean {
  const disabled = r.bool('sdkDisabled', 'OTEL_SDK_DISABLED', false);
  const enabled = r.bool('enabled', 'TRACES_ENABLE', false);
  // Agree with tracingRequested(), which the entry point uses without building the whole config.
  return enabled && !disabled && tracingRequested(env);
}

/** `k=v,k2=v2` with percent-encoded values, as the OTel spec defines OTEL_RESOURCE_ATTRIBUTES. */
function readResourceAttributes(r: Reader, env: Env): Record<string, string> {
  const raw = env.OTEL_RESOURCE_ATTRIBUTES;
  if (!raw || !raw.trim()) return {};
  r.sources.resourceAttributes = 'OTEL_RESOURCE_ATTRIBUTES';
  // An empty service.name or host.name would name nothing: the next source in line is used instead.
  const emptyNames = (out: Record<string, string>) =>
    ['service.name', 'host.name']
      .filter((key) => out[key]?.trim() === '')
      .map((key) => {
        delete out[key];
        return `${key} is empty`;
      });
  return parsePairs(r, 'OTEL_RESOURCE_ATTRIBUTES', raw, false, emptyNames);
}

/**
 * Parses a `key=value,key2=value2` list: pairs trimmed, split at the FIRST `=` (values may contain `=`),
 * percent-decoded. Malformed pairs are skipped with one warning for the variable, which names their keys but never
 * shows a value.
 */
export function parsePairs(
  r: Reader | null,
  name: string,
  raw: string,
  headerNames: boolean,
  extraProblems: (out: Record<string, string>) => string[] = () => [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  raw.split(',').forEach((pair, index) => {
    if (!pair.trim()) return;
    const eq = pair.indexOf('=');
    const key = decodeOrNull((eq < 0 ? pair : pair.slice(0, eq)).trim());
    if (eq < 0 || !key) {
      problems.push(`${key ? `key "${key}"` : `entry ${index + 1}`} is not of the form key=value`);
      return;
    }
    if (headerNames && !HEADER_NAME.test(key)) {
      problems.push(`key "${key}" is not a valid header name`);
      return;
    }
    const value = decodeOrNull(pair.slice(eq + 1).trim());
    if (value === null) {
      problems.push(`the value of key "${key}" has a bad percent-encoding`);
      return;
    }
    out[headerNames ? key.toLowerCase() : key] = value;
  });
  problems.push(...extraProblems(out));
  if (problems.length) r?.warn(`${name}: ${problems.join('; ')}; skipped`);
  return out;
}

function decodeOrNull(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function readDetectors(r: Reader): Set<string> {
  const found = r.list('resourceDetectors', 'OTEL_NODE_RESOURCE_DETECTORS');
  const fallback = new Set(['env', 'host', 'process']);
  if (!found) return fallback;
  const bad = found.items.filter((d) => !DETECTORS.has(d));
  const mixedNone = found.items.includes('none') && found.items.some((d) => d !== 'none' && DETECTORS.has(d));
  const good = found.items.filter((d) => DETECTORS.has(d) && !(mixedNone && d === 'none'));
  warnListProblems(r, found.name, 'detector', bad, mixedNone ? ['none', ...good] : good, '"none" ignored next to other detectors');
  return good.length ? new Set(good) : fallback;
}

function readExporters(r: Reader, endpointSet: boolean): TraceExporterName[] {
  const fallback: TraceExporterName[] = [endpointSet ? 'otlp' : 'console'];
  const found = r.list('exporters', 'TRACES_EXPORTER', 'OTEL_TRACES_EXPORTER');
  if (!found || !found.items.length) return fallback;
  const bad = found.items.filter((e) => !EXPORTERS.has(e));
  const good = [...new Set(found.items.filter((e) => EXPORTERS.has(e)))];
  if (!good.length) {
    r.warn(`${found.name}="${found.items.join(',')}" names no known exporter (otlp, console, file, none); using ${fallback[0]}`);
    return fallback;
  }
  warnListProblems(r, found.name, 'exporter', bad, good, '"none" ignored next to other exporters');
  return good.filter((e): e is TraceExporterName => e !== 'none');
}

/** One warning for a list variable's unknown names and a `none` mixed with real names. */
function warnListProblems(r: Reader, name: string, noun: string, bad: string[], good: string[], noneMixed: string): void {
  const problems: string[] = [];
  if (bad.length) problems.push(`unknown ${noun}(s) ${bad.join(', ')} ignored`);
  if (good.includes('none') && good.length > 1) problems.push(noneMixed);
  if (problems.length) r.warn(`${name}: ${problems.join('; ')}`);
}

function readOtlp(
  r: Reader,
  endpointVar: { name: string; value: string } | undefined,
  parsed: ParsedEndpoint | undefined,
): OtlpConfig {
  const protocolVar = r.first('protocol', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  let protocol: OtlpProtocol;
  if (protocolVar && (PROTOCOLS as readonly string[]).includes(protocolVar.value.toLowerCase())) {
    protocol = protocolVar.value.toLowerCase() as OtlpProtocol;
  } else {
    // The conventional HTTP port implies HTTP when nobody said otherwise.
    protocol = parsed?.port === '4318' ? 'http/protobuf' : 'grpc';
    if (protocolVar) {
      r.warn(`${protocolVar.name}="${protocolVar.value}" is not one of ${PROTOCOLS.join(', ')}; using ${protocol}`);
    }
  }
  return {
    protocol,
    url: signalUrl(protocol, parsed, endpointVar?.name === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    headers: readHeaders(r, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    compression: readCompression(r, 'compression', 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'),
    timeoutMs: r.int('timeoutMs', ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], 10_000, 1, 600_000),
    certificateFile: r.first('certificate', 'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE', 'OTEL_EXPORTER_OTLP_CERTIFICATE')?.value,
    clientKeyFile: r.first('clientKey', 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY', 'OTEL_EXPORTER_OTLP_CLIENT_KEY')?.value,
    clientCertificateFile: r.first(
      'clientCertificate',
      'OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE',
      'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
    )?.value,
  };
}

interface ParsedEndpoint {
  origin: string;
  port: string;
  /** Path without a trailing slash; '' for none. */
  path: string;
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
  return {
    origin: `${url.protocol}//${auth}${url.host}`,
    port,
    path: url.pathname.replace(/\/+$/, ''),
  };
}

/** Base endpoints get `/v1/traces` on HTTP; the per-signal variable is used as given (OTel spec). */
function signalUrl(protocol: OtlpProtocol, parsed: ParsedEndpoint | undefined, perSignal: boolean): string {
  if (protocol === 'grpc') return parsed ? parsed.origin : DEFAULT_GRPC_URL;
  if (!parsed) return `${DEFAULT_HTTP_BASE}/v1/traces`;
  if (perSignal) return `${parsed.origin}${parsed.path || '/'}`;
  // A FastDeploy-style endpoint that already names the traces path is not extended twice.
  if (parsed.path.endsWith('/v1/traces')) return `${parsed.origin}${parsed.path}`;
  return `${parsed.origin}${parsed.path}/v1/traces`;
}

/** General, then per-signal, then FastDeploy headers: merged key by key, the later winning. */
function readHeaders(r: Reader, perSignal: string): Record<string, string> {
  const names = ['OTEL_EXPORTER_OTLP_HEADERS', perSignal, 'EXPORTER_OTLP_HEADERS'];
  return Object.assign({}, ...names.map((name) => r.headerVar(name))) as Record<string, string>;
}

function readCompression(r: Reader, key: string, perSignal: string): 'gzip' | 'none' {
  const found = r.first(key, perSignal, 'OTEL_EXPORTER_OTLP_COMPRESSION');
  if (!found) return 'none';
  const v = found.value.toLowerCase();
  if (v === 'gzip' || v === 'none') return v;
  r.warn(`${found.name}="${found.value}" is not gzip or none; using none`);
  return 'none';
}

function readBatch(r: Reader): AgentConfig['batch'] {
  const maxQueueSize = r.int('batch.maxQueueSize', ['OTEL_BSP_MAX_QUEUE_SIZE'], 2048, 1, 1_000_000);
  let maxExportBatchSize = r.int(
    'batch.maxExportBatchSize',
    ['FD_OTLP_EXPORTER_MAX_EXPORT_BATCH_SIZE', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
    512,
    1,
    1_000_000,
  );
  if (maxExportBatchSize > maxQueueSize) {
    r.warn(`${r.sources['batch.maxExportBatchSize']} is larger than the queue size ${maxQueueSize}; using ${maxQueueSize}`);
    maxExportBatchSize = maxQueueSize;
  }
  return {
    // 500 ms rather than the spec's 5 s, so a request shows up in the collector about a second after it ends.
    scheduledDelayMs: r.int(
      'batch.scheduledDelayMs',
      ['FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS', 'OTEL_BSP_SCHEDULE_DELAY'],
      500,
      0,
      3_600_000,
    ),
    maxQueueSize,
    maxExportBatchSize,
    exportTimeoutMs: r.int('batch.exportTimeoutMs', ['OTEL_BSP_EXPORT_TIMEOUT'], 30_000, 1, 600_000),
  };
}

const LOG_EXPORTERS = new Set(['otlp', 'console', 'none']);

/**
 * The logs signal. Export defaults to OTLP exactly when traces go over OTLP (logs then reach the same collector
 * as the spans they belong to), else to none: printing every console line a second time as a record would only
 * double the app's output. Endpoint, protocol, headers and batching default to the traces settings.
 */
function readLogs(
  r: Reader,
  traceExporters: TraceExporterName[],
  traces: OtlpConfig,
  tracesEndpoint: ParsedEndpoint | undefined,
  spanBatch: AgentConfig['batch'],
): LogsConfig {
  const exporters = readLogExporters(r, traceExporters.includes('otlp') ? ['otlp'] : []);
  const endpointVar = r.first('logs.endpoint', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
  const own = endpointVar ? parseEndpoint(r, endpointVar.name, endpointVar.value) : undefined;
  const protocol = readLogsProtocol(r, traces.protocol, own);
  let url: string;
  if (own) url = protocol === 'grpc' ? own.origin : `${own.origin}${own.path || '/'}`;
  else url = logsUrlFrom(protocol, tracesEndpoint);
  const certificateFile = r.first('logs.certificate', 'OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE', 'OTEL_EXPORTER_OTLP_CERTIFICATE')?.value;
  const clientKeyFile = r.first('logs.clientKey', 'OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY', 'OTEL_EXPORTER_OTLP_CLIENT_KEY')?.value;
  const clientCertificateFile = r.first(
    'logs.clientCertificate',
    'OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE',
    'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
  )?.value;
  return {
    exporters,
    otlp: {
      protocol,
      url,
      headers: readHeaders(r, 'OTEL_EXPORTER_OTLP_LOGS_HEADERS'),
      compression: readCompression(r, 'logs.compression', 'OTEL_EXPORTER_OTLP_LOGS_COMPRESSION'),
      timeoutMs: r.int('logs.timeoutMs', ['OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], 10_000, 1, 600_000),
      ...(certificateFile ? { certificateFile } : {}),
      ...(clientKeyFile ? { clientKeyFile } : {}),
      ...(clientCertificateFile ? { clientCertificateFile } : {}),
    },
    batch: readLogsBatch(r, spanBatch),
    console: r.bool('logs.console', 'TRACES_CONSOLE_LOGS', true),
    format: readLogFormat(r),
  };
}

function readLogExporters(r: Reader, fallback: LogExporterName[]): LogExporterName[] {
  const found = r.list('logs.exporters', 'OTEL_LOGS_EXPORTER');
  if (!found || !found.items.length) return fallback;
  const bad = found.items.filter((e) => !LOG_EXPORTERS.has(e));
  const good = [...new Set(found.items.filter((e) => LOG_EXPORTERS.has(e)))];
  const name = fallback[0] ?? 'none';
  if (!good.length) {
    r.warn(`${found.name}="${found.items.join(',')}" names no known exporter (otlp, console, none); using ${name}`);
    return fallback;
  }
  warnListProblems(r, found.name, 'exporter', bad, good, '"none" ignored next to other exporters');
  return good.filter((e): e is LogExporterName => e !== 'none');
}

/**
 * OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, else the traces protocol; except that a logs endpoint of its own on port
 * 4318 with no protocol variable set at all means HTTP, as it does for traces.
 */
function readLogsProtocol(r: Reader, tracesProtocol: OtlpProtocol, own: ParsedEndpoint | undefined): OtlpProtocol {
  const found = r.first('logs.protocol', 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL');
  if (found && (PROTOCOLS as readonly string[]).includes(found.value.toLowerCase())) return found.value.toLowerCase() as OtlpProtocol;
  const anyProtocolSet = r.sources.protocol !== undefined;
  const fallback = own && !anyProtocolSet ? (own.port === '4318' ? 'http/protobuf' : 'grpc') : tracesProtocol;
  if (found) r.warn(`${found.name}="${found.value}" is not one of ${PROTOCOLS.join(', ')}; using ${fallback}`);
  return fallback;
}

/** The traces endpoint, for logs: gRPC as is; HTTP with `/v1/logs` (in place of a `/v1/traces` it may name). */
function logsUrlFrom(protocol: OtlpProtocol, traces: ParsedEndpoint | undefined): string {
  if (protocol === 'grpc') return traces ? traces.origin : DEFAULT_GRPC_URL;
  if (!traces) return `${DEFAULT_HTTP_BASE}/v1/logs`;
  const base = traces.path.endsWith('/v1/traces') ? traces.path.slice(0, -'/v1/traces'.length) : traces.path;
  return `${traces.origin}${base}/v1/logs`;
}

/** OTEL_BLRP_*; each unset one takes the span batching value (FastDeploy or OTEL_BSP_*, else its default). */
function readLogsBatch(r: Reader, spans: AgentConfig['batch']): AgentConfig['batch'] {
  const maxQueueSize = r.int('logs.batch.maxQueueSize', ['OTEL_BLRP_MAX_QUEUE_SIZE'], spans.maxQueueSize, 1, 1_000_000);
  let maxExportBatchSize = r.int(
    'logs.batch.maxExportBatchSize',
    ['OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'],
    Math.min(spans.maxExportBatchSize, maxQueueSize),
    1,
    1_000_000,
  );
  if (maxExportBatchSize > maxQueueSize) {
    r.warn(`OTEL_BLRP_MAX_EXPORT_BATCH_SIZE is larger than the queue size ${maxQueueSize}; using ${maxQueueSize}`);
    maxExportBatchSize = maxQueueSize;
  }
  return {
    scheduledDelayMs: r.int('logs.batch.scheduledDelayMs', ['OTEL_BLRP_SCHEDULE_DELAY'], spans.scheduledDelayMs, 0, 3_600_000),
    maxQueueSize,
    maxExportBatchSize,
    exportTimeoutMs: r.int('logs.batch.exportTimeoutMs', ['OTEL_BLRP_EXPORT_TIMEOUT'], spans.exportTimeoutMs, 1, 600_000),
  };
}

function readLogFormat(r: Reader): LogFormat {
  const found = r.first('logs.format', 'TRACES_LOG_FORMAT');
  if (!found) return 'text';
  const v = found.value.toLowerCase();
  if (v === 'text' || v === 'jsonl') return v;
  r.warn(`TRACES_LOG_FORMAT="${found.value}" is not text or jsonl; using text`);
  return 'text';
}

function readSampler(r: Reader): AgentConfig['sampler'] {
  const found = r.first('sampler', 'OTEL_TRACES_SAMPLER');
  let name: SamplerName = 'parentbased_always_on';
  if (found) {
    const v = found.value.toLowerCase();
    if (SAMPLERS.has(v)) name = v as SamplerName;
    else r.warn(`OTEL_TRACES_SAMPLER="${found.value}" is not a known sampler; using parentbased_always_on`);
  }
  let ratio = 1;
  const arg = r.first('samplerArg', 'OTEL_TRACES_SAMPLER_ARG');
  if (arg && name.endsWith('traceidratio')) {
    const n = Number(arg.value);
    if (arg.value === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      r.warn(`OTEL_TRACES_SAMPLER_ARG="${arg.value}" must be a number from 0 to 1; using 1`);
    } else {
      ratio = n;
    }
  }
  return { name, ratio };
}

function readPropagators(r: Reader): PropagatorName[] {
  const fallback: PropagatorName[] = ['tracecontext', 'baggage'];
  const found = r.list('propagators', 'OTEL_PROPAGATORS');
  if (!found || !found.items.length) return fallback;
  const bad = found.items.filter((p) => !PROPAGATORS.has(p));
  const good = [...new Set(found.items.filter((p) => PROPAGATORS.has(p)))];
  warnListProblems(r, 'OTEL_PROPAGATORS', 'propagator', bad, good, '"none" turns propagation off: the other names are ignored');
  if (found.items.includes('none')) return [];
  return good.length ? (good as PropagatorName[]) : fallback;
}

function readLogLevel(r: Reader): LogLevel {
  const found = r.first('logLevel', 'OTEL_LOG_LEVEL');
  if (!found) return 'warn';
  const v = found.value.toLowerCase();
  if (LOG_LEVELS.has(v)) return v as LogLevel;
  r.warn(`OTEL_LOG_LEVEL="${found.value}" is not one of ${[...LOG_LEVELS].join(', ')}; using warn`);
  return 'warn';
}

/** The `name` of the package.json nearest to the app's main script (else the cwd). */
function appPackageName(cwd: string): string | undefined {
  const main = process.argv[1];
  let dir = main ? dirname(resolve(cwd, main)) : cwd;
  for (let i = 0; i < 32; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      return typeof pkg.name === 'string' && pkg.name ? pkg.name : undefined;
    } catch {
      // no (readable) package.json here: look one level up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}
