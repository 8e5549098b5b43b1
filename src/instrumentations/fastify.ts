// Fastify's route on the HTTP server span (`GET /users/:id`, `http.route`). Fastify (>= 5) publishes each request's
// route on its own `tracing:fastify.request.handler` channel, inside the request's context, so no module hook is
// needed and the route survives bundling (require and import hooks see nothing inside a bundle). The official
// register has no Fastify instrumentation (its spans are `GET` alone). The route goes where a framework
// instrumentation puts it for instrumentation-http: the request's RPC metadata, which the server span reads at
// its end (src/instrumentations/http/server.ts).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { context, type TracerProvider } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { SwitchableInstrumentation } from './switchable.js';

const HANDLER_START = 'tracing:fastify.request.handler:start';

interface HandlerStore {
  route?: { url?: unknown };
}

class FastifyRouteInstrumentation extends SwitchableInstrumentation {
  readonly instrumentationName = '@x/trace-agent/fastify';
  readonly instrumentationVersion = '';

  private readonly onHandler = (message: unknown): void => {
    const url = (message as HandlerStore | undefined)?.route?.url;
    const rpc = getRPCMetadata(context.active());
    if (rpc && typeof url === 'string') rpc.route = url;
  };

  setTracerProvider(_provider: TracerProvider): void {
    // makes no spans of its own
  }

  protected start(): void {
    subscribe(HANDLER_START, this.onHandler);
  }

  protected stop(): void {
    unsubscribe(HANDLER_START, this.onHandler);
  }
}

export function createFastifyInstrumentation(): Instrumentation {
  return new FastifyRouteInstrumentation();
}
