// The tracer the contrib instrumentations (express, pg, …: src/instrumentations/contrib.ts) get: their spans take the
// agent's lean path (span-start.ts, lean-span.ts) instead of the SDK Tracer's generic layers, the same spans at a
// fraction of the CPU (an Express request makes four: bench/README.md). Spans with links or `root: true` go through
// the SDK tracer unchanged. The sampler sees no start attributes on the lean path: none of the samplers the agent
// configures (always_on/off, traceidratio, parentbased_*) reads them.
import {
  type Context,
  context,
  type Span,
  SpanKind,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { StartSpan } from './span-start.js';

class LeanTracer implements Tracer {
  constructor(
    private readonly sdk: Tracer,
    private readonly start: StartSpan,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    if (options.root || options.links?.length) return this.sdk.startSpan(name, options, ctx);
    const span = this.start(this.sdk, name, options.kind ?? SpanKind.INTERNAL, ctx, options.startTime);
    if (options.attributes && span.isRecording()) span.setAttributes(options.attributes);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    // (name, fn) | (name, options, fn) | (name, options, context, fn), as the API declares
    const fn = rest.at(-1) as F;
    const options = (rest.length >= 2 ? rest[0] : undefined) as SpanOptions | undefined;
    const parent = (rest.length >= 3 ? rest[1] : undefined) as Context | undefined;
    const ctx = parent ?? context.active();
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/**
 * `provider`, whose tracers start their spans with `start`; one tracer per name, version and schema URL. The global
 * provider too (src/sdk.ts), so the app's own spans and the slice API's take the lean path; forceFlush and shutdown
 * are the SDK provider's, for apps that reach it behind the API's proxy (`getDelegate()`).
 */
export function leanTracerProvider(provider: SdkTracerProvider, start: StartSpan): SdkTracerProvider {
  const tracers = new Map<string, Tracer>();
  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const key = `${name}\0${version ?? ''}\0${options?.schemaUrl ?? ''}`;
      let tracer = tracers.get(key);
      if (!tracer) {
        tracer = new LeanTracer(provider.getTracer(name, version, options), start);
        tracers.set(key, tracer);
      }
      return tracer;
    },
    forceFlush: () => provider.forceFlush?.() ?? Promise.resolve(),
    shutdown: () => provider.shutdown?.() ?? Promise.resolve(),
  };
}

/** A provider as the SDK's: the API's, with the SDK's forceFlush and shutdown when it has them. */
export interface SdkTracerProvider extends TracerProvider {
  forceFlush?(): Promise<void>;
  shutdown?(): Promise<void>;
}
