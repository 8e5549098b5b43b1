// Real database servers from Debian's packages (postgresql, redis-server, mariadb-server; `.ci/run` installs them),
// each started as a plain process on 127.0.0.1 in a temporary directory, on a free port, and stopped afterwards.
// Without the binaries the tests that need them are skipped, except where REQUIRE_REAL_SERVERS=1 (CI) makes that
// a failure.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RealServer {
  port: number;
  stop(): Promise<void>;
}

const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort().at(-1);
  return version ? join(root, version, 'bin') : undefined;
})();

export const available = {
  postgres: PG_BIN !== undefined && existsSync(join(PG_BIN, 'initdb')),
  redis: existsSync('/usr/bin/redis-server'),
  mariadb: existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db'),
};
export const allAvailable = available.postgres && available.redis && available.mariadb;
export const serversRequired = process.env.REQUIRE_REAL_SERVERS === '1';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port (polling, up to `timeoutMs`). */
async function accepting(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess, dir: string, signal: NodeJS.Signals = 'SIGTERM'): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** PostgreSQL: `initdb` and `pg_ctl` (as user postgres when we are root: both refuse root), trust auth, user `app`. */
export async function startPostgres(): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'trace-agent-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', join(PG_BIN!, cmd), ...args]]
      : [join(PG_BIN!, cmd), args];
    execFileSync(file, argv, { stdio: 'ignore', timeout: 60_000 });
  };
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  const data = join(dir, 'data');
  const stop = async () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'app']);
    const port = await freePort();
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    await accepting(port, 30_000);
    return { port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startRedis(): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'trace-agent-redis-'));
  const port = await freePort();
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const stop = stopChild(child, dir);
  try {
    await accepting(port, 15_000, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}

/** MariaDB: a fresh data directory, user root without a password over TCP. */
export async function startMariaDb(): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'trace-agent-mariadb-'));
  const data = join(dir, 'data');
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    '/usr/bin/mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal'],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const child = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      ...user,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 's.sock')}`,
      `--pid-file=${join(dir, 'pid')}`,
      '--skip-log-bin',
    ],
    { stdio: 'ignore' },
  );
  const stop = stopChild(child, dir);
  try {
    await accepting(port, 60_000, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
