// What the http server and client halves share: the tracer, the context runner, diagnostics, error recording.
import { type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Diag } from '../../diag.js';
import type { StartSpan } from '../../spans/span-start.js';
import { ATTR_ERROR_TYPE } from './attributes.js';
import type { ContextRunner } from './context.js';

export interface HttpTracing {
  tracer: Tracer;
  startSpan: StartSpan;
  runner: ContextRunner;
  diag: Pick<Diag, 'warn' | 'debug'>;
  /** Header names the global propagator reads, lower-case; learnt on the first request. */
  propagationFields?: string[];
}

/** error.type, an ERROR status with the message, and the exception event: instrumentation-http's setSpanWithError. */
export function recordError(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.setAttribute(ATTR_ERROR_TYPE, error.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.recordException(error);
}

/**
 * An error inside the instrumentation itself (never the app's): the span is skipped and the app goes on as without
 * the agent. One warning per place (the agent's diagnostics print a repeated line once), each error at debug level.
 */
export function internalError(tracing: HttpTracing, where: string, err: unknown): void {
  tracing.diag.warn(
    `${where}: an internal error was caught, the span is skipped; the app is unaffected (OTEL_LOG_LEVEL=debug shows each)`,
  );
  tracing.diag.debug(`${where}: ${String(err)}`);
}
