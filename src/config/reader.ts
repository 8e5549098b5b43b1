// One reader of environment variables for the configuration: each value from the first variable set in a list, the
// variable that set it recorded (for `trace-agent doctor`), and one warning per problem, never showing a secret.
import { type Env, parseBool, parseWholeNumber } from './env.js';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class Reader {
  readonly warnings: string[] = [];
  readonly sources: Record<string, string> = {};
  private readonly pairCache = new Map<string, Record<string, string>>();
  constructor(readonly env: Env) {}

  /** Variables shared by traces and logs (OTEL_EXPORTER_OTLP_TIMEOUT…) are read twice but warn once. */
  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** A `k=v,...` header variable, parsed once: traces and logs share some, and a bad pair warns only once. */
  headerVar(name: string): Record<string, string> {
    let parsed = this.pairCache.get(name);
    if (!parsed) {
      const found = this.first(`headers:${name}`, name);
      parsed = found ? parsePairs(this, name, found.value, true) : {};
      this.pairCache.set(name, parsed);
    }
    return parsed;
  }

  /** First variable of `names` that is set to a non-blank value; records it as the source of `key`. */
  first(key: string, ...names: string[]): { name: string; value: string } | undefined {
    for (const name of names) {
      const value = this.env[name];
      if (value !== undefined && value.trim() !== '') {
        this.sources[key] = name;
        return { name, value: value.trim() };
      }
    }
    return undefined;
  }

  bool(key: string, name: string, fallback: boolean): boolean {
    const found = this.first(key, name);
    const value = parseBool(found?.value);
    if (value === null) this.warn(`${name}="${found?.value}" is not a boolean (use true/false); using ${fallback}`);
    return value ?? fallback;
  }

  /** A whole number within [min, max], from the first variable set. */
  int(key: string, names: string[], fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const found = this.first(key, ...names);
    const value = parseWholeNumber(found?.value, min, max);
    if (value === null)
      this.warn(`${found?.name}="${found?.value}" must be a whole number from ${min} to ${max}; using ${fallback}`);
    return value ?? fallback;
  }

  /** One of `allowed` (lower-cased), else the fallback and one warning saying what was expected. */
  oneOf<T extends string>(
    key: string,
    names: string[],
    allowed: readonly T[],
    fallback: T,
    expected = allowed.join(', '),
  ): T {
    const found = this.first(key, ...names);
    if (!found) return fallback;
    const v = found.value.toLowerCase();
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.warn(`${found.name}="${found.value}" is not ${expected}; using ${fallback}`);
    return fallback;
  }

  /** A comma list; words lower-cased, blanks dropped. */
  list(key: string, ...names: string[]): { name: string; items: string[] } | undefined {
    const found = this.first(key, ...names);
    if (!found) return undefined;
    const items = found.value
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    return { name: found.name, items };
  }

  /**
   * A list of exporter names: the known ones, deduplicated, without `none`; an unset or empty list, or one naming no
   * known exporter, gives the fallback.
   */
  exporters<T extends string>(key: string, names: string[], known: readonly string[], fallback: T[]): T[] {
    const found = this.list(key, ...names);
    if (!found?.items.length) return fallback;
    const bad = found.items.filter((e) => !known.includes(e));
    const good = [...new Set(found.items.filter((e) => known.includes(e)))];
    if (!good.length) {
      this.warn(
        `${found.name}="${found.items.join(',')}" names no known exporter (${known.join(', ')}); using ${fallback[0] ?? 'none'}`,
      );
      return fallback;
    }
    this.listProblems(found.name, 'exporter', bad, good, '"none" ignored next to other exporters');
    return good.filter((e) => e !== 'none') as T[];
  }

  /** One warning for a list variable's unknown names and a `none` mixed with real names. */
  listProblems(name: string, noun: string, bad: string[], good: string[], noneMixed: string): void {
    const problems: string[] = [];
    if (bad.length) problems.push(`unknown ${noun}(s) ${bad.join(', ')} ignored`);
    if (good.includes('none') && good.length > 1) problems.push(noneMixed);
    if (problems.length) this.warn(`${name}: ${problems.join('; ')}`);
  }
}

/**
 * Parses a `key=value,key2=value2` list: pairs trimmed, split at the FIRST `=` (values may contain `=`),
 * percent-decoded. Malformed pairs are skipped with one warning for the variable, which names their keys but never
 * shows a value.
 */
export function parsePairs(
  r: Pick<Reader, 'warn'> | null,
  name: string,
  raw: string,
  headerNames: boolean,
  extraProblems: (out: Record<string, string>) => string[] = () => [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  raw.split(',').forEach((pair, index) => {
    if (!pair.trim()) return;
    const eq = pair.indexOf('=');
    const key = decodeOrNull((eq < 0 ? pair : pair.slice(0, eq)).trim());
    if (eq < 0 || !key) {
      problems.push(`${key ? `key "${key}"` : `entry ${index + 1}`} is not of the form key=value`);
      return;
    }
    if (headerNames && !HEADER_NAME.test(key)) {
      problems.push(`key "${key}" is not a valid header name`);
      return;
    }
    const value = decodeOrNull(pair.slice(eq + 1).trim());
    if (value === null) {
      problems.push(`the value of key "${key}" has a bad percent-encoding`);
      return;
    }
    out[headerNames ? key.toLowerCase() : key] = value;
  });
  problems.push(...extraProblems(out));
  if (problems.length) r?.warn(`${name}: ${problems.join('; ')}; skipped`);
  return out;
}

function decodeOrNull(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
