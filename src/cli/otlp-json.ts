// The shared reader of OTLP/JSON trace files: one ExportTraceServiceRequest per line, as our file exporter and the
// OpenTelemetry Collector's file exporter write them. Streams the file line by line (gzip / zstd too), tolerates
// the dialects (hex or base64 ids, int64 as numbers or strings or {low, high}, enums as numbers or names,
// camelCase or snake_case keys) and turns every line into normalised Span objects. Plain Node: no OpenTelemetry.
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { CliError, messageOf } from './errors.js';
import {
  type Attrs,
  type AttrValue,
  KIND_NAMES,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
} from './model.js';
import { Progress, type ProgressMode } from './progress.js';

export interface ReadOptions {
  progress?: ProgressMode;
  /** Skip lines that are not JSON / not OTLP (counted) instead of failing on the first one. */
  skipInvalid?: boolean;
  /** Where notes about skipped content go (stderr in the CLI). */
  warn?: (message: string) => void;
}

export interface ReadStats {
  bytes: number;
  lines: number;
  /** Trace export requests read. */
  requests: number;
  /** Lines of other OTLP signals (logs, metrics, profiles): the Collector may write them into the same file. */
  otherSignals: number;
  invalidLines: number;
  duplicateSpans: number;
  /** Spans without a usable trace id, span id or start time. */
  badSpans: number;
  truncatedLastLine: boolean;
}

export interface ReadResult {
  spans: Span[];
  stats: ReadStats;
}

const HOW_TO_RECORD =
  'TRACES_ENABLE=true TRACES_EXPORTER=file TRACES_FILE=traces.jsonl node --import @x/trace-agent app.js';
const FORMAT_HINT =
  'The input must hold one OTLP/JSON ExportTraceServiceRequest per line, as TRACES_EXPORTER=file or the ' +
  "OpenTelemetry Collector's file exporter (format: json) writes";
/** A pretty-printed (multi-line) JSON document is read whole, up to this size. */
const WHOLE_FILE_LIMIT = 512 * 1024 * 1024;

/** Reads a whole trace file. Throws CliError with a message that says what to do. */
export async function readTraceFile(path: string, opts: ReadOptions = {}): Promise<ReadResult> {
  const size = fileSize(path);
  const encoding = sniffEncoding(path);
  const sink = new SpanSink(path, opts);
  const progress = new Progress(`reading ${path}`, size, opts.progress ?? 'auto');
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const input = decompress(raw, encoding, path);
  let carry: Buffer | undefined;
  let wholeFile = false;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      let nl = chunk.indexOf(10);
      while (nl >= 0) {
        const line = carry ? Buffer.concat([carry, chunk.subarray(start, nl)]) : chunk.subarray(start, nl);
        carry = undefined;
        if (sink.addLine(line, false) === 'whole-file') {
          wholeFile = true;
          break;
        }
        start = nl + 1;
        nl = chunk.indexOf(10, start);
      }
      if (wholeFile) break;
      if (start < chunk.length)
        carry = carry ? Buffer.concat([carry, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
      progress.update(raw.bytesRead, sink.spans.length);
    }
    if (!wholeFile && carry && sink.addLine(carry, true) === 'whole-file') wholeFile = true;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${path}: ${describeIoError(err, encoding)}`);
  } finally {
    raw.destroy();
  }
  if (wholeFile) {
    raw.destroy();
    sink.addWholeFile(readWhole(path, size, encoding));
  }
  sink.stats.bytes = size;
  progress.done(size, sink.spans.length);
  sink.finish();
  return { spans: sink.spans, stats: sink.stats };
}

/** Parses OTLP/JSON lines from memory (tests, small inputs). */
export function parseTraceText(text: string, name = '<text>', opts: ReadOptions = {}): ReadResult {
  const sink = new SpanSink(name, opts);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const last = i === lines.length - 1;
    if (last && lines[i] === '') break;
    if (sink.addLine(Buffer.from(lines[i]!), last) === 'whole-file') {
      sink.addWholeFile(text);
      break;
    }
  }
  sink.finish();
  return { spans: sink.spans, stats: sink.stats };
}

function fileSize(path: string): number {
  try {
    const st = statSync(path);
    if (st.isDirectory())
      throw new CliError(`${path} is a directory; give the trace file itself (one JSON export request per line)`);
    return st.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new CliError(`cannot read ${path}: no such file. Record one with:\n  ${HOW_TO_RECORD}`);
    if (code === 'EACCES') throw new CliError(`cannot read ${path}: permission denied`);
    throw new CliError(`cannot read ${path}: ${messageOf(err)}`);
  }
}

type Encoding = 'plain' | 'gzip' | 'zstd';

/** The Collector's file exporter can compress its output; gzip files come from `gzip` itself. */
function sniffEncoding(path: string): Encoding {
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (n === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'plain';
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${messageOf(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

type ZstdZlib = typeof zlib & {
  createZstdDecompress?: () => NodeJS.ReadWriteStream;
  zstdDecompressSync?: (b: Buffer) => Buffer;
};

function decompress(raw: Readable, encoding: Encoding, path: string): Readable {
  if (encoding === 'plain') return raw;
  let stream: NodeJS.ReadWriteStream;
  if (encoding === 'gzip') stream = zlib.createGunzip();
  else {
    const z = zlib as ZstdZlib;
    if (!z.createZstdDecompress) {
      throw new CliError(
        `${path} is zstd-compressed and this Node (${process.version}) cannot decompress zstd; run \`zstd -d ${path}\` first`,
      );
    }
    stream = z.createZstdDecompress();
  }
  raw.on('error', (err) => (stream as unknown as Readable).destroy(err));
  return raw.pipe(stream) as unknown as Readable;
}

function readWhole(path: string, size: number, encoding: Encoding): string {
  if (size > WHOLE_FILE_LIMIT) {
    throw new CliError(
      `${path} is one JSON document spread over many lines and too large to read whole; write it one request per line`,
    );
  }
  const buf = readFileSync(path);
  if (encoding === 'gzip') return zlib.gunzipSync(buf).toString('utf8');
  if (encoding === 'zstd') return (zlib as ZstdZlib).zstdDecompressSync!(buf).toString('utf8');
  return buf.toString('utf8');
}

function describeIoError(err: unknown, encoding: Encoding): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (encoding !== 'plain' && typeof code === 'string' && code.startsWith('Z_'))
    return `the ${encoding} data is corrupt or truncated (${messageOf(err)})`;
  return messageOf(err);
}

// ---- normalisation ----

type Obj = Record<string, unknown>;

const snakeCache = new Map<string, string>();
/** A field by its OTLP/JSON (camelCase) name, or the snake_case name protobuf JSON parsers also accept. */
function pick(o: Obj, camel: string): unknown {
  const v = o[camel];
  if (v !== undefined) return v;
  let snake = snakeCache.get(camel);
  if (snake === undefined) {
    snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeCache.set(camel, snake);
  }
  return o[snake];
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const HEX = /^[0-9a-f]+$/i;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * A trace or span id as lower-case hex. OTLP/JSON says hex; protobuf's canonical JSON mapping writes bytes as
 * base64, and some writers emit byte arrays. undefined: absent or all zeros; null: present but unusable.
 */
export function normId(v: unknown, bytes: 8 | 16): string | undefined | null {
  let hex: string;
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    if (v.length === bytes * 2 && HEX.test(v)) hex = v.toLowerCase();
    else if (BASE64.test(v)) {
      const buf = Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
      if (buf.length !== bytes) return null;
      hex = buf.toString('hex');
    } else return null;
  } else {
    const data = Array.isArray(v) ? v : isObj(v) && v.type === 'Buffer' ? v.data : undefined;
    if (!Array.isArray(data) || data.length !== bytes || !data.every((b) => Number.isInteger(b) && b >= 0 && b < 256))
      return null;
    hex = Buffer.from(data as number[]).toString('hex');
  }
  return /^0+$/.test(hex) ? undefined : hex;
}

/** Unix nanoseconds from a decimal string, a number, or a protobufjs Long ({low, high}). */
export function normNanos(v: unknown): bigint | undefined {
  if (typeof v === 'string') return /^\d+$/.test(v) ? BigInt(v) : undefined;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? BigInt(Math.round(v)) : undefined;
  if (typeof v === 'bigint') return v;
  if (isObj(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  }
  return undefined;
}

const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

/** An enum given as a number, a numeric string, or a name with or without its prefix (SPAN_KIND_SERVER, SERVER). */
function normEnum(v: unknown, names: readonly string[], prefix: string): number {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v < names.length ? v : 0;
  if (typeof v !== 'string') return 0;
  if (/^\d+$/.test(v)) return normEnum(Number(v), names, prefix);
  const name = v.toUpperCase().replace(prefix, '');
  const i = names.indexOf(name);
  return Math.max(i, 0);
}

export function normKind(v: unknown): number {
  return normEnum(v, KIND_NAMES, 'SPAN_KIND_');
}

export function normStatusCode(v: unknown): number {
  return normEnum(v, STATUS_NAMES, 'STATUS_CODE_');
}

/** An OTLP AnyValue as a plain value; plain JSON values (from other writers) pass through. */
export function normAnyValue(v: unknown): AttrValue {
  if (!isObj(v)) return Array.isArray(v) ? v.map(normAnyValue) : ((v as AttrValue | undefined) ?? null);
  const s = pick(v, 'stringValue');
  if (s !== undefined) return typeof s === 'string' ? s : String(s);
  const b = pick(v, 'boolValue');
  if (b !== undefined) return b === true || b === 'true';
  const i = pick(v, 'intValue');
  if (i !== undefined) {
    if (typeof i === 'number') return i;
    const text = String(i);
    const n = Number(text);
    // int64 beyond 2^53 stays a decimal string rather than silently losing digits.
    return /^-?\d+$/.test(text) && Number.isSafeInteger(n) ? n : text;
  }
  const d = pick(v, 'doubleValue');
  if (d !== undefined) {
    const n = Number(d);
    return typeof d === 'number' ? d : Number.isFinite(n) ? n : String(d);
  }
  const a = pick(v, 'arrayValue');
  if (a !== undefined) return isObj(a) ? arr(a.values).map(normAnyValue) : [];
  const kv = pick(v, 'kvlistValue');
  if (kv !== undefined) return isObj(kv) ? normAttributes(kv.values) : {};
  const bytes = pick(v, 'bytesValue');
  if (bytes !== undefined) return String(bytes);
  return null;
}

/** `[{key, value}]` (OTLP) or a plain `{key: value}` map. */
export function normAttributes(v: unknown): Attrs {
  const out: Attrs = {};
  if (Array.isArray(v)) {
    for (const kv of v) if (isObj(kv) && typeof kv.key === 'string') out[kv.key] = normAnyValue(kv.value);
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = normAnyValue(x);
  }
  return out;
}

function optInt(v: AttrValue | undefined): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

/** Collects the spans of successive lines: validation, de-duplication, resources shared between spans. */
class SpanSink {
  readonly spans: Span[] = [];
  readonly stats: ReadStats = {
    bytes: 0,
    lines: 0,
    requests: 0,
    otherSignals: 0,
    invalidLines: 0,
    duplicateSpans: 0,
    badSpans: 0,
    truncatedLastLine: false,
  };
  private readonly seen = new Set<string>();
  private readonly resources = new Map<string, Resource>();
  private firstContent = true;
  private firstBadSpanLine = 0;
  private firstInvalid = '';

  constructor(
    private readonly name: string,
    private readonly opts: ReadOptions,
  ) {}

  /** Returns 'whole-file' when the input turns out to be one pretty-printed JSON document. */
  addLine(buf: Buffer, last: boolean): 'ok' | 'whole-file' {
    const lineNo = ++this.stats.lines;
    let text = buf.toString('utf8');
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (!text.trim()) return 'ok';
    const first = this.firstContent;
    this.firstContent = false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const trimmed = text.trim();
      if (first && (trimmed === '{' || trimmed === '[' || /^[[{]\s*"?[A-Za-z_]*"?\s*:?\s*[[{]?$/.test(trimmed)))
        return 'whole-file';
      if (last && !first) {
        // A writer killed mid-line leaves a partial last line: everything before it is still good.
        this.stats.truncatedLastLine = true;
        this.opts.warn?.(`${this.name}:${lineNo}: the last line is incomplete (was the writer interrupted?); ignored`);
        return 'ok';
      }
      if (first && (buf.includes(0) || !isLikelyText(buf))) {
        throw new CliError(
          `${this.name} is not a text file. ${FORMAT_HINT} (the Collector's \`format: proto\` files cannot be read).`,
        );
      }
      this.invalid(lineNo, `not JSON (${messageOf(err)})${consoleHint(text)}`);
      return 'ok';
    }
    this.addValue(value, lineNo);
    return 'ok';
  }

  addWholeFile(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (err) {
      throw new CliError(`${this.name}: not JSON (${messageOf(err)})${consoleHint(text)}. ${FORMAT_HINT}.`);
    }
    this.addValue(value, 1);
  }

  private addValue(value: unknown, lineNo: number): void {
    const requests = Array.isArray(value) ? value : [value];
    for (const req of requests) {
      const why = this.addRequest(req, lineNo);
      if (why) {
        this.invalid(lineNo, why);
        return;
      }
    }
  }

  /** Returns why the value is not an OTLP trace request, or '' when it was taken. */
  private addRequest(req: unknown, lineNo: number): string {
    if (!isObj(req))
      return `JSON, but not an OTLP ExportTraceServiceRequest (a ${Array.isArray(req) ? 'list' : typeof req})`;
    const resourceSpans = pick(req, 'resourceSpans');
    if (resourceSpans === undefined) {
      if (['resourceLogs', 'resourceMetrics', 'resourceProfiles'].some((k) => pick(req, k) !== undefined)) {
        this.stats.otherSignals++;
        return '';
      }
      if (Object.keys(req).length === 0) {
        this.stats.requests++;
        return '';
      }
      return `JSON, but not an OTLP ExportTraceServiceRequest: no "resourceSpans"${otherFormat(req)} (keys: ${Object.keys(req).slice(0, 6).join(', ')})`;
    }
    if (!Array.isArray(resourceSpans)) return '"resourceSpans" is not a list';
    this.stats.requests++;
    for (const rs of resourceSpans) {
      if (!isObj(rs)) continue;
      const resource = this.resource(isObj(rs.resource) ? rs.resource : {});
      const scopes = [...arr(pick(rs, 'scopeSpans')), ...arr(pick(rs, 'instrumentationLibrarySpans'))];
      for (const ss of scopes) {
        if (!isObj(ss)) continue;
        const scopeObj = pick(ss, 'scope') ?? pick(ss, 'instrumentationLibrary');
        const scope = isObj(scopeObj) && typeof scopeObj.name === 'string' ? scopeObj.name : '';
        for (const s of arr(ss.spans)) this.addSpan(s, resource, scope, lineNo);
      }
    }
    return '';
  }

  private addSpan(s: unknown, resource: Resource, scope: string, lineNo: number): void {
    if (!isObj(s)) return this.badSpan(lineNo);
    const traceId = normId(pick(s, 'traceId'), 16);
    const spanId = normId(pick(s, 'spanId'), 8);
    const startNs = normNanos(pick(s, 'startTimeUnixNano'));
    if (!traceId || !spanId || startNs === undefined || startNs === 0n) return this.badSpan(lineNo);
    const key = traceId + spanId;
    if (this.seen.has(key)) {
      this.stats.duplicateSpans++;
      return;
    }
    this.seen.add(key);
    const endNs = normNanos(pick(s, 'endTimeUnixNano')) ?? startNs;
    const status = isObj(s.status) ? s.status : {};
    const parent = normId(pick(s, 'parentSpanId'), 8);
    const span: Span = {
      traceId,
      spanId,
      name: typeof s.name === 'string' ? s.name : '',
      kind: normKind(s.kind),
      startNs,
      endNs: endNs < startNs ? startNs : endNs,
      statusCode: normStatusCode(status.code),
      statusMessage: typeof status.message === 'string' ? status.message : '',
      attributes: normAttributes(s.attributes),
      events: arr(s.events).flatMap((e): SpanEvent[] => {
        if (!isObj(e)) return [];
        return [
          {
            timeNs: normNanos(pick(e, 'timeUnixNano')) ?? startNs,
            name: typeof e.name === 'string' ? e.name : '',
            attributes: normAttributes(e.attributes),
          },
        ];
      }),
      links: arr(s.links).flatMap((l): SpanLink[] => {
        if (!isObj(l)) return [];
        const lt = normId(pick(l, 'traceId'), 16);
        const ls = normId(pick(l, 'spanId'), 8);
        return lt && ls ? [{ traceId: lt, spanId: ls, attributes: normAttributes(l.attributes) }] : [];
      }),
      resource,
      scope,
      line: lineNo,
    };
    if (parent) span.parentSpanId = parent;
    this.spans.push(span);
  }

  private resource(r: Obj): Resource {
    const attrsRaw = r.attributes;
    const cacheKey = JSON.stringify(attrsRaw ?? null);
    let res = this.resources.get(cacheKey);
    if (res) return res;
    const attributes = normAttributes(attrsRaw);
    const sn = attributes['service.name'];
    const serviceName = typeof sn === 'string' && sn ? sn : 'unknown_service';
    const pid = optInt(attributes['process.pid']);
    const threadId = optInt(attributes['thread.id']);
    const host = attributes['host.name'] ?? attributes['host.id'] ?? '';
    res = { serviceName, attributes, place: `${serviceName}\u0000${String(host)}\u0000${pid ?? ''}` };
    if (pid !== undefined) res.pid = pid;
    if (threadId !== undefined) res.threadId = threadId;
    this.resources.set(cacheKey, res);
    return res;
  }

  private badSpan(lineNo: number): void {
    this.stats.badSpans++;
    if (!this.firstBadSpanLine) this.firstBadSpanLine = lineNo;
  }

  private invalid(lineNo: number, why: string): void {
    if (!this.opts.skipInvalid) {
      throw new CliError(
        `${this.name}:${lineNo}: ${why}.\n${FORMAT_HINT}; pass --skip-invalid to skip lines like this one.`,
      );
    }
    this.stats.invalidLines++;
    if (!this.firstInvalid) this.firstInvalid = `line ${lineNo}: ${why}`;
  }

  finish(): void {
    const warn = this.opts.warn;
    if (!warn) return;
    const s = this.stats;
    if (s.invalidLines)
      warn(`${this.name}: skipped ${s.invalidLines} invalid line(s); the first: ${this.firstInvalid}`);
    if (s.badSpans)
      warn(
        `${this.name}: skipped ${s.badSpans} span(s) without a valid traceId, spanId or startTimeUnixNano (first on line ${this.firstBadSpanLine})`,
      );
    if (s.duplicateSpans) warn(`${this.name}: ignored ${s.duplicateSpans} duplicate span(s) (same trace and span id)`);
    if (s.otherSignals) warn(`${this.name}: skipped ${s.otherSignals} line(s) of logs/metrics`);
  }
}

/** Names formats people confuse with OTLP/JSON, so the error can say what the file is. */
function otherFormat(o: Obj): string {
  if (Array.isArray(o.traceEvents))
    return '; this is a Chrome trace-event file already: open it in https://ui.perfetto.dev';
  if (Array.isArray(o.data) && o.data.some((d) => isObj(d) && 'traceID' in d))
    return '; this looks like a Jaeger JSON export, not OTLP';
  if ('traceId' in o && 'id' in o) return '; this looks like Zipkin JSON, not OTLP';
  if ('traceId' in o && 'spanId' in o) return '; this is a single span, not an export request';
  return '';
}

/** The console exporter prints spans as JavaScript object literals, not JSON: say so. */
function consoleHint(text: string): string {
  return /^\s*resource: \{|\btraceId: '[0-9a-f]{32}'/m.test(text)
    ? "; this looks like the console exporter's output (TRACES_EXPORTER=console), which is not JSON: record with TRACES_EXPORTER=file"
    : '';
}

function isLikelyText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 4096);
  let control = 0;
  for (const b of sample) if (b < 9 || (b > 13 && b < 32)) control++;
  return control <= sample.length / 100;
}
