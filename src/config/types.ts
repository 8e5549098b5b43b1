// The agent's configuration, as the reader (index.ts) builds it from the environment.
export type { Env } from './env.js';

/** The signals the agent exports. */
export type Signal = 'traces' | 'logs';
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
  /**
   * Span processors from the app's own module (Ray Serve's ANYSCALE_TRACING_EXPORTER_IMPORT_PATH,
   * `<module>[:<function>]`): the module, resolved from the working directory, and the function returning them.
   */
  processorsFrom?: { module: string; exportName: string; variable: string };
  batch: BatchConfig;
  /** OTEL_SPAN_* / OTEL_ATTRIBUTE_* / OTEL_EVENT_* / OTEL_LINK_* limits (limits.ts). */
  spanLimits: SpanLimitsConfig;
  sampler: { name: SamplerName; ratio: number };
  propagators: PropagatorName[];
  logLevel: LogLevel;
  /** Short instrumentation names (`http`, `undici`, `express`…); `enabled` null means "the defaults". */
  instrumentations: { enabled: string[] | null; disabled: string[] };
  zmqPropagation: ZmqPropagation;
  shutdownTimeoutMs: number;
  /** TRACES_EXPORT_THREAD (default true): OTLP spans and logs are exported from a thread of their own (exporters/thread/). */
  exportThread: boolean;
  logs: LogsConfig;
  /** Which variable set each value that came from the environment (for `trace-agent doctor`). */
  sources: Record<string, string>;
}

/**
 * Which ZeroMQ sockets get the trace-context frame: all (true), none (false), or by endpoint: a socket whose endpoint
 * matches an `exclude` pattern gets none; with `include` patterns, only a socket matching one gets it.
 */
export type ZmqPropagation = boolean | { include: string[]; exclude: string[] };

export interface LogsConfig {
  /** Where log records go; empty (the default unless traces go over OTLP) means no logs pipeline at all. */
  exporters: LogExporterName[];
  /** Endpoint, protocol and headers for logs: defaults follow the traces OTLP settings. */
  otlp: OtlpConfig;
  batch: BatchConfig;
  /** OTEL_LOGRECORD_ATTRIBUTE_* / OTEL_ATTRIBUTE_* limits (limits.ts). */
  limits: RecordLimits;
  /** TRACES_CONSOLE_LOGS: console.log/info/warn/error/debug become log records. */
  console: boolean;
  /** TRACES_LOG_FORMAT: `jsonl` rewrites console output as one JSON object per line. */
  format: LogFormat;
}

/** A log record's attribute limits (sdk-logs' LogRecordLimits, every field set). */
export interface RecordLimits {
  /** Longer string values (and strings in arrays) are cut to this length; Infinity: no limit. */
  attributeValueLengthLimit: number;
  attributeCountLimit: number;
}

/** A span's limits (sdk-trace's SpanLimits, every field set). */
export interface SpanLimitsConfig extends RecordLimits {
  eventCountLimit: number;
  linkCountLimit: number;
  attributePerEventCountLimit: number;
  attributePerLinkCountLimit: number;
}

export interface BatchConfig {
  scheduledDelayMs: number;
  maxQueueSize: number;
  /**
   * maxQueueSize was set (OTEL_BSP/BLRP_MAX_QUEUE_SIZE): the exporter thread's hand-off then holds at most that many
   * items; unset, only its buffer's bytes bound it (exporters/thread/hand-off.ts).
   */
  maxQueueSizeSet: boolean;
  maxExportBatchSize: number;
  exportTimeoutMs: number;
}

export interface ConfigResult {
  config: AgentConfig;
  warnings: string[];
}

export const DEFAULT_GRPC_URL = 'http://localhost:4317';
export const DEFAULT_HTTP_BASE = 'http://localhost:4318';
