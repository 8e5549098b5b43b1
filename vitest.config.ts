import { defineConfig } from 'vitest/config';

/** In-process tests: they start no child process, so the fixtures' Node (TRACE_AGENT_TEST_NODE) changes nothing. */
const UNIT = [
  'cli-reader',
  'config',
  'diag',
  'exporters-outage',
  'layers',
  'lean-span',
  'logs-console-records',
  'logs-format',
  'otlp-encoder',
  'otlp-exporter',
  'export-thread-parts',
  'receiver',
  'require-hook',
  'slice',
  'slice-misuse',
  'span-start-sampling',
  'zeromq-frame',
  'zeromq-propagation-rule',
].map((name) => `test/${name}.test.ts`);

// Two projects: `unit` (in-process) and `e2e` (apps started as child processes under the agent). CI runs both on
// Node 24, then only `e2e` with the fixtures on Node 22 and 26 (`--project e2e`).
export default defineConfig({
  test: {
    // End-to-end tests start real processes; give them room on a 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
