// Request level: the Bootstrap Room span, the request root span, and the first thread span.
import type { Context, Span } from '@opentelemetry/api';
import { toAttributes } from './attrs.js';
import type { ReqCtx } from './model.js';
import { foreignContext, otel, sliceTracer } from './otel.js';
import { addReq, createThread, endReq, findReq, reqs, threadInfo } from './registry.js';
import { toHr } from './time.js';
import type { TraceInfo } from './types.js';
import { warnOnce } from './warn.js';

const RID_PREFIX = 8;

export function reqStart(
  rid: string,
  opts: { bootstrapRoom?: unknown; ts?: unknown; role?: unknown } | undefined,
): void {
  const api = otel();
  const ts = toHr(opts?.ts);
  const old = reqs.get(rid);
  if (old !== undefined) {
    warnOnce(
      'duplicate_req_start',
      `traceReqStart("${rid}") while that request is still open: the old one is ended with error status`,
    );
    endReq(old, ts, 'superseded by a new traceReqStart for the same rid');
  }
  const info = threadInfo();
  const tracer = sliceTracer();
  // Inside an HTTP handler or a message context the request joins that trace; another request's slice that
  // happens to be active here is peeled off, so requests started in one loop never nest.
  let parent: Context = foreignContext(api.context.active());
  // Always a room span, as the seeds do (FastDeploy: "creates both a Bootstrap Room span and a root span"; SGLang
  // uses room 0 when none is given).
  const roomHex =
    opts?.bootstrapRoom === undefined || opts.bootstrapRoom === null ? '0x0' : toRoomHex(opts.bootstrapRoom);
  const room: Span = tracer.startSpan(
    `Bootstrap Room ${roomHex}`,
    { startTime: ts, attributes: { bootstrap_room: roomHex } },
    parent,
  );
  parent = api.trace.setSpan(parent, room);
  const role = roleOf(opts?.role);
  const name = `${role === '' ? '' : `${role} `}Req ${rid.slice(0, RID_PREFIX)}`;
  const root = tracer.startSpan(name, { startTime: ts, attributes: { rid } }, parent);
  const req: ReqCtx = {
    rid,
    copy: false,
    born: performance.now(),
    root,
    room,
    rootCtx: api.trace.setSpan(parent, root),
    threads: new Map(),
    lastTop: undefined,
  };
  addReq(req);
  createThread(req, info, ts, undefined);
}

export function reqFinish(rid: string, opts: { ts?: unknown; attrs?: unknown } | undefined): void {
  const req = findReq(rid, 'traceReqFinish');
  if (req === undefined) return;
  endReq(req, toHr(opts?.ts), undefined, toAttributes(opts?.attrs, 'traceReqFinish'));
}

export function traceInfo(rid: string): TraceInfo | undefined {
  const req = reqs.get(rid);
  if (req === undefined) return undefined;
  const api = otel();
  const sc = req.root !== undefined ? req.root.spanContext() : api.trace.getSpanContext(req.rootCtx);
  if (sc === undefined || !api.isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId };
}

function roleOf(role: unknown): string {
  if (role === undefined || role === null) return '';
  if (typeof role === 'string') return role.trim() === 'null' ? '' : role.trim();
  warnOnce('bad_argument', `traceReqStart: role must be a string; got ${typeof role}: ignored`);
  return '';
}

/** `0x…` for a room given as a non-negative integer (number, bigint, decimal or 0x-hex string); else room 0. */
function toRoomHex(room: unknown): string {
  let value: bigint | undefined;
  try {
    if (typeof room === 'bigint') value = room;
    else if (typeof room === 'number' && Number.isSafeInteger(room)) value = BigInt(room);
    else if (typeof room === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(room.trim())) value = BigInt(room.trim());
  } catch {
    value = undefined;
  }
  if (value === undefined || value < 0n) {
    warnOnce(
      'bad_argument',
      `traceReqStart: bootstrapRoom must be a non-negative integer; got ${String(room)}: room 0 is used`,
    );
    return '0x0';
  }
  return `0x${value.toString(16)}`;
}
