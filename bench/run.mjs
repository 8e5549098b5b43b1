// `npm run bench`: every benchmark of issue 6 in one run (about 5 minutes on 2 cores; BENCH_QUICK=1: about 2),
// printing one table of ratios measured in this run, then the absolute numbers and the machine line.
// Measures the built package (run `npm run build` first). Contenders alternate round by round; medians are quoted.
// Each part can also be run alone: node bench/{startup,http-path,http,zmq,slice,memory,workers}.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXED_RATE, measureHttp, printHttp, RECORDED_ONLY_HTTP } from './http.mjs';
import { measureHttpPath, printHttpPath } from './http-path.mjs';
import { cleanEnv, machineLine, root } from './lib.mjs';
import { measureMemory, printMemory } from './memory.mjs';
import { measureStartup, printStartup } from './startup.mjs';
import { measureWorkers, printWorkers } from './workers.mjs';
import { BATCH_PROCESSOR, EXPORTER_THREAD, exportCpuPerSpan, measureZmq, printZmq, RECORDED_ONLY } from './zmq.mjs';

if (!existsSync(join(root, 'dist/register.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const quick = process.env.BENCH_QUICK === '1';
const env = (name, quickValue, fullValue) => (process.env[name] ??= String(quick ? quickValue : fullValue));
env('BENCH_STARTUP_ROUNDS', 10, 40);
env('BENCH_ROUNDS', 2, 3);
env('BENCH_HTTP_ROUNDS', 4, 10);
env('BENCH_SECONDS', 1, 2);
env('BENCH_ZMQ_MESSAGES', 50_000, 200_000);
env('BENCH_SPANS', 300_000, 1_000_000);

const machine = machineLine();
const bundled = readFileSync(join(root, 'dist/register.js'), 'utf8').includes('__export('); // scripts/bundle.mjs ran
const t0 = Date.now();
const step = (name) => process.stderr.write(`[bench] ${name} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);

step('start-up');
const startup = measureStartup(Number(process.env.BENCH_STARTUP_ROUNDS));
step('start-up, Express + pg');
const startupExpress = measureStartup(Number(process.env.BENCH_STARTUP_ROUNDS), 'express-pg');
step('slice API');
const slice = sliceInChild();
step('HTTP server path');
const httpPath = measureHttpPath();
step('HTTP');
const http = await measureHttp();
step('HTTP, Express route');
const httpExpress = await measureHttp({ app: 'express' });
step('HTTP with console.log');
const httpLog = await measureHttp({ consoleLog: true });
step('HTTP at a fixed 5,000 req/s');
const httpFixed = await measureHttp({ rate: FIXED_RATE });
step('ZeroMQ');
const zmq = await measureZmq();
step('memory, collector down');
const memory = await measureMemory();
step('worker threads');
const workers = await measureWorkers();
const seconds = (Date.now() - t0) / 1000;

// ---- the one table ------------------------------------------------------------------------------------------
const byName = (rows, prefix) => rows.find((r) => r.name.startsWith(prefix));
const [sBare, sOff, sOn] = startup;
const [eBare, , eOn] = startupExpress;
const sOfficial = byName(startup, 'official');
const eOfficial = byName(startupExpress, 'official');
const xAgent = byName(httpExpress.rows, 'agent, every');
const xOfficial = byName(httpExpress.rows, 'official');
const hBare = byName(http.rows, 'bare');
const hAgent = byName(http.rows, 'agent, every');
const hOfficial = byName(http.rows, 'official');
const hRatio = byName(http.rows, 'agent, sampler');
const lAgent = byName(httpLog.rows, 'agent');
const pct = (a, b) => `${((100 * a) / b).toFixed(0)}%`;
const plus = (x, unit) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} ${unit}`;
const offNs = slice.off.filter(([name]) => !name.startsWith('baseline'));
const worstOff = offNs.reduce((a, b) => (b[1] > a[1] ? b : a));
const sliceOn = slice.on.find(([name]) => name.startsWith('slice:'));
const pathNs = (impl, sampler) =>
  httpPath.rows.find((r) => r.impl === impl && r.sampler === sampler).ns - httpPath.rows[0].ns;
const zBare = zmq.rows[0];
// The agent's rows are its default, the exporter thread; the batch processor's (TRACES_EXPORT_THREAD=false) beside.
const zBatch = byName(zmq.rows, BATCH_PROCESSOR);
const zThread = byName(zmq.rows, EXPORTER_THREAD);
const hBatch = byName(http.rows, 'agent, batch processor');
const [zBareY, zBatchY, zThreadY] = [
  'bare zeromq, yielding',
  'agent, batch processor, yielding',
  'agent, exporter thread, yielding',
].map((n) => byName(zmq.rows, n));
const [fBare, fAgent, fBatch, fOfficial] = ['bare', 'agent, every', 'agent, batch processor', 'official'].map((n) =>
  byName(httpFixed.rows, n),
);

const rows = [
  ['start-up time added, tracing off', plus(sOff.addedMs, 'ms'), '≤ 5 ms', sOff.addedMs <= 5],
  [
    'start-up time added, tracing on (OTLP gRPC traces + logs)',
    `${plus(sOn.addedMs, 'ms')} (official register ${plus(sOfficial.addedMs, 'ms')})`,
    '≤ 60 ms (stretch 40)',
    sOn.addedMs <= 60,
  ],
  [
    'peak RSS added at start-up, tracing on',
    `${plus(sOn.rssMiB - sBare.rssMiB, 'MiB')} (official ${plus(sOfficial.rssMiB - sBare.rssMiB, 'MiB')})`,
    '≤ 20 MiB',
    sOn.rssMiB - sBare.rssMiB <= 20,
  ],
  [
    'start-up time added, Express + pg app (both loaded at start), tracing on',
    `${plus(eOn.addedMs, 'ms')} (official register ${plus(eOfficial.addedMs, 'ms')}); peak RSS ${plus(eOn.rssMiB - eBare.rssMiB, 'MiB')}`,
    '≤ 60 ms',
    eOn.addedMs <= 60,
  ],
  [
    'Express route req/s, every request traced + exported',
    `${pct(xAgent.ratio, 1)} of bare (official ${pct(xOfficial.ratio, 1)})`,
    '≥ 50%',
    xAgent.ratio >= 0.5,
  ],
  [
    'HTTP req/s, every request traced + exported: exporter thread / batch processor (official)',
    `${pct(hAgent.ratio, 1)} of bare, ${pct(hAgent.delivered.spans, hAgent.delivered.made)} of the spans delivered / ${pct(hBatch.ratio, 1)}, ${pct(hBatch.delivered.spans, hBatch.delivered.made)} (official ${pct(hOfficial.ratio, 1)})`,
    '≥ 80% (issue 22)',
    hAgent.ratio >= 0.8,
  ],
  ['HTTP req/s, sampler ratio 0.1', `${pct(hRatio.ratio, 1)} of bare`, '≥ 85%', hRatio.ratio >= 0.85],
  [
    'HTTP req/s, every request traced, not exported (TRACES_EXPORTER=none): the most any exporter could reach',
    `${pct(byName(http.rows, RECORDED_ONLY_HTTP).ratio, 1)} of bare`,
    '—',
    undefined,
  ],
  [
    'HTTP server CPU µs a request, app thread + exporter thread + other threads: bare / exporter thread / batch processor / nothing exported',
    [hBare, hAgent, hBatch, byName(http.rows, RECORDED_ONLY_HTTP)]
      .map((r) => (r.cpu ? `${r.cpu.main.toFixed(1)} + ${r.cpu.exporter.toFixed(1)} + ${r.cpu.other.toFixed(1)}` : '—'))
      .join(' / '),
    '—',
    undefined,
  ],
  [
    'HTTP p99 at a fixed 5,000 req/s: bare / exporter thread / batch processor (official)',
    `${fBare.p99} / ${fAgent.p99} / ${fBatch.p99} ms (${fOfficial.p99} ms)`,
    '≤ bare + 2 ms (issue 22)',
    fAgent.p99 <= fBare.p99 + 2,
  ],
  [
    'ZeroMQ never yielding: spans dropped, exporter thread / batch processor',
    `${pct(zThread.dropped, zThread.spans)} / ${pct(zBatch.dropped, zBatch.spans)}`,
    '≤ 5% (issue 22)',
    zThread.dropped / zThread.spans <= 0.05,
  ],
  [
    'ZeroMQ yielding every 100 messages: msgs/s and spans dropped, exporter thread (batch processor)',
    `${pct(zThreadY.msgPerSec, zBareY.msgPerSec)} of bare, ${pct(zThreadY.dropped, zThreadY.spans)} dropped (${pct(zBatchY.msgPerSec, zBareY.msgPerSec)}, ${pct(zBatchY.dropped, zBatchY.spans)})`,
    '≥ 50%, ≤ 1% dropped (issue 22)',
    zThreadY.msgPerSec / zBareY.msgPerSec >= 0.5 && zThreadY.dropped / zThreadY.spans <= 0.01,
  ],
  [
    'ZeroMQ msgs/s, every message traced, not exported (TRACES_EXPORTER=none): the most any exporter could reach',
    `${pct(byName(zmq.rows, RECORDED_ONLY).msgPerSec, zBare.msgPerSec)} of bare`,
    '—',
    undefined,
  ],
  [
    'app-thread CPU per exported span: exporter thread (batch processor), ZeroMQ consumer never yielding',
    `${exportCpuPerSpan(zmq.rows, zThread.name).toFixed(2)} µs (${exportCpuPerSpan(zmq.rows, zBatch.name).toFixed(2)} µs)`,
    '≤ 1 µs (issue 22)',
    exportCpuPerSpan(zmq.rows, zThread.name) <= 1,
  ],
  [
    'HTTP server path, CPU added per request (sampler drops / 1 in 10 / all; no network)',
    `${(pathNs('ours', 'off') / 1000).toFixed(1)} / ${(pathNs('ours', 'ratio') / 1000).toFixed(1)} / ${(pathNs('ours', 'on') / 1000).toFixed(1)} µs (instrumentation-http ${(pathNs('upstream', 'off') / 1000).toFixed(1)} / ${(pathNs('upstream', 'ratio') / 1000).toFixed(1)} / ${(pathNs('upstream', 'on') / 1000).toFixed(1)} µs)`,
    '—',
    undefined,
  ],
  [
    'HTTP p99 latency, every request traced + exported',
    `${hAgent.p99} ms (bare ${hBare.p99} ms, official ${hOfficial.p99} ms)`,
    '—',
    undefined,
  ],
  [
    'HTTP req/s with one console.log per request, logs + spans exported',
    `${pct(lAgent.ratio, 1)} of bare with the same console.log`,
    '—',
    undefined,
  ],
  [
    'ZeroMQ Push/Pull msgs/s never yielding, every message traced + exported: exporter thread / batch processor',
    `${pct(zThread.msgPerSec, zBare.msgPerSec)} / ${pct(zBatch.msgPerSec, zBare.msgPerSec)} of bare`,
    '≥ 50%',
    zThread.msgPerSec / zBare.msgPerSec >= 0.5,
  ],
  [
    'slice API call, tracing off (slowest of 15 calls)',
    `${worstOff[1].toFixed(1)} ns (${worstOff[0].split('(')[0]})`,
    '≤ 20 ns',
    worstOff[1] <= 20,
  ],
  ['slice API, tracing on: one slice (start + end, 1 span)', `${(sliceOn[1] / 1000).toFixed(1)} µs`, '—', undefined],
  // "flat": the second half's RSS growth less V8's young-generation resizing (see bench/memory.mjs) within ±8 MiB
  [
    `RSS growth, collector down, ${(memory.spans / 1e6).toLocaleString('en-US')}M spans, batch processor (TRACES_EXPORT_THREAD=false)`,
    `${plus(memory.growthMiB, 'MiB')} (second half ${plus(memory.secondHalfMiB, 'MiB')}, of which V8 new space ${plus(memory.secondHalfNewSpaceMiB, 'MiB')})`,
    '≤ 64 MiB, flat after the queue fills',
    memory.growthMiB <= 64 && Math.abs(memory.secondHalfMiB - memory.secondHalfNewSpaceMiB) <= 8,
  ],
  [
    'RSS growth, collector down, exporter thread (the default)',
    `${plus(memory.thread.growthMiB, 'MiB')} (second half ${plus(memory.thread.secondHalfMiB, 'MiB')}; floor: an empty worker ${plus(memory.workerMiB, 'MiB')} + spans recorded, none kept ${plus(memory.control.growthMiB, 'MiB')})`,
    '≤ 48 MiB (issue 22)',
    memory.thread.growthMiB <= 48,
  ],
  [
    'app with 4 worker threads making spans, RSS and OS threads added to bare: batch processors / exporter thread',
    `${plus(workers[1].rssMiB - workers[0].rssMiB, 'MiB')}, +${workers[1].threads - workers[0].threads} / ${plus(workers[2].rssMiB - workers[0].rssMiB, 'MiB')}, +${workers[2].threads - workers[0].threads}`,
    'one exporter thread per process (issue 22)',
    workers[2].threads - workers[0].threads === 1,
  ],
];

console.log(`\n# @x/trace-agent benchmarks${quick ? ' (BENCH_QUICK)' : ''}`);
console.log(machine);
console.log(
  `${seconds.toFixed(0)} s in all${bundled ? '' : '; WARNING: dist/ was not bundled by scripts/bundle.mjs, start-up numbers are not the shipped ones'}\n`,
);
console.log('| metric | this run | target | met |');
console.log('|---|---|---|---|');
for (const [metric, value, target, ok] of rows)
  console.log(`| ${metric} | ${value} | ${target} | ${ok === undefined ? '' : ok ? 'yes' : '**no**'} |`);

// ---- absolute numbers -----------------------------------------------------------------------------------------
console.log(
  `\nStart-up of a small http + zeromq app (${process.env.BENCH_STARTUP_ROUNDS} rounds, medians; time added = median of the rounds' differences to bare)`,
);
printStartup(startup);
console.log('\nStart-up of an Express 5 + pg app (both loaded at start; contrib instrumentations loaded on first use)');
printStartup(startupExpress);
printHttpPath(httpPath);
printHttp('HTTP hello world', http);
printHttp('Express 5, one routed handler (express and router instrumentations: 4 spans per request)', httpExpress);
printHttp('HTTP hello world with one console.log per request', httpLog);
printHttp('HTTP hello world at a fixed rate', httpFixed, FIXED_RATE);
printZmq(zmq);
console.log(
  `\nSlice API, ns per call (through the package entry; tracing on: BatchSpanProcessor, discarding exporter)`,
);
console.log('| call | tracing off | tracing on |');
console.log('|---|---|---|');
for (const [name, ns] of slice.off) console.log(`| ${name} | ${ns.toFixed(1)} | |`);
for (const [name, ns] of slice.on) console.log(`| ${name} | | ${ns.toFixed(0)} |`);
printMemory(memory);
printWorkers(workers);

/** The slice bench installs a span pipeline in its own process: run it in a child. */
function sliceInChild() {
  const r = spawnSync(process.execPath, [join(root, 'bench/slice.mjs'), '--entry', '--json'], {
    cwd: root,
    env: cleanEnv(),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`slice bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
