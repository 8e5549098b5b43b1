// `npm run demo`: starts the three stages as separate processes, each with `node --import @x/trace-agent` and
// file export (no collector needed), sends one request, stops the stages (SIGTERM: the agent flushes), then
// prints the request's trace as a tree and writes a Perfetto file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const outDir = resolve(process.env.DEMO_OUT ?? join(root, 'demo-output'));
const traceFile = join(outDir, 'traces.jsonl');
const perfettoFile = join(outDir, 'trace.perfetto.json');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const freePort = () =>
  new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const [httpPort, schedulerIn, detokenizerIn, frontendIn] = await Promise.all([
  freePort(),
  freePort(),
  freePort(),
  freePort(),
]);
const env = {
  ...process.env,
  TRACES_ENABLE: 'true',
  TRACES_EXPORTER: 'file',
  TRACES_FILE: traceFile,
  HTTP_PORT: String(httpPort),
  SCHEDULER_IN: `tcp://127.0.0.1:${schedulerIn}`,
  DETOKENIZER_IN: `tcp://127.0.0.1:${detokenizerIn}`,
  FRONTEND_IN: `tcp://127.0.0.1:${frontendIn}`,
};

function stage(name) {
  const child = spawn(process.execPath, ['--import', '@x/trace-agent', join(here, `${name}.mjs`)], {
    cwd: root,
    env: { ...env, FD_SERVICE_NAME: `pipeline-${name}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (line) => line.includes('"ready"') && res());
    child.on('exit', (code) => rej(new Error(`${name} exited early (${code})`)));
  });
  const exited = new Promise((res) => child.on('exit', res));
  return { name, child, ready, exited };
}

const stages = ['detokenizer', 'frontend', 'scheduler'].map(stage);
try {
  await Promise.all(stages.map((s) => s.ready));
  const response = await fetch(`http://127.0.0.1:${httpPort}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'demo-request-1' },
    body: JSON.stringify({ prompt: 'the quick brown fox' }),
  });
  console.log(`response: ${await response.text()}\n`);
} finally {
  for (const s of stages) s.child.kill('SIGTERM');
  await Promise.all(stages.map((s) => s.exited));
}

const cli = join(root, 'dist', 'src', 'cli', 'index.js');
const tree = spawnSync(process.execPath, [cli, 'tree', traceFile], { stdio: 'inherit' });
const perfetto = spawnSync(process.execPath, [cli, 'perfetto', traceFile, '-o', perfettoFile], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
console.log(`\nspans (OTLP/JSON lines): ${traceFile}`);
console.log(`Perfetto / chrome://tracing file: ${perfettoFile}  (open it in https://ui.perfetto.dev)`);
process.exitCode = tree.status || perfetto.status || 0;
