// Starts an instrumentation when the app first requires or imports one of its target modules, so that a library the
// app never loads costs nothing (the official register loads all ~40 instrumentations at start-up: ~480 ms).
// - require(): a wrapper of Module.prototype.require sees `require('pg')` before it runs, starts the
//   instrumentation (whose require-in-the-middle hook then wraps Module.prototype.require around ours), and sends
//   the same call through that new outer wrapper, so this very first require is patched; the same holds for a
//   module first required by another package (pg under knex);
// - import: a resolve hook (module.registerHooks) starts it before the module is loaded, so the instrumentation's
//   import-in-the-middle hook is in place when the module evaluates (src/esm-hook.ts wraps those modules).
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { type Diag, describeError } from '../diag.js';
import { packageOf } from '../esm-hook.js';
import { addModuleHooks, registerHooksAvailable } from '../module-hooks.js';

type RequireFn = (this: NodeJS.Module, id: string) => unknown;

/**
 * Calls `start(name)` once per name, before the first require or import of any of its modules completes.
 * `modules` maps each name to the modules that trigger it; `substitute` may answer a require with another object.
 */
export function startOnFirstUse(
  modules: ReadonlyMap<string, readonly string[]>,
  start: (name: string) => void,
  diag: Diag,
  substitute: (id: string, parent: NodeJS.Module) => unknown = () => undefined,
  ownDir?: string,
): void {
  const pending = new Map<string, string[]>(); // package → names waiting for it
  for (const [name, mods] of modules)
    for (const mod of mods) {
      const pkg = packageOf(mod);
      const waiting = pkg === undefined ? undefined : (pending.get(pkg) ?? []);
      if (pkg !== undefined && waiting && !waiting.includes(name)) pending.set(pkg, [...waiting, name]);
    }
  if (!pending.size) return;
  /** Starts what waits for the specifier's package; false when nothing did. */
  const startFor = (specifier: unknown): boolean => {
    if (!pending.size || typeof specifier !== 'string') return false;
    const pkg = packageOf(specifier);
    const names = pkg === undefined ? undefined : pending.get(pkg);
    if (!names) return false;
    for (const name of names) {
      for (const [key, waiting] of pending) {
        const left = waiting.filter((n) => n !== name);
        if (left.length) pending.set(key, left);
        else pending.delete(key);
      }
      start(name);
    }
    return true;
  };

  const proto = (nodeModule as unknown as { Module: { prototype: { require: RequireFn } } }).Module.prototype;
  const previous = proto.require;
  // The agent's own requires (its exporter loading grpc-js, which requires net and dns) start nothing: what starts an
  // instrumentation is the app's use of a module, at a moment that does not depend on when the exporter loaded.
  const own = (file: string | undefined | null) => ownDir !== undefined && !!file && file.startsWith(ownDir);
  const ownUrl = ownDir === undefined ? undefined : pathToFileURL(ownDir).href;
  proto.require = function require(this: NodeJS.Module, id: string) {
    // Per require: a lookup in a table of three names, then a Map lookup while anything is pending.
    const instead = substitute(id, this);
    if (instead !== undefined) return instead;
    if (own(this?.filename) || !startFor(id)) return previous.call(this, id);
    // Through whatever wraps us now (the instrumentation's hook), which calls us again for the actual load.
    return proto.require.call(this, id);
  };

  try {
    if (registerHooksAvailable())
      addModuleHooks({
        resolve(specifier, context, nextResolve) {
          if (!(ownUrl && context.parentURL?.startsWith(ownUrl))) startFor(specifier);
          return nextResolve(specifier, context);
        },
      });
  } catch (err) {
    diag.debug(`modules imported as ES modules do not start their instrumentation: ${describeError(err)}`);
  }
}
