// Heavy entry (loads @opentelemetry/*): for the agent's SDK setup only. Code that must stay cheap when tracing is
// off (the public API) imports contextOf / withMessageContext from './message-context.js' directly.
export { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, ZeroMqInstrumentation } from './instrumentation.js';
export { contextOf, withMessageContext } from './message-context.js';
export { decodeTraceFrame, encodeTraceFrame, FRAME_MAGIC, FRAME_VERSION } from './propagator.js';
export type { TraceFrame, ZeroMqInstrumentationConfig } from './types.js';
