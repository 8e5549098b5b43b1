// OTLP/protobuf encoding of ExportTraceServiceRequest and ExportLogsServiceRequest, byte for byte what
// @opentelemetry/otlp-transformer's ProtobufTraceSerializer and ProtobufLogsSerializer write
// (test/otlp-encoder.test.ts compares them on varied spans and log records).
//
// Written by hand because the library's serializer costs about 6 µs per typical HTTP span here: it walks every
// span twice (a size-estimating pass, then the writing pass) through polymorphic writer objects, copies ids through
// a fresh Uint8Array each, and writes strings through a generic per-character method. In an agent that exports
// every request that was the largest single cost on the request path (~17% of the process's CPU under load). This
// one makes one pass over a reused scratch buffer with the cursor in a local, fast paths for short ASCII strings
// and hex ids, and caches the encoding of attribute keys, which repeat on every span.

import type { SpanContext } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Diag } from '../diag.js';
import type { Signal } from './otlp-wire.js';

type Attributes = Record<string, unknown>;
interface Resource {
  attributes?: Attributes;
  schemaUrl?: string;
}
interface Scope {
  name: string;
  version?: string;
  schemaUrl?: string;
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/**
 * Whole encoded attributes (length, key, value) for the pairs that repeat span after span: method, scheme,
 * addresses, user agent, status code, port, messaging system... Strings, integers and booleans are kept. Bounded
 * in keys, values per key and string length, so odd or unique values (ids, paths with ids in them, ephemeral
 * ports) cannot grow it: they are simply encoded each time.
 */
type CachedValue = string | number | boolean;
interface KnownKey {
  key: Buffer;
  values: Map<CachedValue, Buffer>;
  /** The cached value this key had last, and its encoding (an entry of `values`). */
  lastValue: CachedValue | undefined;
  lastBytes: Buffer | undefined;
}
const keyCache = new Map<string, KnownKey>();
const KEY_CACHE_LIMIT = 256;
const VALUES_PER_KEY = 32;
const CACHED_VALUE_LENGTH = 64;

// Each request gets a fresh buffer (the transport may still hold the previous one), sized from the last request so
// that it rarely has to grow; allocUnsafe does not zero it, and nothing is copied out at the end.
let buf = Buffer.allocUnsafe(0);
let pos = 0;
let lastSize = 64 * 1024;

export function encodeTraceExportRequest(spans: readonly ReadableSpan[]): Uint8Array {
  return encodeRequest(spans, writeSpan);
}

export function encodeLogsExportRequest(records: readonly ReadableLogRecord[]): Uint8Array {
  return encodeRequest(records, writeLogRecord);
}

/**
 * Puts the agent's encoder (the same bytes, about a third of the CPU) in place of the library's
 * protobuf serializer inside an official span or log exporter, keeping its transport, retries and response
 * handling. The exporters offer no option for it, so this replaces a private field after checking that it holds
 * exactly the library serializer; if a future version is shaped differently, the library's own serializer stays
 * (slower, same result). test/otlp-encoder.test.ts fails if the replacement stops happening.
 */
export function withFastEncoding<T>(
  exporter: T,
  diag: Diag,
  signal: Signal = 'traces',
  serialize?: (items: never[]) => Uint8Array,
): T {
  const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const library = signal === 'traces' ? transformer.ProtobufTraceSerializer : transformer.ProtobufLogsSerializer;
  const delegate = (exporter as { _delegate?: { _serializer?: unknown } })._delegate;
  if (delegate?._serializer === library) {
    delegate._serializer = {
      serializeRequest: serialize ?? (signal === 'traces' ? encodeTraceExportRequest : encodeLogsExportRequest),
      deserializeResponse: library.deserializeResponse,
    };
  } else if (serialize) {
    throw new Error(`the OTLP ${signal} exporter is shaped differently than expected; cannot export from a thread`);
  } else {
    diag.debug(`OTLP ${signal} exporter: unexpected shape, keeping the library serializer`);
  }
  return exporter;
}

interface Item {
  resource: Resource;
  instrumentationScope: Scope;
}

/** Resource{Spans,Logs} > Scope{Spans,Logs} > items: the two requests have the same outer shape and field numbers. */
function encodeRequest<T extends Item>(items: readonly T[], writeItem: (item: T) => void): Uint8Array {
  buf = Buffer.allocUnsafe(lastSize + (lastSize >>> 3));
  pos = 0;
  for (const [resource, scopes] of groupByResourceAndScope(items)) {
    tag(1, 2);
    const start = openMessage(3);
    writeResource(resource);
    for (const scoped of scopes.values()) {
      tag(2, 2);
      writeScope(scoped[0]!.instrumentationScope, scoped, writeItem);
    }
    if (resource.schemaUrl) {
      tag(3, 2);
      string(resource.schemaUrl);
    }
    closeMessage(start, 3);
  }
  lastSize = Math.max(pos, 4096);
  return buf.subarray(0, pos);
}

/** For tests: how many attribute keys and encoded pairs the cache holds. */
export function encoderCacheSize(): { keys: number; mostValuesOfOneKey: number } {
  let most = 0;
  for (const known of keyCache.values()) most = Math.max(most, known.values.size);
  return { keys: keyCache.size, mostValuesOfOneKey: most };
}

function groupByResourceAndScope<T extends Item>(items: readonly T[]): Map<Resource, Map<Scope, T[]>> {
  const byResource = new Map<Resource, Map<Scope, T[]>>();
  for (const item of items) {
    let byScope = byResource.get(item.resource);
    if (!byScope) byResource.set(item.resource, (byScope = new Map()));
    const list = byScope.get(item.instrumentationScope);
    if (list) list.push(item);
    else byScope.set(item.instrumentationScope, [item]);
  }
  return byResource;
}

function writeResource(resource: Resource): void {
  tag(1, 2);
  const start = openMessage(2);
  if (resource.attributes) attributes(resource.attributes, 1);
  tag(2, 0);
  varint(0);
  closeMessage(start, 2);
}

function writeScope<T>(scope: Scope, items: T[], writeItem: (item: T) => void): void {
  const start = openMessage(3);
  writeScopeHead(scope);
  for (let i = 0; i < items.length; i++) {
    tag(2, 2);
    writeItem(items[i]!);
  }
  writeScopeTail(scope);
  closeMessage(start, 3);
}

/** Scope{Spans,Logs} field 1, the InstrumentationScope. */
function writeScopeHead(scope: Scope): void {
  tag(1, 2);
  const scopeStart = openMessage(1);
  tag(1, 2);
  string(scope.name);
  if (scope.version) {
    tag(2, 2);
    string(scope.version);
  }
  if (scope.attributes) attributes(scope.attributes, 3);
  if (scope.droppedAttributesCount) {
    tag(4, 0);
    varint(scope.droppedAttributesCount);
  }
  closeMessage(scopeStart, 1);
}

/** Scope{Spans,Logs} field 3, the schema URL. */
function writeScopeTail(scope: Scope): void {
  if (scope.schemaUrl) {
    tag(3, 2);
    string(scope.schemaUrl);
  }
}

/**
 * The pieces of a request, encoded one by one where items are made, for the exporter thread to put together
 * (exporters/thread/request.ts): a Resource{Spans,Logs} or Scope{Spans,Logs} message is `head`, its items, `tail`.
 */
export interface MessageParts {
  head: Uint8Array;
  tail: Uint8Array;
}

/**
 * A record just encoded: the first `length` bytes of `bytes`, valid until the next call. One object, reused, so that
 * encoding a span allocates nothing at all (with the hand-off's and the id pool's allocations, the app's young
 * generation grew from the 8 MiB recording alone needs to 16 in half the runs of bench/memory.mjs).
 */
export interface EncodedRecord {
  bytes: Buffer;
  length: number;
}

/** One span as ScopeSpans field 2 (tag, length, Span). */
export function encodeSpanRecord(span: ReadableSpan): EncodedRecord {
  buf = scratch;
  pos = 0;
  tag(2, 2);
  writeSpan(span);
  return encoded();
}

/** One log record as ScopeLogs field 2 (tag, length, LogRecord). */
export function encodeLogRecordRecord(record: ReadableLogRecord): EncodedRecord {
  buf = scratch;
  pos = 0;
  tag(2, 2);
  writeLogRecord(record);
  return encoded();
}

export function encodeScopeParts(scope: Scope): MessageParts {
  return {
    head: Buffer.from(encodeInScratch(() => writeScopeHead(scope))),
    tail: Buffer.from(encodeInScratch(() => writeScopeTail(scope))),
  };
}

export function encodeResourceParts(resource: Resource): MessageParts {
  return {
    head: Buffer.from(encodeInScratch(() => writeResource(resource))),
    tail: Buffer.from(
      encodeInScratch(() => {
        if (resource.schemaUrl) {
          tag(3, 2);
          string(resource.schemaUrl);
        }
      }),
    ),
  };
}

// One buffer reused for every record (its bytes are copied out at once), so encoding a span allocates nothing.
let scratch = Buffer.allocUnsafe(4096);
const lastRecord: EncodedRecord = { bytes: scratch, length: 0 };

function encoded(): EncodedRecord {
  scratch = buf; // grown, if the record needed more
  lastRecord.bytes = buf;
  lastRecord.length = pos;
  return lastRecord;
}

function encodeInScratch(write: () => void): Uint8Array {
  buf = scratch;
  pos = 0;
  write();
  scratch = buf; // grown, if a record needed more
  return buf.subarray(0, pos);
}

function writeSpan(span: ReadableSpan): void {
  const start = openMessage(2);
  const ctx = span.spanContext();
  writeIds(ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    tag(4, 2);
    hexId(parent.spanId);
  }
  tag(5, 2);
  string(span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    tag(6, 0);
    varint(kind);
  }
  tag(7, 1);
  hrTime(span.startTime);
  tag(8, 1);
  hrTime(span.endTime);
  if (span.attributes) attributes(span.attributes, 9);
  tag(10, 0);
  varint(span.droppedAttributesCount);
  // Indexed loops: for-of allocated an array iterator for each (~80 bytes a span, sampled heap profile).
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    tag(11, 2);
    const eventStart = openMessage(1);
    tag(1, 1);
    hrTime(event.time);
    tag(2, 2);
    string(event.name);
    if (event.attributes) attributes(event.attributes, 3);
    tag(4, 0);
    varint(event.droppedAttributesCount || 0);
    closeMessage(eventStart, 1);
  }
  tag(12, 0);
  varint(span.droppedEventsCount);
  const links = span.links;
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!;
    tag(13, 2);
    const linkStart = openMessage(1);
    const linked = link.context;
    writeIds(linked);
    if (link.attributes) attributes(link.attributes, 4);
    tag(5, 0);
    varint(link.droppedAttributesCount || 0);
    tag(6, 5);
    fixed32(spanFlags(linked.traceFlags, linked.isRemote));
    closeMessage(linkStart, 1);
  }
  tag(14, 0);
  varint(span.droppedLinksCount);
  tag(15, 2);
  const statusStart = openMessage(1);
  if (span.status.message) {
    tag(2, 2);
    string(span.status.message);
  }
  tag(3, 0);
  varint(span.status.code);
  closeMessage(statusStart, 1);
  tag(16, 5);
  fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
  closeMessage(start, 2);
}

/** LogRecord, fields in the order the library writes them. */
function writeLogRecord(record: ReadableLogRecord): void {
  const start = openMessage(2);
  tag(1, 1);
  hrTime(record.hrTime);
  if (record.severityNumber !== undefined && record.severityNumber !== 0) {
    tag(2, 0);
    varint(record.severityNumber);
  }
  if (record.severityText) {
    tag(3, 2);
    string(record.severityText);
  }
  if (record.body !== undefined) {
    tag(5, 2);
    const bodyStart = openMessage(1);
    anyValue(record.body);
    closeMessage(bodyStart, 1);
  }
  if (record.attributes) attributes(record.attributes, 6);
  tag(7, 0);
  varint(record.droppedAttributesCount);
  const sc = record.spanContext;
  if (sc?.traceFlags) {
    tag(8, 5);
    fixed32(sc.traceFlags);
  }
  if (sc?.traceId) {
    tag(9, 2);
    hexId(sc.traceId);
  }
  if (sc?.spanId) {
    tag(10, 2);
    hexId(sc.spanId);
  }
  tag(11, 1);
  hrTime(record.hrTimeObserved);
  if (record.eventName) {
    tag(12, 2);
    string(record.eventName);
  }
  closeMessage(start, 2);
}

/** trace_id, span_id and trace_state: fields 1–3 of both Span and Span.Link. */
function writeIds(ctx: SpanContext): void {
  tag(1, 2);
  hexId(ctx.traceId);
  tag(2, 2);
  hexId(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    tag(3, 2);
    string(traceState);
  }
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

// The keys met at each position of the last attributes encoded, and their cache entries: spans of one kind set
// their attributes in the same order, so an identity compare mostly replaces the keyCache lookup (a string hash
// lookup per attribute).
const recentKeys: string[] = [];
const recentKnown: (KnownKey | undefined)[] = [];

function attributes(attrs: Attributes, field: number): void {
  let i = 0;
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const value = attrs[key];
    let known: KnownKey | undefined;
    if (recentKeys[i] === key) known = recentKnown[i];
    else {
      known = keyCache.get(key);
      if (known === undefined && keyCache.size < KEY_CACHE_LIMIT) keyCache.set(key, (known = newKnownKey(key)));
      if (i < 32) {
        recentKeys[i] = key;
        recentKnown[i] = known;
      }
    }
    i++;
    tag(field, 2);
    if (known?.lastBytes !== undefined && value === known.lastValue) {
      copy(known.lastBytes); // the value the last span had: no lookup at all
      continue;
    }
    const values = known !== undefined && isCacheable(value) ? known.values : undefined;
    const cached = values?.get(value as CachedValue);
    if (cached !== undefined) {
      known!.lastValue = value as CachedValue;
      known!.lastBytes = cached;
      copy(cached);
      continue;
    }
    const start = pos;
    const kvStart = openMessage(1);
    if (known !== undefined) copy(known.key);
    else {
      tag(1, 2);
      string(key);
    }
    tag(2, 2);
    const valueStart = openMessage(1);
    anyValue(value);
    closeMessage(valueStart, 1);
    closeMessage(kvStart, 1);
    if (values !== undefined && values.size < VALUES_PER_KEY)
      values.set(value as CachedValue, Buffer.from(buf.subarray(start, pos)));
  }
}

/** Short strings, integers (one encoding for 0 and -0, as Map keys are the same) and booleans. */
function isCacheable(value: unknown): value is CachedValue {
  switch (typeof value) {
    case 'string':
      return value.length <= CACHED_VALUE_LENGTH;
    case 'number':
      return Number.isInteger(value);
    case 'boolean':
      return true;
    default:
      return false;
  }
}

/** The `key` field of a KeyValue (tag, length, bytes), encoded once. */
function newKnownKey(key: string): KnownKey {
  const bytes = Buffer.byteLength(key, 'utf8');
  const length: number[] = [];
  for (let v = bytes; ; v >>>= 7) {
    if (v <= 127) {
      length.push(v);
      break;
    }
    length.push((v & 127) | 128);
  }
  return {
    key: Buffer.concat([Buffer.from([(1 << 3) | 2, ...length]), Buffer.from(key, 'utf8')]),
    values: new Map(),
    lastValue: undefined,
    lastBytes: undefined,
  };
}

function copy(bytes: Buffer): void {
  const length = bytes.length;
  ensure(length);
  // TypedArray#set even for a few bytes: ~22 ns for 20–48 bytes on Node 24, where a byte loop took 45–80 ns.
  buf.set(bytes, pos);
  pos += length;
}

function anyValue(value: unknown): void {
  const type = typeof value;
  if (type === 'string') {
    tag(1, 2);
    string(value as string);
  } else if (type === 'boolean') {
    tag(2, 0);
    varint(value ? 1 : 0);
  } else if (type === 'number') {
    const n = value as number;
    if (Number.isInteger(n) && n >= MIN_INT64 && n < MAX_INT64) {
      tag(3, 0);
      varint(n);
    } else {
      tag(4, 1);
      ensure(8);
      buf.writeDoubleLE(n, pos);
      pos += 8;
    }
  } else if (value instanceof Uint8Array) {
    tag(7, 2);
    varint(value.length);
    ensure(value.length);
    buf.set(value, pos);
    pos += value.length;
  } else if (Array.isArray(value)) {
    tag(5, 2);
    const start = openMessage(1);
    for (const item of value) {
      tag(1, 2);
      const itemStart = openMessage(1);
      anyValue(item);
      closeMessage(itemStart, 1);
    }
    closeMessage(start, 1);
  } else if (type === 'object' && value !== null) {
    tag(6, 2);
    const start = openMessage(1);
    attributes(value as Attributes, 1); // KeyValueList: repeated KeyValue, field 1
    closeMessage(start, 1);
  }
}

// --- primitives: the cursor is `pos` in the module-level `buf` ---

function ensure(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + bytes) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

function tag(field: number, wireType: number): void {
  const value = (field << 3) | wireType;
  if (value > 127) return varint(value);
  ensure(1);
  buf[pos++] = value;
}

/** Unsigned and signed (two's complement, 10 bytes) varints of any safe integer, as protobuf int64 encodes them. */
function varint(value: number): void {
  ensure(10);
  if (value >= 0 && value <= 0xffffffff) {
    let v = value >>> 0;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    return;
  }
  const abs = Math.abs(value);
  let low = abs >>> 0;
  let high = (abs / 4294967296) >>> 0;
  if (value < 0) {
    low = ~low >>> 0;
    high = ~high >>> 0;
    low = (low + 1) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
  }
  while (high > 0 || low > 127) {
    buf[pos++] = (low & 127) | 128;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  buf[pos++] = low & 127;
}

function fixed32(value: number): void {
  ensure(4);
  uint32(value >>> 0);
}

function uint32(v: number): void {
  buf[pos++] = v & 0xff;
  buf[pos++] = (v >>> 8) & 0xff;
  buf[pos++] = (v >>> 16) & 0xff;
  buf[pos++] = v >>> 24;
}

/** [seconds, nanoseconds] as fixed64 nanoseconds, without going through a float that would lose precision. */
function hrTime(time: readonly [number, number]): void {
  const seconds = time[0];
  const nanos = time[1];
  const lowSeconds = (seconds & 0xffff) * 1e9;
  const highSeconds = ((seconds / 0x10000) >>> 0) * 1e9;
  const lowPart = lowSeconds >>> 0;
  const lowCarry = Math.floor(lowSeconds / 4294967296);
  const highPartLow = ((highSeconds & 0xffff) * 0x10000) >>> 0;
  const highPartHigh = (highSeconds / 0x10000) >>> 0;
  const low = lowPart + highPartLow + nanos;
  ensure(8);
  uint32(low >>> 0);
  uint32((lowCarry + highPartHigh + Math.floor(low / 4294967296)) >>> 0);
}

/** A length-delimited field's value from an id in hex (the SDK's form); same digit decoding as the library's. */
function hexId(hex: string): void {
  const length = hex.length >>> 1;
  ensure(length + 1);
  buf[pos++] = length;
  for (let i = 0; i < hex.length; i += 2)
    buf[pos++] = (HEX[hex.charCodeAt(i) & 0x7f] << 4) | HEX[hex.charCodeAt(i + 1) & 0x7f];
}

/** Nibble by character code (the SDK only makes ids of valid hex; others decode as the library's would, within ASCII). */
const HEX = Uint8Array.from({ length: 128 }, (_, code) =>
  code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : code - 55,
);

/** A length-delimited UTF-8 string; short ASCII strings are copied in one pass, the rest by Buffer#utf8Write. */
function string(value: string): void {
  const length = value.length;
  if (length < 128) {
    ensure(length + 1);
    let p = pos + 1;
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 127) break;
      buf[p++] = code;
    }
    if (i === length) {
      buf[pos] = length;
      pos = p;
      return;
    }
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  varint(bytes);
  ensure(bytes);
  pos += buf.write(value, pos, bytes, 'utf8');
}

/** Reserves `reserved` bytes for a message's length; closeMessage writes it and moves the body if it needs more or fewer. */
function openMessage(reserved: number): number {
  ensure(reserved);
  pos += reserved;
  return pos - reserved;
}

function closeMessage(start: number, reserved: number): void {
  const length = pos - start - reserved;
  const size = length < 128 ? 1 : length < 16384 ? 2 : length < 2097152 ? 3 : length < 268435456 ? 4 : 5;
  if (size !== reserved) {
    ensure(size - reserved);
    buf.copyWithin(start + size, start + reserved, pos);
    pos += size - reserved;
  }
  let v = length;
  let p = start;
  while (v > 127) {
    buf[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[p] = v;
}
