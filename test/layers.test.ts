// The source layout's rule: a module imports only from its own layer or the layers below it (type imports too), so
// the foundation never depends on the pipeline and the pipeline never on the public surface. A new top-level module
// or folder must be given a layer here.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-app.js';

const LAYERS: string[][] = [
  ['config', 'diag', 'state', 'code-cache'], // foundation: the environment, diagnostics, per-process state, loading
  ['spans', 'exporters', 'esm-hook', 'module-hooks', 'resource'], // span machinery, both signals' export, hooks, the resource
  ['instrumentations', 'logs', 'shutdown'], // what makes spans and log records, and delivers them at exit
  ['sdk'], // the pipeline that assembles all of the above
  ['agent'], // the start-up decision
  ['api', 'slice', 'cli'], // the public surface: the package's exports, the slice API, the command line
];

const SRC = join(REPO_ROOT, 'src');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Layer index of a file under src/: its top-level folder, or its own name for a loose module. */
function layerOf(file: string): { name: string; layer: number } {
  const name = relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');
  return { name, layer: LAYERS.findIndex((names) => names.includes(name)) };
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('source layers', () => {
  const files = sources(SRC);

  it('every module of src/ belongs to a layer', () => {
    expect(files.filter((f) => layerOf(f).layer < 0).map((f) => relative(SRC, f))).toEqual([]);
  });

  it('no module imports one from a layer above its own', () => {
    const upward: string[] = [];
    let edges = 0;
    for (const file of files) {
      const from = layerOf(file);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = resolve(dirname(file), spec!).replace(/\.js$/, '.ts');
        if (!target.startsWith(SRC)) continue;
        edges++;
        const to = layerOf(target);
        if (to.layer > from.layer)
          upward.push(`${relative(SRC, file)} (${from.name}) -> ${relative(SRC, target)} (${to.name})`);
      }
    }
    expect(edges).toBeGreaterThan(100); // the scan sees the imports at all
    expect(upward).toEqual([]);
  });
});
