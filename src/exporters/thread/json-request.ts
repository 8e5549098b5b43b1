// OTLP/JSON requests for the exporter thread (OTEL_EXPORTER_OTLP_PROTOCOL=http/json): the batch's protobuf request,
// put together from the app thread's records (request.ts), is transcoded here, off the app's thread, which so
// encodes one format whatever the protocol. Written by hand: OTLP/JSON is not protobuf's canonical JSON mapping,
// which protobufjs's toObject gives (OTLP wants trace and span ids in hex, not base64, and enums as numbers), and
// it needs no .proto files at run time. The schema is the OTLP trace and logs messages (opentelemetry-proto v1);
// fields it does not know are skipped.

type Scalar = 'string' | 'hex' | 'base64' | 'uint' | 'int64' | 'fixed32' | 'fixed64' | 'double' | 'bool';
interface Field {
  name: string;
  type: Scalar | Schema;
  repeated: boolean;
}
type Schema = Map<number, Field>;

const schema = (fields: [number, string, Scalar | Schema, 'repeated'?][]): Schema =>
  new Map(fields.map(([n, name, type, r]) => [n, { name, type, repeated: r === 'repeated' }]));

const ANY_VALUE: Schema = new Map();
const KEY_VALUE = schema([
  [1, 'key', 'string'],
  [2, 'value', ANY_VALUE],
]);
for (const [n, field] of schema([
  [1, 'stringValue', 'string'],
  [2, 'boolValue', 'bool'],
  [3, 'intValue', 'int64'],
  [4, 'doubleValue', 'double'],
  [5, 'arrayValue', schema([[1, 'values', ANY_VALUE, 'repeated']])],
  [6, 'kvlistValue', schema([[1, 'values', KEY_VALUE, 'repeated']])],
  [7, 'bytesValue', 'base64'],
]))
  ANY_VALUE.set(n, field);

const RESOURCE = schema([
  [1, 'attributes', KEY_VALUE, 'repeated'],
  [2, 'droppedAttributesCount', 'uint'],
]);
const SCOPE = schema([
  [1, 'name', 'string'],
  [2, 'version', 'string'],
  [3, 'attributes', KEY_VALUE, 'repeated'],
  [4, 'droppedAttributesCount', 'uint'],
]);
const SPAN = schema([
  [1, 'traceId', 'hex'],
  [2, 'spanId', 'hex'],
  [3, 'traceState', 'string'],
  [4, 'parentSpanId', 'hex'],
  [16, 'flags', 'fixed32'],
  [5, 'name', 'string'],
  [6, 'kind', 'uint'],
  [7, 'startTimeUnixNano', 'fixed64'],
  [8, 'endTimeUnixNano', 'fixed64'],
  [9, 'attributes', KEY_VALUE, 'repeated'],
  [10, 'droppedAttributesCount', 'uint'],
  [
    11,
    'events',
    schema([
      [1, 'timeUnixNano', 'fixed64'],
      [2, 'name', 'string'],
      [3, 'attributes', KEY_VALUE, 'repeated'],
      [4, 'droppedAttributesCount', 'uint'],
    ]),
    'repeated',
  ],
  [12, 'droppedEventsCount', 'uint'],
  [
    13,
    'links',
    schema([
      [1, 'traceId', 'hex'],
      [2, 'spanId', 'hex'],
      [3, 'traceState', 'string'],
      [4, 'attributes', KEY_VALUE, 'repeated'],
      [5, 'droppedAttributesCount', 'uint'],
      [6, 'flags', 'fixed32'],
    ]),
    'repeated',
  ],
  [14, 'droppedLinksCount', 'uint'],
  [
    15,
    'status',
    schema([
      [2, 'message', 'string'],
      [3, 'code', 'uint'],
    ]),
  ],
]);
const LOG_RECORD = schema([
  [1, 'timeUnixNano', 'fixed64'],
  [11, 'observedTimeUnixNano', 'fixed64'],
  [2, 'severityNumber', 'uint'],
  [3, 'severityText', 'string'],
  [5, 'body', ANY_VALUE],
  [6, 'attributes', KEY_VALUE, 'repeated'],
  [7, 'droppedAttributesCount', 'uint'],
  [8, 'flags', 'fixed32'],
  [9, 'traceId', 'hex'],
  [10, 'spanId', 'hex'],
  [12, 'eventName', 'string'],
]);
const request = (outer: string, inner: string, items: string, item: Schema): Schema =>
  schema([
    [
      1,
      outer,
      schema([
        [1, 'resource', RESOURCE],
        [
          2,
          inner,
          schema([
            [1, 'scope', SCOPE],
            [2, items, item, 'repeated'],
            [3, 'schemaUrl', 'string'],
          ]),
          'repeated',
        ],
        [3, 'schemaUrl', 'string'],
      ]),
      'repeated',
    ],
  ]);
const REQUESTS = {
  traces: request('resourceSpans', 'scopeSpans', 'spans', SPAN),
  logs: request('resourceLogs', 'scopeLogs', 'logRecords', LOG_RECORD),
};

/** The OTLP/JSON text of an Export{Trace,Logs}ServiceRequest given in protobuf. Throws on malformed input. */
export function otlpJsonRequest(signal: keyof typeof REQUESTS, protobuf: Uint8Array): Uint8Array {
  const buf = Buffer.from(protobuf.buffer, protobuf.byteOffset, protobuf.byteLength);
  return Buffer.from(JSON.stringify(new Reader(buf).message(REQUESTS[signal], buf.length)), 'utf8');
}

const TWO_32 = 4294967296;

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  message(fields: Schema, end: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.pos < end) {
      const tag = this.varint();
      const field = fields.get(Math.floor(tag / 8));
      const wire = tag & 7;
      if (field === undefined) {
        this.skip(wire);
        continue;
      }
      const value = this.value(field.type, wire);
      if (!field.repeated) out[field.name] = value;
      else if (Array.isArray(out[field.name])) (out[field.name] as unknown[]).push(value);
      else out[field.name] = [value];
    }
    if (this.pos !== end) throw new Error('OTLP protobuf: a field runs past its message');
    return out;
  }

  private value(type: Scalar | Schema, wire: number): unknown {
    const buf = this.buf;
    if (type instanceof Map) return this.message(type, this.end(wire, 2));
    switch (type) {
      case 'string':
      case 'hex':
      case 'base64': {
        const end = this.end(wire, 2);
        const start = this.pos;
        this.pos = end;
        return buf.toString(type === 'string' ? 'utf8' : type, start, end);
      }
      case 'uint':
        this.expect(wire, 0);
        return this.varint();
      case 'bool':
        this.expect(wire, 0);
        return this.varint() !== 0;
      case 'int64':
        this.expect(wire, 0);
        return this.int64();
      case 'fixed32':
        this.expect(wire, 5);
        return buf.readUInt32LE((this.pos += 4) - 4);
      case 'fixed64': {
        // Timestamps in nanoseconds, as strings (the library's JSON serializer writes them so: beyond 2^53).
        this.expect(wire, 1);
        const low = buf.readUInt32LE(this.pos);
        const high = buf.readUInt32LE(this.pos + 4);
        this.pos += 8;
        return high < 0x200000 ? String(high * TWO_32 + low) : ((BigInt(high) << 32n) | BigInt(low)).toString();
      }
      case 'double': {
        this.expect(wire, 1);
        const d = buf.readDoubleLE((this.pos += 8) - 8);
        return Number.isFinite(d) ? d : String(d); // proto3 JSON: "NaN", "Infinity", "-Infinity"
      }
    }
  }

  /** The end of a length-delimited field starting here. */
  private end(wire: number, expected: number): number {
    this.expect(wire, expected);
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.buf.length) throw new Error('OTLP protobuf: truncated');
    return end;
  }

  private expect(wire: number, expected: number): void {
    if (wire !== expected) throw new Error(`OTLP protobuf: wire type ${wire} where ${expected} was expected`);
  }

  /** An unsigned varint as a number (exact up to 2^53: counts, enums, tags, lengths). */
  private varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('OTLP protobuf: truncated');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  }

  /** A signed 64-bit varint: a number when exact, else its decimal string (proto3 JSON allows either). */
  private int64(): number | string {
    const start = this.pos;
    const unsigned = this.varint();
    if (unsigned <= Number.MAX_SAFE_INTEGER) return unsigned; // exact; a negative value reads as 2^63 or more
    this.pos = start;
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('OTLP protobuf: truncated');
      const b = this.buf[this.pos++]!;
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
    }
    const signed = BigInt.asIntN(64, value);
    const n = Number(signed);
    return Number.isSafeInteger(n) ? n : signed.toString();
  }

  private skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos = this.end(2, 2);
    else if (wire === 5) this.pos += 4;
    else throw new Error(`OTLP protobuf: wire type ${wire}`);
  }
}
