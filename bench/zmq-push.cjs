// ZeroMQ bench producer: connects a Push socket to argv[2] and sends argv[3] two-frame messages (a topic and a
// 64-byte body) as fast as zeromq takes them; with argv[4] = N > 0 it yields to the event loop after every N sends,
// as a producer whose messages come from I/O does (otherwise it never does: each send completes at once).
'use strict';
const zmq = require('zeromq');

async function main() {
  const [endpoint, total, yieldEvery] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 0)];
  const push = new zmq.Push({ linger: 5000, sendHighWaterMark: 10000 });
  push.connect(endpoint);
  const payload = [Buffer.from('topic'), Buffer.alloc(64, 1)];
  for (let i = 1; i <= total; i++) {
    await push.send(payload);
    if (yieldEvery > 0 && i % yieldEvery === 0) await new Promise(setImmediate);
  }
  push.close();
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack)}\n`);
  process.exit(1);
});
