// Web frameworks under the default set, each as CommonJS and as an ES module, and bundled with esbuild: the server
// span carries the route where the framework's instrumentation (Koa, Express, NestJS) or its own diagnostics channel
// (Fastify) supplies it; Koa's and NestJS's spans are the official register's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { FIXTURES, runApp } from './helpers/run-app.js';
import { ancestorsOf, OFFICIAL_REGISTER_ARGS, officialRegisterEnv, traceShape } from './helpers/trace-shape.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});
const SERVER = 2;

async function serverSpan(script: string, args: string[], service: string, env: Record<string, string> = {}) {
  const run = await runApp(script, { args, env: { ...agentEnv(receiver, service), ...env } });
  expect(run.code, run.stderr.join('\n')).toBe(0);
  expect(run.stdout.at(-1)).toBe('{"id":"7"}');
  const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
  return server!;
}

describe.each(['cjs', 'mjs'])('frameworks (%s)', (ext) => {
  it('Fastify: the server span is named by its route, from Fastify’s own diagnostics channel', async () => {
    const server = await serverSpan(`frameworks.${ext}`, ['fastify'], `fastify-${ext}`);
    expect(server.name).toBe('GET /users/:id');
    expect(server.attributes['http.route']).toBe('/users/:id');
  });

  it('control: OTEL_NODE_DISABLED_INSTRUMENTATIONS=fastify leaves the span named by its method', async () => {
    const server = await serverSpan(`frameworks.${ext}`, ['fastify'], `fastify-off-${ext}`, {
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fastify',
    });
    expect(server.name).toBe('GET');
    expect(server.attributes['http.route']).toBeUndefined();
  });

  it('Koa with @koa/router: the route on the server span and a router span below it', async () => {
    const service = `koa-${ext}`;
    const server = await serverSpan(`frameworks.${ext}`, ['koa'], service);
    expect(server.name).toBe('GET /users/:id');
    const [router] = await receiver.waitForSpans((s) => byService(service)(s) && s.parentSpanId === server.spanId);
    expect([router!.scope.name, router!.name, router!.attributes['http.route']]).toEqual([
      '@opentelemetry/instrumentation-koa',
      'router - /users/:id',
      '/users/:id',
    ]);
  });
});

describe('Koa under the official register', () => {
  it('the same span names, kinds, scopes, parentage and attributes (values too; ports aside)', async () => {
    const app = ['frameworks.cjs', 'koa'];
    const ours = await labelled(app, 'koa-parity-ours', agentEnv(receiver, 'koa-parity-ours'), 3);
    const official = await labelled(
      app,
      'koa-parity-official',
      officialRegisterEnv(receiver, 'koa-parity-official'),
      3,
      OFFICIAL_REGISTER_ARGS,
    );
    expect(ours).toEqual(official);
    expect(ours.length).toBe(3); // fetch → server → router
  });
});

/** The shape of the trace of the app's one request (see trace-shape.ts), once `count` spans of it arrived. */
async function labelled(
  app: string[],
  service: string,
  env: Record<string, string>,
  count: number,
  nodeArgs?: string[],
) {
  const [script = '', ...args] = app;
  const run = await runApp(script, { args, env, ...(nodeArgs ? { nodeArgs } : {}) });
  expect(run.code, run.stderr.join('\n')).toBe(0);
  const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
  return traceShape(await receiver.waitForSpans({ where: (s) => s.traceId === server!.traceId, count }));
}

describe.each(['cjs', 'mjs'])('NestJS 11 on its Express platform (%s)', (ext) => {
  it('the server span is named by the route, with the controller method span below it', async () => {
    const service = `nest-${ext}`;
    const server = await serverSpan(`nest-app.${ext}`, [], service);
    expect(server.name).toBe('GET /users/:id');
    const trace = await receiver.waitForSpans({ where: (s) => s.traceId === server.traceId, count: 13 });
    const handler = trace.find((s) => s.name === 'UsersController.find');
    expect(handler?.scope.name).toBe('@opentelemetry/instrumentation-nestjs-core');
    expect(handler?.attributes['http.route']).toBe('/users/:id');
    expect(ancestorsOf(trace, handler!)).toContain(server);
    const [created] = await receiver.waitForSpans((s) => byService(service)(s) && s.name === 'Create Nest App');
    expect(created?.parentSpanId).toBeFalsy();
  });
});

describe('NestJS under the official register', () => {
  it('the same span names, kinds, scopes, parentage and attributes (values too; ports aside)', async () => {
    const app = ['nest-app.cjs'];
    const ours = await labelled(app, 'nest-parity-ours', agentEnv(receiver, 'nest-parity-ours'), 13);
    const official = await labelled(
      app,
      'nest-parity-official',
      officialRegisterEnv(receiver, 'nest-parity-official'),
      13,
      OFFICIAL_REGISTER_ARGS,
    );
    expect(ours).toEqual(official);
  });
});

describe('bundled with esbuild (require and import hooks see nothing inside a bundle)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trace-agent-bundled-'));
    for (const [entry, out] of [
      ['frameworks.cjs', 'frameworks.bundle.cjs'],
      ['express-app.cjs', 'express.bundle.cjs'],
    ] as const)
      await build({
        entryPoints: [join(FIXTURES, entry)],
        outfile: join(dir, out),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        logLevel: 'error',
      });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Fastify keeps its route: it comes from a diagnostics channel, not a module hook', async () => {
    const server = await serverSpan(join(dir, 'frameworks.bundle.cjs'), ['fastify'], 'fastify-bundled');
    expect(server.name).toBe('GET /users/:id');
  });

  it('Express keeps its HTTP server and fetch spans, and loses its route and handler spans', async () => {
    const service = 'express-bundled';
    const server = await serverSpan(join(dir, 'express.bundle.cjs'), [], service);
    expect(server.name).toBe('GET');
    const trace = await receiver.waitForSpans({ where: (s) => s.traceId === server.traceId, count: 2 });
    expect(trace.map((s) => s.scope.name).sort()).toEqual([
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-undici',
    ]);
  });
});
