// console.log/info/debug/warn/error as log records, correlated with the active span by the logs SDK. In text
// format the app's output is left exactly as it was: the original method runs with the original arguments,
// and the record is built afterwards. TRACES_LOG_FORMAT=jsonl replaces the output by one JSON object per line.
// Never captured: calls made while another call is being captured (re-entry), and calls made inside an
// export (OpenTelemetry marks that context "tracing suppressed"): a failing exporter or transport that prints
// to the console cannot feed records back into the pipeline that is failing.
import { format } from 'node:util';
import { context, isSpanContextValid, SeverityNumber, trace, type Attributes, type Logger } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { LogFormat } from '../config.js';
import { jsonLine, nowHrTime, splitArgs, type JsonValue, type LineIds } from './format.js';

type Method = 'log' | 'info' | 'debug' | 'warn' | 'error';
type ConsoleFn = (...args: unknown[]) => void;

interface Level {
  severityNumber: SeverityNumber;
  severityText: string;
  /** Where console writes this method: the `log.iostream` attribute. */
  iostream: 'stdout' | 'stderr';
}

const LEVELS: Record<Method, Level> = {
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
  logger: Logger | undefined;
}

export function captureConsole({ format: outputFormat, logger }: ConsoleCapture): void {
  const target = console as unknown as Record<Method, ConsoleFn> & { [PATCHED]?: boolean };
  if (target[PATCHED]) return;
  target[PATCHED] = true;
  let busy = false;

  const emit = (level: Level, time: [number, number], body: string, fields: Record<string, JsonValue> | undefined) => {
    if (!logger) return;
    const active = context.active();
    if (isTracingSuppressed(active)) return;
    const attributes: Attributes = { 'log.iostream': level.iostream };
    if (fields) for (const [key, value] of Object.entries(fields)) attributes[key] = toAttribute(value);
    logger.emit({
      timestamp: time,
      observedTimestamp: time,
      severityNumber: level.severityNumber,
      severityText: level.severityText,
      body,
      attributes,
      context: active,
    });
  };

  for (const method of Object.keys(LEVELS) as Method[]) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    const level = LEVELS[method];

    const asText: ConsoleFn = function (this: unknown, ...args: unknown[]) {
      original.apply(this, args);
      if (busy || !logger) return;
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
      let built: { line: string; time: [number, number]; message: string; fields: Record<string, JsonValue> } | undefined;
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

/** Log attributes hold primitives here; nested values travel as their JSON text. */
function toAttribute(value: JsonValue): string | number | boolean {
  if (value === null) return 'null';
  return typeof value === 'object' ? JSON.stringify(value) : value;
}
