// The app whose start-up is measured: an http server and a zeromq socket, ready, then closed.
const http = require('node:http');
const zmq = require('zeromq');

const push = new zmq.Push();
const server = http.createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', async () => {
  await push.bind('tcp://127.0.0.1:*');
  push.close();
  server.close();
  // Peak RSS in KiB, as the kernel counts it for this process.
  process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS })}\n`);
});
