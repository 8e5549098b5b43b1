// The agent's own copies of the OpenTelemetry packages every contrib instrumentation requires, handed to them instead
// of node_modules' CommonJS builds (contrib.ts): loading those (api, core, instrumentation: ~50 files) cost ~50 ms
// the first time an app loaded an instrumented library, and their own @opentelemetry/instrumentation added a second
// require-in-the-middle hook beside the agent's. One copy of each serves the agent, zeromq's and every contrib
// instrumentation. Their versions are those the contrib packages ask for (package.json; a test checks).
export * as api from '@opentelemetry/api';
export * as core from '@opentelemetry/core';
export * as instrumentation from '@opentelemetry/instrumentation';
