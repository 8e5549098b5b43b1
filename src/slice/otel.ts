// The only door to @opentelemetry/*: required on the first call made while tracing is on, so the off path never
// loads it. Everything else in src/slice imports OpenTelemetry as types only.
import type * as OtelApi from '@opentelemetry/api';
import type { Context, Tracer } from '@opentelemetry/api';
import { agentState } from '../state.js';
import type { SliceRec } from './model.js';

export type Api = typeof OtelApi;

const TRACER_NAME = '@x/trace-agent';
/** Marks the contexts that belong to open (or ended) slices. */
export const SLICE_KEY: symbol = Symbol.for('@x/trace-agent.slice');

let api: Api | undefined;
let tracer: Tracer | undefined;

export function otel(): Api {
  if (api === undefined) {
    // The agent's own copy (bundled with its SDK) when it offers one: no second load of the API (~20 ms).
    // Either copy works: the API keeps its globals (provider, context manager, propagator) under one symbol.
    const fromAgent = (agentState() as { otelApi?: Api }).otelApi;
    api = fromAgent ?? (require('@opentelemetry/api') as Api);
  }
  return api;
}

export function sliceTracer(): Tracer {
  if (tracer === undefined) tracer = otel().trace.getTracer(TRACER_NAME);
  return tracer;
}

/**
 * The context a slice makes active in its async scope. It is a live view: while the slice is open it carries the
 * slice span (so HTTP / ZeroMQ spans made there become its children); once the slice has ended it reads as the
 * enclosing open slice, or as the context the slice was started in. So a scope that still holds it after the end
 * (the continuation of a callback, a timer scheduled inside the slice) never parents new spans to an ended slice,
 * and no chain of old slices is kept alive.
 */
export class SliceContext implements Context {
  constructor(private readonly rec: SliceRec) {}

  getValue(key: symbol): unknown {
    return key === SLICE_KEY ? this.rec : current(this.rec).getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return current(this.rec).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return current(this.rec).deleteValue(key);
  }
}

function current(rec: SliceRec): Context {
  for (let r: SliceRec | undefined = rec; r !== undefined; r = r.parent) {
    if (!r.ended) return r.live;
  }
  return rec.base;
}

/** The context with any slice context peeled off: what the application itself had active. */
export function foreignContext(ctx: Context): Context {
  const rec = ctx.getValue(SLICE_KEY) as SliceRec | undefined;
  return rec === undefined ? ctx : rec.base;
}
