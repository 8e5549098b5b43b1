// Incoming and outgoing http/https spans, and fetch spans (undici's diagnostics channels, so fetch costs no
// patching).
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
import { type MeterProvider, diag as otelDiag, type TracerProvider, trace } from '@opentelemetry/api';
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import { type StartSpan, sdkStartSpan } from '../../spans/span-start.js';
import { installedVersion } from '../installed-version.js';
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

export class HttpInstrumentation implements Instrumentation {
  readonly instrumentationName = HTTP_SCOPE_NAME;
  readonly instrumentationVersion = HTTP_SCOPE_VERSION;
  private config: InstrumentationConfig = { enabled: false };
  private readonly tracing: HttpTracing;
  private readonly onServerRequest: (message: unknown) => void;
  private readonly onClientRequest: (message: unknown) => void;

  constructor({ runner = contextRunner(undefined), startSpan = sdkStartSpan }: HttpInstrumentationOptions = {}) {
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

  setMeterProvider(_provider: MeterProvider): void {
    // no metrics: the agent exports traces (and logs) only
  }

  setConfig(config: InstrumentationConfig): void {
    this.config = { ...config };
  }

  getConfig(): InstrumentationConfig {
    return this.config;
  }

  enable(): void {
    if (this.config.enabled) return;
    this.config.enabled = true;
    subscribe(SERVER_REQUEST_START, this.onServerRequest);
    subscribe(CLIENT_REQUEST_CREATED, this.onClientRequest);
  }

  disable(): void {
    if (!this.config.enabled) return;
    this.config.enabled = false;
    unsubscribe(SERVER_REQUEST_START, this.onServerRequest);
    unsubscribe(CLIENT_REQUEST_CREATED, this.onClientRequest);
  }
}

export function createHttpInstrumentation(options?: HttpInstrumentationOptions): Instrumentation {
  return new HttpInstrumentation(options);
}

export function createUndiciInstrumentation(): Instrumentation {
  return new LazyUndiciInstrumentation();
}

const UNDICI_REQUEST_CREATE = 'undici:request:create';

/**
 * @opentelemetry/instrumentation-undici (fetch) loaded on the first fetch rather than at start-up, where it cost
 * ~15 ms (its own copy of @opentelemetry/instrumentation and the whole semantic-conventions index) for apps that
 * may never fetch. It works from undici's diagnostics channels, so nothing has to be patched in advance: this
 * watches the first of them, `undici:request:create`; on its first message it builds the real instrumentation
 * (which subscribes to every channel from then on) and hands it that first message, so the first request is
 * traced like the others.
 */
class LazyUndiciInstrumentation implements Instrumentation {
  readonly instrumentationName = '@opentelemetry/instrumentation-undici';
  readonly instrumentationVersion = '';
  private config: InstrumentationConfig = { enabled: false };
  private real: Instrumentation | undefined;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  private readonly onFirstRequest = (message: unknown): void => {
    unsubscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
    try {
      const real = this.load();
      // The real instrumentation subscribed (it enables itself when built) after this message went out: it gets
      // this one from here. A version without this handler only misses the very first request.
      (real as unknown as { onRequestCreated?: (m: unknown) => void }).onRequestCreated?.(message);
    } catch (err) {
      otelDiag.warn(`fetch (undici) instrumentation could not start: ${String(err)}`);
    }
  };

  private load(): Instrumentation {
    if (!this.real) {
      const { UndiciInstrumentation } =
        require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
      const real = new UndiciInstrumentation();
      if (this.tracerProvider) real.setTracerProvider(this.tracerProvider);
      if (this.meterProvider) real.setMeterProvider(this.meterProvider);
      if (!real.getConfig().enabled) real.enable();
      this.real = real;
    }
    return this.real;
  }

  setTracerProvider(provider: TracerProvider): void {
    this.tracerProvider = provider;
    this.real?.setTracerProvider(provider);
  }

  setMeterProvider(provider: MeterProvider): void {
    this.meterProvider = provider;
    this.real?.setMeterProvider(provider);
  }

  setConfig(config: InstrumentationConfig): void {
    this.config = { ...config };
  }

  getConfig(): InstrumentationConfig {
    return this.config;
  }

  enable(): void {
    if (this.config.enabled) return;
    this.config.enabled = true;
    if (this.real) this.real.enable();
    else subscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
  }

  disable(): void {
    if (!this.config.enabled) return;
    this.config.enabled = false;
    unsubscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
    this.real?.disable();
  }
}
