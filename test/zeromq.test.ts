// ZeroMQ instrumentation, in process: real sockets on 127.0.0.1 and ipc://, a real TracerProvider.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  context,
  DiagLogLevel,
  diag,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  contextOf,
  decodeTraceFrame,
  encodeTraceFrame,
  withMessageContext,
  ZeroMqInstrumentation,
} from '../src/instrumentations/zeromq/index.js';
import { attachContext } from '../src/instrumentations/zeromq/message-context.js';
import { agentState } from '../src/state.js';
import { type Harness, setupTracing, waitFor, within } from './fixtures/zmq-harness/tracing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const plainPull = path.join(here, 'fixtures', 'zmq-plain', 'pull.cjs');

let h: Harness;
let ipcDir: string;
const opened: Array<{ close(): unknown; closed: boolean }> = [];

function track<T extends { close(): unknown; closed: boolean }>(socket: T): T {
  opened.push(socket);
  return socket;
}

const tracer = () => trace.getTracer('zeromq-test');
const hex = (frames: Buffer[]) => frames.map((f) => f.toString('hex'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function only(kind: SpanKind, spans = h.spans()): ReadableSpan[] {
  return spans.filter((s) => s.kind === kind);
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Runs fn inside a new active span that is ended afterwards; returns the span. */
async function inSpan(name: string, fn: () => Promise<unknown>): Promise<Span> {
  return tracer().startActiveSpan(name, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
    return span;
  });
}

beforeAll(() => {
  h = setupTracing();
  ipcDir = mkdtempSync(path.join(tmpdir(), 'zmq-test-'));
});

afterEach(() => {
  for (const s of opened.splice(0)) if (!s.closed) s.close();
  h.instrumentation.setConfig({ propagation: true });
  h.exporter.reset();
});

afterAll(() => {
  rmSync(ipcDir, { recursive: true, force: true });
});

async function pushPull(endpoint: string) {
  const push = track(new h.zmq.Push({ linger: 0 }));
  await push.bind(endpoint);
  const bound = push.lastEndpoint!;
  const pull = track(new h.zmq.Pull({ linger: 0 }));
  pull.connect(bound);
  return { push, pull, bound };
}

describe('zeromq: producer/consumer spans', () => {
  it("inside a trace the sampler drops: no spans, the send resolves as zeromq's own, the context still travels", async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 0,
    });
    const sent = context.with(unsampled, () => push.send(['job', '7']));
    await expect(sent).resolves.toBeUndefined();
    const msg = await within(pull.receive(), 'message');
    expect(hex(msg)).toEqual([Buffer.from('job').toString('hex'), Buffer.from('7').toString('hex')]);
    const received = trace.getSpanContext(contextOf(msg)!)!;
    expect(received.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(received.traceFlags & 1).toBe(0);
    expect(h.spans()).toEqual([]);
  });

  it('Push/Pull over tcp: CONSUMER is a child of PRODUCER, attributes set, frames intact', async () => {
    const { push, pull, bound } = await pushPull('tcp://127.0.0.1:*');
    expect(bound).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const frames = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), 'hello'];
    const outer = await inSpan('outer', () => push.send(frames));
    const got = await within(pull.receive(), 'message');

    expect(hex(got)).toEqual(['000102ff', '', Buffer.from('hello').toString('hex')]);
    expect(frames).toHaveLength(3); // the caller's array is not modified
    const [producer] = only(SpanKind.PRODUCER);
    const [consumer] = only(SpanKind.CONSUMER);
    expect(producer!.name).toBe(`send ${bound}`);
    expect(consumer!.name).toBe(`receive ${bound}`);
    expect(parentOf(producer!)).toBe(outer.spanContext().spanId);
    expect(parentOf(consumer!)).toBe(producer!.spanContext().spanId);
    expect(consumer!.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(producer!.attributes).toMatchObject({
      'messaging.system': 'zeromq',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': bound,
      'messaging.zeromq.socket.type': 'push',
      'messaging.zeromq.message.frame_count': 3,
      'messaging.message.body.size': 9,
    });
    expect(consumer!.attributes).toMatchObject({
      'messaging.system': 'zeromq',
      'messaging.operation.name': 'receive',
      'messaging.operation.type': 'receive',
      'messaging.destination.name': bound,
      'messaging.zeromq.socket.type': 'pull',
      'messaging.zeromq.message.frame_count': 3,
      'messaging.message.body.size': 9,
    });
  });

  it('Push/Pull over ipc in a temp dir', async () => {
    const endpoint = `ipc://${ipcDir}/push-pull.sock`;
    const { push, pull } = await pushPull(endpoint);
    const outer = await inSpan('outer', () => push.send(['ipc', Buffer.from([7])]));
    const got = await within(pull.receive(), 'message');
    expect(got.map((f) => f.toString('hex'))).toEqual([Buffer.from('ipc').toString('hex'), '07']);
    const [producer] = only(SpanKind.PRODUCER);
    const [consumer] = only(SpanKind.CONSUMER);
    expect(producer!.name).toBe(`send ${endpoint}`);
    expect(consumer!.name).toBe(`receive ${endpoint}`);
    expect(parentOf(consumer!)).toBe(producer!.spanContext().spanId);
    expect(consumer!.spanContext().traceId).toBe(outer.spanContext().traceId);
  });

  it('for await over a socket yields stripped messages with their context', async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    for (let i = 0; i < 3; i++) await push.send([`m${i}`]);
    const seen: string[][] = [];
    for await (const msg of pull) {
      seen.push(msg.map(String));
      expect(contextOf(msg)).toBeDefined();
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([['m0'], ['m1'], ['m2']]);
    const consumers = only(SpanKind.CONSUMER);
    const producers = only(SpanKind.PRODUCER);
    expect(consumers.map(parentOf)).toEqual(producers.map((p) => p.spanContext().spanId));
  });

  it('Pub/Sub with several topics: prefix filtering is unchanged', async () => {
    const pub = track(new h.zmq.Publisher({ linger: 0 }));
    await pub.bind('tcp://127.0.0.1:*');
    const subs = { a: track(new h.zmq.Subscriber({ linger: 0 })), b: track(new h.zmq.Subscriber({ linger: 0 })) };
    const got: Record<'a' | 'b', string[][]> = { a: [], b: [] };
    for (const key of ['a', 'b'] as const) {
      subs[key].subscribe(key, 'sync');
      subs[key].connect(pub.lastEndpoint!);
      void (async () => {
        for await (const msg of subs[key]) got[key].push(msg.map(String));
      })();
    }
    // Slow joiner: publish until both subscriptions have reached the publisher.
    for (let i = 0; i < 500 && !(got.a.length && got.b.length); i++) {
      await pub.send(['sync']);
      await sleep(10);
    }
    expect(got.a.length && got.b.length).toBeTruthy();
    for (const topic of ['a', 'b', 'ab', 'c', 'ba', 'aEND', 'bEND']) await pub.send([topic, `payload-${topic}`]);
    await waitFor(() => got.a.some((m) => m[0] === 'aEND') && got.b.some((m) => m[0] === 'bEND'), 'end markers');
    const data = (key: 'a' | 'b') => got[key].filter((m) => m[0] !== 'sync');
    expect(data('a')).toEqual([
      ['a', 'payload-a'],
      ['ab', 'payload-ab'],
      ['aEND', 'payload-aEND'],
    ]);
    expect(data('b')).toEqual([
      ['b', 'payload-b'],
      ['ba', 'payload-ba'],
      ['bEND', 'payload-bEND'],
    ]);
    // Every delivered copy continues the publisher's trace.
    const producers = new Map(only(SpanKind.PRODUCER).map((s) => [s.spanContext().spanId, s]));
    const consumers = only(SpanKind.CONSUMER);
    expect(consumers.length).toBeGreaterThanOrEqual(6);
    for (const c of consumers) expect(producers.has(parentOf(c)!)).toBe(true);
  });

  it('XPub/XSub: data is traced, subscription messages are never altered', async () => {
    const xpub = track(new h.zmq.XPublisher({ linger: 0 }));
    await xpub.bind('tcp://127.0.0.1:*');
    const xsub = track(new h.zmq.XSubscriber({ linger: 0 }));
    xsub.connect(xpub.lastEndpoint!);
    await xsub.send(Buffer.concat([Buffer.from([1]), Buffer.from('news')]));
    const subscription = await within(xpub.receive(), 'subscription');
    expect(hex(subscription)).toEqual([Buffer.concat([Buffer.from([1]), Buffer.from('news')]).toString('hex')]);
    expect(h.spans()).toHaveLength(0);
    await xpub.send(['news', 'today']);
    const got = await within(xsub.receive(), 'data');
    expect(got.map(String)).toEqual(['news', 'today']);
    const [producer] = only(SpanKind.PRODUCER);
    const [consumer] = only(SpanKind.CONSUMER);
    expect(producer!.attributes['messaging.zeromq.socket.type']).toBe('xpub');
    expect(parentOf(consumer!)).toBe(producer!.spanContext().spanId);
  });

  it('Pair over inproc, both directions', async () => {
    const a = track(new h.zmq.Pair({ linger: 0 }));
    const b = track(new h.zmq.Pair({ linger: 0 }));
    await a.bind('inproc://pair-test');
    b.connect('inproc://pair-test');
    await a.send('to-b');
    expect((await within(b.receive(), 'b')).map(String)).toEqual(['to-b']);
    await b.send(['to-a', '']);
    expect((await within(a.receive(), 'a')).map(String)).toEqual(['to-a', '']);
    expect(only(SpanKind.CONSUMER).map(parentOf)).toEqual(only(SpanKind.PRODUCER).map((p) => p.spanContext().spanId));
  });
});

describe('zeromq: replies', () => {
  it('Request/Reply: the reply send() is parented to the request it answers, with no user code', async () => {
    const rep = track(new h.zmq.Reply({ linger: 0 }));
    await rep.bind('tcp://127.0.0.1:*');
    const req = track(new h.zmq.Request({ linger: 0 }));
    req.connect(rep.lastEndpoint!);
    // The server runs outside any span: only the instrumentation can link its reply to the request.
    const server = context.with(ROOT_CONTEXT, async () => {
      for (let i = 0; i < 2; i++) {
        const [msg] = await rep.receive();
        await sleep(5);
        await rep.send(`pong:${String(msg)}`);
      }
    });
    const replies: string[][] = [];
    const clients: Span[] = [];
    for (const name of ['first', 'second']) {
      clients.push(
        await inSpan(name, async () => {
          await req.send(name);
          replies.push((await within(req.receive(), 'reply')).map(String));
        }),
      );
    }
    await within(server, 'server');
    expect(replies).toEqual([['pong:first'], ['pong:second']]);
    const spans = h.spans();
    for (const client of clients) {
      const inTrace = spans.filter((s) => s.spanContext().traceId === client.spanContext().traceId);
      const reqSend = inTrace.find(
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.zeromq.socket.type'] === 'req',
      )!;
      const repRecv = inTrace.find(
        (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'rep',
      )!;
      const repSend = inTrace.find(
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.zeromq.socket.type'] === 'rep',
      )!;
      const reqRecv = inTrace.find(
        (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'req',
      )!;
      expect(parentOf(reqSend)).toBe(client.spanContext().spanId);
      expect(parentOf(repRecv)).toBe(reqSend.spanContext().spanId);
      expect(parentOf(repSend)).toBe(repRecv.spanContext().spanId);
      expect(parentOf(reqRecv)).toBe(repSend.spanContext().spanId);
    }
  });

  it('Router/Dealer: replies reach the right peer and are parented per routing id', async () => {
    const router = track(new h.zmq.Router({ linger: 0 }));
    await router.bind('tcp://127.0.0.1:*');
    const dealers = {
      d1: track(new h.zmq.Dealer({ linger: 0, routingId: 'd1' })),
      d2: track(new h.zmq.Dealer({ linger: 0, routingId: 'd2' })),
    };
    dealers.d1.connect(router.lastEndpoint!);
    dealers.d2.connect(router.lastEndpoint!);
    const outer = {
      d1: await inSpan('req-d1', () => dealers.d1.send(['hello from d1', Buffer.alloc(0)])),
      d2: await inSpan('req-d2', () => dealers.d2.send(['hello from d2', Buffer.alloc(0)])),
    };
    const requests = await context.with(ROOT_CONTEXT, async () => [
      await within(router.receive(), 'r1'),
      await within(router.receive(), 'r2'),
    ]);
    for (const r of requests) {
      const id = String(r[0]);
      expect(r.map(String)).toEqual([id, `hello from ${id}`, '']);
    }
    // Reply in reverse order of arrival, from a context with no span.
    await context.with(ROOT_CONTEXT, async () => {
      for (const r of [...requests].reverse()) await router.send([r[0]!, `reply to ${String(r[0])}`]);
    });
    expect((await within(dealers.d1.receive(), 'd1 reply')).map(String)).toEqual(['reply to d1']);
    expect((await within(dealers.d2.receive(), 'd2 reply')).map(String)).toEqual(['reply to d2']);
    const spans = h.spans();
    for (const id of ['d1', 'd2'] as const) {
      const inTrace = spans.filter((s) => s.spanContext().traceId === outer[id].spanContext().traceId);
      const routerRecv = inTrace.find(
        (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'router',
      )!;
      const routerSend = inTrace.find(
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.zeromq.socket.type'] === 'router',
      )!;
      const dealerRecv = inTrace.find(
        (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.zeromq.socket.type'] === 'dealer',
      )!;
      expect(routerRecv).toBeDefined();
      expect(parentOf(routerSend)).toBe(routerRecv.spanContext().spanId);
      expect(parentOf(dealerRecv)).toBe(routerSend.spanContext().spanId);
    }
  });
});

describe('zeromq: frames on the wire', () => {
  it('multipart, binary, empty and odd frames arrive byte-identical', async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    const validLooking = encodeTraceFrame({
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      traceFlags: 1,
      traceState: '',
      baggage: '',
    })!;
    const markerButBroken = Buffer.concat([Buffer.from([0xff, 0x5a, 0x54, 0x43, 0x01]), Buffer.alloc(40, 7)]);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    const randomFrame = () => {
      const b = Buffer.alloc(Math.floor(rand() * 3) === 0 ? 0 : Math.floor(rand() * 300));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      return b;
    };
    const cases: Array<[unknown, string[]]> = [
      ['x', ['78']],
      [null, ['']],
      [[Buffer.alloc(0)], ['']],
      [
        [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)],
        ['', '', ''],
      ],
      [new Uint8Array([1, 2, 3]), ['010203']],
      [new Uint8Array([9, 8]).buffer, ['0908']],
      [42, [Buffer.from('42').toString('hex')]],
      [
        ['head', markerButBroken],
        [Buffer.from('head').toString('hex'), markerButBroken.toString('hex')],
      ],
      [
        [markerButBroken, 'tail'],
        [markerButBroken.toString('hex'), Buffer.from('tail').toString('hex')],
      ],
      // The application's own last frame is a valid context frame: ours goes after it, so it is delivered.
      [[validLooking], [validLooking.toString('hex')]],
      [
        ['body', validLooking],
        [Buffer.from('body').toString('hex'), validLooking.toString('hex')],
      ],
    ];
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    cases.push([
      [big, 'end'],
      [big.toString('hex'), Buffer.from('end').toString('hex')],
    ]);
    for (let n = 0; n < 60; n++) {
      const frames = Array.from({ length: 1 + Math.floor(rand() * 6) }, randomFrame);
      cases.push([frames, frames.map((f) => f.toString('hex'))]);
    }
    for (const [message, expected] of cases) {
      await push.send(message as Buffer[]);
      const got = await within(pull.receive(), 'message');
      expect(hex(got)).toEqual(expected);
    }
    // An empty multipart message sends nothing: no lone context frame may go out.
    await push.send([]);
    await push.send('after-empty');
    expect((await within(pull.receive(), 'after empty')).map(String)).toEqual(['after-empty']);
  });

  it('a peer without the agent sees the documented extra frame, or identical frames with propagation off', async () => {
    const push = track(new h.zmq.Push({ linger: 0 }));
    await push.bind('tcp://127.0.0.1:*');
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [plainPull, push.lastEndpoint!, '2'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const frames = [Buffer.from([0, 0xff]), Buffer.alloc(0), 'text'];
    await push.send(frames); // propagation on
    h.instrumentation.setConfig({ propagation: false });
    await push.send(frames);
    expect(await within(exited, 'plain peer', 15000)).toBe(0);
    expect(err).toBe('');
    const [withFrame, without] = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string[]);
    const sent = ['00ff', '', Buffer.from('text').toString('hex')];
    expect(without).toEqual(sent);
    expect(withFrame!.slice(0, 3)).toEqual(sent);
    expect(withFrame).toHaveLength(4);
    const decoded = decodeTraceFrame(Buffer.from(withFrame![3]!, 'hex'));
    const producers = only(SpanKind.PRODUCER);
    expect(producers).toHaveLength(2); // spans are recorded with propagation off too
    expect(decoded).toEqual({
      traceId: producers[0]!.spanContext().traceId,
      spanId: producers[0]!.spanContext().spanId,
      traceFlags: 1,
      traceState: '',
      baggage: '',
    });
  });

  it('propagation off: frames unchanged and spans still recorded', async () => {
    h.instrumentation.setConfig({ propagation: false });
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    await inSpan('outer', () => push.send(['a', 'b']));
    expect((await within(pull.receive(), 'message')).map(String)).toEqual(['a', 'b']);
    const [producer] = only(SpanKind.PRODUCER);
    const [consumer] = only(SpanKind.CONSUMER);
    expect(producer).toBeDefined();
    expect(consumer).toBeDefined();
    expect(consumer!.spanContext().traceId).not.toBe(producer!.spanContext().traceId);
  });

  it('tracestate and baggage cross the hop', async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    const { propagation } = await import('@opentelemetry/api');
    const bag = propagation.createBaggage({ tenant: { value: 'acme corp' }, rid: { value: 'r-1' } });
    await context.with(propagation.setBaggage(context.active(), bag), () => inSpan('outer', () => push.send('x')));
    const msg = await within(pull.receive(), 'message');
    const received = contextOf(msg)!;
    expect(propagation.getBaggage(received)?.getEntry('tenant')?.value).toBe('acme corp');
    expect(propagation.getBaggage(received)?.getEntry('rid')?.value).toBe('r-1');
  });

  it('Stream sockets are never altered and never traced', async () => {
    const stream = track(new h.zmq.Stream({ linger: 0 }));
    await stream.bind('tcp://127.0.0.1:*');
    const port = Number(stream.lastEndpoint!.split(':').pop());
    const client = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    client.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    const [id, empty] = await within(stream.receive(), 'connect notification');
    expect(empty!.length).toBe(0);
    client.write('hi');
    const [id2, data] = await within(stream.receive(), 'data');
    expect(id2!.equals(id!)).toBe(true);
    expect(String(data)).toBe('hi');
    await stream.send([id!, 'raw-bytes']);
    await waitFor(() => received.length >= 9, 'raw reply');
    expect(received.toString()).toBe('raw-bytes');
    client.destroy();
    expect(h.spans()).toHaveLength(0);
  });
});

describe('zeromq: errors', () => {
  it('a failed send is recorded on the PRODUCER span and rethrown unchanged', async () => {
    // No peer and a send timeout: zeromq rejects with EAGAIN, the message was not sent.
    const push = track(new h.zmq.Push({ linger: 0, sendTimeout: 20 }));
    await push.bind('tcp://127.0.0.1:*');
    const failure = await push.send('nobody listens').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((failure as { code?: string }).code).toBe('EAGAIN');
    const [producer] = only(SpanKind.PRODUCER);
    expect(producer!.status.code).toBe(SpanStatusCode.ERROR);
    expect(producer!.attributes['error.type']).toBe('EAGAIN');
    expect(producer!.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('a receive timeout (EAGAIN) records nothing; a synchronous error is rethrown unchanged and recorded', async () => {
    const pull = track(new h.zmq.Pull({ linger: 0, receiveTimeout: 20 }));
    await pull.bind('tcp://127.0.0.1:*');
    const timeout = await pull.receive().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((timeout as { code?: string }).code).toBe('EAGAIN');
    expect(h.spans()).toHaveLength(0);

    const busy = track(new h.zmq.Pull({ linger: 0 }));
    await busy.bind('tcp://127.0.0.1:*');
    const pending = busy.receive();
    let thrown: unknown;
    const before = Date.now();
    try {
      busy.receive();
    } catch (e) {
      thrown = e;
    }
    const after = Date.now();
    expect(String(thrown)).toMatch(/busy reading/);
    expect((thrown as { code?: string }).code).toBe('EBUSY');
    const [consumer] = only(SpanKind.CONSUMER);
    expect(consumer!.status.code).toBe(SpanStatusCode.ERROR);
    expect(consumer!.attributes['error.type']).toBe('EBUSY');
    // It starts when the failed receive was called (wall-clock ms, within a millisecond's rounding).
    const startMs = consumer!.startTime[0] * 1000 + consumer!.startTime[1] / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(before - 1);
    expect(startMs).toBeLessThanOrEqual(after + 1);
    busy.close();
    await pending.catch(() => undefined);
    expect(only(SpanKind.CONSUMER)).toHaveLength(1); // the receive aborted by close() is not an error
  });
});

describe('zeromq: continuing the trace on the receiving side', () => {
  it('contextOf / withMessageContext parent work to the CONSUMER span; the context rides invisibly on the array', async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    await inSpan('outer', () => push.send(['job', '1']));
    const msg = await within(pull.receive(), 'message');
    const [consumer] = only(SpanKind.CONSUMER);
    expect(trace.getSpanContext(contextOf(msg)!)?.spanId).toBe(consumer!.spanContext().spanId);
    // Invisible to the application: not enumerable, not in keys, JSON or deep equality.
    expect(Object.keys(msg)).toEqual(['0', '1']);
    expect(Object.getOwnPropertySymbols(msg)).toEqual([]);
    expect(Object.getOwnPropertyNames(msg)).toEqual(['0', '1', 'length']);
    expect(msg).toStrictEqual([Buffer.from('job'), Buffer.from('1')]);
    expect(JSON.stringify(msg)).toBe(JSON.stringify([Buffer.from('job'), Buffer.from('1')]));
    expect(msg).toEqual([Buffer.from('job'), Buffer.from('1')]);
    expect(contextOf([...msg])).toBeUndefined();
    // attached again (a frames array handed back in): the newer context wins
    const other = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 1,
    });
    const copy = [...msg];
    attachContext(copy, contextOf(msg)!);
    attachContext(copy, other);
    expect(contextOf(copy)).toBe(other);
    expect(contextOf({})).toBeUndefined();
    expect(contextOf('not an object')).toBeUndefined();
    const result = withMessageContext(msg, () => {
      tracer().startSpan('work').end();
      return 'done';
    });
    expect(result).toBe('done');
    const work = h.spans().find((s) => s.name === 'work')!;
    expect(parentOf(work)).toBe(consumer!.spanContext().spanId);
    // A further send from inside the message context continues the same trace.
    const next = await pushPull('tcp://127.0.0.1:*');
    await withMessageContext(msg, () => next.push.send('forwarded'));
    await within(next.pull.receive(), 'forwarded');
    const forwardProducer = only(SpanKind.PRODUCER).find((s) => s.attributes['messaging.message.body.size'] === 9)!;
    expect(forwardProducer.spanContext().traceId).toBe(consumer!.spanContext().traceId);
  });

  it('helpers are inert when the agent says tracing is off', async () => {
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    await push.send('x');
    const msg = await within(pull.receive(), 'message');
    agentState().tracing = false;
    try {
      expect(contextOf(msg)).toBeUndefined();
      expect(withMessageContext(msg, () => trace.getActiveSpan())).toBeUndefined();
    } finally {
      agentState().tracing = true;
    }
  });

  it('v5-compat: on("message") runs inside the message context; queued sends keep their own parents', async () => {
    const compat = h.requireCompat();
    const pull = compat.socket('pull');
    pull.setsockopt(compat.options.linger, 0);
    pull.bindSync('tcp://127.0.0.1:*');
    const endpoint = String(pull.getsockopt(compat.options.last_endpoint));
    const push = compat.socket('push');
    push.setsockopt(compat.options.linger, 0);
    push.connect(endpoint);
    track({
      close: () => pull.close(),
      get closed() {
        return pull.closed;
      },
    });
    track({
      close: () => push.close(),
      get closed() {
        return push.closed;
      },
    });
    const seen: Array<{ frames: string[]; active?: string; fromFirstFrame?: string }> = [];
    pull.on('message', (...frames: Buffer[]) => {
      const fromFirstFrame = trace.getSpanContext(contextOf(frames[0]) ?? ROOT_CONTEXT)?.spanId;
      seen.push({ frames: frames.map(String), active: trace.getActiveSpan()?.spanContext().spanId, fromFirstFrame });
    });
    // Three sends in a row: the first goes out at once, the other two wait in compat's queue.
    const outers = ['s1', 's2', 's3'].map((name) => {
      const span = tracer().startSpan(name);
      context.with(trace.setSpan(context.active(), span), () => push.send([name, Buffer.from([0])]));
      span.end();
      return span;
    });
    await waitFor(() => seen.length === 3, 'compat messages');
    expect(seen.map((s) => s.frames)).toEqual([
      ['s1', '\0'],
      ['s2', '\0'],
      ['s3', '\0'],
    ]);
    const spans = h.spans();
    outers.forEach((outer, i) => {
      const producer = spans.find((s) => s.kind === SpanKind.PRODUCER && parentOf(s) === outer.spanContext().spanId)!;
      expect(producer).toBeDefined();
      const consumer = spans.find(
        (s) => s.kind === SpanKind.CONSUMER && parentOf(s) === producer.spanContext().spanId,
      )!;
      expect(seen[i]!.active).toBe(consumer.spanContext().spanId);
      expect(seen[i]!.fromFirstFrame).toBe(consumer.spanContext().spanId);
    });
  });
});

describe('zeromq: patching', () => {
  it('patches once: a second instrumentation and a second require add no spans and no frames', async () => {
    const second = new ZeroMqInstrumentation();
    second.setTracerProvider(h.provider);
    const { createRequire } = await import('node:module');
    const again = createRequire(import.meta.url)('zeromq') as typeof h.zmq;
    expect(again.Socket).toBe(h.zmq.Socket);
    try {
      const { push, pull } = await pushPull('tcp://127.0.0.1:*');
      await push.send(['one']);
      expect((await within(pull.receive(), 'message')).map(String)).toEqual(['one']);
      expect(only(SpanKind.PRODUCER)).toHaveLength(1);
      expect(only(SpanKind.CONSUMER)).toHaveLength(1);
    } finally {
      second.disable();
    }
    // Disabling the instrumentation that does not own the patch leaves the sockets traced.
    const { push, pull } = await pushPull('tcp://127.0.0.1:*');
    await push.send(['two']);
    expect((await within(pull.receive(), 'message')).map(String)).toEqual(['two']);
    expect(only(SpanKind.PRODUCER)).toHaveLength(2);
  });

  it('an unknown major version is left alone with one warning', async () => {
    const warnings: string[] = [];
    diag.setLogger(
      {
        warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
        error: () => undefined,
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    try {
      // A zeromq 7 on disk: its index requires its native and compat files, as zeromq 6's do.
      const dir = mkdtempSync(path.join(tmpdir(), 'zmq-v7-'));
      const lib = path.join(dir, 'node_modules', 'zeromq', 'lib');
      mkdirSync(lib, { recursive: true });
      writeFileSync(path.join(lib, '..', 'package.json'), '{"name":"zeromq","version":"7.0.0","main":"lib/index.js"}');
      const socket =
        'exports.Socket = class Socket {}; exports.Socket.prototype.send = function send() { return "original"; };';
      writeFileSync(path.join(lib, 'native.js'), socket);
      writeFileSync(path.join(lib, 'compat.js'), socket);
      writeFileSync(
        path.join(lib, 'index.js'),
        'module.exports = { native: require("./native"), compat: require("./compat") };',
      );
      h.instrumentation.disable(); // so that the one below is the only one watching: one warning, not one each
      const inst = new ZeroMqInstrumentation();
      try {
        const { createRequire } = await import('node:module');
        const v7 = createRequire(path.join(dir, 'app.js'))('zeromq') as Record<
          string,
          { Socket: { prototype: { send: unknown } } }
        >;
        const v7Warnings = warnings.filter((w) => w.includes('zeromq 7.0.0 is not supported'));
        expect(v7Warnings, warnings.join('\n')).toHaveLength(1);
        for (const file of [v7.native!, v7.compat!]) {
          expect(String(file.Socket.prototype.send)).toContain('return "original"');
          expect(Object.getOwnPropertySymbols(file.Socket.prototype)).toEqual([]);
        }
      } finally {
        inst.disable();
        h.instrumentation.enable();
        rmSync(dir, { recursive: true, force: true });
      }
      // Enabled again, the harness's instrumentation patched the zeromq 6 already loaded.
      const marks = Object.getOwnPropertySymbols(h.zmq.Socket.prototype).map((sym) => sym.description);
      expect(marks).toContain('@x/trace-agent.zeromq.patched');
    } finally {
      diag.disable();
    }
  });
});
