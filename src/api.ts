// The public API of @x/trace-agent, beside the side effect of starting the agent. Every export is a cheap
// no-op when tracing is off and loads nothing from OpenTelemetry until tracing is on.
export { startAgent } from './agent.js';
