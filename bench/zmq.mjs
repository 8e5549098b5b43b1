// ZeroMQ Push/Pull messages per second, producer and consumer in two processes (as in production): bare zeromq
// vs the agent tracing every message (a PRODUCER and a CONSUMER span per message, the context frame appended,
// spans exported over OTLP gRPC to the non-decoding sink). Contenders alternate round by round; medians.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanEnv, machineLine, median, root } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';

// The timed window starts after this many messages: as the HTTP benchmark's one-second warm-up does, it leaves
// out one-time costs (JIT, the connection, and the agent's OTLP exporter, loaded on the first export: ~150 ms of
// main-thread time in each process). With 5 000 the window began ~0.1 s in and took those costs in.
const warmup = () => Number(process.env.BENCH_ZMQ_WARMUP ?? 50_000);

// The second pair's producer and consumer yield to the event loop every this many messages, as services whose
// messages come from I/O do; the first pair never yields, so the agent's exporter only runs when the queue is full.
const yieldEvery = () => Number(process.env.BENCH_ZMQ_YIELD_EVERY ?? 100);

export const RECORDED_ONLY = 'agent, recorded only: every message traced, not exported (TRACES_EXPORTER=none)';
export const EXPORTER_THREAD = 'agent, every message traced + exported (exporter thread, the default)';
export const BATCH_PROCESSOR = 'agent, batch processor (TRACES_EXPORT_THREAD=false)';

/**
 * The app thread's CPU per exported span (issue 22): the consumer's main-thread CPU per message (one CONSUMER span
 * each) less that of the same agent recording the spans without exporting them, never yielding.
 */
export function exportCpuPerSpan(rows, name) {
  const recorded = rows.find((r) => r.name === RECORDED_ONLY);
  const row = rows.find((r) => r.name === name);
  return row.mainUs - recorded.mainUs;
}

export function zmqContenders(sink) {
  const bare = { args: [], env: {} };
  const threaded = {
    args: ['--import', '@x/trace-agent'],
    env: { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
  };
  // TRACES_EXPORT_THREAD=false (issue 22): a batch processor on the app's thread instead of the exporter thread.
  const batch = { ...threaded, env: { ...threaded.env, TRACES_EXPORT_THREAD: 'false' } };
  const recordedOnly = { ...threaded, env: { ...threaded.env, TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } };
  const every = yieldEvery();
  return [
    { name: 'bare zeromq', ...bare, yieldEvery: 0 },
    { name: BATCH_PROCESSOR, ...batch, yieldEvery: 0 },
    { name: EXPORTER_THREAD, ...threaded, yieldEvery: 0 },
    { name: `bare zeromq, yielding every ${every}`, ...bare, yieldEvery: every, baseline: 3 },
    { name: `agent, batch processor, yielding every ${every}`, ...batch, yieldEvery: every, baseline: 3 },
    { name: `agent, exporter thread, yielding every ${every}`, ...threaded, yieldEvery: every, baseline: 3 },
    // Spans made and ended but given to no exporter: the app thread's CPU against it is what exporting costs it.
    { name: RECORDED_ONLY, ...recordedOnly, yieldEvery: 0 },
  ];
}

function start(script, args, contender) {
  const child = spawn(process.execPath, [...contender.args, join(root, 'bench', script), ...args], {
    cwd: root,
    env: { ...cleanEnv(), ...contender.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The agent's warnings stay out of the tables; its count of spans dropped by the bounded queue is kept for them.
  let dropped = 0;
  child.stderr.setEncoding('utf8').on('data', (text) => {
    for (const m of text.matchAll(/(\d+) span\(s\) dropped/g)) dropped += Number(m[1]);
  });
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise((r) => child.once('exit', r)).then(() => dropped);
  const next = () =>
    new Promise((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  return { next, exited };
}

async function once(contender, count) {
  const total = warmup() + count;
  const consumer = start('zmq-pull.cjs', [String(warmup()), String(count), String(contender.yieldEvery)], contender);
  const { endpoint } = await consumer.next();
  const producer = start('zmq-push.cjs', [endpoint, String(total), String(contender.yieldEvery)], contender);
  const { msgPerSec, cpu } = await consumer.next();
  const dropped = (await producer.exited) + (await consumer.exited);
  return {
    msgPerSec,
    dropped,
    spans: contender.args.length ? 2 * total : 0,
    mainUs: (1e6 * cpu.mainS) / count,
    processUs: (1e6 * cpu.processS) / count,
  };
}

export async function measureZmq() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const count = Number(process.env.BENCH_ZMQ_MESSAGES ?? 200_000);
  const sink = await startSinkProcess();
  const contenders = zmqContenders(sink);
  const samples = contenders.map(() => []);
  const cpu = contenders.map(() => ({ main: [], process: [] }));
  const dropped = contenders.map(() => ({ dropped: 0, spans: 0 }));
  for (let i = 0; i < rounds; i++) {
    for (const [j, c] of contenders.entries()) {
      const r = await once(c, count);
      samples[j].push(r.msgPerSec);
      cpu[j].main.push(r.mainUs);
      cpu[j].process.push(r.processUs);
      dropped[j].dropped += r.dropped;
      dropped[j].spans += r.spans;
    }
  }
  const exported = await sink.close();
  const rows = contenders.map((c, j) => ({
    name: c.name,
    baseline: c.baseline ?? 0,
    msgPerSec: median(samples[j]),
    runs: samples[j],
    mainUs: median(cpu[j].main),
    processUs: median(cpu[j].process),
    ...dropped[j],
  }));
  return { rows, exported, rounds, count };
}

export function printZmq({ rows, exported, rounds: r, count: n }) {
  console.log(
    `\nZeroMQ Push/Pull (${r} rounds x ${n.toLocaleString('en-US')} messages after ${warmup().toLocaleString('en-US')} of warm-up, medians; sink got ${exported.requests} exports)`,
  );
  // A producer that never yields to the event loop (await on sends that complete at once) starves the exporter:
  // the agent's bounded span queue then drops what it cannot send, and the table says how much. Each agent row is
  // compared with the bare row of the same shape (never yielding / yielding).
  // CPU per message in the consumer (one CONSUMER span each), from Linux's per-thread accounting: the app's (main)
  // thread, and the process's other threads (the exporter thread, GC helpers); the added cost is against bare's.
  console.log(
    '| contender | msgs/s | % of bare | spans dropped by the bounded queue | consumer CPU µs/msg: app thread (added) / other threads |',
  );
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    const drops = row.spans
      ? `${row.dropped.toLocaleString('en-US')} of ${row.spans.toLocaleString('en-US')} (${((100 * row.dropped) / row.spans).toFixed(0)}%)`
      : '—';
    const base = rows[row.baseline];
    const cpu = `${row.mainUs.toFixed(2)} (${row === base ? '—' : `+${(row.mainUs - base.mainUs).toFixed(2)}`}) / ${(row.processUs - row.mainUs).toFixed(2)}`;
    console.log(
      `| ${row.name} | ${row.msgPerSec.toFixed(0)} | ${((100 * row.msgPerSec) / base.msgPerSec).toFixed(1)}% | ${drops} | ${cpu} |`,
    );
  }
  const perSpan = (name) => exportCpuPerSpan(rows, name).toFixed(2);
  console.log(
    `App-thread CPU per exported span (never yielding, against spans recorded but not exported): exporter thread ${perSpan(EXPORTER_THREAD)} µs, batch processor ${perSpan(BATCH_PROCESSOR)} µs (it drops most spans before encoding them)`,
  );
}

if (process.argv[1]?.endsWith('zmq.mjs')) {
  console.log(machineLine());
  printZmq(await measureZmq());
}
