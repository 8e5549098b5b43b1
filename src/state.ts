// Process-wide agent state, shared through a global symbol so that every copy of this package loaded in one
// process (ESM + CJS, a bundled copy, a second version in node_modules) sees one agent: it starts at most once.
export interface AgentState {
  /** startAgent() has run (whatever its outcome). */
  started: boolean;
  /** Tracing is on and the SDK pipeline is installed: the slice API and instrumentations do real work. */
  tracing: boolean;
  /** Flushes and shuts the pipeline down; set by the SDK module when tracing is on. */
  shutdown?: (timeoutMs?: number) => Promise<void>;
  /** Flushes pending spans (and logs) without shutting down. */
  forceFlush?: () => Promise<void>;
}

const KEY = Symbol.for('@x/trace-agent.state');

export function agentState(): AgentState {
  const g = globalThis as unknown as Record<symbol, AgentState | undefined>;
  let state = g[KEY];
  if (!state) {
    state = { started: false, tracing: false };
    g[KEY] = state;
  }
  return state;
}
