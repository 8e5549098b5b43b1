// An OTLP sink for benchmarks: accepts gRPC (HTTP/2) and HTTP exports and answers success WITHOUT decoding them,
// so the collector side costs little of the machine's two cores. It does count the spans delivered, per value of
// the `x-bench` request header (each contender sends its own through OTEL_EXPORTER_OTLP_HEADERS), by walking the
// protobuf's field tags down to the spans without building any object (countSpans): a throughput figure means
// little if the spans were dropped on the way.
import http from 'node:http';
import http2 from 'node:http2';

// A gRPC message frame: uncompressed flag + 4-byte length 0 = an empty Export*ServiceResponse.
const EMPTY_GRPC_MESSAGE = Buffer.alloc(5);

function varint(buf, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at.i++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return value;
    shift += 7;
  }
}

/** Length-delimited fields numbered `field` within [start, end): calls visit(start, end) for each. */
function eachField(buf, start, end, field, visit) {
  const at = { i: start };
  while (at.i < end) {
    const tag = varint(buf, at);
    const wire = tag & 7;
    if (wire === 2) {
      const len = varint(buf, at);
      if (tag >>> 3 === field) visit(at.i, at.i + len);
      at.i += len;
    } else if (wire === 0) varint(buf, at);
    else if (wire === 1) at.i += 8;
    else if (wire === 5) at.i += 4;
    else return; // groups: not in OTLP
  }
}

/** Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2). */
export function countSpans(buf, start = 0, end = buf.length) {
  let n = 0;
  eachField(buf, start, end, 1, (rs, rsEnd) =>
    eachField(buf, rs, rsEnd, 2, (ss, ssEnd) => eachField(buf, ss, ssEnd, 2, () => n++)),
  );
  return n;
}

/** Spans in a gRPC request body: its length-prefixed messages (uncompressed ones: the bench sends no others). */
function countGrpcSpans(body) {
  let n = 0;
  for (let i = 0; i + 5 <= body.length; ) {
    const len = body.readUInt32BE(i + 1);
    if (body[i] === 0) n += countSpans(body, i + 5, i + 5 + len);
    i += 5 + len;
  }
  return n;
}

export async function startSink() {
  let requests = 0;
  let bytes = 0;
  const spans = {};
  const delivered = (key, n) => {
    spans[key ?? ''] = (spans[key ?? ''] ?? 0) + n;
  };
  const grpc = http2.createServer();
  grpc.on('stream', (stream, headers) => {
    const traces = String(headers[':path']).endsWith('TraceService/Export');
    const chunks = [];
    stream.on('data', (chunk) => {
      bytes += chunk.length;
      if (traces) chunks.push(chunk);
    });
    stream.on('end', () => {
      requests++;
      if (traces) delivered(headers['x-bench'], countGrpcSpans(Buffer.concat(chunks)));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(EMPTY_GRPC_MESSAGE);
    });
    stream.on('error', () => {});
  });
  const web = http.createServer((req, res) => {
    const traces = req.url === '/v1/traces';
    const chunks = [];
    req.on('data', (chunk) => {
      bytes += chunk.length;
      if (traces) chunks.push(chunk);
    });
    req.on('end', () => {
      requests++;
      if (traces) {
        const body = Buffer.concat(chunks);
        const json = String(req.headers['content-type']).includes('json');
        const n = json
          ? JSON.parse(body).resourceSpans.reduce(
              (a, rs) => a + rs.scopeSpans.reduce((b, ss) => b + ss.spans.length, 0),
              0,
            )
          : countSpans(body);
        delivered(req.headers['x-bench'], n);
      }
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
    stats: () => ({ requests, bytes, spans }),
    close: () => Promise.all([new Promise((r) => grpc.close(r)), new Promise((r) => web.close(r))]),
  };
}

/**
 * The sink in a process of its own, so that receiving the exports does not block the load generator's event loop
 * (autocannon runs in the benchmark's process; a 200 KB export handled there stalls all its connections).
 * Resolves with { grpcUrl, httpUrl, close(): Promise<{ requests, bytes, spans: { [x-bench]: count } }> }.
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
