// The agent's module.registerHooks resolve hooks — the first `import` of a module starts its instrumentation
// (src/instrumentations/first-use.ts) and arms import-in-the-middle's loader (src/esm-hook.ts) — matter only while
// ES modules resolve imports. Yet any resolve hook makes Node turn every require() resolution into a URL and back:
// ~16 ms of an Express + pg app's start-up (bench/README.md). So once the main module turns out to be CommonJS the
// hooks are set aside, and put back:
//  - for good at the first import(), from anywhere (the `module.import` tracing channel fires before the specifier
//    is resolved);
//  - for the duration of a require() of an ES module that imports another (Module.prototype._compile gets format
//    'module' for .mjs and "type": "module"; a file whose package names no type is one when Node's detection finds
//    module syntax, here a static import or re-export): its whole graph loads within that call. Express 5's own
//    dependencies do this (get-intrinsic requires async-function's require.mjs through "module-sync").
// Preloads (--import, --require) come before the main module, so the hooks are there for them.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { realpathSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { resolve } from 'node:path';
import type { Diag } from './diag.js';

export interface ResolveContext {
  conditions?: readonly string[];
  parentURL?: string;
}
export type ResolveFn = (specifier: string, context: ResolveContext) => unknown;
export interface ModuleHooks {
  resolve?: (specifier: string, context: ResolveContext, nextResolve: ResolveFn) => unknown;
  load?: (url: string, context: object, nextLoad: (url: string, context: object) => unknown) => unknown;
}
type Handle = { deregister?(): void };
type RegisterHooks = (hooks: ModuleHooks) => Handle;
type Compile = (this: NodeJS.Module, content: string, filename: string, format?: string) => unknown;

const IMPORT_START = 'tracing:module.import:start';
/**
 * A static import, or a re-export (`export * from`, `export { … } from`), as a statement: what an ES module resolves
 * as it loads, and so what the hooks must see (module syntax that resolves nothing — import.meta, `export const`,
 * top-level await — needs no hook; its import() calls are seen on the channel). Starts with the keywords, the
 * statement start a lookbehind, so that V8 scans for them: ~1.2 ms/MB of source, a third of the same test anchored
 * first.
 */
const STATIC_IMPORT = /(?<=(?:^|[;}\n\r])[ \t]*)(?:import(?:\s+[\w$*{'"]|\s*[*{'"])|export\s*[*{])/;

interface Entry {
  hooks: ModuleHooks;
  handle: Handle | undefined;
}
const entries: Entry[] = [];
// main?: before the main module; aside: hooks set aside; window: on while require() loads an ES module; back: on.
let state: 'main?' | 'aside' | 'window' | 'back' = 'main?';

export function registerHooksAvailable(): RegisterHooks | undefined {
  return (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
}

/** module.registerHooks(hooks), kept in the set this module may set aside; throws as registerHooks does. */
export function addModuleHooks(hooks: ModuleHooks): { deregister(): void } {
  const register = registerHooksAvailable();
  if (!register) throw new Error('module.registerHooks is not available in this Node');
  const entry: Entry = { hooks, handle: state === 'aside' ? undefined : register(hooks) };
  entries.push(entry);
  return {
    deregister() {
      entry.handle?.deregister?.();
      entry.handle = undefined;
      const at = entries.indexOf(entry);
      if (at >= 0) entries.splice(at, 1);
    },
  };
}

/** Sets the hooks aside when the main module is CommonJS, until an ES module loads (see the top of this file). */
export function setAsideForCommonJsMain(diag: Diag, main = process.argv[1]): void {
  const register = registerHooksAvailable();
  if (!register || !main) return;
  const mainFiles = new Set([resolve(main)]);
  try {
    mainFiles.add(realpathSync(resolve(main)));
  } catch {
    // not a file (an extensionless main, say): the CommonJS loader's id '.' still tells
  }
  const proto = (nodeModule as unknown as { Module: { prototype: { _compile: Compile } } }).Module.prototype;
  const compile = proto._compile;
  const on = () => {
    for (const entry of entries) entry.handle ??= register(entry.hooks);
  };
  const off = () => {
    for (const entry of entries) {
      entry.handle?.deregister?.();
      entry.handle = undefined;
    }
  };
  const onImport = (message: unknown) => {
    if (state === 'aside') on();
    state = 'back';
    unsubscribe(IMPORT_START, onImport);
    diag.debug(`ES module hooks back for good: import() of ${String((message as { url?: unknown }).url)}`);
  };

  proto._compile = function _compile(content, filename, format) {
    // Per CommonJS module compiled: a string comparison; while set aside, a format check, and for a file of a
    // package without "type" one regular expression over its source (~1.2 ms/MB).
    if (state === 'main?') {
      if (entries.length && (this.id === '.' || mainFiles.has(filename))) {
        state = 'aside';
        off();
        subscribe(IMPORT_START, onImport);
        diag.debug('the main module is CommonJS: ES module hooks set aside until an ES module loads');
      }
    } else if (state === 'aside' && importsStatically(content, filename, format)) {
      // require() of an ES module loads its whole graph synchronously, within this call: the hooks see it, then
      // go aside again (unless an import() of it brought them back for good meanwhile).
      state = 'window';
      on();
      try {
        // biome-ignore lint/complexity/noArguments: hands on whatever Node passes, today and in later versions
        return compile.apply(this, arguments as unknown as Parameters<Compile>);
      } finally {
        if (state === 'window') {
          state = 'aside';
          off();
        }
      }
    }
    // biome-ignore lint/complexity/noArguments: as above
    return compile.apply(this, arguments as unknown as Parameters<Compile>);
  };
}

/** Whether Node loads this file as an ES module that imports or re-exports another module. */
export function importsStatically(content: string, filename: string, format: string | undefined): boolean {
  if (format?.startsWith('commonjs')) return false;
  if (format === undefined && filename.endsWith('.cjs')) return false;
  return typeof content === 'string' && STATIC_IMPORT.test(content);
}
