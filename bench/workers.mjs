// Memory and threads of an app with worker threads (bench/workers-app.mjs: 4 workers making spans for 2 s, exported
// to the sink): bare node, the agent's batch processor (one per thread), and the exporter thread, one per process
// (issue 22: an exporter thread per app thread would cost an empty worker's ~18 MiB each). Alternating rounds; medians.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv, machineLine, median, root } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';

export async function measureWorkers() {
  const sink = await startSinkProcess();
  const otlp = { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  const contenders = [
    { name: 'bare node', args: [], env: {} },
    {
      name: 'agent, batch processor in each thread (TRACES_EXPORT_THREAD=false)',
      args: ['--import', '@x/trace-agent'],
      env: { ...otlp, TRACES_EXPORT_THREAD: 'false' },
    },
    { name: 'agent, exporter thread (the default)', args: ['--import', '@x/trace-agent'], env: otlp },
  ].map((c, i) => ({ ...c, env: { ...c.env, OTEL_EXPORTER_OTLP_HEADERS: `x-bench=${i}` }, runs: [] }));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  let exported;
  try {
    for (let r = 0; r < rounds; r++)
      for (const c of r % 2 ? [...contenders].reverse() : contenders) c.runs.push(await once(c));
  } finally {
    exported = await sink.close();
  }
  return contenders.map((c, i) => {
    const m = (key) => median(c.runs.map((run) => run[key]));
    const made = c.runs.reduce((a, run) => a + run.made, 0);
    return {
      name: c.name,
      rssMiB: m('rssMiB'),
      peakMiB: m('peakMiB'),
      threads: m('threads'),
      made,
      delivered: exported.spans[i] ?? 0,
    };
  });
}

async function once(c) {
  const child = spawn(process.execPath, [...c.args, join(root, 'bench', 'workers-app.mjs')], {
    cwd: root,
    env: { ...cleanEnv(), ...c.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`${c.name}: workers app exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop());
}

export function printWorkers(rows) {
  console.log(
    `\nAn app with ${process.env.BENCH_WORKERS ?? 4} worker threads making spans (bench/workers-app.mjs; medians)`,
  );
  console.log('| contender | RSS MiB | peak RSS MiB | OS threads | spans delivered / made |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const delivered =
      r === rows[0] ? '—' : `${r.delivered.toLocaleString('en-US')} / ${r.made.toLocaleString('en-US')}`;
    console.log(`| ${r.name} | ${r.rssMiB.toFixed(1)} | ${r.peakMiB.toFixed(1)} | ${r.threads} | ${delivered} |`);
  }
}

if (process.argv[1]?.endsWith('workers.mjs')) {
  console.log(machineLine());
  printWorkers(await measureWorkers());
}
