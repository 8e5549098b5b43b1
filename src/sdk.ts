// Assembles the trace pipeline from OpenTelemetry parts: only what the configuration needs is loaded
// (@opentelemetry/sdk-node would load every exporter and signal, ~0.5 s), and nothing here throws into the app.
import * as otelApi from '@opentelemetry/api';
import { context, diag as otelDiag, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, setGlobalErrorHandler, W3CBaggagePropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  type Sampler,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { type AgentConfig, readConfig } from './config/index.js';
import { createDiag, type Diag, describeError, OTEL_DIAG_LEVEL, otelLogger, secretsOf } from './diag.js';
import { registerEsmHook, syncHooksWork } from './esm-hook.js';
import { createSpanProcessors } from './exporters/index.js';
import { userSpanProcessors } from './exporters/user-processors.js';
import { createInstrumentations } from './instrumentations/index.js';
import { startLogs } from './logs/index.js';
import { setAsideForCommonJsMain } from './module-hooks.js';
import { buildResource } from './resource.js';
import { installShutdownHooks } from './shutdown.js';
import { PooledIdGenerator } from './spans/id-generator.js';
import { leanTracerProvider } from './spans/lean-tracer.js';
import { ParentBasedSampler } from './spans/parent-based.js';
import { RatioSampler } from './spans/ratio-sampler.js';
import { fastStartSpan } from './spans/span-start.js';
import { TraceContextPropagator } from './spans/tracecontext.js';
import { agentState } from './state.js';

/** Reads the configuration from `env` and starts the pipeline; returns the diagnostics channel it set up. */
export function startFromEnv(env: NodeJS.ProcessEnv, mainScript: string | undefined): Diag {
  const { config, warnings } = readConfig(env, { mainScript });
  const diag = createDiag(config.logLevel, secretsOf(config)); // header values, URL credentials: never printed
  for (const w of warnings) diag.warn(w);
  startSdk(config, diag);
  return diag;
}

export function startSdk(config: AgentConfig, diag: Diag): void {
  otelDiag.setLogger(otelLogger(diag), { logLevel: OTEL_DIAG_LEVEL[config.logLevel], suppressOverrideMessage: true });
  // Export failures are reported once per outage by the exporters' wrappers (LazyExporter); the
  // SDK's own per-batch error reports would repeat them with a stack each time.
  setGlobalErrorHandler((err) => diag.debug(`OpenTelemetry SDK error: ${describeError(err)}`));

  const processors: SpanProcessor[] = createSpanProcessors(config, diag);
  if (config.processorsFrom) processors.push(...userSpanProcessors(config.processorsFrom, diag));
  const resource = buildResource(config, diag);
  const sampler = createSampler(config.sampler);
  const ids = new PooledIdGenerator();
  const provider = new TracerProvider({
    resource,
    sampler,
    spanProcessors: processors,
    idGenerator: ids,
    spanLimits: config.spanLimits,
  });

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(createPropagator(config));
  // The app's own spans, the slice API's and the instrumentations' take the lean path (src/spans/lean-tracer.ts).
  const startSpan = fastStartSpan({ sampler, ids });
  const leanProvider = leanTracerProvider(provider, startSpan);
  trace.setGlobalTracerProvider(leanProvider);

  const { instrumentations, esmModules } = createInstrumentations(
    { ...config.instrumentations, zmqPropagation: config.zmqPropagation },
    diag,
    { contextManager, startSpan, tracerProvider: provider, leanProvider },
  );
  registerEsmHook(esmModules, diag);
  if (syncHooksWork(process.versions.node)) setAsideForCommonJsMain(diag); // their cost, for CommonJS apps
  // registerInstrumentations' work, without loading @opentelemetry/instrumentation (and import-in-the-middle) at
  // start-up for it: the agent's own instrumentations need a provider and enable().
  for (const instrumentation of instrumentations) {
    instrumentation.setTracerProvider(provider);
    if (!instrumentation.getConfig().enabled) instrumentation.enable();
  }
  startLogs(
    config.logs,
    diag,
    resource,
    config.exportThread ? { logLevel: config.logLevel, secrets: secretsOf(config) } : undefined,
  );

  const state = agentState();
  state.tracing = true;
  state.otelApi = otelApi;
  state.forceFlush = () => provider.forceFlush();
  state.shutdown = (timeoutMs = config.shutdownTimeoutMs) => shutdownWithin(provider, timeoutMs);
  installShutdownHooks(config.shutdownTimeoutMs, diag);
  diag.info(
    `tracing on: service.name=${config.serviceName}, exporters=${config.exporters.join(',') || 'none'}` +
      (config.exporters.includes('otlp') ? `, ${config.otlp.protocol}` : ''),
  );
}

function createSampler({ name, ratio }: AgentConfig['sampler']): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new RatioSampler(ratio); // TraceIdRatioBasedSampler's decisions, cheaper (src/spans/ratio-sampler.ts)
    case 'parentbased_always_off':
      return new ParentBasedSampler(new AlwaysOffSampler());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler(new RatioSampler(ratio));
    case 'parentbased_always_on':
      return new ParentBasedSampler(new AlwaysOnSampler()); // the SDK's decisions (src/spans/parent-based.ts)
  }
}

function createPropagator(config: AgentConfig): TextMapPropagator {
  const propagators = config.propagators.map((name): TextMapPropagator => {
    switch (name) {
      case 'tracecontext':
        return new TraceContextPropagator(); // W3C Trace Context Level 2 (src/spans/tracecontext.ts)
      case 'baggage':
        return new W3CBaggagePropagator();
      case 'b3':
      case 'b3multi': {
        const b3 = require('@opentelemetry/propagator-b3') as typeof import('@opentelemetry/propagator-b3');
        return new b3.B3Propagator({
          injectEncoding: name === 'b3' ? b3.B3InjectEncoding.SINGLE_HEADER : b3.B3InjectEncoding.MULTI_HEADER,
        });
      }
    }
  });
  return new CompositePropagator({ propagators });
}

/** forceFlush + shutdown, given up after `timeoutMs` so a dead collector never holds the process. */
async function shutdownWithin(provider: TracerProvider, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([provider.shutdown().catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
