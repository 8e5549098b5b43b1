// The default set is the official register's, each instrumentation loaded when the app first requires or imports
// its module (src/instrumentations/first-use.ts): proven on real apps under `node --import @x/trace-agent`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';
import { ancestorsOf } from './helpers/trace-shape.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});
const SERVER = 2;
const off = { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none' };

describe.each(['cjs', 'mjs'])('first use (%s)', (ext) => {
  it("an instrumentation's package is loaded only when its module is, and patches that first load", async () => {
    const run = await runApp(`first-use.${ext}`, { env: off });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({
      before: { express: false, pg: false, hooked: false }, // nor zeromq's hook: zeromq is not loaded either
      afterHttp: { express: false, pg: false, hooked: false },
      after: { express: true, pg: false, hooked: true },
      patched: true,
      copies: [], // the instrumentations got the agent's api, core and instrumentation
      bundled: true, // one file (scripts/bundle.mjs)...
      semconvIndex: false, // ...with only the semantic-conventions constants it uses
    });
  });

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=express: never loaded, express unpatched', async () => {
    const env = { ...off, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'express' };
    const run = await runApp(`first-use.${ext}`, { env });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toMatchObject({ after: { express: false }, patched: false });
  });

  it('Express 5 with the default set: the server span is named by its route, handler spans are its children', async () => {
    const service = `express-${ext}`;
    const run = await runApp(`express-app.${ext}`, { env: agentEnv(receiver, service) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stdout.at(-1)).toBe('{"id":"7"}');
    const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(server!.name).toBe('GET /users/:id');
    expect(server!.attributes['http.route']).toBe('/users/:id');
    // As under the official register: server → middleware (router) → request handler (express) → route handler.
    const trace = await receiver.waitForSpans({ where: (s) => s.traceId === server!.traceId, count: 4 });
    const handler = trace.find((s) => s.name === 'request handler - /users/:id');
    expect(handler?.scope.name).toBe('@opentelemetry/instrumentation-router');
    expect(handler?.attributes['http.route']).toBe('/users/:id');
    expect(
      [handler!, ...ancestorsOf(trace, handler!)].map(
        (s) => `${s.scope.name.replace('@opentelemetry/instrumentation-', '')}:${s.name}`,
      ),
    ).toEqual([
      'router:request handler - /users/:id',
      'express:request handler',
      'router:middleware - patched',
      'http:GET /users/:id',
      'undici:GET', // the app's own fetch
    ]);
  });
});

describe('names and failures', () => {
  it('OTEL_NODE_ENABLED_INSTRUMENTATIONS takes the package form; unknown and metrics-only names: one warning each', async () => {
    const service = 'enabled-package-names';
    const run = await runApp('express-app.cjs', {
      env: agentEnv(receiver, service, {
        OTEL_NODE_ENABLED_INSTRUMENTATIONS:
          'http,@opentelemetry/instrumentation-express,no-such-thing,@opentelemetry/instrumentation-runtime-node',
      }),
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(server!.name).toBe('GET /users/:id'); // express patches the router (router itself is not enabled)
    const warnings = run.stderr.filter((l) => l.includes(' warn: '));
    expect(warnings.filter((l) => l.includes('"no-such-thing"'))).toHaveLength(1);
    expect(warnings.filter((l) => l.includes('runtime-node') && l.includes('metrics only'))).toHaveLength(1);
    expect(warnings).toHaveLength(2);
  });

  describe('a library shaped unlike what its instrumentation expects', () => {
    let dir: string;
    beforeAll(() => {
      // A package named express whose exports make the express instrumentation's patch throw (no Router).
      dir = mkdtempSync(join(tmpdir(), 'trace-agent-odd-express-'));
      mkdirSync(join(dir, 'node_modules', 'express'), { recursive: true });
      writeFileSync(
        join(dir, 'node_modules', 'express', 'package.json'),
        JSON.stringify({ name: 'express', version: '5.0.0', main: 'index.js' }),
      );
      writeFileSync(
        join(dir, 'node_modules', 'express', 'index.js'),
        'module.exports = { application: { use() {} }, odd: true };\n',
      );
      writeFileSync(
        join(dir, 'app.cjs'),
        "const express = require('express');\nconsole.log(JSON.stringify({ odd: express.odd, more: require('express') === express }));\n",
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('its patch throws: one warning naming it, the app gets the module and runs on', async () => {
      const run = await runApp(join(dir, 'app.cjs'), { env: off });
      expect(run.code, run.stderr.join('\n')).toBe(0);
      expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ odd: true, more: true });
      const warnings = run.stderr.filter((l) => l.includes(' warn: '));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/instrumentation "express" failed to patch express, not traced/);
    });
  });
});
