// HTTP req/s and p99 latency of a hello-world server under each contender, with every traced request exported
// to a local sink (its own process) that answers without decoding.
//
// Every contender's server is started once and warmed up; then each round loads each server in turn for
// BENCH_SECONDS (the order reversed every other round). A contender's ratio is the median of its per-round ratios to
// bare node's run in the same round: this machine's speed drifts by more than the differences measured here, often
// within a minute, and a ratio of two runs taken seconds apart cancels most of that drift (a ratio of medians taken
// over minutes does not).
import autocannon from 'autocannon';
import { freePort, machineLine, median, startProcess, threadCpu, waitForPort } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';

// Read when measuring (bench/run.mjs sets them after importing this module).
const rounds = () => Number(process.env.BENCH_HTTP_ROUNDS ?? 10);
const seconds = () => Number(process.env.BENCH_SECONDS ?? 2);
const connections = 32;

export const RECORDED_ONLY_HTTP = 'agent, recorded only: every request traced, not exported (TRACES_EXPORTER=none)';

export function httpContenders(sink, { consoleLog = false } = {}) {
  const exportEnv = { EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  const app = consoleLog ? { BENCH_CONSOLE_LOG: '1' } : {};
  const list = [
    { name: 'bare node', args: [], env: { ...app } },
    {
      name: 'agent, every request traced + exported (exporter thread, the default)',
      args: ['--import', '@x/trace-agent'],
      env: { ...app, TRACES_ENABLE: 'true', ...exportEnv },
    },
    {
      name: 'agent, batch processor (TRACES_EXPORT_THREAD=false)',
      args: ['--import', '@x/trace-agent'],
      env: { ...app, TRACES_ENABLE: 'true', TRACES_EXPORT_THREAD: 'false', ...exportEnv },
    },
  ];
  if (!consoleLog) {
    list.push(
      {
        name: 'official auto-instrumentations-node/register',
        args: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
        env: {
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          OTEL_NODE_RESOURCE_DETECTORS: 'env,host,process',
          ...exportEnv,
          // The official register does not read EXPORTER_OTLP_ENDPOINT (FastDeploy's): before the sink counted spans,
          // its exports went to localhost:4317, where nothing listens, unnoticed.
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.grpcUrl,
        },
      },
      {
        // Every request traced, no exporter: what any export design could reach at best (issue 22's ceiling).
        name: RECORDED_ONLY_HTTP,
        args: ['--import', '@x/trace-agent'],
        env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
      },
      {
        name: 'agent, sampler ratio 0.1',
        args: ['--import', '@x/trace-agent'],
        env: {
          TRACES_ENABLE: 'true',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.1',
          ...exportEnv,
        },
      },
    );
  }
  return list;
}

/** The apps measured: node's http hello world, and Express with one routed handler (contrib instrumentations). */
export const HTTP_APPS = {
  http: { script: 'bench/http-app.cjs', path: '/', spansPerRequest: 1 },
  express: { script: 'bench/express-app.cjs', path: '/hello/world', spansPerRequest: 4 },
};

async function startServer(contender, app, index) {
  const port = await freePort();
  // Each contender's exports carry its index, so the sink counts the spans each delivered.
  const env = { ...contender.env, PORT: String(port), OTEL_EXPORTER_OTLP_HEADERS: `x-bench=${index}` };
  const proc = startProcess(contender.args, app.script, env);
  await waitForPort(port);
  return { proc, url: `http://127.0.0.1:${port}${app.path}` };
}

/** Issue 22's latency measure: a fixed offered rate (autocannon -R 5000 -c 20), where p99 is the request's own cost. */
export const FIXED_RATE = { overallRate: 5000, connections: 20 };

async function load(url, duration, rate) {
  const r = await autocannon({ url, connections, duration, ...rate });
  return {
    rps: r.requests.total / duration,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    requests: r.requests.total,
  };
}

export async function measureHttp(options = {}) {
  const sink = await startSinkProcess();
  const app = HTTP_APPS[options.app ?? 'http'];
  const contenders = httpContenders(sink, options).filter(
    (c) => options.app !== 'express' || !c.name.includes('ratio'),
  );
  const servers = [];
  let rows;
  const samples = contenders.map(() => ({ rps: [], p99: [], errors: 0, requests: 0, cpu: [] }));
  try {
    for (const [j, c] of contenders.entries()) servers.push(await startServer(c, app, j));
    for (const [j, s] of servers.entries()) samples[j].requests += (await load(s.url, 2, options.rate)).requests; // warm-up
    for (let i = 0; i < rounds(); i++) {
      const order = [...contenders.keys()];
      if (i % 2) order.reverse();
      for (const j of order) {
        const pid = servers[j].proc.child.pid;
        const before = threadCpu(pid);
        const r = await load(servers[j].url, seconds(), options.rate);
        const after = threadCpu(pid);
        // The server's CPU per request served, by thread: what the design costs where load and threads do not share
        // two cores (here they do, which the req/s ratios include).
        if (before && after && r.requests)
          samples[j].cpu.push(
            Object.fromEntries(Object.keys(after).map((k) => [k, (1e6 * (after[k] - before[k])) / r.requests])),
          );
        samples[j].rps.push(r.rps);
        samples[j].p99.push(r.p99);
        samples[j].errors += r.errors;
        samples[j].requests += r.requests;
      }
    }
    const bare = samples[0].rps;
    rows = contenders.map((c, j) => ({
      name: c.name,
      rps: median(samples[j].rps),
      ratio: median(samples[j].rps.map((rps, i) => rps / bare[i])),
      p99: median(samples[j].p99),
      errors: samples[j].errors,
      cpu: samples[j].cpu.length
        ? Object.fromEntries(['main', 'exporter', 'other'].map((k) => [k, median(samples[j].cpu.map((c) => c[k]))]))
        : undefined,
    }));
  } finally {
    await Promise.all(servers.map((s) => s.proc.stop())); // each flushes what it still holds on SIGTERM
  }
  const exported = await sink.close();
  for (const [j, row] of rows.entries())
    row.delivered = { spans: exported.spans[j] ?? 0, made: samples[j].requests * app.spansPerRequest };
  return { rows, exported };
}

export function printHttp(title, { rows, exported }, rate) {
  console.log(
    `\n${title} (${rounds()} rounds x ${seconds()}s, ${rate ? `a fixed ${rate.overallRate} req/s over ${rate.connections}` : connections} connections, medians; % of bare = median of the rounds' ratios; sink got ${exported.requests} exports, ${(exported.bytes / 1e6).toFixed(1)} MB)`,
  );
  // Spans delivered: counted by the sink, against the spans every request served makes (all rounds and the warm-up;
  // a sampler keeping 1 in 10 delivers ~10%). Spans dropped by a full queue never arrive.
  // Server CPU per request from Linux's per-thread accounting (medians of the rounds; 10 ms ticks over ~2 s).
  console.log(
    '| contender | req/s | % of bare | p99 ms | spans delivered / made | server CPU µs/request: app thread / exporter thread / other threads | errors |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const { spans, made } = r.delivered;
    const delivered =
      r === rows[0]
        ? '—'
        : `${spans.toLocaleString('en-US')} / ${made.toLocaleString('en-US')} (${((100 * spans) / made).toFixed(0)}%)`;
    const cpu = r.cpu ? `${r.cpu.main.toFixed(1)} / ${r.cpu.exporter.toFixed(1)} / ${r.cpu.other.toFixed(1)}` : '—';
    console.log(
      `| ${r.name} | ${r.rps.toFixed(0)} | ${(100 * r.ratio).toFixed(1)}% | ${r.p99} | ${delivered} | ${cpu} | ${r.errors} |`,
    );
  }
}

if (process.argv[1]?.endsWith('http.mjs')) {
  console.log(machineLine());
  const app = process.argv[2] ?? 'http'; // node bench/http.mjs [http|express] [fixed]
  const rate = process.argv[3] === 'fixed' ? FIXED_RATE : undefined;
  printHttp(`HTTP hello world (${app})`, await measureHttp({ app, rate }), rate);
}
