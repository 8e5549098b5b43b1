// Client spans of real database servers (Debian's PostgreSQL, Redis, MariaDB, started by test/helpers/servers.ts)
// under the default set: each query is a child of the request that made it, with the semantic-convention attributes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';
import {
  allAvailable,
  type RealServer,
  serversRequired,
  startMariaDb,
  startPostgres,
  startRedis,
} from './helpers/servers.js';
import { ancestorsOf, OFFICIAL_REGISTER_ARGS, officialRegisterEnv, traceShape } from './helpers/trace-shape.js';

const h = harness();
const SERVER = 2;
const CLIENT = 3;
let receiver: OtlpReceiver;
let servers: { pg: RealServer; redis: RealServer; mariadb: RealServer };
let ports: Record<string, string>;

describe.skipIf(!allAvailable && !serversRequired)('real PostgreSQL, Redis and MariaDB servers', () => {
  beforeAll(async () => {
    receiver = await h.receiver();
    const [pg, redis, mariadb] = await Promise.all([startPostgres(), startRedis(), startMariaDb()]);
    servers = { pg, redis, mariadb };
    ports = { PG_PORT: String(pg.port), REDIS_PORT: String(redis.port), MYSQL_PORT: String(mariadb.port) };
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(servers ?? {}).map((s) => s.stop()));
  }, 30_000);

  it('one Express request: pg, ioredis and mysql2 client spans descend from its server span, with db attributes', async () => {
    const service = 'db-express';
    const run = await runApp('db-app.cjs', { env: agentEnv(receiver, service, ports) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ pg: 7, redis: 'seen', mysql: 8 });
    const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    expect(server!.name).toBe('GET /users/:id');
    const trace = await receiver.waitForSpans({ where: (s) => s.traceId === server!.traceId, count: 9 });
    const clients = trace.filter((s) => s.kind === CLIENT && s.scope.name !== '@opentelemetry/instrumentation-undici');
    const byScope = (name: string) => clients.filter((s) => s.scope.name === `@opentelemetry/instrumentation-${name}`);
    expect(byScope('pg').map((s) => [s.name, s.attributes['db.system.name'], s.attributes['db.query.text']])).toEqual([
      ['pg.query:SELECT postgres', 'postgresql', 'SELECT $1::int AS id'],
    ]);
    expect(
      byScope('ioredis').map((s) => [s.name, s.attributes['db.system.name'], s.attributes['db.query.text']]),
    ).toEqual([
      ['set', 'redis', 'set user:7 [1 other arguments]'],
      ['get', 'redis', 'get user:7'],
    ]);
    expect(
      byScope('mysql2').map((s) => [s.name, s.attributes['db.system.name'], s.attributes['db.query.text']]),
    ).toEqual([['SELECT', 'mysql', 'SELECT 1 + ? AS n']]);
    const port = { pg: servers.pg.port, ioredis: servers.redis.port, mysql2: servers.mariadb.port };
    for (const client of clients) {
      const scope = client.scope.name.replace('@opentelemetry/instrumentation-', '') as keyof typeof port;
      expect(client.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': port[scope] });
      expect(ancestorsOf(trace, client)).toContain(server); // under the request, through the route handler
    }
  });

  it('pg loaded by knex in an ES module app (never imported by the app): knex and pg spans in the request', async () => {
    const service = 'db-knex';
    const run = await runApp('knex-app.mjs', { env: agentEnv(receiver, service, ports) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ four: 4 });
    const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
    // knex asks for the server's version first, in the same request.
    const [pgQuery] = await receiver.waitForSpans(
      (s) =>
        s.traceId === server!.traceId &&
        s.scope.name === '@opentelemetry/instrumentation-pg' &&
        s.attributes['db.query.text'] === 'select 2 + 2 AS four',
    );
    const [knexSpan] = await receiver.waitForSpans(
      (s) =>
        s.traceId === server!.traceId &&
        s.scope.name === '@opentelemetry/instrumentation-knex' &&
        s.spanId === pgQuery!.parentSpanId,
    );
    expect(knexSpan!.attributes['db.system.name']).toBe('postgresql');
    const all = receiver.spans.filter((s) => s.traceId === server!.traceId);
    expect(ancestorsOf(all, pgQuery!)).toContain(knexSpan);
    expect(ancestorsOf(all, knexSpan!)).toContain(server);
  });

  it("the official register's spans for the same request: same names, kinds, scopes, parentage and attributes (values too; ports aside)", async () => {
    const ours = await requestTrace('db-parity-ours', agentEnv(receiver, 'db-parity-ours', ports), undefined);
    const official = await requestTrace(
      'db-parity-official',
      officialRegisterEnv(receiver, 'db-parity-official', ports),
      OFFICIAL_REGISTER_ARGS,
    );
    expect(ours).toEqual(official);
    expect(ours.length).toBeGreaterThanOrEqual(9);
  });
});

/** The request's trace, each span as scope, kind, name, attributes and its parent's scope and name; sorted. */
async function requestTrace(service: string, env: Record<string, string>, nodeArgs: string[] | undefined) {
  const run = await runApp('db-app.cjs', { env, ...(nodeArgs ? { nodeArgs } : {}) });
  expect(run.code, run.stderr.join('\n')).toBe(0);
  const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === SERVER);
  await receiver.waitForSpans({ where: (s) => s.traceId === server!.traceId, count: 9 });
  await new Promise((r) => setTimeout(r, 500)); // anything exported later than the first nine
  return traceShape(receiver.spans.filter((s) => s.traceId === server!.traceId));
}
