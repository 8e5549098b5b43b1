// Running code under a trace context at the lowest cost: straight on the AsyncLocalStorage of the agent's
// context manager (one frame per call, no closure, no argument re-spreading), and binding an event emitter to a
// context by wrapping its one `emit` method instead of wrapping every listener that is ever added to it (which
// is what `context.bind(ctx, emitter)` does: 8 patched methods, a WeakMap and a closure per listener, per request).
import type { AsyncLocalStorage } from 'node:async_hooks';
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';

type AnyFn = (...args: unknown[]) => unknown;

export interface ContextRunner {
  active(): Context;
  /** `fn.apply(self, args)` with `ctx` active. */
  run(ctx: Context, fn: AnyFn, self: unknown, args: ArrayLike<unknown>): unknown;
}

const apply = Reflect.apply as (fn: AnyFn, self: unknown, args: ArrayLike<unknown>) => unknown;

/**
 * The fast runner when the manager is OpenTelemetry's AsyncLocalStorageContextManager (the agent installs it);
 * anything else goes through the public context API, which is slower but equivalent.
 */
export function contextRunner(manager: ContextManager | undefined): ContextRunner {
  const storage = (manager as { _asyncLocalStorage?: AsyncLocalStorage<Context> } | undefined)?._asyncLocalStorage;
  if (storage && typeof storage.run === 'function' && typeof storage.getStore === 'function') {
    return {
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      run: (ctx, fn, self, args) => (storage.getStore() === ctx ? apply(fn, self, args) : storage.run(ctx, apply, fn, self, args)),
    };
  }
  return {
    active: () => context.active(),
    run: (ctx, fn, self, args) => context.with(ctx, () => apply(fn, self, args)),
  };
}

interface EmitterInternals {
  _events?: Record<string | symbol, unknown>;
}

/** Whether emitting `event` would call no listener at all, so no context needs to be set up for it. */
export function nobodyListens(emitter: object, event: unknown): boolean {
  if (event === 'error') return false; // errorMonitor listeners are called for it, and the throw must happen in context
  const events = (emitter as EmitterInternals)._events;
  return events !== undefined && events[event as string] === undefined;
}

/**
 * The context an HTTP span runs in: the parent plus the span (and its RPC metadata) in one small object.
 * `trace.setSpan` + `setRPCMetadata` on the API's BaseContext copy its whole Map and build three closures each,
 * per request; a Context is an interface, so this layer answers its own two keys and defers to the parent for
 * the rest. Deriving from it (setValue/deleteValue) adds one more layer, as immutable as before.
 */
export class SpanContextLayer implements Context {
  constructor(
    private readonly parent: Context,
    private readonly span: unknown,
    private readonly rpc: unknown,
  ) {}
  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.span;
    if (key === RPC_KEY && this.rpc !== undefined) return this.rpc;
    return this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new ValueLayer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new ValueLayer(this, key, undefined); // reads as absent, as BaseContext's deleteValue does
  }
}

class ValueLayer implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}
  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new ValueLayer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new ValueLayer(this, key, undefined);
  }
}

/** The key an API helper stores its value under, learnt by letting it set the value on a probe context. */
function keyUsedBy(set: (probe: Context) => unknown): symbol {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue: (k) => {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  set(probe);
  if (key === undefined) throw new Error('context key not found');
  return key;
}

const SPAN_KEY = keyUsedBy((probe) => trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)));
const RPC_KEY = keyUsedBy((probe) => setRPCMetadata(probe, { type: RPCType.HTTP, span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT) }));
