// The server side of one HTTP request without the network: Node's own IncomingMessage and ServerResponse, the
// `http.server.request.start` publication Node makes, the server's `request` event, then `finish` and `close`,
// in batches of 50 that yield to the event loop (so the span processor works as in a server). Prints the CPU
// ns per request. Isolates what an http instrumentation adds per request from the socket and kernel costs that
// dominate (and add noise to) an end-to-end benchmark. Run by bench/http-path.mjs.
'use strict';
const http = require('node:http');
const dc = require('node:diagnostics_channel');

const start = dc.channel('http.server.request.start');
const server = http.createServer((_req, res) => {
  res.statusCode = 200;
});
const socket = {
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  encrypted: false,
  on() {},
  once() {},
  removeListener() {},
};
const headers = { host: '127.0.0.1:3000', connection: 'keep-alive', 'user-agent': 'bench' };

function one() {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.headers = headers;
  const res = new http.ServerResponse(req);
  if (start.hasSubscribers) start.publish({ request: req, response: res, socket, server });
  server.emit('request', req, res);
  res.emit('finish');
  res.emit('close');
}

const n = Number(process.argv[2] ?? 50_000);
const tick = () => new Promise((r) => setImmediate(r));
(async () => {
  const samples = [];
  for (let round = 0; round < 4; round++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i += 50) {
      for (let j = 0; j < 50; j++) one();
      await tick();
    }
    const c = process.cpuUsage(c0);
    if (round > 0) samples.push(((c.user + c.system) * 1000) / n); // round 0 warms up the JIT
  }
  samples.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ cpuNsPerRequest: samples[1] })}\n`);
  process.exit(0);
})();
