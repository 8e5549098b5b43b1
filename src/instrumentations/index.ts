// Chooses and creates the instrumentations. Ours (http, undici, zeromq) are built in; every other instrumentation of
// @opentelemetry/auto-instrumentations-node can be switched on by name with OTEL_NODE_ENABLED_INSTRUMENTATIONS
// and is only loaded then (the official register loads all of them at start-up).
import { createRequire } from 'node:module';
import type { ContextManager } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { DEFAULT_INSTRUMENTATIONS } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import { fastStartSpan, type SpanStartOptions, sdkStartSpan } from '../spans/span-start.js';
import { contextRunner } from './http/context.js';
import type { HttpInstrumentationOptions } from './http/index.js';
import { createHttpInstrumentation } from './http/index.js';
import { createUndiciInstrumentation } from './undici.js';
import { ZeroMqInstrumentation } from './zeromq/index.js';

/** Which instrumentations run (OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS) and what the built-in ones need. */
export interface InstrumentationOptions {
  /** Short names; null means the defaults. */
  enabled: string[] | null;
  disabled: string[];
  zmqPropagation: boolean;
}

interface BuiltIn {
  create: (options: InstrumentationOptions, http: HttpInstrumentationOptions) => Instrumentation;
  /** Module names the ESM loader hook must intercept for this instrumentation. */
  esmModules: string[];
}

const BUILT_IN: Record<string, BuiltIn> = {
  // http/https need no module hook: the http instrumentation works from Node's diagnostics channels.
  http: { create: (_options, http) => createHttpInstrumentation(http), esmModules: [] },
  undici: { create: createUndiciInstrumentation, esmModules: [] },
  zeromq: {
    create: (options, http) => new ZeroMqInstrumentation({ propagation: options.zmqPropagation }, http.startSpan),
    esmModules: ['zeromq'],
  },
};

export interface ChosenInstrumentations {
  instrumentations: Instrumentation[];
  esmModules: string[];
}

/** What the agent's pipeline lends the http instrumentation so that its hot path can skip generic layers. */
export interface PipelineParts extends Partial<SpanStartOptions> {
  contextManager?: ContextManager;
}

export function createInstrumentations(
  options: InstrumentationOptions,
  diag: Diag,
  parts: PipelineParts = {},
): ChosenInstrumentations {
  const http: HttpInstrumentationOptions = {
    runner: contextRunner(parts.contextManager),
    startSpan: parts.sampler && parts.ids ? fastStartSpan({ sampler: parts.sampler, ids: parts.ids }) : sdkStartSpan,
  };
  const wanted = (options.enabled ?? DEFAULT_INSTRUMENTATIONS).filter((name) => !options.disabled.includes(name));
  const instrumentations: Instrumentation[] = [];
  const esmModules = new Set<string>();
  for (const name of new Set(wanted)) {
    try {
      const builtIn = BUILT_IN[name];
      if (builtIn) {
        instrumentations.push(builtIn.create(options, http));
        builtIn.esmModules.forEach((m) => esmModules.add(m));
        continue;
      }
      const contrib = loadContrib(name, diag);
      if (!contrib) continue;
      instrumentations.push(contrib);
      for (const definition of moduleDefinitions(contrib)) esmModules.add(definition);
    } catch (err) {
      diag.warn(`instrumentation "${name}" could not be loaded: ${describeError(err)}`);
    }
  }
  return { instrumentations, esmModules: [...esmModules] };
}

const CONTRIB_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** An instrumentation from auto-instrumentations-node's dependencies, by its short name (`express`, `pg`…). */
function loadContrib(name: string, diag: Diag): Instrumentation | undefined {
  if (!CONTRIB_NAME.test(name)) {
    diag.warn(`OTEL_NODE_ENABLED_INSTRUMENTATIONS: "${name}" is not an instrumentation name; ignored`);
    return undefined;
  }
  let exports: Record<string, unknown>;
  try {
    const fromAuto = createRequire(require.resolve('@opentelemetry/auto-instrumentations-node'));
    exports = fromAuto(`@opentelemetry/instrumentation-${name}`) as Record<string, unknown>;
  } catch {
    diag.warn(`OTEL_NODE_ENABLED_INSTRUMENTATIONS: no instrumentation named "${name}"; ignored`);
    return undefined;
  }
  const ctor = Object.entries(exports).find(
    ([key, value]) => key.endsWith('Instrumentation') && typeof value === 'function',
  )?.[1] as (new () => Instrumentation) | undefined;
  if (!ctor) {
    diag.warn(`instrumentation "${name}" exports no instrumentation class; ignored`);
    return undefined;
  }
  return new ctor();
}

function moduleDefinitions(instrumentation: Instrumentation): string[] {
  const defs = (
    instrumentation as unknown as { getModuleDefinitions?: () => { name: string }[] }
  ).getModuleDefinitions?.();
  return Array.isArray(defs) ? defs.map((d) => d.name) : [];
}
