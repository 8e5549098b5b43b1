// The agent's own recorded spans (src/spans/lean-span.ts) replace the SDK's SpanImpl for its http, fetch and zeromq
// spans. Whatever an instrumentation or the app does to such a span, the exported span must be the one SpanImpl
// would have produced: each scenario below runs on both, through the same provider, limits and processors, and the
// exported spans and the diagnostics they caused are compared field by field.
import {
  type Attributes,
  type Context,
  DiagLogLevel,
  diag,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  SimpleSpanProcessor,
  type SpanLimits,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { PooledIdGenerator } from '../src/spans/id-generator.js';
import { LeanSpan, pipelineOf } from '../src/spans/lean-span.js';
import { fastStartSpan, sdkStartSpan } from '../src/spans/span-start.js';

type Scenario = (span: Span) => void;

const diagnostics: string[] = [];
diag.setLogger(
  {
    error: (m) => diagnostics.push(`error ${m}`),
    warn: (m) => diagnostics.push(`warn ${m}`),
    info: () => undefined,
    debug: (m) => diagnostics.push(`debug ${m}`),
    verbose: () => undefined,
  },
  { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true },
);
afterEach(() => {
  diagnostics.length = 0;
});

interface Run {
  exported: ReadableSpan[];
  started: { span: Span; parent: Context; ended: boolean }[];
  diagnostics: string[];
  span: Span;
}

function run(
  lean: boolean,
  scenario: Scenario,
  opts: { limits?: SpanLimits; sampler?: Sampler; parent?: Context; startTime?: TimeInput } = {},
): Run {
  const sampler = opts.sampler ?? new AlwaysOnSampler();
  const ids = new PooledIdGenerator();
  const exporter = new InMemorySpanExporter();
  const started: Run['started'] = [];
  const watch: SpanProcessor = {
    onStart: (span, parent) => started.push({ span, parent, ended: (span as unknown as ReadableSpan).ended }),
    onEnd: () => undefined,
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const provider = new TracerProvider({
    sampler,
    idGenerator: ids,
    spanLimits: opts.limits,
    spanProcessors: [watch, new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('@x/test', '1.2.3');
  const start = lean ? fastStartSpan({ sampler, ids }) : sdkStartSpan;
  diagnostics.length = 0;
  const span = start(tracer, 'GET', SpanKind.SERVER, opts.parent ?? ROOT_CONTEXT, opts.startTime);
  scenario(span);
  return { exported: exporter.getFinishedSpans(), started, diagnostics: [...diagnostics], span };
}

/** What an exporter reads of a span, with the ids and clock readings that differ by nature left out. */
function exportedView(span: ReadableSpan) {
  const sc = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceFlags: sc.traceFlags,
    traceState: sc.traceState?.serialize(),
    parentSpanContext: span.parentSpanContext,
    attributes: span.attributes,
    links: span.links,
    events: span.events.map((e) => ({ ...e, time: undefined })),
    status: span.status,
    ended: span.ended,
    resource: span.resource.attributes,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

const hrMs = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;

function compare(scenario: Scenario, opts: Parameters<typeof run>[2] = {}) {
  const sdk = run(false, scenario, opts);
  const lean = run(true, scenario, opts);
  expect(lean.span).toBeInstanceOf(LeanSpan);
  expect(lean.exported.map(exportedView)).toEqual(sdk.exported.map(exportedView));
  // The diagnostics, minus the SDK Tracer's own debug lines about starting spans (not the span's doing).
  const spanDiagnostics = (d: string[]) =>
    d.filter((m) => !m.startsWith('debug Recording is off') && !m.startsWith('debug Instrumentation suppressed'));
  const idless = (d: string[], span: Span) =>
    d.map((m) => m.replaceAll(span.spanContext().traceId, 'T').replaceAll(span.spanContext().spanId, 'S'));
  expect(idless(spanDiagnostics(lean.diagnostics), lean.span)).toEqual(
    idless(spanDiagnostics(sdk.diagnostics), sdk.span),
  );
  expect(lean.started.map((s) => [s.parent, s.ended])).toEqual(sdk.started.map((s) => [s.parent, s.ended]));
  return { sdk, lean };
}

const httpAttributes = (): Attributes => ({
  'http.request.method': 'GET',
  'url.scheme': 'http',
  'server.address': '127.0.0.1',
  'network.peer.address': '127.0.0.1',
  'network.peer.port': 51234,
  'network.protocol.version': '1.1',
  'user_agent.original': 'curl/8',
  'url.path': '/items',
  'client.address': '127.0.0.1',
  'server.port': 8080,
});

describe('LeanSpan against SpanImpl', () => {
  it('records an HTTP server span the same: attributes, name, status, times that fit the wall clock', () => {
    const before = Date.now();
    const { lean } = compare((span) => {
      const attributes = httpAttributes();
      span.setAttributes(attributes);
      attributes['url.path'] = '/changed by the caller afterwards'; // the span keeps its own copy
      span.setAttribute('http.response.status_code', 500);
      span.setAttribute('http.route', '/items');
      span.updateName('GET /items');
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', '500');
      span.end();
    });
    const [span] = lean.exported;
    const start = hrMs(span!.startTime);
    const end = hrMs(span!.endTime);
    expect(start).toBeGreaterThanOrEqual(before - 1);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThanOrEqual(Date.now() + 1);
    expect(hrMs(span!.duration)).toBeCloseTo(end - start, 3);
  });

  it('applies the count and length limits the same, through setAttributes and setAttribute', () => {
    compare(
      (span) => {
        span.setAttributes({ a: 'short', b: 'much too long', c: 3, d: true, e: 'x' });
        span.setAttribute('a', 'overwritten, and cut');
        span.setAttribute('f', 'dropped: over the count');
        span.setAttributes({ g: 1, b: 'again too long' });
        span.end();
      },
      { limits: { attributeCountLimit: 3, attributeValueLengthLimit: 5 } },
    );
    compare(
      (span) => {
        span.setAttributes({ a: 'much too long', b: 'ok' }); // within the count: the whole-object copy's case
        span.end();
      },
      { limits: { attributeValueLengthLimit: 5 } },
    );
    compare(
      (span) => {
        span.setAttributes({ a: 1, b: 2 }); // exactly at the count limit
        span.setAttributes({ c: 3 });
        span.end();
      },
      { limits: { attributeCountLimit: 2 } },
    );
    compare(
      (span) => {
        span.setAttributes({ a: 1, b: 2, c: 3 }); // one over the count, every value plain
        span.end();
      },
      { limits: { attributeCountLimit: 2 } },
    );
    compare(
      (span) => {
        span.setAttribute('toString', 'x'); // a new key, though Object.prototype has a member of that name
        span.setAttribute('a', 1);
        span.setAttribute('b', 2);
        span.end();
      },
      { limits: { attributeCountLimit: 2 } },
    );
  });

  it('treats unusual keys and values the same (arrays, objects, bytes, null, undefined, empty and prototype keys)', () => {
    compare((span) => {
      span.setAttributes({
        arr: ['a', 'b'],
        mixed: [1, 'x', null] as never,
        obj: { nested: { deep: 1 } } as never,
        bytes: new Uint8Array([1, 2, 3]) as never,
        nothing: null as never,
        skipped: undefined,
        nan: NaN,
      });
      span.setAttribute('', 'empty key');
      span.setAttribute('toString', 'own value');
      span.setAttribute('constructor', 7);
      span.setAttribute('toString', 'again');
      span.setAttribute('sym', Symbol('s') as never);
      span.setAttribute('fn', (() => 1) as never);
      span.setAttribute('big', BigInt(1) as never);
      span.setAttribute('date', new Date(0) as never);
      span.end();
    });
    compare((span) => {
      span.setAttributes({ '': 'empty key first', ok: 1 }); // the whole-object copy must not take this one
      span.setAttributes(Object.assign(Object.create({ inherited: 'x' }) as Attributes, { own: 'y' }));
      span.end();
    });
  });

  it('records events and exceptions the same, limits included', () => {
    compare(
      (span) => {
        span.addEvent('first', { k: 'v', arr: [1, 2], obj: { no: 1 } as never });
        span.addEvent('timed', [1700000000, 5]);
        span.addEvent('attrs and time', { k: 1 }, new Date(1700000000123));
        span.recordException(new TypeError('bad input'));
        span.recordException('just a message');
        span.recordException({ code: 42, message: 'coded' });
        span.recordException({} as Error);
        span.end();
      },
      { limits: { eventCountLimit: 4, attributePerEventCountLimit: 1 } },
    );
    compare(
      (span) => {
        span.addEvent('none allowed');
        span.end();
      },
      { limits: { eventCountLimit: 0 } },
    );
  });

  it('records links the same, limits included', () => {
    const ctx = (n: number) => ({
      traceId: `${n}`.padStart(32, 'a'),
      spanId: `${n}`.padStart(16, 'b'),
      traceFlags: TraceFlags.SAMPLED,
    });
    compare(
      (span) => {
        span.addLink({ context: ctx(1), attributes: { a: 1, b: 2, c: 3 } });
        span.addLinks([{ context: ctx(2) }, { context: ctx(3), attributes: { x: 'y' } }]);
        span.end();
      },
      { limits: { linkCountLimit: 2, attributePerLinkCountLimit: 2 } },
    );
  });

  it('follows the status rules: UNSET ignored, OK final, a non-string ERROR message dropped with a warning', () => {
    compare((span) => {
      span.setStatus({ code: SpanStatusCode.UNSET });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 7 as never });
      span.setStatus({ code: SpanStatusCode.OK, message: 'ignored for OK' });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'too late' });
      span.end();
    });
  });

  it('ignores (and warns about) changes after the end, and a second end', () => {
    const { lean } = compare((span) => {
      span.setAttribute('before', 1);
      span.end();
      span.setAttribute('after', 1);
      span.setAttributes({ after2: 2 });
      span.addEvent('after');
      span.addLink({ context: span.spanContext() });
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.updateName('renamed');
      span.end();
    });
    expect(lean.exported).toHaveLength(1);
    expect(lean.span.isRecording()).toBe(false);
  });

  it.each<[string, TimeInput | undefined, TimeInput | undefined]>([
    ['epoch ms start and end', 1700000000000, 1700000000250],
    ['Date start and end', new Date(1700000000000), new Date(1700000001500)],
    ['hrtime start and end', [1700000000, 1], [1700000002, 999999999]],
    ['start after end: duration 0', 1700000005000, 1700000000000],
    ['epoch ms start, no end time', 1700000000000, undefined],
  ])('takes explicit times the same: %s', (_label, startTime, endTime) => {
    const { sdk, lean } = compare((span) => span.end(endTime), { startTime });
    const times = (s: ReadableSpan) => [s.startTime, s.endTime, s.duration];
    if (endTime !== undefined) expect(times(lean.exported[0]!)).toEqual(times(sdk.exported[0]!));
    else expect(lean.exported[0]!.startTime).toEqual(sdk.exported[0]!.startTime);
  });

  it('converts a performance-relative time as SpanImpl does', () => {
    const perf = performance.now() - 2; // both in the past: a number up to performance.now() is performance-relative
    const { sdk, lean } = compare((span) => span.end(perf + 0.5), { startTime: perf });
    expect(hrMs(lean.exported[0]!.startTime)).toBeCloseTo(hrMs(sdk.exported[0]!.startTime), -1); // within a few ms
    expect(hrMs(lean.exported[0]!.duration)).toBeCloseTo(0.5, 3);
  });

  it('continues a remote parent and keeps its trace state; RECORD_ONLY records without the sampled flag', () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const { lean } = compare((span) => span.end(), { parent });
    expect(lean.exported[0]!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const recordOnly: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'ro' };
    const ro = run(true, () => undefined, { sampler: recordOnly });
    expect(ro.span).toBeInstanceOf(LeanSpan);
    expect(ro.span.isRecording()).toBe(true);
    expect(ro.span.spanContext().traceFlags).toBe(TraceFlags.NONE);
    ro.span.end();
    expect(ro.exported).toHaveLength(0); // SimpleSpanProcessor exports sampled spans only, as for SpanImpl
  });
});

describe('pipelineOf', () => {
  it('reads an SDK Tracer and refuses anything else, so that the span start falls back to tracer.startSpan', () => {
    const tracer = new TracerProvider({}).getTracer('x');
    expect(pipelineOf(tracer)).toBeDefined();
    expect(pipelineOf(trace.getTracer('noop'))).toBeUndefined();
    expect(
      pipelineOf({ _resource: {}, instrumentationScope: { name: 'x' }, _spanLimits: {}, _spanProcessor: {} }),
    ).toBeUndefined();
    const ids = new PooledIdGenerator();
    const start = fastStartSpan({ sampler: new AlwaysOnSampler(), ids });
    expect(start(trace.getTracer('noop'), 'GET', SpanKind.SERVER, ROOT_CONTEXT)).not.toBeInstanceOf(LeanSpan);
  });
});
