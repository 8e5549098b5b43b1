// A tiny command-line parser: each command declares its options; anything else is a usage error that names the
// command's --help. No dependency, so the CLI starts in a few milliseconds.
import { UsageError } from './errors.js';

export interface OptionSpec {
  /** Long name without dashes, e.g. "output". */
  name: string;
  /** One-letter alias without the dash, e.g. "o". */
  alias?: string;
  /** Takes a value (`--output x`, `--output=x`, `-o x`); otherwise a boolean flag (`--no-x` sets false). */
  value?: boolean;
  /** May be given several times (values collected in order). */
  repeat?: boolean;
}

export interface Parsed {
  positionals: string[];
  flags: Map<string, boolean>;
  values: Map<string, string[]>;
}

export function parseArgs(command: string, argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byAlias = new Map(specs.filter((s) => s.alias).map((s) => [s.alias!, s]));
  const out: Parsed = { positionals: [], flags: new Map(), values: new Map() };
  const unknown = (arg: string) =>
    new UsageError(`unknown option ${arg} for \`trace-agent ${command}\`; see \`trace-agent ${command} --help\``);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      out.positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let negated = false;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec && name.startsWith('no-')) {
        spec = byName.get(name.slice(3));
        negated = spec !== undefined && !spec.value;
        if (!negated) spec = undefined;
      }
    } else if (arg.length === 2) {
      spec = byAlias.get(arg.slice(1));
    }
    if (!spec) throw unknown(arg);
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`option --${spec.name} takes no value`);
      out.flags.set(spec.name, !negated);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined)
      throw new UsageError(`option --${spec.name} needs a value; see \`trace-agent ${command} --help\``);
    const list = out.values.get(spec.name) ?? [];
    if (!spec.repeat && list.length) throw new UsageError(`option --${spec.name} given twice`);
    list.push(value);
    out.values.set(spec.name, list);
  }
  return out;
}

/** A whole number option within [min, max]. */
export function intOption(parsed: Parsed, name: string, min: number, max: number): number | undefined {
  const raw = parsed.values.get(name)?.[0];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}
