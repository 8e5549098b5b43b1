// The trace-context frame: how W3C trace context crosses a ZeroMQ hop.
//
// One extra frame is appended at the END of the multipart message (so Pub/Sub prefix filtering on the first frame
// and Router/Dealer routing-id frames are untouched). Layout, all integers big-endian:
//
//   offset  size  field
//   0       4     magic  FF 5A 54 43  (b"\xffZTC"; 0xFF never occurs in UTF-8 text, and the first byte is
//                                      neither 0x00 nor 0x01, which XSUB would read as (un)subscribe)
//   4       1     version 0x01
//   5       1     trace-flags   (W3C traceparent trace-flags; bit 0 = sampled)
//   6       16    trace-id      (binary; not all zero)
//   22      8     parent-id     (binary span id of the sending PRODUCER span; not all zero)
//   30      2     T = length of tracestate
//   32      T     tracestate    (W3C `tracestate` header value; printable ASCII 0x20-0x7E; may be empty)
//   32+T    2     B = length of baggage
//   34+T    B     baggage       (W3C `baggage` header value; printable ASCII 0x20-0x7E; may be empty)
//
// The frame is exactly 34+T+B bytes. A receiver strips the last frame only when the message has at least two
// frames and the last one satisfies every rule above; anything else (including a frame that starts with the
// magic but breaks a rule, or another version) is application data and is delivered untouched.
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  trace,
} from '@opentelemetry/api';
import { TraceState, W3CBaggagePropagator } from '@opentelemetry/core';
import { SpanContextLayer } from '../../spans/context-layer.js';
import { checkedParent } from '../../spans/parent-based.js';
import type { TraceFrame } from './types.js';

export const FRAME_MAGIC = Buffer.from([0xff, 0x5a, 0x54, 0x43]);
export const FRAME_VERSION = 0x01;
/** Size of a frame with empty tracestate and baggage. */
export const FRAME_MIN_SIZE = 34;
const MAX_FIELD = 0xffff;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

function isPrintableAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

function isPrintableAsciiString(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Encodes a frame, or returns undefined when the ids are not valid hex of the right length. */
export function encodeTraceFrame(f: TraceFrame): Buffer | undefined {
  // Fields that cannot be represented are dropped rather than failing the whole frame.
  const ts = f.traceState.length <= MAX_FIELD && isPrintableAsciiString(f.traceState) ? f.traceState : '';
  const bg = f.baggage.length <= MAX_FIELD && isPrintableAsciiString(f.baggage) ? f.baggage : '';
  const t = ts.length;
  const b = bg.length;
  if (f.traceId.length !== 32 || f.spanId.length !== 16) return undefined;
  if (f.traceId === ZERO_TRACE_ID || f.spanId === ZERO_SPAN_ID) return undefined;
  const buf = Buffer.allocUnsafe(FRAME_MIN_SIZE + t + b);
  // Byte stores rather than Buffer#copy / #writeUInt16BE: one frame per message, and those calls cost more in
  // argument handling than the few bytes they write.
  buf[0] = 0xff;
  buf[1] = 0x5a;
  buf[2] = 0x54;
  buf[3] = 0x43;
  buf[4] = FRAME_VERSION;
  buf[5] = f.traceFlags & 0xff;
  if (!writeHex(buf, 6, f.traceId) || !writeHex(buf, 22, f.spanId)) return undefined;
  buf[30] = t >>> 8;
  buf[31] = t & 0xff;
  if (t) buf.write(ts, 32, t, 'latin1'); // a native call: skipped for the usual empty fields
  buf[32 + t] = b >>> 8;
  buf[33 + t] = b & 0xff;
  if (b) buf.write(bg, 34 + t, b, 'latin1');
  return buf;
}

/** Nibble by character code, 0xff for anything that is not a hex digit. */
const HEX_NIBBLE = Uint8Array.from({ length: 128 }, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : 0xff,
);

/**
 * Writes hex digits as bytes at `offset`; false at the first character that is not a hex digit. (Buffer#write with
 * 'hex' would take a non-ASCII character by its low byte: 'š', U+0161, as 'a'.)
 */
function writeHex(buf: Buffer, offset: number, hex: string): boolean {
  for (let i = 0; i < hex.length; i += 2) {
    const high = hex.charCodeAt(i);
    const low = hex.charCodeAt(i + 1);
    if (high > 0x7f || low > 0x7f || HEX_NIBBLE[high] === 0xff || HEX_NIBBLE[low] === 0xff) return false;
    buf[offset++] = (HEX_NIBBLE[high]! << 4) | HEX_NIBBLE[low]!;
  }
  return true;
}

/** True when the bytes start with magic + version: cheap pre-check before a full decode. */
export function looksLikeTraceFrame(frame: unknown): boolean {
  return (
    frame instanceof Uint8Array &&
    frame.length >= FRAME_MIN_SIZE &&
    frame[0] === 0xff &&
    frame[1] === 0x5a &&
    frame[2] === 0x54 &&
    frame[3] === 0x43 &&
    frame[4] === FRAME_VERSION
  );
}

/** Decodes a frame; undefined for anything that is not exactly a valid v1 trace-context frame. Never throws. */
export function decodeTraceFrame(frame: unknown): TraceFrame | undefined {
  if (!looksLikeTraceFrame(frame)) return undefined;
  const bytes = frame as Uint8Array;
  const n = bytes.length;
  const t = (bytes[30]! << 8) | bytes[31]!;
  if (FRAME_MIN_SIZE + t > n) return undefined;
  const b = (bytes[32 + t]! << 8) | bytes[33 + t]!;
  if (FRAME_MIN_SIZE + t + b !== n) return undefined;
  if (!isPrintableAscii(bytes, 32, 32 + t) || !isPrintableAscii(bytes, 34 + t, 34 + t + b)) return undefined;
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids = view.toString('hex', 6, 30); // one native call for both ids (two took ~0.5 µs a message)
  const traceId = ids.slice(0, 32);
  const spanId = ids.slice(32);
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return {
    traceId,
    spanId,
    traceFlags: bytes[5]!,
    traceState: t ? view.toString('latin1', 32, 32 + t) : '',
    baggage: b ? view.toString('latin1', 34 + t, 34 + t + b) : '',
  };
}

/**
 * Receive-side rule: if a message of two or more frames ends with a valid trace-context frame, remove that frame
 * from the array (in place) and return it decoded with its byte size; otherwise leave the array untouched.
 */
export function takeTraceFrame(frames: unknown[]): { frame: TraceFrame; size: number } | undefined {
  if (frames.length < 2) return undefined; // a sender always appends after at least one application frame
  const last: unknown = frames[frames.length - 1];
  const frame = decodeTraceFrame(last);
  if (!frame) return undefined;
  frames.pop();
  return { frame, size: (last as Uint8Array).length };
}

const baggagePropagator = new W3CBaggagePropagator();

/**
 * The frame for a message sent under span context `sc` with the baggage of `ctx` (the send's parent context), or
 * undefined when `sc` is not valid. Taking the span context directly spares a context built per message.
 */
export function frameFor(sc: SpanContext, ctx: Context): Buffer | undefined {
  if (!isSpanContextValid(sc)) return undefined;
  let baggage = '';
  const bag = propagation.getBaggage(ctx);
  if (bag && bag.getAllEntries().length > 0) {
    const carrier: Record<string, string> = {};
    baggagePropagator.inject(ctx, carrier, defaultTextMapSetter);
    baggage = carrier.baggage ?? '';
  }
  return encodeTraceFrame({
    traceId: sc.traceId,
    spanId: sc.spanId,
    traceFlags: sc.traceFlags,
    traceState: sc.traceState?.serialize() ?? '',
    baggage,
  });
}

/** The remote context a decoded frame describes, rooted at ROOT_CONTEXT (the sender's context, not ours). */
export function contextFromFrame(f: TraceFrame): Context {
  const remote = trace.wrapSpanContext({
    traceId: f.traceId,
    spanId: f.spanId,
    traceFlags: f.traceFlags,
    isRemote: true,
    traceState: f.traceState ? new TraceState(f.traceState) : undefined,
  });
  checkedParent(remote); // its ids were decoded from bytes, hex and not zero: valid, no second look per span
  let ctx: Context = new SpanContextLayer(ROOT_CONTEXT, remote, undefined); // trace.setSpanContext, without a Map
  if (f.baggage) ctx = baggagePropagator.extract(ctx, { baggage: f.baggage }, defaultTextMapGetter);
  return ctx;
}
