// With tracing off (no agent), every slice API call is a no-op that loads nothing from OpenTelemetry.
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { bundle, ROOT } from './fixtures/slice-lib/bundle.js';

test('tracing off: calls return their off values and no @opentelemetry module is loaded', async () => {
  // OpenTelemetry stays external: had anything required it, it would show in require.cache.
  const app = await bundle('test/fixtures/slice-off/app.ts', 'slice-off', { externalOtel: true });
  const out = execFileSync(process.execPath, [app], {
    cwd: ROOT,
    env: { ...process.env, TRACES_ENABLE: 'false', SLICE_OFF_ITERATIONS: '200000' },
    encoding: 'utf8',
  });
  const report = JSON.parse(out) as {
    loaded: string[];
    otelGlobal: string[];
    results: Record<string, unknown>;
    nsPerCall: Record<string, number>;
  };
  expect(report.loaded).toEqual([]);
  expect(report.otelGlobal).toEqual([]);
  expect(report.results).toEqual({
    processTracingInit: false,
    traceRunInSlice: 3,
    traceSpanWrapped: 2,
    // everything else returns undefined, which JSON drops
  });
  // A benchmark, not a timed assertion: printed for the record (bench/slice.mjs measures it properly).
  console.log('tracing off, ns per call:', JSON.stringify(report.nsPerCall));
});
