// src/instrumentations/catalog.ts names each instrumentation's target modules statically (to load it on first use
// of them): this fails when it drifts from what @opentelemetry/auto-instrumentations-node, as installed, says.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUILT_IN_NAMES,
  CONTRIB,
  DEFAULT_INSTRUMENTATIONS,
  METRICS_ONLY,
  shortName,
} from '../src/instrumentations/catalog.js';
import { REPO_ROOT, runApp } from './helpers/run-app.js';

interface Official {
  all: { name: string; exportName: string; modules: string[] }[];
  defaults: string[];
}
let official: Official;
beforeAll(async () => {
  const run = await runApp('official-catalog.cjs', { nodeArgs: [] });
  expect(run.code, run.stderr.join('\n')).toBe(0);
  official = JSON.parse(run.stdout.at(-1)!) as Official;
});

describe('the catalog against auto-instrumentations-node', () => {
  it('names every instrumentation it has (ours replace http and undici; metrics-only ones are left out)', () => {
    const names = official.all.map((i) => shortName(i.name)).sort();
    expect(names).toEqual([...Object.keys(CONTRIB), 'http', 'undici', ...METRICS_ONLY].sort());
  });

  it('has the class each package exports and the modules it patches', () => {
    const ours = Object.fromEntries(
      Object.entries(CONTRIB).map(([name, [exportName, modules]]) => [name, { exportName, modules: [...modules] }]),
    );
    const theirs = Object.fromEntries(
      official.all
        .filter((i) => Object.hasOwn(CONTRIB, shortName(i.name)))
        .map((i) => [shortName(i.name), { exportName: i.exportName, modules: i.modules }]),
    );
    expect(ours).toEqual(theirs);
  });

  it("the default set is the official register's, minus metrics-only, plus fastify and zeromq", () => {
    const officialDefaults = official.defaults.map(shortName).filter((n) => !METRICS_ONLY.includes(n));
    expect([...DEFAULT_INSTRUMENTATIONS].sort()).toEqual([...officialDefaults, 'fastify', 'zeromq'].sort());
    expect(DEFAULT_INSTRUMENTATIONS).toEqual(expect.arrayContaining([...BUILT_IN_NAMES]));
  });
});

describe('the packages the agent shares with the contrib instrumentations (src/instrumentations/shared-otel.ts)', () => {
  const { satisfies } = createRequire(import.meta.url)('semver') as { satisfies(v: string, range: string): boolean };
  const manifest = (pkg: string) =>
    JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };

  it.each(['@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/instrumentation'])(
    '%s, as bundled, is in the range every contrib instrumentation asks for',
    (shared) => {
      const bundled = manifest(shared).version; // scripts/bundle.mjs bundles the top-level copy
      const misfits = Object.keys(CONTRIB)
        .map((name) => ({ name, pkg: manifest(`@opentelemetry/instrumentation-${name}`) }))
        .map(({ name, pkg }) => [name, pkg.dependencies?.[shared] ?? pkg.peerDependencies?.[shared]] as const)
        .filter(([, range]) => range !== undefined && !satisfies(bundled, range));
      expect(misfits).toEqual([]);
    },
  );
});

describe('the contrib bundles (scripts/bundle.mjs)', () => {
  it('have no Array.from(arguments), slow for an arguments object: a slice instead (express: once per layer)', () => {
    const bundle = (name: string) => readFileSync(join(REPO_ROOT, 'dist/contrib', `${name}.js`), 'utf8');
    expect(Object.keys(CONTRIB).filter((name) => bundle(name).includes('Array.from(arguments)'))).toEqual([]);
    expect(bundle('express')).toContain('Array.prototype.slice.call(arguments)');
  });
});
