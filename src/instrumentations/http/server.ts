// SERVER spans for incoming http/https requests, from Node's `http.server.request.start` diagnostics channel.
//
// The channel is published inside Node's request handling, right before `server.emit('request', req, res)`, for
// http and https servers alike, whether the app loaded `http` through require or import: no module hook, no
// patched export. Three own `emit` methods do the rest, without a listener or closure per request:
//  - the server's (installed on the first request it sees): runs the app's request handler with the span active;
//  - the request's and the response's: run their listeners with the span active (what instrumentation-http does
//    with context.bind(ctx, emitter)), and end the span when the response closes or fails.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type RPCMetadata, RPCType } from '@opentelemetry/core';
import { SpanContextLayer } from '../../spans/context-layer.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  serverRequestAttributes,
} from './attributes.js';
import { nobodyListens } from './context.js';
import { type HttpTracing, internalError, recordError } from './tracing.js';

type EmitFn = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

const EXCHANGE = Symbol('@x/trace-agent.http.server-exchange');
const SERVER_EMIT = Symbol('@x/trace-agent.http.server-emit');

/** One incoming request: its span, the context the app runs in, and the emitters' own emit methods. */
class ServerExchange {
  ended = false;
  requestEmit: EmitFn | undefined;
  responseEmit: EmitFn | undefined;
  constructor(
    readonly tracing: HttpTracing,
    readonly span: Span,
    readonly ctx: Context,
    readonly rpc: RPCMetadata,
    readonly method: string,
  ) {}

  /** The response is closed (sent, or the connection went away): status, route, end. */
  finish(response: ServerResponse): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    try {
      if (span.isRecording()) {
        const status = response.statusCode;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        const route = this.rpc.route; // set by a framework instrumentation (express, …) during the request
        if (route !== undefined) {
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          if (route) span.updateName(`${this.method} ${route}`);
        }
        if (!(status >= 100 && status < 500)) span.setStatus({ code: SpanStatusCode.ERROR });
        if (status >= 500 && status < 600) span.setAttribute(ATTR_ERROR_TYPE, String(status));
      }
    } finally {
      span.end();
    }
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    try {
      recordError(this.span, err);
    } finally {
      this.span.end();
    }
  }
}

interface RequestStart {
  request?: IncomingMessage;
  response?: ServerResponse;
  socket?: Socket;
  server?: Server;
}

type Traced<T> = T & { [EXCHANGE]?: ServerExchange; [SERVER_EMIT]?: EmitFn };

/** Subscriber of `http.server.request.start`; never throws (a throwing subscriber would crash the app). */
export function serverRequestStarted(tracing: HttpTracing): (message: unknown) => void {
  return (message) => {
    try {
      start(tracing, message as RequestStart);
    } catch (err) {
      internalError(tracing, 'http server span not started', err);
    }
  };
}

function start(tracing: HttpTracing, { request, response, socket, server }: RequestStart): void {
  const req = request as Traced<IncomingMessage> | undefined;
  const res = response as Traced<ServerResponse> | undefined;
  if (!req || !res || req[EXCHANGE] !== undefined) return;
  const scheme = (socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
  const headers = req.headers;
  const parent = carriesContext(headers, tracing) ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
  const method = req.method || 'GET';
  const span = tracing.startSpan(tracing.tracer, method, SpanKind.SERVER, parent);
  // Our samplers never look at attributes, so a request that is not sampled costs no attribute work at all.
  if (span.isRecording()) span.setAttributes(serverRequestAttributes(req, scheme));
  const rpc: RPCMetadata = { type: RPCType.HTTP, span };
  const exchange = new ServerExchange(tracing, span, new SpanContextLayer(parent, span, rpc), rpc, method);
  exchange.requestEmit = req.emit as EmitFn;
  exchange.responseEmit = res.emit as EmitFn;
  req[EXCHANGE] = exchange;
  res[EXCHANGE] = exchange;
  req.emit = tracedRequestEmit as typeof req.emit;
  res.emit = tracedResponseEmit as typeof res.emit;
  if (server && !Object.hasOwn(server, SERVER_EMIT)) patchServer(server as Traced<Server>);
}

/**
 * Whether a request has any header the configured propagators read (their `fields()`): most requests carry none,
 * and extracting from nothing always yields the context it was given.
 */
function carriesContext(headers: IncomingMessage['headers'], tracing: HttpTracing): boolean {
  const fields = (tracing.propagationFields ??= propagationFields());
  if (fields.length === 0) return true; // a propagator that does not declare its fields: always ask it
  for (let i = 0; i < fields.length; i++) if (headers[fields[i]!] !== undefined) return true;
  return false;
}

/** B3 extracts both its single- and multi-header forms whatever it injects, but declares only the latter. */
const B3_HEADERS = ['b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags', 'x-b3-parentspanid'];

function propagationFields(): string[] {
  const fields = new Set(propagation.fields().map((f) => f.toLowerCase()));
  if (B3_HEADERS.some((h) => fields.has(h))) B3_HEADERS.forEach((h) => fields.add(h));
  return [...fields];
}

/** The server's own emit: `request` (and the Expect: 100-continue events) run with the request's span active. */
function patchServer(server: Traced<Server>): void {
  server[SERVER_EMIT] = server.emit as EmitFn;
  server.emit = tracedServerEmit as typeof server.emit;
}

function tracedServerEmit(this: Traced<Server>, event: string | symbol, request?: unknown): boolean {
  const original = this[SERVER_EMIT]!;
  const exchange =
    event === 'request' || event === 'checkContinue' || event === 'checkExpectation'
      ? (request as Traced<IncomingMessage> | undefined)?.[EXCHANGE]
      : undefined;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  if (exchange === undefined) return Reflect.apply(original, this, arguments) as boolean;
  try {
    // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
    return exchange.tracing.runner.run(exchange.ctx, original as never, this, arguments) as boolean;
  } catch (err) {
    exchange.fail(err); // the handler threw: the span says so, the app sees the same exception
    throw err;
  }
}

function tracedRequestEmit(this: Traced<IncomingMessage>, event: string | symbol): boolean {
  const exchange = this[EXCHANGE]!;
  const original = exchange.requestEmit!;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  if (nobodyListens(this, event)) return Reflect.apply(original, this, arguments) as boolean;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  return exchange.tracing.runner.run(exchange.ctx, original as never, this, arguments) as boolean;
}

function tracedResponseEmit(this: Traced<ServerResponse>, event: string | symbol, arg?: unknown): boolean {
  const exchange = this[EXCHANGE]!;
  const original = exchange.responseEmit!;
  // Ended before the app's own listeners run, as instrumentation-http's listeners (added first) did.
  try {
    if (event === 'close') exchange.finish(this);
    else if (event === 'error') exchange.fail(arg);
  } catch (err) {
    internalError(exchange.tracing, 'http server span not ended', err);
  }
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  if (nobodyListens(this, event)) return Reflect.apply(original, this, arguments) as boolean;
  // biome-ignore lint/complexity/noArguments: hot path, forwards the emit arguments without a rest array
  return exchange.tracing.runner.run(exchange.ctx, original as never, this, arguments) as boolean;
}
