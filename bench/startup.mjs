// Start-up cost: wall time from spawn to exit, and peak RSS, of a small http + zeromq app under each contender.
// Contenders alternate run by run so that machine noise spreads evenly; medians are quoted.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The apps measured: http + zeromq (the agent's own instrumentations), Express 5 + pg (contrib ones, on first use). */
export const STARTUP_APPS = {
  http: join(root, 'bench', 'startup-app.cjs'),
  'express-pg': join(root, 'bench', 'startup-express-app.cjs'),
};
const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
// OTLP gRPC to a port where nothing listens: start-up must not depend on the collector.
const exportEnv = { EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
const base = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OTEL_|TRACES_|FD_|EXPORTER_OTLP_|NODE_OPTIONS$)/.test(k)),
);

export const contenders = [
  { name: 'bare node', args: [], env: {} },
  { name: 'agent, tracing off', args: ['--import', '@x/trace-agent'], env: {} },
  { name: 'agent, tracing on', args: ['--import', '@x/trace-agent'], env: { TRACES_ENABLE: 'true', ...exportEnv } },
  {
    name: 'agent, tracing on, batch processor (TRACES_EXPORT_THREAD=false)',
    args: ['--import', '@x/trace-agent'],
    env: { TRACES_ENABLE: 'true', TRACES_EXPORT_THREAD: 'false', ...exportEnv },
  },
  {
    name: 'official auto-instrumentations-node/register',
    args: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'none', ...exportEnv },
  },
];

function once(c, app) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...c.args, app], { cwd: root, env: { ...base, ...c.env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop();
  return { ms, rssMiB: JSON.parse(line).maxRssKiB / 1024 };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const median = (xs) => quantile(xs, 0.5);

export function measureStartup(n = rounds, appName = 'http') {
  const app = STARTUP_APPS[appName];
  const samples = contenders.map(() => ({ ms: [], rss: [] }));
  contenders.forEach((c) => once(c, app)); // warm the disk cache and Node's compile cache once
  for (let i = 0; i < n; i++) {
    contenders.forEach((c, j) => {
      const { ms, rssMiB } = once(c, app);
      samples[j].ms.push(ms);
      samples[j].rss.push(rssMiB);
    });
  }
  // The time added is the median of each round's difference to that round's bare run (with its quartiles), not the
  // difference of two medians: the machine's speed drifts over a run by more than the few ms the tracing-off path
  // costs, and a paired difference cancels the drift that both runs of a round share.
  return contenders.map((c, j) => {
    const added = samples[j].ms.map((ms, i) => ms - samples[0].ms[i]);
    return {
      name: c.name,
      ms: median(samples[j].ms),
      addedMs: median(added),
      addedQuartiles: [quantile(added, 0.25), quantile(added, 0.75)],
      rssMiB: median(samples[j].rss),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(
    `start-up, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), ${new Date().toISOString()}, ${rounds} rounds, medians`,
  );
  const rows = measureStartup(rounds, process.argv[2] ?? 'http'); // node bench/startup.mjs [http|express-pg]
  printStartup(rows);
}

/** Wall time, the time added to bare node (median of paired differences, with quartiles), peak RSS. */
export function printStartup(rows) {
  const bare = rows[0];
  console.log('| contender | wall ms | added ms (quartiles) | peak RSS MiB | added MiB |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const q = r === bare ? '' : ` (${r.addedQuartiles.map((x) => x.toFixed(1)).join(' … ')})`;
    console.log(
      `| ${r.name} | ${r.ms.toFixed(1)} | ${r.addedMs.toFixed(1)}${q} | ${r.rssMiB.toFixed(1)} | ${(r.rssMiB - bare.rssMiB).toFixed(1)} |`,
    );
  }
}
