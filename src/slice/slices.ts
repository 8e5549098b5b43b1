// Slice level: start/end (nested by order), events and attributes on the innermost open slice, batches.
import type { Attributes, HrTime, Span } from '@opentelemetry/api';
import { toAttributes } from './attrs.js';
import type { ReqCtx, SliceRec, ThreadCtx } from './model.js';
import { foreignContext, otel, SliceContext, sliceTracer } from './otel.js';
import { closeThread, dropTopSlice, endTopSlice, findReq, reqs, threadFor, threadInfo } from './registry.js';
import { toHr } from './time.js';
import { warnOnce } from './warn.js';

const ANONYMOUS = 'anonymous';

export function sliceStart(name: string, rid: string, opts: { ts?: unknown; anonymous?: unknown } | undefined): void {
  const req = findReq(rid, 'traceSliceStart');
  if (req === undefined) return;
  const ts = toHr(opts?.ts);
  startOn(req, threadFor(req, ts), name, opts?.anonymous === true || name === '', ts);
}

function startOn(_req: ReqCtx, th: ThreadCtx, name: string, anonymous: boolean, ts: HrTime): void {
  const api = otel();
  const parent = th.stack.length === 0 ? undefined : th.stack[th.stack.length - 1];
  // Only top-level slices link, to the previous top-level slice of the thread (or of the sender, after a hop).
  const prev = parent === undefined ? th.last : undefined;
  const span = sliceTracer().startSpan(
    anonymous ? ANONYMOUS : name,
    { startTime: ts, links: prev === undefined ? undefined : [{ context: prev }] },
    parent === undefined ? th.ctx : parent.live,
  );
  const base = foreignContext(api.context.active());
  const rec: SliceRec = { name, anonymous, span, base, live: api.trace.setSpan(base, span), parent, ended: false };
  th.stack.push(rec);
  // The slice becomes the active context of the calling async scope: HTTP and ZeroMQ spans made there (and in
  // callbacks / promises started there) are its children. The view falls back once the slice has ended.
  api.context.attach(new SliceContext(rec));
}

export function sliceEnd(
  name: string,
  rid: string,
  opts: { ts?: unknown; attrs?: unknown; autoNextAnon?: unknown; threadFinishFlag?: unknown } | undefined,
): void {
  endAt(
    name,
    rid,
    toHr(opts?.ts),
    toAttributes(opts?.attrs, 'traceSliceEnd'),
    opts?.autoNextAnon === true,
    opts?.threadFinishFlag === true,
  );
}

function endAt(
  name: string,
  rid: string,
  ts: HrTime,
  attrs: Attributes | undefined,
  autoNextAnon: boolean,
  threadFinish: boolean,
): void {
  const req = findReq(rid, 'traceSliceEnd');
  if (req === undefined) return;
  const th = req.threads.get(threadInfo());
  if (th === undefined || th.stack.length === 0) {
    warnOnce(
      'slice_end_without_start',
      `traceSliceEnd("${name}", "${rid}") with no open slice on this thread: ignored`,
    );
    return;
  }
  const rec = matchSlice(req, th, name, ts);
  if (attrs !== undefined) rec.span.setAttributes(attrs);
  endTopSlice(req, th, ts);
  if (threadFinish) {
    closeThread(req, th, ts);
    // A process that only continues the request forgets it once its last thread is done.
    if (req.copy && req.threads.size === 0 && reqs.get(req.rid) === req) reqs.delete(req.rid);
    return;
  }
  if (autoNextAnon) startOn(req, th, '', true, ts);
}

/**
 * Makes the slice that `name` ends the innermost one and returns it. An anonymous innermost slice takes the name,
 * unless an enclosing open slice already has it. A name matching an enclosing slice ends the slices nested in it
 * first (error status: they were never ended; anonymous ones are dropped). A name matching nothing ends the
 * innermost slice with error status, as SGLang does.
 */
function matchSlice(req: ReqCtx, th: ThreadCtx, name: string, ts: HrTime): SliceRec {
  const stack = th.stack;
  const top = stack[stack.length - 1];
  if (!top.anonymous && top.name === name) return top;
  let i = stack.length - 2;
  while (i >= 0 && (stack[i].anonymous || stack[i].name !== name)) i--;
  if (top.anonymous && i < 0) {
    if (name !== '') {
      top.name = name;
      top.anonymous = false;
      top.span.updateName(name);
    }
    return top;
  }
  const ERROR = otel().SpanStatusCode.ERROR;
  if (i < 0) {
    warnOnce(
      'slice_name_mismatch',
      `traceSliceEnd("${name}") but the open slice is "${top.name}": that slice is ended with error status`,
    );
    top.span.setStatus({ code: ERROR, message: `slice name mismatch: started as "${top.name}", ended as "${name}"` });
    return top;
  }
  let warned = false;
  while (stack.length - 1 > i) {
    const inner = stack[stack.length - 1];
    if (inner.anonymous) {
      dropTopSlice(th);
      continue;
    }
    if (!warned) {
      warnOnce(
        'unclosed_slice',
        `traceSliceEnd("${name}") while slices nested in it are open: they are ended first, with error status`,
      );
      warned = true;
    }
    inner.span.setStatus({ code: ERROR, message: `slice not ended before enclosing slice "${name}"` });
    endTopSlice(req, th, ts);
  }
  return stack[i];
}

/** The span events and attributes go to: the innermost open slice, else the thread span, else our root. */
function targetSpan(req: ReqCtx): Span | undefined {
  const th = req.threads.get(threadInfo());
  if (th !== undefined) return th.stack.length === 0 ? th.span : th.stack[th.stack.length - 1].span;
  return req.root;
}

export function event(name: string, rid: string, opts: { ts?: unknown; attrs?: unknown } | undefined): void {
  eventAt(name, rid, toHr(opts?.ts), toAttributes(opts?.attrs, 'traceEvent'));
}

function eventAt(name: string, rid: string, ts: HrTime, attrs: Attributes | undefined): void {
  const req = findReq(rid, 'traceEvent');
  if (req === undefined) return;
  const span = targetSpan(req);
  if (span === undefined) {
    warnOnce(
      'no_open_span',
      `traceEvent("${name}", "${rid}"): no span of this request is open on this thread: dropped`,
    );
    return;
  }
  span.addEvent(name, attrs, ts);
}

export function addAttrs(rid: string, attrs: unknown): void {
  const req = findReq(rid, 'traceSliceAddAttr');
  if (req === undefined) return;
  const clean = toAttributes(attrs, 'traceSliceAddAttr');
  if (clean === undefined) return;
  const span = targetSpan(req);
  if (span === undefined) {
    warnOnce('no_open_span', `traceSliceAddAttr("${rid}"): no span of this request is open on this thread: dropped`);
    return;
  }
  span.setAttributes(clean);
}

export function reportSpan(
  name: string,
  rid: string,
  startNs: unknown,
  endNs: unknown,
  opts: { attrs?: unknown; threadFinishFlag?: unknown } | undefined,
): void {
  const req = findReq(rid, 'traceReportSpan');
  if (req === undefined) return;
  const start = toHr(startNs);
  startOn(req, threadFor(req, start), name, false, start);
  endAt(name, rid, toHr(endNs), toAttributes(opts?.attrs, 'traceReportSpan'), false, opts?.threadFinishFlag === true);
}

export function sliceBatch(name: string, batch: unknown, opts: { ts?: unknown; attrs?: unknown } | undefined): void {
  const items = iterable(batch, 'traceSliceBatch');
  if (items === undefined) return;
  const ts = toHr(opts?.ts);
  const attrs = toAttributes(opts?.attrs, 'traceSliceBatch');
  for (const item of items) {
    const rid = ridOf(item);
    if (rid === undefined) continue;
    const finished = finishedOf(item);
    endAt(name, rid, ts, attrs, !finished, finished);
  }
}

export function eventBatch(name: string, batch: unknown, opts: { ts?: unknown; attrs?: unknown } | undefined): void {
  const items = iterable(batch, 'traceEventBatch');
  if (items === undefined) return;
  const ts = toHr(opts?.ts);
  const attrs: Attributes | undefined = toAttributes(opts?.attrs, 'traceEventBatch');
  for (const item of items) {
    const rid = ridOf(item);
    if (rid !== undefined) eventAt(name, rid, ts, attrs);
  }
}

/** Runs fn with the request's innermost open span on this thread as the active context (scoped, no leak). */
export function runIn<R>(rid: string, fn: () => R): R {
  const req = findReq(rid, 'traceRunInSlice');
  const api = otel();
  if (req === undefined) return fn();
  const th = req.threads.get(threadInfo());
  let ctx = req.rootCtx;
  if (th !== undefined) ctx = th.stack.length === 0 ? th.ctx : new SliceContext(th.stack[th.stack.length - 1]);
  return api.context.with(ctx, fn);
}

function iterable(batch: unknown, what: string): Iterable<unknown> | undefined {
  if (batch !== null && typeof batch === 'object' && Symbol.iterator in batch) return batch as Iterable<unknown>;
  warnOnce('bad_argument', `${what}: reqs must be an array (or iterable) of rids or { rid, finished }: ignored`);
  return undefined;
}

export function normRid(rid: unknown, what: string): string | undefined {
  if (typeof rid === 'string') return rid;
  if (typeof rid === 'number' || typeof rid === 'bigint') return String(rid);
  warnOnce(
    'bad_argument',
    `${what}: rid must be a string (or number); got ${rid === null ? 'null' : typeof rid}: ignored`,
  );
  return undefined;
}

function ridOf(item: unknown): string | undefined {
  if (item !== null && typeof item === 'object' && 'rid' in item)
    return normRid((item as { rid: unknown }).rid, 'batch item');
  return normRid(item, 'batch item');
}

function finishedOf(item: unknown): boolean {
  if (item === null || typeof item !== 'object' || !('finished' in item)) return false;
  const f = (item as { finished: unknown }).finished;
  if (typeof f === 'function') {
    try {
      return Boolean((f as () => unknown).call(item));
    } catch {
      return false;
    }
  }
  return f === true;
}
