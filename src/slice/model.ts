// The three-level state SGLang and FastDeploy keep per request, per thread and per slice. Type-only.
import type { Attributes, Context, Span, SpanContext } from '@opentelemetry/api';

/** One logical thread: a worker_thread, or a label set with traceSetThreadInfo on the current JS thread. */
export interface ThreadInfo {
  label: string;
  tpRank?: number;
  dpRank?: number;
  spanName: string;
  attrs: Attributes;
}

export interface SliceRec {
  name: string;
  anonymous: boolean;
  span: Span;
  /** The non-slice context that was active where the slice started (an HTTP server span, a message context…). */
  base: Context;
  /** base with this slice's span set: what the async scope sees while the slice is open. */
  live: Context;
  /** The enclosing open slice on the same thread, if nested. */
  parent: SliceRec | undefined;
  ended: boolean;
}

export interface ThreadCtx {
  info: ThreadInfo;
  span: Span;
  ctx: Context;
  /** Open slices, outermost first. */
  stack: SliceRec[];
  /** The last ended top-level slice: the next top-level slice links to it. */
  last: SpanContext | undefined;
}

export interface ReqCtx {
  rid: string;
  /** This process only continues a request started elsewhere: it owns thread spans, not the root. */
  copy: boolean;
  /** performance.now() at creation, for the TTL. */
  born: number;
  root: Span | undefined;
  room: Span | undefined;
  rootCtx: Context;
  threads: Map<ThreadInfo, ThreadCtx>;
  /** The last ended top-level slice of this request in this process, on any thread. */
  lastTop: SpanContext | undefined;
}
