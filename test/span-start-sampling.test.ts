// The instrumentations' span start (src/spans/span-start.ts) decides sampling itself for
// requests the sampler drops, and hands the sampled trace id to the SDK for the others: the outcome must be the
// one the SDK's Tracer alone gives — same sampling rate, same ids and flags, parent-based decisions honoured —
// and the id generator (src/spans/id-generator.ts) must produce valid, distinct ids.
import { type Context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { PooledIdGenerator, xoshiro128 } from '../src/spans/id-generator.js';
import { ParentBasedSampler as AgentParentBased, validParentOf } from '../src/spans/parent-based.js';
import { RatioSampler } from '../src/spans/ratio-sampler.js';
import { fastStartSpan } from '../src/spans/span-start.js';

function setup(sampler: Sampler) {
  const ids = new PooledIdGenerator();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    sampler,
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('t');
  const start = fastStartSpan({ sampler, ids });
  return { ids, tracer, start: (parent: Context = ROOT_CONTEXT) => start(tracer, 'GET', SpanKind.SERVER, parent) };
}

const remoteParent = (flags: TraceFlags) =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: flags,
    isRemote: true,
  });

describe('PooledIdGenerator', () => {
  it('gives valid, distinct hex ids across pool refills', () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const t = ids.generateTraceId();
      const s = ids.generateSpanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(trace.isSpanContextValid({ traceId: t, spanId: s, traceFlags: 0 })).toBe(true);
      seen.add(t);
      seen.add(s);
    }
    expect(seen.size).toBe(6000);
  });

  it('fills its pool with xoshiro128** (the reference output), uniform hex in every position, each generator its own', () => {
    const out = new Uint32Array(10);
    xoshiro128(Uint32Array.of(1, 2, 3, 4), out);
    // The reference implementation's first outputs from the state {1, 2, 3, 4} (C, Blackman and Vigna).
    expect([...out]).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
    const ids = new PooledIdGenerator();
    const n = 16_000;
    const counts = Array.from({ length: 32 }, () => new Array<number>(16).fill(0));
    for (let i = 0; i < n; i++) {
      const id = ids.generateTraceId();
      for (let p = 0; p < 32; p++) counts[p]![Number.parseInt(id[p]!, 16)]!++;
    }
    // n/16 = 1000 expected per digit and position, sd ~31: within 6 sd everywhere.
    for (const row of counts) for (const c of row) expect(Math.abs(c - n / 16)).toBeLessThan(190);
    expect(new PooledIdGenerator().generateTraceId()).not.toBe(new PooledIdGenerator().generateTraceId());
  });

  it('returns a preset trace id once, then random ones again', () => {
    const ids = new PooledIdGenerator();
    ids.presetTraceId('0af7651916cd43dd8448eb211c80319c');
    expect(ids.generateTraceId()).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(ids.generateTraceId()).not.toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('fastStartSpan', () => {
  it('keeps the configured ratio (the SDK re-samples the very same trace id, so decisions are not compounded)', () => {
    const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) });
    const { start } = setup(sampler);
    let recorded = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const span = start();
      const sc = span.spanContext();
      expect(trace.isSpanContextValid(sc)).toBe(true);
      // Every span's flags are what the sampler says for its own trace id.
      const decision = sampler.shouldSample(ROOT_CONTEXT, sc.traceId, 'GET', SpanKind.SERVER, {}, []).decision;
      expect(span.isRecording()).toBe(decision !== SamplingDecision.NOT_RECORD);
      expect(sc.traceFlags).toBe(
        decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
      );
      if (span.isRecording()) recorded++;
      span.end();
    }
    expect(recorded / n).toBeGreaterThan(0.44);
    expect(recorded / n).toBeLessThan(0.56);
  });

  it('honours the parent: a sampled remote parent is continued and recorded, an unsampled one is not', () => {
    const { start } = setup(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    const child = start(remoteParent(TraceFlags.SAMPLED));
    expect(child.isRecording()).toBe(true);
    expect(child.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const unsampled = start(remoteParent(TraceFlags.NONE));
    expect(unsampled.isRecording()).toBe(false);
    expect(unsampled.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(unsampled.spanContext().spanId).not.toBe('00f067aa0ba902b7');
    expect(unsampled.spanContext().traceFlags).toBe(TraceFlags.NONE);
  });

  it('never leaves a handed-over trace id for an unrelated span', () => {
    const { start, tracer } = setup(new AlwaysOnSampler());
    const a = start();
    const b = tracer.startSpan('unrelated');
    expect(b.spanContext().traceId).not.toBe(a.spanContext().traceId);
  });
});

describe('ParentBasedSampler (src/spans/parent-based.ts)', () => {
  const parent = (traceId: string, spanId: string, flags: TraceFlags, isRemote: boolean) =>
    trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: flags, isRemote });
  const good = ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7'] as const;
  const parents: [string, Context][] = [['no parent', ROOT_CONTEXT]];
  for (const isRemote of [true, false])
    for (const flags of [TraceFlags.SAMPLED, TraceFlags.NONE])
      for (const [what, t, s] of [
        ['valid ids', good[0], good[1]],
        ['zero trace id', '0'.repeat(32), good[1]],
        ['zero span id', good[0], '0'.repeat(16)],
        ['non-hex trace id', `${good[0].slice(0, 31)}z`, good[1]],
        ['short span id', good[0], good[1].slice(1)],
      ])
        parents.push([`${isRemote ? 'remote' : 'local'}, flags ${flags}, ${what}`, parent(t, s, flags, isRemote)]);

  it.each(parents)('decides as the SDK ParentBasedSampler for every root: %s', (_, ctx) => {
    for (const [ours, sdk] of [
      [new AgentParentBased(new AlwaysOnSampler()), new ParentBasedSampler({ root: new AlwaysOnSampler() })],
      [new AgentParentBased(new AlwaysOffSampler()), new ParentBasedSampler({ root: new AlwaysOffSampler() })],
      [
        new AgentParentBased(new RatioSampler(0.5)),
        new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) }),
      ],
    ] as const) {
      expect(ours.toString()).toBe(sdk.toString());
      for (let i = 0; i < 50; i++) {
        const traceId = new PooledIdGenerator().generateTraceId();
        const decide = (s: Sampler) => s.shouldSample(ctx, traceId, 'GET', SpanKind.SERVER, {}, []).decision;
        expect(decide(ours)).toBe(decide(sdk));
      }
    }
  });

  it("takes a lean span's context as its parent without checking its ids again, and a child continues its trace", () => {
    const sampler = new AgentParentBased(new AlwaysOnSampler());
    const { start } = setup(sampler);
    const root = start();
    expect(root.constructor.name).toBe('LeanSpan');
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    expect(validParentOf(ctx)).toBe(root.spanContext());
    const child = start(ctx);
    expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
    expect((child as unknown as { parentSpanContext: unknown }).parentSpanContext).toBe(root.spanContext());
    // Any other span's context is checked: an invalid one is no parent.
    const invalid = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: good[1], traceFlags: 1 });
    expect(validParentOf(trace.setSpan(ROOT_CONTEXT, invalid))).toBeUndefined();
  });
});

describe('RatioSampler', () => {
  const hex = '0123456789abcdefABCDEF';
  const randomId = (i: number) => {
    let id = '';
    for (let k = 0; k < 32; k++) id += hex[Math.floor(Math.random() * (i % 3 === 0 ? 22 : 16))];
    return id;
  };
  const odd = [
    '',
    '0'.repeat(32),
    `${'0'.repeat(31)}1`,
    'g'.repeat(32),
    'f'.repeat(31),
    'F'.repeat(33),
    '4bf92f3577b34da6a3ce929d0e0e473z',
    'ffffffffffffffffffffffffffffffff',
  ];

  it.each([0, 0.001, 0.1, 0.25, 0.5, 0.9, 1])('decides as TraceIdRatioBasedSampler(%s) for every trace id', (ratio) => {
    const ours = new RatioSampler(ratio);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    const ids = [...odd, ...Array.from({ length: 5000 }, (_, i) => randomId(i))];
    for (const id of ids) {
      expect(ours.shouldSample(ROOT_CONTEXT, id).decision, id).toBe(sdk.shouldSample(ROOT_CONTEXT, id).decision);
    }
    expect(ours.toString()).toBe(sdk.toString());
  });
});
