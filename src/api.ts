// The public API of @x/trace-agent, beside the side effect of starting the agent. Every export is a cheap
// no-op when tracing is off and loads nothing from OpenTelemetry until tracing is on.
export { startAgent } from './agent.js';
export { contextOf, withMessageContext } from './instrumentations/zeromq/message-context.js';
export {
  getTraceInfoForRequest,
  processTracingInit,
  TraceSpanName,
  traceEvent,
  traceEventBatch,
  traceGetProcPropagateContext,
  traceReportSpan,
  traceReqFinish,
  traceReqStart,
  traceRunInSlice,
  traceSetProcPropagateContext,
  traceSetThreadInfo,
  traceSliceAddAttr,
  traceSliceBatch,
  traceSliceEnd,
  traceSliceStart,
  traceSpan,
} from './slice/index.js';
export type * from './slice/types.js';
