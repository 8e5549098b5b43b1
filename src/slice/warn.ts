// Misuse of the slice API never throws: it is reported once per kind on stderr and the call does its documented
// fallback. Once per kind (not per message) so that a loop that misuses the API prints one line, not millions.

export type WarnKind =
  | 'unknown_rid'
  | 'no_thread_info'
  | 'slice_end_without_start'
  | 'slice_name_mismatch'
  | 'unclosed_slice'
  | 'duplicate_req_start'
  | 'bad_argument'
  | 'bad_env'
  | 'bad_ts'
  | 'bad_attrs'
  | 'bad_propagate_context'
  | 'no_open_span'
  | 'req_ttl_expired'
  | 'req_evicted'
  | 'init_failed'
  | 'internal_error';

const PREFIX = '[@x/trace-agent]';
const warned = new Set<WarnKind>();
let quiet: boolean | undefined;

function isQuiet(): boolean {
  if (quiet === undefined) {
    // Same switch as the agent's own diagnostics: OTEL_LOG_LEVEL=none|error silences warnings.
    const level = (process.env.OTEL_LOG_LEVEL ?? '').trim().toLowerCase();
    quiet = level === 'none' || level === 'error';
  }
  return quiet;
}

export function warnOnce(kind: WarnKind, message: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  if (isQuiet()) return;
  try {
    process.stderr.write(`${PREFIX} warn: slice API: ${message} [${kind}; repeats suppressed]\n`);
  } catch {
    // stderr closed: nothing left to do
  }
}

/** For tests: which kinds have been reported, and a way to start over. */
export function warnedKinds(): ReadonlySet<WarnKind> {
  return warned;
}

export function resetWarnings(): void {
  warned.clear();
  quiet = undefined;
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
