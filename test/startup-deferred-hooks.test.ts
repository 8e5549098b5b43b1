// Start-up work the agent defers (src/esm-hook.ts, src/instrumentations/http/index.ts): import-in-the-middle's loader
// is armed by the first `import` of a module that needs it only (zeromq does not), and still wraps that very module;
// the inlined Node version check agrees with import-in-the-middle's own. No timing is measured here.
import { describe, expect, it } from 'vitest';
import { syncHooksWork } from '../src/esm-hook.js';
import { runApp } from './helpers/run-app.js';

describe('syncHooksWork (import-in-the-middle supportsSyncHooks, inlined)', () => {
  it.each([
    ['22.15.0', false],
    ['22.22.2', false],
    ['22.22.3', true],
    ['22.23.0', true],
    ['24.11.0', false],
    ['24.11.1', true],
    ['24.21.0', true],
    ['25.0.9', false],
    ['25.1.0', true],
    ['26.0.0', true],
    ['20.19.0', false],
  ])('Node %s: %s', (version, expected) => {
    expect(syncHooksWork(version)).toBe(expected);
  });

  it('agrees with import-in-the-middle on this Node', async () => {
    // @ts-expect-error: the package declares no types for this file
    const { supportsSyncHooks } = (await import('import-in-the-middle/supports-sync-hooks.mjs')) as {
      supportsSyncHooks(): boolean;
    };
    expect(syncHooksWork(process.versions.node)).toBe(supportsSyncHooks());
  });
});

describe.runIf(syncHooksWork(process.versions.node))('the ESM loader hook, armed on first use', () => {
  it('is not loaded until a module that needs it is imported, then wraps that import; zeromq never needs it', async () => {
    const run = await runApp('lazy-esm-hook.mjs', { env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none' } });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({
      before: false,
      afterHttp: false,
      afterZeromq: false,
      zeromqPatched: true,
      after: true,
      pgPatched: true,
    });
  });

  it('control: with the zeromq and pg instrumentations off nothing is armed or patched', async () => {
    const run = await runApp('lazy-esm-hook.mjs', {
      env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'zeromq,pg' },
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toMatchObject({ after: false, zeromqPatched: false, pgPatched: false });
  });
});
