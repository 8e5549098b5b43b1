import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { PropagationRule } from './propagation-rule.js';

export interface ZeroMqInstrumentationConfig extends InstrumentationConfig {
  /**
   * Append the trace-context frame to outgoing messages (default true). When false, outgoing messages are sent
   * byte-for-byte as the application built them; spans are still recorded and incoming frames still understood.
   * A rule decides per socket by its endpoint (propagation-rule.ts).
   */
  propagation?: boolean | PropagationRule;
}

/** The fields carried by one trace-context frame (see propagator.ts for the byte layout). */
export interface TraceFrame {
  /** 32 lowercase hex characters, not all zero. */
  traceId: string;
  /** 16 lowercase hex characters, not all zero: the sending (PRODUCER) span. */
  spanId: string;
  /** W3C trace-flags byte (bit 0 = sampled). */
  traceFlags: number;
  /** W3C `tracestate` header value, '' when absent. */
  traceState: string;
  /** W3C `baggage` header value, '' when absent. */
  baggage: string;
}
