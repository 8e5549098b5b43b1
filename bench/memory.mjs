// RSS of a process that creates one million spans while the collector is down: the queue must stay bounded
// (OTEL_BSP_MAX_QUEUE_SIZE), so RSS grows while the queue and the pipeline warm up and is flat afterwards.
//
// V8 sizes its young generation (new space) from the allocation pattern, in steps up to --max-semi-space-size:
// this app does nothing but make spans, and the same app with nothing to export (the control run below,
// TRACES_EXPORTER=none: every span recorded, none kept) grows new space 4 -> 8 -> 16 MiB too. Those steps are
// bounded and are not spans being kept, so "flat" is judged on the second half's RSS growth minus its new-space
// growth; both figures are printed.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanEnv, freePort, machineLine, root } from './lib.mjs';

export async function measureMemory() {
  const port = await freePort(); // free a moment ago: nothing listens there
  const otlp = { EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  const down = await memoryRun({ ...otlp, TRACES_EXPORT_THREAD: 'false' }); // the batch processor
  const thread = await memoryRun(otlp); // the default, issue 22: a second isolate
  const control = await memoryRun({ TRACES_EXPORTER: 'none' });
  return { ...down, thread, control, workerMiB: await emptyWorkerMiB() };
}

/**
 * RSS a Node worker thread adds with nothing loaded in it (its isolate, heap and event loop): the floor under
 * the exporter thread's figure, beside the control's growth (issue 22's ≤ 48 MiB is judged against both).
 */
async function emptyWorkerMiB() {
  const script = `const { Worker } = require('node:worker_threads');
    const rss = () => process.memoryUsage().rss;
    setTimeout(() => {
      const before = rss();
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      w.on('online', () => setTimeout(() => { console.log((rss() - before) / 2 ** 20); process.exit(0); }, 500));
    }, 200);`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: root,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  await new Promise((r) => child.on('exit', r));
  return Number(out.trim());
}

async function memoryRun(env) {
  const child = spawn(process.execPath, ['--import', '@x/trace-agent', join(root, 'bench', 'memory-app.cjs')], {
    cwd: root,
    env: { ...cleanEnv(), TRACES_ENABLE: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const samples = [];
  const warnings = [];
  createInterface({ input: child.stdout }).on('line', (l) => samples.push(JSON.parse(l)));
  createInterface({ input: child.stderr }).on('line', (l) => warnings.push(l));
  const t0 = Date.now();
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`memory app failed (${code}): ${warnings.join('\n')}`);
  const at = (n) => samples.find((s) => s.spans === n)?.rssMiB ?? NaN;
  const last = samples.at(-1);
  const half = samples.find((s) => s.spans >= last.spans / 2);
  const baseline = at(50_000); // pipeline loaded, queue filled once
  return {
    spans: last.spans,
    seconds: (Date.now() - t0) / 1000,
    startMiB: at(0),
    baselineMiB: baseline,
    peakMiB: Math.max(...samples.map((s) => s.rssMiB)),
    finalMiB: last.rssMiB,
    growthMiB: last.rssMiB - at(0),
    secondHalfMiB: last.rssMiB - half.rssMiB,
    secondHalfNewSpaceMiB: last.newSpaceMiB - half.newSpaceMiB,
    samples,
    warnings: warnings.length,
  };
}

export function printMemory(m) {
  console.log(
    `\nRSS, ${m.spans.toLocaleString('en-US')} spans with the collector down (${m.seconds.toFixed(1)} s), batch processor (TRACES_EXPORT_THREAD=false)`,
  );
  console.log('| spans | RSS MiB | JS heap used MiB | V8 new space MiB |');
  console.log('|---|---|---|---|');
  for (const s of m.samples.filter((s) => s.spans % 250_000 === 0 || s.spans === 50_000)) {
    console.log(
      `| ${s.spans.toLocaleString('en-US')} | ${s.rssMiB.toFixed(1)} | ${s.heapUsedMiB.toFixed(1)} | ${s.newSpaceMiB.toFixed(1)} |`,
    );
  }
  const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} MiB`;
  console.log(
    `growth ${signed(m.growthMiB)} (peak ${m.peakMiB.toFixed(1)} MiB), second half ${signed(m.secondHalfMiB)}, of which V8 new space ${signed(m.secondHalfNewSpaceMiB)}`,
  );
  const t = m.thread;
  console.log(
    `exporter thread (the default): growth ${signed(t.growthMiB)} (peak ${t.peakMiB.toFixed(1)} MiB), second half ${signed(t.secondHalfMiB)}; an empty worker thread alone adds ${signed(m.workerMiB)}`,
  );
  const c = m.control;
  console.log(
    `control, same app with TRACES_EXPORTER=none (spans recorded, none kept): growth ${signed(c.growthMiB)}, new space ${c.samples[0].newSpaceMiB.toFixed(0)} -> ${c.samples.at(-1).newSpaceMiB.toFixed(0)} MiB`,
  );
}

if (process.argv[1]?.endsWith('memory.mjs')) {
  console.log(machineLine());
  printMemory(await measureMemory());
}
