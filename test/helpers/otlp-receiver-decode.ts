// Decoding of OTLP export requests (protobuf or OTLP/JSON) with protobufjs code generated from the official
// opentelemetry-proto definitions, and normalization into the Received* shapes. Both wire formats go through the
// same protobufjs message -> plain object path so gRPC, http/protobuf and http/json cannot drift.
//
// The schema is the protobufjs static module OpenTelemetry JS generated from opentelemetry-proto and published in
// @opentelemetry/otlp-transformer 0.210.0 (devDependency alias `otlp-proto-root`): a published package, so a fresh
// clone decodes with nothing beside it, and code independent of the agent's own one-pass encoder.

import otlpRoot from 'otlp-proto-root/build/src/generated/root.js';
import type { IConversionOptions } from 'protobufjs';
import type {
  Attributes,
  AttrValue,
  Headers,
  ReceivedLog,
  ReceivedScope,
  ReceivedSpan,
  ReceiverProtocol,
  ReceiverSignal,
} from './otlp-receiver-types.js';

/** One generated message class: the static counterparts of protobufjs reflection's Type methods. */
export interface GeneratedType {
  decode(bytes: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
  fromObject(object: Record<string, unknown>): object;
  toObject(message: object, options: IConversionOptions): object;
}

type Collector = Record<'trace' | 'logs' | 'metrics', { v1: Record<string, GeneratedType> }>;
const collector = (otlpRoot as unknown as { opentelemetry: { proto: { collector: Collector } } }).opentelemetry.proto
  .collector;

/** Request and (empty) response message of each signal's Export call. */
export const MESSAGES: Record<ReceiverSignal, { request: GeneratedType; response: GeneratedType }> = {
  traces: {
    request: collector.trace.v1.ExportTraceServiceRequest!,
    response: collector.trace.v1.ExportTraceServiceResponse!,
  },
  logs: {
    request: collector.logs.v1.ExportLogsServiceRequest!,
    response: collector.logs.v1.ExportLogsServiceResponse!,
  },
  metrics: {
    request: collector.metrics.v1.ExportMetricsServiceRequest!,
    response: collector.metrics.v1.ExportMetricsServiceResponse!,
  },
};

/** Top-level JSON field of each request; anything else (e.g. snake_case) would be silently dropped. */
const JSON_ROOT_FIELDS: Record<ReceiverSignal, string> = {
  traces: 'resourceSpans',
  logs: 'resourceLogs',
  metrics: 'resourceMetrics',
};

const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

export interface DecodedBatch {
  spans: ReceivedSpan[];
  logs: ReceivedLog[];
  metricCount: number;
  /** Non-fatal findings (malformed ids, unknown JSON fields): data is kept, but tests get told. */
  problems: string[];
}

// Plain-object view of protobufjs toObject() output with CONVERSION below (defaults on, so
// nested messages are null when absent and repeated fields are always arrays).
interface PAnyValue {
  value?: string; // oneof discriminator set by `oneofs: true`
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: PAnyValue[] } | null;
  kvlistValue?: { values: PKeyValue[] } | null;
  bytesValue?: Uint8Array;
  stringValueStrindex?: number;
}
interface PKeyValue {
  key: string;
  value: PAnyValue | null;
}
interface PResource {
  attributes: PKeyValue[];
}
interface PScope {
  name: string;
  version: string;
  attributes: PKeyValue[];
}
interface PEvent {
  name: string;
  timeUnixNano: string;
  attributes: PKeyValue[];
}
interface PLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  flags: number;
  attributes: PKeyValue[];
}
interface PSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: PKeyValue[];
  events: PEvent[];
  links: PLink[];
  status: { code: number; message: string } | null;
}
interface PLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: PAnyValue | null;
  attributes: PKeyValue[];
  eventName: string;
  flags: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
}
interface PTraceRequest {
  resourceSpans: { resource: PResource | null; scopeSpans: { scope: PScope | null; spans: PSpan[] }[] }[];
}
interface PLogsRequest {
  resourceLogs: {
    resource: PResource | null;
    scopeLogs: { scope: PScope | null; logRecords: PLogRecord[] }[];
  }[];
}
interface PMetricsRequest {
  resourceMetrics: { scopeMetrics: { metrics: unknown[] }[] }[];
}

const CONVERSION: IConversionOptions = {
  longs: String, // int64/fixed64 as decimal strings: nanosecond timestamps exceed 2^53
  enums: Number,
  defaults: true,
  arrays: true,
  oneofs: true,
};

export class OtlpDecoder {
  private readonly types: Record<ReceiverSignal, GeneratedType> = {
    traces: MESSAGES.traces.request,
    logs: MESSAGES.logs.request,
    metrics: MESSAGES.metrics.request,
  };

  /** Binary protobuf (gRPC and http/protobuf). Throws when the bytes are not a valid message. */
  decodeProtobuf(signal: ReceiverSignal, body: Uint8Array, protocol: ReceiverProtocol, headers: Headers): DecodedBatch {
    const message = this.types[signal].decode(body);
    return this.normalize(signal, message, protocol, headers, []);
  }

  /** OTLP/JSON: ids are hex (not base64 as in generic proto3 JSON); the rest is proto3 JSON. */
  decodeJson(signal: ReceiverSignal, text: string, headers: Headers): DecodedBatch {
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed)) throw new Error('OTLP/JSON body is not a JSON object');
    const problems: string[] = [];
    const unknownKeys = Object.keys(parsed).filter((k) => k !== JSON_ROOT_FIELDS[signal]);
    if (unknownKeys.length > 0) {
      problems.push(
        `unknown top-level OTLP/JSON field(s) ${unknownKeys.join(', ')} (expected ${JSON_ROOT_FIELDS[signal]})`,
      );
    }
    hexIdsToBytes(signal, parsed);
    const message = this.types[signal].fromObject(parsed);
    return this.normalize(signal, message, 'http/json', headers, problems);
  }

  private normalize(
    signal: ReceiverSignal,
    message: object,
    protocol: ReceiverProtocol,
    headers: Headers,
    problems: string[],
  ): DecodedBatch {
    const plain = this.types[signal].toObject(message, CONVERSION);
    const batch: DecodedBatch = { spans: [], logs: [], metricCount: 0, problems };
    if (signal === 'traces') {
      for (const rs of (plain as PTraceRequest).resourceSpans) {
        const resource = toAttributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          const scope = toScope(ss.scope);
          for (const s of ss.spans) batch.spans.push(toSpan(s, resource, scope, protocol, headers, problems));
        }
      }
    } else if (signal === 'logs') {
      for (const rl of (plain as PLogsRequest).resourceLogs) {
        const resource = toAttributes(rl.resource?.attributes);
        for (const sl of rl.scopeLogs) {
          const scope = toScope(sl.scope);
          for (const l of sl.logRecords) batch.logs.push(toLog(l, resource, scope, protocol, headers, problems));
        }
      }
    } else {
      for (const rm of (plain as PMetricsRequest).resourceMetrics) {
        for (const sm of rm.scopeMetrics) batch.metricCount += sm.metrics.length;
      }
    }
    return batch;
  }
}

function toSpan(
  s: PSpan,
  resource: Attributes,
  scope: ReceivedScope,
  protocol: ReceiverProtocol,
  headers: Headers,
  problems: string[],
): ReceivedSpan {
  const what = `span '${s.name}'`;
  checkId(problems, what, 'traceId', s.traceId, 16, false);
  checkId(problems, what, 'spanId', s.spanId, 8, false);
  checkId(problems, what, 'parentSpanId', s.parentSpanId, 8, true);
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    parentSpanId: hex(s.parentSpanId),
    name: s.name,
    kind: s.kind,
    kindName: KIND_NAMES[s.kind] ?? `UNKNOWN(${s.kind})`,
    startTimeUnixNano: BigInt(s.startTimeUnixNano),
    endTimeUnixNano: BigInt(s.endTimeUnixNano),
    attributes: toAttributes(s.attributes),
    events: s.events.map((e) => ({
      name: e.name,
      timeUnixNano: BigInt(e.timeUnixNano),
      attributes: toAttributes(e.attributes),
    })),
    links: s.links.map((l) => {
      checkId(problems, `${what} link`, 'traceId', l.traceId, 16, false);
      checkId(problems, `${what} link`, 'spanId', l.spanId, 8, false);
      return {
        traceId: hex(l.traceId),
        spanId: hex(l.spanId),
        traceState: l.traceState,
        flags: l.flags,
        attributes: toAttributes(l.attributes),
      };
    }),
    status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
    traceState: s.traceState,
    flags: s.flags,
    resource,
    scope,
    protocol,
    headers,
  };
}

function toLog(
  l: PLogRecord,
  resource: Attributes,
  scope: ReceivedScope,
  protocol: ReceiverProtocol,
  headers: Headers,
  problems: string[],
): ReceivedLog {
  const what = `log record '${l.severityText || l.severityNumber}'`;
  checkId(problems, what, 'traceId', l.traceId, 16, true);
  checkId(problems, what, 'spanId', l.spanId, 8, true);
  return {
    timeUnixNano: BigInt(l.timeUnixNano),
    observedTimeUnixNano: BigInt(l.observedTimeUnixNano),
    severityNumber: l.severityNumber,
    severityText: l.severityText,
    body: l.body ? unwrap(l.body) : null,
    attributes: toAttributes(l.attributes),
    eventName: l.eventName,
    flags: l.flags,
    traceId: hex(l.traceId),
    spanId: hex(l.spanId),
    resource,
    scope,
    protocol,
    headers,
  };
}

function toScope(scope: PScope | null): ReceivedScope {
  return { name: scope?.name ?? '', version: scope?.version ?? '', attributes: toAttributes(scope?.attributes) };
}

function toAttributes(kvs: PKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of kvs ?? []) out[kv.key] = kv.value ? unwrap(kv.value) : null;
  return out;
}

function unwrap(v: PAnyValue): AttrValue {
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return Number(v.intValue ?? 0);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(unwrap);
    case 'kvlistValue':
      return toAttributes(v.kvlistValue?.values);
    case 'bytesValue':
      return Uint8Array.from(v.bytesValue ?? []);
    default:
      return null; // empty AnyValue (or a profiles-only string table index)
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function checkId(
  problems: string[],
  what: string,
  field: string,
  id: Uint8Array,
  size: number,
  optional: boolean,
): void {
  if (optional && id.length === 0) return;
  if (id.length !== size) problems.push(`${what}: ${field} has ${id.length} bytes, expected ${size}`);
  else if (id.every((b) => b === 0)) problems.push(`${what}: ${field} is all zeros`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function records(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** Replaces OTLP/JSON hex ids by bytes in place, so protobufjs fromObject() does not read them as base64. */
function hexIdsToBytes(signal: ReceiverSignal, body: Record<string, unknown>): void {
  const convert = (obj: Record<string, unknown>, field: string, where: string) => {
    const v = obj[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) {
      throw new Error(`OTLP/JSON ${where}.${field} must be a hex string, got ${JSON.stringify(v)}`);
    }
    obj[field] = Buffer.from(v, 'hex');
  };
  if (signal === 'traces') {
    for (const rs of records(body.resourceSpans)) {
      for (const ss of records(rs.scopeSpans)) {
        for (const span of records(ss.spans)) {
          const where = `span '${String(span.name)}'`;
          for (const f of ['traceId', 'spanId', 'parentSpanId']) convert(span, f, where);
          for (const link of records(span.links))
            for (const f of ['traceId', 'spanId']) convert(link, f, `${where} link`);
        }
      }
    }
  } else if (signal === 'logs') {
    for (const rl of records(body.resourceLogs)) {
      for (const sl of records(rl.scopeLogs)) {
        for (const rec of records(sl.logRecords)) for (const f of ['traceId', 'spanId']) convert(rec, f, 'logRecord');
      }
    }
  }
}
