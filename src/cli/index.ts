#!/usr/bin/env node
// `trace-agent`: the package's command-line tool. Each command lives in its own module and is loaded only when
// called, so `tree` and `perfetto` start without loading OpenTelemetry (only `doctor` loads its serializers).
import { CliError, EXIT_FAIL, EXIT_USAGE, messageOf } from './errors.js';

const USAGE = `Usage: trace-agent <command> [options]

Commands:
  doctor                      show the effective tracing configuration (secrets redacted) and check that the
                              OTLP endpoint accepts an export; exits non-zero when tracing cannot work
  tree <file>                 print the traces of an OTLP/JSON lines file as trees in the terminal
  perfetto <file> [-o out]    convert an OTLP/JSON lines file to Chrome trace-event JSON for ui.perfetto.dev

Run \`trace-agent <command> --help\` for a command's options. \`trace-agent --version\` prints the version.
Trace files come from the agent (TRACES_ENABLE=true TRACES_EXPORTER=file TRACES_FILE=traces.jsonl) or from the
OpenTelemetry Collector's file exporter.`;

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, () => Command> = {
  doctor: () => (require('./doctor.js') as typeof import('./doctor.js')).runDoctor,
  tree: () => (require('./tree.js') as typeof import('./tree.js')).runTree,
  perfetto: () => (require('./perfetto.js') as typeof import('./perfetto.js')).runPerfetto,
};

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    if (rest[0] && COMMANDS[rest[0]]) return COMMANDS[rest[0]]!()(['--help']);
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${(require('./version.js') as typeof import('./version.js')).packageVersion()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`trace-agent: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  try {
    return await command()(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`trace-agent ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(
      `trace-agent ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : messageOf(err)}\n`,
    );
    return EXIT_FAIL;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // exitCode, not exit(): lets buffered stdout (a pipe, a terminal) drain before the process ends.
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`trace-agent: ${messageOf(err)}\n`);
      process.exitCode = EXIT_FAIL;
    },
  );
}
