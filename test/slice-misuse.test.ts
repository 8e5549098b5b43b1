// Misuse never throws: each kind has a documented outcome and at most one warning; requests never finished are
// ended with error status after the TTL (or when too many are open) and freed.
import { context, ROOT_CONTEXT, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, type MockInstance, test, vi } from 'vitest';
import * as api from '../src/slice/impl.js';
import { resetSlice, sliceStats, warnedKinds } from '../src/slice/testing.js';
import { idOf, one, parentId, setupTracing } from './fixtures/slice-lib/otel.js';

const tracing = setupTracing();
let stderr: MockInstance<typeof process.stderr.write>;
const savedEnv = { ...process.env };

function scoped(fn: () => Promise<void> | void): () => Promise<void> {
  return () => context.with(ROOT_CONTEXT, async () => fn());
}

function warningLines(): string[] {
  return stderr.mock.calls.map((c) => String(c[0]));
}

/** kind → number of lines printed for it. */
function warningCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of warningLines()) {
    const kind = /\[(\w+); repeats suppressed\]/.exec(line)?.[1] ?? 'unparsed';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

beforeEach(() => {
  resetSlice();
  tracing.exporter.reset();
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  stderr.mockRestore();
  for (const key of ['TRACES_REQ_TTL_MS', 'TRACES_REQ_MAX']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

// Deliberately wrong calls, typed loosely on purpose.
const loose = api as unknown as Record<string, (...args: unknown[]) => unknown>;

describe('misuse: documented outcome, nothing thrown, one warning per kind', () => {
  test(
    'every kind of misuse, each repeated, prints one line per kind',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      const misuse: Array<[string, () => unknown]> = [
        ['unknown_rid', () => api.traceSliceStart('a', 'nope')],
        ['unknown_rid', () => api.traceSliceEnd('a', 'nope')],
        ['unknown_rid', () => api.traceEvent('e', 'nope')],
        ['unknown_rid', () => api.traceSliceAddAttr('nope', { a: 1 })],
        ['unknown_rid', () => api.traceReqFinish('nope')],
        ['unknown_rid', () => expect(api.traceGetProcPropagateContext('nope')).toBeUndefined()],
        ['unknown_rid', () => api.traceReportSpan('x', 'nope', 0, 0)],
        ['bad_argument', () => loose.traceReqStart({ not: 'a rid' })],
        ['bad_argument', () => loose.traceSliceStart({}, 'r')],
        ['bad_argument', () => loose.traceSliceEnd(undefined, undefined)],
        ['bad_argument', () => loose.traceReqStart('room', { bootstrapRoom: -1 })],
        ['bad_argument', () => loose.traceReqStart('room2', { bootstrapRoom: 'not-a-number' })],
        ['bad_argument', () => loose.traceReqStart('opts', 'not-an-object')],
        ['bad_argument', () => loose.traceSliceBatch('x', 42)],
        ['bad_argument', () => loose.traceEventBatch('x', null)],
        ['bad_argument', () => (loose.traceSpan() as (x: unknown) => unknown)(42)],
        ['bad_ts', () => loose.traceReqStart('ts1', { ts: 'yesterday' })],
        ['bad_ts', () => loose.traceReqStart('ts2', { ts: -5 })],
        ['bad_ts', () => loose.traceReqStart('ts3', { ts: 1_760_000_000_000 /* ms, not ns */ })],
        ['bad_ts', () => loose.traceReqStart('ts4', { ts: Number.NaN })],
        ['bad_attrs', () => loose.traceReqFinish('ts1', { attrs: ['a'] })],
        ['bad_attrs', () => loose.traceReqFinish('ts2', { attrs: { nested: { no: 1 }, ok: 'kept' } })],
        ['bad_attrs', () => loose.traceSliceAddAttr('ts3', 'str')],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', null)],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', 'not json')],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', 42)],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', {})],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', { root: 'x' })],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', { root: { traceparent: 'garbage' } })],
        ['bad_propagate_context', () => api.traceSetProcPropagateContext('p', [Buffer.from('frame')])],
      ];
      for (let round = 0; round < 3; round++) {
        for (const [, call] of misuse) expect(call).not.toThrow();
      }
      const counts = warningCounts();
      for (const kind of new Set(misuse.map(([k]) => k))) expect(counts[kind], kind).toBe(1);
      expect(counts.unparsed).toBeUndefined();
      expect(counts.internal_error).toBeUndefined();
      // The bad-room requests still started, in room 0; ms timestamps fell back to now.
      for (const rid of ['room', 'room2', 'ts3', 'ts4']) expect(api.getTraceInfoForRequest(rid), rid).toBeDefined();
      expect(api.getTraceInfoForRequest('p')).toBeUndefined();
      const spans = await tracing.spans();
      const rooms = new Set(spans.filter((s) => s.name.startsWith('Bootstrap Room')).map((s) => s.name));
      expect(rooms).toEqual(new Set(['Bootstrap Room 0x0']));
      const ts2 = spans.filter((s) => s.name === 'Req ts2');
      expect(ts2).toHaveLength(3);
      for (const s of ts2) expect(s.attributes).toEqual({ rid: 'ts2', ok: 'kept' });
    }),
  );

  test(
    'a bad prev is dropped but the receiver still joins the trace',
    scoped(async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      api.traceSetProcPropagateContext('p', { root: { traceparent }, prev: { traceId: 'zz', spanId: 1.5 } });
      api.traceSliceStart('s', 'p');
      api.traceSliceEnd('s', 'p', { threadFinishFlag: true });
      const spans = await tracing.spans();
      expect(one(spans, 's').links).toEqual([]);
      expect(spans.find((s) => s.name !== 's')!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(warningCounts().bad_propagate_context).toBe(1);
    }),
  );

  test(
    'ending a slice that was never started, and finishing twice',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceSliceEnd('never', 'r');
      api.traceReqFinish('r');
      api.traceReqFinish('r');
      expect(warningCounts()).toEqual({ slice_end_without_start: 1, unknown_rid: 1 });
      expect(await tracing.spans()).toHaveLength(3); // room, root, thread
    }),
  );

  test(
    'name mismatch ends the innermost slice with error status (as SGLang)',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceSliceStart('a', 'r');
      api.traceSliceEnd('b', 'r');
      api.traceSliceEnd('b', 'r'); // nothing open any more
      api.traceReqFinish('r');
      const a = one(await tracing.spans(), 'a');
      expect(a.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'slice name mismatch: started as "a", ended as "b"',
      });
      expect(warnedKinds()).toEqual(new Set(['slice_name_mismatch', 'slice_end_without_start']));
    }),
  );

  test(
    'ending an outer slice ends the open slices nested in it first, with error status',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceSliceStart('outer', 'r');
      api.traceSliceStart('inner', 'r');
      api.traceSliceStart('', 'r', { anonymous: true });
      api.traceSliceEnd('outer', 'r');
      api.traceReqFinish('r');
      const spans = await tracing.spans();
      expect(one(spans, 'inner').status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'slice not ended before enclosing slice "outer"',
      });
      expect(one(spans, 'outer').status.code).toBe(SpanStatusCode.UNSET);
      expect(parentId(one(spans, 'inner'))).toBe(idOf(one(spans, 'outer')));
      expect(spans.some((s) => s.name === 'anonymous')).toBe(false);
      expect(warningCounts()).toEqual({ unclosed_slice: 1 });
    }),
  );

  test(
    'slices still open at traceReqFinish are ended there (one warning)',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceSliceStart('left-open', 'r');
      api.traceReqFinish('r', { ts: 1_900_000_000_000_000_000n });
      const s = one(await tracing.spans(), 'left-open');
      expect(s.endTime).toEqual([1_900_000_000, 0]);
      expect(warningCounts()).toEqual({ unclosed_slice: 1 });
    }),
  );

  test(
    'starting a rid that is still open ends the old request with error status',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceReqStart('r');
      api.traceReqFinish('r');
      const roots = (await tracing.spans()).filter((s) => s.name === 'Req r');
      expect(roots.map((s) => s.status)).toEqual([
        { code: SpanStatusCode.ERROR, message: 'superseded by a new traceReqStart for the same rid' },
        { code: SpanStatusCode.UNSET },
      ]);
      expect(warningCounts()).toEqual({ duplicate_req_start: 1 });
      expect(sliceStats().reqs).toBe(0);
    }),
  );

  test(
    'no thread info: spans are labelled "main", one warning',
    scoped(async () => {
      api.traceReqStart('a');
      api.traceReqStart('b');
      api.traceReqFinish('a');
      api.traceReqFinish('b');
      const threads = (await tracing.spans()).filter((s) => s.name.startsWith('main '));
      expect(threads).toHaveLength(2);
      expect(threads[0].attributes.thread_label).toBe('main');
      expect(warningCounts()).toEqual({ no_thread_info: 1 });
    }),
  );

  test(
    'bad thread info falls back (label "unknown", ranks ignored)',
    scoped(async () => {
      (api.traceSetThreadInfo as (...a: unknown[]) => void)({}, -1, 'x');
      api.traceReqStart('r');
      api.traceReqFinish('r');
      const th = (await tracing.spans()).find((s) => s.name.startsWith('unknown '))!;
      expect(th.attributes.tp_rank).toBeUndefined();
      expect(th.attributes.dp_rank).toBeUndefined();
      expect(warningCounts()).toEqual({ bad_argument: 1 });
    }),
  );

  test(
    'a throwing finished() in a batch counts as not finished',
    scoped(async () => {
      api.traceSetThreadInfo('stage');
      api.traceReqStart('r');
      api.traceSliceStart('', 'r', { anonymous: true });
      const req = {
        rid: 'r',
        finished(): boolean {
          throw new Error('user bug');
        },
      };
      expect(() => api.traceSliceBatch('step', [req])).not.toThrow();
      api.traceReqFinish('r');
      expect(one(await tracing.spans(), 'step').status.code).toBe(SpanStatusCode.UNSET);
      expect(warningLines()).toEqual([]);
    }),
  );

  test('warnings can be silenced with OTEL_LOG_LEVEL=none', () => {
    process.env.OTEL_LOG_LEVEL = 'none';
    try {
      resetSlice();
      api.traceSliceEnd('x', 'nope');
      expect(warnedKinds().has('unknown_rid')).toBe(true);
      expect(warningLines()).toEqual([]);
    } finally {
      delete process.env.OTEL_LOG_LEVEL;
      resetSlice();
    }
  });
});

describe('never-finished requests are freed', () => {
  test(
    'after TRACES_REQ_TTL_MS, by the background sweep: everything open ends with error status',
    scoped(async () => {
      process.env.TRACES_REQ_TTL_MS = '40';
      api.traceSetThreadInfo('stage');
      api.traceReqStart('stale', { bootstrapRoom: 5 });
      api.traceSliceStart('stuck', 'stale');
      api.traceSliceStart('', 'stale', { anonymous: true });
      api.traceSetProcPropagateContext('stale-copy', {
        root: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      });
      expect(sliceStats()).toEqual({ reqs: 2, threads: 2, slices: 2 });
      await new Promise((r) => setTimeout(r, 200));
      expect(sliceStats()).toEqual({ reqs: 0, threads: 0, slices: 0 });
      const spans = await tracing.spans();
      const message = 'request not finished within TRACES_REQ_TTL_MS=40';
      for (const name of ['Req stale', 'stuck'])
        expect(one(spans, name).status).toEqual({ code: SpanStatusCode.ERROR, message });
      const threads = spans.filter((s) => s.name.startsWith('stage '));
      expect(threads).toHaveLength(2);
      for (const th of threads) expect(th.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(one(spans, 'Bootstrap Room 0x5').ended).toBe(true);
      expect(spans.some((s) => s.name === 'anonymous')).toBe(false);
      expect(warningCounts()).toEqual({ req_ttl_expired: 1 });
      api.traceReqFinish('stale');
      expect(warningCounts().unknown_rid).toBe(1);
    }),
  );

  test(
    'the sweep also runs on new requests, so a busy loop that never yields stays bounded',
    scoped(async () => {
      process.env.TRACES_REQ_TTL_MS = '20';
      api.traceSetThreadInfo('stage');
      api.traceReqStart('old');
      const until = performance.now() + 40;
      while (performance.now() < until) {
        // the event loop is blocked: the timer cannot fire
      }
      api.traceReqStart('new');
      expect(sliceStats().reqs).toBe(1);
      expect(api.getTraceInfoForRequest('old')).toBeUndefined();
      api.traceReqFinish('new');
      expect(one(await tracing.spans(), 'Req old').status.code).toBe(SpanStatusCode.ERROR);
    }),
  );

  test(
    'beyond TRACES_REQ_MAX open requests the oldest are evicted with error status',
    scoped(async () => {
      process.env.TRACES_REQ_MAX = '5';
      api.traceSetThreadInfo('stage');
      for (let i = 0; i < 8; i++) api.traceReqStart(`r${i}`);
      expect(sliceStats().reqs).toBe(5);
      for (let i = 3; i < 8; i++) api.traceReqFinish(`r${i}`);
      const spans = await tracing.spans();
      for (let i = 0; i < 8; i++) {
        expect(one(spans, `Req r${i}`).status.code, `r${i}`).toBe(i < 3 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      }
      expect(one(spans, 'Req r0').status.message).toBe('evicted: more than TRACES_REQ_MAX=5 open requests');
      expect(warningCounts()).toEqual({ req_evicted: 1 });
    }),
  );

  test('bad values of the env vars fall back to the defaults with one warning', () => {
    process.env.TRACES_REQ_TTL_MS = 'soon';
    process.env.TRACES_REQ_MAX = '0';
    api.traceSetThreadInfo('stage');
    for (let i = 0; i < 3; i++) api.traceReqStart(`r${i}`);
    expect(sliceStats().reqs).toBe(3);
    expect(warningCounts()).toEqual({ bad_env: 1 });
  });
});
