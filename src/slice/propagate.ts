// Crossing a process or thread boundary by hand: the sender's root-span carrier plus the slice the receiver's
// first top-level slice should link to, as plain JSON. Also accepts SGLang's dict, a JSON string of either,
// plain headers carrying `traceparent`, an OpenTelemetry Context, and a received ZeroMQ message.
import type { Context, SpanContext } from '@opentelemetry/api';
import { contextOf } from '../instrumentations/zeromq/message-context.js';
import type { ReqCtx } from './model.js';
import { foreignContext, otel } from './otel.js';
import { addReq, createThread, findReq, reqs, threadInfo } from './registry.js';
import { toHr } from './time.js';
import type { TracePropagateContext } from './types.js';
import { warnOnce } from './warn.js';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;

interface Parsed {
  rootCtx: Context;
  prev: SpanContext | undefined;
}

export function getPropagate(rid: string): TracePropagateContext | undefined {
  const req = findReq(rid, 'traceGetProcPropagateContext');
  if (req === undefined) return undefined;
  const api = otel();
  const root: Record<string, string> = {};
  api.propagation.inject(req.rootCtx, root);
  const rootSc = api.trace.getSpanContext(req.rootCtx);
  // Works without a global propagator too: the receiver always finds a traceparent.
  if (root.traceparent === undefined && rootSc !== undefined && api.isSpanContextValid(rootSc)) {
    root.traceparent = `00-${rootSc.traceId}-${rootSc.spanId}-${(rootSc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  }
  const prev = prevSlice(req);
  return new PropagateContext(root, prev !== undefined && api.isSpanContextValid(prev) ? prev : undefined);
}

const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

/** SGLang's dict and ours in one object; its toJSON keeps the integer ids exact (a prototype method: never cloned). */
class PropagateContext implements TracePropagateContext {
  readonly root_span: Record<string, string>;
  readonly prev_span: TracePropagateContext['prev_span'];
  readonly root: Record<string, string>;
  readonly prev?: { traceId: string; spanId: string };

  constructor(carrier: Record<string, string>, prev: SpanContext | undefined) {
    this.root_span = carrier;
    this.root = { ...carrier };
    this.prev_span = prev ? { trace_id: BigInt(`0x${prev.traceId}`), span_id: BigInt(`0x${prev.spanId}`) } : 'None';
    if (prev) this.prev = { traceId: prev.traceId, spanId: prev.spanId };
  }

  toJSON(): Record<string, unknown> {
    const ps = this.prev_span;
    // JSON.rawJSON (Node >= 21) writes the digits as they are; JSON numbers would round above 2^53.
    const exact = (n: bigint) => (rawJSON ? rawJSON(n.toString()) : n.toString());
    const prevSpan = ps === 'None' ? ps : { trace_id: exact(ps.trace_id), span_id: exact(ps.span_id) };
    return {
      root_span: this.root_span,
      prev_span: prevSpan,
      root: this.root,
      ...(this.prev ? { prev: this.prev } : {}),
    };
  }
}

/** As SGLang: the outermost open slice of this thread, else its last ended top-level slice. */
function prevSlice(req: ReqCtx): SpanContext | undefined {
  const th = req.threads.get(threadInfo());
  if (th === undefined) return req.lastTop;
  return th.stack.length > 0 ? th.stack[0].span.spanContext() : th.last;
}

export function setPropagate(rid: string, input: unknown, opts: { ts?: unknown } | undefined): void {
  const parsed = parse(input);
  if (parsed === undefined) return;
  const ts = toHr(opts?.ts);
  let req = reqs.get(rid);
  if (req === undefined) {
    req = {
      rid,
      copy: true,
      born: performance.now(),
      root: undefined,
      room: undefined,
      rootCtx: parsed.rootCtx,
      threads: new Map(),
      lastTop: undefined,
    };
    addReq(req);
  }
  const info = threadInfo();
  // Already part of the request on this thread: nothing to join (as SGLang).
  if (req.threads.has(info)) return;
  createThread(req, info, ts, parsed.prev ?? req.lastTop);
}

function bad(why: string): undefined {
  warnOnce('bad_propagate_context', `traceSetProcPropagateContext: ${why}: ignored`);
  return undefined;
}

function parse(input: unknown): Parsed | undefined {
  if (input === undefined || input === null) return bad('no context given');
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input, keepBigInts);
    } catch {
      return bad('the string is not JSON');
    }
  }
  if (Array.isArray(input) || ArrayBuffer.isView(input)) return fromContext(messageContext(input));
  if (typeof input !== 'object' || input === null) return bad(`unsupported ${typeof input}`);
  const obj = input as Record<string, unknown>;
  if (typeof obj.getValue === 'function') return fromContext(foreignContext(input as Context));
  // Ours first: hex ids, never rounded (the SGLang form's integers may have passed through a lossy JSON parser).
  if (obj.root !== undefined) return fromCarrier(obj.root, obj.prev, 'traceId', 'spanId');
  if (obj.root_span !== undefined) return fromCarrier(obj.root_span, obj.prev_span, 'trace_id', 'span_id');
  if (obj.traceparent !== undefined) return fromCarrier(obj, undefined, '', '');
  return bad(
    "expected { root, prev } (or SGLang's { root_span, prev_span }), a traceparent carrier, a Context or a ZeroMQ message",
  );
}

/** A received ZeroMQ message (its frames array or first frame): the context the ZeroMQ instrumentation found. */
function messageContext(message: unknown): Context | undefined {
  return contextOf(message);
}

function fromContext(ctx: Context | undefined): Parsed | undefined {
  if (ctx === undefined) return bad('the message carries no trace context');
  const api = otel();
  const sc = api.trace.getSpanContext(ctx);
  if (sc === undefined || !api.isSpanContextValid(sc)) return bad('the context carries no valid span');
  // The span the context names (e.g. the ZeroMQ producer span, a child of the sender's slice) is what the
  // first slice here can link to.
  return { rootCtx: ctx, prev: sc };
}

function fromCarrier(carrier: unknown, prevRaw: unknown, traceKey: string, spanKey: string): Parsed | undefined {
  if (carrier === null || typeof carrier !== 'object') return bad('the root carrier is not an object');
  const api = otel();
  let rootCtx = api.propagation.extract(api.ROOT_CONTEXT, carrier);
  const sc = api.trace.getSpanContext(rootCtx);
  if (sc === undefined || !api.isSpanContextValid(sc)) {
    // No (or another) global propagator: read the W3C header ourselves.
    const header = (carrier as Record<string, unknown>).traceparent;
    const m = typeof header === 'string' ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
    const ctxSc: SpanContext | undefined =
      m === null ? undefined : { traceId: m[2], spanId: m[3], traceFlags: parseInt(m[4], 16) & 1, isRemote: true };
    if (ctxSc === undefined || !api.isSpanContextValid(ctxSc)) return bad('the root carrier has no valid traceparent');
    rootCtx = api.trace.setSpanContext(rootCtx, ctxSc);
  }
  return { rootCtx, prev: prevOf(prevRaw, traceKey, spanKey) };
}

function prevOf(raw: unknown, traceKey: string, spanKey: string): SpanContext | undefined {
  if (raw === undefined || raw === null || raw === 'None' || traceKey === '') return undefined;
  if (typeof raw !== 'object') {
    bad('prev is not an object');
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const traceId = hexId(obj[traceKey], 32);
  const spanId = hexId(obj[spanKey], 16);
  if (traceId === undefined || spanId === undefined) {
    bad('prev ids must be hex strings (or integers below 2^53, or bigints): the link to the previous slice is dropped');
    return undefined;
  }
  const sc: SpanContext = { traceId, spanId, traceFlags: 1, isRemote: true };
  return otel().isSpanContextValid(sc) ? sc : undefined;
}

/** Hex strings as given; integers (SGLang sends Python ints) converted, unless JSON already lost their precision. */
function hexId(v: unknown, len: number): string | undefined {
  let hex: string | undefined;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase().replace(/^0x/, '');
    if (/^[0-9a-f]+$/.test(s)) hex = s;
  } else if (typeof v === 'bigint' && v > 0n) {
    hex = v.toString(16);
  } else if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) {
    hex = v.toString(16);
  }
  return hex === undefined || hex.length > len ? undefined : hex.padStart(len, '0');
}

/** JSON.parse reviver: integers beyond 2^53 (SGLang's ids) come back exact, as bigints (Node >= 21 gives the source). */
function keepBigInts(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    typeof context?.source === 'string' &&
    /^\d+$/.test(context.source)
  ) {
    return BigInt(context.source);
  }
  return value;
}
