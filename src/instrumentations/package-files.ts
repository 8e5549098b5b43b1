// Patching a package's own files as they load, for the agent's own instrumentations, without require-in-the-middle
// or import-in-the-middle. A package that keeps its classes in an inner CommonJS file (zeromq: lib/native.js, loaded by
// lib/index.js) is caught at that inner require(), which runs through Module.prototype.require whether the app
// required or imported the package. So one wrapper serves CJS and ESM apps alike, and what it costs the app's other
// requires is one string check each (measured: @opentelemetry/instrumentation's hook and semver check ~9 ms of
// start-up for zeromq, and arming import-in-the-middle for an ESM app ~25 ms more).
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join, sep } from 'node:path';

/** Patches a loaded file's exports in place; `version` is the package's (undefined if unreadable). */
export type FilePatch = (exports: unknown, version: string | undefined) => void;

type RequireFn = (this: NodeJS.Module, id: string) => unknown;
interface ModuleInternals {
  Module: {
    prototype: { require: RequireFn };
    _resolveFilename(request: string, parent: NodeJS.Module): string;
    _cache: Record<string, NodeJS.Module | undefined>;
  };
}

/**
 * Calls `patches[file]` for each listed file of package `pkg` (a path inside the package, 'lib/native.js') when a
 * file of that package requires it, and at once for those already loaded. A patch error is the patch's to report.
 * Returns a function that stops watching.
 */
export function onPackageFiles(pkg: string, patches: Readonly<Record<string, FilePatch>>): () => void {
  const { Module } = nodeModule as unknown as ModuleInternals;
  const marker = `${sep}node_modules${sep}${pkg.split('/').join(sep)}${sep}`;
  const versions = new Map<string, string | undefined>();
  const done = new WeakSet<object>();
  const apply = (file: string, exports: unknown): void => {
    const at = file.lastIndexOf(marker);
    const patch =
      at < 0
        ? undefined
        : patches[
            file
              .slice(at + marker.length)
              .split(sep)
              .join('/')
          ];
    if (!patch || typeof exports !== 'object' || exports === null || done.has(exports)) return;
    done.add(exports);
    const dir = file.slice(0, at + marker.length);
    if (!versions.has(dir)) versions.set(dir, versionIn(dir));
    patch(exports, versions.get(dir));
  };

  for (const [file, loaded] of Object.entries(Module._cache)) if (loaded?.loaded) apply(file, loaded.exports);

  let active = true;
  const previous = Module.prototype.require;
  const watching = function require(this: NodeJS.Module, id: string) {
    const exports = previous.call(this, id);
    // Per require: one string check; a resolution (cached by Node) only for requires made by the package's own files.
    const parent = this?.filename;
    if (active && typeof parent === 'string' && parent.includes(marker)) {
      try {
        apply(Module._resolveFilename(id, this), exports);
      } catch {
        // unresolvable here (cannot be, it just loaded): leave it as it is
      }
    }
    return exports;
  };
  Module.prototype.require = watching;
  return () => {
    active = false;
    if (Module.prototype.require === watching) Module.prototype.require = previous;
  };
}

function versionIn(dir: string): string | undefined {
  try {
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}
