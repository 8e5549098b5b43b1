// src/module-hooks.ts: for a CommonJS main module the agent's ES module resolve hooks are set aside (each one made
// Node turn every require() resolution into a URL and back), yet every way an ES module can load still has them:
// import() brings them back for good, require() of an ES module that imports another has them while it loads.
import { describe, expect, it } from 'vitest';
import { syncHooksWork } from '../src/esm-hook.js';
import { importsStatically } from '../src/module-hooks.js';
import { runApp } from './helpers/run-app.js';

describe('importsStatically: what require() of a file loads as an ES module that imports another', () => {
  it.each([
    'import x from "y";',
    'import{a}from"b"',
    "import 'side-effect';",
    'import * as ns from "x"',
    'export { a } from "b"',
    'export * from "x"',
    '"use strict";\r\n\r\nimport color from "color";',
    'x();import {b} from "c"',
  ])('yes: %s', (source) => {
    expect(importsStatically(source, '/app/typeless/a.js', undefined)).toBe(true);
    expect(importsStatically(source, '/app/a.mjs', 'module')).toBe(true);
  });

  it.each([
    'const { importHooks } = require("x")',
    'module.exports = 1; exports.a = 2',
    '// import x from "y"',
    ' * register("import-in-the-middle/hook.mjs", import.meta.url)',
    'import("x").then(() => {})',
    'const imported = 1; function exportAll() {}',
    '__importDefault(require("x")); obj.import = 1',
    'export const answer = 42; export default 1', // module syntax that resolves nothing
  ])('no: %s', (source) => {
    expect(importsStatically(source, '/app/typeless/a.js', undefined)).toBe(false);
  });

  it('takes the format Node passes: CommonJS never, a .cjs file never', () => {
    expect(importsStatically('import x from "y"', '/app/a.js', 'commonjs')).toBe(false);
    expect(importsStatically('import x from "y"', '/app/a.cjs', undefined)).toBe(false);
    expect(importsStatically('import x from "y"', '/app/a.mts', 'module-typescript')).toBe(true);
  });
});

const debugEnv = { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', OTEL_LOG_LEVEL: 'debug' };
const SET_ASIDE = 'the main module is CommonJS: ES module hooks set aside';

describe.runIf(syncHooksWork(process.versions.node))('a CommonJS main module with ES module parts', () => {
  it.each([
    ['import', 'import() of an ES module that imports pg', true],
    ['require-esm', 'require() of an .mjs that imports pg', false],
    ['require-typeless', 'require() of a .js with import statements in a package without "type"', false],
    ['require-esm-no-imports', 'require() of an ES module that imports nothing, then require("pg")', false],
    ['require', 'require("pg")', false],
  ])('%s: pg is patched after %s, and so is express required after it', async (mode, _what, backForGood) => {
    const run = await runApp('cjs-main-esm/main.cjs', { args: [mode], env: debugEnv });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ pg: true, express: true });
    const stderr = run.stderr.join('\n');
    expect(stderr).toContain(SET_ASIDE);
    expect(stderr.includes('ES module hooks back for good: import() of ./imports-pg.mjs')).toBe(backForGood);
  });

  it('--require @x/trace-agent: the same for require() of an ES module', async () => {
    const run = await runApp('cjs-main-esm/main.cjs', {
      args: ['require-esm'],
      env: debugEnv,
      nodeArgs: ['--require', '@x/trace-agent'],
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ pg: true, express: true });
    expect(run.stderr.join('\n')).toContain(SET_ASIDE);
  });

  it('an ES module main keeps them: nothing is set aside', async () => {
    const run = await runApp('lazy-esm-hook.mjs', { env: debugEnv });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(JSON.parse(run.stdout.at(-1)!)).toMatchObject({ pgPatched: true, zeromqPatched: true });
    expect(run.stderr.join('\n')).not.toContain(SET_ASIDE);
  });
});
