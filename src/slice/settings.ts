// Environment the slice API reads itself (once, when the first traced call runs). The agent's config module owns
// every other variable; these only bound the slice API's own memory.
import { hostname } from 'node:os';
import { type Env, parseWholeNumber } from '../config/env.js';
import { machineId } from '../config/host.js';
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
  const n = parseWholeNumber(env[name], min);
  if (n === null)
    bad.push(`${name}=${JSON.stringify(env[name]?.trim())} is not an integer >= ${min}: using ${fallback}`);
  return n ?? fallback;
}

/** As FastDeploy: FD_HOST_NAME, else the machine id, else the host name. */
function hostIdFrom(env: Env): string {
  const id = env.FD_HOST_NAME?.trim() || machineId();
  if (id) return id;
  try {
    return hostname() || 'unknown';
  } catch {
    return 'unknown';
  }
}
