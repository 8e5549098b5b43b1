// The slice API as the app imports it: a facade that costs a property read when tracing is off and loads the
// implementation (./impl.ts and what it imports) only on the first call made with tracing on, so importing
// @x/trace-agent stays nearly free on the tracing-off path.
import { agentState } from '../state.js';
import type * as Impl from './impl.js';
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

export { TraceSpanName } from './names.js';
export type * from './types.js';

const state = agentState();
let impl: typeof Impl | undefined;
const load = (): typeof Impl => (impl ??= require('./impl.js') as typeof Impl);
/** Tracing may still come on: the agent has not decided yet (the API was imported without the entry point). */
const undecided = () => !state.started;

export function processTracingInit(opts?: ProcessTracingInitOptions | string, serviceName?: string): boolean {
  return state.started ? state.tracing : load().processTracingInit(opts, serviceName);
}
export function traceSetThreadInfo(label: string, tpRank?: number, dpRank?: number): void {
  if (state.tracing || undecided()) load().traceSetThreadInfo(label, tpRank, dpRank);
}
export function traceReqStart(rid: Rid, opts?: ReqStartOptions): void {
  if (state.tracing) load().traceReqStart(rid, opts);
}
export function traceReqFinish(rid: Rid, opts?: ReqFinishOptions): void {
  if (state.tracing) load().traceReqFinish(rid, opts);
}
export function traceSliceStart(name: string, rid: Rid, opts?: SliceStartOptions): void {
  if (state.tracing) load().traceSliceStart(name, rid, opts);
}
export function traceSliceEnd(name: string, rid: Rid, opts?: SliceEndOptions): void {
  if (state.tracing) load().traceSliceEnd(name, rid, opts);
}
export function traceEvent(name: string, rid: Rid, opts?: EventOptions): void {
  if (state.tracing) load().traceEvent(name, rid, opts);
}
export function traceSliceAddAttr(rid: Rid, attrs: Attrs): void {
  if (state.tracing) load().traceSliceAddAttr(rid, attrs);
}
export function traceGetProcPropagateContext(rid: Rid): TracePropagateContext | undefined {
  return state.tracing ? load().traceGetProcPropagateContext(rid) : undefined;
}
export function traceSetProcPropagateContext(rid: Rid, ctx: unknown, opts?: SetPropagateOptions): void {
  if (state.tracing) load().traceSetProcPropagateContext(rid, ctx, opts);
}
export function traceSliceBatch(name: string, reqs: Iterable<BatchReq>, opts?: BatchOptions): void {
  if (state.tracing) load().traceSliceBatch(name, reqs, opts);
}
export function traceEventBatch(name: string, reqs: Iterable<BatchReq>, opts?: BatchOptions): void {
  if (state.tracing) load().traceEventBatch(name, reqs, opts);
}
export function traceReportSpan(
  name: string,
  rid: Rid,
  startNs: EpochNs,
  endNs: EpochNs,
  opts?: Parameters<typeof Impl.traceReportSpan>[4],
): void {
  if (state.tracing) load().traceReportSpan(name, rid, startNs, endNs, opts as ReportSpanOptions);
}
export function getTraceInfoForRequest(rid: Rid): TraceInfo | undefined {
  return state.tracing ? load().getTraceInfoForRequest(rid) : undefined;
}
export function traceRunInSlice<R>(rid: Rid, fn: () => R): R {
  return state.tracing ? load().traceRunInSlice(rid, fn) : fn();
}
/** Wraps a function (or decorates a method) in a span; with tracing off for good, returns it unchanged. */
// biome-ignore lint/suspicious/noExplicitAny: any function, and a wrapper or a decorator chosen at run time
export function traceSpan(name?: string | ((...args: any[]) => unknown)): any {
  if (state.started && !state.tracing) {
    return typeof name === 'function'
      ? name
      : (target: unknown, _key?: unknown, descriptor?: PropertyDescriptor) => descriptor ?? target;
  }
  return load().traceSpan(name);
}
