// Environment the slice API reads itself (once, when the first traced call runs). The agent's config module owns
// every other variable; these only bound the slice API's own memory.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { warnOnce } from './warn.js';

export interface SliceSettings {
  /** Requests not finished this long after they started are ended with error status and freed; 0 = never. */
  reqTtlMs: number;
  /** At most this many requests are kept open per thread; beyond it the oldest is ended with error status. */
  reqMax: number;
  /** Host identifier shown in thread span names and the `host_id` attribute. */
  hostId: string;
}

export const DEFAULT_REQ_TTL_MS = 600_000;
export const DEFAULT_REQ_MAX = 20_000;

type Env = Record<string, string | undefined>;

export function readSettings(env: Env = process.env): SliceSettings {
  // One warning for all bad variables: warnOnce reports a kind once, so a second bad one would go unnamed.
  const bad: string[] = [];
  const settings = {
    reqTtlMs: intVar(env, 'TRACES_REQ_TTL_MS', DEFAULT_REQ_TTL_MS, 0, bad),
    reqMax: intVar(env, 'TRACES_REQ_MAX', DEFAULT_REQ_MAX, 1, bad),
    hostId: hostIdFrom(env),
  };
  if (bad.length) warnOnce('bad_env', bad.join('; '));
  return settings;
}

function intVar(env: Env, name: string, fallback: number, min: number, bad: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = /^\+?\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  bad.push(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}: using ${fallback}`);
  return fallback;
}

/** As FastDeploy: FD_HOST_NAME, else the machine id, else the host name. */
function hostIdFrom(env: Env): string {
  const fromEnv = env.FD_HOST_NAME?.trim();
  if (fromEnv) return fromEnv;
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (id) return id;
    } catch {
      // not on this system
    }
  }
  try {
    return hostname() || 'unknown';
  } catch {
    return 'unknown';
  }
}
