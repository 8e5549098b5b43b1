// The parent a span starts under, and the SDK's ParentBasedSampler (the parentbased_* samplers) with the same
// decisions. A LeanSpan's ids come from the agent's generator (span-start.ts), valid by construction, so its context
// is not checked again: the span start and the SDK's sampler each checked the parent's two hex ids on every span,
// ~3% of an Express server's CPU at four spans a request (profile, bench/README.md).
import {
  type Attributes,
  type Context,
  isSpanContextValid,
  type Link,
  type SpanContext,
  type SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { type Sampler, SamplingDecision, type SamplingResult } from '@opentelemetry/sdk-trace';
import { LeanSpan } from './lean-span.js';

/** The last other span whose context passed the check: the span start and the sampler ask about the same parent. */
let lastChecked: object | undefined;

/** The context of `ctx`'s span when it is valid (a LeanSpan's without a second look); undefined otherwise. */
export function validParentOf(ctx: Context): SpanContext | undefined {
  const span = trace.getSpan(ctx);
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (span instanceof LeanSpan || span === lastChecked) return sc;
  if (!isSpanContextValid(sc)) return undefined;
  lastChecked = span; // a remote parent (an extracted context) is checked once per span started under it
  return sc;
}

/** A span whose context its maker has checked (e.g. decoded from bytes): validParentOf takes it as it is. */
export function checkedParent(span: object): void {
  lastChecked = span;
}

const SAMPLE: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROP: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/** ParentBasedSampler({ root }) with its default delegates: a parent's sampled flag decides, remote or local. */
export class ParentBasedSampler implements Sampler {
  constructor(private readonly root: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = validParentOf(ctx);
    if (parent === undefined) return this.root.shouldSample(ctx, traceId, name, kind, attributes, links);
    return parent.traceFlags & TraceFlags.SAMPLED ? SAMPLE : DROP;
  }

  toString(): string {
    return `ParentBased{root=${this.root.toString()}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}`;
  }
}
