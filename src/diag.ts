// The agent's own diagnostics: one line each on stderr, prefixed with the package name. Written with
// process.stderr.write, not console, so they are never captured as the app's log records, and each distinct
// message is printed once so a failing collector yields one warning, not one per batch.
import type { LogLevel } from './config.js';

const PREFIX = '[@x/trace-agent]';
const RANK: Record<LogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5, all: 6 };
const MAX_REMEMBERED = 256;

export interface Diag {
  error(message: string): void;
  warn(message: string): void;
  /** A warning printed every time: for state changes (an outage begins, ends) rather than repeated failures. */
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  enabled(level: LogLevel): boolean;
}

export function createDiag(level: LogLevel): Diag {
  const seen = new Set<string>();
  const write = (at: LogLevel, message: string, once = true) => {
    if (RANK[at] > RANK[level]) return;
    // Repeats are dropped at warn and above; debug output is meant to be chatty.
    if (once && RANK[at] <= RANK.warn) {
      if (seen.has(message)) return;
      if (seen.size < MAX_REMEMBERED) seen.add(message);
    }
    try {
      process.stderr.write(`${PREFIX} ${at}: ${message}\n`);
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

/** Best-effort message of an unknown thrown value, for diagnostics. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
