// The exporter thread's inputs: spans encoded one by one on the app's thread, carried through the SharedArrayBuffer
// ring, and put together into a request there must give exactly the library serializer's bytes; the ring must hand
// over every record it accepted, in order, across wrap-arounds, and refuse (not overwrite) what does not fit.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { encodeResourceParts, encodeScopeParts, encodeSpanRecord } from '../src/exporters/otlp-encoder.js';
import { assembleRequest, type ScopedRecords } from '../src/exporters/thread/request.js';
import { createRingBuffer, KIND, RingReader, RingWriter } from '../src/exporters/thread/ring.js';
import { variedSpans } from './helpers/varied-spans.js';

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
        group.records.push(Buffer.from(encodeSpanRecord(span)));
      }
      const assembled = assembleRequest(encodeResourceParts(resource), byScope.values());
      expect(Buffer.from(assembled).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(ofResource)!))).toBe(
        true,
      );
    }
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
