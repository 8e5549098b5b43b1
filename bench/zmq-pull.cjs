// ZeroMQ bench consumer: binds a Pull socket, prints its endpoint, then times `count` messages after `warmup`
// and prints {msgPerSec, cpu} (cpu: the window's CPU seconds, main thread and whole process); with a third argument N > 0 it yields to the event loop after every N messages. Run with
// or without the agent preloaded (bench/zmq.mjs decides).
'use strict';
const { readFileSync } = require('node:fs');
const zmq = require('zeromq');

/** CPU seconds of this process's main thread (Linux per-thread accounting: utime + stime, 100 ticks/s). */
function mainThreadCpu() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function main() {
  const [warmup, count, yieldEvery = 0] = process.argv.slice(2).map(Number);
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 10000 });
  await pull.bind('tcp://127.0.0.1:*');
  process.stdout.write(`${JSON.stringify({ endpoint: pull.lastEndpoint })}\n`);
  for (let i = 1; i <= warmup; i++) {
    await pull.receive();
    if (yieldEvery > 0 && i % yieldEvery === 0) await new Promise(setImmediate);
  }
  const start = process.hrtime.bigint();
  const [main0, all0] = [mainThreadCpu(), process.cpuUsage()];
  for (let i = 1; i <= count; i++) {
    await pull.receive();
    if (yieldEvery > 0 && i % yieldEvery === 0) await new Promise(setImmediate);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const all = process.cpuUsage(all0);
  // CPU of the timed window: the main (app) thread's, and the whole process's (its other threads: the exporter
  // thread, libuv, V8's GC and compiler helpers).
  const cpu = { mainS: mainThreadCpu() - main0, processS: (all.user + all.system) / 1e6 };
  process.stdout.write(`${JSON.stringify({ count, seconds, msgPerSec: count / seconds, cpu })}\n`);
  pull.close();
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack)}\n`);
  process.exit(1);
});
