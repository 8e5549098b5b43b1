// What `tree` and `perfetto` share: the <file> argument and the options of the reader.
import type { OptionSpec, Parsed } from './args.js';
import { UsageError } from './errors.js';
import type { Span } from './model.js';
import { type ReadStats, readTraceFile } from './otlp-json.js';

export const INPUT_OPTIONS: OptionSpec[] = [
  { name: 'skip-invalid' },
  { name: 'progress' },
  { name: 'help', alias: 'h' },
];

export const INPUT_HELP = `  --skip-invalid     skip lines that are not OTLP/JSON (counted on stderr) instead of stopping at the first
  --progress         report reading progress on stderr (default: on a terminal, for files of 16 MiB or more;
                     --no-progress never)`;

export const INPUT_FORMATS = `Input: one OTLP/JSON ExportTraceServiceRequest per line, as written by the agent (TRACES_EXPORTER=file,
TRACES_FILE=...) or by the OpenTelemetry Collector's file exporter (format: json; gzip/zstd compressed too).
Lines of logs or metrics in the same file are skipped.`;

/** The one positional <file>; stdin is not supported because the reader needs the size for progress. */
export function inputPath(command: string, parsed: Parsed): string {
  const [file, ...extra] = parsed.positionals;
  if (!file)
    throw new UsageError(`\`trace-agent ${command}\` needs a trace file; see \`trace-agent ${command} --help\``);
  if (extra.length)
    throw new UsageError(
      `\`trace-agent ${command}\` takes one file, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  return file;
}

export async function loadSpans(path: string, parsed: Parsed): Promise<{ spans: Span[]; stats: ReadStats }> {
  const flag = parsed.flags.get('progress');
  return readTraceFile(path, {
    progress: flag === undefined ? 'auto' : flag ? 'on' : 'off',
    skipInvalid: parsed.flags.get('skip-invalid') === true,
    warn: (m) => process.stderr.write(`trace-agent: ${m}\n`),
  });
}

/** When a file holds no spans: the usual reasons, so the user knows what to check. */
export function noSpansMessage(path: string, stats: ReadStats): string {
  const what = stats.requests ? `${stats.requests} export request(s) but no spans` : 'no trace export requests';
  return (
    `${path} has ${what}. Was tracing on (TRACES_ENABLE=true) with TRACES_EXPORTER=file, and did the app run ` +
    'long enough to export (spans are written every 500 ms and when the process exits normally)?'
  );
}
