// require-in-the-middle as the agent's bundle sees it (scripts/bundle.mjs aliases the package to this file): the same
// Hook, with a filter in front of the one that @opentelemetry/instrumentation installs for every instrumentation.
//
// Why: that hook resolves every require() of the app a second time (and, for files inside packages, the package's
// main file a third) to learn which package it belongs to, whether or not any instrumentation cares. Measured on the
// bench's Express + pg app: ~50 ms of start-up, and the same on every later require. The agent knows statically which
// packages its instrumentations patch (src/instrumentations/catalog.ts), so a require that cannot reach one of them
// (a bare specifier of another package, a relative one from outside them) goes straight to Node; the others go
// through require-in-the-middle, unchanged.
import * as nodeModule from 'node:module';
import { isAbsolute, sep } from 'node:path';
import { type HookOptions, type OnRequireFn, Hook as RitmHook } from 'require-in-the-middle';
import { packageOf } from '../esm-hook.js';

type RequireFn = (this: NodeJS.Module, id: string) => unknown;
interface RitmInternals {
  _require?: RequireFn;
  _origRequire?: RequireFn;
}

let packages: ReadonlySet<string> | undefined;

/** The modules the instrumentations may patch (catalog names); set before the first instrumentation is created. */
export function filterRequireHook(modules: Iterable<string>): void {
  packages = new Set([...modules].map((m) => packageOf(m) ?? m));
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** The package a file inside node_modules belongs to (`pg`, `@redis/client`); undefined outside node_modules. */
export function packageOfFile(file: string): string | undefined {
  const at = file.lastIndexOf(NODE_MODULES);
  if (at < 0) return undefined;
  const start = at + NODE_MODULES.length;
  let end = file.indexOf(sep, start);
  if (file.charCodeAt(start) === 64 /* @ */ && end > 0) end = file.indexOf(sep, end + 1);
  return end < 0 ? undefined : file.slice(start, end).split(sep).join('/');
}

/** Whether require(id) from `parent` can load a file of one of `packages` (or a builtin among them). */
export function mayReach(id: unknown, parent: NodeJS.Module | undefined, wanted: ReadonlySet<string>): boolean {
  if (typeof id !== 'string') return true;
  const first = id.charCodeAt(0);
  if (first === 46 /* . */ || isAbsolute(id)) {
    const file = first === 46 ? parent?.filename : id;
    if (file === undefined || file === null) return true; // no parent to judge by: let the hook decide
    const pkg = packageOfFile(file);
    return pkg !== undefined && wanted.has(pkg);
  }
  const pkg = packageOf(id);
  return pkg === undefined || wanted.has(pkg);
}

export function Hook(
  modules: string[] | null,
  options: HookOptions | null,
  onrequire: OnRequireFn,
): InstanceType<typeof RitmHook> {
  const hook = new RitmHook(modules, options, onrequire);
  const wanted = packages;
  const proto = (nodeModule as unknown as { Module: { prototype: { require: RequireFn } } }).Module.prototype;
  const internals = hook as unknown as RitmInternals;
  const ritm = internals._require;
  const inner = internals._origRequire;
  // Only the catch-all hook (modules null) is filtered; a whitelist hook, or a hook already wrapped, stays as it is.
  if (modules !== null || !wanted || !ritm || !inner || proto.require !== ritm) return hook;
  const filtered = function require(this: NodeJS.Module, id: string) {
    // A string check and a Set lookup per require; require-in-the-middle's own work only for wanted packages.
    return mayReach(id, this, wanted) ? ritm.call(this, id) : inner.call(this, id);
  };
  proto.require = filtered;
  internals._require = filtered; // so that unhook() removes the filter with the hook
  return hook;
}
