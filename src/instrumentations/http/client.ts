// CLIENT spans for outgoing http/https requests (http.request, http.get and everything built on them), from
// Node's `http.client.request.created` diagnostics channel, published at the end of the ClientRequest
// constructor: the headers are not sent yet, so `traceparent` is added to them there. No module hook, no
// patched export. The request's own `emit` (and, once it arrives, the response's) runs listeners in the caller's
// context — a pooled keep-alive socket would otherwise run them in whatever context opened it — and ends the span
// on the response's end, an error, or the request closing without a response, as instrumentation-http does.
//
// One difference from patching http.request: DNS lookups and TCP connects started inside the constructor are
// children of the caller's span rather than of the client span (they start before the channel is published).

import type { ClientRequest, IncomingMessage } from 'node:http';
import { type Context, propagation, type Span, SpanKind, SpanStatusCode, type TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { SpanContextLayer } from '../../spans/context-layer.js';
import { ATTR_ERROR_TYPE, clientRequestAttributes, clientResponseAttributes } from './attributes.js';
import { nobodyListens } from './context.js';
import { type HttpTracing, internalError, recordError } from './tracing.js';

type EmitFn = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

const EXCHANGE = Symbol('@x/trace-agent.http.client-exchange');

type Traced<T> = T & { [EXCHANGE]?: ClientExchange };

class ClientExchange {
  done = false;
  requestEmit: EmitFn | undefined;
  responseEmit: EmitFn | undefined;
  constructor(
    readonly tracing: HttpTracing,
    readonly span: Span,
    /** The caller's context: the request's and the response's listeners run in it. */
    readonly parent: Context,
  ) {}

  response(response: Traced<IncomingMessage>): void {
    if (this.span.isRecording()) this.span.setAttributes(clientResponseAttributes(response));
    if (response[EXCHANGE] !== undefined) return;
    response[EXCHANGE] = this;
    this.responseEmit = response.emit as EmitFn;
    response.emit = tracedResponseEmit as typeof response.emit;
  }

  /** The response body ended (or the response was aborted). */
  end(response: IncomingMessage): void {
    if (this.done) return;
    this.done = true;
    const span = this.span;
    try {
      if (span.isRecording()) {
        const status = response.statusCode;
        if (response.aborted && !response.complete) span.setStatus({ code: SpanStatusCode.ERROR });
        else {
          if (!(status !== undefined && status >= 100 && status < 400)) span.setStatus({ code: SpanStatusCode.ERROR });
          if (status !== undefined && status >= 400 && status < 600) span.setAttribute(ATTR_ERROR_TYPE, String(status));
        }
      }
    } finally {
      span.end();
    }
  }

  /** The request closed: ends a span no response ended (instrumentation-http leaves an aborted one open). */
  close(request: ClientRequest): void {
    if (this.done || request.aborted) return;
    this.done = true;
    this.span.end();
  }

  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    try {
      recordError(this.span, err);
    } finally {
      this.span.end();
    }
  }
}

const HEADER_SETTER: TextMapSetter<ClientRequest> = {
  set: (request, key, value) => {
    request.setHeader(key, value);
  },
};

/** Subscriber of `http.client.request.created`; never throws (a throwing subscriber would crash the app). */
export function clientRequestCreated(tracing: HttpTracing): (message: unknown) => void {
  return (message) => {
    try {
      start(tracing, (message as { request?: Traced<ClientRequest> }).request);
    } catch (err) {
      internalError(tracing, 'http client span not started', err);
    }
  };
}

function start(tracing: HttpTracing, request: Traced<ClientRequest> | undefined): void {
  if (!request || request[EXCHANGE] !== undefined) return;
  const parent = tracing.runner.active();
  // Exporters send with tracing suppressed: their own requests are neither traced nor given a traceparent.
  if (isTracingSuppressed(parent)) return;
  const span = tracing.startSpan(tracing.tracer, request.method || 'GET', SpanKind.CLIENT, parent);
  if (span.isRecording()) span.setAttributes(clientRequestAttributes(request));
  // Headers given as an array, or `Expect: 100-continue`, are already rendered: nothing can be added to them.
  if (!request.headersSent) propagation.inject(new SpanContextLayer(parent, span, undefined), request, HEADER_SETTER);
  const exchange = new ClientExchange(tracing, span, parent);
  exchange.requestEmit = request.emit as EmitFn;
  request[EXCHANGE] = exchange;
  request.emit = tracedRequestEmit as typeof request.emit;
}

function tracedRequestEmit(this: Traced<ClientRequest>, event: string | symbol, arg?: unknown): boolean {
  const exchange = this[EXCHANGE]!;
  const original = exchange.requestEmit!;
  // Handled before the app's listeners run, as instrumentation-http's (prepended / added first) were.
  try {
    if (event === 'response') exchange.response(arg as Traced<IncomingMessage>);
    else if (event === 'close') exchange.close(this);
    else if (event === 'error') exchange.fail(arg);
  } catch (err) {
    internalError(exchange.tracing, 'http client span', err);
  }
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  if (nobodyListens(this, event)) return Reflect.apply(original, this, arguments) as boolean;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  return exchange.tracing.runner.run(exchange.parent, original as never, this, arguments) as boolean;
}

function tracedResponseEmit(this: Traced<IncomingMessage>, event: string | symbol, arg?: unknown): boolean {
  const exchange = this[EXCHANGE]!;
  const original = exchange.responseEmit!;
  try {
    if (event === 'end') exchange.end(this);
    else if (event === 'error') exchange.fail(arg);
  } catch (err) {
    internalError(exchange.tracing, 'http client span', err);
  }
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  if (nobodyListens(this, event)) return Reflect.apply(original, this, arguments) as boolean;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  return exchange.tracing.runner.run(exchange.parent, original as never, this, arguments) as boolean;
}
