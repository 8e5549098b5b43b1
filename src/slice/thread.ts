// Thread identity. Each worker_thread runs its own copy of this module, so it has its own identity and its own
// thread spans automatically. On one JS thread the label last set with traceSetThreadInfo applies: calling it
// again with another label switches to another logical thread (one stage of a pipeline), with its own thread
// span per request.
import { isMainThread, threadId as workerThreadId } from 'node:worker_threads';
import type { Attributes } from '@opentelemetry/api';
import type { ThreadInfo } from './model.js';
import { warnOnce } from './warn.js';

const MAX_INFOS = 256;

// Raw values from traceSetThreadInfo, stored even while tracing is off (3 writes) so that a program calling it
// before processTracingInit keeps its label; validated on first use.
let rawLabel: unknown;
let rawTp: unknown;
let rawDp: unknown;
let dirty = false;
let current: ThreadInfo | undefined;
const infos = new Map<string, ThreadInfo>();

export function setRawThreadInfo(label: unknown, tpRank: unknown, dpRank: unknown): void {
  rawLabel = label;
  rawTp = tpRank;
  rawDp = dpRank;
  dirty = true;
}

export function currentThreadInfo(hostId: string): ThreadInfo {
  if (dirty) {
    dirty = false;
    current = lookup(hostId, validLabel(rawLabel), validRank(rawTp, 'tpRank'), validRank(rawDp, 'dpRank'));
  } else if (current === undefined) {
    const label = isMain() ? 'main' : `worker ${threadId()}`;
    warnOnce('no_thread_info', `traceSetThreadInfo() was not called on this thread: its spans are labelled "${label}"`);
    current = lookup(hostId, label, undefined, undefined);
  }
  return current;
}

function lookup(hostId: string, label: string, tpRank: number | undefined, dpRank: number | undefined): ThreadInfo {
  const key = `${label}\u0000${tpRank ?? ''}\u0000${dpRank ?? ''}`;
  let info = infos.get(key);
  if (info === undefined) {
    info = makeInfo(hostId, label, tpRank, dpRank);
    // Labels are user data: never let a label-per-request pattern grow this cache without bound.
    if (infos.size >= MAX_INFOS) infos.clear();
    infos.set(key, info);
  }
  return info;
}

function makeInfo(hostId: string, label: string, tpRank: number | undefined, dpRank: number | undefined): ThreadInfo {
  const tid = threadId();
  let spanName = label;
  if (tpRank !== undefined) spanName += ` [TP ${tpRank}]`;
  if (dpRank !== undefined) spanName += ` [DP ${dpRank}]`;
  spanName += ` (host:${hostId.slice(0, 8)} | pid:${process.pid}${tid === 0 ? '' : ` | tid:${tid}`})`;
  const attrs: Attributes = { thread_label: label, host_id: hostId, pid: process.pid, thread_id: tid };
  if (tpRank !== undefined) attrs.tp_rank = tpRank;
  if (dpRank !== undefined) attrs.dp_rank = dpRank;
  return { label, tpRank, dpRank, spanName, attrs };
}

function validLabel(label: unknown): string {
  if (typeof label === 'string' && label !== '') return label;
  if (typeof label === 'number' || typeof label === 'bigint') return String(label);
  warnOnce(
    'bad_argument',
    `traceSetThreadInfo: label must be a non-empty string; got ${typeof label}: using "unknown"`,
  );
  return 'unknown';
}

function validRank(rank: unknown, what: string): number | undefined {
  if (rank === undefined || rank === null) return undefined;
  if (typeof rank === 'number' && Number.isSafeInteger(rank) && rank >= 0) return rank;
  warnOnce('bad_argument', `traceSetThreadInfo: ${what} must be a non-negative integer; got ${String(rank)}: ignored`);
  return undefined;
}

function isMain(): boolean {
  return isMainThread;
}

function threadId(): number {
  return workerThreadId;
}

/** For tests. */
export function resetThreads(): void {
  rawLabel = rawTp = rawDp = undefined;
  dirty = false;
  current = undefined;
  infos.clear();
}

export function threadInfoCount(): number {
  return infos.size;
}
