// `trace-agent tree <file>`: each trace as an indented tree in the terminal, one span per line:
// name · kind · service · duration (and start offset in the trace) · status · key attributes · events · links.
import { intOption, type OptionSpec, parseArgs } from './args.js';
import { CliError } from './errors.js';
import { INPUT_FORMATS, INPUT_HELP, INPUT_OPTIONS, inputPath, loadSpans, noSpansMessage } from './input.js';
import { attrText, durationNs, formatMs, kindName, type Span, STATUS_ERROR } from './model.js';
import { buildTraces, type Trace, type TraceNode } from './traces.js';
import { OutputWriter } from './write.js';

export const TREE_HELP = `Usage: trace-agent tree <file> [options]

Prints every trace in <file> as a tree: spans nested under their parent, children in start order. Each line:
  name · KIND · service.name · duration at +offset from the trace start · ERROR: message · key attributes
Spans whose parent is not in the file are shown at the top level, marked [orphan: parent <id> not in file].

Options:
  --trace <id>       only the trace(s) whose id starts with <id> (repeatable)
  --service <name>   only traces that have a span of this service.name (repeatable)
  --limit <n>        print at most <n> traces (the earliest)
  --attrs            print every attribute, not just the key ones
  --color            colour errors and offsets (default: when stdout is a terminal and NO_COLOR is unset)
${INPUT_HELP}
  -h, --help         this help

${INPUT_FORMATS}

Example:
  TRACES_ENABLE=true TRACES_EXPORTER=file TRACES_FILE=traces.jsonl node --import @x/trace-agent app.js
  trace-agent tree traces.jsonl`;

const OPTIONS: OptionSpec[] = [
  ...INPUT_OPTIONS,
  { name: 'trace', value: true, repeat: true },
  { name: 'service', value: true, repeat: true },
  { name: 'limit', value: true },
  { name: 'attrs' },
  { name: 'color' },
];

/** Attributes worth a glance, in the order shown; at most MAX_KEY_ATTRS of them per line. */
const KEY_ATTRS = [
  'http.route',
  'url.path',
  'url.full',
  'http.target',
  'http.url',
  'http.response.status_code',
  'http.status_code',
  'x_request_id',
  'rpc.system',
  'rpc.method',
  'rpc.grpc.status_code',
  'messaging.system',
  'messaging.operation.type',
  'messaging.destination.name',
  'db.system.name',
  'db.system',
  'db.operation.name',
  'rid',
  'thread_label',
  'error.type',
  'exception.message',
];
const MAX_KEY_ATTRS = 5;

interface Style {
  error(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const PLAIN: Style = { error: (s) => s, dim: (s) => s, bold: (s) => s };
const ANSI: Style = {
  error: (s) => `\x1b[31m${s}\x1b[39m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
};

export async function runTree(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs('tree', argv, OPTIONS);
  if (parsed.flags.get('help')) {
    process.stdout.write(`${TREE_HELP}\n`);
    return 0;
  }
  const path = inputPath('tree', parsed);
  const limit = intOption(parsed, 'limit', 1, Number.MAX_SAFE_INTEGER);
  const colorFlag = parsed.flags.get('color');
  const style = (colorFlag ?? (process.stdout.isTTY && !process.env.NO_COLOR)) ? ANSI : PLAIN;
  const { spans, stats } = await loadSpans(path, parsed);
  if (!spans.length) throw new CliError(noSpansMessage(path, stats));

  let traces = buildTraces(spans);
  const prefixes = (parsed.values.get('trace') ?? []).map((p) => p.toLowerCase());
  const services = parsed.values.get('service') ?? [];
  if (prefixes.length) traces = traces.filter((t) => prefixes.some((p) => t.traceId.startsWith(p)));
  if (services.length) traces = traces.filter((t) => services.some((s) => t.services.includes(s)));
  if (!traces.length) {
    throw new CliError(
      `no trace in ${path} matches ${[...prefixes.map((p) => `--trace ${p}`), ...services.map((s) => `--service ${s}`)].join(' ')}`,
    );
  }
  const shown = limit === undefined ? traces : traces.slice(0, limit);

  const out = new OutputWriter(process.stdout);
  const allAttrs = parsed.flags.get('attrs') === true;
  for (const trace of shown) {
    printTrace(out, trace, style, allAttrs);
    out.line('');
  }
  const spanCount = shown.reduce((n, t) => n + t.nodes.length, 0);
  const more = shown.length < traces.length ? ` (${traces.length - shown.length} more not shown: --limit)` : '';
  out.line(`${shown.length} trace(s), ${spanCount} span(s) from ${path}${more}`);
  await out.end();
  return 0;
}

function printTrace(out: OutputWriter, trace: Trace, style: Style, allAttrs: boolean): void {
  const errors = trace.errors ? ` · ${style.error(`${trace.errors} error(s)`)}` : '';
  out.line(
    `${style.bold(`trace ${trace.traceId}`)} · ${trace.nodes.length} span(s) · ${trace.services.join(', ')} · ` +
      `${formatMs(trace.endNs - trace.startNs)}${errors}`,
  );
  const names = new Map(trace.nodes.map((n) => [n.span.spanId, n.span.name]));
  // Iterative depth-first walk: traces can be deep, and the output order is the tree order.
  const stack: { node: TraceNode; prefix: string; last: boolean }[] = [];
  for (let i = trace.roots.length - 1; i >= 0; i--)
    stack.push({ node: trace.roots[i]!, prefix: '', last: i === trace.roots.length - 1 });
  while (stack.length) {
    const { node, prefix, last } = stack.pop()!;
    out.line(`${prefix}${last ? '└─ ' : '├─ '}${describe(node, trace, names, style, allAttrs)}`);
    const childPrefix = prefix + (last ? '   ' : '│  ');
    for (let i = node.children.length - 1; i >= 0; i--) {
      stack.push({ node: node.children[i]!, prefix: childPrefix, last: i === node.children.length - 1 });
    }
  }
}

function describe(node: TraceNode, trace: Trace, names: Map<string, string>, style: Style, allAttrs: boolean): string {
  const span = node.span;
  const parts: string[] = [];
  const orphan = node.orphan ? `${style.error(`[orphan: parent ${span.parentSpanId} not in file]`)} ` : '';
  parts.push(`${orphan}${span.name || '(no name)'}`);
  parts.push(kindName(span.kind));
  parts.push(span.resource.serviceName);
  parts.push(`${formatMs(durationNs(span))} ${style.dim(`at +${formatMs(span.startNs - trace.startNs)}`)}`);
  if (span.statusCode === STATUS_ERROR)
    parts.push(style.error(span.statusMessage ? `ERROR: ${span.statusMessage}` : 'ERROR'));
  const attrs = attributeText(span, allAttrs);
  if (attrs) parts.push(attrs);
  if (span.events.length) {
    const evNames = [...new Set(span.events.map((e) => e.name))];
    parts.push(`${span.events.length} event(s): ${evNames.slice(0, 4).join(', ')}${evNames.length > 4 ? ', …' : ''}`);
  }
  if (span.links.length) {
    parts.push(
      `links → ${span.links.map((l) => (l.traceId === span.traceId ? names.get(l.spanId) : undefined) ?? `${l.spanId} (not in trace)`).join(', ')}`,
    );
  }
  return parts.join(' · ');
}

function attributeText(span: Span, all: boolean): string {
  const has = (k: string) => k in span.attributes;
  // A client's url.full already shows its path.
  const keys = all
    ? Object.keys(span.attributes).sort()
    : KEY_ATTRS.filter((k) => has(k) && !(k === 'url.path' && has('url.full'))).slice(0, MAX_KEY_ATTRS);
  return keys.map((k) => `${k}=${attrText(span.attributes[k]!, all ? 200 : 60)}`).join(' ');
}
