// CPU per request of the HTTP server path (bench/http-path-app.cjs): no instrumentation, the agent's http
// instrumentation, and @opentelemetry/instrumentation-http, each with the sampler dropping every request, keeping
// 1 in 10, and keeping all (spans go to a discarding exporter). Each contender runs in its own process; they
// alternate round by round; medians.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv, machineLine, median, root } from './lib.mjs';

const contenders = [
  { name: 'no instrumentation', impl: null, sampler: null },
  ...['off', 'ratio', 'on'].flatMap((sampler) => [
    { name: `agent (hand-written), sampler ${sampler}`, impl: 'ours', sampler },
    { name: `@opentelemetry/instrumentation-http, sampler ${sampler}`, impl: 'upstream', sampler },
  ]),
];

function once(c, n) {
  const args = c.impl ? ['--require', join(root, 'bench/http-path-preload.cjs')] : [];
  const r = spawnSync(process.execPath, [...args, join(root, 'bench/http-path-app.cjs'), String(n)], {
    cwd: root,
    env: { ...cleanEnv(), HTTP_PATH_IMPL: c.impl ?? '', HTTP_PATH_SAMPLER: c.sampler ?? '' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${c.name}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).cpuNsPerRequest;
}

export function measureHttpPath() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const n = Number(process.env.BENCH_PATH_REQUESTS ?? 30_000);
  const samples = contenders.map(() => []);
  for (let i = 0; i < rounds; i++) contenders.forEach((c, j) => samples[j].push(once(c, n)));
  return { rounds, n, rows: contenders.map((c, j) => ({ ...c, ns: median(samples[j]) })) };
}

export function printHttpPath({ rounds, n, rows }) {
  const bare = rows[0].ns;
  console.log(
    `\nHTTP server path, CPU per request without the network (${rounds} rounds x ${n.toLocaleString('en-US')} requests, medians)`,
  );
  console.log('| contender | CPU ns/request | added ns/request |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.ns.toFixed(0)} | ${(r.ns - bare).toFixed(0)} |`);
}

if (process.argv[1]?.endsWith('http-path.mjs')) {
  console.log(machineLine());
  printHttpPath(measureHttpPath());
}
