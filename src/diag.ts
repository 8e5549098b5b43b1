// The agent's own diagnostics: one line each on stderr, prefixed with the package name. Written with
// process.stderr.write, not console, so they are never captured as the app's log records, and each distinct
// message is printed once so a failing collector yields one warning, not one per batch. Every line passes through
// a redactor: header values and URL credentials from the configuration never reach the output, whoever wrote
// the message (the agent, OpenTelemetry, an error message of the transport).
import type { DiagLogger, DiagLogLevel } from '@opentelemetry/api';
import type { AgentConfig, LogLevel } from './config/index.js';

const PREFIX = '[@x/trace-agent]';
const RANK: Record<LogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5, all: 6 };
const MAX_REMEMBERED = 256;
/** Secrets shorter than this are not searched for in messages: they would blank out ordinary words. */
const MIN_SECRET_LENGTH = 4;
/** `scheme://user:password@` in any URL of any message. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

export interface Diag {
  error(message: string): void;
  warn(message: string): void;
  /** A warning printed every time: for state changes (an outage begins, ends) rather than repeated failures. */
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  enabled(level: LogLevel): boolean;
}

export function createDiag(
  level: LogLevel,
  secrets: readonly string[] = [],
  out: (line: string) => void = (line) => process.stderr.write(line),
): Diag {
  const seen = new Set<string>();
  const redact = redactor(secrets);
  const write = (at: LogLevel, message: string, once = true) => {
    if (RANK[at] > RANK[level]) return;
    // Repeats are dropped at warn and above; debug output is meant to be chatty.
    if (once && RANK[at] <= RANK.warn) {
      if (seen.has(message)) return;
      if (seen.size < MAX_REMEMBERED) seen.add(message);
    }
    try {
      out(`${PREFIX} ${at}: ${redact(String(message))}\n`);
    } catch {
      // stderr closed: nothing sensible left to do
    }
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    notice: (m) => write('warn', m, false),
    info: (m) => write('info', m),
    debug: (m) => write('debug', m),
    enabled: (at) => RANK[at] <= RANK[level],
  };
}

/** Replaces every secret with `mask` and every URL's user:password with `***`. */
export function redactor(secrets: readonly string[], mask = '***'): (message: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  return (message) => {
    let out = message.replace(URL_CREDENTIALS, '$1***@');
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(mask);
    return out;
  };
}

/** What must never be printed: the values of every configured header, and the credentials of the endpoint URLs. */
export function secretsOf(config: AgentConfig): string[] {
  const out: string[] = [];
  for (const otlp of [config.otlp, config.logs.otlp]) {
    for (const value of Object.values(otlp.headers)) out.push(value, encodeURIComponent(value));
    try {
      const url = new URL(otlp.url);
      for (const part of [url.username, url.password]) if (part) out.push(part, safeDecode(part));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  return out;
}

/**
 * OpenTelemetry's diag output, routed to ours. A component logger (every instrumentation's `_diag`) calls with its
 * namespace first and the message after it, so every string argument is kept, joined with ': ', and errors give
 * their message; other objects (spans, responses, configuration) are never printed. The batch span processor's
 * own drop message, repeated at each refill of its queue, is demoted to debug: the agent reports drops once per
 * episode (exporters/queue-watch.ts).
 */
export function otelLogger(diag: Diag): DiagLogger {
  const message = (args: unknown[]) =>
    args
      .filter((a) => typeof a === 'string' || a instanceof Error)
      .map((a) => (typeof a === 'string' ? a : describeError(a)))
      .join(': ');
  return {
    error: (...args) => diag.error(message(args)),
    warn: (...args) => {
      const m = message(args);
      return SDK_QUEUE_DROP.test(m) ? diag.debug(m) : diag.warn(m);
    },
    info: (...args) => diag.info(message(args)),
    debug: (...args) => diag.debug(message(args)),
    verbose: (...args) => diag.debug(message(args)),
  };
}

const SDK_QUEUE_DROP = /^Dropped \d+ spans because maxQueueSize reached$/;

/**
 * OTEL_LOG_LEVEL as OpenTelemetry's diag levels, by value: importing the enum would load a second copy of
 * @opentelemetry/api beside the SDK bundle's (this file is not bundled).
 */
export const OTEL_DIAG_LEVEL: Record<LogLevel, DiagLogLevel> = {
  none: 0,
  error: 30,
  warn: 50,
  info: 60,
  debug: 70,
  verbose: 80,
  all: 9999,
};

/** decodeURIComponent, or the input when it is not valid percent-encoding. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Best-effort message of an unknown thrown value, for diagnostics. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
