// The agent's own diagnostics as OpenTelemetry code reaches them (in process; what a real process prints is
// covered by the lifecycle, faults-* and zeromq tests): component loggers keep their message, objects are never
// printed, and an error inside an instrumentation is reported once, not once per request.
import { DiagLogLevel, diag as otelDiag, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDiag, OTEL_DIAG_LEVEL, otelLogger } from '../src/diag.js';
import { contextRunner } from '../src/instrumentations/http/context.js';
import { serverRequestStarted } from '../src/instrumentations/http/server.js';
import { sdkStartSpan } from '../src/spans/span-start.js';

let lines: string[];
beforeEach(() => {
  lines = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk).trimEnd());
    return true;
  });
  otelDiag.setLogger(otelLogger(createDiag('warn', ['s3cr3t-value'])), {
    logLevel: DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });
});
afterEach(() => {
  otelDiag.disable();
  vi.restoreAllMocks();
});

describe('OpenTelemetry diag routed to the agent', () => {
  it("a component logger's message is printed after its namespace; objects are not; errors give their message", () => {
    const component = otelDiag.createComponentLogger({ namespace: '@x/trace-agent/zeromq' });
    component.warn('zeromq 7.0.0 is not supported', { socket: 'object never printed' });
    component.warn('could not be instrumented', new Error('prototype frozen'));
    expect(lines).toEqual([
      '[@x/trace-agent] warn: @x/trace-agent/zeromq: zeromq 7.0.0 is not supported',
      '[@x/trace-agent] warn: @x/trace-agent/zeromq: could not be instrumented: prototype frozen',
    ]);
  });

  it('OTEL_LOG_LEVEL maps to the API’s diag levels (written by value, not imported)', () => {
    expect(OTEL_DIAG_LEVEL).toEqual({
      none: DiagLogLevel.NONE,
      error: DiagLogLevel.ERROR,
      warn: DiagLogLevel.WARN,
      info: DiagLogLevel.INFO,
      debug: DiagLogLevel.DEBUG,
      verbose: DiagLogLevel.VERBOSE,
      all: DiagLogLevel.ALL,
    });
  });

  it('secrets are redacted from OpenTelemetry messages too', () => {
    otelDiag.error('export failed: header authorization=Bearer s3cr3t-value rejected');
    expect(lines).toEqual(['[@x/trace-agent] error: export failed: header authorization=Bearer *** rejected']);
  });
});

describe('an internal error of the http instrumentation', () => {
  it('is caught, never reaches the caller, and is reported once however often it happens', () => {
    const onRequest = serverRequestStarted({
      tracer: trace.getTracer('test'),
      startSpan: sdkStartSpan,
      runner: contextRunner(undefined),
      diag: otelDiag.createComponentLogger({ namespace: '@opentelemetry/instrumentation-http' }),
    });
    // A publication Node never makes: the instrumentation's own code throws on it.
    for (let i = 0; i < 5; i++) expect(() => onRequest(undefined)).not.toThrow();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[@x\/trace-agent\] warn: @opentelemetry\/instrumentation-http: http server span not started: an internal error was caught/,
    );
  });
});
