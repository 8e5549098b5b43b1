// The OTLP/JSON reader shared by `tree` and `perfetto`: the dialects it must accept, and what it rejects.
import { describe, expect, it } from 'vitest';
import {
  normAnyValue,
  normAttributes,
  normId,
  normKind,
  normNanos,
  normStatusCode,
  parseTraceText,
} from '../src/cli/otlp-json.js';
import { buildTraces } from '../src/cli/traces.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

describe('field normalisation', () => {
  it('ids: hex (any case), base64 (protobuf canonical JSON), byte arrays; zeros mean absent; junk is null', () => {
    expect(normId(TRACE.toUpperCase(), 16)).toBe(TRACE);
    expect(normId(Buffer.from(TRACE, 'hex').toString('base64'), 16)).toBe(TRACE);
    expect(normId(Buffer.from(SPAN, 'hex').toString('base64url'), 8)).toBe(SPAN);
    expect(normId([...Buffer.from(SPAN, 'hex')], 8)).toBe(SPAN);
    expect(normId({ type: 'Buffer', data: [...Buffer.from(SPAN, 'hex')] }, 8)).toBe(SPAN);
    expect(normId('0000000000000000', 8)).toBeUndefined();
    expect(normId('', 8)).toBeUndefined();
    expect(normId(undefined, 8)).toBeUndefined();
    expect(normId('xyz', 8)).toBeNull();
    expect(normId(SPAN, 16)).toBeNull();
  });

  it('int64 nanoseconds: decimal strings exactly, numbers, protobufjs Longs', () => {
    expect(normNanos('1795316440013123457')).toBe(1795316440013123457n);
    expect(normNanos(1700000000000)).toBe(1700000000000n);
    const v = 1795316440013123457n;
    expect(normNanos({ low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0 })).toBe(v);
    expect(normNanos('12.5')).toBeUndefined();
    expect(normNanos(-1)).toBeUndefined();
  });

  it('enums: numbers, numeric strings, full and short names, any case', () => {
    expect([normKind(2), normKind('2'), normKind('SPAN_KIND_SERVER'), normKind('server'), normKind('SERVER')]).toEqual([
      2, 2, 2, 2, 2,
    ]);
    expect([normKind('SPAN_KIND_CONSUMER'), normKind(9), normKind('nonsense'), normKind(undefined)]).toEqual([
      5, 0, 0, 0,
    ]);
    expect([
      normStatusCode('STATUS_CODE_ERROR'),
      normStatusCode(2),
      normStatusCode('OK'),
      normStatusCode(undefined),
    ]).toEqual([2, 2, 1, 0]);
  });

  it('AnyValue: every kind, int64 beyond 2^53 kept as text, snake_case keys, plain values', () => {
    expect(normAnyValue({ stringValue: 'a' })).toBe('a');
    expect(normAnyValue({ boolValue: true })).toBe(true);
    expect(normAnyValue({ intValue: '200' })).toBe(200);
    expect(normAnyValue({ intValue: 7 })).toBe(7);
    expect(normAnyValue({ intValue: '9007199254740993' })).toBe('9007199254740993');
    expect(normAnyValue({ doubleValue: 0.5 })).toBe(0.5);
    expect(normAnyValue({ doubleValue: 'NaN' })).toBe('NaN');
    expect(normAnyValue({ arrayValue: { values: [{ stringValue: 'x' }, { intValue: '1' }] } })).toEqual(['x', 1]);
    expect(normAnyValue({ kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } })).toEqual({
      k: false,
    });
    expect(normAnyValue({ bytesValue: 'AQI=' })).toBe('AQI=');
    expect(normAnyValue({ string_value: 'snake' })).toBe('snake');
    expect(normAnyValue({})).toBeNull();
    expect(normAttributes([{ key: 'a', value: { intValue: '1' } }, { nokey: true }])).toEqual({ a: 1 });
    expect(normAttributes({ plain: 'map' })).toEqual({ plain: 'map' });
  });
});

function request(
  spans: object[],
  resource: object = { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
) {
  return JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'lib' }, spans }] }] });
}

const span = (over: Record<string, unknown> = {}) => ({
  traceId: TRACE,
  spanId: SPAN,
  name: 'op',
  kind: 1,
  startTimeUnixNano: '1000000000',
  endTimeUnixNano: '3000000000',
  ...over,
});

describe('requests', () => {
  it('snake_case requests and the deprecated instrumentationLibrarySpans are read', () => {
    const snake = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'snake' } }] },
          instrumentation_library_spans: [
            {
              instrumentation_library: { name: 'old' },
              spans: [
                {
                  trace_id: TRACE,
                  span_id: SPAN,
                  name: 's',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '5',
                  end_time_unix_nano: '9',
                },
              ],
            },
          ],
        },
      ],
    });
    const { spans } = parseTraceText(snake);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ name: 's', kind: 3, startNs: 5n, endNs: 9n, scope: 'old' });
    expect(spans[0]!.resource.serviceName).toBe('snake');
  });

  it('spans without ids or start time are skipped and counted; duplicates are dropped', () => {
    const warnings: string[] = [];
    const text = [
      request([span(), span({ spanId: '' }), span({ spanId: '1111111111111111', startTimeUnixNano: undefined })]),
      request([span()]),
    ].join('\n');
    const { spans, stats } = parseTraceText(text, 'f', { warn: (m) => warnings.push(m) });
    expect(spans).toHaveLength(1);
    expect(stats).toMatchObject({ badSpans: 2, duplicateSpans: 1, requests: 2 });
    expect(warnings.join('\n')).toMatch(/skipped 2 span\(s\) without a valid traceId/);
    expect(warnings.join('\n')).toMatch(/1 duplicate span/);
  });

  it('an end before the start is clamped; parent "" (Collector roots) means no parent', () => {
    const { spans } = parseTraceText(request([span({ endTimeUnixNano: '10', parentSpanId: '' })]));
    expect(spans[0]!.endNs).toBe(spans[0]!.startNs);
    expect(spans[0]!.parentSpanId).toBeUndefined();
  });

  it('lines of logs and metrics are skipped and counted, an empty request {} is fine', () => {
    const text = [
      JSON.stringify({ resourceLogs: [] }),
      '{}',
      JSON.stringify({ resourceMetrics: [] }),
      request([span()]),
    ].join('\n');
    const { spans, stats } = parseTraceText(text);
    expect(spans).toHaveLength(1);
    expect(stats.otherSignals).toBe(2);
    expect(stats.requests).toBe(2);
  });

  it('a JSON array of requests on one line, and one pretty-printed document, are both read', () => {
    expect(parseTraceText(`[${request([span()])}]`).spans).toHaveLength(1);
    expect(parseTraceText(JSON.stringify(JSON.parse(request([span()])), null, 2)).spans).toHaveLength(1);
  });

  it('rejects JSON that is not OTLP, naming the line and what it looks like', () => {
    expect(() => parseTraceText(`${request([span()])}\n{"hello":1}`, 'f.jsonl')).toThrow(
      /f\.jsonl:2: JSON, but not an OTLP ExportTraceServiceRequest: no "resourceSpans" \(keys: hello\)/,
    );
    expect(() => parseTraceText('{"traceEvents":[]}', 'x')).toThrow(/Chrome trace-event file already/);
    expect(() => parseTraceText('{"data":[{"traceID":"a","spans":[]}]}', 'x')).toThrow(/Jaeger JSON/);
    expect(() => parseTraceText(`${request([span()])}\nnot json\n${request([span()])}`, 'f')).toThrow(
      /f:2: not JSON .*--skip-invalid/s,
    );
  });
});

describe('trees', () => {
  it('children sorted by start, orphans marked, parent cycles cut instead of looping', () => {
    const a = span({ spanId: 'aaaaaaaaaaaaaaaa', name: 'root' });
    const b = span({
      spanId: 'bbbbbbbbbbbbbbbb',
      parentSpanId: 'aaaaaaaaaaaaaaaa',
      name: 'late',
      startTimeUnixNano: '2000000000',
    });
    const c = span({
      spanId: 'cccccccccccccccc',
      parentSpanId: 'aaaaaaaaaaaaaaaa',
      name: 'early',
      startTimeUnixNano: '1500000000',
    });
    const o = span({ spanId: 'dddddddddddddddd', parentSpanId: '9999999999999999', name: 'orphan' });
    const x = span({
      spanId: 'eeeeeeeeeeeeeeee',
      parentSpanId: 'ffffffffffffffff',
      name: 'x',
      startTimeUnixNano: '1100000000',
    });
    const y = span({
      spanId: 'ffffffffffffffff',
      parentSpanId: 'eeeeeeeeeeeeeeee',
      name: 'y',
      startTimeUnixNano: '1200000000',
    });
    const [trace] = buildTraces(parseTraceText(request([b, o, a, c, y, x])).spans);
    expect(trace!.roots.map((r) => [r.span.name, r.orphan])).toEqual([
      ['orphan', true],
      ['root', false],
      ['x', true],
    ]);
    expect(trace!.roots[1]!.children.map((n) => n.span.name)).toEqual(['early', 'late']);
    expect(trace!.roots[2]!.children.map((n) => [n.span.name, n.depth])).toEqual([['y', 1]]);
  });
});
