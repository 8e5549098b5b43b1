// While the collector fails fast (connection refused, an error answer), the OTLP exporter is tried at most once per
// RETRY_PERIOD_MS, and spans finished in between are dropped before the batch processor's queue (OutageGate).
// In process, with the real batch processor and tracer provider and an exporter that fails at once; the
// end-to-end behaviour (one warning per outage, recovery, nothing lost after it) is proven on real processes in
// faults-collector.test.ts.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import type { OtlpConfig } from '../src/config/index.js';
import type { Diag } from '../src/diag.js';
import { LazyExporter, OutageGate, RETRY_PERIOD_MS } from '../src/exporters/lazy.js';

const otlp: OtlpConfig = {
  protocol: 'http/protobuf',
  url: 'http://127.0.0.1:1/v1/traces',
  headers: {},
  compression: 'none',
  timeoutMs: 1000,
};

function recordingDiag() {
  const lines: string[] = [];
  const diag: Diag = {
    error: (m) => lines.push(`error: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    notice: (m) => lines.push(`notice: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    debug: () => undefined,
    enabled: () => true,
  } as Diag;
  return { diag, lines };
}

/** A collector that refuses every export at once, until `up` is set; counts what reaches it. */
function collector() {
  const state = { up: false, attempts: 0, delivered: 0 };
  const exporter: SpanExporter = {
    export(spans: ReadableSpan[], done) {
      state.attempts++;
      if (state.up) state.delivered += spans.length;
      done(state.up ? { code: 0 } : { code: 1, error: new Error('connect ECONNREFUSED') });
    },
    shutdown: async () => undefined,
  };
  return { state, exporter };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a collector that fails fast', () => {
  it('is tried at most once per retry period; spans in between never reach the queue; recovery counts them', async () => {
    const { state, exporter } = collector();
    const { diag, lines } = recordingDiag();
    const lazy = new LazyExporter<ReadableSpan>('traces', () => exporter, otlp, diag);
    const batch = new BatchSpanProcessor({
      exporter: lazy,
      scheduledDelayMillis: 20,
      maxExportBatchSize: 64,
      maxQueueSize: 256,
    });
    const gate = new OutageGate(lazy, batch);
    const provider = new TracerProvider({ spanProcessors: [gate] });
    const tracer = provider.getTracer('outage');
    let made = 0;
    const makeSpans = (n: number) => {
      for (let i = 0; i < n; i++, made++) tracer.startSpan('s', {}, ROOT_CONTEXT).end();
    };

    const windowMs = 2.5 * RETRY_PERIOD_MS;
    const start = Date.now();
    while (Date.now() - start < windowMs) {
      makeSpans(50);
      await sleep(10);
    }
    // Without the pacing, a batch every ~20 ms would each be an attempt (over 100 in the window).
    expect(state.attempts).toBeGreaterThanOrEqual(2);
    expect(state.attempts).toBeLessThanOrEqual(Math.ceil(windowMs / RETRY_PERIOD_MS) + 1);
    expect(lines.filter((l) => l.includes('failed'))).toHaveLength(1);

    // While paused, a finished span is dropped by the gate: the queue behind it stays empty.
    expect(lazy.paused()).toBe(true);

    state.up = true;
    await sleep(RETRY_PERIOD_MS + 50);
    makeSpans(10); // the first batch after the pause is the probe, and it succeeds
    await provider.forceFlush();
    makeSpans(30);
    await provider.forceFlush();
    expect(lazy.paused()).toBe(false);
    expect(state.delivered).toBeGreaterThanOrEqual(40);
    const recovered = lines.filter((l) => l.includes('works again'));
    expect(recovered).toHaveLength(1);
    const dropped = Number(/(\d+) span\(s\) were dropped/.exec(recovered[0]!)?.[1]);
    // Every span made during the outage is accounted for: dropped by the gate, or in a failed batch.
    expect(dropped + state.delivered).toBe(made);
    await provider.shutdown();
  });
});
