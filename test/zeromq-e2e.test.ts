// ZeroMQ end to end: real processes started with `node --import/--require @x/trace-agent`, real sockets on
// tcp://127.0.0.1 and ipc://, spans decoded by the real OTLP receiver; plus pyzmq peers (examples/python-peer).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceFrame } from '../src/instrumentations/zeromq/propagator.js';
import { harness, agentEnv as tracedInto } from './helpers/harness.js';
import type { OtlpReceiver, ReceivedSpan } from './helpers/otlp-receiver.js';
import { type App, REPO_ROOT } from './helpers/run-app.js';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
const PYTHON = '/usr/bin/python3';
const PYTHON_PEER = path.join(REPO_ROOT, 'examples', 'python-peer');
const hasPyzmq = spawnSync(PYTHON, ['-c', 'import zmq'], { stdio: 'ignore' }).status === 0;

const h = harness();
let receiver: OtlpReceiver;
const dirs: string[] = [];

beforeAll(async () => {
  receiver = await h.receiver();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Front {
  app: App;
  port: number;
  endpoints: Record<'jobs' | 'results' | 'rpc' | 'pub' | 'router' | 'compat' | 'python' | 'pyjson', string>;
  service: string;
}

function agentEnv(service: string, extra: Record<string, string> = {}): Record<string, string> {
  return tracedInto(receiver, service, { OTEL_BSP_SCHEDULE_DELAY: '100', ...extra });
}

async function startFront(service: string, transport: string, extra: Record<string, string> = {}): Promise<Front> {
  let args = ['tcp'];
  if (transport === 'ipc') {
    const dir = mkdtempSync(path.join(tmpdir(), 'zmq-e2e-'));
    dirs.push(dir);
    args = ['ipc', dir];
  }
  const app = h.start('zmq-e2e/front.mjs', { env: agentEnv(service, extra), args });
  const info = await app.waitForJson<{ port: number; endpoints: Front['endpoints'] }>(
    (v) => typeof v.port === 'number',
  );
  return { app, service, ...info };
}

async function get(front: Front, route: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${front.port}/${route}`, { signal: AbortSignal.timeout(15_000) });
  expect(res.status, `${route}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const inService = (service: string) => (s: ReceivedSpan) => s.resource['service.name'] === service;
const pathOf = (s: ReceivedSpan) => String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '');

/** The single span of a trace matching `where`; fails listing the trace otherwise. */
function one(trace: ReceivedSpan[], what: string, where: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = trace.filter(where);
  expect(
    found,
    `${what} in\n${trace.map((s) => `${s.name} ${s.kindName} ${s.resource['service.name']}`).join('\n')}`,
  ).toHaveLength(1);
  return found[0]!;
}

async function traceOf(root: (s: ReceivedSpan) => boolean, size: number): Promise<ReceivedSpan[]> {
  const [first] = await receiver.waitForSpans(root);
  return receiver.waitForSpans({ where: (s) => s.traceId === first!.traceId, count: size });
}

describe.each(['tcp', 'ipc'])('two agent processes over %s', (transport) => {
  let front: Front;
  let worker: App;
  let compat: App;
  const frontService = `zmq-front-${transport}`;
  const workerService = `zmq-worker-${transport}`;
  const compatService = `zmq-compat-${transport}`;

  beforeAll(async () => {
    front = await startFront(frontService, transport);
    // CommonJS worker preloaded with --require; the v5-compat one with --import.
    worker = h.start('zmq-e2e/worker.cjs', {
      nodeArgs: ['--require', '@x/trace-agent'],
      env: agentEnv(workerService),
      args: [JSON.stringify(front.endpoints)],
    });
    compat = h.start('zmq-e2e/worker-compat.cjs', {
      env: agentEnv(compatService),
      args: [front.endpoints.compat, String(front.port)],
    });
    await worker.waitForJson((v) => v.ready === true);
    await compat.waitForJson((v) => v.ready === true);
  });

  it('HTTP -> ZMQ -> ZMQ -> HTTP is one trace with producer -> consumer parentage; frames intact', async () => {
    const id = `chain-${transport}`;
    await get(front, `chain?id=${id}`);
    const job = await worker.waitForJson<{ job: string[] }>((v) => Array.isArray(v.job));
    expect(job.job).toEqual([Buffer.from('job').toString('hex'), Buffer.from(id).toString('hex'), '00ff', '']);

    const trace = await traceOf((s) => inService(frontService)(s) && s.kind === SERVER && pathOf(s) === '/chain', 7);
    const start = one(trace, 'SERVER /chain', (s) => s.kind === SERVER && pathOf(s) === '/chain');
    const send1 = one(trace, 'front PRODUCER', (s) => inService(frontService)(s) && s.kind === PRODUCER);
    const recv1 = one(trace, 'worker CONSUMER', (s) => inService(workerService)(s) && s.kind === CONSUMER);
    const send2 = one(trace, 'worker PRODUCER', (s) => inService(workerService)(s) && s.kind === PRODUCER);
    const recv2 = one(trace, 'front CONSUMER', (s) => inService(frontService)(s) && s.kind === CONSUMER);
    const client = one(trace, 'front CLIENT', (s) => s.kind === CLIENT);
    const sink = one(trace, 'SERVER /sink', (s) => s.kind === SERVER && pathOf(s) === '/sink');
    expect(send1.parentSpanId).toBe(start.spanId);
    expect(recv1.parentSpanId).toBe(send1.spanId);
    expect(send2.parentSpanId).toBe(recv1.spanId);
    expect(recv2.parentSpanId).toBe(send2.spanId);
    expect(client.parentSpanId).toBe(recv2.spanId);
    expect(sink.parentSpanId).toBe(client.spanId);

    expect(send1.name).toBe(`send ${front.endpoints.jobs}`);
    expect(recv1.name).toBe(`receive ${front.endpoints.jobs}`);
    expect(send1.attributes).toMatchObject({
      'messaging.system': 'zeromq',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': front.endpoints.jobs,
      'messaging.zeromq.socket.type': 'push',
      'messaging.zeromq.message.frame_count': 4,
      'messaging.message.body.size': 3 + id.length + 2,
    });
    expect(recv1.attributes).toMatchObject({
      'messaging.operation.name': 'receive',
      'messaging.operation.type': 'receive',
      'messaging.zeromq.socket.type': 'pull',
      'messaging.zeromq.message.frame_count': 4,
    });
    // The consumer starts when the message is delivered: after the producer started (the hop).
    expect(recv1.startTimeUnixNano >= send1.startTimeUnixNano).toBe(true);
  });

  it('Request/Reply: binary multipart frames round-trip intact and the reply is parented with no code', async () => {
    const id = `rpc-${transport}`;
    const body = (await get(front, `rpc?id=${id}`)) as { sent: string[]; reply: string[] };
    expect(body.reply).toEqual([Buffer.from('echo').toString('hex'), ...body.sent]);
    expect(body.sent).toContain('');

    const trace = await traceOf((s) => inService(frontService)(s) && s.kind === SERVER && pathOf(s) === '/rpc', 5);
    const start = one(trace, 'SERVER /rpc', (s) => s.kind === SERVER);
    const reqSend = one(
      trace,
      'req send',
      (s) => s.attributes['messaging.zeromq.socket.type'] === 'req' && s.kind === PRODUCER,
    );
    const repRecv = one(
      trace,
      'rep receive',
      (s) => s.attributes['messaging.zeromq.socket.type'] === 'rep' && s.kind === CONSUMER,
    );
    const repSend = one(
      trace,
      'rep send',
      (s) => s.attributes['messaging.zeromq.socket.type'] === 'rep' && s.kind === PRODUCER,
    );
    const reqRecv = one(
      trace,
      'req receive',
      (s) => s.attributes['messaging.zeromq.socket.type'] === 'req' && s.kind === CONSUMER,
    );
    expect(reqSend.parentSpanId).toBe(start.spanId);
    expect(repRecv.parentSpanId).toBe(reqSend.spanId);
    expect(repSend.parentSpanId).toBe(repRecv.spanId);
    expect(reqRecv.parentSpanId).toBe(repSend.spanId);
    expect(repSend.resource['service.name']).toBe(workerService);
  });

  it('Pub/Sub across processes: topic filtering unchanged, each delivery continues the publisher trace', async () => {
    // Slow joiner: publish until the subscription has reached the publisher (bounded).
    let warmed = false;
    for (let i = 0; i < 100 && !warmed; i++) {
      await get(front, `publish?tag=warm-${i}`);
      await new Promise((r) => setTimeout(r, 50));
      warmed = worker.stdout.some((line) => line.includes('"topic"'));
    }
    expect(warmed).toBe(true);
    const tag = `final-${transport}`;
    await get(front, `publish?tag=${tag}`);
    await worker.waitForJson<{ topic: string; tag: string }>((v) => v.topic === 'alphabet' && v.tag === tag);
    await new Promise((r) => setTimeout(r, 200)); // anything wrongly delivered would have arrived by now
    const delivered = worker.stdout
      .map((line) => JSON.parse(line) as { topic?: string; tag?: string })
      .filter((v) => v.tag === tag)
      .map((v) => v.topic);
    expect(delivered).toEqual(['alpha', 'alphabet']);

    const trace = await traceOf(
      (s) =>
        inService(frontService)(s) &&
        s.kind === SERVER &&
        pathOf(s) === '/publish' &&
        String(s.attributes['url.query'] ?? '').includes(tag),
      7,
    );
    const producers = trace.filter((s) => s.kind === PRODUCER);
    const consumers = trace.filter((s) => s.kind === CONSUMER);
    expect(producers).toHaveLength(4);
    expect(consumers).toHaveLength(2);
    for (const c of consumers) {
      expect(producers.map((p) => p.spanId)).toContain(c.parentSpanId);
      expect(c.attributes['messaging.zeromq.socket.type']).toBe('sub');
    }
  });

  it('Router/Dealer across processes: each dealer gets its own reply, parented per routing id', async () => {
    for (const id of ['dealer-1', 'dealer-2']) {
      const line = await worker.waitForJson<{ dealer: string; reply: string[] }>((v) => v.dealer === id);
      expect(line.reply).toEqual([`reply-to-${id}`, `question-${id}`]);
    }
    const dealerSends = await receiver.waitForSpans({
      where: (s) =>
        inService(workerService)(s) && s.kind === PRODUCER && s.attributes['messaging.zeromq.socket.type'] === 'dealer',
      count: 2,
    });
    for (const send of dealerSends) {
      const trace = await receiver.waitForSpans({ where: (s) => s.traceId === send.traceId, count: 4 });
      const routerRecv = one(
        trace,
        'router receive',
        (s) => s.kind === CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'router',
      );
      const routerSend = one(
        trace,
        'router send',
        (s) => s.kind === PRODUCER && s.attributes['messaging.zeromq.socket.type'] === 'router',
      );
      const dealerRecv = one(
        trace,
        'dealer receive',
        (s) => s.kind === CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'dealer',
      );
      expect(routerRecv.parentSpanId).toBe(send.spanId);
      expect(routerSend.parentSpanId).toBe(routerRecv.spanId);
      expect(dealerRecv.parentSpanId).toBe(routerSend.spanId);
    }
  });

  it('v5-compat on("message"): work done in the callback joins the trace with zero code', async () => {
    const id = `compat-${transport}`;
    await get(front, `compat?id=${id}`);
    const line = await compat.waitForJson<{ compat: string[] }>((v) => Array.isArray(v.compat));
    expect(line.compat).toEqual(['compat', id]);
    const trace = await traceOf((s) => inService(frontService)(s) && s.kind === SERVER && pathOf(s) === '/compat', 5);
    const send = one(trace, 'front PRODUCER', (s) => s.kind === PRODUCER);
    const recv = one(trace, 'compat CONSUMER', (s) => inService(compatService)(s) && s.kind === CONSUMER);
    const client = one(trace, 'compat CLIENT', (s) => inService(compatService)(s) && s.kind === CLIENT);
    const sink = one(trace, 'SERVER /sink', (s) => s.kind === SERVER && pathOf(s) === '/sink');
    expect(recv.parentSpanId).toBe(send.spanId);
    expect(client.parentSpanId).toBe(recv.spanId);
    expect(sink.parentSpanId).toBe(client.spanId);
  });
});

// CI installs python3-zmq (.ci/run) and sets REQUIRE_REAL_SERVERS=1: there a missing pyzmq fails instead of skipping.
describe.skipIf(!hasPyzmq && process.env.REQUIRE_REAL_SERVERS !== '1')('pyzmq peers (examples/python-peer)', () => {
  interface PyRecord {
    json?: unknown;
    error?: string;
    frames: string[];
    context?: { trace_id: string; span_id: string } | null;
    sent?: { trace_id: string; span_id: string } | null;
  }

  function python(args: string[]): { records: Promise<PyRecord[]> } {
    const child = spawn(PYTHON, ['peer.py', ...args], { cwd: PYTHON_PEER, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const records = new Promise<PyRecord[]>((resolve, reject) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0)
          resolve(
            out
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as PyRecord),
          );
        else reject(new Error(`peer.py ${args.join(' ')} exited ${code}: ${err}`));
      }),
    );
    return { records };
  }

  const sent = (id: string) => [Buffer.from('py').toString('hex'), Buffer.from(id).toString('hex'), '0001fe'];

  it('propagation on: a plain pyzmq peer sees the documented extra frame, which carries the trace', async () => {
    const front = await startFront('zmq-front-py-on', 'tcp');
    const peer = python(['pull', front.endpoints.python, '1', '--raw']);
    await get(front, 'python?id=on');
    const [record] = await peer.records;
    expect(record!.frames.slice(0, 3)).toEqual(sent('on'));
    expect(record!.frames).toHaveLength(4);
    const decoded = decodeTraceFrame(Buffer.from(record!.frames[3]!, 'hex'));
    const [producer] = await receiver.waitForSpans((s) => inService('zmq-front-py-on')(s) && s.kind === PRODUCER);
    expect(decoded).toMatchObject({ traceId: producer!.traceId, spanId: producer!.spanId, traceFlags: 1 });
  });

  it('propagation off: a pyzmq peer sees exactly the frames sent; spans are still recorded', async () => {
    const front = await startFront('zmq-front-py-off', 'tcp', { TRACES_ZMQ_PROPAGATION: 'off' });
    const peer = python(['pull', front.endpoints.python, '1', '--raw']);
    await get(front, 'python?id=off');
    const [record] = await peer.records;
    expect(record!.frames).toEqual(sent('off'));
    await receiver.waitForSpans((s) => inService('zmq-front-py-off')(s) && s.kind === PRODUCER);
  });

  describe('TRACES_ZMQ_PROPAGATION by endpoint: a recv_json() peer beside a peer that reads the frame', () => {
    async function run(service: string, env: Record<string, string>, reads = 3) {
      const front = await startFront(service, 'ipc', env);
      const json = python(['json', front.endpoints.pyjson, String(reads)]);
      const raw = python(['pull', front.endpoints.python, '1', '--raw']);
      for (const id of ['a', 'b', 'c']) await get(front, `pyjson?id=${id}`);
      await get(front, 'python?id=raw');
      return { front, json: await json.records.catch((e: Error) => e), raw: (await raw.records)[0]! };
    }

    it.each([
      ['excluded by pattern', { TRACES_ZMQ_PROPAGATION: '!ipc://*/pyjson.sock' }],
      ['not among the included', { TRACES_ZMQ_PROPAGATION: 'ipc://*/python.sock, tcp://*' }],
    ])('%s: the JSON peer reads every message; the other peer still gets the trace', async (_, env) => {
      const service = `zmq-front-py-rule-${env.TRACES_ZMQ_PROPAGATION.startsWith('!') ? 'ex' : 'in'}`;
      const { json, raw } = await run(service, env);
      expect(json).toEqual([{ json: { id: 'a' } }, { json: { id: 'b' } }, { json: { id: 'c' } }]);
      expect(raw.frames).toHaveLength(4); // its endpoint keeps the frame: it continues the trace
      const producers = await receiver.waitForSpans({
        where: (s) => inService(service)(s) && s.kind === PRODUCER,
        count: 4,
      });
      expect(producers.filter((s) => s.name.endsWith('pyjson.sock'))).toHaveLength(3); // still traced, no frame
      const decoded = decodeTraceFrame(Buffer.from(raw.frames[3]!, 'hex'));
      expect(producers.find((s) => s.name.endsWith('python.sock'))).toMatchObject({ spanId: decoded!.spanId });
    });

    it('control: with the frame on every socket, recv_json() takes the frame for the next message', async () => {
      // Six reads for three messages: each message arrives as two, the second of which is no JSON.
      const { json } = await run('zmq-front-py-rule-all', {}, 6);
      const broken = { error: 'UnicodeDecodeError' };
      expect(json).toEqual([
        { json: { id: 'a' } },
        broken,
        { json: { id: 'b' } },
        broken,
        { json: { id: 'c' } },
        broken,
      ]);
    });
  });

  it("traceGetProcPropagateContext's dict, as JSON, continues the trace in an SGLang-style Python worker, ids exact", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sglang-'));
    dirs.push(dir);
    const service = 'zmq-front-sglang';
    const app = h.start('sglang-front.mjs', {
      env: agentEnv(service, { TRACES_ZMQ_PROPAGATION: '!ipc://*/sglang-*.sock' }), // the worker reads recv_json()
      args: [dir],
    });
    const { out, back } = await app.waitForJson<{ out: string; back: string }>((v) => 'out' in v);
    const peer = python(['sglang', out, back, '1']);
    const result = await app.waitForJson<{
      recovered: Record<string, unknown>;
      info: { traceId: string; spanId: string };
      prev: { traceId: string; spanId: string };
    }>((v) => 'recovered' in v);
    await peer.records;
    const [slice] = await receiver.waitForSpans((s) => inService(service)(s) && s.name === 'PREPROCESS');
    const [root] = await receiver.waitForSpans((s) => inService(service)(s) && s.name === 'Req sglang-r');
    // Python read the ids as ints (128-bit trace id, 64-bit span id) and they name the spans Node exported.
    expect(result.recovered).toEqual({
      rid: 'sglang-rid-1',
      trace_id: root!.traceId,
      root_span_id: root!.spanId,
      prev_trace_id: slice!.traceId,
      prev_span_id: slice!.spanId,
      ints: true,
    });
    expect(result.info).toEqual({ traceId: root!.traceId, spanId: root!.spanId });
  });

  it('a pyzmq relay reads the frame, recovers the trace id and continues the trace back into Node', async () => {
    const front = await startFront('zmq-front-py-relay', 'tcp');
    const peer = python(['relay', front.endpoints.python, front.endpoints.results, '1']);
    await get(front, 'python?id=relay&wait=1');
    const [record] = await peer.records;
    expect(record!.frames).toEqual(sent('relay'));
    const trace = await traceOf(
      (s) => inService('zmq-front-py-relay')(s) && s.kind === SERVER && pathOf(s) === '/python',
      5,
    );
    const producer = one(trace, 'front PRODUCER', (s) => s.kind === PRODUCER);
    expect(record!.context).toMatchObject({ trace_id: producer.traceId, span_id: producer.spanId });
    const consumer = one(trace, 'front CONSUMER', (s) => s.kind === CONSUMER);
    // The Node consumer's parent is the span the Python peer reported sending from.
    expect(consumer.parentSpanId).toBe(record!.sent!.span_id);
    expect(record!.sent!.trace_id).toBe(producer.traceId);
    const sink = one(trace, 'SERVER /sink', (s) => s.kind === SERVER && pathOf(s) === '/sink');
    expect(sink.traceId).toBe(producer.traceId);
  });
});
