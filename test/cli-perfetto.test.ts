// `trace-agent perfetto`: on files recorded from real runs (committed, in the Collector's format, and recorded
// fresh), the Chrome trace-event JSON imports into Perfetto (as its importer works: test/fixtures/cli/
// perfetto-check.ts) with nothing dropped, a process per service, thread-span tracks, truthful nesting, link flow
// arrows between the right slices, and span events as instants.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ImportedSlice,
  type ImportResult,
  importLikePerfetto,
  type TraceEvent,
} from './fixtures/cli/perfetto-check.js';
// @ts-expect-error: a plain .mjs script, shared with the committed-fixture recorder
import { recordHttp, recordPipeline, toCollectorFormat } from './fixtures/cli/record.mjs';
import { CLI_FIXTURES, runCli } from './fixtures/cli/run-cli.js';
import { isAncestor, type RawSpan, readRawSpans } from './fixtures/cli/spans.js';

const tmp = mkdtempSync(join(tmpdir(), 'trace-agent-cli-perfetto-'));
const fresh = { http: join(tmp, 'fresh-http.jsonl'), pipeline: join(tmp, 'fresh-pipeline.jsonl') };

beforeAll(async () => {
  await recordHttp(fresh.http);
  await recordPipeline(fresh.pipeline);
}, 60_000);

interface Converted {
  doc: { traceEvents: TraceEvent[]; otherData: Record<string, unknown> };
  imported: ImportResult;
  stdout: string;
}

async function convert(input: string, out = `${input}.out.json`): Promise<Converted> {
  const run = await runCli(['perfetto', input, '-o', out]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  return { doc, imported: importLikePerfetto(doc), stdout: run.stdout };
}

function copy(name: string): string {
  const to = join(tmp, name);
  copyFileSync(join(CLI_FIXTURES, name), to);
  return to;
}

const sliceIndex = new WeakMap<ImportResult, Map<string, ImportedSlice[]>>();
/** The slices of a span (exactly one when all is well). */
function sliceOf(imp: ImportResult, spanId: string): ImportedSlice[] {
  let index = sliceIndex.get(imp);
  if (!index) {
    index = new Map();
    for (const s of imp.slices) {
      if (s.instant) continue;
      const id = String(s.event.args?.span_id);
      index.set(id, [...(index.get(id) ?? []), s]);
    }
    sliceIndex.set(imp, index);
  }
  return index.get(spanId) ?? [];
}

/** What Perfetto would show must be true to the spans: checked for every recording below. */
function checkAgainstSpans(imported: ImportResult, spans: RawSpan[]): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  expect(imported.errors).toEqual([]);
  // Every span is exactly one slice, in the process of its service.
  const pidOf = new Map([...imported.processNames].map(([pid, name]) => [name, pid]));
  expect([...pidOf.keys()].sort()).toEqual([...new Set(spans.map((s) => s.service))].sort());
  for (const span of spans) {
    const slices = sliceOf(imported, span.spanId);
    expect(slices, span.name).toHaveLength(1);
    expect(slices[0]!.pid).toBe(pidOf.get(span.service));
    expect(slices[0]!.event.name).toBe(span.name);
  }
  // Nesting never lies: a slice drawn inside another is a descendant of that span.
  for (const slice of imported.slices) {
    if (slice.instant || !slice.parent) continue;
    const span = byId.get(String(slice.event.args!.span_id))!;
    expect(
      isAncestor(byId, String(slice.parent.event.args!.span_id), span),
      `${span.name} drawn inside ${slice.parent.event.name}`,
    ).toBe(true);
  }
  // A parent not drawn directly around its child is joined to it by a "parent" flow arrow.
  for (const span of spans) {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    if (!parent) continue;
    const child = sliceOf(imported, span.spanId)[0]!;
    const parentSlice = sliceOf(imported, parent.spanId)[0]!;
    // Zero-length slices stack on zero-length ones in Perfetto, so a zero-length child may sit on its parent's
    // instant event (the parent's own): still drawn inside the parent.
    let drawnIn = child.parent;
    while (drawnIn?.instant) drawnIn = drawnIn.parent;
    if (drawnIn === parentSlice) continue;
    // Perfetto points arrows from the earlier slice to the later one, whichever is the parent.
    const joined = (f: (typeof imported.flows)[number]) =>
      (f.from === parentSlice && f.to === child) || (f.from === child && f.to === parentSlice);
    expect(
      imported.flows.some((f) => f.cat === 'parent' && joined(f)),
      `parent arrow to ${span.name}`,
    ).toBe(true);
  }
  // Each link is an arrow from the linked (earlier) slice to the linking one.
  const linkFlows = imported.flows.filter((f) => f.cat === 'link');
  let links = 0;
  for (const span of spans) {
    for (const link of span.links) {
      if (!byId.has(link.spanId)) continue;
      links++;
      const from = sliceOf(imported, link.spanId)[0]!;
      const to = sliceOf(imported, span.spanId)[0]!;
      expect(
        linkFlows.some((f) => (f.from === from && f.to === to) || (f.from === to && f.to === from)),
        `link ${span.name} → ${byId.get(link.spanId)!.name}`,
      ).toBe(true);
    }
  }
  expect(linkFlows).toHaveLength(links);
  // Each span event is an instant drawn within its span's slice.
  const instantsOf = new Map<string, ImportedSlice[]>();
  for (const s of imported.slices)
    if (s.instant)
      instantsOf.set(String(s.event.args?.span_id), [...(instantsOf.get(String(s.event.args?.span_id)) ?? []), s]);
  for (const span of spans) {
    for (const ev of span.events) {
      const own = sliceOf(imported, span.spanId)[0]!;
      const instants = (instantsOf.get(span.spanId) ?? []).filter((s) => s.event.name === ev.name);
      expect(instants, ev.name).toHaveLength(1);
      let p: ImportedSlice | undefined = instants[0]!.parent;
      while (p && p !== own) p = p.parent;
      expect(p, `${ev.name} inside ${span.name}`).toBe(own);
    }
  }
}

describe.each([
  ['committed recording', () => copy('pipeline.jsonl')],
  ['fresh recording', () => fresh.pipeline],
])('slice-API pipeline, %s', (_label, file) => {
  let input: string;
  let spans: RawSpan[];
  let c: Converted;
  beforeAll(async () => {
    input = file();
    spans = readRawSpans(input);
    c = await convert(input);
  });

  it('imports into Perfetto with nothing dropped, true to the spans, links and events', () => {
    expect(spans.length).toBeGreaterThanOrEqual(28);
    checkAgainstSpans(c.imported, spans);
    expect(c.imported.flows.filter((f) => f.cat === 'link').length).toBeGreaterThanOrEqual(8);
    expect(
      c.imported.slices
        .filter((s) => s.instant)
        .map((s) => s.event.name)
        .sort(),
    ).toEqual(['batch_formed', 'batch_formed', 'tokens_counted', 'tokens_counted']);
  });

  it('puts each thread span on a track named after it, with its slices nested inside', () => {
    const threadSpans = spans.filter((s) => typeof s.attributes.thread_label === 'string');
    expect(new Set(threadSpans.map((s) => s.attributes.thread_label))).toEqual(new Set(['tokenizer', 'scheduler']));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const t of threadSpans) {
      const slice = sliceOf(c.imported, t.spanId)[0]!;
      const track = c.imported.threadNames.get(`${slice.pid}/${slice.tid}`)!;
      expect(track === t.name || track.startsWith(`${t.name} (`), `${track} for ${t.name}`).toBe(true);
      expect(slice.depth).toBe(0);
      // The slices of this thread span sit inside it on its track.
      for (const s of spans.filter((x) => x.parentSpanId === t.spanId)) {
        expect(sliceOf(c.imported, s.spanId)[0]!.parent, `${s.name} in ${t.name}`).toBe(slice);
      }
    }
    // Two requests' tokenizer thread spans overlap in time: they cannot share a track.
    const tokenizers = threadSpans
      .filter((s) => s.attributes.thread_label === 'tokenizer')
      .sort((a, b) => (a.start < b.start ? -1 : 1));
    const [first, second] = tokenizers.map((t) => sliceOf(c.imported, t.spanId)[0]!);
    expect(first!.ts < second!.end && second!.ts < first!.end).toBe(true);
    expect(first!.tid).not.toBe(second!.tid);
    expect(byId.size).toBe(spans.length);
  });

  it('writes integer microseconds relative to the first span, and the origin in otherData', () => {
    const origin = BigInt(String(c.doc.otherData.time_origin_unix_nano));
    expect(origin).toBe(spans.reduce((m, s) => (s.start < m ? s.start : m), spans[0]!.start));
    const timed = c.doc.traceEvents.filter((e) => e.ph !== 'M');
    expect(Math.min(...timed.map((e) => e.ts!))).toBe(0);
    expect(c.stdout).toMatch(
      /wrote .*: 1 process\(es\), \d+ track\(s\), \d+ slice\(s\), 4 instant event\(s\), \d+ flow arrow\(s\)/,
    );
  });
});

describe.each([
  ['committed recording', () => copy('http.jsonl')],
  ['fresh recording', () => fresh.http],
])('two HTTP services, %s', (_label, file) => {
  it('one process per service, the cross-process parent as a flow arrow', async () => {
    const input = file();
    const spans = readRawSpans(input);
    const c = await convert(input);
    checkAgainstSpans(c.imported, spans);
    expect([...c.imported.processNames.values()].sort()).toEqual(['cli-client', 'cli-server']);
    const server = spans.find(
      (s) => s.service === 'cli-server' && s.kind === 2 && s.attributes['url.path'] === '/proxy',
    )!;
    const client = spans.find((s) => s.spanId === server.parentSpanId)!;
    expect(client.service).toBe('cli-client');
    const flow = c.imported.flows.find((f) => f.cat === 'parent' && f.to === sliceOf(c.imported, server.spanId)[0]);
    expect(flow?.from).toBe(sliceOf(c.imported, client.spanId)[0]);
    expect(flow!.from.pid).not.toBe(flow!.to.pid);
  });
});

describe('input dialects and output', () => {
  it('the Collector-format files give the same events as the files they were made from', async () => {
    for (const [ours, collector] of [
      ['pipeline.jsonl', 'pipeline.collector.jsonl'],
      ['http.jsonl', 'http.collector.jsonl'],
    ] as const) {
      const a = await convert(copy(ours));
      const b = await convert(copy(collector));
      expect(b.doc.traceEvents).toEqual(a.doc.traceEvents);
    }
  });

  it('a fresh recording rewritten to the Collector format (and enum names) converts the same', async () => {
    const a = await convert(fresh.pipeline, join(tmp, 'a.json'));
    const text = readFileSync(fresh.pipeline, 'utf8');
    for (const enumNames of [false, true]) {
      const file = join(tmp, `fresh-collector-${enumNames}.jsonl`);
      writeFileSync(file, toCollectorFormat(text, { enumNames, perLine: 3 }));
      expect((await convert(file)).doc.traceEvents).toEqual(a.doc.traceEvents);
    }
  });

  it('is deterministic: the same output again, and whatever the order of the input lines', async () => {
    const input = copy('pipeline.jsonl');
    await convert(input, join(tmp, 'd1.json'));
    const first = readFileSync(join(tmp, 'd1.json'), 'utf8');
    await convert(input, join(tmp, 'd2.json'));
    const second = readFileSync(join(tmp, 'd2.json'), 'utf8');
    expect(second).toBe(first);
    const reversed = join(tmp, 'reversed.jsonl');
    writeFileSync(reversed, `${readFileSync(input, 'utf8').trim().split('\n').reverse().join('\n')}\n`);
    expect((await convert(reversed)).doc.traceEvents).toEqual(JSON.parse(first).traceEvents);
  });

  it('writes <file>.perfetto.json by default, or to stdout with -o -', async () => {
    const input = copy('http.jsonl');
    const run = await runCli(['perfetto', input]);
    expect(run.code).toBe(0);
    expect(existsSync(`${input}.perfetto.json`)).toBe(true);
    expect(run.stdout).toContain(`wrote ${input}.perfetto.json`);
    expect(run.stdout).toContain('https://ui.perfetto.dev');
    const piped = await runCli(['perfetto', input, '-o', '-']);
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout).traceEvents).toEqual(
      JSON.parse(readFileSync(`${input}.perfetto.json`, 'utf8')).traceEvents,
    );
    expect(piped.stderr).toContain('wrote stdout');
  });

  it('an unwritable output path is a clear error', async () => {
    const run = await runCli(['perfetto', copy('http.jsonl'), '-o', join(tmp, 'no-such-dir', 'x.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot write .*no-such-dir.*choose another path with -o/);
  });
});

/** A small deterministic PRNG, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random traces in our file exporter's format with everything that makes a timeline hard: concurrent requests,
 * children that start before / end after their parent (by less and by more than a millisecond), zero-length spans,
 * children at their parent's first instant, events outside their span, thread spans, links within and across
 * traces and to spans that are not in the file, orphans, and several services, processes and worker threads.
 */
function randomTraces(seed: number, traces: number): string {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (bytes: number) => Array.from({ length: bytes }, () => int(256).toString(16).padStart(2, '0')).join('');
  const base = 1_700_000_000_000_000_000n;
  const services = [
    { name: 'front', pid: 100, thread: 0 },
    { name: 'front', pid: 100, thread: 1 },
    { name: 'engine', pid: 200, thread: 0 },
    { name: 'engine', pid: 201, thread: 0 },
  ];
  const lines: string[] = [];
  const all: { spanId: string; traceId: string }[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = hex(16);
    const byResource = new Map<number, object[]>();
    const emit = (res: number, span: object) => (byResource.get(res) ?? byResource.set(res, []).get(res)!).push(span);
    const make = (
      parentId: string | undefined,
      start: bigint,
      end: bigint,
      depth: number,
      res: number,
      inThread: boolean,
    ) => {
      const spanId = hex(8);
      const thread = !inThread && depth > 0 && int(4) === 0;
      const links = [];
      if (all.length && int(3) === 0) links.push(all[int(all.length)]!);
      if (int(8) === 0) links.push({ traceId: hex(16), spanId: hex(8) });
      const dur = end - start;
      const events =
        int(3) === 0
          ? [
              {
                timeUnixNano: String(start + BigInt(int(Number(dur) + 2_000_000)) - 1_000_000n),
                name: `ev${int(3)}`,
                attributes: [],
              },
            ]
          : [];
      emit(res, {
        traceId,
        spanId,
        ...(parentId ? { parentSpanId: parentId } : {}),
        name: thread ? `worker-${res} [TP ${int(2)}]` : `op${depth}-${int(5)}`,
        kind: int(6),
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(end),
        attributes: thread ? [{ key: 'thread_label', value: { stringValue: `worker-${res}` } }] : [],
        events,
        links,
        status: { code: int(5) === 0 ? 2 : 0 },
      });
      all.push({ traceId, spanId });
      if (depth >= 4) return;
      for (let c = int(4); c > 0; c--) {
        // Mostly inside the parent; sometimes at its very start, sometimes sticking out a little or a lot.
        const span = Number(dur) || 1;
        let cs = start + BigInt(int(span));
        let ce = cs + BigInt(int(span));
        const twist = int(10);
        if (twist === 0) cs = start;
        if (twist === 1) cs = start - BigInt(int(900_000));
        if (twist === 2) ce = end + BigInt(int(900_000));
        if (twist === 3) ce = end + 5_000_000n + BigInt(int(5_000_000));
        if (twist === 4) ce = cs;
        if (ce < cs) ce = cs;
        const childRes = int(4) === 0 ? int(services.length) : res;
        make(spanId, cs, ce, depth + 1, childRes, inThread || thread);
      }
    };
    const start = base + BigInt(int(50_000_000));
    make(int(15) === 0 ? hex(8) : undefined, start, start + BigInt(int(20_000_000)), 0, int(services.length), false);
    for (const [res, spans] of byResource) {
      const s = services[res]!;
      const attributes = [
        { key: 'service.name', value: { stringValue: s.name } },
        { key: 'process.pid', value: { intValue: s.pid } },
        ...(s.thread ? [{ key: 'thread.id', value: { intValue: s.thread } }] : []),
      ];
      lines.push(
        JSON.stringify({
          resourceSpans: [{ resource: { attributes }, scopeSpans: [{ scope: { name: 'gen' }, spans }] }],
        }),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('random traces (seeded)', () => {
  it.each([1, 2, 3, 16, 18])(
    'seed %i: nothing dropped or misnested, nesting true, every link an arrow',
    async (seed) => {
      const file = join(tmp, `random-${seed}.jsonl`);
      writeFileSync(file, randomTraces(seed, 300));
      const spans = readRawSpans(file);
      const c = await convert(file);
      checkAgainstSpans(c.imported, spans);
    },
  );
});
