// Shared benchmark plumbing: spawning contenders, free ports, waiting for readiness, medians.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cleanEnv = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(OTEL_|TRACES_|FD_|EXPORTER_OTLP_|NODE_OPTIONS$)/.test(k)),
  );

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function waitForPort(port, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`port ${port} never opened`);
}

/**
 * Starts `node [args] script` from the repo root with a clean env plus `env`; `stop()` resolves when it is gone.
 * Its stderr (the agent's warnings, e.g. dropped spans) is kept in `stderr`, not printed into the tables.
 */
export function startProcess(args, script, env) {
  const child = spawn(process.execPath, [...args, join(root, script)], {
    cwd: root,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = [];
  child.stderr.setEncoding('utf8').on('data', (chunk) => stderr.push(chunk));
  const exited = new Promise((r) => child.on('exit', r));
  return {
    child,
    stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * A process's CPU time so far (Linux per-thread accounting: each /proc/<pid>/task/<tid>/stat), in seconds: its main thread,
 * the agent's exporter thread, and the rest (V8's GC helpers, libuv's pool). Undefined where /proc is missing.
 */
export function threadCpu(pid) {
  const tick = 1 / 100; // USER_HZ, 100 on Linux
  const out = { main: 0, exporter: 0, other: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after the name, which may hold spaces
      const seconds = (Number(fields[11]) + Number(fields[12])) * tick; // utime + stime
      if (tid === String(pid)) out.main += seconds;
      else if (name.startsWith('@x/trace-agent')) out.exporter += seconds;
      else out.other += seconds;
    }
  } catch {
    return undefined; // not Linux, or the process is gone
  }
  return out;
}

export function machineLine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `Node ${process.version}, ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${load}, ${new Date().toISOString()}`;
}
