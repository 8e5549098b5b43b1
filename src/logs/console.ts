// console.log/info/debug/warn/error as log records, correlated with the active span by the logs SDK. In text
// format the app's output is left exactly as it was: the original method runs with the original arguments,
// and the record is built afterwards. TRACES_LOG_FORMAT=jsonl replaces the output by one JSON object per line.
// Never captured: calls made while another call is being captured (re-entry), and calls made inside an
// export (OpenTelemetry marks that context "tracing suppressed"): a failing exporter or transport that prints
// to the console cannot feed records back into the pipeline that is failing.
import { format } from 'node:util';
import { context, isSpanContextValid, SeverityNumber, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { LogFormat } from '../config/index.js';
import type { EmitConsoleRecord, RecordLevel } from './console-records.js';
import { type JsonValue, jsonLine, type LineIds, nowHrTime, splitArgs } from './format.js';

type Method = 'log' | 'info' | 'debug' | 'warn' | 'error';
type ConsoleFn = (...args: unknown[]) => void;

const LEVELS: Record<Method, RecordLevel> = {
  log: { severityNumber: SeverityNumber.INFO, severityText: 'INFO', iostream: 'stdout' },
  info: { severityNumber: SeverityNumber.INFO, severityText: 'INFO', iostream: 'stdout' },
  debug: { severityNumber: SeverityNumber.DEBUG, severityText: 'DEBUG', iostream: 'stdout' },
  warn: { severityNumber: SeverityNumber.WARN, severityText: 'WARN', iostream: 'stderr' },
  error: { severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', iostream: 'stderr' },
};

const PATCHED = Symbol.for('@x/trace-agent.console-patched');

export interface ConsoleCapture {
  format: LogFormat;
  /** Where records go; undefined when only the output format changes (logs not exported). */
  emitRecord: EmitConsoleRecord | undefined;
}

export function captureConsole({ format: outputFormat, emitRecord }: ConsoleCapture): void {
  const target = console as unknown as Record<Method, ConsoleFn> & { [PATCHED]?: boolean };
  if (target[PATCHED]) return;
  target[PATCHED] = true;
  let busy = false;

  const emit = (
    level: RecordLevel,
    time: [number, number],
    body: string,
    fields: Record<string, JsonValue> | undefined,
  ) => {
    if (!emitRecord) return;
    const active = context.active();
    if (isTracingSuppressed(active)) return;
    // jsonl gives every line a fields object; an empty one is no fields
    emitRecord(level, time, body, fields && hasOwnKeys(fields) ? fields : undefined, active);
  };

  for (const method of Object.keys(LEVELS) as Method[]) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    const level = LEVELS[method];

    const asText: ConsoleFn = function (this: unknown, ...args: unknown[]) {
      original.apply(this, args);
      if (busy || !emitRecord) return;
      busy = true;
      try {
        emit(level, nowHrTime(), format(...args), undefined);
      } catch {
        // a record lost is better than an exception in the app's logging call
      } finally {
        busy = false;
      }
    };

    const asJsonl: ConsoleFn = function (this: unknown, ...args: unknown[]) {
      if (busy) return original.apply(this, args);
      busy = true;
      let built:
        | { line: string; time: [number, number]; message: string; fields: Record<string, JsonValue> }
        | undefined;
      try {
        const time = nowHrTime();
        const split = splitArgs(args);
        const line = jsonLine(time, level.severityText, split, activeIds());
        built = { line, time, message: split.message, fields: split.fields };
      } catch {
        built = undefined; // cannot happen with JSON-safe values; if it does, print as the app asked
      } finally {
        busy = false;
      }
      if (!built) return original.apply(this, args);
      // A lone string argument is printed as is: a `%` inside the line is not a placeholder.
      original.call(this, built.line);
      busy = true;
      try {
        emit(level, built.time, built.message, built.fields);
      } catch {
        // see above
      } finally {
        busy = false;
      }
    };

    const wrapped = outputFormat === 'jsonl' ? asJsonl : asText;
    Object.defineProperty(wrapped, 'name', { value: original.name, configurable: true });
    target[method] = wrapped;
  }
}

function activeIds(): LineIds | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

function hasOwnKeys(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}
