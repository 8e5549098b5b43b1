// A hello-world HTTP service on $PORT. BENCH_CONSOLE_LOG=1 adds one console.log per request.
const http = require('node:http');

const log = process.env.BENCH_CONSOLE_LOG === '1';
const server = http.createServer((req, res) => {
  if (log) console.log('handled', req.url);
  res.end('hello world');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
