// Heavy entry (loads @opentelemetry/*): for the agent's SDK setup only. Code that must stay cheap when tracing is
// off (the public API) imports contextOf / withMessageContext from './message-context.js' directly.
export { ZeroMqInstrumentation, INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './instrumentation.js';
export { contextOf, withMessageContext } from './message-context.js';
export type { ZeroMqInstrumentationConfig, TraceFrame } from './types.js';
export { encodeTraceFrame, decodeTraceFrame, FRAME_MAGIC, FRAME_VERSION } from './propagator.js';
