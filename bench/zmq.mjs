// ZeroMQ Push/Pull messages per second, producer and consumer in two processes (as in production): bare zeromq
// vs the agent tracing every message (a PRODUCER and a CONSUMER span per message, the context frame appended,
// spans exported over OTLP gRPC to the non-decoding sink). Contenders alternate round by round; medians.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cleanEnv, machineLine, median, root } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';
import { join } from 'node:path';

const warmup = 5_000;

export function zmqContenders(sink) {
  return [
    { name: 'bare zeromq', args: [], env: {} },
    {
      name: 'agent, every message traced + exported',
      args: ['--import', '@x/trace-agent'],
      env: { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    },
  ];
}

function start(script, args, contender) {
  const child = spawn(process.execPath, [...contender.args, join(root, 'bench', script), ...args], {
    cwd: root,
    env: { ...cleanEnv(), ...contender.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume(); // the agent's warnings (spans dropped when the exporter falls behind) stay out of the tables
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise((r) => child.once('exit', r));
  const next = () =>
    new Promise((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  return { next, exited };
}

async function once(contender, count) {
  const consumer = start('zmq-pull.cjs', [String(warmup), String(count)], contender);
  const { endpoint } = await consumer.next();
  const producer = start('zmq-push.cjs', [endpoint, String(warmup + count)], contender);
  const { msgPerSec } = await consumer.next();
  await Promise.all([producer.exited, consumer.exited]);
  return msgPerSec;
}

export async function measureZmq() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const count = Number(process.env.BENCH_ZMQ_MESSAGES ?? 50_000);
  const sink = await startSinkProcess();
  const contenders = zmqContenders(sink);
  const samples = contenders.map(() => []);
  for (let i = 0; i < rounds; i++) for (const [j, c] of contenders.entries()) samples[j].push(await once(c, count));
  const exported = await sink.close();
  return { rows: contenders.map((c, j) => ({ name: c.name, msgPerSec: median(samples[j]), runs: samples[j] })), exported, rounds, count };
}

export function printZmq({ rows, exported, rounds: r, count: n }) {
  console.log(`\nZeroMQ Push/Pull (${r} rounds x ${n.toLocaleString('en-US')} messages, medians; sink got ${exported.requests} exports)`);
  console.log('| contender | msgs/s | % of bare |');
  console.log('|---|---|---|');
  for (const row of rows) console.log(`| ${row.name} | ${row.msgPerSec.toFixed(0)} | ${((100 * row.msgPerSec) / rows[0].msgPerSec).toFixed(1)}% |`);
}

if (process.argv[1]?.endsWith('zmq.mjs')) {
  console.log(machineLine());
  printZmq(await measureZmq());
}
