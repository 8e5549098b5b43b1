// The agent's OTLP encoder (src/exporters/otlp-encoder.ts) must write exactly the bytes of the library's
// ProtobufTraceSerializer / ProtobufLogsSerializer for any span or log record the SDKs can produce, on the first
// encoding and on later ones (which take its cached attribute encodings), and the gRPC and http/protobuf span and
// log exporters must actually use it.
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { encodeLogsExportRequest, encoderCacheSize, encodeTraceExportRequest } from '../src/exporters/otlp-encoder.js';
import { recordSpans, variedLogRecords, variedSpans } from './helpers/varied-spans.js';

describe('OTLP span encoder', () => {
  it('writes the same bytes as the library serializer, the first time and when its caches are warm', () => {
    const spans = variedSpans();
    // What the comparison covers (an empty batch would compare equal too).
    expect(spans).toHaveLength(305);
    expect(
      spans.some((s) => s.links.length && s.events.length === 2 && s.status.message && s.parentSpanContext?.isRemote),
    ).toBe(true);
    const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(expected.length).toBeGreaterThan(40_000);
    for (let round = 0; round < 3; round++) {
      expect(Buffer.from(encodeTraceExportRequest(spans)).equals(expected)).toBe(true);
    }
  });

  it('writes the same bytes for one span, for no span, and for a batch that outgrows its buffer', () => {
    const spans = variedSpans();
    for (const batch of [spans.slice(0, 1), [], spans.slice(-1), [...spans, ...spans, ...spans]]) {
      expect(
        Buffer.from(encodeTraceExportRequest(batch)).equals(
          Buffer.from(ProtobufTraceSerializer.serializeRequest(batch)!),
        ),
      ).toBe(true);
    }
  });

  it('keeps a returned request intact while later requests are encoded', () => {
    const spans = variedSpans();
    const first = encodeTraceExportRequest(spans);
    const copy = Buffer.from(first);
    encodeTraceExportRequest(spans.slice(0, 5));
    encodeTraceExportRequest([...spans, ...spans]);
    expect(Buffer.from(first).equals(copy)).toBe(true);
  });

  it('writes the same bytes when spans repeat their keys in order and the values change from span to span', () => {
    // The encoder's shortcuts: the key at each position of the last span, and the value each key had last.
    const long = 'x'.repeat(100); // too long to be cached
    const spans = recordSpans({ 'service.name': 'repeat' }, (provider) => {
      const tracer = provider.getTracer('t');
      for (let i = 0; i < 400; i++) {
        const attributes = {
          'http.request.method': i % 3 ? 'GET' : 'POST',
          'server.port': i % 4 ? 8080 : 8080.5,
          'url.path': i % 5 ? '/a' : long,
          'flag.set': i % 2 === 0,
          'list.value': i % 7 ? [1, 2] : ['a'],
        };
        // every sixth span sets them in another order, so that positions and keys disagree
        const ordered = i % 6 ? attributes : Object.fromEntries(Object.entries(attributes).reverse());
        tracer.startSpan(`s${i % 2}`, { attributes: ordered }).end();
      }
    });
    for (let round = 0; round < 3; round++) {
      for (const batch of [spans, spans.slice(1, 2), spans.slice(3)])
        expect(
          Buffer.from(encodeTraceExportRequest(batch)).equals(
            Buffer.from(ProtobufTraceSerializer.serializeRequest(batch)!),
          ),
        ).toBe(true);
    }
  });

  it('does not let endless distinct values grow its cache', () => {
    const spans = recordSpans({ 'service.name': 'growth' }, (provider) => {
      const tracer = provider.getTracer('t');
      for (let i = 0; i < 5000; i++)
        tracer.startSpan('s', { attributes: { [`key.${i}`]: `value-${i}`, 'same.key': `v-${i}` } }).end();
    });
    for (let i = 0; i < 3; i++) encodeTraceExportRequest(spans);
    expect(
      Buffer.from(encodeTraceExportRequest(spans)).equals(
        Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!),
      ),
    ).toBe(true);
    // 5,000 distinct keys and 5,000 values of one key: the cache keeps 256 keys and 32 values per key at most.
    const { keys, mostValuesOfOneKey } = encoderCacheSize();
    expect(keys).toBeLessThanOrEqual(256);
    expect(keys).toBeGreaterThan(10);
    expect(mostValuesOfOneKey).toBeLessThanOrEqual(32);
    expect(mostValuesOfOneKey).toBeGreaterThan(1);
  });

  it('writes the same log request bytes as the library serializer, cold and warm', () => {
    const records = variedLogRecords();
    expect(records).toHaveLength(416);
    expect(records.some((r) => r.eventName && r.body instanceof Uint8Array && r.spanContext?.traceId)).toBe(true);
    const expected = Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
    expect(expected.length).toBeGreaterThan(40_000);
    for (let round = 0; round < 3; round++) {
      expect(Buffer.from(encodeLogsExportRequest(records)).equals(expected)).toBe(true);
    }
    for (const batch of [records.slice(0, 1), [], records.slice(5, 9)]) {
      expect(
        Buffer.from(encodeLogsExportRequest(batch)).equals(
          Buffer.from(ProtobufLogsSerializer.serializeRequest(batch)!),
        ),
      ).toBe(true);
    }
  });
});
