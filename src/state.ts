// Process-wide agent state, shared through a global symbol so that every copy of this package loaded in one
// process (ESM + CJS, a bundled copy, a second version in node_modules) sees one agent: it starts at most once.
export interface AgentState {
  /** startAgent() has run (whatever its outcome). */
  started: boolean;
  /** Tracing is on and the SDK pipeline is installed: the slice API and instrumentations do real work. */
  tracing: boolean;
  /** Flushes and shuts the span pipeline down; set by the SDK module when tracing is on (shutdownAll() covers logs too). */
  shutdown?: (timeoutMs?: number) => Promise<void>;
  /** Flushes pending spans without shutting down (flushAll() covers logs too). */
  forceFlush?: () => Promise<void>;
  /** The SDK bundle's copy of @opentelemetry/api, so API-side modules needn't load a second copy. */
  otelApi?: typeof import('@opentelemetry/api');
  /** Set when logs are exported (src/logs). */
  logs?: Pipeline;
}

/** The logs pipeline, flushed and shut down together with the spans. */
export interface Pipeline {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Flushes spans and logs in parallel. */
export async function flushAll(state: AgentState): Promise<void> {
  await Promise.all([state.forceFlush?.(), state.logs?.forceFlush().catch(() => undefined)]);
}

/** Shuts spans and logs down in parallel, each given up after `timeoutMs`. */
export async function shutdownAll(state: AgentState, timeoutMs?: number): Promise<void> {
  const logs = state.logs;
  let timer: NodeJS.Timeout | undefined;
  const logsDone = logs
    ? Promise.race([
        logs.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs ?? 5000);
          timer.unref();
        }),
      ]).finally(() => clearTimeout(timer))
    : undefined;
  await Promise.all([state.shutdown?.(timeoutMs), logsDone]);
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
