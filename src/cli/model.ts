// The spans the CLI works on: OTLP spans normalised from whichever JSON dialect wrote them (our file exporter,
// the OpenTelemetry Collector's file exporter, protobuf's canonical JSON). Plain data, no OpenTelemetry import.

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

/** OTLP Span.SpanKind numbers. */
export const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
/** OTLP Status.StatusCode numbers. */
export const STATUS_UNSET = 0;
export const STATUS_OK = 1;
export const STATUS_ERROR = 2;

export interface Resource {
  serviceName: string;
  attributes: Attrs;
  /**
   * Where the spans ran: service, host and OS process. Spans of one place share clocks and threads; a parent in
   * another place is a remote parent (another process).
   */
  place: string;
  /** `process.pid` / `thread.id` resource attributes, when present. */
  pid?: number;
  threadId?: number;
}

export interface SpanEvent {
  timeNs: bigint;
  name: string;
  attributes: Attrs;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Attrs;
}

export interface Span {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  /** Index into KIND_NAMES. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  statusMessage: string;
  attributes: Attrs;
  events: SpanEvent[];
  links: SpanLink[];
  resource: Resource;
  /** Instrumentation scope name. */
  scope: string;
  /** 1-based line of the input file it came from. */
  line: number;
}

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? 'UNSPECIFIED';
}

export function durationNs(span: Span): bigint {
  return span.endNs > span.startNs ? span.endNs - span.startNs : 0n;
}

/** Milliseconds with microsecond precision, e.g. "12.345 ms". */
export function formatMs(ns: bigint): string {
  const us = Number(ns / 1000n);
  return `${(us / 1000).toFixed(3)} ms`;
}

/** Attribute value as short text for a terminal line. */
export function attrText(value: AttrValue, max = 60): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
