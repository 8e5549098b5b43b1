// The slice API (SGLang / FastDeploy's request → thread → slice tracing), public entry. Every call first checks the
// shared agent state: with tracing off it returns at once and nothing from OpenTelemetry is ever loaded. With
// tracing on, misuse is reported once per kind on stderr and never throws into the caller.
import { startAgent } from '../agent.js';
import { agentState } from '../state.js';
import { getPropagate, setPropagate } from './propagate.js';
import { reqFinish, reqStart, traceInfo } from './request.js';
import { addAttrs, event, eventBatch, normRid, reportSpan, runIn, sliceBatch, sliceEnd, sliceStart } from './slices.js';
import { setRawThreadInfo } from './thread.js';
import type {
  Attrs,
  BatchOptions,
  BatchReq,
  EpochNs,
  EventOptions,
  ProcessTracingInitOptions,
  ReportSpanOptions,
  ReqFinishOptions,
  ReqStartOptions,
  Rid,
  SetPropagateOptions,
  SliceEndOptions,
  SliceStartOptions,
  TraceInfo,
  TracePropagateContext,
} from './types.js';
import { describe, warnOnce } from './warn.js';
import { callInSpan } from './wrap.js';

export { TraceSpanName } from './names.js';
export type * from './types.js';

// One object for the whole process (a global symbol inside), read on every call: a property load and a branch.
const state = agentState();

function internal(what: string, err: unknown): void {
  warnOnce('internal_error', `${what} failed inside the agent (the call was skipped): ${describe(err)}`);
}

function nameOf(name: unknown, what: string): string | undefined {
  if (typeof name === 'string') return name;
  if (typeof name === 'number') return String(name);
  warnOnce('bad_argument', `${what}: name must be a string; got ${name === null ? 'null' : typeof name}: ignored`);
  return undefined;
}

function optsOf<T extends object>(opts: T | undefined, what: string): T | undefined {
  if (opts === undefined || opts === null || typeof opts === 'object') return opts ?? undefined;
  warnOnce('bad_argument', `${what}: options must be an object; got ${typeof opts}: ignored`);
  return undefined;
}

/**
 * For programs that do not preload the agent (`node --import @x/trace-agent`): starts it now, from the
 * environment. Options only fill in variables that are not set. Idempotent; returns whether tracing is on.
 * SGLang's positional form `processTracingInit(endpoint, serviceName)` is accepted too.
 */
export function processTracingInit(opts?: ProcessTracingInitOptions | string, serviceName?: string): boolean {
  try {
    if (!state.started) {
      const o: ProcessTracingInitOptions | undefined =
        typeof opts === 'string' ? { endpoint: opts, serviceName } : opts;
      if (o !== undefined && o !== null && typeof o === 'object') applyDefaults(o);
      startAgent();
    }
  } catch (err) {
    warnOnce('init_failed', `processTracingInit could not start the agent: ${describe(err)}`);
  }
  return state.tracing;
}

function applyDefaults(o: ProcessTracingInitOptions): void {
  const env = process.env;
  if (typeof o.enable === 'boolean' && env.TRACES_ENABLE === undefined) env.TRACES_ENABLE = o.enable ? 'true' : 'false';
  if (
    typeof o.serviceName === 'string' &&
    o.serviceName !== '' &&
    env.FD_SERVICE_NAME === undefined &&
    env.OTEL_SERVICE_NAME === undefined
  ) {
    env.FD_SERVICE_NAME = o.serviceName;
  }
  if (
    typeof o.endpoint === 'string' &&
    o.endpoint !== '' &&
    env.EXPORTER_OTLP_ENDPOINT === undefined &&
    env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined &&
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined
  ) {
    env.EXPORTER_OTLP_ENDPOINT = o.endpoint;
  }
}

/**
 * Names the current thread (a worker_thread, or the main thread) for the thread spans of every request touched
 * here. Calling it again switches the current logical thread: one process can model several stages this way.
 * Remembered even while tracing is off.
 */
export function traceSetThreadInfo(label: string, tpRank?: number, dpRank?: number): void {
  setRawThreadInfo(label, tpRank, dpRank);
}

/** Starts tracing request `rid`: `[Bootstrap Room] → "<role> Req <rid prefix>" → this thread's span`. */
export function traceReqStart(rid: Rid, opts?: ReqStartOptions): void {
  if (!state.tracing) return;
  try {
    const r = normRid(rid, 'traceReqStart');
    if (r !== undefined) reqStart(r, optsOf(opts, 'traceReqStart'));
  } catch (err) {
    internal('traceReqStart', err);
  }
}

/** Ends every open slice and thread span of the request here, then its root (never a span it did not create). */
export function traceReqFinish(rid: Rid, opts?: ReqFinishOptions): void {
  if (!state.tracing) return;
  try {
    const r = normRid(rid, 'traceReqFinish');
    if (r !== undefined) reqFinish(r, optsOf(opts, 'traceReqFinish'));
  } catch (err) {
    internal('traceReqFinish', err);
  }
}

/** Opens a slice on this thread, nested in the innermost open one; it becomes the active context here. */
export function traceSliceStart(name: string, rid: Rid, opts?: SliceStartOptions): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceSliceStart');
    const r = normRid(rid, 'traceSliceStart');
    if (n !== undefined && r !== undefined) sliceStart(n, r, optsOf(opts, 'traceSliceStart'));
  } catch (err) {
    internal('traceSliceStart', err);
  }
}

/** Ends the innermost open slice (naming it if anonymous). */
export function traceSliceEnd(name: string, rid: Rid, opts?: SliceEndOptions): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceSliceEnd');
    const r = normRid(rid, 'traceSliceEnd');
    if (n !== undefined && r !== undefined) sliceEnd(n, r, optsOf(opts, 'traceSliceEnd'));
  } catch (err) {
    internal('traceSliceEnd', err);
  }
}

/** Adds an event to the innermost open slice (else the thread span). */
export function traceEvent(name: string, rid: Rid, opts?: EventOptions): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceEvent');
    const r = normRid(rid, 'traceEvent');
    if (n !== undefined && r !== undefined) event(n, r, optsOf(opts, 'traceEvent'));
  } catch (err) {
    internal('traceEvent', err);
  }
}

/** Sets attributes on the innermost open slice (else the thread span). */
export function traceSliceAddAttr(rid: Rid, attrs: Attrs): void {
  if (!state.tracing) return;
  try {
    const r = normRid(rid, 'traceSliceAddAttr');
    if (r !== undefined) addAttrs(r, attrs);
  } catch (err) {
    internal('traceSliceAddAttr', err);
  }
}

/** JSON-serialisable context to hand to another process or thread; undefined when off or unknown. */
export function traceGetProcPropagateContext(rid: Rid): TracePropagateContext | undefined {
  if (!state.tracing) return undefined;
  try {
    const r = normRid(rid, 'traceGetProcPropagateContext');
    return r === undefined ? undefined : getPropagate(r);
  } catch (err) {
    internal('traceGetProcPropagateContext', err);
    return undefined;
  }
}

/**
 * Joins request `rid` on this thread from a propagated context: ours, SGLang's dict, a JSON string of either,
 * headers carrying `traceparent`, an OpenTelemetry Context, or a received ZeroMQ message.
 */
export function traceSetProcPropagateContext(rid: Rid, ctx: unknown, opts?: SetPropagateOptions): void {
  if (!state.tracing) return;
  try {
    const r = normRid(rid, 'traceSetProcPropagateContext');
    if (r !== undefined) setPropagate(r, ctx, optsOf(opts, 'traceSetProcPropagateContext'));
  } catch (err) {
    internal('traceSetProcPropagateContext', err);
  }
}

/** SGLang's batch step: ends `name` for each request; unfinished ones continue in a new anonymous slice. */
export function traceSliceBatch(name: string, reqs: Iterable<BatchReq>, opts?: BatchOptions): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceSliceBatch');
    if (n !== undefined) sliceBatch(n, reqs, optsOf(opts, 'traceSliceBatch'));
  } catch (err) {
    internal('traceSliceBatch', err);
  }
}

/** The same event on each request's innermost open slice. */
export function traceEventBatch(name: string, reqs: Iterable<BatchReq>, opts?: BatchOptions): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceEventBatch');
    if (n !== undefined) eventBatch(n, reqs, optsOf(opts, 'traceEventBatch'));
  } catch (err) {
    internal('traceEventBatch', err);
  }
}

/** FastDeploy's trace_report_span: a slice whose start and end are already known. */
export function traceReportSpan(
  name: string,
  rid: Rid,
  startNs: EpochNs,
  endNs: EpochNs,
  opts?: ReportSpanOptions,
): void {
  if (!state.tracing) return;
  try {
    const n = nameOf(name, 'traceReportSpan');
    const r = normRid(rid, 'traceReportSpan');
    if (n !== undefined && r !== undefined) reportSpan(n, r, startNs, endNs, optsOf(opts, 'traceReportSpan'));
  } catch (err) {
    internal('traceReportSpan', err);
  }
}

/** `{ traceId, spanId }` of the request root (hex), e.g. to return to the client; undefined when off or unknown. */
export function getTraceInfoForRequest(rid: Rid): TraceInfo | undefined {
  if (!state.tracing) return undefined;
  try {
    const r = normRid(rid, 'getTraceInfoForRequest');
    return r === undefined ? undefined : traceInfo(r);
  } catch (err) {
    internal('getTraceInfoForRequest', err);
    return undefined;
  }
}

/**
 * Runs `fn` with the request's innermost open slice (else its thread span) as the active context, restored when
 * `fn` returns: the scoped alternative to the context traceSliceStart makes active in the calling scope.
 */
export function traceRunInSlice<R>(rid: Rid, fn: () => R): R {
  if (!state.tracing) return fn();
  let r: string | undefined;
  try {
    r = normRid(rid, 'traceRunInSlice');
  } catch (err) {
    internal('traceRunInSlice', err);
  }
  return r === undefined ? fn() : runIn(r, fn);
}

// biome-ignore lint/suspicious/noExplicitAny: any function may be wrapped, whatever its parameters
type AnyFn = (this: unknown, ...args: any[]) => unknown;

/**
 * FastDeploy's `@trace_span`: wraps a sync or async function so each call is a span (child of the active
 * context, e.g. the open slice). Use as `traceSpan('name')(fn)`, `traceSpan(fn)`, or as a method decorator
 * (standard or legacy `experimentalDecorators`). The span name defaults to the function name.
 */
// biome-ignore lint/suspicious/noExplicitAny: a wrapper or a decorator (standard or legacy), chosen at run time
export function traceSpan(name?: string | AnyFn): any {
  if (typeof name === 'function') return wrap(name, name.name || 'anonymous');
  return function traceSpanDecorator(target: unknown, key?: unknown, descriptor?: PropertyDescriptor): unknown {
    if (descriptor !== undefined && typeof descriptor.value === 'function') {
      descriptor.value = wrap(descriptor.value as AnyFn, name ?? String(key));
      return descriptor;
    }
    if (typeof target === 'function') {
      const decoratorName =
        key !== null && typeof key === 'object' && 'name' in key ? String((key as { name: unknown }).name) : undefined;
      return wrap(target as AnyFn, name ?? decoratorName ?? (target.name || 'anonymous'));
    }
    warnOnce('bad_argument', 'traceSpan: can only wrap a function or decorate a method: left as is');
    return target;
  };
}

function wrap<F extends AnyFn>(fn: F, spanName: string): F {
  // Known off for good (the agent ran and left tracing off): no wrapper at all.
  if (state.started && !state.tracing) return fn;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (!state.tracing) return fn.apply(this, args);
    return callInSpan(spanName, fn, this, args);
  };
  try {
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  } catch {
    // cosmetic only
  }
  return wrapped as unknown as F;
}
