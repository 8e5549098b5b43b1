// Timestamps: the API takes epoch nanoseconds (number or bigint) and hands OpenTelemetry an HrTime, the only
// input form the SDK never reinterprets (a plain number may be read as a performance.now() offset).
import type { HrTime } from '@opentelemetry/api';
import { warnOnce } from './warn.js';

const NS_PER_S = 1_000_000_000;
const NS_PER_S_BIG = 1_000_000_000n;
/** Below this an "epoch ns" value is ~11 days after 1970: it is milliseconds or garbage, not nanoseconds. */
const MIN_EPOCH_NS = 1e15;

/** Now, on the same clock the SDK uses for spans started without a time (timeOrigin + performance.now()). */
export function nowHr(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const s = Math.floor(ms / 1000);
  let ns = Math.round((ms - s * 1000) * 1e6);
  if (ns >= NS_PER_S) ns = NS_PER_S - 1;
  return [s, ns];
}

/** `ts` as given by the user; absent, null or 0 means now; anything unusable warns once and means now. */
export function toHr(ts: unknown): HrTime {
  if (ts === undefined || ts === null || ts === 0 || ts === 0n) return nowHr();
  if (typeof ts === 'number') {
    if (Number.isFinite(ts) && ts >= MIN_EPOCH_NS) {
      const s = Math.floor(ts / NS_PER_S);
      // s * 1e9 is exact for any realistic epoch (s * 1953125 < 2^53), so the remainder is too.
      let ns = Math.round(ts - s * NS_PER_S);
      if (ns >= NS_PER_S) ns = NS_PER_S - 1;
      return [s, ns];
    }
  } else if (typeof ts === 'bigint') {
    if (ts >= BigInt(MIN_EPOCH_NS)) return [Number(ts / NS_PER_S_BIG), Number(ts % NS_PER_S_BIG)];
  }
  warnOnce('bad_ts', `ts must be epoch nanoseconds (number or bigint); got ${describeTs(ts)}: using the current time`);
  return nowHr();
}

function describeTs(ts: unknown): string {
  if (typeof ts === 'number' || typeof ts === 'bigint') return String(ts);
  return typeof ts;
}
