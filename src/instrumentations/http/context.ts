// Running code under a trace context at the lowest cost: straight on the AsyncLocalStorage of the agent's
// context manager (one frame per call, no closure, no argument re-spreading), and binding an event emitter to a
// context by wrapping its one `emit` method instead of wrapping every listener that is ever added to it (which
// is what `context.bind(ctx, emitter)` does: 8 patched methods, a WeakMap and a closure per listener, per request).
import type { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, context, ROOT_CONTEXT } from '@opentelemetry/api';

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
      run: (ctx, fn, self, args) =>
        storage.getStore() === ctx ? apply(fn, self, args) : storage.run(ctx, apply, fn, self, args),
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
