// W3C Trace Context Level 2 (https://www.w3.org/TR/trace-context-2/) for incoming and outgoing HTTP headers.
// OpenTelemetry's W3CTraceContextPropagator parses `traceparent` as the spec says (and is reused for that), but
// departs from Level 2 in three places this class fixes:
//  1. The random-trace-id flag (0x02) is lost: child spans carry only the sampled bit, so a continued trace is
//     forwarded with `-01`. Spec §3.2.2.5.2: "If the flag is set in the incoming traceparent header, it MUST also
//     be set in all outgoing traceparent headers which use the same trace-id" (and unset when it was unset).
//  2. `tracestate` is repaired member by member (invalid members skipped, the list cut at 32 members and 512
//     characters) with the Level 1 key grammar. Level 2 §3.3.1.3 allows keys to start with a digit and to contain
//     any number of `@`, and the processing model (§4.3, step 3) lets a vendor that cannot parse the header discard
//     it whole; the spec's test suite (strict level) expects exactly that for invalid keys or values, keys or
//     values over 256 characters and more than 32 list members, which is what is done here. Duplicate keys are
//     kept as received (the spec makes uniqueness the sender's duty, and the test suite accepts either).
//  3. Trace flags beyond the two defined bits would be serialised as three hex digits (`-0ff`) when a remote
//     context is injected as is; §3.2.2.5: other flags "MUST be set to zero" when forwarding.
// Duplicate `traceparent` headers arrive joined by ", " (Node) and fail the parse, so a new trace starts, as the
// test suite expects; a carrier that keeps duplicates as an array is treated the same way.
import {
  type TraceState as ApiTraceState,
  type Context,
  createContextKey,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed, W3CTraceContextPropagator } from '@opentelemetry/core';

const TRACE_PARENT = 'traceparent';
const TRACE_STATE = 'tracestate';
const RANDOM = 0x02;
const KNOWN_FLAGS = TraceFlags.SAMPLED | RANDOM;
const MAX_MEMBERS = 32;
/** Level 2 key grammar: (lcalpha / DIGIT) 0*255(keychar), keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@". */
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
/** value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = printable ASCII except space, "," and "=". */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The trace id of an incoming traceparent whose random flag was set, kept in the context of the request. */
const RANDOM_TRACE_ID = createContextKey('@x/trace-agent random trace-id flag');

export class TraceContextPropagator implements TextMapPropagator {
  private readonly base = new W3CTraceContextPropagator();

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (!spanContext || isTracingSuppressed(context) || !trace.isSpanContextValid(spanContext)) return;
    let flags = spanContext.traceFlags & KNOWN_FLAGS;
    if (context.getValue(RANDOM_TRACE_ID) === spanContext.traceId) flags |= RANDOM;
    setter.set(carrier, TRACE_PARENT, `00-${spanContext.traceId}-${spanContext.spanId}-0${flags.toString(16)}`);
    const state = spanContext.traceState?.serialize();
    if (state) setter.set(carrier, TRACE_STATE, state);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, TRACE_PARENT);
    if (Array.isArray(raw) && raw.length > 1) return context; // duplicate traceparent: restart the trace
    // Parsed without tracestate: Level 2 rules for it follow.
    const withParent = this.base.extract(context, { [TRACE_PARENT]: Array.isArray(raw) ? raw[0] : raw }, plainGetter);
    const parent = trace.getSpanContext(withParent);
    if (!parent || withParent === context) return context;
    const traceState = parseTraceState(getter.get(carrier, TRACE_STATE));
    const spanContext = {
      ...parent,
      traceFlags: parent.traceFlags & KNOWN_FLAGS,
      ...(traceState ? { traceState } : {}),
    };
    let out = trace.setSpanContext(context, spanContext);
    if (spanContext.traceFlags & RANDOM) out = out.setValue(RANDOM_TRACE_ID, spanContext.traceId);
    return out;
  }

  fields(): string[] {
    return [TRACE_PARENT, TRACE_STATE];
  }
}

const plainGetter: TextMapGetter<Record<string, unknown>> = {
  get: (carrier, key) => carrier[key] as string | undefined,
  keys: (carrier) => Object.keys(carrier),
};

/**
 * The combined `tracestate` (multiple header fields are joined with "," as RFC 9110 §5.3 says), or undefined when
 * it is absent, empty, or invalid as a whole.
 */
export function parseTraceState(raw: string | string[] | undefined): TraceState | undefined {
  const combined = Array.isArray(raw) ? raw.join(',') : raw;
  if (typeof combined !== 'string') return undefined;
  const entries: [string, string][] = [];
  for (const member of combined.split(',')) {
    // OWS around list members is ignored; empty and whitespace-only members are allowed (§3.3.1.1).
    const m = member.replace(/^[ \t]+|[ \t]+$/g, '');
    if (m === '') continue;
    const eq = m.indexOf('=');
    if (eq < 0) return undefined;
    const key = m.slice(0, eq);
    const value = m.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value)) return undefined;
    entries.push([key, value]);
    if (entries.length > MAX_MEMBERS) return undefined;
  }
  return entries.length ? new TraceState(entries) : undefined;
}

/** An immutable tracestate list kept exactly as received (order, duplicates); mutations follow §3.5. */
export class TraceState implements ApiTraceState {
  constructor(private readonly entries: readonly (readonly [string, string])[]) {}

  get(key: string): string | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }

  /** The member moves to the front (§3.5: "Modified keys MUST be moved to the beginning"); the 33rd drops off the end. */
  set(key: string, value: string): TraceState {
    if (!KEY.test(key) || !VALUE.test(value)) return this;
    const member: readonly [string, string] = [key, value];
    return new TraceState([member, ...this.entries.filter(([k]) => k !== key)].slice(0, MAX_MEMBERS));
  }

  unset(key: string): TraceState {
    return new TraceState(this.entries.filter(([k]) => k !== key));
  }

  serialize(): string {
    return this.entries.map(([k, v]) => `${k}=${v}`).join(',');
  }
}
