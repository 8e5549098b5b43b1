// The app's own spans (trace.getTracer in the app, as the slice API's) are exported with everything the app gave
// them: the agent starts them on its lean path (src/spans/lean-tracer.ts), as the SDK's tracer would have recorded
// them.
import { beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

describe("the app's own spans (trace.getTracer)", () => {
  it('carry their kind, parent, attributes, event, exception, status, name, times and links', async () => {
    const service = 'manual-spans';
    const app = h.start('manual-spans.mjs', {
      env: agentEnv(receiver, service),
    });
    const { made } = await app.waitForJson<{ made: number }>();
    expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
    const spans = await receiver.waitForSpans({ where: byService(service), count: made });
    expect(spans).toHaveLength(made);
    const named = (name: string) => spans.find((s) => s.name === name)!;
    const [parent, child, link, outer, root] = ['parent', 'child renamed', 'with link', 'outer', 'root anyway'].map(
      named,
    );
    for (const s of spans) expect(s.scope).toMatchObject({ name: 'manual-spans', version: '1.2.3' });

    expect(parent).toMatchObject({
      kindName: 'SERVER',
      parentSpanId: '',
      attributes: { 'start.attr': 'given at start' },
    });
    expect(child).toMatchObject({
      kindName: 'CLIENT',
      traceId: parent!.traceId,
      parentSpanId: parent!.spanId,
      attributes: { str: 'text', int: 42, float: 1.5, bool: false, list: ['a', 'b'], long: 'x'.repeat(50) },
      status: { code: 2, message: 'it failed' },
    });
    expect(child!.attributes.object).toEqual({ not: 'valid' }); // a map: an AnyValue, as sdk-trace 3 records it
    expect(child!.startTimeUnixNano).toBe(BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n);
    expect(child!.endTimeUnixNano).toBe(BigInt(Date.UTC(2026, 0, 1, 0, 0, 2)) * 1_000_000n);
    expect(child!.events.map((e) => e.name)).toEqual(['an event', 'exception']);
    expect(child!.events[0]).toMatchObject({
      timeUnixNano: BigInt(Date.UTC(2026, 0, 1, 0, 0, 1)) * 1_000_000n,
      attributes: { 'event.attr': 7 },
    });
    expect(child!.events[1]!.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'bad input',
    });

    expect(link!.links).toEqual([
      expect.objectContaining({ traceId: child!.traceId, spanId: child!.spanId, attributes: { 'link.attr': 'l' } }),
    ]);
    expect(root).toMatchObject({ parentSpanId: '' });
    expect(root!.traceId).not.toBe(outer!.traceId);
    expect(app.stderr).toEqual([]);
  });

  it('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and OTEL_SPAN_EVENT_COUNT_LIMIT bound them', async () => {
    const service = 'manual-spans-limits';
    const app = h.start('manual-spans.mjs', {
      env: agentEnv(receiver, service, {
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5',
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3',
        OTEL_ATTRIBUTE_COUNT_LIMIT: '100', // the span's own variable wins
        OTEL_SPAN_EVENT_COUNT_LIMIT: '1',
      }),
    });
    const { made } = await app.waitForJson<{ made: number }>();
    expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
    const spans = await receiver.waitForSpans({ where: byService(service), count: made });
    const parent = spans.find((s) => s.name === 'parent');
    const child = spans.find((s) => s.name === 'child renamed');
    expect(parent?.attributes).toEqual({ 'start.attr': 'given' });
    // The first three set, the rest dropped; the one event kept is the last (the SDK drops the oldest).
    expect(child?.attributes).toEqual({ str: 'text', int: 42, float: 1.5 });
    expect(child?.events.map((e) => e.name)).toEqual(['exception']);
    expect(child?.events[0]?.attributes).toMatchObject({ 'exception.message': 'bad i' });
    // The SDK's own notices, as its spans give them (each distinct warning once).
    expect(app.stderr).toEqual([
      '[@x/trace-agent] warn: Dropping extra attributes.',
      '[@x/trace-agent] warn: Dropped 1 events because eventCountLimit reached',
    ]);
  });
});
