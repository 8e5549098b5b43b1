// traceSpan's traced path (FastDeploy's @trace_span): one span per call, active while the function runs, ended
// when it returns or its promise settles; a throw or rejection is recorded and passed on unchanged.
import { types } from 'node:util';
import type { Span } from '@opentelemetry/api';
import { otel, sliceTracer } from './otel.js';
import { describe, warnOnce } from './warn.js';

export function callInSpan(name: string, fn: (...args: unknown[]) => unknown, self: unknown, args: unknown[]): unknown {
  let span: Span;
  let run: () => unknown;
  try {
    const api = otel();
    const active = api.context.active();
    span = sliceTracer().startSpan(name, undefined, active);
    const ctx = api.trace.setSpan(active, span);
    run = () => api.context.with(ctx, fn, self, ...args);
  } catch (err) {
    warnOnce('internal_error', `traceSpan("${name}") could not start a span: ${describe(err)}`);
    return fn.apply(self, args);
  }
  let result: unknown;
  try {
    result = run();
  } catch (err) {
    fail(span, err);
    throw err;
  }
  // Only native promises are observed: calling then() on other thenables can start work (lazy queries).
  if (types.isPromise(result)) {
    // Observe without changing what the caller gets: the original promise is returned untouched.
    result.then(
      () => span.end(),
      (err: unknown) => fail(span, err),
    );
    return result;
  }
  span.end();
  return result;
}

function fail(span: Span, err: unknown): void {
  try {
    const api = otel();
    if (err instanceof Error) span.recordException(err);
    else span.recordException(String(err));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: describe(err) });
    span.end();
  } catch {
    // never let bookkeeping replace the user's error
  }
}
