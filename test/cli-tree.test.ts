// `trace-agent tree`: trace trees from recorded files (committed, Collector-format, and recorded fresh).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, shared with the committed-fixture recorder
import { recordHttp, recordPipeline, toCollectorFormat } from './fixtures/cli/record.mjs';
import { CLI_FIXTURES, runCli } from './fixtures/cli/run-cli.js';
import { type RawSpan, readRawSpans } from './fixtures/cli/spans.js';

const tmp = mkdtempSync(join(tmpdir(), 'trace-agent-cli-tree-'));
const fresh = { http: join(tmp, 'http.jsonl'), pipeline: join(tmp, 'pipeline.jsonl') };
const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

beforeAll(async () => {
  await recordHttp(fresh.http);
  await recordPipeline(fresh.pipeline);
}, 60_000);

interface Line {
  depth: number;
  name: string;
  kind: string;
  service: string;
  rest: string;
}

/** Splits the output into traces: header line + span lines, parsed back into depth / name / kind / service. */
function parseTree(stdout: string): { header: string; lines: Line[] }[] {
  const traces: { header: string; lines: Line[] }[] = [];
  for (const raw of stdout.split('\n')) {
    if (raw.startsWith('trace ')) traces.push({ header: raw, lines: [] });
    const m = /^((?:│ {2}| {3})*)[├└]─ (.*)$/.exec(raw);
    if (!m) continue;
    const [name, kind, service, ...rest] = m[2]!.split(' · ');
    traces[traces.length - 1]!.lines.push({
      depth: m[1]!.length / 3,
      name: name!,
      kind: kind!,
      service: service!,
      rest: rest.join(' · '),
    });
  }
  return traces;
}

/** The tree the spans should give: per trace (by start), depth-first, children by start time. */
function expectedTree(spans: RawSpan[]): { traceId: string; lines: Omit<Line, 'rest'>[] }[] {
  const byTrace = new Map<string, RawSpan[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const order = (a: RawSpan, b: RawSpan) =>
    a.start !== b.start
      ? a.start < b.start
        ? -1
        : 1
      : a.end !== b.end
        ? a.end > b.end
          ? -1
          : 1
        : a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : a.spanId < b.spanId
              ? -1
              : 1;
  const traces = [...byTrace.entries()].map(([traceId, list]) => ({
    traceId,
    list,
    start: list.reduce((m, s) => (s.start < m ? s.start : m), list[0]!.start),
  }));
  traces.sort((a, b) => (a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.traceId < b.traceId ? -1 : 1));
  return traces.map(({ traceId, list }) => {
    const ids = new Set(list.map((s) => s.spanId));
    const lines: Omit<Line, 'rest'>[] = [];
    const walk = (s: RawSpan, depth: number) => {
      lines.push({ depth, name: s.name, kind: KINDS[s.kind]!, service: s.service });
      list
        .filter((c) => c.parentSpanId === s.spanId)
        .sort(order)
        .forEach((c) => walk(c, depth + 1));
    };
    list
      .filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId))
      .sort(order)
      .forEach((r) => walk(r, 0));
    return { traceId, lines };
  });
}

async function tree(file: string, ...args: string[]) {
  const run = await runCli(['tree', file, ...args]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.stdout;
}

describe.each([
  ['committed', join(CLI_FIXTURES, 'http.jsonl'), join(CLI_FIXTURES, 'pipeline.jsonl')],
  ['fresh', fresh.http, fresh.pipeline],
])('%s recordings', (_label, httpFile, pipelineFile) => {
  it.each([
    ['two HTTP services', httpFile],
    ['slice-API pipeline', pipelineFile],
  ])('%s: one tree per trace, spans nested by parent, children by start time', async (_what, file) => {
    const out = await tree(file);
    const got = parseTree(out);
    const want = expectedTree(readRawSpans(file));
    expect(got.map((t) => t.header.split(' ')[1])).toEqual(want.map((t) => t.traceId));
    expect(got.map((t) => t.lines.map(({ rest: _rest, ...l }) => l))).toEqual(want.map((t) => t.lines));
    expect(out.trimEnd().split('\n').pop()).toBe(
      `${want.length} trace(s), ${want.reduce((n, t) => n + t.lines.length, 0)} span(s) from ${file}`,
    );
  });

  it('two HTTP services: header, durations, offsets and key attributes on each line', async () => {
    const [trace] = parseTree(await tree(httpFile));
    expect(trace!.header).toMatch(/^trace [0-9a-f]{32} · 4 span\(s\) · cli-client, cli-server · \d+\.\d{3} ms$/);
    expect(trace!.lines.map((l) => `${l.depth} ${l.kind} ${l.service}`)).toEqual([
      '0 CLIENT cli-client',
      '1 SERVER cli-server',
      '2 CLIENT cli-server',
      '3 SERVER cli-server',
    ]);
    for (const l of trace!.lines)
      expect(l.rest).toMatch(/^\d+\.\d{3} ms at \+\d+\.\d{3} ms · .*http\.response\.status_code=200/);
    expect(trace!.lines[0]!.rest).toMatch(/at \+0\.000 ms · url\.full=http:\/\/127\.0\.0\.1:\d+\/proxy\?to=/);
    expect(trace!.lines[1]!.rest).toContain('url.path=/proxy');
    expect(trace!.lines[1]!.rest).toContain('x_request_id=req-42');
  });

  it('slice-API pipeline: errors marked, thread spans, events and links named', async () => {
    const out = await tree(pipelineFile);
    const traces = parseTree(out);
    expect(traces).toHaveLength(3);
    const failed = traces.find((t) => t.lines.some((l) => l.rest.includes('url.path=/fail')))!;
    expect(failed.header).toMatch(/ · 2 error\(s\)$/);
    expect(failed.lines.map((l) => l.rest.split(' · ')[1])).toEqual(['ERROR', 'ERROR']);
    for (const t of traces.filter((x) => x !== failed)) {
      const names = t.lines.map((l) => `${l.depth} ${l.name}`);
      // The thread spans sit right under the request root (server → [Bootstrap Room, in recordings since it is always
      // made] → Req → thread span).
      const req = t.lines.find((l) => /^prefill Req req-[AB]$/.test(l.name))!;
      const threadDepth = String(req.depth + 1);
      expect(names.filter((n) => /^\d+ (tokenizer|scheduler) \[TP 0\]/.test(n)).map((n) => n.split(' ')[0])).toEqual([
        threadDepth,
        threadDepth,
        threadDepth,
      ]);
      const byName = (n: string) => t.lines.find((l) => l.name === n)!;
      expect(byName('tokenize').rest).toContain('1 event(s): tokens_counted');
      expect(byName('dispatch').rest).toContain('links → tokenize');
      expect(byName('prefill').rest).toContain('links → dispatch');
      expect(byName('decode').rest).toContain('links → prefill');
      expect(byName('detokenize').rest).toContain('links → decode');
      expect(t.lines.find((l) => /^prefill Req req-[AB]$/.test(l.name))!.rest).toMatch(/rid=req-[AB]/);
    }
    expect(out).not.toContain('\x1b['); // no colour when stdout is not a terminal
  });
});

describe('inputs and options', () => {
  it('the Collector-format files print the same trees as the files they were made from', async () => {
    for (const name of ['http', 'pipeline']) {
      const ours = await tree(join(CLI_FIXTURES, `${name}.jsonl`));
      const collector = await tree(join(CLI_FIXTURES, `${name}.collector.jsonl`));
      expect(collector.replace(/ from .*\n$/, '')).toBe(ours.replace(/ from .*\n$/, ''));
    }
  });

  it('a fresh recording rewritten to the Collector format, with enum names, prints the same tree', async () => {
    const file = join(tmp, 'collector.jsonl');
    writeFileSync(file, toCollectorFormat(readFileSync(fresh.pipeline, 'utf8'), { enumNames: true, perLine: 5 }));
    expect((await tree(file)).replace(/ from .*\n$/, '')).toBe((await tree(fresh.pipeline)).replace(/ from .*\n$/, ''));
  });

  it('is deterministic whatever the order of lines and of spans within them', async () => {
    const original = readFileSync(join(CLI_FIXTURES, 'pipeline.jsonl'), 'utf8');
    const shuffled = original
      .trim()
      .split('\n')
      .reverse()
      .map((line) => {
        const req = JSON.parse(line);
        for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) ss.spans.reverse();
        return JSON.stringify(req);
      })
      .join('\n');
    const file = join(tmp, 'shuffled.jsonl');
    writeFileSync(file, shuffled);
    expect((await tree(file)).replace(/ from .*\n$/, '')).toBe(
      (await tree(join(CLI_FIXTURES, 'pipeline.jsonl'))).replace(/ from .*\n$/, ''),
    );
  });

  it('spans whose parent is not in the file are shown at the top level, marked as orphans', async () => {
    // Drop the HTTP SERVER spans of /generate: the request roots under them lose their parent.
    const lines = readFileSync(join(CLI_FIXTURES, 'pipeline.jsonl'), 'utf8').trim().split('\n');
    const removed: string[] = [];
    const edited = lines.map((line) => {
      const req = JSON.parse(line);
      for (const rs of req.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          ss.spans = ss.spans.filter(
            (s: { kind: number; spanId: string; attributes: { key: string; value: { stringValue?: string } }[] }) => {
              const drop =
                s.kind === 2 && s.attributes.some((a) => a.key === 'url.path' && a.value.stringValue === '/generate');
              if (drop) removed.push(s.spanId);
              return !drop;
            },
          );
        }
      }
      return JSON.stringify(req);
    });
    expect(removed).toHaveLength(2);
    const file = join(tmp, 'orphans.jsonl');
    writeFileSync(file, `${edited.join('\n')}\n`);
    const traces = parseTree(await tree(file));
    for (const id of removed) {
      const orphan = traces
        .flatMap((t) => t.lines)
        .find((l) => l.name.startsWith(`[orphan: parent ${id} not in file] `))!;
      expect(orphan.depth).toBe(0);
      expect(orphan.name).toMatch(/ prefill Req req-[AB]$/);
    }
  });

  it('--trace, --service and --limit select traces; --attrs shows every attribute; --color colours', async () => {
    const file = join(CLI_FIXTURES, 'pipeline.jsonl');
    const all = parseTree(await tree(file));
    const id = all[1]!.header.split(' ')[1]!;
    const one = parseTree(await tree(file, '--trace', id.slice(0, 8)));
    expect(one.map((t) => t.header)).toEqual([all[1]!.header]);
    const limited = await tree(file, '--limit', '1');
    expect(parseTree(limited)).toHaveLength(1);
    expect(limited).toMatch(/1 trace\(s\), 13 span\(s\) from .* \(2 more not shown: --limit\)/);
    expect(parseTree(await tree(file, '--service', 'cli-pipeline'))).toHaveLength(3);
    const none = await runCli(['tree', file, '--service', 'nope']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no trace in');
    const attrs = await tree(join(CLI_FIXTURES, 'http.jsonl'), '--attrs');
    expect(attrs).toContain('network.peer.address=127.0.0.1');
    const colored = await tree(join(CLI_FIXTURES, 'pipeline.jsonl'), '--color');
    expect(colored).toContain('\x1b[31mERROR\x1b[39m');
  });
});
