// The `trace-agent` command line: usage, help, exit codes, and the input errors that must say what to do.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CLI, CLI_FIXTURES, runCli } from './fixtures/cli/run-cli.js';
import { cleanEnv, REPO_ROOT } from './helpers/run-app.js';

const tmp = mkdtempSync(join(tmpdir(), 'trace-agent-cli-'));
const HTTP = join(CLI_FIXTURES, 'http.jsonl');
const write = (name: string, content: string | Buffer) => {
  const file = join(tmp, name);
  writeFileSync(file, content);
  return file;
};

describe('usage', () => {
  it('no command: usage on stderr, exit 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Usage: trace-agent <command>/);
    expect(run.stderr).toMatch(/doctor[\s\S]*tree <file>[\s\S]*perfetto <file>/);
  });

  it('an unknown command: named, with the usage, exit 2', async () => {
    const run = await runCli(['trees']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^trace-agent: unknown command "trees"\n\nUsage: trace-agent/);
    expect(run.stdout).toBe('');
  });

  it('--help and help <command> print on stdout, exit 0', async () => {
    const top = await runCli(['--help']);
    expect([top.code, top.stdout.startsWith('Usage: trace-agent <command>')]).toEqual([0, true]);
    for (const cmd of ['doctor', 'tree', 'perfetto']) {
      const run = await runCli([cmd, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: trace-agent ${cmd}`));
      expect((await runCli(['help', cmd])).stdout).toBe(run.stdout);
    }
    expect((await runCli(['perfetto', '-h'])).stdout).toContain('-o, --output <path>');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect((await runCli(['--version'])).stdout.trim()).toBe(`@x/trace-agent ${pkg.version}`);
  });

  it('bad options and arguments: a message naming --help, exit 2', async () => {
    const unknown = await runCli(['tree', HTTP, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'trace-agent tree: unknown option --bogus for `trace-agent tree`; see `trace-agent tree --help`\n',
    );
    expect((await runCli(['tree'])).stderr).toContain('needs a trace file');
    expect((await runCli(['tree', HTTP, HTTP])).code).toBe(2);
    expect((await runCli(['tree', HTTP, '--limit', 'x'])).stderr).toContain('--limit must be a whole number');
    expect((await runCli(['perfetto', HTTP, '-o'])).stderr).toContain('--output needs a value');
    expect((await runCli(['doctor', 'extra'])).code).toBe(2);
  });

  it('tree and perfetto load nothing from OpenTelemetry (fast start)', async () => {
    for (const args of [
      ['tree', HTTP],
      ['perfetto', HTTP, '-o', join(tmp, 'p.json')],
    ]) {
      const stderr = await new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--require', join(CLI_FIXTURES, 'report-loaded.cjs'), CLI, ...args], {
          env: cleanEnv(),
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.on('close', () => resolve(err));
      });
      expect(stderr).toBe('LOADED_OTEL 0\n');
    }
  });
});

describe('input errors say what to do', () => {
  it('a missing file: how to record one', async () => {
    const run = await runCli(['tree', join(tmp, 'nope.jsonl')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /cannot read .*nope\.jsonl: no such file\. Record one with:\n\s+TRACES_ENABLE=true TRACES_EXPORTER=file TRACES_FILE=traces\.jsonl node --import @x\/trace-agent app\.js/,
    );
  });

  it('a directory', async () => {
    const run = await runCli(['perfetto', tmp]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is a directory');
  });

  it('a line that is not JSON: its number, the expected format, --skip-invalid', async () => {
    const [first, second] = readFileSync(HTTP, 'utf8').trim().split('\n');
    const file = write('bad-line.jsonl', `${first}\nthis is not json\n${second}\n`);
    const run = await runCli(['tree', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /bad-line\.jsonl:2: not JSON \(.*\)\.\nThe input must hold one OTLP\/JSON ExportTraceServiceRequest per line.*pass --skip-invalid/,
    );
    const skipped = await runCli(['tree', file, '--skip-invalid']);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/skipped 1 invalid line\(s\); the first: line 2: not JSON/);
    expect(skipped.stdout).toContain('4 span(s)');
  });

  it('JSON that is not OTLP: what it is instead', async () => {
    const run = await runCli(['tree', write('zipkin.jsonl', '[{"traceId":"a","id":"b","name":"x"}]\n')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'zipkin.jsonl:1: JSON, but not an OTLP ExportTraceServiceRequest: no "resourceSpans"; this looks like Zipkin JSON',
    );
    const chrome = await runCli(['perfetto', join(CLI_FIXTURES, 'http.jsonl'), '-o', join(tmp, 'c.json')]);
    expect(chrome.code).toBe(0);
    const again = await runCli(['tree', join(tmp, 'c.json')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Chrome trace-event file already: open it in https://ui.perfetto.dev');
  });

  it("the console exporter's output: not JSON, and what to use instead", async () => {
    const consoleOutput = `{\n  resource: {\n    attributes: {\n      'service.name': 'svc'\n    }\n  },\n  traceId: '${'ab'.repeat(16)}',\n  name: 'GET'\n}\n`;
    const run = await runCli(['tree', write('console.txt', consoleOutput)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "this looks like the console exporter's output (TRACES_EXPORTER=console), which is not JSON: record with TRACES_EXPORTER=file",
    );
  });

  it('a binary file (the Collector with format: proto)', async () => {
    const run = await runCli([
      'tree',
      write('bin.pb', Buffer.from([0x0a, 0x8f, 0x01, 0x12, 0x00, 0x1a, 0x03, 0x00, 0x01, 0x02, 0x0a, 0x0a, 0x0a])),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not a text file');
    expect(run.stderr).toContain('format: proto');
  });

  it('an empty file, or one with no spans: the usual reasons', async () => {
    const empty = await runCli(['tree', write('empty.jsonl', '')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(
      /has no trace export requests\. Was tracing on \(TRACES_ENABLE=true\) with TRACES_EXPORTER=file/,
    );
    const noSpans = await runCli(['perfetto', write('nospans.jsonl', '{"resourceSpans":[]}\n')]);
    expect(noSpans.stderr).toContain('has 1 export request(s) but no spans');
  });

  it('a last line cut short (the writer was killed) is ignored with a note', async () => {
    const text = readFileSync(HTTP, 'utf8');
    const file = write('truncated.jsonl', text.slice(0, text.trimEnd().lastIndexOf('\n') + 200));
    const run = await runCli(['tree', file]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /truncated\.jsonl:2: the last line is incomplete \(was the writer interrupted\?\); ignored/,
    );
  });

  it('gzip-compressed files and pretty-printed single requests are read; logs lines skipped', async () => {
    const text = readFileSync(HTTP, 'utf8');
    const want = (await runCli(['tree', HTTP])).stdout.replace(/ from .*\n$/, '');
    const gz = await runCli(['tree', write('http.jsonl.gz', gzipSync(text))]);
    expect(gz.stdout.replace(/ from .*\n$/, '')).toBe(want);
    const [a, b] = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const merged = { resourceSpans: [...a.resourceSpans, ...b.resourceSpans] };
    const pretty = await runCli(['tree', write('pretty.json', JSON.stringify(merged, null, 2))]);
    expect(pretty.stdout.replace(/ from .*\n$/, '')).toBe(want);
    const mixed = await runCli(['tree', write('mixed.jsonl', `{"resourceLogs":[]}\n${text}{"resourceMetrics":[]}\n`)]);
    expect(mixed.code).toBe(0);
    expect(mixed.stdout.replace(/ from .*\n$/, '')).toBe(want);
    expect(mixed.stderr).toContain('skipped 2 line(s) of logs/metrics');
  });

  it('progress on stderr with --progress for large files; none by default when stderr is not a terminal', async () => {
    const file = join(tmp, 'big.jsonl');
    copyFileSync(join(CLI_FIXTURES, 'pipeline.jsonl'), file);
    const line = readFileSync(file, 'utf8');
    writeFileSync(file, line.repeat(Math.ceil((20 * 1024 * 1024) / line.length)));
    const quiet = await runCli(['tree', file, '--limit', '1']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('MiB');
    const loud = await runCli(['tree', file, '--limit', '1', '--progress']);
    expect(loud.code).toBe(0);
    const progress = loud.stderr.split('\n').filter((l) => l.startsWith('reading '));
    expect(progress[0]).toMatch(/^reading .*big\.jsonl: 16\.\d MiB of 2\d\.\d MiB \(\d+%\), \d+ spans, \d+\.\d s$/);
    expect(progress.at(-1)).toMatch(/\(100%\), 28 spans, \d+\.\d s, done$/);
    expect(loud.stderr).toMatch(/ignored \d+ duplicate span\(s\)/);
  });
});
