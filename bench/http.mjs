// HTTP req/s and p99 latency of a hello-world server under each contender, with every traced request exported
// to a local sink (its own process) that answers without decoding. Contenders alternate round by round; medians.
import autocannon from 'autocannon';
import { freePort, machineLine, median, startProcess, waitForPort } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';

// Read when measuring (bench/run.mjs sets them after importing this module).
const rounds = () => Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = () => Number(process.env.BENCH_SECONDS ?? 5);
const connections = 32;

export function httpContenders(sink, { consoleLog = false } = {}) {
  const exportEnv = { EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  const app = consoleLog ? { BENCH_CONSOLE_LOG: '1' } : {};
  const list = [
    { name: 'bare node', args: [], env: { ...app } },
    { name: 'agent, every request traced + exported', args: ['--import', '@x/trace-agent'], env: { ...app, TRACES_ENABLE: 'true', ...exportEnv } },
  ];
  if (!consoleLog) {
    list.push(
      {
        name: 'official auto-instrumentations-node/register',
        args: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
        env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,process', ...exportEnv },
      },
      {
        name: 'agent, sampler ratio 0.1',
        args: ['--import', '@x/trace-agent'],
        env: { TRACES_ENABLE: 'true', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', ...exportEnv },
      },
    );
  }
  return list;
}

async function measure(contender) {
  const port = await freePort();
  const proc = startProcess(contender.args, 'bench/http-app.cjs', { ...contender.env, PORT: String(port) });
  try {
    await waitForPort(port);
    const url = `http://127.0.0.1:${port}/`;
    await autocannon({ url, connections, duration: 1 }); // warm-up: JIT, connections, exporter loaded
    const r = await autocannon({ url, connections, duration: seconds() });
    return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
  } finally {
    await proc.stop();
  }
}

export async function measureHttp(options = {}) {
  const sink = await startSinkProcess();
  const contenders = httpContenders(sink, options);
  const samples = contenders.map(() => ({ rps: [], p99: [], errors: 0 }));
  for (let i = 0; i < rounds(); i++) {
    for (const [j, c] of contenders.entries()) {
      const r = await measure(c);
      samples[j].rps.push(r.rps);
      samples[j].p99.push(r.p99);
      samples[j].errors += r.errors;
    }
  }
  const exported = await sink.close();
  return { rows: contenders.map((c, j) => ({ name: c.name, rps: median(samples[j].rps), p99: median(samples[j].p99), errors: samples[j].errors })), exported };
}

export function printHttp(title, { rows, exported }) {
  const bare = rows[0];
  console.log(`\n${title} (${rounds()} rounds x ${seconds()}s, ${connections} connections, medians; sink got ${exported.requests} exports, ${(exported.bytes / 1e6).toFixed(1)} MB)`);
  console.log('| contender | req/s | % of bare | p99 ms | errors |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${((100 * r.rps) / bare.rps).toFixed(1)}% | ${r.p99} | ${r.errors} |`);
}

if (process.argv[1]?.endsWith('http.mjs')) {
  console.log(machineLine());
  printHttp('HTTP hello world', await measureHttp());
}
