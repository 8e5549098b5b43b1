// ESM apps: `import` bypasses require(), so the modules we instrument are intercepted with import-in-the-middle's
// loader hook — registered only when tracing is on and only for those modules, so other imports cost nothing.
//
// Arming it is deferred until it is needed: loading import-in-the-middle's loader (acorn, cjs-module-lexer, the
// ESM machinery to load them) cost ~27 ms of start-up, and most apps never `import` a module on the list (CommonJS
// apps never do; http needs no hook at all). A resolve hook of a few lines watches imports instead; the first
// `import` of a listed module arms the loader and hands it that very resolution, so the module is wrapped as if
// the loader had been there from the start.
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { type Diag, describeError } from './diag.js';
import { addModuleHooks, type ResolveContext, type ResolveFn, registerHooksAvailable } from './module-hooks.js';

interface SyncHook {
  resolveSync(specifier: string, context: ResolveContext, next: ResolveFn): unknown;
  loadSync(url: string, context: object, next: (url: string, context: object) => unknown): unknown;
  applyOptions(options: { include: string[] }): void;
}

export function registerEsmHook(moduleNames: string[], diag: Diag): void {
  if (!moduleNames.length) return;
  // Builtins may be imported with or without the `node:` prefix.
  const include = [...new Set(moduleNames.flatMap((m) => (nodeModule.isBuiltin(m) ? [m, `node:${m}`] : [m])))];
  try {
    if (registerHooksAvailable() && syncHooksWork(process.versions.node)) {
      armOnFirstImport(include, diag);
      return;
    }
    registerLoaderThread(include);
  } catch (err) {
    diag.warn(`ESM instrumentation is unavailable (${describeError(err)}); CommonJS modules are still traced`);
  }
}

function armOnFirstImport(include: string[], diag: Diag): void {
  let armed: SyncHook | undefined;
  let failed = false;
  const packages = new Set(include.map((name) => packageOf(name)));
  const watcher = addModuleHooks({
    resolve(specifier, context, nextResolve) {
      if (armed) return nextResolve(specifier, context); // the loader's hooks, registered later, ran before this one
      if (failed || context.conditions?.includes('require') || !packages.has(packageOf(specifier) ?? ''))
        return nextResolve(specifier, context);
      try {
        armed = armLoader(include);
      } catch (err) {
        failed = true;
        diag.warn(`ESM instrumentation is unavailable (${describeError(err)}); CommonJS modules are still traced`);
        return nextResolve(specifier, context);
      }
      // From now on the loader's own hooks see every resolution; this one, already under way, it gets from here.
      watcher.deregister?.();
      return armed.resolveSync(specifier, context, nextResolve);
    },
  });
}

/** import-in-the-middle's synchronous, in-thread loader, set up as its register-hooks.mjs does. */
function armLoader(include: string[]): SyncHook {
  const registerHooksUrl = pathToFileURL(require.resolve('import-in-the-middle/register-hooks.mjs')).href;
  const { createHook } = require('import-in-the-middle/create-hook.mjs') as {
    createHook(meta: { url: string }): SyncHook;
  };
  const hook = createHook({ url: registerHooksUrl });
  hook.applyOptions({ include });
  // Set aside with the agent's own while a CommonJS app loads no ES module (src/module-hooks.ts).
  addModuleHooks({ resolve: hook.resolveSync, load: hook.loadSync });
  return hook;
}

/** Node versions without usable synchronous hooks get the loader thread, registered up front as before. */
function registerLoaderThread(include: string[]): void {
  nodeModule.register('import-in-the-middle/hook.mjs', pathToFileURL(__filename), { data: { include } });
}

/**
 * The package or builtin a specifier names (`pg` for `pg/lib/client`, `@redis/client` for `@redis/client/dist/x`,
 * `dns` for `node:dns/promises`); undefined for relative and absolute paths and URLs.
 */
export function packageOf(specifier: string): string | undefined {
  const s = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  const first = s.charCodeAt(0);
  if (first === 46 /* . */ || first === 47 /* / */ || s.includes(':')) return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return s;
  if (first !== 64 /* @ */) return s.slice(0, slash);
  const second = s.indexOf('/', slash + 1);
  return second < 0 ? s : s.slice(0, second);
}

/**
 * import-in-the-middle's supportsSyncHooks(), inlined: that module is ESM, and require()-ing it at start-up costs
 * the ESM loader's initialisation (2-5 ms) in CommonJS apps. Sync hooks accept the loader's nullish CommonJS
 * source from Node 22.22.3, 24.11.1, 25.1.0 and 26.0.0.
 */
export function syncHooksWork(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  if (major >= 26) return true;
  if (major === 25) return minor >= 1;
  if (major === 24) return minor > 11 || (minor === 11 && patch >= 1);
  if (major === 22) return minor > 22 || (minor === 22 && patch >= 3);
  return false;
}
