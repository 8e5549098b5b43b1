// Chooses and creates the instrumentations: by default the official register's set (src/instrumentations/catalog.ts).
// Ours (http, undici, fastify, zeromq) are created at start-up and cost little; every other one is loaded only when the app
// first requires or imports its module (first-use.ts), so an app pays for the libraries it uses, not for the ~40 the
// default set names.
import { resolve, sep } from 'node:path';
import type { ContextManager, TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { ZmqPropagation } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import { type StartSpan, sdkStartSpan } from '../spans/span-start.js';
import { CONTRIB, DEFAULT_INSTRUMENTATIONS, isKnown, METRICS_ONLY, shortName } from './catalog.js';
import { sharedCopy, startContrib } from './contrib.js';
import { createFastifyInstrumentation } from './fastify.js';
import { startOnFirstUse } from './first-use.js';
import { contextRunner } from './http/context.js';
import type { HttpInstrumentationOptions } from './http/index.js';
import { createHttpInstrumentation } from './http/index.js';
import { filterRequireHook } from './require-hook.js';
import { createUndiciInstrumentation } from './undici.js';

export interface InstrumentationOptions {
  /** Short names; null means the defaults. */
  enabled: string[] | null;
  disabled: string[];
  zmqPropagation: ZmqPropagation;
}

interface BuiltIn {
  create: (options: InstrumentationOptions, http: HttpInstrumentationOptions) => Instrumentation;
  /** The modules whose first require or import creates it; none: created at start-up. */
  modules: string[];
}

const BUILT_IN: Record<string, BuiltIn> = {
  // From diagnostics channels (Node's http, undici's, Fastify's): created at start-up, nothing to hook.
  http: { create: (_options, http) => createHttpInstrumentation(http), modules: [] },
  undici: { create: createUndiciInstrumentation, modules: [] },
  fastify: { create: createFastifyInstrumentation, modules: [] },
  // Created on zeromq's first require or import; it patches zeromq's files as they load (package-files.ts), so an
  // ESM import needs no import-in-the-middle.
  zeromq: {
    create: (options, http) => {
      const { ZeroMqInstrumentation } =
        require('./zeromq/instrumentation.js') as typeof import('./zeromq/instrumentation.js');
      return new ZeroMqInstrumentation({ propagation: options.zmqPropagation }, http.startSpan);
    },
    modules: ['zeromq'],
  },
};

export interface ChosenInstrumentations {
  instrumentations: Instrumentation[];
  esmModules: string[];
}

/** What the agent's pipeline lends the http instrumentation so that its hot path can skip generic layers. */
export interface PipelineParts {
  contextManager?: ContextManager;
  /** The lean span start (span-start.ts), with the agent's sampler and ids. */
  startSpan?: StartSpan;
  /** The SDK's provider; without it only the built-in instrumentations run. */
  tracerProvider?: TracerProvider;
  /** The same provider on the lean path (lean-tracer.ts): the one the contrib instrumentations get. */
  leanProvider?: TracerProvider;
}

export function createInstrumentations(
  options: InstrumentationOptions,
  diag: Diag,
  parts: PipelineParts = {},
): ChosenInstrumentations {
  const http: HttpInstrumentationOptions = {
    runner: contextRunner(parts.contextManager),
    startSpan: parts.startSpan ?? sdkStartSpan,
  };
  // Contrib spans take the lean path too when the pipeline offers it (src/spans/lean-tracer.ts).
  const provider = parts.leanProvider ?? parts.tracerProvider;
  const disabled = new Set(known(options.disabled, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS', diag));
  const enabled = options.enabled ? known(options.enabled, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', diag) : null;
  const wanted = new Set((enabled ?? DEFAULT_INSTRUMENTATIONS).filter((name) => !disabled.has(name)));
  const instrumentations: Instrumentation[] = [];
  const esmModules = new Set<string>();
  const onFirstUse = new Map<string, readonly string[]>();
  const create = (name: string, builtIn: BuiltIn): Instrumentation | undefined => {
    try {
      return builtIn.create(options, http);
    } catch (err) {
      diag.warn(`instrumentation "${name}" could not be created: ${describeError(err)}`);
      return undefined;
    }
  };
  for (const name of wanted) {
    const builtIn = BUILT_IN[name];
    const modules = builtIn ? builtIn.modules : (CONTRIB[name]?.[1] ?? []);
    if (modules.length) {
      onFirstUse.set(name, modules);
      if (!builtIn) modules.forEach((m) => esmModules.add(m)); // ours patch without import-in-the-middle
    } else if (builtIn) {
      const instrumentation = create(name, builtIn);
      if (instrumentation) instrumentations.push(instrumentation);
    } else if (name === 'aws-lambda' && process.env.LAMBDA_TASK_ROOT && provider) {
      startContrib(name, provider, diag); // its module is the handler that Lambda's runtime names
    }
  }
  // The one require-in-the-middle hook (made with the first instrumentation) looks only at requires that can reach these.
  filterRequireHook([...onFirstUse.values()].flat());
  const sdkProvider = parts.tracerProvider;
  if (provider && sdkProvider)
    startOnFirstUse(
      onFirstUse,
      (name) => {
        const builtIn = BUILT_IN[name];
        if (!builtIn) return startContrib(name, provider, diag);
        const instrumentation = create(name, builtIn); // enables itself; its spans start on the lean path already
        instrumentation?.setTracerProvider(sdkProvider);
      },
      diag,
      sharedCopy,
      `${resolve(__dirname, '..')}${sep}`, // the agent's files: dist/ in the bundle (this file is dist/src/sdk.js)
    );
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
