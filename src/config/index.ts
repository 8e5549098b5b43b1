// Reads and validates every environment variable the agent understands into one typed object.
// Pure: takes an env map (and the app's main script, for its package name), returns the config plus warnings;
// printing is the caller's job. A bad value never throws: it yields one warning naming the variable (never a header
// value or URL credentials) and a fallback. Per-signal OTLP settings: otlp.ts; the reader itself: reader.ts.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type Env, isTrue, parseBool, tracingRequested } from './env.js';
import { readLogRecordLimits, readSpanLimits } from './limits.js';
import type { EndpointVar } from './otlp.js';
import { PROTOCOLS, protocolForPort, readBatch, readEndpoint, readOtlp, signalUrl } from './otlp.js';
import { parsePairs, Reader } from './reader.js';
import type {
  AgentConfig,
  ConfigResult,
  LogExporterName,
  LogFormat,
  LogLevel,
  LogsConfig,
  OtlpConfig,
  PropagatorName,
  SamplerName,
  TraceExporterName,
  ZmqPropagation,
} from './types.js';

export { tracingRequested } from './env.js';
export { redactUrl } from './otlp.js';
export { parsePairs } from './reader.js';
export * from './types.js';

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const LOG_LEVELS: readonly LogLevel[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];
const PROPAGATORS = new Set<string>(['tracecontext', 'baggage', 'b3', 'b3multi', 'none']);
const DETECTORS = new Set<string>([
  'env',
  'host',
  'os',
  'process',
  'container',
  'alibaba',
  'aws',
  'azure',
  'gcp',
  'all',
  'none',
]);
const TRACE_EXPORTERS = ['otlp', 'console', 'file', 'none'] as const;
const LOG_EXPORTERS = ['otlp', 'console', 'none'] as const;

/** Where the app is: its package.json name is the default service.name. */
export interface AppLocation {
  cwd?: string;
  /** The app's main script (process.argv[1] for a preloaded agent); undefined: look from `cwd`. */
  mainScript?: string;
}

export function readConfig(env: Env, app: AppLocation = {}): ConfigResult {
  const cwd = app.cwd ?? process.cwd();
  const r = new Reader(env);
  const enabled = readEnabled(r, env);
  const resourceAttributes = readResourceAttributes(r, env);
  const serviceName =
    r.first('serviceName', 'FD_SERVICE_NAME', 'OTEL_SERVICE_NAME')?.value ??
    resourceAttributes['service.name'] ??
    appPackageName(cwd, app.mainScript) ??
    'unknown_service:node';
  const hostName = r.first('hostName', 'FD_HOST_NAME')?.value ?? resourceAttributes['host.name'] ?? hostname();
  const endpoint = readEndpoint(r, 'endpoint', [
    'EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
  ]);
  // OTLP when an endpoint is set or Dynamo's OTEL_EXPORT_ENABLED=true asks for OTLP export; else the console.
  const otlpByDefault = endpoint !== undefined || isTrue(env.OTEL_EXPORT_ENABLED);
  const exporters = r.exporters<TraceExporterName>(
    'exporters',
    ['TRACES_EXPORTER', 'OTEL_TRACES_EXPORTER'],
    TRACE_EXPORTERS,
    [otlpByDefault ? 'otlp' : 'console'],
  );
  const protocol = r.oneOf(
    'protocol',
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    PROTOCOLS,
    protocolForPort(endpoint?.parsed),
    `one of ${PROTOCOLS.join(', ')}`,
  );
  const otlp = readOtlp(r, 'traces', protocol, signalUrl('traces', protocol, endpoint));
  const batch = readBatch(r, 'traces');
  const config: AgentConfig = {
    enabled,
    serviceName,
    hostName,
    resourceAttributes,
    resourceDetectors: readDetectors(r),
    exporters,
    otlp,
    filePath: resolve(cwd, r.first('filePath', 'TRACES_FILE')?.value ?? 'otel_traces.jsonl'),
    processorsFrom: readImportPath(r, cwd),
    batch,
    spanLimits: readSpanLimits(r),
    sampler: readSampler(r),
    propagators: readPropagators(r),
    logLevel: r.oneOf('logLevel', ['OTEL_LOG_LEVEL'], LOG_LEVELS, 'warn', `one of ${LOG_LEVELS.join(', ')}`),
    instrumentations: {
      enabled: r.list('instrumentations.enabled', 'OTEL_NODE_ENABLED_INSTRUMENTATIONS')?.items ?? null,
      disabled: r.list('instrumentations.disabled', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS')?.items ?? [],
    },
    zmqPropagation: readZmqPropagation(r),
    shutdownTimeoutMs: r.int('shutdownTimeoutMs', ['TRACES_SHUTDOWN_TIMEOUT_MS'], 5000, 0, 600_000),
    exportThread: readExportThread(r),
    logs: readLogs(r, exporters, otlp, endpoint, batch),
    sources: r.sources,
  };
  return { config, warnings: r.warnings };
}

/**
 * The exporter thread is a worker thread, which Node's permission model (`--permission`) forbids unless the app is run
 * with `--allow-worker`: the batch processors then, as TRACES_EXPORT_THREAD=false (a warning only if it was asked for).
 */
function readExportThread(r: Reader): boolean {
  const on = r.bool('exportThread', 'TRACES_EXPORT_THREAD', true);
  if (!on || !workersForbidden()) return on;
  if (r.first('exportThread', 'TRACES_EXPORT_THREAD'))
    r.warn(
      "TRACES_EXPORT_THREAD=true needs a worker thread, which Node's permission model forbids (--allow-worker); using false",
    );
  return false;
}

/** True when Node's permission model is on and forbids worker threads (no --allow-worker). */
export function workersForbidden(): boolean {
  return (process as { permission?: { has(scope: string): boolean } }).permission?.has('worker') === false;
}

function readEnabled(r: Reader, env: Env): boolean {
  const disabled = r.bool('sdkDisabled', 'OTEL_SDK_DISABLED', false);
  // TRACES_ENABLE when set (true or false); else Dynamo's OTEL_EXPORT_ENABLED.
  const enabled = r.first('enabled', 'TRACES_ENABLE')
    ? r.bool('enabled', 'TRACES_ENABLE', false)
    : r.bool('enabled', 'OTEL_EXPORT_ENABLED', false);
  // Agree with tracingRequested(), which the entry point uses without building the whole config.
  return enabled && !disabled && tracingRequested(env);
}

/** `k=v,k2=v2` with percent-encoded values, as the OTel spec defines OTEL_RESOURCE_ATTRIBUTES. */
function readResourceAttributes(r: Reader, env: Env): Record<string, string> {
  const raw = env.OTEL_RESOURCE_ATTRIBUTES;
  if (!raw?.trim()) return {};
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

function readDetectors(r: Reader): Set<string> {
  const found = r.list('resourceDetectors', 'OTEL_NODE_RESOURCE_DETECTORS');
  const fallback = new Set(['env', 'host', 'process']);
  if (!found) return fallback;
  const bad = found.items.filter((d) => !DETECTORS.has(d));
  const mixedNone = found.items.includes('none') && found.items.some((d) => d !== 'none' && DETECTORS.has(d));
  const good = found.items.filter((d) => DETECTORS.has(d) && !(mixedNone && d === 'none'));
  r.listProblems(
    found.name,
    'detector',
    bad,
    mixedNone ? ['none', ...good] : good,
    '"none" ignored next to other detectors',
  );
  return good.length ? new Set(good) : fallback;
}

/**
 * The logs signal. Export defaults to OTLP exactly when traces go over OTLP (logs then reach the same collector
 * as the spans they belong to), else to none: printing every console line a second time as a record would only
 * double the app's output. Endpoint, protocol, headers and batching default to the traces settings.
 */
function readLogs(
  r: Reader,
  traceExporters: TraceExporterName[],
  traces: OtlpConfig,
  tracesEndpoint: EndpointVar | undefined,
  spanBatch: AgentConfig['batch'],
): LogsConfig {
  const exporters = r.exporters<LogExporterName>(
    'logs.exporters',
    ['OTEL_LOGS_EXPORTER'],
    LOG_EXPORTERS,
    traceExporters.includes('otlp') ? ['otlp'] : [],
  );
  const own = readEndpoint(r, 'logs.endpoint', ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']);
  // A logs endpoint of its own with no protocol variable set at all: its port decides, as it does for traces.
  const protocolFallback =
    own?.parsed && r.sources.protocol === undefined ? protocolForPort(own.parsed) : traces.protocol;
  const protocol = r.oneOf(
    'logs.protocol',
    ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'],
    PROTOCOLS,
    protocolFallback,
    `one of ${PROTOCOLS.join(', ')}`,
  );
  // Without one, the traces endpoint as a base (its /v1/traces replaced by /v1/logs), even when it was per-signal.
  const endpoint = own?.parsed ? own : tracesEndpoint && { ...tracesEndpoint, perSignal: false };
  return {
    exporters,
    otlp: readOtlp(r, 'logs', protocol, signalUrl('logs', protocol, endpoint)),
    batch: readBatch(r, 'logs', spanBatch),
    limits: readLogRecordLimits(r),
    console: r.bool('logs.console', 'TRACES_CONSOLE_LOGS', true),
    // TRACES_LOG_FORMAT when set; else Dynamo's DYN_LOGGING_JSONL=true means jsonl.
    format: r.oneOf<LogFormat>(
      'logs.format',
      ['TRACES_LOG_FORMAT'],
      ['text', 'jsonl'],
      dynamoFormat(r),
      'text or jsonl',
    ),
  };
}

function dynamoFormat(r: Reader): LogFormat {
  if (r.first('logs.format', 'TRACES_LOG_FORMAT')) return 'text'; // TRACES_LOG_FORMAT decides
  return r.bool('logs.format', 'DYN_LOGGING_JSONL', false) ? 'jsonl' : 'text';
}

/**
 * Ray Serve's `exporter_import_path` as ANYSCALE_TRACING_EXPORTER_IMPORT_PATH: `module:function` (Python's form) or a
 * module alone (its default export). A relative or absolute path is a file (resolved from the working directory);
 * anything else a package name.
 */
function readImportPath(r: Reader, cwd: string): AgentConfig['processorsFrom'] {
  const variable = 'ANYSCALE_TRACING_EXPORTER_IMPORT_PATH';
  const found = r.first('processorsFrom', variable);
  if (!found) return undefined;
  const at = found.value.lastIndexOf(':');
  // `C:\x\y.js` and `node:…` are no `module:function`: a colon is the separator only when a name follows it.
  const hasName = at > 1 && /^[A-Za-z_$][\w$]*$/.test(found.value.slice(at + 1));
  const spec = hasName ? found.value.slice(0, at) : found.value;
  const exportName = hasName ? found.value.slice(at + 1) : 'default';
  const isPath = spec.startsWith('.') || isAbsolute(spec);
  return { module: isPath ? resolve(cwd, spec) : spec, exportName, variable };
}

const ENDPOINT_PATTERN = /^[a-z*]+:\/\/[^\s,!]+$/i;

/**
 * TRACES_ZMQ_PROPAGATION: `on`/`off` (any boolean word), or endpoint patterns (`*` matches anything) to include and,
 * with a leading `!`, to exclude: `!tcp://*:5557`, `ipc://*,!ipc:///run/py/*`. Bad patterns: one warning, ignored.
 */
function readZmqPropagation(r: Reader): ZmqPropagation {
  const found = r.first('zmqPropagation', 'TRACES_ZMQ_PROPAGATION');
  if (!found) return true;
  const bool = parseBool(found.value);
  if (typeof bool === 'boolean') return bool;
  const rule = { include: [] as string[], exclude: [] as string[] };
  const bad: string[] = [];
  for (const item of found.value.split(',').map((part) => part.trim())) {
    if (!item) continue;
    const negated = item.startsWith('!');
    const pattern = negated ? item.slice(1).trim() : item;
    if (!ENDPOINT_PATTERN.test(pattern)) bad.push(item);
    else (negated ? rule.exclude : rule.include).push(pattern);
  }
  const usable = rule.include.length + rule.exclude.length > 0;
  if (bad.length)
    r.warn(
      `TRACES_ZMQ_PROPAGATION: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length > 1 ? 'are' : 'is'} neither on/off ` +
        `nor an endpoint pattern like tcp://*:5557 or !ipc://*; ${usable ? 'ignored' : 'propagation stays on'}`,
    );
  return usable ? rule : true;
}

function readSampler(r: Reader): AgentConfig['sampler'] {
  const name = r.oneOf('sampler', ['OTEL_TRACES_SAMPLER'], SAMPLERS, 'parentbased_always_on', 'a known sampler');
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
  if (!found?.items.length) return fallback;
  const bad = found.items.filter((p) => !PROPAGATORS.has(p));
  const good = [...new Set(found.items.filter((p) => PROPAGATORS.has(p)))];
  r.listProblems(
    'OTEL_PROPAGATORS',
    'propagator',
    bad,
    good,
    '"none" turns propagation off: the other names are ignored',
  );
  if (found.items.includes('none')) return [];
  return good.length ? (good as PropagatorName[]) : fallback;
}

/** The `name` of the package.json nearest to the app's main script (else the cwd). */
function appPackageName(cwd: string, mainScript: string | undefined): string | undefined {
  let dir = mainScript ? dirname(resolve(cwd, mainScript)) : cwd;
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
