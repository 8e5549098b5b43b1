// The exporter thread's inputs: spans encoded one by one on the app's thread, carried through the SharedArrayBuffer
// ring, and put together into a request there must give exactly the library serializer's bytes; the ring must hand
// over every record it accepted, in order, across wrap-arounds, and refuse (not overwrite) what does not fit.
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { encodeResourceParts, encodeScopeParts, encodeSpanRecord } from '../src/exporters/otlp-encoder.js';
import { otlpJsonRequest } from '../src/exporters/thread/json-request.js';
import { assembleRequest, type ScopedRecords } from '../src/exporters/thread/request.js';
import { createRingBuffer, KIND, RingReader, RingWriter } from '../src/exporters/thread/ring.js';
import { RingBatches } from '../src/exporters/thread/ring-batches.js';
import { OtlpDecoder } from './helpers/otlp-receiver-decode.js';
import { recordSpans, variedLogRecords, variedSpans } from './helpers/varied-spans.js';

describe('exporter thread request', () => {
  it('records encoded one by one and put together equal the library serializer’s request, per resource', () => {
    const spans = variedSpans();
    for (const resource of new Set(spans.map((s) => s.resource))) {
      const ofResource = spans.filter((s) => s.resource === resource);
      const byScope = new Map<ReadableSpan['instrumentationScope'], ScopedRecords>();
      for (const span of ofResource) {
        let group = byScope.get(span.instrumentationScope);
        if (!group)
          byScope.set(
            span.instrumentationScope,
            (group = { scope: encodeScopeParts(span.instrumentationScope), records: [] }),
          );
        const { bytes, length } = encodeSpanRecord(span);
        group.records.push(Buffer.from(bytes.subarray(0, length)));
      }
      const assembled = assembleRequest(encodeResourceParts(resource), byScope.values());
      expect(Buffer.from(assembled).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(ofResource)!))).toBe(
        true,
      );
    }
  });
});

describe('exporter thread request over http/json', () => {
  const decoder = new OtlpDecoder();
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

  // The same content as the protobuf request it comes from (decoded independently), and as the library's own JSON
  // request, compared as JSON text: the library writes NaN as null, where the transcoding keeps "NaN" (proto3 JSON).
  const asText = (batch: object) => JSON.stringify(batch, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

  it('a span request transcoded from protobuf carries what the protobuf does, as the library JSON serializer’s', () => {
    const spans = variedSpans();
    const protobuf = ProtobufTraceSerializer.serializeRequest(spans)!;
    const ours = text(otlpJsonRequest('traces', protobuf));
    const decoded = decoder.decodeJson('traces', ours, {});
    expect(decoded.problems).toEqual([]);
    expect(decoded.spans).toHaveLength(305);
    expect(decoded).toEqual(decoder.decodeProtobuf('traces', protobuf, 'http/json', {}));
    expect(asText(decoded)).toBe(
      asText(decoder.decodeJson('traces', text(JsonTraceSerializer.serializeRequest(spans)!), {})),
    );
    // The OTLP/JSON forms a collector expects: hex ids, nanosecond timestamps as strings, enums as numbers.
    const [span] = JSON.parse(ours).resourceSpans[0].scopeSpans[0].spans;
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(typeof span.kind).toBe('number');
  });

  it('a log request transcoded from protobuf carries what the protobuf does, as the library JSON serializer’s', () => {
    const records = variedLogRecords();
    const protobuf = ProtobufLogsSerializer.serializeRequest(records)!;
    const decoded = decoder.decodeJson('logs', text(otlpJsonRequest('logs', protobuf)), {});
    expect(decoded.problems).toEqual([]);
    expect(decoded.logs).toHaveLength(416);
    expect(decoded).toEqual(decoder.decodeProtobuf('logs', protobuf, 'http/json', {}));
    expect(asText(decoded)).toBe(
      asText(decoder.decodeJson('logs', text(JsonLogsSerializer.serializeRequest(records)!), {})),
    );
  });

  it('int64 values beyond 2^53 keep every digit (as strings), small ones stay numbers, NaN is named', () => {
    const spans = recordSpans({ 'service.name': 'json-numbers' }, (provider) => {
      provider
        .getTracer('numbers')
        .startSpan('numbers', {
          attributes: { big: 2 ** 60, negative: -5, huge_negative: -(2 ** 62), nan: Number.NaN },
        })
        .end();
    });
    const json = JSON.parse(text(otlpJsonRequest('traces', ProtobufTraceSerializer.serializeRequest(spans)!)));
    const attrs = Object.fromEntries(
      json.resourceSpans[0].scopeSpans[0].spans[0].attributes.map((a: { key: string; value: unknown }) => [
        a.key,
        a.value,
      ]),
    );
    expect(attrs).toEqual({
      big: { intValue: '1152921504606846976' },
      negative: { intValue: -5 },
      huge_negative: { intValue: '-4611686018427387904' },
      nan: { doubleValue: 'NaN' },
    });
  });

  it('malformed protobuf is refused with an error, not transcoded into something else', () => {
    expect(() => otlpJsonRequest('traces', Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/truncated|past/);
  });
});

describe('exporter thread ring', () => {
  const payload = (n: number, size: number) => Buffer.alloc(size, n % 251);

  it('hands over every accepted record in order, across many wrap-arounds', () => {
    const sab = createRingBuffer(1000);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 500; round++) {
      for (let k = 0; k < 3; k++) {
        const size = 1 + ((next * 37) % 200);
        if (writer.put(KIND.item, next % 65536, payload(next, size))) next++;
      }
      reader.take((kind, id, bytes) => {
        expect(kind).toBe(KIND.item);
        expect(bytes.length).toBe(1 + ((id * 37) % 200));
        expect(bytes.every((b) => b === id % 251)).toBe(true);
        got.push(id);
        return true;
      });
    }
    expect(next).toBeGreaterThan(1000);
    expect(got).toEqual([...Array(next).keys()]);
    expect(writer.used()).toBe(0);
  });

  it('refuses a record that does not fit, keeps what it has, and takes records again once read', () => {
    const sab = createRingBuffer(256);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    let accepted = 0;
    while (writer.put(KIND.item, accepted, payload(accepted, 50))) accepted++;
    expect(accepted).toBe(4); // 4 × 60 bytes of 256: a fifth would overwrite unread data
    expect(writer.put(KIND.item, 99, payload(99, 300))).toBe(false);
    const ids: number[] = [];
    reader.take((_k, id) => {
      ids.push(id);
      return true;
    });
    expect(ids).toEqual([0, 1, 2, 3]);
    expect(writer.put(KIND.item, 4, payload(4, 50))).toBe(true);
  });
});

describe('exporter thread batches', () => {
  const parts = { head: Buffer.from([0x0a, 0x00]), tail: Buffer.alloc(0) };
  const record = (n: number) => Buffer.alloc(40, n);
  const fill = (writer: RingWriter, from: number, count: number) => {
    for (let n = from; n < from + count; n++) expect(writer.put(KIND.item, 1, record(n))).toBe(true);
  };
  const whole = (items: { bytes: Uint8Array }[], from: number) =>
    items.every((item, i) => Buffer.from(item.bytes).equals(record(from + i)));

  // The same bytes in memory (Buffer.allocUnsafe gives small buffers as slices of one shared pool).
  const sameMemory = (a?: Uint8Array, b?: Uint8Array) => a?.buffer === b?.buffer && a?.byteOffset === b?.byteOffset;

  it('a batch and its request keep their bytes until exported(); then the next batch reuses their buffers', () => {
    const sab = createRingBuffer(64 * 1024);
    const writer = new RingWriter(sab);
    const batches = new RingBatches(sab, 10, { resource: parts, scopes: [[1, parts]] });
    fill(writer, 0, 30);
    const first = batches.take();
    const firstRequest = batches.serialize(first);
    const firstCopy = Buffer.from(firstRequest);
    // Not exported yet (a request in flight, or items kept for a send at exit): the next batch gets buffers of its own.
    const second = batches.take();
    const secondRequest = batches.serialize(second);
    expect(whole(first, 0) && whole(second, 10)).toBe(true);
    expect(Buffer.from(firstRequest).equals(firstCopy)).toBe(true);
    expect(sameMemory(second[0]?.bytes, first[0]?.bytes) || sameMemory(secondRequest, firstRequest)).toBe(false);
    batches.exported();
    const third = batches.take();
    const thirdRequest = batches.serialize(third);
    expect(whole(third, 20)).toBe(true);
    expect(sameMemory(third[0]?.bytes, first[0]?.bytes) && sameMemory(thirdRequest, firstRequest)).toBe(true);
    expect(whole(first, 0)).toBe(false); // overwritten: which is why only an ended export lets them go
  });
});
