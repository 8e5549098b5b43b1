// Runs a fixture app as a child process, the way a user runs theirs: `node --import @x/trace-agent app`,
// configured by environment variables only. The repo root is the cwd, so `@x/trace-agent` resolves to
// this package itself (self-reference through package.json "exports").
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** The Node that runs the fixtures: CI sets TRACE_AGENT_TEST_NODE to run them on a second LTS line. */
export const TEST_NODE = process.env.TRACE_AGENT_TEST_NODE || process.execPath;

/**
 * Env of a child: the parent's minus every tracing variable, so tests see only what they set; plus
 * TRACE_AGENT_TEST_ENV (`K=V,K2=V2`), which runs the whole suite under other defaults (a test's own values win):
 * `TRACE_AGENT_TEST_ENV=TRACES_EXPORT_THREAD=false npm test` proves the batch processor (the exporter thread is the
 * default) against every test; .ci/run does it for the export and fault files.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OTEL_|TRACES_|FD_|EXPORTER_OTLP_|NODE_OPTIONS$|VITEST|NODE_ENV$)/.test(k)) continue;
    env[k] = v;
  }
  for (const pair of (process.env.TRACE_AGENT_TEST_ENV ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) env[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface App {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout line that parses as JSON and matches. */
  waitForJson<T = Record<string, unknown>>(where?: (v: T) => boolean, timeoutMs?: number): Promise<T>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface StartOptions {
  /** Node flags before the script, e.g. ['--import', '@x/trace-agent']. */
  nodeArgs?: string[];
  env?: Record<string, string | undefined>;
  args?: string[];
  node?: string;
}

export function startApp(script: string, opts: StartOptions = {}): App {
  const child = spawn(
    opts.node ?? TEST_NODE,
    [...(opts.nodeArgs ?? ['--import', '@x/trace-agent']), resolve(FIXTURES, script), ...(opts.args ?? [])],
    {
      cwd: REPO_ROOT,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    listeners.forEach((l) => l(line));
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => setImmediate(() => res({ code, signal }))),
  );
  const waitForJson = <T>(where: (v: T) => boolean = () => true, timeoutMs = 15_000) =>
    new Promise<T>((res, rej) => {
      const check = (line: string) => {
        try {
          const v = JSON.parse(line) as T;
          if (where(v)) {
            done();
            res(v);
          }
        } catch {
          // not a JSON line
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(
          new Error(
            `no matching JSON line on stdout of ${script}.\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      void exited.then(() =>
        setTimeout(() => {
          if (!listeners.has(check)) return;
          done();
          rej(
            new Error(
              `${script} exited before printing the expected JSON.\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`,
            ),
          );
        }, 50),
      );
      listeners.add(check);
      stdout.forEach(check);
    });
  return { child, stdout, stderr, waitForJson, exited, kill: (s = 'SIGTERM') => child.kill(s) };
}

/** Runs an app to completion (bounded), for fixtures that do their work and exit. */
export async function runApp(script: string, opts: StartOptions & { timeoutMs?: number } = {}) {
  const app = startApp(script, opts);
  const timer = setTimeout(() => app.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const result = await app.exited;
  clearTimeout(timer);
  return { ...result, stdout: app.stdout, stderr: app.stderr };
}
