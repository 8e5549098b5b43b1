// contextOf / withMessageContext: the public helpers for continuing a trace from a received message.
// This module is loaded on the tracing-off path too, so it must stay tiny and import nothing from
// @opentelemetry/* at runtime (type imports are erased). The instrumentation fills the shared registry when it is
// enabled; until then every helper is a cheap no-op.
import type { Context } from '@opentelemetry/api';
import { agentState } from '../../state.js';

export interface MessageRegistry {
  /**
   * v5-compat only: first frame of a received message -> its context (compat listeners get the frames spread out,
   * so the frames array itself is gone by then). v6 messages carry their context on the array instead: a WeakMap
   * entry per message costs measurably more (V8 ephemeron bookkeeping) on a hot receive path.
   */
  readonly firstFrames: WeakMap<object, Context>;
  /** Runs fn inside ctx; set by the enabled instrumentation (it is context.with). */
  run?: <T>(ctx: Context, fn: () => T) => T;
}

// Global symbols so that every copy of this package in the process shares one registry and one property key.
const REGISTRY_KEY = Symbol.for('@x/trace-agent.zeromq.messages');
const CONTEXT_KEY = Symbol.for('@x/trace-agent.zeromq.context');

export function messageRegistry(): MessageRegistry {
  const g = globalThis as unknown as Record<symbol, MessageRegistry | undefined>;
  let registry = g[REGISTRY_KEY];
  if (!registry) {
    registry = { firstFrames: new WeakMap() };
    g[REGISTRY_KEY] = registry;
  }
  return registry;
}

/**
 * Attaches the context to a received frames array as a non-enumerable symbol property: invisible to iteration,
 * JSON, Object.keys/assign and deep-equality checks, and collected with the array.
 */
export function attachContext(frames: object, ctx: Context): void {
  Object.defineProperty(frames, CONTEXT_KEY, { value: ctx, configurable: true });
}

/**
 * The trace context of a message received from a ZeroMQ socket: pass the frames array returned by `receive()` /
 * yielded by `for await`, or (in v5-compat `on('message')` callbacks) the first frame. Spans started in it become
 * children of the message's CONSUMER span. Undefined when tracing is off or the value is unknown.
 */
export function contextOf(message: unknown): Context | undefined {
  if (!agentState().tracing || typeof message !== 'object' || message === null) return undefined;
  const own = (message as Record<symbol, Context | undefined>)[CONTEXT_KEY];
  return own ?? messageRegistry().firstFrames.get(message);
}

/**
 * Runs `fn` inside the trace context of a received message (see contextOf), so that spans it makes (HTTP calls,
 * further ZeroMQ sends, slices) join the sender's trace. Without a context it simply calls `fn()`.
 */
export function withMessageContext<T>(message: unknown, fn: () => T): T {
  const ctx = contextOf(message);
  const run = ctx ? messageRegistry().run : undefined;
  return run && ctx ? run(ctx, fn) : fn();
}
