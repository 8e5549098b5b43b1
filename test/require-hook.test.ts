// The filter in front of require-in-the-middle (src/instrumentations/require-hook.ts): which requires it lets through
// to the hook. A require it wrongly skipped would leave a library unpatched: the end-to-end tests of every
// framework and database client (and their ES module forms) would lose their spans.
import { sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayReach, packageOfFile } from '../src/instrumentations/require-hook.js';

const wanted = new Set(['express', 'pg', '@redis/client', 'dns', 'net']);
const file = (...parts: string[]) => [sep === '/' ? '' : 'C:', 'app', ...parts].join(sep);
const parent = (filename: string) => ({ filename }) as NodeJS.Module;
const app = parent(file('src', 'server.js'));

describe('packageOfFile', () => {
  it.each([
    [file('node_modules', 'pg', 'lib', 'client.js'), 'pg'],
    [file('node_modules', '@redis', 'client', 'dist', 'index.js'), '@redis/client'],
    [file('node_modules', 'knex', 'node_modules', 'pg', 'index.js'), 'pg'], // the innermost package
    [file('node_modules', '.pnpm', 'pg@8', 'node_modules', 'pg', 'index.js'), 'pg'],
    [file('src', 'server.js'), undefined],
    [file('node_modules', 'pg'), undefined], // the directory itself is no file of the package
  ])('%s → %s', (path, pkg) => {
    expect(packageOfFile(path)).toBe(pkg);
  });
});

describe('mayReach', () => {
  it.each([
    ['express', app, true],
    ['express/lib/router', app, true],
    ['@redis/client', app, true],
    ['node:dns/promises', app, true],
    ['net', app, true],
    ['body-parser', app, false],
    ['node:fs', app, false],
    ['./routes.js', app, false], // the app's own files
    ['./lib/client', parent(file('node_modules', 'pg', 'index.js')), true], // a file inside a wanted package
    ['./lib/read', parent(file('node_modules', 'body-parser', 'index.js')), false],
    [file('node_modules', 'pg', 'lib', 'index.js'), app, true], // an absolute path into a wanted package
    [file('src', 'routes.js'), app, false],
  ])('require(%s) from %s: %s', (id, from, expected) => {
    expect(mayReach(id, from, wanted)).toBe(expected);
  });

  it('without a parent to judge a relative require by, or with an odd id, the hook decides', () => {
    expect(mayReach('./x', undefined, wanted)).toBe(true);
    expect(mayReach(42, app, wanted)).toBe(true);
  });
});
