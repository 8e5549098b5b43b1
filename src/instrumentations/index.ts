// Chooses and creates the instrumentations: by default the official register's set (src/instrumentations/catalog.ts).
// Ours (http, undici, fastify, zeromq) are created at start-up and cost little; every other one is loaded only when the app
// first requires or imports its module (first-use.ts), so an app pays for the libraries it uses, not for the ~40 the
// default set names.
import type { ContextManager, TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { type Diag, describeError } from '../diag.js';
import { fastStartSpan, type SpanStartOptions, sdkStartSpan } from '../spans/span-start.js';
import { CONTRIB, DEFAULT_INSTRUMENTATIONS, isKnown, METRICS_ONLY, shortName } from './catalog.js';
import { startContrib } from './contrib.js';
import { createFastifyInstrumentation } from './fastify.js';
import { startOnFirstUse } from './first-use.js';
import { contextRunner } from './http/context.js';
import type { HttpInstrumentationOptions } from './http/index.js';
import { createHttpInstrumentation } from './http/index.js';
import { createUndiciInstrumentation } from './undici.js';
import { ZeroMqInstrumentation } from './zeromq/index.js';

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
  fastify: { create: createFastifyInstrumentation, esmModules: [] }, // from Fastify's own diagnostics channel
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
  /** The provider of the instrumentations loaded on first use; without it only the built-in ones run. */
  tracerProvider?: TracerProvider;
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
  const disabled = new Set(known(options.disabled, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS', diag));
  const enabled = options.enabled ? known(options.enabled, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', diag) : null;
  const wanted = new Set((enabled ?? DEFAULT_INSTRUMENTATIONS).filter((name) => !disabled.has(name)));
  const instrumentations: Instrumentation[] = [];
  const esmModules = new Set<string>();
  const onFirstUse = new Map<string, readonly string[]>();
  for (const name of wanted) {
    const builtIn = BUILT_IN[name];
    if (builtIn) {
      try {
        instrumentations.push(builtIn.create(options, http));
        builtIn.esmModules.forEach((m) => esmModules.add(m));
      } catch (err) {
        diag.warn(`instrumentation "${name}" could not be created: ${describeError(err)}`);
      }
      continue;
    }
    const modules = CONTRIB[name]?.[1] ?? [];
    if (modules.length) {
      onFirstUse.set(name, modules);
      modules.forEach((m) => esmModules.add(m));
    } else if (name === 'aws-lambda' && process.env.LAMBDA_TASK_ROOT && parts.tracerProvider) {
      startContrib(name, parts.tracerProvider, diag); // its module is the handler that Lambda's runtime names
    }
  }
  const provider = parts.tracerProvider;
  if (provider) startOnFirstUse(onFirstUse, (name) => startContrib(name, provider, diag), diag);
  return { instrumentations, esmModules: [...esmModules] };
}

/** The names a variable lists, in short form; one warning for each it cannot use. */
function known(names: readonly string[], variable: string, diag: Diag): string[] {
  const result: string[] = [];
  for (const raw of names) {
    const name = shortName(raw);
    if (isKnown(name)) result.push(name);
    else if (METRICS_ONLY.includes(name))
      diag.warn(`${variable}: "${raw}" records metrics only, which the agent does not export; ignored`);
    else diag.warn(`${variable}: no instrumentation named "${raw}"; ignored`);
  }
  return result;
}
