// The trace-id ratio sampler of @opentelemetry/sdk-trace (TraceIdRatioBasedSampler), with the same decision for
// every trace id — the XOR of the id's four 32-bit words compared with ratio x (2^32 - 1) — computed in one pass
// over the id instead of two (validity check, then the accumulation). It runs for every request with a
// `traceidratio` sampler (twice for the ones it keeps: the http instrumentation's span start, then the SDK's
// Tracer), where the two passes measured ~1.5 µs per call on the 2-core benchmark machine.
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { type Sampler, SamplingDecision, type SamplingResult } from '@opentelemetry/sdk-trace';

const DROP: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });
const SAMPLE: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });

/** Hex digit values (either case, as the API's isValidTraceId accepts); -1 for anything else. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[65 + c] = NIBBLE[97 + c] = 10 + c;

export class RatioSampler implements Sampler {
  private readonly ratio: number;
  private readonly upperBound: number;

  constructor(ratio = 0) {
    this.ratio = typeof ratio !== 'number' || Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : Math.max(ratio, 0);
    this.upperBound = this.ratio === 1 ? 4294967296 : Math.floor(this.ratio * 4294967295);
  }

  shouldSample(
    _context: Context,
    traceId: string,
    _name?: string,
    _kind?: SpanKind,
    _attributes?: Attributes,
    _links?: Link[],
  ): SamplingResult {
    if (typeof traceId !== 'string' || traceId.length !== 32) return DROP; // not a valid trace id
    let accumulation = 0;
    let nonZero = 0;
    for (let i = 0; i < 32; i += 8) {
      let part = 0;
      for (let j = i; j < i + 8; j++) {
        const c = traceId.charCodeAt(j);
        const v = c < 128 ? NIBBLE[c]! : -1;
        if (v < 0) return DROP; // not hex: not a valid trace id
        part = (part << 4) | v;
      }
      accumulation = (accumulation ^ part) >>> 0;
      nonZero |= part;
    }
    if (nonZero === 0) return DROP; // the all-zero trace id is invalid
    return accumulation < this.upperBound ? SAMPLE : DROP;
  }

  toString(): string {
    return `TraceIdRatioBased{${this.ratio}}`;
  }
}
