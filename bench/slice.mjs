// Slice API cost: ns per call with tracing off (every API function), and with tracing on (per slice, per request,
// per event, per propagation), with the agent's kind of pipeline (BatchSpanProcessor, spans discarded at export).
// Not a test. Usage: node bench/slice.mjs [--entry | --dist] [--json]
//   --entry: through the package entry (dist/register.js, as an app's require/import does; the agent starts with
//            tracing off, as with TRACES_ENABLE unset); --dist: dist/src/slice; default: src/ bundled now.
//   --json:  print the results as one JSON line (bench/run.mjs reads it).
// Each measured call gets its own loop (compiled separately) so call sites stay monomorphic, as in real code.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const N_OFF = Number(process.env.BENCH_N_OFF ?? 10_000_000);
const N_ON = Number(process.env.BENCH_N_ON ?? 100_000);
const STATE = Symbol.for('@x/trace-agent.state');

async function loadSlice(from) {
  if (from === 'entry') {
    for (const k of Object.keys(process.env)) if (/^(OTEL_|TRACES_|FD_|EXPORTER_OTLP_)/.test(k)) delete process.env[k];
    return require(join(root, 'dist/register.js'));
  }
  if (from === 'dist') return require(join(root, 'dist/src/slice/index.js'));
  const outDir = join(root, 'node_modules/.cache/slice-bench');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'slice.cjs');
  await build({
    entryPoints: [join(root, 'src/slice/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    logLevel: 'error',
    external: ['@opentelemetry/*'],
    plugins: [
      {
        name: 'no-sdk',
        setup: (b) => b.onResolve({ filter: /^\.\/sdk\.js$/ }, (a) => ({ path: a.path, external: true })),
      },
    ],
  });
  return require(outfile);
}

/** ns per call of `body` (a statement using `api`, `i`, `ctx`), in a freshly compiled loop. */
function measure(api, ctx, body, n) {
  const loop = new Function('api', 'ctx', 'n', `for (let i = 0; i < n; i++) { ${body} }`);
  loop(api, ctx, Math.min(n, 50_000)); // warm-up: let the JIT settle
  const t0 = process.hrtime.bigint();
  loop(api, ctx, n);
  return Number(process.hrtime.bigint() - t0) / n;
}

function table(title, rows) {
  console.log(`\n${title}`);
  for (const [name, ns] of rows) console.log(`  ${name.padEnd(58)} ${ns.toFixed(1).padStart(9)} ns`);
}

/**
 * Runs every case. `from`: 'entry' (the package entry, what `npm run bench` measures, after a build), 'dist'
 * (dist/src/slice) or 'src' (bundled now). Returns { off: [name, ns][], on: [name, ns][], loadedOff, exported };
 * `print` also prints tables. Tracing ON installs a pipeline in this process, so call it once, last, in a process.
 */
export async function measureSlice({ from = 'src', print = true } = {}) {
  const api = await loadSlice(from);

  const loadedOff = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry')).length;

  const offCalls = [
    ['traceSetThreadInfo(label, tp, dp)', "api.traceSetThreadInfo('stage', 0, 1)"],
    ['traceReqStart(rid, { role })', "api.traceReqStart('r', ctx.startOpts)"],
    ['traceSliceStart(name, rid)', "api.traceSliceStart('s', 'r')"],
    ['traceSliceEnd(name, rid, { autoNextAnon })', "api.traceSliceEnd('s', 'r', ctx.endOpts)"],
    ['traceEvent(name, rid)', "api.traceEvent('e', 'r')"],
    ['traceSliceAddAttr(rid, attrs)', "api.traceSliceAddAttr('r', ctx.attrs)"],
    ['traceGetProcPropagateContext(rid)', "api.traceGetProcPropagateContext('r')"],
    ['traceSetProcPropagateContext(rid, ctx)', "api.traceSetProcPropagateContext('r', ctx.prop)"],
    ['traceSliceBatch(name, reqs)', "api.traceSliceBatch('b', ctx.batch)"],
    ['traceEventBatch(name, reqs)', "api.traceEventBatch('b', ctx.batch)"],
    ['traceReportSpan(name, rid, start, end)', "api.traceReportSpan('s', 'r', 1, 2)"],
    ['getTraceInfoForRequest(rid)', "api.getTraceInfoForRequest('r')"],
    ['traceReqFinish(rid)', "api.traceReqFinish('r')"],
    ['traceRunInSlice(rid, fn)  (includes calling fn)', "api.traceRunInSlice('r', ctx.fn)"],
    ['traceSpan-wrapped fn(x)   (includes calling fn)', 'ctx.wrapped(i)'],
    ['baseline: calling fn directly', 'ctx.fn()'],
  ];
  const ctx = {
    startOpts: { role: 'prefill' },
    endOpts: { autoNextAnon: true },
    attrs: { a: 1 },
    prop: { root: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    batch: ['r'],
    fn: () => 1,
    wrapped: api.traceSpan('w')((x) => x),
  };

  const offRows = offCalls.map(([name, body]) => [name, measure(api, ctx, body, N_OFF)]);
  if (print) {
    console.log(
      `node ${process.version}; slice API from ${from === 'entry' ? 'the package entry (dist/register.js)' : from === 'dist' ? 'dist/src/slice' : 'src/ (bundled now)'}`,
    );
    const state = from === 'entry' ? 'agent started, TRACES_ENABLE unset' : 'agent not started';
    table(
      `tracing OFF (${state}): ${N_OFF.toLocaleString()} calls each; @opentelemetry modules loaded: ${loadedOff}`,
      offRows,
    );
  }

  // --- tracing ON: the pipeline the agent builds, with an exporter that drops everything ---
  const otel = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core');
  const { BatchSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
  let exported = 0;
  const exporter = {
    export(spans, done) {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const provider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({ exporter, maxQueueSize: 65_536, maxExportBatchSize: 4096, scheduledDelayMillis: 50 }),
    ],
  });
  otel.trace.setGlobalTracerProvider(provider);
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  globalThis[STATE].tracing = true;
  globalThis[STATE].started = true;
  process.env.OTEL_LOG_LEVEL = 'none'; // the bench's deliberate shapes must not print

  const on = {
    ...ctx,
    prop: api.traceGetProcPropagateContext('none') ?? null,
    wrapped: api.traceSpan('w')((x) => x),
  };
  api.traceSetThreadInfo('bench', 0);
  api.traceReqStart('open');
  api.traceSliceStart('outer', 'open');
  on.prop = api.traceGetProcPropagateContext('open');
  on.ridOf = (i) => `r${i}`;
  on.tracer = otel.trace.getTracer('baseline');

  /** Runs a case in its own async scope so slices made active there do not pile up in the bench's own scope. */
  function onCase(name, body, n = N_ON, setup = '') {
    return otel.context.with(otel.ROOT_CONTEXT, () => {
      if (setup) new Function('api', 'ctx', setup)(api, on);
      return [name, measure(api, on, body, n)];
    });
  }

  const onRows = [
    onCase(
      'slice: traceSliceStart + traceSliceEnd (1 span)',
      "api.traceSliceStart('s', 'open'); api.traceSliceEnd('s', 'open');",
    ),
    onCase(
      'nested slice: start + end inside an open slice (1 span)',
      "api.traceSliceStart('n', 'open'); api.traceSliceEnd('n', 'open');",
    ),
    onCase(
      'autoNextAnon step: traceSliceEnd(name, rid, { autoNextAnon }) (1 span)',
      "api.traceSliceEnd('step', 'open', ctx.endOpts);",
      N_ON,
      "api.traceSliceStart('', 'open', { anonymous: true });",
    ),
    onCase(
      'traceReportSpan (1 span, given times)',
      "api.traceReportSpan('rep', 'open', 1760000000000000000n, 1760000000000001000n);",
    ),
    onCase('traceEvent on the open slice', "api.traceEvent('tok', 'open');", N_ON * 5),
    onCase('traceSliceAddAttr', "api.traceSliceAddAttr('open', ctx.attrs);", N_ON * 5),
    onCase('traceGetProcPropagateContext', "api.traceGetProcPropagateContext('open');"),
    onCase('getTraceInfoForRequest', "api.getTraceInfoForRequest('open');", N_ON * 5),
    onCase(
      'request: traceReqStart + traceReqFinish (root + thread span)',
      'const r = ctx.ridOf(i); api.traceReqStart(r); api.traceReqFinish(r);',
    ),
    onCase(
      'request with 3 slices: start, 3 x slice, finish (5 spans)',
      "const r = ctx.ridOf(i); api.traceReqStart(r); api.traceSliceStart('a', r); api.traceSliceEnd('a', r); api.traceSliceStart('b', r); api.traceSliceEnd('b', r); api.traceSliceStart('c', r); api.traceSliceEnd('c', r, ctx.finish); api.traceReqFinish(r);",
      N_ON / 4,
      'ctx.finish = { threadFinishFlag: true };',
    ),
    onCase(
      'receiver: traceSetProcPropagateContext + 1 slice w/ threadFinishFlag (2 spans)',
      "const r = ctx.ridOf(i); api.traceSetProcPropagateContext(r, ctx.prop); api.traceSliceStart('x', r); api.traceSliceEnd('x', r, ctx.finish);",
      N_ON / 2,
      'ctx.finish = { threadFinishFlag: true };',
    ),
    onCase('traceSpan-wrapped sync fn (1 span)', 'ctx.wrapped(i);'),
    onCase('baseline: a bare SDK span (tracer.startSpan + end)', "ctx.tracer.startSpan('x').end();"),
  ];
  await provider.forceFlush();
  if (print) {
    table(`tracing ON (BatchSpanProcessor, discarding exporter): ${N_ON.toLocaleString()} iterations per case`, onRows);
    console.log(`\n  spans exported: ${exported.toLocaleString()}`);
  }
  await provider.shutdown();
  return { off: offRows, on: onRows, loadedOff, exported };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const from = process.argv.includes('--entry') ? 'entry' : process.argv.includes('--dist') ? 'dist' : 'src';
  const json = process.argv.includes('--json');
  const result = await measureSlice({ from, print: !json });
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}
