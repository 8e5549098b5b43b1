// ZeroMQ bench consumer: binds a Pull socket, prints its endpoint, then times `count` messages after `warmup`
// and prints {msgPerSec}; with a third argument N > 0 it yields to the event loop after every N messages. Run with
// or without the agent preloaded (bench/zmq.mjs decides).
'use strict';
const zmq = require('zeromq');

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
  for (let i = 1; i <= count; i++) {
    await pull.receive();
    if (yieldEvery > 0 && i % yieldEvery === 0) await new Promise(setImmediate);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ count, seconds, msgPerSec: count / seconds })}\n`);
  pull.close();
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack)}\n`);
  process.exit(1);
});
