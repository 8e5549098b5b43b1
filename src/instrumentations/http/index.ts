// Incoming and outgoing http/https spans.
//
// Why http is hand-written rather than @opentelemetry/instrumentation-http: that instrumentation cost a
// hello-world server ~80% of its throughput here, most of it even for requests the sampler drops (measured: ~22 µs
// of CPU per request on the server path against ~2 µs here, ~27 µs against ~10 µs when every request is recorded;
// bench/README.md). Per request it builds a URL object, splits headers, patches 8 methods on both the request and
// the response (context.bind(emitter)) plus a closure per listener, runs every hook through
// safeExecuteInTheMiddle, computes all attributes before the sampler has decided, and keeps metric attribute
// objects nothing reads. This one records the same spans — names, kinds, attributes (attributes.ts), status,
// parenting, propagation, x_request_id, the instrumentation scope — which test/http-parity.test.ts checks
// against the upstream instrumentation. It works from Node's http diagnostics channels (no module hook: `http`
// is instrumented whether required or imported, and never loaded by the agent itself), wraps one `emit` per
// emitter instead of every listener, and does no attribute work for unsampled requests (src/spans/span-start.ts).

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { diag as otelDiag, type TracerProvider, trace } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { type StartSpan, sdkStartSpan } from '../../spans/span-start.js';
import { installedVersion } from '../installed-version.js';
import { SwitchableInstrumentation } from '../switchable.js';
import { clientRequestCreated } from './client.js';
import { type ContextRunner, contextRunner } from './context.js';
import { serverRequestStarted } from './server.js';
import type { HttpTracing } from './tracing.js';

export { REQUEST_ID_ATTRIBUTE } from './attributes.js';

/**
 * The scope of @opentelemetry/instrumentation-http, whose spans these reproduce, so that queries and dashboards that
 * select HTTP spans by instrumentation scope keep working. The version is the one test/http-parity.test.ts compares
 * against (the devDependency): scripts/bundle.mjs writes it into the bundle at build time.
 */
export const HTTP_SCOPE_NAME = '@opentelemetry/instrumentation-http';
declare const __HTTP_SCOPE_VERSION__: string | undefined;
export const HTTP_SCOPE_VERSION =
  typeof __HTTP_SCOPE_VERSION__ === 'string' ? __HTTP_SCOPE_VERSION__ : (installedVersion(HTTP_SCOPE_NAME) ?? '');

const SERVER_REQUEST_START = 'http.server.request.start';
const CLIENT_REQUEST_CREATED = 'http.client.request.created';

export interface HttpInstrumentationOptions {
  /** Runs code under a context; the agent's uses its context manager's storage directly. */
  runner?: ContextRunner;
  /** Starts a span; the agent's skips the SDK Tracer for requests its sampler drops (src/spans/span-start.ts). */
  startSpan?: StartSpan;
}

export class HttpInstrumentation extends SwitchableInstrumentation {
  readonly instrumentationName = HTTP_SCOPE_NAME;
  readonly instrumentationVersion = HTTP_SCOPE_VERSION;
  private readonly tracing: HttpTracing;
  private readonly onServerRequest: (message: unknown) => void;
  private readonly onClientRequest: (message: unknown) => void;

  constructor({ runner = contextRunner(undefined), startSpan = sdkStartSpan }: HttpInstrumentationOptions = {}) {
    super();
    this.tracing = {
      tracer: trace.getTracer(HTTP_SCOPE_NAME, HTTP_SCOPE_VERSION),
      startSpan,
      runner,
      diag: otelDiag.createComponentLogger({ namespace: HTTP_SCOPE_NAME }),
    };
    this.onServerRequest = serverRequestStarted(this.tracing);
    this.onClientRequest = clientRequestCreated(this.tracing);
  }

  setTracerProvider(provider: TracerProvider): void {
    this.tracing.tracer = provider.getTracer(HTTP_SCOPE_NAME, HTTP_SCOPE_VERSION);
  }

  protected start(): void {
    subscribe(SERVER_REQUEST_START, this.onServerRequest);
    subscribe(CLIENT_REQUEST_CREATED, this.onClientRequest);
  }

  protected stop(): void {
    unsubscribe(SERVER_REQUEST_START, this.onServerRequest);
    unsubscribe(CLIENT_REQUEST_CREATED, this.onClientRequest);
  }
}

export function createHttpInstrumentation(options?: HttpInstrumentationOptions): Instrumentation {
  return new HttpInstrumentation(options);
}
