// Preload for bench/http-path-app.cjs: one http instrumentation (HTTP_PATH_IMPL=ours|upstream) on the SDK, with
// a sampler (HTTP_PATH_SAMPLER=off|ratio|on) and a batch span processor whose exporter discards: what is compared
// is the instrumentation and span path, not the transport. `ours` is the agent's (from dist/), set up as the agent
// sets it up; `upstream` is @opentelemetry/instrumentation-http 0.301, configured as the agent configured it.
'use strict';
const path = require('node:path');
const root = path.join(__dirname, '..');
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const sdk = require('@opentelemetry/sdk-trace');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');

const ours = process.env.HTTP_PATH_IMPL === 'ours';
const ratio = Number(process.env.HTTP_PATH_RATIO ?? 0.1);
// The agent's ratio sampler (same decisions as the SDK's, cheaper) for `ours`, the SDK's for `upstream`.
const ratioSampler = ours
  ? new (require(path.join(root, 'dist/src/spans/ratio-sampler.js')).RatioSampler)(ratio)
  : new sdk.TraceIdRatioBasedSampler(ratio);
const rootSampler = { off: new sdk.AlwaysOffSampler(), on: new sdk.AlwaysOnSampler(), ratio: ratioSampler }[
  process.env.HTTP_PATH_SAMPLER
];
const sampler = new sdk.ParentBasedSampler({ root: rootSampler });
const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const ids = ours ? new (require(path.join(root, 'dist/src/spans/id-generator.js')).PooledIdGenerator)() : undefined;
const provider = new sdk.TracerProvider({
  sampler,
  idGenerator: ids,
  spanProcessors: [
    new sdk.BatchSpanProcessor({ exporter, maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 100 }),
  ],
});
const contextManager = new AsyncLocalStorageContextManager().enable();
api.context.setGlobalContextManager(contextManager);
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
api.trace.setGlobalTracerProvider(provider);

let instrumentation;
if (ours) {
  const { createHttpInstrumentation } = require(path.join(root, 'dist/src/instrumentations/http/index.js'));
  const { contextRunner } = require(path.join(root, 'dist/src/instrumentations/http/context.js'));
  const { fastStartSpan } = require(path.join(root, 'dist/src/spans/span-start.js'));
  instrumentation = createHttpInstrumentation({
    runner: contextRunner(contextManager),
    startSpan: fastStartSpan({ sampler, ids }),
  });
} else {
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  instrumentation = new HttpInstrumentation({
    startIncomingSpanHook: (request) => {
      const id = request.headers?.['x-request-id'];
      return id ? { x_request_id: Array.isArray(id) ? id[0] : id } : {};
    },
  });
}
registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
