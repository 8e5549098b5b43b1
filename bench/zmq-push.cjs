// ZeroMQ bench producer: connects a Push socket to argv[2] and sends argv[3] two-frame messages (a topic and a
// 64-byte body) as fast as zeromq takes them.
'use strict';
const zmq = require('zeromq');

async function main() {
  const [endpoint, total] = [process.argv[2], Number(process.argv[3])];
  const push = new zmq.Push({ linger: 5000, sendHighWaterMark: 10000 });
  push.connect(endpoint);
  const payload = [Buffer.from('topic'), Buffer.alloc(64, 1)];
  for (let i = 0; i < total; i++) await push.send(payload);
  push.close();
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\n');
  process.exit(1);
});
