// An OTLP sink for benchmarks: accepts gRPC (HTTP/2) and HTTP exports and answers success WITHOUT decoding,
// so the collector side costs next to nothing of the machine's two cores.
import http from 'node:http';
import http2 from 'node:http2';

// A gRPC message frame: uncompressed flag + 4-byte length 0 = an empty Export*ServiceResponse.
const EMPTY_GRPC_MESSAGE = Buffer.alloc(5);

export async function startSink() {
  let requests = 0;
  let bytes = 0;
  const grpc = http2.createServer();
  grpc.on('stream', (stream) => {
    stream.on('data', (chunk) => (bytes += chunk.length));
    stream.on('end', () => {
      requests++;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(EMPTY_GRPC_MESSAGE);
    });
    stream.on('error', () => {});
  });
  const web = http.createServer((req, res) => {
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end();
    });
  });
  await Promise.all([
    new Promise((r) => grpc.listen(0, '127.0.0.1', r)),
    new Promise((r) => web.listen(0, '127.0.0.1', r)),
  ]);
  return {
    grpcUrl: `http://127.0.0.1:${grpc.address().port}`,
    httpUrl: `http://127.0.0.1:${web.address().port}`,
    stats: () => ({ requests, bytes }),
    close: () => Promise.all([new Promise((r) => grpc.close(r)), new Promise((r) => web.close(r))]),
  };
}

/**
 * The sink in a process of its own, so that receiving the exports does not block the load generator's event loop
 * (autocannon runs in the benchmark's process; a 200 KB export handled there stalls all its connections).
 * Resolves with { grpcUrl, httpUrl, close(): Promise<{ requests, bytes }> }.
 */
export async function startSinkProcess() {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', (l) => resolve(JSON.parse(l))));
  const urls = await next();
  return {
    ...urls,
    close: async () => {
      const stats = next();
      child.kill('SIGTERM');
      return stats;
    },
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname && process.argv.includes('--serve')) {
  const sink = await startSink();
  process.stdout.write(`${JSON.stringify({ grpcUrl: sink.grpcUrl, httpUrl: sink.httpUrl })}\n`);
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify(sink.stats())}\n`, () => process.exit(0));
  });
}
