// Creates BENCH_SPANS spans (default one million) through the OpenTelemetry API the agent registered, in chunks
// that yield to the event loop (so the batch processor keeps trying to export), and prints the RSS every
// 50,000 spans as JSON lines. Started with TRACES_ENABLE=true and an OTLP endpoint where nothing listens.
'use strict';
const api = require('@opentelemetry/api');
const v8 = require('node:v8');

const total = Number(process.env.BENCH_SPANS ?? 1_000_000);
const every = 50_000;
const chunk = 1_000;
const tracer = api.trace.getTracer('bench-memory');
const attributes = { 'http.request.method': 'GET', 'url.path': '/memory', 'http.response.status_code': 200 };
const tick = () => new Promise((r) => setImmediate(r));
// V8's young generation (new space) is sized for the allocation rate, up to --max-semi-space-size: a late RSS step
// with flat heapUsed is that nursery growing, not spans being kept.
const newSpaceMiB = () =>
  (v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 2 ** 20;
const sample = (spans) => {
  if (globalThis.gc && process.env.BENCH_GC) globalThis.gc();
  const m = process.memoryUsage();
  const line = {
    spans,
    rssMiB: m.rss / 2 ** 20,
    heapUsedMiB: m.heapUsed / 2 ** 20,
    heapTotalMiB: m.heapTotal / 2 ** 20,
    newSpaceMiB: newSpaceMiB(),
    externalMiB: m.external / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

async function main() {
  if (!tracer.startSpan('probe').isRecording()) throw new Error('tracing is not on: the agent did not start');
  sample(0);
  for (let done = 0; done < total; ) {
    for (let i = 0; i < chunk; i++) tracer.startSpan('memory-bench', { attributes }).end();
    done += chunk;
    if (done % every === 0) sample(done);
    await tick();
  }
  process.exit(0); // no delivery attempt at exit: the collector is down
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack)}\n`);
  process.exit(1);
});
