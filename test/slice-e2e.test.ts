// End to end: the slice API across processes (HTTP, ZeroMQ) and worker_threads, with the real agent preloaded
// (or started by processTracingInit), spans decoded by the real OTLP receiver. Manual spans (request, thread,
// slice) and automatic ones (HTTP server/client, ZeroMQ producer/consumer) form one tree.
import { beforeAll, describe, expect, it } from 'vitest';
import { harness } from './helpers/harness.js';
import type { OtlpReceiver, ReceivedSpan } from './helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

async function pipeline(withZmq: boolean): Promise<{ frontendPid: number; backendPid: number; port: number }> {
  const common = {
    TRACES_ENABLE: 'true',
    EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
    FD_HOST_NAME: 'slice-host',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  const backend = h.start('slice-e2e/backend.cjs', {
    nodeArgs: [],
    env: { ...common, FD_SERVICE_NAME: 'backend' },
    args: withZmq ? ['--zmq'] : [],
  });
  const b = await backend.waitForJson<{ port: number; zmq: string | null; tracing: boolean }>(
    (v) => typeof v.port === 'number',
  );
  expect(b.tracing, 'processTracingInit() reports tracing on').toBe(true);
  const frontend = h.start('slice-e2e/frontend.mjs', {
    env: { ...common, FD_SERVICE_NAME: 'frontend' },
    args: [`http://127.0.0.1:${b.port}`, ...(b.zmq ? [b.zmq] : [])],
  });
  const f = await frontend.waitForJson<{ port: number }>((v) => typeof v.port === 'number');
  return { frontendPid: frontend.child.pid!, backendPid: backend.child.pid!, port: f.port };
}

function finder(spans: ReceivedSpan[]) {
  const one = (pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(pred);
    if (found.length !== 1)
      throw new Error(
        `expected one ${what}, got ${found.length}: ${spans.map((s) => `${s.name}@${s.resource['service.name']}`).join(', ')}`,
      );
    return found[0];
  };
  const named = (name: string, service?: string) =>
    one((s) => s.name === name && (service === undefined || s.resource['service.name'] === service), `"${name}"`);
  const starting = (prefix: string) => one((s) => s.name.startsWith(prefix), `"${prefix}…"`);
  return { one, named, starting };
}

describe('slice API end to end', () => {
  it('HTTP + worker_threads: one trace, manual and automatic spans in one tree', async () => {
    const { frontendPid, backendPid, port } = await pipeline(false);
    const rid = 'chatcmpl-e2e-http-0001';
    const res = await fetch(`http://127.0.0.1:${port}/generate`, { method: 'POST', headers: { 'x-request-id': rid } });
    const info = (await res.json()) as { traceId: string; spanId: string };
    expect(info.traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = await receiver.waitForSpans({ where: (s) => s.traceId === info.traceId, count: 13 }, 20_000);
    expect(spans).toHaveLength(13);
    const { one, named, starting } = finder(spans);

    const server = one((s) => s.kind === SERVER && s.resource['service.name'] === 'frontend', 'frontend server span');
    const room = named('Bootstrap Room 0xabc');
    const root = named('prefill Req chatcmpl');
    const tokenizer = starting('tokenizer (host:slice-ho');
    const tokenize = named('tokenize');
    const client = one((s) => s.kind === CLIENT, 'client span');
    const postprocess = named('postprocess');
    const backendServer = one(
      (s) => s.kind === SERVER && s.resource['service.name'] === 'backend',
      'backend server span',
    );
    const scheduler = starting('scheduler [TP 0] [DP 0] (host:slice-ho');
    const prefill = named('prefill', 'backend');
    const decode = named('decode');
    const workerThread = starting('render-worker [TP 0]');
    const render = named('render');

    expect(server.parentSpanId).toBe('');
    expect(server.attributes.x_request_id).toBe(rid);
    // traceReqStart inside the handler: the request hangs under the HTTP server span, which it did not end.
    expect(room.parentSpanId).toBe(server.spanId);
    expect(root.parentSpanId).toBe(room.spanId);
    expect(info.spanId).toBe(root.spanId);
    expect(root.attributes).toMatchObject({ rid, outcome: 'ok' });
    expect(server.endTimeUnixNano).toBeGreaterThanOrEqual(root.endTimeUnixNano);
    expect(tokenizer.parentSpanId).toBe(root.spanId);
    expect(tokenizer.attributes).toMatchObject({ thread_label: 'tokenizer', host_id: 'slice-host', pid: frontendPid });
    expect(tokenize.parentSpanId).toBe(tokenizer.spanId);
    expect(postprocess.parentSpanId).toBe(tokenizer.spanId);
    expect(postprocess.links.map((l) => l.spanId)).toEqual([tokenize.spanId]);
    expect(tokenizer.endTimeUnixNano).toBe(postprocess.endTimeUnixNano);

    // The fetch made inside "tokenize" is its child; the backend's server span continues it.
    expect(client.parentSpanId).toBe(tokenize.spanId);
    expect(backendServer.parentSpanId).toBe(client.spanId);

    // The backend (no preload, processTracingInit) joined from the JSON context: its thread span hangs under the
    // root, and its first slice links to the slice that was open when the context was taken.
    expect(scheduler.resource['service.name']).toBe('backend');
    expect(scheduler.parentSpanId).toBe(root.spanId);
    expect(scheduler.attributes).toMatchObject({ thread_label: 'scheduler', tp_rank: 0, dp_rank: 0, pid: backendPid });
    expect(prefill.parentSpanId).toBe(scheduler.spanId);
    expect(prefill.links.map((l) => l.spanId)).toEqual([tokenize.spanId]);
    expect(decode.parentSpanId).toBe(scheduler.spanId);
    expect(decode.links.map((l) => l.spanId)).toEqual([prefill.spanId]);
    expect(decode.startTimeUnixNano).toBe(prefill.endTimeUnixNano);
    expect(decode.events.map((e) => [e.name, e.attributes])).toEqual([['first_token', { token: 1 }]]);
    expect(decode.attributes).toEqual({ tokens: 8 });

    // The worker_thread exported through its own pipeline; its thread span names the worker.
    expect(workerThread.parentSpanId).toBe(root.spanId);
    expect(workerThread.attributes).toMatchObject({ thread_label: 'render-worker', tp_rank: 0, pid: frontendPid });
    expect(workerThread.attributes.thread_id).toBeGreaterThan(0);
    expect(workerThread.name).toContain(`| tid:${workerThread.attributes.thread_id})`);
    expect(render.parentSpanId).toBe(workerThread.spanId);
    expect(render.links.map((l) => l.spanId)).toEqual([postprocess.spanId]);
    expect(render.events.map((e) => e.name)).toEqual(['rendered']);

    for (const s of spans) expect(s.status.code, s.name).toBe(0);
  });

  it('ZeroMQ: a message sent inside a slice carries the request; the receiver joins from the frames', async () => {
    const { port } = await pipeline(true);
    const rid = 'chatcmpl-e2e-zmq-0002';
    const res = await fetch(`http://127.0.0.1:${port}/generate`, { method: 'POST', headers: { 'x-request-id': rid } });
    const info = (await res.json()) as { traceId: string; spanId: string };
    const spans = await receiver.waitForSpans({ where: (s) => s.traceId === info.traceId, count: 17 }, 20_000);
    const { one, named, starting } = finder(spans);
    const postprocess = named('postprocess');
    const producer = one((s) => s.kind === PRODUCER, 'producer span');
    const consumer = one((s) => s.kind === CONSUMER, 'consumer span');
    const detokenizer = starting('detokenizer (host:slice-ho');
    const detokenize = named('detokenize');
    expect(producer.parentSpanId).toBe(postprocess.spanId);
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(detokenizer.parentSpanId).toBe(consumer.spanId);
    expect(detokenize.parentSpanId).toBe(detokenizer.spanId);
    expect(detokenize.links.map((l) => l.spanId)).toEqual([consumer.spanId]);
  });
});
