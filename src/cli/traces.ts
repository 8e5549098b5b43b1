// Spans grouped into traces and nested by parent id: the structure both `tree` and `perfetto` show.
// Deterministic: traces by start time, children by start time (longer first on ties, then name, then id).
import type { Span } from './model.js';

export interface TraceNode {
  span: Span;
  parent?: TraceNode;
  children: TraceNode[];
  /** Depth in its tree, 0 for a top-level node. */
  depth: number;
  /** Top-level although it names a parent: the parent is not in the input (or the ids form a cycle). */
  orphan: boolean;
}

export interface Trace {
  traceId: string;
  /** Root spans and orphans, sorted. */
  roots: TraceNode[];
  nodes: TraceNode[];
  startNs: bigint;
  endNs: bigint;
  services: string[];
  errors: number;
}

export function compareSpans(a: Span, b: Span): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.endNs !== b.endNs) return a.endNs > b.endNs ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

const compareNodes = (a: TraceNode, b: TraceNode) => compareSpans(a.span, b.span);

export function buildTraces(spans: readonly Span[]): Trace[] {
  const byTrace = new Map<string, TraceNode[]>();
  for (const span of spans) {
    let list = byTrace.get(span.traceId);
    if (!list) byTrace.set(span.traceId, (list = []));
    list.push({ span, children: [], depth: 0, orphan: false });
  }
  const traces: Trace[] = [];
  for (const [traceId, nodes] of byTrace) traces.push(assemble(traceId, nodes));
  traces.sort((a, b) => (a.startNs !== b.startNs ? (a.startNs < b.startNs ? -1 : 1) : a.traceId < b.traceId ? -1 : 1));
  return traces;
}

function assemble(traceId: string, nodes: TraceNode[]): Trace {
  const byId = new Map(nodes.map((n) => [n.span.spanId, n]));
  const roots: TraceNode[] = [];
  for (const node of nodes) {
    const parentId = node.span.parentSpanId;
    const parent = parentId === undefined ? undefined : byId.get(parentId);
    if (parent && parent !== node) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      node.orphan = parentId !== undefined;
      roots.push(node);
    }
  }
  // Ids that form a cycle leave nodes unreachable from any root: cut each cycle at its earliest span.
  const reached = new Set<TraceNode>();
  const walk = (top: TraceNode) => {
    const stack = [top];
    while (stack.length) {
      const n = stack.pop()!;
      if (reached.has(n)) continue;
      reached.add(n);
      n.depth = n.parent && n !== top ? n.parent.depth + 1 : 0;
      stack.push(...n.children);
    }
  };
  roots.forEach(walk);
  if (reached.size < nodes.length) {
    for (const n of [...nodes].sort(compareNodes)) {
      if (reached.has(n)) continue;
      n.parent?.children.splice(n.parent.children.indexOf(n), 1);
      delete n.parent;
      n.orphan = true;
      roots.push(n);
      walk(n);
    }
  }
  for (const n of nodes) if (n.children.length > 1) n.children.sort(compareNodes);
  roots.sort(compareNodes);
  let startNs = nodes[0]!.span.startNs;
  let endNs = nodes[0]!.span.endNs;
  const services = new Set<string>();
  let errors = 0;
  for (const { span } of nodes) {
    if (span.startNs < startNs) startNs = span.startNs;
    if (span.endNs > endNs) endNs = span.endNs;
    services.add(span.resource.serviceName);
    if (span.statusCode === 2) errors++;
  }
  return { traceId, roots, nodes, startNs, endNs, services: [...services].sort(), errors };
}
