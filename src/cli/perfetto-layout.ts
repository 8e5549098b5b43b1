// Where each span goes in the Chrome trace-event timeline: a process (pid) per service.name, and tracks (tids)
// on which complete ('X') slices nest properly, as Perfetto requires (a slice that starts inside another one on
// the same track but ends after it is dropped).
//
// Tracks come in groups:
//  - a slice-API thread span (attribute `thread_label`) and every span below it in the same process form the
//    group named after the thread span ("tokenizer [TP 0] (host:… | pid:…)");
//  - every other span belongs to its OS process/thread's group ("pid 4242", "pid 4242 thread 1").
// A group starts with one track and gets more ("name (2)", …) only when spans overlap without nesting:
// concurrent requests, async children that outlive their parent. Each span goes, first fit, on the track of its
// parent, then on the group's other tracks, then on a new one, wherever it nests only under its own ancestors:
// so whatever is drawn inside a slice really is its descendant. Times are whole microseconds, rounded the same way
// for every timestamp (rounding is monotonic, so nesting in nanoseconds stays nesting in microseconds), and
// integers, which Perfetto reads exactly (fractional microseconds are truncated after a float multiplication).
import type { Span } from './model.js';
import type { Trace, TraceNode } from './traces.js';

export interface Proc {
  pid: number;
  serviceName: string;
  groups: Map<string, Group>;
  /** Tracks in display order once the layout is done. */
  lanes: Lane[];
  hosts: Set<string>;
  osPids: Set<number>;
}

export interface Group {
  name: string;
  index: number;
  lanes: Lane[];
}

export interface Lane {
  proc: Proc;
  group: Group;
  /** Assigned when the layout is done: 1, 2, … per process in display order. */
  tid: number;
  name: string;
  sortIndex: number;
  /** Open slices while placing (innermost last). */
  stack: Slot[];
  /** Every timestamp at which a slice starts or an instant event sits on this track (flow binding). */
  times: Set<number>;
}

export interface Slot {
  node: TraceNode;
  lane: Lane;
  /** Microseconds since the layout's origin. */
  start: number;
  end: number;
  /** The slice it is drawn inside on its track (undefined: top level of the track). */
  enclosing?: Slot;
  /** Position in the global placing order: by start, longer first, parents before children. */
  rank: number;
  /** Earliest start of a slice drawn directly inside it, or of one of its instant events. */
  firstInner: number;
  /** Drawn within its parent although its own times stick out by less than CLOCK_TOLERANCE_US. */
  adjusted?: boolean;
}

export interface Layout {
  originNs: bigint;
  procs: Proc[];
  /** In rank order. */
  slots: Slot[];
  bySpan: Map<string, Slot>;
  /** Microseconds since the origin, rounded as slice bounds are. */
  toUs(ns: bigint): number;
}

export function spanKey(traceId: string, spanId: string): string {
  return traceId + spanId;
}

export function layoutTraces(traces: readonly Trace[]): Layout {
  const nodes = traces.flatMap((t) => t.nodes);
  let originNs = nodes.length ? nodes[0]!.span.startNs : 0n;
  for (const n of nodes) if (n.span.startNs < originNs) originNs = n.span.startNs;
  const toUs = (ns: bigint) => (ns <= originNs ? 0 : Number((ns - originNs + 500n) / 1000n));

  const groupOf = groupResolver();
  const timed = effectiveTimes(traces, toUs, groupOf);
  timed.sort(
    (a, b) =>
      a.start - b.start ||
      b.end - a.end ||
      a.node.depth - b.node.depth ||
      (a.node.span.traceId < b.node.span.traceId ? -1 : a.node.span.traceId > b.node.span.traceId ? 1 : 0) ||
      (a.node.span.spanId < b.node.span.spanId ? -1 : a.node.span.spanId > b.node.span.spanId ? 1 : 0),
  );

  const procs = new Map<string, Proc>();
  const slots: Slot[] = [];
  const byNode = new Map<TraceNode, Slot>();
  for (const { node, start, end, adjusted } of timed) {
    const span = node.span;
    let proc = procs.get(span.resource.serviceName);
    if (!proc) {
      proc = {
        pid: procs.size + 1,
        serviceName: span.resource.serviceName,
        groups: new Map(),
        lanes: [],
        hosts: new Set(),
        osPids: new Set(),
      };
      procs.set(span.resource.serviceName, proc);
    }
    noteResource(proc, span);
    const { key, name } = groupOf(node);
    let group = proc.groups.get(key);
    if (!group) {
      group = { name, index: proc.groups.size, lanes: [] };
      proc.groups.set(key, group);
    }
    const slot = place(proc, group, node, start, end, node.parent ? byNode.get(node.parent) : undefined);
    if (adjusted) slot.adjusted = true;
    slot.rank = slots.length;
    slots.push(slot);
    byNode.set(node, slot);
  }

  for (const proc of procs.values()) finishTracks(proc);
  for (const slot of slots) {
    slot.firstInner = slot.end;
    slot.lane.times.add(slot.start);
    for (const e of slot.node.span.events) {
      const at = eventUs(slot, toUs(e.timeNs));
      slot.firstInner = Math.min(slot.firstInner, at);
      slot.lane.times.add(at);
    }
  }
  for (const slot of slots)
    if (slot.enclosing) slot.enclosing.firstInner = Math.min(slot.enclosing.firstInner, slot.start);

  const bySpan = new Map<string, Slot>();
  for (const slot of slots) bySpan.set(spanKey(slot.node.span.traceId, slot.node.span.spanId), slot);
  return { originNs, procs: [...procs.values()], slots, bySpan, toUs };
}

/**
 * Timestamps from different clocks in one process disagree a little: the HTTP instrumentations' start times have
 * millisecond resolution, so a request made in the first millisecond of a slice seems to start before it, and a
 * request root can end some microseconds after the HTTP span that contains it. Within this tolerance a child is
 * drawn inside its parent (same track group) rather than on a track of its own; the exact times stay in the
 * slice's arguments. Real async work that outlives its parent by more keeps its real times.
 */
export const CLOCK_TOLERANCE_US = 1000;

interface Timed {
  node: TraceNode;
  start: number;
  end: number;
  adjusted: boolean;
}

function effectiveTimes(
  traces: readonly Trace[],
  toUs: (ns: bigint) => number,
  groupOf: (n: TraceNode) => { key: string },
): Timed[] {
  const out: Timed[] = [];
  for (const trace of traces) {
    // Parents before children (an explicit stack: traces can be deep).
    const stack: { node: TraceNode; parent?: Timed }[] = trace.roots.map((node) => ({ node }));
    while (stack.length) {
      const { node, parent } = stack.pop()!;
      let start = toUs(node.span.startNs);
      let end = Math.max(start, toUs(node.span.endNs));
      let adjusted = false;
      if (parent && groupOf(parent.node).key === groupOf(node).key) {
        if (start < parent.start && parent.start - start <= CLOCK_TOLERANCE_US) {
          start = parent.start;
          adjusted = true;
        }
        if (end > parent.end && end - parent.end <= CLOCK_TOLERANCE_US && start <= parent.end) {
          end = parent.end;
          adjusted = true;
        }
        if (end < start) end = start;
      }
      const timed: Timed = { node, start, end, adjusted };
      out.push(timed);
      for (const child of node.children) stack.push({ node: child, parent: timed });
    }
  }
  return out;
}

/**
 * An event's time on its slice's track: kept inside the slice, and short of its end (Perfetto closes a slice at
 * its end timestamp before it places an instant there, which would draw the event outside its span).
 */
export function eventUs(slot: Slot, us: number): number {
  const last = slot.end > slot.start ? slot.end - 1 : slot.start;
  return Math.min(Math.max(us, slot.start), last);
}

function place(proc: Proc, group: Group, node: TraceNode, start: number, end: number, parent: Slot | undefined): Slot {
  const candidates =
    parent && parent.lane.group === group
      ? [parent.lane, ...group.lanes.filter((l) => l !== parent.lane)]
      : group.lanes;
  for (const lane of candidates) {
    const enclosing = fitsIn(lane, node, start, end);
    if (enclosing !== false) return push(lane, node, start, end, enclosing);
  }
  const lane: Lane = { proc, group, tid: 0, name: '', sortIndex: 0, stack: [], times: new Set() };
  group.lanes.push(lane);
  return push(lane, node, start, end, undefined);
}

function push(lane: Lane, node: TraceNode, start: number, end: number, enclosing: Slot | undefined): Slot {
  const slot: Slot = { node, lane, start, end, rank: 0, firstInner: end };
  if (enclosing) slot.enclosing = enclosing;
  lane.stack.push(slot);
  return slot;
}

/**
 * Whether [start, end] can go on the lane, given that every slice already there starts no later: returns the
 * slice it would be drawn inside (undefined for none), or false. Pops what has ended, by Perfetto's rule: a
 * slice is closed at a timestamp equal to its end, except that zero-length slices stack on each other.
 */
function fitsIn(lane: Lane, node: TraceNode, start: number, end: number): Slot | undefined | false {
  const stack = lane.stack;
  const zero = end === start;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.end < start || (top.end === start && !(zero && top.end === top.start))) stack.pop();
    else break;
  }
  const top = stack[stack.length - 1];
  if (!top) return undefined;
  if (top.end < end) return false;
  return isAncestor(top.node, node) ? top : false;
}

function isAncestor(candidate: TraceNode, node: TraceNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p === candidate) return true;
  return false;
}

/** Group key and name for each node, memoised: thread span ancestor in the same process, else the OS thread. */
function groupResolver(): (node: TraceNode) => { key: string; name: string } {
  const memo = new Map<TraceNode, { key: string; name: string }>();
  return (node) => {
    const chain: TraceNode[] = [];
    let found: { key: string; name: string } | undefined;
    for (let n: TraceNode | undefined = node; n; ) {
      found = memo.get(n);
      if (found) break;
      chain.push(n);
      const span = n.span;
      if (typeof span.attributes.thread_label === 'string') {
        found = {
          key: `thread\u0000${span.resource.place}\u0000${span.name}`,
          name: span.name || String(span.attributes.thread_label),
        };
        break;
      }
      const parent: TraceNode | undefined = n.parent;
      if (!parent || parent.span.resource.place !== span.resource.place) {
        found = { key: `os\u0000${span.resource.place}\u0000${span.resource.threadId ?? 0}`, name: osThreadName(span) };
        break;
      }
      n = parent;
    }
    for (const n of chain) memo.set(n, found!);
    return found!;
  };
}

function osThreadName(span: Span): string {
  const { pid, threadId } = span.resource;
  if (pid === undefined) return threadId ? `thread ${threadId}` : 'spans';
  return threadId ? `pid ${pid} thread ${threadId}` : `pid ${pid}`;
}

function noteResource(proc: Proc, span: Span): void {
  const host = span.resource.attributes['host.name'];
  if (typeof host === 'string') proc.hosts.add(host);
  if (span.resource.pid !== undefined) proc.osPids.add(span.resource.pid);
}

/** Names and numbers the tracks: groups in order of first use, a group's overflow tracks right after it. */
function finishTracks(proc: Proc): void {
  const groups = [...proc.groups.values()].sort((a, b) => a.index - b.index);
  let tid = 0;
  for (const group of groups) {
    group.lanes.forEach((lane, i) => {
      lane.tid = ++tid;
      lane.name = i === 0 ? group.name : `${group.name} (${i + 1})`;
      lane.sortIndex = tid;
      lane.stack = [];
      proc.lanes.push(lane);
    });
  }
}
