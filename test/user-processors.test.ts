// ANYSCALE_TRACING_EXPORTER_IMPORT_PATH (Ray Serve's exporter_import_path): span processors from the app's own
// module, beside the configured exporters; bad paths and bad processors never stop tracing or the app.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
let dir: string;
beforeAll(async () => {
  receiver = await h.receiver();
  dir = mkdtempSync(join(tmpdir(), 'trace-agent-processors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(service: string, importPath: string, extra: Record<string, string> = {}) {
  const result = await runApp('echo-headers.mjs', {
    env: agentEnv(receiver, service, { ANYSCALE_TRACING_EXPORTER_IMPORT_PATH: importPath, ...extra }),
  });
  expect(result.code, result.stderr.join('\n')).toBe(0);
  const spans = await receiver.waitForSpans({ where: byService(service), count: 5 });
  return { ...result, spans, warnings: result.stderr.filter((l) => l.includes(' warn: ')) };
}

describe('ANYSCALE_TRACING_EXPORTER_IMPORT_PATH', () => {
  it('module:function (CommonJS, relative path): its processors enrich every span and get them as a second backend', async () => {
    const file = join(dir, 'second-backend.tsv');
    const { spans, warnings } = await run('processors-cjs', './test/fixtures/user-processors.cjs:processors', {
      USER_PROCESSOR_FILE: file,
    });
    expect(warnings).toEqual([]);
    expect(spans.every((s) => s.attributes['enriched.by'] === 'user-processors.cjs')).toBe(true);
    const written = readFileSync(file, 'utf8').trim().split('\n');
    expect(written.sort()).toEqual(spans.map((s) => `${s.name}\t${s.traceId}`).sort());
  });

  it('an ES module by its default export', async () => {
    const { spans, warnings } = await run('processors-esm', `${process.cwd()}/test/fixtures/user-processors.mjs`);
    expect(warnings).toEqual([]);
    expect(spans.every((s) => s.attributes['enriched.by'] === 'user-processors.mjs')).toBe(true);
  });

  it.each([
    ['a missing module', './test/fixtures/no-such-module.cjs:processors', /no span processors: .*Cannot find module/],
    ['an export that is no function', './test/fixtures/user-processors.cjs:notAFunction', /is not a function/],
    ['a list with things that are no processors', './test/fixtures/user-processors.cjs:garbage', /1 of 3 used/],
    ['a processor that throws', './test/fixtures/user-processors.cjs:throwing', /onStart threw .*on purpose/],
  ])('%s: one warning, the spans still go to the configured exporter', async (what, importPath, message) => {
    const { spans, warnings } = await run(`processors-bad-${what.replace(/\W+/g, '-')}`, importPath);
    expect(warnings, warnings.join('\n')).toHaveLength(1);
    expect(warnings[0]).toMatch(message);
    expect(warnings[0]).toContain('ANYSCALE_TRACING_EXPORTER_IMPORT_PATH');
    expect(spans.length).toBeGreaterThanOrEqual(5);
  });
});
