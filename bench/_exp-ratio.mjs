import autocannon from 'autocannon';
import { freePort, median, startProcess, waitForPort, machineLine } from './lib.mjs';
import { startSinkProcess } from './sink.mjs';
const rounds = Number(process.env.R ?? 6), seconds = Number(process.env.S ?? 2);
const sink = await startSinkProcess();
const exp = { EXPORTER_OTLP_ENDPOINT: sink.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
const r01 = { TRACES_ENABLE: 'true', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', ...exp };
const A = ['--import', '@x/trace-agent'];
const all = {
  bare: { args: [], env: {} },
  off: { args: A, env: { ...r01, OTEL_TRACES_SAMPLER: 'always_off' } },
  r01: { args: A, env: r01 },
  r01none: { args: A, env: { ...r01, TRACES_EXPORTER: 'none' } },
  r01b64: { args: A, env: { ...r01, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' } },
  r01d50: { args: A, env: { ...r01, OTEL_BSP_SCHEDULE_DELAY: '50' } },
  r01semi: { args: ['--max-semi-space-size=64', ...A], env: r01 },
  all: { args: A, env: { TRACES_ENABLE: 'true', ...exp } },
  ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {}),
};
const names = (process.env.C ?? 'bare,off,r01,r01none,r01b64').split(',');
const cs = names.map((n) => ({ name: n, ...all[n] }));
const servers = [];
for (const c of cs) { const port = await freePort(); const proc = startProcess(c.args, process.env.APP ?? 'bench/http-app.cjs', { ...c.env, PORT: String(port) }); await waitForPort(port); servers.push({ proc, url: `http://127.0.0.1:${port}/` }); }
const load = async (url, d) => { const r = await autocannon({ url, connections: 32, duration: d }); return r.requests.total / d; };
for (const s of servers) await load(s.url, 2);
const samples = cs.map(() => []);
for (let i = 0; i < rounds; i++) { const order = [...cs.keys()]; if (i % 2) order.reverse(); for (const j of order) samples[j].push(await load(servers[j].url, seconds)); }
console.log(machineLine());
for (const [j, c] of cs.entries()) console.log(c.name.padEnd(10), median(samples[j]).toFixed(0).padStart(7), (100 * median(samples[j].map((x, i) => x / samples[0][i]))).toFixed(1) + '%', samples[j].map((x, i) => Math.round(100 * x / samples[0][i])).join(' '));
await Promise.all(servers.map((s) => s.proc.stop())); await sink.close();
