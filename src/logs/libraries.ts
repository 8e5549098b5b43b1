// pino, winston and bunyan records through the OpenTelemetry instrumentations for them (which also add trace_id
// and span_id to the library's own output). Loading the three costs ~80 ms (each brings its own copy of
// @opentelemetry/instrumentation), so each is loaded only when the app first requires or imports its library:
// - require(): a wrapper of Module.prototype.require sees `require('pino')` before it runs, starts the
//   instrumentation (whose require-in-the-middle hook wraps Module.prototype.require in turn), then sends the
//   same call through the new, outer wrapper, so that this very first require is patched;
// - import: a resolve hook (module.registerHooks) starts it before the module is loaded, so the
//   instrumentation's import-in-the-middle hook is in place when the module evaluates (the ESM loader hook must
//   include the library names: startLogs returns them).
import * as nodeModule from 'node:module';
import { logs } from '@opentelemetry/api';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { type Diag, describeError } from '../diag.js';

const LIBRARIES = ['pino', 'winston', 'bunyan'] as const;
type Library = (typeof LIBRARIES)[number];

const INSTRUMENTATIONS: Record<Library, [pkg: string, exportName: string]> = {
  pino: ['@opentelemetry/instrumentation-pino', 'PinoInstrumentation'],
  winston: ['@opentelemetry/instrumentation-winston', 'WinstonInstrumentation'],
  bunyan: ['@opentelemetry/instrumentation-bunyan', 'BunyanInstrumentation'],
};

type RequireFn = (this: NodeJS.Module, id: string) => unknown;

/** Arms the lazy start of each log library's instrumentation; returns the module names the ESM hook must include. */
export function watchLogLibraries(diag: Diag, disabled: readonly string[]): Library[] {
  const wanted = LIBRARIES.filter((lib) => !disabled.includes(lib));
  if (!wanted.length) return [];
  const pending = new Set<Library>(wanted);
  const libraryOf = (id: unknown): Library | undefined => {
    if (typeof id !== 'string' || !pending.size) return undefined;
    return [...pending].find((lib) => id === lib || id.startsWith(`${lib}/`));
  };
  const start = (lib: Library) => {
    pending.delete(lib);
    startInstrumentation(lib, diag);
  };

  const proto = (nodeModule as unknown as { Module: { prototype: { require: RequireFn } } }).Module.prototype;
  const previous = proto.require;
  proto.require = function require(this: NodeJS.Module, id: string) {
    const lib = libraryOf(id);
    if (!lib) return previous.call(this, id);
    start(lib);
    // Through whatever wraps us now (the instrumentation's hook), which calls us again for the actual load.
    return proto.require.call(this, id);
  };

  try {
    nodeModule.registerHooks?.({
      resolve(specifier, context, nextResolve) {
        const lib = libraryOf(specifier);
        if (lib) start(lib);
        return nextResolve(specifier, context);
      },
    });
  } catch (err) {
    diag.debug(`log libraries imported as ES modules are not watched: ${describeError(err)}`);
  }
  return wanted;
}

function startInstrumentation(lib: Library, diag: Diag): void {
  const [pkg, exportName] = INSTRUMENTATIONS[lib];
  try {
    // Dependencies of auto-instrumentations-node, which the agent depends on.
    const fromAuto = nodeModule.createRequire(require.resolve('@opentelemetry/auto-instrumentations-node'));
    const ctor = (fromAuto(pkg) as Record<string, new () => Instrumentation>)[exportName];
    if (!ctor) throw new Error(`${pkg} exports no ${exportName}`);
    if (lib === 'winston') bridgeLegacyLogsApi();
    registerInstrumentations({ instrumentations: [new ctor()] });
    diag.debug(`${lib} loaded: its records are forwarded`);
  } catch (err) {
    diag.warn(`${lib} records cannot be forwarded: ${describeError(err)}`);
  }
}

/**
 * @opentelemetry/winston-transport still reads the global logger provider of the former
 * @opentelemetry/api-logs package (a versioned getter under its own global symbol), not the one of
 * @opentelemetry/api. Installing that getter, answering with the API's provider, routes its records into our
 * pipeline. An app that registered its own api-logs provider keeps it.
 */
function bridgeLegacyLogsApi(): void {
  const key = Symbol.for('io.opentelemetry.js.api.logs');
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[key] !== undefined) return;
  g[key] = (version: number) => (version === 1 ? logs.getLoggerProvider() : undefined);
}
