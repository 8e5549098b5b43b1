// `trace-agent perfetto <file> [-o out.json]`: OTLP/JSON spans as Chrome trace-event JSON, the format
// https://ui.perfetto.dev and chrome://tracing open. Spans are complete ('X') slices laid out by
// perfetto-layout.ts; span events are thread-scoped instant ('i') events; span links, and parents drawn on
// another track or in another process, are flow arrows ('s' → 'f').
import { closeSync, openSync, writeSync } from 'node:fs';
import { type OptionSpec, parseArgs } from './args.js';
import { CliError, messageOf } from './errors.js';
import { INPUT_FORMATS, INPUT_HELP, INPUT_OPTIONS, inputPath, loadSpans, noSpansMessage } from './input.js';
import { type Attrs, kindName, STATUS_ERROR, STATUS_OK } from './model.js';
import { eventUs, type Layout, layoutTraces, type Slot, spanKey } from './perfetto-layout.js';
import { buildTraces } from './traces.js';

export const PERFETTO_HELP = `Usage: trace-agent perfetto <file> [-o out.json] [options]

Converts the spans in <file> to Chrome trace-event JSON. Open the result at https://ui.perfetto.dev
("Open trace file") or in chrome://tracing.

  - one process per service.name;
  - one track per thread span of the slice API (attribute thread_label) with its slices nested inside; other
    spans on a track per OS process/thread ("pid 4242"); spans that overlap without nesting (concurrent
    requests) get extra tracks ("pid 4242 (2)") so every slice is drawn inside its own ancestors only;
  - span links as flow arrows (category "link"); a parent drawn on another track or in another process is
    joined to its child by a flow arrow too (category "parent");
  - span events as instant events; span attributes, ids, kind, status and exact times in each slice's arguments.
Times are whole microseconds from the first span. A child whose times stick out of its parent's by less than
1 ms (clocks of different resolution in one process) is drawn inside it all the same.

Options:
  -o, --output <path>  where to write (default: <file>.perfetto.json; "-" for stdout)
${INPUT_HELP}
  -h, --help           this help

${INPUT_FORMATS}`;

const OPTIONS: OptionSpec[] = [...INPUT_OPTIONS, { name: 'output', alias: 'o', value: true }];

const WRITE_CHUNK = 1 << 20;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export async function runPerfetto(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs('perfetto', argv, OPTIONS);
  if (parsed.flags.get('help')) {
    process.stdout.write(`${PERFETTO_HELP}\n`);
    return 0;
  }
  const path = inputPath('perfetto', parsed);
  const output = parsed.values.get('output')?.[0] ?? `${path}.perfetto.json`;
  const { spans, stats } = await loadSpans(path, parsed);
  if (!spans.length) throw new CliError(noSpansMessage(path, stats));

  const layout = layoutTraces(buildTraces(spans));
  const { records, counts } = buildEvents(layout);
  const header = JSON.stringify({
    source: path,
    generator: 'trace-agent perfetto',
    time_origin_unix_nano: layout.originNs.toString(),
    spans: spans.length,
  });
  writeOutput(output, records, header);

  const tracks = layout.procs.reduce((n, p) => n + p.lanes.length, 0);
  const summary =
    `wrote ${output === '-' ? 'stdout' : output}: ${layout.procs.length} process(es), ${tracks} track(s), ` +
    `${counts.slices} slice(s), ${counts.instants} instant event(s), ${counts.links + counts.parents} flow arrow(s) ` +
    `(${counts.links} link, ${counts.parents} parent)`;
  const note = counts.danglingLinks
    ? `; ${counts.danglingLinks} link(s) point to spans not in the file (kept in the slice arguments)`
    : '';
  (output === '-' ? process.stderr : process.stdout).write(
    `${summary}${note}\nOpen it at https://ui.perfetto.dev ("Open trace file") or in chrome://tracing.\n`,
  );
  return 0;
}

interface EventRecord {
  ts: number;
  /** Tie-breaks at one timestamp (see bindPoint). */
  order: number;
  rank: number;
  json: string;
}

interface Counts {
  slices: number;
  instants: number;
  links: number;
  parents: number;
  danglingLinks: number;
}

export function buildEvents(layout: Layout): { records: string[]; counts: Counts } {
  const meta: string[] = [];
  for (const proc of layout.procs) {
    meta.push(json({ name: 'process_name', ph: 'M', pid: proc.pid, tid: 0, args: { name: proc.serviceName } }));
    meta.push(json({ name: 'process_sort_index', ph: 'M', pid: proc.pid, tid: 0, args: { sort_index: proc.pid } }));
    const labels = [
      ...[...proc.hosts].sort().map((h) => `host ${h}`),
      ...[...proc.osPids].sort((a, b) => a - b).map((p) => `pid ${p}`),
    ];
    if (labels.length)
      meta.push(json({ name: 'process_labels', ph: 'M', pid: proc.pid, tid: 0, args: { labels: labels.join(', ') } }));
    for (const lane of proc.lanes) {
      meta.push(json({ name: 'thread_name', ph: 'M', pid: proc.pid, tid: lane.tid, args: { name: lane.name } }));
      meta.push(
        json({
          name: 'thread_sort_index',
          ph: 'M',
          pid: proc.pid,
          tid: lane.tid,
          args: { sort_index: lane.sortIndex },
        }),
      );
    }
  }

  const records: EventRecord[] = [];
  const counts: Counts = { slices: 0, instants: 0, links: 0, parents: 0, danglingLinks: 0 };
  for (const slot of layout.slots) {
    records.push({ ts: slot.start, order: 1, rank: slot.rank, json: sliceEvent(slot) });
    counts.slices++;
    for (const event of slot.node.span.events) {
      const ts = eventUs(slot, layout.toUs(event.timeNs));
      const args: Attrs = { ...event.attributes, span_id: slot.node.span.spanId };
      const rec = json({
        name: clean(event.name),
        cat: 'event',
        ph: 'i',
        s: 't',
        ts,
        pid: slot.lane.proc.pid,
        tid: slot.lane.tid,
        args,
      });
      // An event at the slice's first microsecond must follow the slice itself; later ones precede any slice
      // starting at the same time, so that they are drawn in their own span, not in a child.
      records.push(
        ts === slot.start
          ? { ts, order: 1, rank: slot.rank + 0.5, json: rec }
          : { ts, order: 0, rank: slot.rank, json: rec },
      );
      counts.instants++;
    }
  }

  let flowId = 0;
  const flow = (from: Slot, to: Slot, cat: 'link' | 'parent') => {
    let a = bindPoint(from);
    let b = bindPoint(to);
    // The arrow's start must be read first; Perfetto draws it from the earlier slice to the later one anyway.
    if (compare(b, a) < 0) [a, b, from, to] = [b, a, to, from];
    const id = ++flowId;
    records.push({
      ...a,
      json: json({ name: cat, cat, ph: 's', id, ts: a.ts, pid: from.lane.proc.pid, tid: from.lane.tid }),
    });
    records.push({
      ...b,
      json: json({ name: cat, cat, ph: 'f', bp: 'e', id, ts: b.ts, pid: to.lane.proc.pid, tid: to.lane.tid }),
    });
  };
  for (const slot of layout.slots) {
    const span = slot.node.span;
    for (const link of span.links) {
      const target = layout.bySpan.get(spanKey(link.traceId, link.spanId));
      if (!target || target === slot) {
        if (!target) counts.danglingLinks++;
        continue;
      }
      flow(target, slot, 'link');
      counts.links++;
    }
    const parent = slot.node.parent
      ? layout.bySpan.get(spanKey(span.traceId, slot.node.parent.span.spanId))
      : undefined;
    if (parent && slot.enclosing !== parent) {
      flow(parent, slot, 'parent');
      counts.parents++;
    }
  }

  records.sort((x, y) => x.ts - y.ts || x.order - y.order || x.rank - y.rank);
  return { records: [...meta, ...records.map((r) => r.json)], counts };
}

/**
 * When and where a flow event binds to `slot`. Perfetto binds a flow event to the slice on top of the track's
 * stack when it reads the event (the last one begun and not yet closed by a later start). So the event goes one
 * microsecond into the slice when nothing else happens on the track in between (no slice starting, no instant,
 * whosever); otherwise at the slice's own start, sorted right after it and before its instants and children
 * there (which relies on Perfetto keeping the file order of events with equal timestamps).
 */
function bindPoint(slot: Slot): { ts: number; order: number; rank: number } {
  const next = slot.start + 1;
  if (next < slot.end && slot.firstInner > slot.start && !slot.lane.times.has(next))
    return { ts: next, order: 2, rank: slot.rank };
  return { ts: slot.start, order: 1, rank: slot.rank + 0.25 };
}

function compare(
  a: { ts: number; order: number; rank: number },
  b: { ts: number; order: number; rank: number },
): number {
  return a.ts - b.ts || a.order - b.order || a.rank - b.rank;
}

function sliceEvent(slot: Slot): string {
  const span = slot.node.span;
  const args: Record<string, unknown> = {
    trace_id: span.traceId,
    span_id: span.spanId,
  };
  if (span.parentSpanId) args.parent_span_id = span.parentSpanId;
  if (slot.node.orphan) args.orphan = 'parent not in file';
  args.kind = kindName(span.kind);
  if (span.statusCode === STATUS_ERROR) args.status = 'ERROR';
  else if (span.statusCode === STATUS_OK) args.status = 'OK';
  if (span.statusMessage) args.status_message = span.statusMessage;
  if (span.scope) args.scope = span.scope;
  args.start_unix_nano = span.startNs.toString();
  args.duration_ns = (span.endNs - span.startNs).toString();
  if (slot.adjusted)
    args.drawn =
      "inside its parent: its own times differ from the parent's by less than 1 ms (clocks of different resolution)";
  args.attributes = span.attributes;
  if (span.links.length) {
    args.links = span.links.map((l) => ({
      trace_id: l.traceId,
      span_id: l.spanId,
      ...(Object.keys(l.attributes).length ? { attributes: l.attributes } : {}),
    }));
  }
  return json({
    name: clean(span.name) || '(no name)',
    cat: kindName(span.kind).toLowerCase(),
    ph: 'X',
    ts: slot.start,
    dur: slot.end - slot.start,
    pid: slot.lane.proc.pid,
    tid: slot.lane.tid,
    // chrome://tracing colours error slices red; Perfetto shows the status in the arguments.
    ...(span.statusCode === STATUS_ERROR ? { cname: 'terrible' } : {}),
    args,
  });
}

/** Control characters in names upset some trace-event readers; they never help a name anyway. */
function clean(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  return name.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function writeOutput(output: string, records: string[], otherData: string): void {
  let fd: number;
  const toStdout = output === '-';
  try {
    fd = toStdout ? 1 : openSync(output, 'w');
  } catch (err) {
    throw new CliError(`cannot write ${output}: ${messageOf(err)}; choose another path with -o`);
  }
  try {
    let buf = '{"traceEvents":[\n';
    records.forEach((r, i) => {
      buf += i === records.length - 1 ? `${r}\n` : `${r},\n`;
      if (buf.length >= WRITE_CHUNK) {
        writeAll(fd, buf);
        buf = '';
      }
    });
    buf += `],\n"otherData":${otherData}}\n`;
    writeAll(fd, buf);
  } catch (err) {
    // A reader that stopped early (`… -o - | head`) is not an error.
    if (toStdout && (err as NodeJS.ErrnoException).code === 'EPIPE') return;
    throw new CliError(`cannot write ${output}: ${messageOf(err)}`);
  } finally {
    if (!toStdout) closeSync(fd);
  }
}

function writeAll(fd: number, text: string): void {
  const data = Buffer.from(text);
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      // stdout may be a non-blocking pipe: wait a moment for the reader rather than lose output.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(PAUSE, 0, 0, 5);
    }
  }
}
