// The slice API's span trees, in process: request → thread → slice spans, links, events, propagation, and how
// slices join the automatic spans (the active context).
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { attachContext, messageRegistry } from '../src/instrumentations/zeromq/message-context.js';
import {
  getTraceInfoForRequest,
  TraceSpanName,
  traceEvent,
  traceEventBatch,
  traceGetProcPropagateContext,
  traceReportSpan,
  traceReqFinish,
  traceReqStart,
  traceRunInSlice,
  traceSetProcPropagateContext,
  traceSetThreadInfo,
  traceSliceAddAttr,
  traceSliceBatch,
  traceSliceEnd,
  traceSliceStart,
  traceSpan,
} from '../src/slice/impl.js';
import { resetSlice, sliceStats, warnedKinds } from '../src/slice/testing.js';
import { childNames, idOf, linkIds, ns, one, parentId, setupTracing } from './fixtures/slice-lib/otel.js';

const tracing = setupTracing();
const other = trace.getTracer('auto-instrumentation-stand-in');

/** Each case runs in a fresh async scope, so a slice made active in one case never leaks into the next. */
function scoped(fn: () => Promise<void> | void): () => Promise<void> {
  return () => context.with(ROOT_CONTEXT, async () => fn());
}

beforeEach(() => {
  resetSlice();
  tracing.exporter.reset();
  traceSetThreadInfo('tokenizer', 0, 1);
});

describe('tree', () => {
  test(
    'bootstrap room → "<role> Req <rid prefix>" → thread span → nested slices, all one trace',
    scoped(async () => {
      const rid = 'chatcmpl-0123456789abcdef';
      traceReqStart(rid, { role: 'prefill', bootstrapRoom: 0x1f2e });
      traceSliceStart('tokenize', rid);
      traceSliceStart('normalize', rid);
      traceSliceEnd('normalize', rid);
      traceSliceEnd('tokenize', rid);
      traceSliceStart('dispatch', rid);
      traceSliceEnd('dispatch', rid, { threadFinishFlag: true });
      traceReqFinish(rid, { attrs: { output_tokens: 12 } });

      const spans = await tracing.spans();
      expect(spans).toHaveLength(6);
      const room = one(spans, 'Bootstrap Room 0x1f2e');
      const root = one(spans, 'prefill Req chatcmpl');
      const thread = spans.find((s) => s.name.startsWith('tokenizer '))!;
      const tokenize = one(spans, 'tokenize');
      const normalize = one(spans, 'normalize');
      const dispatch = one(spans, 'dispatch');

      expect(parentId(room)).toBeUndefined();
      expect(room.attributes).toEqual({ bootstrap_room: '0x1f2e' });
      expect(parentId(root)).toBe(idOf(room));
      expect(root.attributes).toEqual({ rid, output_tokens: 12 });
      expect(parentId(thread)).toBe(idOf(root));
      expect(thread.name).toMatch(
        new RegExp(`^tokenizer \\[TP 0\\] \\[DP 1\\] \\(host:\\S{1,8} \\| pid:${process.pid}\\)$`),
      );
      expect(thread.attributes).toMatchObject({
        thread_label: 'tokenizer',
        tp_rank: 0,
        dp_rank: 1,
        pid: process.pid,
        thread_id: 0,
      });
      expect(typeof thread.attributes.host_id).toBe('string');
      expect(childNames(spans, thread)).toEqual(['tokenize', 'dispatch']);
      expect(parentId(normalize)).toBe(idOf(tokenize));
      // Top-level slices link to the previous top-level slice of the thread; nested ones do not link.
      expect(linkIds(tokenize)).toEqual([]);
      expect(linkIds(normalize)).toEqual([]);
      expect(linkIds(dispatch)).toEqual([idOf(tokenize)]);
      expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
      for (const s of spans) expect(s.status.code).toBe(SpanStatusCode.UNSET);
      expect(sliceStats().reqs).toBe(0);
      expect(warnedKinds().size).toBe(0);
    }),
  );

  test(
    'no room, no role: room 0 (as SGLang), then the root named "Req <first 8 chars>"',
    scoped(async () => {
      traceReqStart('abcdefghijk');
      traceReqFinish('abcdefghijk');
      const spans = await tracing.spans();
      const room = one(spans, 'Bootstrap Room 0x0');
      const root = one(spans, 'Req abcdefgh');
      expect(parentId(room)).toBeUndefined();
      expect(room.attributes).toEqual({ bootstrap_room: '0x0' });
      expect(parentId(root)).toBe(idOf(room));
      expect(root.attributes.rid).toBe('abcdefghijk');
      expect(spans).toHaveLength(3);
      expect(spans.every((s) => s.ended)).toBe(true);
    }),
  );

  test(
    'numeric and bigint rids and rooms are accepted',
    scoped(async () => {
      traceReqStart(42, { bootstrapRoom: 12345678901234567890n });
      traceReqFinish('42');
      traceReqStart(7n, { bootstrapRoom: '0xFF' });
      traceReqFinish(7);
      const spans = await tracing.spans();
      one(spans, 'Bootstrap Room 0xab54a98ceb1f0ad2');
      one(spans, 'Bootstrap Room 0xff');
      expect(one(spans, 'Req 42').attributes.rid).toBe('42');
      expect(sliceStats().reqs).toBe(0);
    }),
  );

  test(
    'ts: epoch ns as bigint is exact, as number within float precision; 0 means now',
    scoped(async () => {
      const t0 = 1_760_000_000_123_456_789n;
      traceReqStart('r', { ts: t0 });
      traceSliceStart('exact', 'r', { ts: t0 + 1_000n });
      traceSliceEnd('exact', 'r', { ts: t0 + 6_789n });
      traceSliceStart('float', 'r', { ts: Number(t0 + 10_000n) });
      traceSliceEnd('float', 'r', { ts: Number(t0 + 20_000n) });
      const before = BigInt(Date.now()) * 1_000_000n;
      traceSliceStart('now', 'r', { ts: 0 });
      traceSliceEnd('now', 'r');
      traceReqFinish('r', { ts: t0 + 1_000_000_000_000n });
      const spans = await tracing.spans();
      const exact = one(spans, 'exact');
      expect(ns(exact.startTime)).toBe(t0 + 1_000n);
      expect(ns(exact.endTime)).toBe(t0 + 6_789n);
      const float = one(spans, 'float');
      expect(Number(ns(float.startTime) - (t0 + 10_000n))).toBeLessThanOrEqual(512);
      expect(Number(ns(float.endTime) - ns(float.startTime))).toBeGreaterThan(9_000);
      const now = one(spans, 'now');
      expect(ns(now.startTime)).toBeGreaterThanOrEqual(before - 5_000_000n);
      expect(ns(now.startTime)).toBeLessThan(before + 5_000_000_000n);
      expect(ns(one(spans, 'Req r').startTime)).toBe(t0);
      expect(ns(one(spans, 'Req r').endTime)).toBe(t0 + 1_000_000_000_000n);
    }),
  );
});

describe('anonymous slices, autoNextAnon, threadFinishFlag', () => {
  test(
    'anonymous slices take their name at the end; autoNextAnon chains them at the same instant',
    scoped(async () => {
      traceReqStart('r');
      traceSliceStart('', 'r', { anonymous: true });
      traceSliceEnd('A', 'r', { autoNextAnon: true });
      traceSliceEnd('B', 'r', { autoNextAnon: true });
      traceSliceEnd(TraceSpanName.DECODE, 'r', { autoNextAnon: true });
      traceSliceEnd('D', 'r', { threadFinishFlag: true });
      traceReqFinish('r');
      const spans = await tracing.spans();
      const [a, b, c, d] = ['A', 'B', 'DECODE', 'D'].map((n) => one(spans, n));
      const thread = spans.find((s) => s.name.startsWith('tokenizer'))!;
      for (const s of [a, b, c, d]) expect(parentId(s)).toBe(idOf(thread));
      expect(ns(a.endTime)).toBe(ns(b.startTime));
      expect(ns(b.endTime)).toBe(ns(c.startTime));
      expect(ns(c.endTime)).toBe(ns(d.startTime));
      expect(linkIds(b)).toEqual([idOf(a)]);
      expect(linkIds(c)).toEqual([idOf(b)]);
      expect(linkIds(d)).toEqual([idOf(c)]);
      expect(ns(thread.endTime)).toBe(ns(d.endTime));
      expect(spans.some((s) => s.name === 'anonymous')).toBe(false);
      expect(warnedKinds().size).toBe(0);
    }),
  );

  test(
    'an anonymous slice never named is not reported; traceReqFinish ends the thread and root',
    scoped(async () => {
      traceReqStart('r');
      traceSliceStart('work', 'r');
      traceSliceEnd('work', 'r', { autoNextAnon: true });
      traceReqFinish('r');
      const spans = await tracing.spans();
      expect(spans.map((s) => s.name).sort()).toEqual(
        ['Bootstrap Room 0x0', 'Req r', expect.stringMatching(/^tokenizer/), 'work'].sort(),
      );
      expect(warnedKinds().size).toBe(0);
    }),
  );

  test(
    'threadFinishFlag ends the thread span; later slices on the thread open a new thread span linked to the last slice',
    scoped(async () => {
      traceReqStart('r');
      traceSliceStart('first', 'r');
      traceSliceEnd('first', 'r', { threadFinishFlag: true });
      expect((await tracing.spans()).filter((s) => s.name.startsWith('tokenizer'))).toHaveLength(1);
      traceSliceStart('again', 'r');
      traceSliceEnd('again', 'r');
      traceReqFinish('r');
      const spans = await tracing.spans();
      const threads = spans.filter((s) => s.name.startsWith('tokenizer'));
      expect(threads).toHaveLength(2);
      const again = one(spans, 'again');
      expect(parentId(again)).toBe(idOf(threads[1]));
      expect(linkIds(again)).toEqual([idOf(one(spans, 'first'))]);
    }),
  );

  test(
    'traceReportSpan records a slice with known start and end',
    scoped(async () => {
      const t0 = 1_760_000_000_000_000_000n;
      traceReqStart('r', { ts: t0 });
      traceReportSpan('prefill', 'r', t0, t0 + 5_000_000n, { attrs: { batch: 4 } });
      traceReportSpan('decode', 'r', t0 + 5_000_000n, t0 + 9_000_000n, { threadFinishFlag: true });
      traceReqFinish('r');
      const spans = await tracing.spans();
      const prefill = one(spans, 'prefill');
      const decode = one(spans, 'decode');
      expect([ns(prefill.startTime), ns(prefill.endTime)]).toEqual([t0, t0 + 5_000_000n]);
      expect(prefill.attributes).toEqual({ batch: 4 });
      expect(linkIds(decode)).toEqual([idOf(prefill)]);
      expect(ns(spans.find((s) => s.name.startsWith('tokenizer'))!.endTime)).toBe(t0 + 9_000_000n);
    }),
  );
});

describe('events and attributes', () => {
  test(
    'events and attributes go on the innermost open slice, else the thread span',
    scoped(async () => {
      const t = 1_760_000_000_000_000_042n;
      traceReqStart('r');
      traceSliceStart('outer', 'r');
      traceSliceStart('inner', 'r');
      traceEvent('first_token', 'r', { ts: t, attrs: { index: 0, big: 2n ** 64n } });
      traceSliceAddAttr('r', { in_inner: true, list: ['a', 'b'] });
      traceSliceEnd('inner', 'r');
      traceEvent('between', 'r');
      traceSliceAddAttr('r', { in_outer: 1 });
      traceSliceEnd('outer', 'r');
      traceEvent('after', 'r');
      traceReqFinish('r');
      const spans = await tracing.spans();
      const inner = one(spans, 'inner');
      expect(inner.events.map((e) => e.name)).toEqual(['first_token']);
      expect(ns(inner.events[0].time)).toBe(t);
      expect(inner.events[0].attributes).toEqual({ index: 0, big: '18446744073709551616' });
      expect(inner.attributes).toEqual({ in_inner: true, list: ['a', 'b'] });
      const outer = one(spans, 'outer');
      expect(outer.events.map((e) => e.name)).toEqual(['between']);
      expect(outer.attributes).toEqual({ in_outer: 1 });
      expect(spans.find((s) => s.name.startsWith('tokenizer'))!.events.map((e) => e.name)).toEqual(['after']);
    }),
  );

  test(
    'traceEventBatch and traceSliceBatch (SGLang batch step: unfinished requests continue anonymously)',
    scoped(async () => {
      for (const rid of ['a', 'b', 'c']) {
        traceReqStart(rid);
        traceSliceStart('', rid, { anonymous: true });
      }
      let bFinished = false;
      const batch = [{ rid: 'a', finished: false }, { rid: 'b', finished: () => bFinished }, 'c'];
      traceEventBatch('scheduled', batch, { attrs: { size: 3 } });
      traceSliceBatch('prefill', batch);
      bFinished = true;
      traceSliceBatch('decode', batch);
      for (const rid of ['a', 'b', 'c']) traceReqFinish(rid);
      const spans = await tracing.spans();
      expect(spans.filter((s) => s.name === 'prefill')).toHaveLength(3);
      expect(spans.filter((s) => s.name === 'decode')).toHaveLength(3);
      for (const p of spans.filter((s) => s.name === 'prefill')) {
        expect(p.events.map((e) => [e.name, e.attributes])).toEqual([['scheduled', { size: 3 }]]);
      }
      // b finished at decode: its thread span ended there, at the same instant as its decode slice.
      const bRoot = one(spans, 'Req b');
      const bThread = spans.find((s) => parentId(s) === idOf(bRoot))!;
      const bDecode = spans.find((s) => s.name === 'decode' && parentId(s) === idOf(bThread))!;
      expect(ns(bThread.endTime)).toBe(ns(bDecode.endTime));
      expect(linkIds(bDecode)).toEqual([
        spans.find((s) => s.name === 'prefill' && parentId(s) === idOf(bThread))!.spanContext().spanId,
      ]);
      expect(spans.some((s) => s.name === 'anonymous')).toBe(false);
      expect(warnedKinds().size).toBe(0);
    }),
  );
});

describe('joined with automatic spans (the active context)', () => {
  test(
    'traceReqStart inside a server span makes the root its child and never ends that span',
    scoped(async () => {
      const server = other.startSpan('GET /v1/chat', { kind: SpanKind.SERVER });
      await context.with(trace.setSpan(context.active(), server), async () => {
        traceReqStart('r', { bootstrapRoom: 1 });
        traceSliceStart('s', 'r');
        traceSliceEnd('s', 'r');
        traceReqFinish('r');
      });
      let spans = await tracing.spans();
      expect(spans.some((s) => s.name === 'GET /v1/chat')).toBe(false);
      expect(parentId(one(spans, 'Bootstrap Room 0x1'))).toBe(server.spanContext().spanId);
      expect(one(spans, 'Req r').spanContext().traceId).toBe(server.spanContext().traceId);
      server.end();
      spans = await tracing.spans();
      expect(one(spans, 'GET /v1/chat').ended).toBe(true);
    }),
  );

  test(
    'spans created while a slice is open (also after await and in timers) are its children; after the end they are not',
    scoped(async () => {
      const server = other.startSpan('server');
      await context.with(trace.setSpan(context.active(), server), async () => {
        traceReqStart('r');
        traceSliceStart('outer', 'r');
        other.startSpan('sync-child').end();
        await Promise.resolve();
        other.startSpan('after-await').end();
        traceSliceStart('inner', 'r');
        await new Promise<void>((resolve) =>
          setTimeout(() => {
            other.startSpan('in-timer').end();
            resolve();
          }, 1),
        );
        let late: () => void = () => undefined;
        const lateDone = new Promise<void>((resolve) => {
          late = () => {
            other.startSpan('late-timer').end();
            resolve();
          };
        });
        setTimeout(() => late(), 20); // scheduled inside "inner", runs after it ended
        traceSliceEnd('inner', 'r');
        other.startSpan('back-in-outer').end();
        traceSliceEnd('outer', 'r');
        other.startSpan('after-slices').end();
        await lateDone;
        traceReqFinish('r');
      });
      server.end();
      const spans = await tracing.spans();
      const outer = one(spans, 'outer');
      const inner = one(spans, 'inner');
      expect(parentId(one(spans, 'sync-child'))).toBe(idOf(outer));
      expect(parentId(one(spans, 'after-await'))).toBe(idOf(outer));
      expect(parentId(one(spans, 'in-timer'))).toBe(idOf(inner));
      expect(parentId(one(spans, 'back-in-outer'))).toBe(idOf(outer));
      // Once the slices ended, the scope reads as the context they were started in: the server span.
      expect(parentId(one(spans, 'after-slices'))).toBe(server.spanContext().spanId);
      expect(parentId(one(spans, 'late-timer'))).toBe(server.spanContext().spanId);
    }),
  );

  test(
    "a request started while another request's slice is active does not nest in it",
    scoped(async () => {
      traceReqStart('a');
      traceSliceStart('sa', 'a');
      traceReqStart('b');
      traceSliceStart('sb', 'b');
      other.startSpan('call-for-b').end();
      traceSliceEnd('sb', 'b');
      traceSliceEnd('sa', 'a');
      traceReqFinish('b');
      traceReqFinish('a');
      const spans = await tracing.spans();
      const roomB = spans.find((s) => idOf(s) === parentId(one(spans, 'Req b')));
      expect(roomB?.name).toBe('Bootstrap Room 0x0'); // b's own room, a trace root
      expect(parentId(roomB!)).toBeUndefined();
      expect(one(spans, 'Req b').spanContext().traceId).not.toBe(one(spans, 'Req a').spanContext().traceId);
      expect(parentId(one(spans, 'call-for-b'))).toBe(idOf(one(spans, 'sb')));
    }),
  );

  test(
    'traceRunInSlice scopes the request context to a callback',
    scoped(async () => {
      traceReqStart('r');
      traceSliceStart('s', 'r');
      traceReqStart('x'); // another request, no slice: its thread span is the context
      const result = await traceRunInSlice('r', async () => {
        await Promise.resolve();
        other.startSpan('inside').end();
        return 7;
      });
      expect(result).toBe(7);
      traceRunInSlice('x', () => other.startSpan('inside-x').end());
      expect(traceRunInSlice('unknown-rid', () => 'ran')).toBe('ran');
      traceSliceEnd('s', 'r');
      traceReqFinish('r');
      traceReqFinish('x');
      const spans = await tracing.spans();
      expect(parentId(one(spans, 'inside'))).toBe(idOf(one(spans, 's')));
      const xThread = spans.find((s) => parentId(s) === idOf(one(spans, 'Req x')))!;
      expect(parentId(one(spans, 'inside-x'))).toBe(idOf(xThread));
    }),
  );

  test(
    'traceSpan wraps sync and async functions (and decorates methods); errors are recorded and rethrown',
    scoped(async () => {
      const add = traceSpan('add')((a: number, b: number) => a + b);
      expect(add.length).toBe(2);
      const named = traceSpan(async function fetchWeights(x: number) {
        await new Promise((r) => setTimeout(r, 2));
        other.startSpan('nested').end();
        return x * 2;
      });
      const boom = traceSpan('boom')(() => {
        throw new Error('sync failure');
      });
      const reject = traceSpan()(async function rejecter() {
        throw new TypeError('async failure');
      });
      // Standard (TC39) method decorator and legacy experimentalDecorators forms.
      const std = traceSpan()(
        function method(this: { k: number }) {
          return this.k;
        },
        { kind: 'method', name: 'stdMethod' },
      ) as (this: { k: number }) => number;
      const proto = {
        legacy(this: { k: number }) {
          return this.k + 1;
        },
      };
      const desc = Object.getOwnPropertyDescriptor(proto, 'legacy')!;
      traceSpan()(proto, 'legacy', desc);
      Object.defineProperty(proto, 'legacy', desc);

      traceReqStart('r');
      traceSliceStart('s', 'r');
      expect(add(2, 3)).toBe(5);
      expect(await named(21)).toBe(42);
      expect(() => boom()).toThrow('sync failure');
      await expect(reject()).rejects.toThrow('async failure');
      expect(std.call({ k: 5 })).toBe(5);
      expect(proto.legacy.call({ k: 5 })).toBe(6);
      traceSliceEnd('s', 'r');
      traceReqFinish('r');
      const spans = await tracing.spans();
      const s = one(spans, 's');
      for (const name of ['add', 'fetchWeights', 'boom', 'rejecter', 'stdMethod', 'legacy']) {
        expect(parentId(one(spans, name))).toBe(idOf(s));
      }
      expect(parentId(one(spans, 'nested'))).toBe(idOf(one(spans, 'fetchWeights')));
      expect(one(spans, 'boom').status).toEqual({ code: SpanStatusCode.ERROR, message: 'sync failure' });
      expect(one(spans, 'boom').events[0].name).toBe('exception');
      expect(one(spans, 'rejecter').status.code).toBe(SpanStatusCode.ERROR);
      expect(one(spans, 'add').status.code).toBe(SpanStatusCode.UNSET);
    }),
  );
});

describe('propagation', () => {
  test(
    'to another logical thread in the same process: thread span under the root, first slice links to the sender',
    scoped(async () => {
      traceReqStart('r');
      traceSliceStart('tokenize', 'r');
      const wire = JSON.parse(JSON.stringify(traceGetProcPropagateContext('r')));
      const traceparent = expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(wire).toEqual({
        root_span: { traceparent },
        prev_span: { trace_id: expect.any(Number), span_id: expect.any(Number) }, // JSON.parse rounds: use root/prev
        root: { traceparent },
        prev: { traceId: expect.stringMatching(/^[0-9a-f]{32}$/), spanId: expect.stringMatching(/^[0-9a-f]{16}$/) },
      });
      traceSliceEnd('tokenize', 'r', { threadFinishFlag: true });

      traceSetThreadInfo('scheduler', 3);
      traceSetProcPropagateContext('r', wire);
      traceSliceStart('schedule', 'r');
      traceSliceEnd('schedule', 'r', { threadFinishFlag: true });
      traceReqFinish('r');
      const spans = await tracing.spans();
      const root = one(spans, 'Req r');
      const sched = spans.find((s) => s.name.startsWith('scheduler [TP 3]'))!;
      expect(parentId(sched)).toBe(idOf(root));
      expect(sched.attributes).toMatchObject({ thread_label: 'scheduler', tp_rank: 3 });
      expect(sched.attributes.dp_rank).toBeUndefined();
      expect(wire.prev.spanId).toBe(idOf(one(spans, 'tokenize')));
      expect(linkIds(one(spans, 'schedule'))).toEqual([idOf(one(spans, 'tokenize'))]);
    }),
  );

  test(
    'to a process that never saw the request: a copy that continues the trace and is freed with its last thread',
    scoped(async () => {
      traceReqStart('r', { ts: 1_760_000_000_000_000_000n });
      traceSliceStart('send', 'r');
      const wire = JSON.stringify(traceGetProcPropagateContext('r'));
      const info = getTraceInfoForRequest('r')!;
      traceSliceEnd('send', 'r');
      traceReqFinish('r'); // the sender is done; this process now plays the receiver
      expect(sliceStats().reqs).toBe(0);

      traceSetThreadInfo('detokenizer');
      traceSetProcPropagateContext('r', wire, { ts: 1_760_000_000_500_000_000n });
      expect(getTraceInfoForRequest('r')).toEqual(info);
      traceSliceStart('detokenize', 'r');
      traceSliceEnd('detokenize', 'r', { threadFinishFlag: true });
      expect(sliceStats().reqs).toBe(0);
      const spans = await tracing.spans();
      const root = one(spans, 'Req r');
      expect(info).toEqual({ traceId: root.spanContext().traceId, spanId: idOf(root) });
      const detokThread = spans.find((s) => s.name.startsWith('detokenizer'))!;
      expect(parentId(detokThread)).toBe(idOf(root));
      expect(ns(detokThread.startTime)).toBe(1_760_000_000_500_000_000n);
      expect(detokThread.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(linkIds(one(spans, 'detokenize'))).toEqual([idOf(one(spans, 'send'))]);
      expect(spans.filter((s) => s.name === 'Req r')).toHaveLength(1);
    }),
  );

  test(
    "SGLang's dict shape (integer ids, also as a JSON string with ids beyond 2^53) and 'None'",
    scoped(async () => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const rootSpan = 'b7ad6b7169203331';
      const prevSpan = 'f0e1d2c3b4a59687';
      const traceparent = `00-${traceId}-${rootSpan}-01`;
      const sglang = {
        root_span: { traceparent },
        prev_span: { trace_id: BigInt(`0x${traceId}`), span_id: BigInt(`0x${prevSpan}`) },
      };
      traceSetThreadInfo('scheduler');
      traceSetProcPropagateContext('s1', sglang);
      traceSliceStart('x', 's1');
      traceSliceEnd('x', 's1', { threadFinishFlag: true });
      // What Python's json.dumps produces: bare integers.
      const asJson = `{"root_span": {"traceparent": "${traceparent}"}, "prev_span": {"trace_id": ${BigInt(`0x${traceId}`)}, "span_id": ${BigInt(`0x${prevSpan}`)}}}`;
      traceSetProcPropagateContext('s2', asJson);
      traceSliceStart('y', 's2');
      traceSliceEnd('y', 's2', { threadFinishFlag: true });
      traceSetProcPropagateContext('s3', { root_span: { traceparent }, prev_span: 'None' });
      traceSliceStart('z', 's3');
      traceSliceEnd('z', 's3', { threadFinishFlag: true });
      const spans = await tracing.spans();
      for (const name of ['x', 'y'])
        expect(one(spans, name).links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[traceId, prevSpan]]);
      expect(linkIds(one(spans, 'z'))).toEqual([]);
      for (const th of spans.filter((s) => s.name.startsWith('scheduler'))) {
        expect(th.spanContext().traceId).toBe(traceId);
        expect(parentId(th)).toBe(rootSpan);
      }
      expect(warnedKinds().size).toBe(0);
    }),
  );

  test(
    'plain headers with traceparent, and an OpenTelemetry Context, are accepted',
    scoped(async () => {
      const remote = other.startSpan('remote-parent');
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, remote), headers);
      traceSetProcPropagateContext('h', headers);
      traceSliceStart('from-headers', 'h');
      traceSliceEnd('from-headers', 'h', { threadFinishFlag: true });
      traceSetProcPropagateContext('c', trace.setSpan(ROOT_CONTEXT, remote));
      traceSliceStart('from-context', 'c');
      traceSliceEnd('from-context', 'c', { threadFinishFlag: true });
      remote.end();
      const spans = await tracing.spans();
      for (const th of spans.filter((s) => s.name.startsWith('tokenizer')))
        expect(parentId(th)).toBe(idOf(one(spans, 'remote-parent')));
      expect(linkIds(one(spans, 'from-headers'))).toEqual([]);
      // A bare context names only a span: the first slice links to it.
      expect(linkIds(one(spans, 'from-context'))).toEqual([idOf(one(spans, 'remote-parent'))]);
      expect(sliceStats().reqs).toBe(0);
    }),
  );

  test(
    'a received ZeroMQ message (frames array or first frame): the thread span continues its consumer span',
    scoped(async () => {
      const consumer = other.startSpan('receive tcp://127.0.0.1:5557', { kind: SpanKind.CONSUMER });
      const frames = [Buffer.from('payload')];
      const ctx = trace.setSpan(ROOT_CONTEXT, consumer);
      // What the ZeroMQ instrumentation records on receipt: v6 frames arrays carry the context, v5-compat first frames
      // are looked up in the registry.
      attachContext(frames, ctx);
      messageRegistry().firstFrames.set(frames[0], ctx);
      traceSetThreadInfo('scheduler');
      traceSetProcPropagateContext('m1', frames);
      traceSliceStart('from-frames', 'm1');
      traceSliceEnd('from-frames', 'm1', { threadFinishFlag: true });
      traceSetProcPropagateContext('m2', frames[0]);
      traceSliceStart('from-first-frame', 'm2');
      traceSliceEnd('from-first-frame', 'm2', { threadFinishFlag: true });
      consumer.end();
      const spans = await tracing.spans();
      const threads = spans.filter((s) => s.name.startsWith('scheduler'));
      expect(threads).toHaveLength(2);
      for (const th of threads) expect(parentId(th)).toBe(consumer.spanContext().spanId);
      expect(linkIds(one(spans, 'from-frames'))).toEqual([consumer.spanContext().spanId]);
      expect(linkIds(one(spans, 'from-first-frame'))).toEqual([consumer.spanContext().spanId]);
      expect(warnedKinds().size).toBe(0);
    }),
  );

  test(
    'prev is the outermost open slice, else the last ended one',
    scoped(async () => {
      traceReqStart('r');
      expect(traceGetProcPropagateContext('r')!.prev).toBeUndefined();
      traceSliceStart('outer', 'r');
      traceSliceStart('inner', 'r');
      const whileOpen = traceGetProcPropagateContext('r')!.prev!.spanId;
      traceSliceEnd('inner', 'r');
      traceSliceEnd('outer', 'r');
      const afterEnd = traceGetProcPropagateContext('r')!.prev!.spanId;
      traceReqFinish('r');
      const spans = await tracing.spans();
      expect(whileOpen).toBe(idOf(one(spans, 'outer')));
      expect(afterEnd).toBe(idOf(one(spans, 'outer')));
    }),
  );
});

test("TraceSpanName has the FastDeploy document's names, and the two spellings exported first", () => {
  expect(Object.values(TraceSpanName)).toEqual([
    'FASTDEPLOY',
    'PREPROCESS',
    'SCHEDULE',
    'PREFILL',
    'DECODE',
    'POSTPROCESS',
    'PREPROCESSING',
    'POSTPROCESSING',
  ]);
});

test('warnings go to stderr with the package prefix', () => {
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    traceSliceEnd('x', 'never-started');
    expect(write).toHaveBeenCalledTimes(1);
    expect(String(write.mock.calls[0][0])).toMatch(
      /^\[@x\/trace-agent\] warn: slice API: .*never-started.*\[unknown_rid; repeats suppressed\]\n$/,
    );
  } finally {
    write.mockRestore();
  }
});
