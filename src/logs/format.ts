// Turns one console call into what the logs pipeline needs: a timestamp with microseconds, the message, the
// structured fields, and (TRACES_LOG_FORMAT=jsonl) the JSON line. Pure functions, no OpenTelemetry imports.
import { format } from 'node:util';

export type HrTime = [seconds: number, nanoseconds: number];

/** Wall-clock time from the monotonic clock, to the microsecond (Date.now() stops at milliseconds). */
export function nowHrTime(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.max(0, Math.round((ms - seconds * 1000) * 1e6)));
  return [seconds, nanos];
}

/** `2025-01-31T12:34:56.123456Z`: UTC, ISO-8601, microseconds. */
export function isoMicros([seconds, nanos]: HrTime): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

/** JSON-safe values: what JSON.stringify can always write. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface SplitArgs {
  message: string;
  fields: Record<string, JsonValue>;
}

const FORMAT_SPEC = /%[sdifjoOc%]/;

/**
 * Plain-object arguments are structured fields; everything else is formatted (as console would) into the
 * message. A format string with placeholders (`'%s took %d ms'`) consumes its arguments: then it is all message.
 */
export function splitArgs(args: unknown[]): SplitArgs {
  if (typeof args[0] === 'string' && args.length > 1 && FORMAT_SPEC.test(args[0])) {
    return { message: format(...args), fields: {} };
  }
  const text: unknown[] = [];
  const fields: Record<string, JsonValue> = {};
  for (const arg of args) {
    if (isPlainObject(arg)) {
      for (const [key, value] of Object.entries(arg)) {
        const safe = toJsonValue(value, 0, new Set());
        if (safe !== undefined) fields[key] = safe;
      }
    } else {
      text.push(arg);
    }
  }
  return { message: text.length ? format(...text) : '', fields };
}

const RESERVED = new Set(['time', 'level', 'message', 'trace_id', 'span_id']);

export interface LineIds {
  traceId: string;
  spanId: string;
}

/** One JSON object, one line: `time`, `level`, `message`, `trace_id` and `span_id` (only inside a span), fields. */
export function jsonLine(time: HrTime, level: string, split: SplitArgs, ids: LineIds | undefined): string {
  const line: Record<string, JsonValue> = { time: isoMicros(time), level, message: split.message };
  if (ids) {
    line.trace_id = ids.traceId;
    line.span_id = ids.spanId;
  }
  for (const [key, value] of Object.entries(split.fields)) {
    // A field may not overwrite the line's own keys; it keeps its value under `fields.<key>`.
    line[RESERVED.has(key) ? `fields.${key}` : key] = value;
  }
  return JSON.stringify(line);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

const MAX_DEPTH = 8;

/** A JSON-safe copy: bigint as a string, errors as {type, message, stack}, cycles and depth cut. */
function toJsonValue(v: unknown, depth: number, seen: Set<object>): JsonValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v === null) return null;
  const obj = v as object;
  if (seen.has(obj)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(obj);
  try {
    if (obj instanceof Error)
      return { type: obj.name, message: obj.message, ...(obj.stack ? { stack: obj.stack } : {}) };
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return toJsonValue(toJSON.call(obj), depth + 1, seen) ?? null;
    if (Array.isArray(obj)) return obj.map((item) => toJsonValue(item, depth + 1, seen) ?? null);
    if (obj instanceof Map || obj instanceof Set) return format('%O', obj);
    const out: Record<string, JsonValue> = {};
    for (const [key, value] of Object.entries(obj)) {
      const safe = toJsonValue(value, depth + 1, seen);
      if (safe !== undefined) out[key] = safe;
    }
    return out;
  } catch {
    return '[Unserializable]';
  } finally {
    seen.delete(obj);
  }
}
