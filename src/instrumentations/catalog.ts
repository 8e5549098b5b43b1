// Every instrumentation the agent knows, by the short name OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS use.
// Ours (http, undici, fastify, zeromq) are built in. The others are @opentelemetry/auto-instrumentations-node's, each loaded
// only when the app first requires or imports one of its target modules (src/instrumentations/first-use.ts), so this
// table names those modules statically: test/instrumentations-catalog.test.ts fails when it drifts from the
// instrumentations' own module definitions.

/** Our own instrumentations (they replace auto-instrumentations-node's http and undici; it has no fastify). */
export const BUILT_IN_NAMES = ['http', 'undici', 'fastify', 'zeromq'] as const;

/** Short name → [class exported by @opentelemetry/instrumentation-<name>, modules that trigger its loading]. */
export const CONTRIB: Readonly<Record<string, readonly [exportName: string, modules: readonly string[]]>> = {
  amqplib: ['AmqplibInstrumentation', ['amqplib']],
  'aws-lambda': ['AwsLambdaInstrumentation', []], // its module is the Lambda handler: loaded at start-up in Lambda
  'aws-sdk': [
    'AwsInstrumentation',
    [
      '@aws-sdk/middleware-stack',
      '@smithy/middleware-stack',
      '@smithy/core',
      '@aws-sdk/smithy-client',
      '@smithy/smithy-client',
    ],
  ],
  bunyan: ['BunyanInstrumentation', ['bunyan']],
  'cassandra-driver': ['CassandraDriverInstrumentation', ['cassandra-driver']],
  connect: ['ConnectInstrumentation', ['connect']],
  cucumber: ['CucumberInstrumentation', ['@cucumber/cucumber']],
  dataloader: ['DataloaderInstrumentation', ['dataloader']],
  dns: ['DnsInstrumentation', ['dns', 'dns/promises']],
  express: ['ExpressInstrumentation', ['express']],
  fs: ['FsInstrumentation', ['fs', 'fs/promises']],
  'generic-pool': ['GenericPoolInstrumentation', ['generic-pool']],
  graphql: ['GraphQLInstrumentation', ['graphql']],
  grpc: ['GrpcInstrumentation', ['@grpc/grpc-js']],
  hapi: ['HapiInstrumentation', ['@hapi/hapi']],
  ioredis: ['IORedisInstrumentation', ['ioredis']],
  kafkajs: ['KafkaJsInstrumentation', ['kafkajs']],
  knex: ['KnexInstrumentation', ['knex']],
  koa: ['KoaInstrumentation', ['koa']],
  'lru-memoizer': ['LruMemoizerInstrumentation', ['lru-memoizer']],
  memcached: ['MemcachedInstrumentation', ['memcached']],
  mongodb: ['MongoDBInstrumentation', ['mongodb']],
  mongoose: ['MongooseInstrumentation', ['mongoose']],
  mysql2: ['MySQL2Instrumentation', ['mysql2']],
  mysql: ['MySQLInstrumentation', ['mysql']],
  'nestjs-core': ['NestInstrumentation', ['@nestjs/core']],
  net: ['NetInstrumentation', ['net']],
  openai: ['OpenAIInstrumentation', ['openai']],
  oracledb: ['OracleInstrumentation', ['oracledb']],
  pg: ['PgInstrumentation', ['pg', 'pg-pool']],
  pino: ['PinoInstrumentation', ['pino']],
  redis: ['RedisInstrumentation', ['redis', '@redis/client', '@node-redis/client']],
  restify: ['RestifyInstrumentation', ['restify']],
  router: ['RouterInstrumentation', ['router']],
  'socket.io': ['SocketIoInstrumentation', ['socket.io']],
  tedious: ['TediousInstrumentation', ['tedious']],
  winston: ['WinstonInstrumentation', ['winston']],
};

/** Off unless named in OTEL_NODE_ENABLED_INSTRUMENTATIONS, as in the official register. */
export const OFF_BY_DEFAULT: readonly string[] = ['fs'];

/** auto-instrumentations-node's metrics-only instrumentations: the agent exports no metrics. */
export const METRICS_ONLY: readonly string[] = ['host-metrics', 'runtime-node'];

/** What runs when OTEL_NODE_ENABLED_INSTRUMENTATIONS is not set: the official register's default set, plus ours. */
export const DEFAULT_INSTRUMENTATIONS: readonly string[] = [
  ...BUILT_IN_NAMES,
  ...Object.keys(CONTRIB).filter((name) => !OFF_BY_DEFAULT.includes(name)),
];

const PACKAGE_PREFIX = '@opentelemetry/instrumentation-';

/** `express` and `@opentelemetry/instrumentation-express` both name the express instrumentation. */
export function shortName(name: string): string {
  return name.startsWith(PACKAGE_PREFIX) ? name.slice(PACKAGE_PREFIX.length) : name;
}

export function isKnown(name: string): boolean {
  return (BUILT_IN_NAMES as readonly string[]).includes(name) || Object.hasOwn(CONTRIB, name);
}
