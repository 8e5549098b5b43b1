// The configuration contract, variable by variable: values, precedence, fallbacks and warnings.
import { describe, expect, it } from 'vitest';
import { type Env, readConfig, tracingRequested } from '../src/config/index.js';

const read = (env: Env, mainScript?: string) => readConfig(env, { cwd: '/nonexistent-dir', mainScript });
const on = (env: Env = {}) => read({ TRACES_ENABLE: 'true', ...env });

describe('TRACES_ENABLE / OTEL_SDK_DISABLED', () => {
  it.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['on', true],
    [' true ', true],
    ['0', false],
    ['false', false],
    ['off', false],
    ['', false],
    [undefined, false],
  ])('TRACES_ENABLE=%j -> %s', (value, expected) => {
    expect(tracingRequested({ TRACES_ENABLE: value })).toBe(expected);
    expect(read({ TRACES_ENABLE: value }).config.enabled).toBe(expected);
  });
  it('OTEL_SDK_DISABLED=true forces tracing off', () => {
    expect(tracingRequested({ TRACES_ENABLE: 'true', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
    expect(on({ OTEL_SDK_DISABLED: 'true' }).config.enabled).toBe(false);
    expect(on({ OTEL_SDK_DISABLED: 'false' }).config.enabled).toBe(true);
  });
  it('a garbage value warns once, naming the variable, and stays off', () => {
    const { config, warnings } = read({ TRACES_ENABLE: 'maybe' });
    expect(config.enabled).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('TRACES_ENABLE')]);
  });
});

describe('Dynamo: OTEL_EXPORT_ENABLED / DYN_LOGGING_JSONL', () => {
  it('OTEL_EXPORT_ENABLED=true turns tracing on with OTLP export (default endpoint localhost:4317, gRPC)', () => {
    expect(tracingRequested({ OTEL_EXPORT_ENABLED: 'true' })).toBe(true);
    const { config, warnings } = read({ OTEL_EXPORT_ENABLED: 'true' });
    expect(warnings).toEqual([]);
    expect(config.enabled).toBe(true);
    expect(config.exporters).toEqual(['otlp']);
    expect(config.otlp).toMatchObject({ protocol: 'grpc', url: 'http://localhost:4317' });
    expect(config.logs.exporters).toEqual(['otlp']);
    expect(config.sources.enabled).toBe('OTEL_EXPORT_ENABLED');
    const tempo = read({ OTEL_EXPORT_ENABLED: 'true', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4317' }).config;
    expect(tempo.otlp.url).toBe('http://tempo:4317');
  });
  it('TRACES_ENABLE, when set, wins; OTEL_SDK_DISABLED=true still forces off', () => {
    for (const env of [
      { TRACES_ENABLE: 'false', OTEL_EXPORT_ENABLED: 'true' },
      { TRACES_ENABLE: 'maybe', OTEL_EXPORT_ENABLED: 'true' },
      { OTEL_SDK_DISABLED: 'true', OTEL_EXPORT_ENABLED: 'true' },
      { OTEL_EXPORT_ENABLED: 'false' },
    ]) {
      expect(tracingRequested(env), JSON.stringify(env)).toBe(false);
      expect(read(env).config.enabled, JSON.stringify(env)).toBe(false);
    }
    // On by TRACES_ENABLE: OTEL_EXPORT_ENABLED=true still asks for OTLP rather than the console.
    expect(on().config.exporters).toEqual(['console']);
    expect(on({ OTEL_EXPORT_ENABLED: 'true' }).config.exporters).toEqual(['otlp']);
    expect(on({ OTEL_EXPORT_ENABLED: 'true', TRACES_EXPORTER: 'file' }).config.exporters).toEqual(['file']);
  });
  it('DYN_LOGGING_JSONL=true selects JSONL console logs unless TRACES_LOG_FORMAT says otherwise', () => {
    expect(on({ DYN_LOGGING_JSONL: 'true' }).config.logs.format).toBe('jsonl');
    expect(on({ DYN_LOGGING_JSONL: 'true' }).config.sources['logs.format']).toBe('DYN_LOGGING_JSONL');
    expect(on({ DYN_LOGGING_JSONL: 'false' }).config.logs.format).toBe('text');
    expect(on({ DYN_LOGGING_JSONL: 'true', TRACES_LOG_FORMAT: 'text' }).config.logs.format).toBe('text');
    const bad = on({ DYN_LOGGING_JSONL: 'sure' });
    expect(bad.config.logs.format).toBe('text');
    expect(bad.warnings).toEqual([expect.stringContaining('DYN_LOGGING_JSONL')]);
  });
});

describe('service.name and host.name', () => {
  it('FD_SERVICE_NAME wins over OTEL_SERVICE_NAME, which wins over OTEL_RESOURCE_ATTRIBUTES', () => {
    const attrs = 'service.name=from-attrs,deployment.environment=prod';
    expect(
      on({ FD_SERVICE_NAME: 'fd', OTEL_SERVICE_NAME: 'otel', OTEL_RESOURCE_ATTRIBUTES: attrs }).config.serviceName,
    ).toBe('fd');
    expect(on({ OTEL_SERVICE_NAME: 'otel', OTEL_RESOURCE_ATTRIBUTES: attrs }).config.serviceName).toBe('otel');
    expect(on({ OTEL_RESOURCE_ATTRIBUTES: attrs }).config.serviceName).toBe('from-attrs');
    expect(on({ OTEL_RESOURCE_ATTRIBUTES: attrs }).config.resourceAttributes['deployment.environment']).toBe('prod');
  });
  it('falls back to the app package.json name, then unknown_service:node', () => {
    // The package.json nearest the main script: this repo's own.
    const app = new URL('./fixtures/http-server.mjs', import.meta.url).pathname;
    expect(read({ TRACES_ENABLE: 'true' }, app).config.serviceName).toBe('@x/trace-agent');
    expect(read({ TRACES_ENABLE: 'true' }, '/nonexistent-dir/app.js').config.serviceName).toBe('unknown_service:node');
    expect(read({ TRACES_ENABLE: 'true' }).config.serviceName).toBe('unknown_service:node');
  });
  it('FD_HOST_NAME sets host.name, else the resource attribute, else the OS hostname', () => {
    expect(on({ FD_HOST_NAME: 'trace_test', OTEL_RESOURCE_ATTRIBUTES: 'host.name=h2' }).config.hostName).toBe(
      'trace_test',
    );
    expect(on({ OTEL_RESOURCE_ATTRIBUTES: 'host.name=h2' }).config.hostName).toBe('h2');
    expect(on().config.hostName.length).toBeGreaterThan(0);
  });
});

describe('exporters', () => {
  it.each([
    [{}, ['console']],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4317' }, ['otlp']],
    [{ EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }, ['otlp']],
    [{ TRACES_EXPORTER: 'file,console' }, ['file', 'console']],
    [{ TRACES_EXPORTER: 'none' }, []],
    [{ TRACES_EXPORTER: 'OTLP' }, ['otlp']],
    [{ TRACES_EXPORTER: 'console', OTEL_TRACES_EXPORTER: 'otlp' }, ['console']],
    [{ OTEL_TRACES_EXPORTER: 'file' }, ['file']],
  ])('%j -> %j', (env, expected) => {
    expect(on(env as Env).config.exporters).toEqual(expected);
  });
  it('unknown names are dropped with one warning; none known falls back to the default', () => {
    const partly = on({ TRACES_EXPORTER: 'otlp,zipkin' });
    expect(partly.config.exporters).toEqual(['otlp']);
    expect(partly.warnings).toEqual([expect.stringMatching(/TRACES_EXPORTER.*zipkin/)]);
    const none = on({ TRACES_EXPORTER: 'jaeger' });
    expect(none.config.exporters).toEqual(['console']);
    expect(none.warnings).toHaveLength(1);
  });
});

describe('endpoint and protocol', () => {
  it.each([
    [{}, 'grpc', 'http://localhost:4317'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'http/protobuf', 'http://localhost:4318/v1/traces'],
    [{ EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }, 'grpc', 'http://collector:4317'],
    [{ EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, 'grpc', 'http://collector:4317'],
    [{ EXPORTER_OTLP_ENDPOINT: 'https://collector:4317/ignored' }, 'grpc', 'https://collector:4317'],
    // Port 4318 with no protocol set means HTTP.
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'http/protobuf', 'http://collector:4318/v1/traces'],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' },
      'grpc',
      'http://c:4318',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:9000/base/', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      'http/json',
      'http://c:9000/base/v1/traces',
    ],
    // Per-signal endpoints are used as given.
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:9000/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
      'http/protobuf',
      'http://c:9000/custom',
    ],
    [{ EXPORTER_OTLP_ENDPOINT: 'http://c:4318/v1/traces' }, 'http/protobuf', 'http://c:4318/v1/traces'],
    // FastDeploy variables win over their OTEL twins.
    [
      {
        EXPORTER_OTLP_ENDPOINT: 'http://fd:4317',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://o1:4317',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://o2:4317',
      },
      'grpc',
      'http://fd:4317',
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://o1:4317', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://o2:4317' },
      'grpc',
      'http://o1:4317',
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'HTTP/JSON', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'http/json',
      'http://localhost:4318/v1/traces',
    ],
  ])('%j -> %s %s', (env, protocol, url) => {
    const { config, warnings } = on(env as Env);
    expect(config.otlp.protocol).toBe(protocol);
    expect(config.otlp.url).toBe(url);
    expect(warnings).toEqual([]);
  });
  it('a bad endpoint warns without printing credentials and falls back to the default', () => {
    const { config, warnings } = on({ EXPORTER_OTLP_ENDPOINT: 'ftp://user:s3cret@host:21' });
    expect(config.otlp.url).toBe('http://localhost:4317');
    expect(warnings).toEqual([expect.stringContaining('EXPORTER_OTLP_ENDPOINT')]);
    const unparsable = on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:s3cret@[bad' });
    expect(unparsable.warnings).toHaveLength(1);
    expect(unparsable.warnings.join()).not.toContain('s3cret');
  });
  it('a bad protocol warns and falls back (grpc, or http/protobuf on port 4318)', () => {
    const { config, warnings } = on({ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' });
    expect(config.otlp.protocol).toBe('grpc');
    expect(warnings).toEqual([expect.stringContaining('OTEL_EXPORTER_OTLP_PROTOCOL')]);
  });
});

describe('headers', () => {
  it('are trimmed, percent-decoded, and may contain "="', () => {
    const { config, warnings } = on({ EXPORTER_OTLP_HEADERS: ' Authentication = Bearer a=b== , x-k=v%2Cw%20z ' });
    expect(config.otlp.headers).toEqual({ authentication: 'Bearer a=b==', 'x-k': 'v,w z' });
    expect(warnings).toEqual([]);
  });
  it('merge general < per-signal < FastDeploy, key by key', () => {
    const { config } = on({
      OTEL_EXPORTER_OTLP_HEADERS: 'a=general,b=general',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=traces,c=traces',
      EXPORTER_OTLP_HEADERS: 'c=fd',
    });
    expect(config.otlp.headers).toEqual({ a: 'general', b: 'traces', c: 'fd' });
  });
  it('malformed pairs are skipped with one warning naming their keys, never the values', () => {
    const { config, warnings } = on({ EXPORTER_OTLP_HEADERS: 'good=s3cret-1,novalue,bad key=s3cret-2,k=%E0%A4%A' });
    expect(config.otlp.headers).toEqual({ good: 's3cret-1' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^EXPORTER_OTLP_HEADERS: .*"novalue".*"bad key".*"k"/);
    expect(warnings[0]).not.toMatch(/s3cret|%E0/);
  });
});

describe('numbers, samplers, propagators, misc', () => {
  it('batching: FastDeploy names win, defaults deliver within about a second', () => {
    expect(on().config.batch).toEqual({
      scheduledDelayMs: 500,
      maxQueueSize: 2048,
      maxQueueSizeSet: false,
      maxExportBatchSize: 512,
      exportTimeoutMs: 30000,
    });
    const { config } = on({
      FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '100',
      OTEL_BSP_SCHEDULE_DELAY: '9000',
      FD_OTLP_EXPORTER_MAX_EXPORT_BATCH_SIZE: '64',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128',
    });
    expect(config.batch.scheduledDelayMs).toBe(100);
    expect(config.batch.maxExportBatchSize).toBe(64);
  });
  it.each([
    ['OTEL_BSP_SCHEDULE_DELAY', 'soon'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '-5'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '1.5'],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0'],
    ['TRACES_SHUTDOWN_TIMEOUT_MS', '1e99'],
  ])('%s=%s warns once and uses the default', (name, value) => {
    const { config, warnings } = on({ [name]: value });
    const defaults = on().config;
    expect(warnings).toEqual([expect.stringContaining(name)]);
    expect(config.batch).toEqual(defaults.batch);
    expect(config.otlp.timeoutMs).toBe(defaults.otlp.timeoutMs);
    expect(config.shutdownTimeoutMs).toBe(defaults.shutdownTimeoutMs);
  });
  it('OTEL_BSP_MAX_QUEUE_SIZE set (and valid) is marked so: the exporter thread then bounds its queue by it; log records inherit it', () => {
    const set = on({ OTEL_BSP_MAX_QUEUE_SIZE: '4096' }).config;
    expect([set.batch.maxQueueSize, set.batch.maxQueueSizeSet, set.logs.batch.maxQueueSizeSet]).toEqual([
      4096,
      true,
      true,
    ]);
    expect(on({ OTEL_BSP_MAX_QUEUE_SIZE: '-5' }).config.batch.maxQueueSizeSet).toBe(false); // the default, as unset
    expect(on({ OTEL_BLRP_MAX_QUEUE_SIZE: '100' }).config.batch.maxQueueSizeSet).toBe(false);
  });
  it("span and log record limits: the SDKs' defaults unset; each signal's variable over OTEL_ATTRIBUTE_*", () => {
    const defaults = on().config;
    expect(defaults.spanLimits).toEqual({
      attributeValueLengthLimit: Number.POSITIVE_INFINITY,
      attributeCountLimit: 128,
      eventCountLimit: 128,
      linkCountLimit: 128,
      attributePerEventCountLimit: 128,
      attributePerLinkCountLimit: 128,
    });
    expect(defaults.logs.limits).toEqual({
      attributeValueLengthLimit: Number.POSITIVE_INFINITY,
      attributeCountLimit: 128,
    });
    const general = on({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100', OTEL_ATTRIBUTE_COUNT_LIMIT: '20' }).config;
    expect(general.spanLimits).toMatchObject({ attributeValueLengthLimit: 100, attributeCountLimit: 20 });
    expect(general.logs.limits).toEqual({ attributeValueLengthLimit: 100, attributeCountLimit: 20 });
    const own = on({
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100',
      OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '50',
      OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '70',
      OTEL_SPAN_EVENT_COUNT_LIMIT: '3',
      OTEL_SPAN_LINK_COUNT_LIMIT: '4',
      OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '5',
      OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '6',
      OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: '7',
    }).config;
    expect(own.spanLimits).toEqual({
      attributeValueLengthLimit: 50,
      attributeCountLimit: 128,
      eventCountLimit: 3,
      linkCountLimit: 4,
      attributePerEventCountLimit: 5,
      attributePerLinkCountLimit: 6,
    });
    expect(own.logs.limits).toEqual({ attributeValueLengthLimit: 70, attributeCountLimit: 7 });
    const bad = on({ OTEL_SPAN_EVENT_COUNT_LIMIT: 'many' });
    expect(bad.warnings).toEqual([expect.stringContaining('OTEL_SPAN_EVENT_COUNT_LIMIT="many"')]);
    expect(bad.config.spanLimits.eventCountLimit).toBe(128);
  });
  it('batch size above the queue size is clamped with a warning', () => {
    const { config, warnings } = on({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500' });
    expect(config.batch.maxExportBatchSize).toBe(100);
    expect(warnings).toHaveLength(1);
  });
  it.each([
    [{}, 'parentbased_always_on', 1],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, 'traceidratio', 0.25],
    [
      { OTEL_TRACES_SAMPLER: 'PARENTBASED_TRACEIDRATIO', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      'parentbased_traceidratio',
      0.1,
    ],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, 'always_off', 1],
  ])('sampler %j', (env, name, ratio) => {
    expect(on(env as Env).config.sampler).toEqual({ name, ratio });
  });
  it('bad sampler values warn and fall back', () => {
    expect(on({ OTEL_TRACES_SAMPLER: 'sometimes' }).warnings).toHaveLength(1);
    const r = on({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(r.config.sampler.ratio).toBe(1);
    expect(r.warnings).toEqual([expect.stringContaining('OTEL_TRACES_SAMPLER_ARG')]);
  });
  it('propagators default to tracecontext,baggage; none disables; unknown warns', () => {
    expect(on().config.propagators).toEqual(['tracecontext', 'baggage']);
    expect(on({ OTEL_PROPAGATORS: 'b3multi, tracecontext' }).config.propagators).toEqual(['b3multi', 'tracecontext']);
    expect(on({ OTEL_PROPAGATORS: 'none' }).config.propagators).toEqual([]);
    const bad = on({ OTEL_PROPAGATORS: 'xray' });
    expect(bad.config.propagators).toEqual(['tracecontext', 'baggage']);
    expect(bad.warnings).toHaveLength(1);
  });
  it('log level, file path, compression, zmq propagation, instrumentation lists', () => {
    expect(on().config.logLevel).toBe('warn');
    expect(on({ OTEL_LOG_LEVEL: 'DEBUG' }).config.logLevel).toBe('debug');
    expect(on({ OTEL_LOG_LEVEL: 'loud' }).warnings).toHaveLength(1);
    expect(readConfig({ TRACES_ENABLE: '1' }, { cwd: '/srv' }).config.filePath).toBe('/srv/otel_traces.jsonl');
    expect(readConfig({ TRACES_ENABLE: '1', TRACES_FILE: 'out/t.jsonl' }, { cwd: '/srv' }).config.filePath).toBe(
      '/srv/out/t.jsonl',
    );
    expect(on({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).config.otlp.compression).toBe('gzip');
    expect(on({ OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' }).warnings).toHaveLength(1);
    expect(on().config.processorsFrom).toBeUndefined();
    const from = (v: string) =>
      readConfig({ TRACES_ENABLE: '1', ANYSCALE_TRACING_EXPORTER_IMPORT_PATH: v }, { cwd: '/srv' });
    expect(from('exporter:default_tracing_exporter').config.processorsFrom).toMatchObject({
      module: 'exporter',
      exportName: 'default_tracing_exporter',
    });
    expect(from('./tracing/processors.mjs').config.processorsFrom).toMatchObject({
      module: '/srv/tracing/processors.mjs',
      exportName: 'default',
    });
    expect(from('@acme/tracing:spanProcessors').config.processorsFrom).toMatchObject({
      module: '@acme/tracing',
      exportName: 'spanProcessors',
    });
    expect(on().config.zmqPropagation).toBe(true);
    expect(on({ TRACES_ZMQ_PROPAGATION: 'off' }).config.zmqPropagation).toBe(false);
    expect(on({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http, Express' }).config.instrumentations).toEqual({
      enabled: ['http', 'express'],
      disabled: [],
    });
  });
  it('records which variable set each value', () => {
    const { config } = on({ EXPORTER_OTLP_ENDPOINT: 'c:4317', OTEL_SERVICE_NAME: 's' });
    expect(config.sources.endpoint).toBe('EXPORTER_OTLP_ENDPOINT');
    expect(config.sources.serviceName).toBe('OTEL_SERVICE_NAME');
  });
});

describe('logs', () => {
  it('export defaults to OTLP exactly when traces go over OTLP; console capture on, text format', () => {
    expect(on().config.logs).toMatchObject({ exporters: [], console: true, format: 'text' });
    expect(on({ EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).config.logs.exporters).toEqual(['otlp']);
    expect(on({ TRACES_EXPORTER: 'file,otlp' }).config.logs.exporters).toEqual(['otlp']);
    expect(on({ TRACES_EXPORTER: 'file' }).config.logs.exporters).toEqual([]);
  });
  it.each([
    [{ OTEL_LOGS_EXPORTER: 'console' }, ['console']],
    [{ OTEL_LOGS_EXPORTER: 'OTLP, console' }, ['otlp', 'console']],
    [{ OTEL_LOGS_EXPORTER: 'none', EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }, []],
    [{ OTEL_LOGS_EXPORTER: 'otlp', TRACES_EXPORTER: 'none' }, ['otlp']],
  ])('OTEL_LOGS_EXPORTER overrides: %j -> %j', (env, expected) => {
    const { config, warnings } = on(env as Env);
    expect(config.logs.exporters).toEqual(expected);
    expect(warnings).toEqual([]);
  });
  it('unknown log exporters warn once; none known falls back to the default', () => {
    const partly = on({ OTEL_LOGS_EXPORTER: 'otlp,loki' });
    expect(partly.config.logs.exporters).toEqual(['otlp']);
    expect(partly.warnings).toEqual([expect.stringMatching(/OTEL_LOGS_EXPORTER.*loki/)]);
    const none = on({ OTEL_LOGS_EXPORTER: 'loki', EXPORTER_OTLP_ENDPOINT: 'http://c:4317' });
    expect(none.config.logs.exporters).toEqual(['otlp']);
    expect(none.warnings).toHaveLength(1);
  });
  it.each([
    // Defaults follow the traces endpoint and protocol; HTTP gets /v1/logs in place of /v1/traces.
    [{}, 'grpc', 'http://localhost:4317'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'http/json', 'http://localhost:4318/v1/logs'],
    [{ EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, 'grpc', 'http://collector:4317'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'http/protobuf', 'http://c:4318/v1/logs'],
    [{ EXPORTER_OTLP_ENDPOINT: 'http://c:4318/v1/traces' }, 'http/protobuf', 'http://c:4318/v1/logs'],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c/otlp/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      'http/json',
      'https://c/otlp/v1/logs',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:9000/base/', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
      'http/protobuf',
      'http://c:9000/base/v1/logs',
    ],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, 'http/json', 'http://localhost:4318/v1/logs'],
    // OTEL_EXPORTER_OTLP_LOGS_PROTOCOL wins; the base endpoint then gets the logs path.
    [
      { EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' },
      'http/protobuf',
      'http://c:4317/v1/logs',
    ],
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'GRPC' },
      'grpc',
      'http://localhost:4317',
    ],
    // A logs endpoint of its own is used as given; with no protocol variable at all, port 4318 means HTTP.
    [
      { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:4318/custom', EXPORTER_OTLP_ENDPOINT: 'http://c:4317' },
      'http/protobuf',
      'http://l:4318/custom',
    ],
    [{ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'l:4317', EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'grpc', 'http://l:4317'],
    [
      { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:9999', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      'http/json',
      'http://l:9999/',
    ],
    [
      { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:4318/v1/logs', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' },
      'grpc',
      'http://l:4318',
    ],
  ])('endpoint %j -> %s %s', (env, protocol, url) => {
    const { config, warnings } = on(env as Env);
    expect(config.logs.otlp.protocol).toBe(protocol);
    expect(config.logs.otlp.url).toBe(url);
    expect(warnings).toEqual([]);
  });
  it('a bad logs endpoint or protocol warns once, naming the variable, and falls back', () => {
    const bad = on({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://u:s3cret@h', EXPORTER_OTLP_ENDPOINT: 'http://c:4317' });
    expect(bad.config.logs.otlp.url).toBe('http://c:4317');
    expect(bad.warnings).toEqual([expect.stringContaining('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT')]);
    expect(bad.warnings.join()).not.toContain('s3cret');
    const proto = on({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'thrift', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(proto.config.logs.otlp.protocol).toBe('http/json');
    expect(proto.warnings).toEqual([expect.stringContaining('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL')]);
    // The traces endpoint is parsed once: its warning is not repeated for logs.
    expect(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://u:p@[bad' }).warnings).toHaveLength(1);
  });
  it('headers merge general < logs < FastDeploy; the traces-only ones stay off; a bad pair warns once', () => {
    const { config, warnings } = on({
      OTEL_EXPORTER_OTLP_HEADERS: 'a=general,b=general,bad',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=traces,t=traces',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'b=logs,c=logs',
      EXPORTER_OTLP_HEADERS: 'c=fd',
    });
    expect(config.logs.otlp.headers).toEqual({ a: 'general', b: 'logs', c: 'fd' });
    expect(config.otlp.headers).toEqual({ a: 'general', b: 'traces', t: 'traces', c: 'fd' });
    expect(warnings).toEqual([expect.stringContaining('"bad"')]);
  });
  it('timeout, compression and certificates: logs variables, else the general ones, never the traces ones', () => {
    const { config } = on({
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '4000',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/traces.pem',
      OTEL_EXPORTER_OTLP_CERTIFICATE: '/ca.pem',
    });
    expect(config.logs.otlp).toMatchObject({ timeoutMs: 3000, compression: 'none', certificateFile: '/ca.pem' });
    expect(config.otlp).toMatchObject({ timeoutMs: 4000, compression: 'gzip', certificateFile: '/traces.pem' });
    const own = on({
      OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: '500',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: '/logs.pem',
    });
    expect(own.config.logs.otlp).toMatchObject({ timeoutMs: 500, compression: 'gzip', certificateFile: '/logs.pem' });
  });
  it('batching: OTEL_BLRP_*, else the span batching values', () => {
    expect(on().config.logs.batch).toEqual(on().config.batch);
    const { config, warnings } = on({
      FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '100',
      OTEL_BLRP_MAX_QUEUE_SIZE: '300',
      OTEL_BLRP_EXPORT_TIMEOUT: '7000',
    });
    expect(config.logs.batch).toEqual({
      scheduledDelayMs: 100,
      maxQueueSize: 300,
      maxQueueSizeSet: true,
      maxExportBatchSize: 300,
      exportTimeoutMs: 7000,
    });
    expect(warnings).toEqual([]);
    expect(on({ OTEL_BLRP_SCHEDULE_DELAY: '200' }).config.logs.batch.scheduledDelayMs).toBe(200);
    const clamped = on({ OTEL_BLRP_MAX_QUEUE_SIZE: '10', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '20' });
    expect(clamped.config.logs.batch.maxExportBatchSize).toBe(10);
    expect(clamped.warnings).toEqual([expect.stringContaining('OTEL_BLRP_MAX_EXPORT_BATCH_SIZE')]);
  });
  it('TRACES_CONSOLE_LOGS and TRACES_LOG_FORMAT', () => {
    expect(on({ TRACES_CONSOLE_LOGS: 'false' }).config.logs.console).toBe(false);
    expect(on({ TRACES_CONSOLE_LOGS: 'maybe' }).config.logs.console).toBe(true);
    expect(on({ TRACES_CONSOLE_LOGS: 'maybe' }).warnings).toEqual([expect.stringContaining('TRACES_CONSOLE_LOGS')]);
    expect(on({ TRACES_LOG_FORMAT: 'JSONL' }).config.logs.format).toBe('jsonl');
    const bad = on({ TRACES_LOG_FORMAT: 'xml' });
    expect(bad.config.logs.format).toBe('text');
    expect(bad.warnings).toEqual([expect.stringContaining('TRACES_LOG_FORMAT')]);
  });
  it('records which variable set each logs value', () => {
    const { config } = on({
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'l:4317',
      TRACES_LOG_FORMAT: 'jsonl',
    });
    expect(config.sources).toMatchObject({
      'logs.exporters': 'OTEL_LOGS_EXPORTER',
      'logs.endpoint': 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
      'logs.format': 'TRACES_LOG_FORMAT',
    });
  });
});

// Issue 7: every variable with empty, garbage, out-of-range, wrong-case and conflicting values. The app always
// starts; a bad value gives exactly one warning, which names the variable, and the documented fallback applies.
describe('bad input matrix', () => {
  const defaults = on().config;
  type Check = (c: ReturnType<typeof on>['config']) => unknown;
  // [variable, value, warns, what the config then reads, expected]
  const cases: [string, string, boolean, Check, unknown][] = [
    // booleans
    ['OTEL_SDK_DISABLED', 'maybe', true, (c) => c.enabled, true],
    ['OTEL_SDK_DISABLED', 'TRUE', false, (c) => c.enabled, false],
    ['TRACES_ZMQ_PROPAGATION', 'sometimes', true, (c) => c.zmqPropagation, true],
    ['TRACES_ZMQ_PROPAGATION', 'OFF', false, (c) => c.zmqPropagation, false],
    [
      'TRACES_ZMQ_PROPAGATION',
      'tcp://*, !ipc://*',
      false,
      (c) => c.zmqPropagation,
      { include: ['tcp://*'], exclude: ['ipc://*'] },
    ],
    [
      'TRACES_ZMQ_PROPAGATION',
      '!tcp://*:5557, 5558',
      true,
      (c) => c.zmqPropagation,
      { include: [], exclude: ['tcp://*:5557'] },
    ],
    ['TRACES_ZMQ_PROPAGATION', '!, ,', true, (c) => c.zmqPropagation, true],
    ['TRACES_CONSOLE_LOGS', '2', true, (c) => c.logs.console, true],
    // whole numbers: garbage, out of range, not decimal, fractional, negative; whitespace and case are fine
    ['OTEL_BSP_SCHEDULE_DELAY', 'soon', true, (c) => c.batch.scheduledDelayMs, 500],
    ['OTEL_BSP_SCHEDULE_DELAY', '-1', true, (c) => c.batch.scheduledDelayMs, 500],
    ['OTEL_BSP_SCHEDULE_DELAY', ' 250 ', false, (c) => c.batch.scheduledDelayMs, 250],
    ['FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS', '1e3', true, (c) => c.batch.scheduledDelayMs, 500],
    ['FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS', '0x10', true, (c) => c.batch.scheduledDelayMs, 500],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '0', true, (c) => c.batch.maxQueueSize, 2048],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '99999999999', true, (c) => c.batch.maxQueueSize, 2048],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '12.5', true, (c) => c.batch.maxExportBatchSize, 512],
    ['FD_OTLP_EXPORTER_MAX_EXPORT_BATCH_SIZE', 'many', true, (c) => c.batch.maxExportBatchSize, 512],
    ['OTEL_BSP_EXPORT_TIMEOUT', 'Infinity', true, (c) => c.batch.exportTimeoutMs, 30000],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '-5', true, (c) => c.otlp.timeoutMs, 10000],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '10s', true, (c) => c.otlp.timeoutMs, 10000],
    ['OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', 'NaN', true, (c) => c.logs.otlp.timeoutMs, 10000],
    ['OTEL_BLRP_MAX_QUEUE_SIZE', '-1', true, (c) => c.logs.batch.maxQueueSize, 2048],
    ['OTEL_BLRP_SCHEDULE_DELAY', 'later', true, (c) => c.logs.batch.scheduledDelayMs, 500],
    ['OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', '0', true, (c) => c.logs.batch.maxExportBatchSize, 512],
    ['OTEL_BLRP_EXPORT_TIMEOUT', '1.0', true, (c) => c.logs.batch.exportTimeoutMs, 30000],
    ['TRACES_SHUTDOWN_TIMEOUT_MS', '-1', true, (c) => c.shutdownTimeoutMs, 5000],
    ['TRACES_SHUTDOWN_TIMEOUT_MS', '0', false, (c) => c.shutdownTimeoutMs, 0],
    // the exporter thread is on by default (issue 22): false turns it off, garbage keeps it on
    ['TRACES_EXPORT_THREAD', 'false', false, (c) => c.exportThread, false],
    ['TRACES_EXPORT_THREAD', 'maybe', true, (c) => c.exportThread, true],
    // enumerations: garbage, near misses, wrong case (accepted)
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http', true, (c) => c.otlp.protocol, 'grpc'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'HTTP/PROTOBUF', false, (c) => c.otlp.protocol, 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'grpc ', false, (c) => c.otlp.protocol, 'grpc'],
    ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'json', true, (c) => c.logs.otlp.protocol, 'grpc'],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'GZIP', false, (c) => c.otlp.compression, 'gzip'],
    ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'zstd', true, (c) => c.otlp.compression, 'none'],
    ['OTEL_EXPORTER_OTLP_LOGS_COMPRESSION', 'deflate', true, (c) => c.logs.otlp.compression, 'none'],
    ['OTEL_TRACES_SAMPLER', 'Always_Off', false, (c) => c.sampler.name, 'always_off'],
    ['OTEL_TRACES_SAMPLER', 'ratio', true, (c) => c.sampler.name, 'parentbased_always_on'],
    ['OTEL_LOG_LEVEL', 'WARNING', true, (c) => c.logLevel, 'warn'],
    ['OTEL_LOG_LEVEL', 'Info', false, (c) => c.logLevel, 'info'],
    ['TRACES_LOG_FORMAT', 'JSON', true, (c) => c.logs.format, 'text'],
    ['TRACES_EXPORTER', 'Console', false, (c) => c.exporters, ['console']],
    ['TRACES_EXPORTER', 'zipkin,jaeger', true, (c) => c.exporters, ['console']],
    ['OTEL_TRACES_EXPORTER', ',,', false, (c) => c.exporters, ['console']],
    ['OTEL_LOGS_EXPORTER', 'loki', true, (c) => c.logs.exporters, []],
    ['OTEL_PROPAGATORS', 'B3', false, (c) => c.propagators, ['b3']],
    ['OTEL_PROPAGATORS', 'jaeger', true, (c) => c.propagators, ['tracecontext', 'baggage']],
    ['OTEL_NODE_RESOURCE_DETECTORS', 'HOST', false, (c) => [...c.resourceDetectors], ['host']],
    ['OTEL_NODE_RESOURCE_DETECTORS', 'k8s', true, (c) => [...c.resourceDetectors], ['env', 'host', 'process']],
    // URLs: bad scheme, unparsable, out-of-range port, no host; wrong-case scheme is fine
    ['EXPORTER_OTLP_ENDPOINT', 'ftp://c:21', true, (c) => c.otlp.url, 'http://localhost:4317'],
    ['EXPORTER_OTLP_ENDPOINT', 'c:99999', true, (c) => c.otlp.url, 'http://localhost:4317'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://', true, (c) => c.otlp.url, 'http://localhost:4317'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'HTTP://C:4317', false, (c) => c.otlp.url, 'http://c:4317'],
    ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'http://[::1', true, (c) => c.logs.otlp.url, 'http://localhost:4317'],
    // key=value lists
    ['OTEL_RESOURCE_ATTRIBUTES', 'garbage', true, (c) => c.resourceAttributes, {}],
    ['OTEL_RESOURCE_ATTRIBUTES', 'a=1,oops,b=%zz,c=3', true, (c) => c.resourceAttributes, { a: '1', c: '3' }],
    [
      'OTEL_RESOURCE_ATTRIBUTES',
      'service.name=',
      true,
      (c) => c.serviceName !== '' && !('service.name' in c.resourceAttributes),
      true,
    ],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'x=1,novalue,bad key=2,k=%E0%A4%A', true, (c) => c.otlp.headers, { x: '1' }],
    ['OTEL_EXPORTER_OTLP_LOGS_HEADERS', '=v', true, (c) => c.logs.otlp.headers, {}],
    [
      'EXPORTER_OTLP_HEADERS',
      'Authorization=Basic YTpi==',
      false,
      (c) => c.otlp.headers,
      { authorization: 'Basic YTpi==' },
    ],
    // conflicting values within one variable
    ['TRACES_EXPORTER', 'none,otlp', true, (c) => c.exporters, ['otlp']],
    ['OTEL_LOGS_EXPORTER', 'console,none', true, (c) => c.logs.exporters, ['console']],
    ['OTEL_PROPAGATORS', 'none,b3', true, (c) => c.propagators, []],
    ['OTEL_NODE_RESOURCE_DETECTORS', 'none,host', true, (c) => [...c.resourceDetectors], ['host']],
  ];
  it.each(cases)('%s=%j', (name, value, warns, read, expected) => {
    const { config, warnings } = on({ [name]: value });
    expect(read(config)).toEqual(expected);
    if (warns) {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(name);
    } else {
      expect(warnings).toEqual([]);
    }
  });

  it.each([...new Set(cases.map(([name]) => name))])(
    '%s empty or blank is the same as unset, without a warning',
    (name) => {
      for (const blank of ['', '   ', '\t']) {
        const { config, warnings } = on({ [name]: blank });
        expect(warnings).toEqual([]);
        expect({ ...config, sources: {} }).toEqual({ ...defaults, sources: {} });
      }
    },
  );

  it('conflicts between variables follow the documented precedence, without a warning', () => {
    const { config, warnings } = on({
      FD_SERVICE_NAME: 'fd',
      OTEL_SERVICE_NAME: 'otel',
      FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '100',
      OTEL_BSP_SCHEDULE_DELAY: '9000',
      EXPORTER_OTLP_ENDPOINT: 'http://fd:4317',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
      TRACES_EXPORTER: 'file',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_TRACES_SAMPLER_ARG: '0.1', // meaningless for always_on: ignored
    });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ serviceName: 'fd', exporters: ['file'], sampler: { name: 'always_on', ratio: 1 } });
    expect(config.batch.scheduledDelayMs).toBe(100);
    expect(config.otlp.url).toBe('http://fd:4317');
    // OTEL_SDK_DISABLED wins over TRACES_ENABLE.
    expect(read({ TRACES_ENABLE: 'true', OTEL_SDK_DISABLED: 'true' }).config.enabled).toBe(false);
  });

  it('many bad variables at once: exactly one warning each', () => {
    // A variable whose higher-precedence twin is set is not read at all (the twin's fallback applies).
    const shadowed = new Set([
      'OTEL_BSP_SCHEDULE_DELAY',
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
    ]);
    const env = Object.fromEntries(
      cases.filter(([name, , warns]) => warns && !shadowed.has(name)).map(([name, value]) => [name, value]),
    );
    const { warnings } = on(env);
    const naming = (name: string) => warnings.filter((w) => new RegExp(`(^|[^A-Z_])${name}([^A-Z_]|$)`).test(w));
    for (const name of Object.keys(env)) expect(naming(name), name).toHaveLength(1);
    expect(warnings).toHaveLength(Object.keys(env).length);
  });
});
