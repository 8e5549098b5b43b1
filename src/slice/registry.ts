// Per-thread registry of traced requests, and the ways their spans end: finished, superseded, expired (TTL) or
// evicted (too many open). Maps are bounded: the TTL sweep and the size cap free what users never finish.
import type { Attributes, HrTime, Span } from '@opentelemetry/api';
import type { ReqCtx, SliceRec, ThreadCtx, ThreadInfo } from './model.js';
import { otel, sliceTracer } from './otel.js';
import { readSettings, type SliceSettings } from './settings.js';
import { currentThreadInfo } from './thread.js';
import { nowHr } from './time.js';
import { describe, warnOnce } from './warn.js';

const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 30_000;

export const reqs = new Map<string, ReqCtx>();
let settings: SliceSettings | undefined;
let lastSweep = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export function sliceSettings(): SliceSettings {
  if (settings === undefined) {
    settings = readSettings();
    startSweeper(settings);
  }
  return settings;
}

function sweepEvery(s: SliceSettings): number {
  return Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(s.reqTtlMs / 10)));
}

function startSweeper(s: SliceSettings): void {
  if (s.reqTtlMs === 0) return;
  const api = otel();
  // Created outside any slice or request context so the timer keeps none of them alive.
  api.context.with(api.ROOT_CONTEXT, () => {
    timer = setInterval(() => {
      try {
        sweep(performance.now());
      } catch (err) {
        warnOnce('internal_error', `request sweep failed: ${describe(err)}`);
      }
    }, sweepEvery(s));
    timer.unref();
  });
}

/** Registers a new request; also where expired and excess requests are let go, so a busy loop stays bounded. */
export function addReq(req: ReqCtx): void {
  const s = sliceSettings();
  if (s.reqTtlMs > 0 && req.born - lastSweep >= sweepEvery(s)) sweep(req.born);
  while (reqs.size >= s.reqMax) {
    const oldest = reqs.values().next().value as ReqCtx;
    warnOnce(
      'req_evicted',
      `more than TRACES_REQ_MAX=${s.reqMax} requests open: the oldest are ended with error status`,
    );
    endReq(oldest, nowHr(), `evicted: more than TRACES_REQ_MAX=${s.reqMax} open requests`);
  }
  reqs.set(req.rid, req);
}

/** Ends requests older than the TTL. Map order is creation order, so it stops at the first young one. */
export function sweep(now: number): void {
  lastSweep = now;
  const ttl = sliceSettings().reqTtlMs;
  if (ttl === 0) return;
  let ts: HrTime | undefined;
  for (const req of reqs.values()) {
    if (now - req.born < ttl) break;
    warnOnce(
      'req_ttl_expired',
      `request "${req.rid}" not finished within TRACES_REQ_TTL_MS=${ttl}: ended with error status`,
    );
    ts ??= nowHr();
    endReq(req, ts, `request not finished within TRACES_REQ_TTL_MS=${ttl}`);
  }
}

export function findReq(rid: string, what: string): ReqCtx | undefined {
  const req = reqs.get(rid);
  if (req === undefined) {
    warnOnce(
      'unknown_rid',
      `${what}: no traced request "${rid}" in this thread (never started, already finished, or its context was not set here)`,
    );
  }
  return req;
}

export function hostId(): string {
  return sliceSettings().hostId;
}

export function threadInfo(): ThreadInfo {
  return currentThreadInfo(sliceSettings().hostId);
}

/** This thread's context for the request; created on demand, linked to the request's last slice here. */
export function threadFor(req: ReqCtx, ts: HrTime): ThreadCtx {
  const info = threadInfo();
  return req.threads.get(info) ?? createThread(req, info, ts, req.lastTop);
}

export function createThread(req: ReqCtx, info: ThreadInfo, ts: HrTime, prev: ThreadCtx['last']): ThreadCtx {
  const api = otel();
  const span = sliceTracer().startSpan(info.spanName, { startTime: ts, attributes: info.attrs }, req.rootCtx);
  const th: ThreadCtx = { info, span, ctx: api.trace.setSpan(req.rootCtx, span), stack: [], last: prev };
  req.threads.set(info, th);
  return th;
}

/** Ends the innermost open slice of a thread. */
export function endTopSlice(req: ReqCtx, th: ThreadCtx, ts: HrTime): SliceRec | undefined {
  const rec = th.stack.pop();
  if (rec === undefined) return undefined;
  rec.ended = true;
  rec.span.end(ts);
  if (rec.parent === undefined) {
    const sc = rec.span.spanContext();
    th.last = sc;
    req.lastTop = sc;
  }
  // The live view now falls back to base; drop the span reference it no longer needs.
  rec.live = rec.base;
  return rec;
}

/** Anonymous slices that never got a name are not reported: they are an artefact of autoNextAnon. */
export function dropTopSlice(th: ThreadCtx): void {
  const rec = th.stack.pop();
  if (rec === undefined) return;
  rec.ended = true;
  rec.live = rec.base;
}

function setError(span: Span, message: string): void {
  span.setStatus({ code: otel().SpanStatusCode.ERROR, message });
}

/**
 * Closes every open slice of a thread (innermost first) and its span. `error` marks an abnormal end (TTL,
 * eviction); otherwise named slices still open are a misuse worth one warning.
 */
export function closeThread(req: ReqCtx, th: ThreadCtx, ts: HrTime, error?: string, attrs?: Attributes): void {
  while (th.stack.length > 0) {
    const top = th.stack[th.stack.length - 1];
    if (top.anonymous) {
      dropTopSlice(th);
      continue;
    }
    if (error !== undefined) setError(top.span, error);
    else
      warnOnce(
        'unclosed_slice',
        `slice "${top.name}" of request "${req.rid}" was still open when its thread or request ended: ended there`,
      );
    endTopSlice(req, th, ts);
  }
  if (attrs !== undefined) th.span.setAttributes(attrs);
  if (error !== undefined) setError(th.span, error);
  th.span.end(ts);
  req.threads.delete(th.info);
}

/** Ends everything this process owns for the request and forgets it. Never ends spans it did not create. */
export function endReq(req: ReqCtx, ts: HrTime, error?: string, attrs?: Attributes): void {
  for (const th of [...req.threads.values()]) closeThread(req, th, ts, error, req.copy ? attrs : undefined);
  if (req.root !== undefined) {
    if (attrs !== undefined) req.root.setAttributes(attrs);
    if (error !== undefined) setError(req.root, error);
    req.root.end(ts);
  }
  req.room?.end(ts);
  if (reqs.get(req.rid) === req) reqs.delete(req.rid);
}

/** For tests and the memory check. */
export function sliceStats(): { reqs: number; threads: number; slices: number } {
  let threads = 0;
  let slices = 0;
  for (const req of reqs.values()) {
    threads += req.threads.size;
    for (const th of req.threads.values()) slices += th.stack.length;
  }
  return { reqs: reqs.size, threads, slices };
}

export function resetRegistry(): void {
  reqs.clear();
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  settings = undefined;
  lastSweep = 0;
}
