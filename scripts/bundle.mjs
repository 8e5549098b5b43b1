// Bundles what `tsc -p .` compiled one file per module into the four files the agent actually loads:
//   dist/register.js             the entry (tracing off stops here): agent start-up decision + public API facade
//   dist/src/sdk.js              the pipeline, loaded only when tracing is on
//   dist/src/exporters/otlp.js   the OTLP exporter, loaded after start-up (see src/exporters/lazy.ts)
//   dist/src/exporters/official.js   the official OTLP exporters, loaded only for gRPC through a proxy
//   dist/src/exporters/thread/exporter-thread.js   the exporter thread's program (TRACES_EXPORT_THREAD)
// Run by `npm run bundle` after tsc (which still emits
// every module for the lazily required parts and the type declarations).
//
// Why a script rather than two esbuild command lines (see bench/README.md for what each step bought):
//  - The entry as one file: with tracing off, loading 8 small files (register, agent, state, api, slice facade,
//    names, message-context, config) cost ~15 ms of start-up on a 2-core machine; one ~8 KB file costs ~3 ms.
//    Its lazy requires (config/diag/sdk when tracing is on, the slice implementation on first use) stay separate
//    files, so nothing from OpenTelemetry is parsed on the tracing-off path. Its exports are plain properties.
//  - One copy of each OpenTelemetry package: the CommonJS builds of some packages (sdk-logs, the undici
//    instrumentation, propagator-b3) `require()` @opentelemetry/api, core, resources and semantic-conventions,
//    which made esbuild add their CommonJS builds beside the ES builds our own `import`s use: two copies of
//    each in the bundle (and the whole semantic-conventions index, ~200 KB) and tens of ms of module
//    evaluation. Resolving those requires to the ES builds leaves one copy, shared.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const external = [
  '@x/trace-agent/*',
  'import-in-the-middle',
  'import-in-the-middle/*',
  '@opentelemetry/auto-instrumentations-node',
  'zeromq',
  'zeromq/*',
];

/** `require('@opentelemetry/…')` from CommonJS packages resolves to the package's ES build, as our imports do. */
const oneCopyOfOpenTelemetry = {
  name: 'one-copy-of-opentelemetry',
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\// }, async (args) => {
      if (args.kind !== 'require-call' || args.pluginData === 'as-import') return undefined;
      if (external.some((e) => (e.endsWith('/*') ? args.path.startsWith(e.slice(0, -1)) : args.path === e)))
        return undefined;
      const r = await b.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'as-import',
      });
      return r.errors.length ? undefined : { path: r.path, external: r.external, sideEffects: r.sideEffects };
    });
  },
};

/**
 * The entry bundle keeps the modules it loads lazily (`require('./x.js')` in src/) as the separate files tsc
 * emitted, required by their path relative to dist/register.js.
 */
const lazyRequiresStayFiles = {
  name: 'lazy-requires-stay-files',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'require-call') return undefined;
      const target = resolve(dirname(args.importer), args.path); // …/src/sdk.js, compiled by tsc into dist/src/sdk.js
      const fromEntry = `./${relative(root, target).split('\\').join('/')}`;
      return { path: fromEntry, external: true };
    });
  },
};

/** The version of instrumentation-http whose spans src/instrumentations/http reproduces (its package.json is not exported). */
const httpScopeVersion = JSON.parse(
  readFileSync(join(root, 'node_modules/@opentelemetry/instrumentation-http/package.json'), 'utf8'),
).version;
const agentVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const define = {
  __HTTP_SCOPE_VERSION__: JSON.stringify(httpScopeVersion),
  __AGENT_VERSION__: JSON.stringify(agentVersion),
};
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  logLevel: 'warning',
  external,
  define,
};
/** See scripts/shims/debug.cjs: require-in-the-middle's debug logging, off unless DEBUG is set, without its start-up. */
const alias = { debug: join(root, 'scripts/shims/debug.cjs') };

/**
 * @opentelemetry/instrumentation's require-in-the-middle is src/instrumentations/require-hook.ts, which filters the
 * requires the hook sees (and imports the real package itself).
 */
const requireHook = join(root, 'src/instrumentations/require-hook.ts');
const filteredRequireHook = {
  name: 'filtered-require-hook',
  setup(b) {
    b.onResolve({ filter: /^require-in-the-middle$/ }, (args) =>
      args.importer === requireHook ? undefined : { path: requireHook },
    );
  },
};

const results = await Promise.all([
  build({
    ...common,
    alias,
    entryPoints: [join(root, 'src/sdk.ts')],
    outfile: join(root, 'dist/src/sdk.js'),
    plugins: [oneCopyOfOpenTelemetry, filteredRequireHook],
  }),
  build({
    ...common,
    entryPoints: [join(root, 'src/exporters/otlp.ts')],
    outfile: join(root, 'dist/src/exporters/otlp.js'),
    external: [...external, '@opentelemetry/otlp-transformer'],
  }),
  // Not for the official exporters' bundle: the ES build of otlp-grpc-exporter-base requires @grpc/grpc-js through
  // createRequire(import.meta.url), which a CommonJS bundle cannot express (and it loads after start-up anyway).
  build({
    ...common,
    entryPoints: [join(root, 'src/exporters/official.ts')],
    outfile: join(root, 'dist/src/exporters/official.js'),
  }),
  // The exporter thread's program (TRACES_EXPORT_THREAD): one file for the thread to load; it requires the OTLP
  // exporter bundle above when it first exports.
  build({
    ...common,
    entryPoints: [join(root, 'src/exporters/thread/exporter-thread.ts')],
    outfile: join(root, 'dist/src/exporters/thread/exporter-thread.js'),
    plugins: [oneCopyOfOpenTelemetry],
  }),
  build({
    ...common,
    entryPoints: [join(root, 'register.ts')],
    outfile: join(root, 'dist/register.js'),
    plugins: [lazyRequiresStayFiles],
  }),
]);

/**
 * Each of auto-instrumentations-node's instrumentations as one file, dist/contrib/<name>.js, loaded on first use of
 * its module (src/instrumentations/contrib.ts). Built from the packages' ES builds, so that only the few
 * semantic-conventions constants each one uses come along: required as published, they loaded the whole
 * semantic-conventions index (~9 ms of CPU at an Express + pg app's start-up) and about 40 files for five
 * instrumentations. The OpenTelemetry packages the agent shares with them (contrib.ts: sharedCopy) stay requires.
 */
const { CONTRIB } = createRequire(import.meta.url)(join(root, 'dist/src/instrumentations/catalog.js'));
const autoDir = dirname(createRequire(join(root, 'package.json')).resolve('@opentelemetry/auto-instrumentations-node'));
const contribFiles = Object.entries(CONTRIB).map(([name, [exportName]]) => ({
  name,
  file: `dist/contrib/${name}.js`,
  pkg: `@opentelemetry/instrumentation-${name}`,
  exportName,
}));
const shared = ['@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/instrumentation'];
// winston's instrumentation requires this at run time, when installed (a dependency of the agent for that).
const optional = ['@opentelemetry/winston-transport'];
/**
 * `Array.from(arguments)` in a contrib instrumentation's code becomes `Array.prototype.slice.call(arguments)`: the
 * same array, but V8 takes Array.from's generic iterator path for an arguments object (~1.2 µs a call on Node
 * 22-26, against ~0.09). The express instrumentation calls it once per layer a request passes: measured, an
 * Express route served ~25% more req/s with sampling off (bench/README.md).
 */
const ARRAY_FROM_ARGUMENTS = 'Array.from(arguments)';
const argumentsSlice = {
  name: 'arguments-slice',
  setup(b) {
    b.onLoad({ filter: /[\\/]@opentelemetry[\\/]instrumentation-[^\\/]+[\\/].*\.m?js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(ARRAY_FROM_ARGUMENTS)) return undefined;
      return {
        contents: source.replaceAll(ARRAY_FROM_ARGUMENTS, 'Array.prototype.slice.call(arguments)'),
        loader: 'js',
      };
    });
  },
};
const buildContrib = ({ file, pkg, exportName }, esm) =>
  build({
    ...common,
    stdin: {
      contents: esm
        ? `export { ${exportName} } from '${pkg}';`
        : `exports.${exportName} = require('${pkg}').${exportName};`,
      resolveDir: autoDir,
      loader: 'js',
    },
    outfile: join(root, file),
    external: [...external, ...shared, ...optional],
    plugins: [argumentsSlice],
  });
for (const c of contribFiles) {
  results.push(await buildContrib(c, true));
  // An ES build that reads import.meta (createRequire) cannot become CommonJS: that one is built from its CJS build.
  if (readFileSync(join(root, c.file), 'utf8').includes('import_meta = {}')) results.push(await buildContrib(c, false));
}

// An ES module that reads import.meta cannot be bundled as CommonJS: esbuild leaves an empty object in its place.
for (const file of [
  ...contribFiles.map((c) => c.file),
  'dist/src/sdk.js',
  'dist/src/exporters/otlp.js',
  'dist/src/exporters/official.js',
  'dist/src/exporters/thread/exporter-thread.js',
  'dist/register.js',
]) {
  if (readFileSync(join(root, file), 'utf8').includes('import_meta = {}')) {
    console.error(`scripts/bundle.mjs: ${file} uses import.meta, which is empty in a CommonJS bundle`);
    process.exit(1);
  }
}
void results;
