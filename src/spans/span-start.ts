// Starting the spans of the agent's own instrumentations (http/https servers and clients, zeromq) without the SDK
// Tracer's generic layers. Same sampler, same id generator, same span context (ids, flags, trace state) and same
// processors as Tracer.startSpan would use, but:
//  - a span the sampler drops is `trace.wrapSpanContext(spanContext)` built here, as the Tracer does, without the
//    rest of that method (self-observability counters with their attribute objects and closures, attribute and
//    link sanitising, a debug log call), which measured ~11 µs of CPU per request in a live server here;
//  - a span the sampler keeps is a LeanSpan (src/spans/lean-span.ts), handed to the provider's processors as SpanImpl is.
// When the tracer is not the SDK's (tests, another SDK, an sdk-trace shaped differently) a kept span is started by
// the tracer itself, with the very trace id sampled here handed over so that its sampler decides the same.
import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanKind,
  type TimeInput,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { type Sampler, SamplingDecision } from '@opentelemetry/sdk-trace';
import type { PooledIdGenerator } from './id-generator.js';
import { pipelineOf, startLeanSpan } from './lean-span.js';
import { validParentOf } from './parent-based.js';

export interface SpanStartOptions {
  sampler: Sampler;
  ids: PooledIdGenerator;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];

/** Starts a span of `kind` under `parent`; `startTime` as in SpanOptions (default: now). */
export type StartSpan = (tracer: Tracer, name: string, kind: SpanKind, parent: Context, startTime?: TimeInput) => Span;

/** Plain SDK span start, for when the agent's sampler and id generator are not at hand (tests, other SDKs). */
export const sdkStartSpan: StartSpan = (tracer, name, kind, parent, startTime) =>
  tracer.startSpan(name, startTime === undefined ? { kind } : { kind, startTime }, parent);

export function fastStartSpan({ sampler, ids }: SpanStartOptions): StartSpan {
  return (tracer, name, kind, parent, startTime) => {
    if (isTracingSuppressed(parent)) return sdkStartSpan(tracer, name, kind, parent, startTime);
    const parentSc = validParentOf(parent);
    const validParent = parentSc !== undefined;
    const traceId = validParent ? parentSc.traceId : ids.generateTraceId();
    const result = sampler.shouldSample(parent, traceId, name, kind, NO_ATTRIBUTES, NO_LINKS);
    const traceState = result.traceState ?? (validParent ? parentSc.traceState : undefined);
    if (result.decision === SamplingDecision.NOT_RECORD) {
      return trace.wrapSpanContext({ traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE, traceState });
    }
    const pipeline = pipelineOf(tracer);
    if (pipeline !== undefined) {
      const traceFlags = result.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
      const spanContext = { traceId, spanId: ids.generateSpanId(), traceFlags, traceState };
      const span = startLeanSpan(
        pipeline,
        name,
        kind,
        spanContext,
        validParent ? parentSc : undefined,
        startTime,
        parent,
      );
      if (result.attributes) span.setAttributes(result.attributes);
      return span;
    }
    if (validParent) return sdkStartSpan(tracer, name, kind, parent, startTime);
    ids.presetTraceId(traceId);
    try {
      return sdkStartSpan(tracer, name, kind, parent, startTime);
    } finally {
      ids.presetTraceId(undefined); // never left for an unrelated span
    }
  };
}
