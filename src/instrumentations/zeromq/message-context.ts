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
  /** Puts a context on a received frames array and reads it back (see contextStamp). */
  stamp?: ContextStamp;
}

interface ContextStamp {
  attach(frames: object, ctx: Context): void;
  read(frames: object): Context | undefined;
}

// A global symbol so that every copy of this package in the process shares one registry.
const REGISTRY_KEY = Symbol.for('@x/trace-agent.zeromq.messages');
/** The registry once found: it never changes afterwards, and reading globalThis costs on every message. */
let found: MessageRegistry | undefined;

export function messageRegistry(): MessageRegistry {
  if (found) return found;
  const g = globalThis as unknown as Record<symbol, MessageRegistry | undefined>;
  found = g[REGISTRY_KEY] ??= { firstFrames: new WeakMap() };
  return found;
}

/**
 * A context kept on the frames array itself, in a class private field: invisible to iteration, JSON,
 * Object.keys/assign, symbol reflection and deep-equality checks, and collected with the array. A private field is
 * added through a constructor that returns the object it is given (the base class below); that costs about 30 ns
 * a message here, where Object.defineProperty with a symbol key took about 400 ns and a WeakMap entry more (V8's
 * ephemeron bookkeeping). One class per process (kept in the shared registry): a field is only readable by the
 * class that added it.
 */
function contextStamp(): ContextStamp {
  class ReturnsGiven {
    constructor(target: object) {
      // biome-ignore lint/correctness/noConstructorReturn: the "return override" that stamps a private field on target
      return target;
    }
  }
  class Stamped extends ReturnsGiven {
    #ctx: Context;
    constructor(target: object, ctx: Context) {
      super(target);
      this.#ctx = ctx;
    }
    static attach(frames: object, ctx: Context): void {
      if (#ctx in frames) (frames as Stamped).#ctx = ctx;
      else new Stamped(frames, ctx);
    }
    static read(frames: object): Context | undefined {
      return #ctx in frames ? (frames as Stamped).#ctx : undefined;
    }
  }
  return { attach: Stamped.attach, read: Stamped.read };
}

/** Attaches the context to a received frames array (see contextStamp). */
export function attachContext(frames: object, ctx: Context): void {
  const registry = messageRegistry();
  (registry.stamp ??= contextStamp()).attach(frames, ctx);
}

/**
 * The trace context of a message received from a ZeroMQ socket: pass the frames array returned by `receive()` /
 * yielded by `for await`, or (in v5-compat `on('message')` callbacks) the first frame. Spans started in it become
 * children of the message's CONSUMER span. Undefined when tracing is off or the value is unknown.
 */
export function contextOf(message: unknown): Context | undefined {
  if (!agentState().tracing || typeof message !== 'object' || message === null) return undefined;
  const registry = messageRegistry();
  return registry.stamp?.read(message) ?? registry.firstFrames.get(message);
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
