// Loads one of auto-instrumentations-node's instrumentations (on first use of its module: first-use.ts) and keeps its
// failures away from the app: a package that fails to load or a patch that throws gives one warning naming it, and
// the app gets its module as the patch left it (patches check the module's shape before wrapping anything).
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import type { TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { requireBundle } from '../code-cache.js';
import { type Diag, describeError } from '../diag.js';
import { CONTRIB } from './catalog.js';

interface Patchable {
  name?: string;
  patch?: (exports: unknown, ...rest: unknown[]) => unknown;
  files?: Patchable[];
}

let fromAuto: NodeJS.Require | undefined;

const SHARED: Record<string, 'api' | 'core' | 'instrumentation'> = {
  '@opentelemetry/api': 'api',
  '@opentelemetry/core': 'core',
  '@opentelemetry/instrumentation': 'instrumentation',
};
const OTEL_PACKAGES = `${sep}node_modules${sep}@opentelemetry${sep}`;
/** Where the build puts each contrib instrumentation as one file (scripts/bundle.mjs). */
const CONTRIB_FILES = `${sep}dist${sep}contrib${sep}`;

/**
 * The agent's copy of a package a contrib instrumentation (or its helpers) requires, where it has one
 * (src/instrumentations/shared-otel.ts); undefined for anything else, which loads as usual.
 */
export function sharedCopy(id: string, parent: NodeJS.Module | undefined): unknown {
  const name = SHARED[id];
  const from = parent?.filename;
  if (name === undefined || !from || !(from.includes(OTEL_PACKAGES) || from.includes(CONTRIB_FILES))) return undefined;
  return (require('./shared-otel.js') as typeof import('./shared-otel.js'))[name];
}

export function startContrib(name: string, tracerProvider: TracerProvider, diag: Diag): Instrumentation | undefined {
  const pkg = `@opentelemetry/instrumentation-${name}`;
  try {
    const entry = CONTRIB[name];
    if (!entry) throw new Error('not in the catalog');
    const ctor = loadPackage(name, pkg, diag)[entry[0]];
    if (typeof ctor !== 'function') throw new Error(`${pkg} exports no ${entry[0]}`);
    const instrumentation = new (ctor as new (config: object) => Instrumentation)({ enabled: false });
    guardPatches(instrumentation, name, diag);
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.enable(); // its require and import hooks are in place from here
    diag.debug(`instrumentation "${name}" loaded on first use of its module`);
    return instrumentation;
  } catch (err) {
    diag.warn(`instrumentation "${name}" could not be loaded; its modules stay unpatched: ${describeError(err)}`);
    return undefined;
  }
}

/**
 * The instrumentation as the build bundled it (one file: scripts/bundle.mjs), else as published: a dependency of
 * auto-instrumentations-node, which the agent depends on (an unbundled agent, or a package the build skipped).
 */
function loadPackage(name: string, pkg: string, diag: Diag): Record<string, unknown> {
  try {
    // With the code cache of its earlier runs: its patching and first spans compile less.
    return requireBundle(`@x/trace-agent/internal/contrib/${name}`, diag.debug) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
  }
  fromAuto ??= createRequire(require.resolve('@opentelemetry/auto-instrumentations-node'));
  return fromAuto(pkg) as Record<string, unknown>;
}

/**
 * InstrumentationBase calls each module definition's (and file's) `patch` from inside the app's require() or
 * import without a try: a library shaped unlike what the instrumentation expects would throw into the app.
 * The definitions it uses are its `_modules` (getModuleDefinitions() builds new ones).
 */
function guardPatches(instrumentation: Instrumentation, name: string, diag: Diag): void {
  const definitions = (instrumentation as unknown as { _modules?: Patchable[] })._modules;
  if (!Array.isArray(definitions)) return;
  let warned = false;
  const guard = (target: Patchable) => {
    const patch = target.patch;
    if (typeof patch !== 'function') return;
    target.patch = function guardedPatch(this: unknown, exports: unknown, ...rest: unknown[]) {
      try {
        return patch.call(this, exports, ...rest);
      } catch (err) {
        // Its unpatch assumes a completed patch (and prints shimmer's complaints when it was not): not called.
        if (!warned)
          diag.warn(`instrumentation "${name}" failed to patch ${target.name}, not traced: ${describeError(err)}`);
        warned = true;
        return exports;
      }
    };
  };
  for (const definition of definitions) {
    guard(definition);
    for (const file of definition.files ?? []) guard(file);
  }
}
