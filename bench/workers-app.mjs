// An app with BENCH_WORKERS worker threads (4), each making BENCH_WORKER_RATE spans a second (5,000) in chunks of 100
// for BENCH_WORKER_SECONDS (2), yielding between chunks. Then, the workers still alive, the main thread prints the process's RSS, peak RSS and OS
// thread count as one JSON line, and asks the workers to end.
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { trace } from '@opentelemetry/api';

const seconds = Number(process.env.BENCH_WORKER_SECONDS ?? 2);
if (isMainThread) {
  const workers = Array.from(
    { length: Number(process.env.BENCH_WORKERS ?? 4) },
    () => new Worker(new URL(import.meta.url)),
  );
  const made = await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1]) / 1024;
  const threads = readdirSync('/proc/self/task').length;
  process.stdout.write(
    `${JSON.stringify({ rssMiB: kib('VmRSS'), peakMiB: kib('VmHWM'), threads, made: made.reduce((a, b) => a + b, 0) })}\n`,
  );
  // Each worker ends by itself (its agent delivers what it still holds on the way out).
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve).postMessage('end'))));
} else {
  const tracer = trace.getTracer('bench-workers');
  const attributes = { 'http.request.method': 'GET', 'url.path': '/work', 'http.response.status_code': 200 };
  const perMs = Number(process.env.BENCH_WORKER_RATE ?? 5_000) / 1000;
  let made = 0;
  for (const start = Date.now(), until = start + seconds * 1000; Date.now() < until; ) {
    for (let i = 0; i < 100; i++) tracer.startSpan('work', { attributes }).end();
    made += 100;
    const ahead = start + made / perMs - Date.now(); // paced: BENCH_WORKER_RATE spans a second
    await new Promise((resolve) => (ahead > 0 ? setTimeout(resolve, ahead) : setImmediate(resolve)));
  }
  parentPort.postMessage(made);
  await new Promise((resolve) => parentPort.once('message', resolve)); // alive while the main thread measures
  parentPort.close();
}
