// `trace-agent doctor`: the configuration the agent would use in this environment (each value with the variable
// that set it, or "default"), with header values and URL credentials redacted; then one empty export to each
// configured OTLP endpoint, and a verdict. Exit status 0 when tracing can work, 1 when it cannot.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIN_NODE, nodeIsSupported } from '../agent.js';
import { isTrue } from '../config/env.js';
import { type AgentConfig, type Env, type OtlpConfig, parsePairs, readConfig, redactUrl } from '../config/index.js';
import { redactor, safeDecode } from '../diag.js';
import type { Signal } from '../exporters/otlp-wire.js';
import { DEFAULT_INSTRUMENTATIONS } from '../instrumentations/catalog.js';
import { intOption, type OptionSpec, parseArgs } from './args.js';
import { type ProbeResult, probeEndpoint } from './doctor-probe.js';
import { EXIT_FAIL, UsageError } from './errors.js';
import { packageVersion } from './version.js';

export const DOCTOR_HELP = `Usage: trace-agent doctor [options]

Shows the tracing configuration that \`node --import @x/trace-agent\` would use with the current environment
variables: every value and the variable that set it (or "default"), header values and URL credentials redacted.
Then sends one empty OTLP export (no spans) to the configured endpoint on the configured protocol (gRPC,
HTTP/protobuf or HTTP/JSON) and reports whether it was accepted, with the status and latency, or what failed
(DNS, connection, TLS, HTTP status, gRPC status) and what to do. The logs endpoint is checked too when logs are
exported over OTLP.

Exit status: 0 when tracing can work; 1 when it cannot (tracing off, nowhere to send spans, endpoint unreachable,
TLS failure, HTTP 4xx/5xx, gRPC error); 2 for a bad command line.

Options:
  --offline         print the configuration only; send nothing
  --timeout <ms>    how long to wait for the endpoint (default: the configured export timeout, at most 10000)
  --app <script>    the app's main script: its nearest package.json names the default service.name
                    (default: the current directory's)
  -h, --help        this help

Run it in the same environment as the app, e.g.:
  TRACES_ENABLE=true EXPORTER_OTLP_ENDPOINT=http://collector:4317 trace-agent doctor`;

const OPTIONS: OptionSpec[] = [
  { name: 'offline' },
  { name: 'timeout', value: true },
  { name: 'app', value: true },
  { name: 'help', alias: 'h' },
];

const DEFAULT_MAX_TIMEOUT_MS = 10_000;
const TRACES_HEADER_VARS = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'EXPORTER_OTLP_HEADERS'];
const LOGS_HEADER_VARS = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS', 'EXPORTER_OTLP_HEADERS'];
const ENDPOINT_VARS = [
  'EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
];

export async function runDoctor(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs('doctor', argv, OPTIONS);
  if (parsed.flags.get('help')) {
    process.stdout.write(`${DOCTOR_HELP}\n`);
    return 0;
  }
  if (parsed.positionals.length) {
    throw new UsageError(
      `\`trace-agent doctor\` takes no arguments (got ${parsed.positionals.join(' ')}); see \`trace-agent doctor --help\``,
    );
  }
  const env = process.env as Env;
  const cwd = process.cwd();
  const { config, warnings } = readConfig(env, { cwd, mainScript: parsed.values.get('app')?.[0] });
  const redact = redactor(collectSecrets(env, config), '<redacted>');
  const out = (line = '') => process.stdout.write(`${redact(line)}\n`);

  out(`trace-agent doctor — ${packageVersion()}, Node ${process.version}`);
  out();
  printConfig(out, config, env);
  if (warnings.length) {
    out();
    out('Warnings from the configuration (the agent prints these at start-up too):');
    for (const w of warnings) out(`  - ${w}`);
  }

  const problems: string[] = [];
  const notes: string[] = [];
  if (!nodeIsSupported(process.versions.node)) {
    problems.push(
      `this Node (${process.version}) is older than ${MIN_NODE.join('.')}: the agent stays off on it (if your app runs on a newer Node, run the doctor with that Node)`,
    );
  }
  if (!config.enabled) problems.push(offReason(env));

  out();
  out('Checks:');
  const timeoutMs = intOption(parsed, 'timeout', 1, 600_000) ?? Math.min(config.otlp.timeoutMs, DEFAULT_MAX_TIMEOUT_MS);
  const offline = parsed.flags.get('offline') === true;
  if (!config.exporters.length) {
    problems.push(
      'TRACES_EXPORTER / OTEL_TRACES_EXPORTER is "none": spans are recorded but sent nowhere; set it to otlp, console or file',
    );
    out('  traces: no exporter (none)');
  }
  const probes: { signal: Signal; otlp: OtlpConfig }[] = [];
  if (config.exporters.includes('otlp')) probes.push({ signal: 'traces', otlp: config.otlp });
  if (config.logs.exporters.includes('otlp')) probes.push({ signal: 'logs', otlp: config.logs.otlp });
  if (config.exporters.includes('console'))
    out("  traces → console: spans are printed on the app's stdout (nothing to check)");
  if (config.exporters.includes('file')) {
    const fileProblem = checkWritable(config.filePath);
    out(`  traces → file ${config.filePath}: ${fileProblem ?? 'writable'}`);
    if (fileProblem) problems.push(`cannot write the trace file ${config.filePath}: ${fileProblem} (TRACES_FILE)`);
  }
  if (offline) {
    for (const p of probes) out(`  ${p.signal} → ${describeTarget(p.otlp)}: not checked (--offline)`);
  } else {
    const results = await Promise.all(probes.map((p) => probeEndpoint(p.signal, p.otlp, timeoutMs)));
    probes.forEach((p, i) => {
      const r = results[i]!;
      out(`  ${p.signal} → ${describeTarget(p.otlp)}: sent an empty export request`);
      out(`    ${r.ok ? 'OK' : 'FAILED'}: ${r.summary}`);
      if (r.hint) out(`    ${r.ok ? 'note' : 'what to do'}: ${r.hint}`);
      if (!r.ok) problems.push(probeProblem(p.signal, p.otlp, r));
    });
  }
  if (config.logs.exporters.includes('console')) notes.push('log records are printed on the console');

  out();
  if (problems.length) {
    out(`Verdict: FAIL — tracing cannot work as configured:`);
    for (const p of problems) out(`  - ${p}`);
    return EXIT_FAIL;
  }
  const where = config.exporters
    .map((e) =>
      e === 'otlp'
        ? `${describeTarget(config.otlp)}${offline ? ' (not checked)' : ''}`
        : e === 'file'
          ? `the file ${config.filePath}`
          : 'the console',
    )
    .join(' and ');
  out(`Verdict: OK — tracing is on; spans go to ${where}.${notes.length ? ` Also: ${notes.join('; ')}.` : ''}`);
  return 0;
}

type Out = (line?: string) => void;

function printConfig(out: Out, c: AgentConfig, env: Env): void {
  const src = (key: string, fallback = 'default') => c.sources[key] ?? fallback;
  const rows: [string, string, string][] = [];
  const row = (label: string, value: string, source: string) => rows.push([label, value, source]);
  const section = (title: string) => rows.push([`\u0000${title}`, '', '']);

  section('Tracing');
  row(
    'tracing',
    c.enabled ? 'on' : 'off',
    c.sources.sdkDisabled && isTrue(env.OTEL_SDK_DISABLED) ? 'OTEL_SDK_DISABLED' : src('enabled', 'default (off)'),
  );
  row('service.name', c.serviceName, serviceNameSource(c));
  row(
    'host.name',
    c.hostName,
    c.sources.hostName ??
      (c.resourceAttributes['host.name'] === c.hostName ? 'OTEL_RESOURCE_ATTRIBUTES' : 'default (OS hostname)'),
  );
  row('resource attributes', pairs(c.resourceAttributes) || '(none)', src('resourceAttributes'));
  row('resource detectors', [...c.resourceDetectors].join(','), src('resourceDetectors'));
  row(
    'exporters',
    c.exporters.join(',') || 'none',
    src(
      'exporters',
      `default (${c.sources.endpoint ? 'an endpoint variable is set' : isTrue(env.OTEL_EXPORT_ENABLED) ? 'OTEL_EXPORT_ENABLED=true' : 'no endpoint variable is set'})`,
    ),
  );
  row('file', c.filePath, src('filePath', 'default (./otel_traces.jsonl)'));
  row('sampler', c.sampler.name, src('sampler'));
  row('sampler ratio', String(c.sampler.ratio), src('samplerArg'));
  row('propagators', c.propagators.join(',') || 'none', src('propagators'));
  row(
    'instrumentations',
    c.instrumentations.enabled?.join(',') ??
      `the default set (${DEFAULT_INSTRUMENTATIONS.length}, each loaded on first use)`,
    src('instrumentations.enabled'),
  );
  row('disabled instrumentations', c.instrumentations.disabled.join(',') || '(none)', src('instrumentations.disabled'));
  const zmq = c.zmqPropagation;
  const zmqRule =
    typeof zmq === 'boolean'
      ? String(zmq)
      : `${[...zmq.include, ...zmq.exclude.map((p) => `!${p}`)].join(',')} (by endpoint)`;
  row('ZeroMQ propagation', zmqRule, src('zmqPropagation'));
  row('shutdown timeout', `${c.shutdownTimeoutMs} ms`, src('shutdownTimeoutMs'));
  row('log level', c.logLevel, src('logLevel'));

  section('OTLP traces endpoint');
  otlpRows(row, c.otlp, env, c.sources, '', TRACES_HEADER_VARS);

  section('Batching (spans)');
  row('schedule delay', `${c.batch.scheduledDelayMs} ms`, src('batch.scheduledDelayMs'));
  row('max queue size', String(c.batch.maxQueueSize), src('batch.maxQueueSize'));
  row('max export batch size', String(c.batch.maxExportBatchSize), src('batch.maxExportBatchSize'));
  row('export timeout', `${c.batch.exportTimeoutMs} ms`, src('batch.exportTimeoutMs'));

  section('Logs');
  row(
    'exporters',
    c.logs.exporters.join(',') || 'none',
    src(
      'logs.exporters',
      `default (${c.exporters.includes('otlp') ? 'otlp, as traces go over OTLP' : 'none, as traces do not go over OTLP'})`,
    ),
  );
  row('console capture', String(c.logs.console), src('logs.console'));
  row('format', c.logs.format, src('logs.format'));
  if (c.logs.exporters.includes('otlp')) otlpRows(row, c.logs.otlp, env, c.sources, 'logs.', LOGS_HEADER_VARS);

  const width = Math.max(...rows.filter((r) => !r[0].startsWith('\u0000')).map((r) => r[0].length)) + 2;
  const valueWidth = Math.min(48, Math.max(...rows.map((r) => r[1].length)) + 2);
  rows.forEach(([label, value, source], i) => {
    if (label.startsWith('\u0000')) {
      if (i) out();
      out(`${label.slice(1)}:`);
      return;
    }
    const v = value.length >= valueWidth ? `${value}  ` : value.padEnd(valueWidth);
    out(`  ${label.padEnd(width)}${v}← ${source}`);
  });
}

function otlpRows(
  row: (label: string, value: string, source: string) => void,
  o: OtlpConfig,
  env: Env,
  sources: Record<string, string>,
  prefix: string,
  headerVars: string[],
): void {
  const src = (key: string, fallback = 'default') => sources[prefix + key] ?? fallback;
  const endpointSource =
    prefix && !sources['logs.endpoint']
      ? sources.endpoint
        ? `${sources.endpoint} (as traces)`
        : 'default'
      : src('endpoint');
  const protocolDefault = o.protocol === 'http/protobuf' ? "default (the endpoint's port is 4318)" : 'default';
  row(
    'protocol',
    o.protocol,
    src(
      'protocol',
      prefix
        ? sources.protocol
          ? `${sources.protocol} (as traces)`
          : `${protocolDefault === 'default' ? 'default' : protocolDefault} (as traces)`
        : protocolDefault,
    ),
  );
  row('endpoint', displayUrl(o.url), endpointSource);
  row(
    'transport',
    o.url.startsWith('https://')
      ? 'TLS (https://)'
      : o.protocol === 'grpc'
        ? 'plaintext gRPC (http://)'
        : 'plaintext HTTP (http://)',
    'from the endpoint scheme',
  );
  const keys = Object.keys(o.headers).sort();
  if (!keys.length) row('headers', '(none)', 'default');
  for (const key of keys) row('header', `${key}=<redacted>`, headerSource(env, headerVars, key));
  row('compression', o.compression, src('compression'));
  row('timeout', `${o.timeoutMs} ms`, src('timeoutMs'));
  row('CA certificate', o.certificateFile ?? '(system CAs)', src('certificate'));
  if (o.clientKeyFile || o.clientCertificateFile) {
    row('client key', o.clientKeyFile ?? '(none)', src('clientKey'));
    row('client certificate', o.clientCertificateFile ?? '(none)', src('clientCertificate'));
  }
}

/** Headers are merged key by key, later variables winning: report the variable whose value is used. */
function headerSource(env: Env, vars: string[], key: string): string {
  let winner = '';
  for (const name of vars) {
    const raw = env[name];
    if (raw && key in parsePairs(null, name, raw, true)) winner = name;
  }
  return winner || 'unknown';
}

function serviceNameSource(c: AgentConfig): string {
  if (c.sources.serviceName) return c.sources.serviceName;
  if (c.resourceAttributes['service.name'] === c.serviceName) return 'OTEL_RESOURCE_ATTRIBUTES';
  if (c.serviceName === 'unknown_service:node') return 'default (no package.json name found)';
  return "default (the app's package.json name)";
}

function offReason(env: Env): string {
  if (isTrue(env.OTEL_SDK_DISABLED))
    return 'tracing is off: OTEL_SDK_DISABLED=true forces it off whatever TRACES_ENABLE says';
  if (env.TRACES_ENABLE === undefined || !env.TRACES_ENABLE.trim()) return 'tracing is off: set TRACES_ENABLE=true';
  return `tracing is off: TRACES_ENABLE is not one of 1/true/yes/on; set TRACES_ENABLE=true`;
}

function probeProblem(signal: Signal, otlp: OtlpConfig, r: ProbeResult): string {
  return `the ${signal} endpoint ${describeTarget(otlp)} did not accept an export: ${r.summary}`;
}

function describeTarget(o: OtlpConfig): string {
  return `${displayUrl(o.url)} (${o.protocol})`;
}

/** URL with credentials and query values hidden: both can carry tokens. */
export function displayUrl(url: string): string {
  const q = url.indexOf('?');
  return redactUrl(q < 0 ? url : `${url.slice(0, q)}?<redacted>`);
}

function pairs(o: Record<string, string>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Whether the agent could append to the file: it creates it, so the directory must be writable. */
function checkWritable(path: string): string | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) return 'it is a directory';
    accessSync(st ? path : dirname(path), constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `the directory ${dirname(path)} does not exist`
      : code === 'EACCES'
        ? 'permission denied'
        : String(code ?? err);
  }
}

/**
 * Every value that must never be printed: header values, and user/password/query of the endpoint URLs. All
 * output goes through the redactor as a second line of defence behind the redaction above (error messages from a
 * server, a warning text).
 */
function collectSecrets(env: Env, c: AgentConfig): string[] {
  const found = new Set<string>();
  for (const h of [c.otlp.headers, c.logs.otlp.headers]) for (const v of Object.values(h)) found.add(v);
  for (const name of new Set([...TRACES_HEADER_VARS, ...LOGS_HEADER_VARS])) {
    const raw = env[name];
    if (raw) for (const v of Object.values(parsePairs(null, name, raw, true))) found.add(v);
  }
  for (const name of ENDPOINT_VARS) {
    const raw = env[name];
    if (!raw) continue;
    try {
      const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
      for (const s of [u.username, u.password, safeDecode(u.username), safeDecode(u.password)]) if (s) found.add(s);
      for (const v of u.searchParams.values()) found.add(v);
    } catch {
      // not a URL: readConfig already warned, without the value
    }
  }
  return [...found]; // the redactor leaves out values too short to replace safely (they are never printed anyway)
}
