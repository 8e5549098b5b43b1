// The words and numbers of environment variables, read one way everywhere: the start-up decision (agent.ts), the
// configuration reader, `trace-agent doctor` and the slice API's settings. Tiny and dependency-free on purpose: the
// entry bundle includes it, so the tracing-off path can decide without loading the configuration module.

export type Env = Record<string, string | undefined>;

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/** true / false for the boolean words (any case, trimmed); undefined when unset or blank; null for anything else. */
export function parseBool(raw: string | undefined): boolean | null | undefined {
  const word = raw?.trim().toLowerCase();
  if (!word) return undefined;
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return null;
}

/** Whether the value is one of the true words. */
export function isTrue(raw: string | undefined): boolean {
  return parseBool(raw) === true;
}

/**
 * A whole number within [min, max], written as plain decimal digits: Number() would also take "1e3", "0x10" or
 * "1.0", which nobody means here. undefined when unset or blank; null when not such a number.
 */
export function parseWholeNumber(
  raw: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | null | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  const n = /^\+?\d+$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

/**
 * Whether the agent should trace at all: TRACES_ENABLE when it is set (a value that is not a boolean: off), else
 * Dynamo's OTEL_EXPORT_ENABLED; OTEL_SDK_DISABLED=true forces off. Cheap on purpose: the tracing-off path calls only
 * this.
 */
export function tracingRequested(env: Env): boolean {
  const own = parseBool(env.TRACES_ENABLE);
  const enabled = own === undefined ? isTrue(env.OTEL_EXPORT_ENABLED) : own === true;
  return enabled && !isTrue(env.OTEL_SDK_DISABLED);
}
