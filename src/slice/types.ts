// Public shapes of the slice API. Type-only: importing this file loads nothing.

/** Epoch nanoseconds. `number` loses sub-microsecond precision at today's epoch; `bigint` is exact. 0 or absent = now. */
export type EpochNs = number | bigint;

/** Request ids are strings; numbers and bigints are accepted and converted with String(). */
export type Rid = string | number | bigint;

/** Attribute values as OpenTelemetry accepts them (bigint is converted to a decimal string). */
export type AttrValue =
  | string
  | number
  | boolean
  | bigint
  | ReadonlyArray<string | number | boolean | null | undefined>;
export type Attrs = Record<string, AttrValue | null | undefined>;

export interface ProcessTracingInitOptions {
  /** Turns tracing on when TRACES_ENABLE is not set. */
  enable?: boolean;
  /** service.name when neither FD_SERVICE_NAME nor OTEL_SERVICE_NAME is set. */
  serviceName?: string;
  /** OTLP endpoint when no endpoint variable is set (EXPORTER_OTLP_ENDPOINT is filled in). */
  endpoint?: string;
}

export interface ReqStartOptions {
  /** The `Bootstrap Room <hex>` span above the request root (number, bigint, or a decimal / 0x-hex string); default 0. */
  bootstrapRoom?: number | bigint | string;
  ts?: EpochNs;
  /** Shown in the root span name: `"<role> Req <rid prefix>"`. */
  role?: string;
}

export interface ReqFinishOptions {
  ts?: EpochNs;
  /** Set on the request root span (in a process that only received the context: on its thread spans). */
  attrs?: Attrs;
}

export interface SliceStartOptions {
  ts?: EpochNs;
  /** The name is given at traceSliceEnd. */
  anonymous?: boolean;
}

export interface SliceEndOptions {
  ts?: EpochNs;
  attrs?: Attrs;
  /** Starts the next anonymous slice at the same instant. */
  autoNextAnon?: boolean;
  /** Ends this thread's span for the request. */
  threadFinishFlag?: boolean;
}

export interface EventOptions {
  ts?: EpochNs;
  attrs?: Attrs;
}

export interface ReportSpanOptions {
  attrs?: Attrs;
  threadFinishFlag?: boolean;
}

export interface SetPropagateOptions {
  /** Start time of this thread's span for the request. */
  ts?: EpochNs;
}

export interface BatchOptions {
  /** One instant for the whole batch. */
  ts?: EpochNs;
  attrs?: Attrs;
}

/**
 * A request in a batch: its rid, or an object with `rid` and `finished` (a boolean or a method, like SGLang's
 * `req.finished()`).
 */
export type BatchReq = Rid | { rid: Rid; finished?: boolean | (() => boolean) };

/**
 * What `traceGetProcPropagateContext` returns, for `traceSetProcPropagateContext` in another process or thread:
 * SGLang's and FastDeploy's dict, so that an unmodified Python worker's `trace_set_proc_propagate_context` continues
 * the trace, plus the same in this agent's form.
 * - `root_span`: the W3C carrier of the request's root span (`traceparent`, maybe `tracestate` / `baggage`);
 * - `prev_span`: the slice the receiver's first top-level slice links to, as Python's OpenTelemetry integers
 *   (bigints here: a 128-bit trace id and a 64-bit span id), or the string "None";
 * - `root`, `prev`: the same as the carrier and hex strings.
 * `JSON.stringify` writes the integer ids as exact JSON integers (a Python `json.loads` reads them as ints).
 */
export interface TracePropagateContext {
  root_span: Record<string, string>;
  prev_span: { trace_id: bigint; span_id: bigint } | 'None';
  root: Record<string, string>;
  prev?: { traceId: string; spanId: string };
}

export interface TraceInfo {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits: the request root span (or the remote root this process continues). */
  spanId: string;
}
