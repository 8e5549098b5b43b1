// worker_threads: each worker has its own thread context; a request crosses to workers with the propagated
// context (postMessage) and their thread spans and slices join the same trace.

import { Worker } from 'node:worker_threads';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as api from '../src/slice/impl.js';
import { resetSlice } from '../src/slice/testing.js';
import { bundle } from './fixtures/slice-lib/bundle.js';
import { idOf, linkIds, one, parentId, setupTracing } from './fixtures/slice-lib/otel.js';

interface WorkerSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  links: string[];
  events: string[];
}
interface WorkerReply {
  spans: WorkerSpan[];
  back: api.TracePropagateContext;
  open: api.TraceInfo | null;
}

const tracing = setupTracing();
let script = '';
const workers: Worker[] = [];

beforeAll(async () => {
  script = await bundle('test/fixtures/slice-workers/worker.ts', 'slice-worker', { externalOtel: false });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
});

function start(data: { label?: string; tp?: number }): Worker {
  const w = new Worker(script, { workerData: data });
  workers.push(w);
  return w;
}

function ask(w: Worker, msg: unknown): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(msg);
  });
}

test('requests cross to worker threads and back; each worker has its own thread span', () =>
  context.with(ROOT_CONTEXT, async () => {
    resetSlice();
    const tp0 = start({ label: 'gpu', tp: 0 });
    const tp1 = start({ label: 'gpu', tp: 1 });
    const unlabelled = start({});

    api.traceSetThreadInfo('router');
    api.traceReqStart('r1', { role: 'decode' });
    api.traceSliceStart('route', 'r1');
    const ctx = api.traceGetProcPropagateContext('r1');
    const replies = await Promise.all([tp0, tp1, unlabelled].map((w) => ask(w, { rid: 'r1', ctx })));
    api.traceSliceEnd('route', 'r1');

    // Back on the main thread, as another logical stage joined from worker tp0's context.
    api.traceSetThreadInfo('detokenizer');
    api.traceSetProcPropagateContext('r1', replies[0].back);
    api.traceSliceStart('detokenize', 'r1');
    api.traceSliceEnd('detokenize', 'r1');
    api.traceReqFinish('r1');

    const spans = await tracing.spans();
    const root = one(spans, 'decode Req r1');
    const route = one(spans, 'route');
    const traceId = root.spanContext().traceId;
    const computeIds: string[] = [];
    for (const [i, w] of [tp0, tp1, unlabelled].entries()) {
      const mine = replies[i].spans;
      expect(replies[i].open, 'the worker forgot the request after its thread finished').toBeNull();
      for (const s of mine) expect(s.traceId).toBe(traceId);
      const thread = mine.find((s) => s.attributes.thread_id === w.threadId)!;
      expect(thread.parentSpanId).toBe(idOf(root));
      expect(thread.attributes.pid).toBe(process.pid);
      expect(thread.name).toContain(`| tid:${w.threadId})`);
      if (i < 2) {
        expect(thread.name.startsWith(`gpu [TP ${i}] (host:`)).toBe(true);
        expect(thread.attributes).toMatchObject({ thread_label: 'gpu', tp_rank: i });
      } else {
        expect(thread.attributes.thread_label).toBe(`worker ${w.threadId}`);
      }
      const compute = mine.find((s) => s.name === 'compute')!;
      computeIds.push(compute.spanId);
      expect(compute.parentSpanId).toBe(thread.spanId);
      expect(compute.links).toEqual([idOf(route)]);
      expect(compute.events).toEqual(['step']);
      expect(mine.find((s) => s.name === 'auto-in-worker')!.parentSpanId).toBe(compute.spanId);
    }
    expect(new Set(computeIds).size).toBe(3);
    const detok = one(spans, 'detokenize');
    expect(linkIds(detok)).toEqual([computeIds[0]]);
    expect(parentId(spans.find((s) => s.name.startsWith('detokenizer'))!)).toBe(idOf(root));
  }));
