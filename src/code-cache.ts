// Loads one of the agent's bundles (the pipeline, the OTLP exporter) with a V8 code cache made after it ran, beside
// Node's compile cache. Why by hand: Node's compile cache (module.enableCompileCache) is made when a file is compiled,
// before it runs, so it holds only the top-level code; every function the agent calls at start-up (module
// initialisers, readConfig, startSdk, …) was still compiled on each start. A cache made once the bundle has run holds
// them too: measured on the pipeline bundle, loading 15.0 -> 11.5 ms and starting the pipeline 9.5 -> 2.6 ms.
// V8 rejects a cache made by another V8 version, other flags or a source of another length (it checks no more of the
// source), so a cache's name carries the file's size and modification time too; a rejected or missing cache is
// written anew, once per process, shortly after start-up or at exit.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as vm from 'node:vm';

/** The functions start-up compiles are compiled by then; a process that ends sooner writes at exit. */
const WRITE_AFTER_MS = 2000;

/** Caches made and not yet written (writeCodeCachesNow: a worker thread's 'exit' does not run at the process's). */
const pending = new Set<() => void>();

interface ModuleInternals {
  Module: {
    new (id: string, parent?: NodeJS.Module): NodeJS.Module;
    _cache: Record<string, NodeJS.Module | undefined>;
    _nodeModulePaths(dir: string): string[];
  };
}

export interface Loaded {
  exports: unknown;
  /** used: run from the cache; made: compiled, the cache is written later; off: plain require(). */
  cache: 'used' | 'made' | 'off';
}

/**
 * `require(file)` (an absolute path), with the code cache when Node's compile cache is on (the agent turns it on;
 * NODE_DISABLE_COMPILE_CACHE=1 turns both off). `written` is called once a new cache is on disk. `nodeDir`: Node's
 * compile cache directory when this thread has none of its own (the exporter thread is given the main thread's).
 */
export function requireWithCodeCache(file: string, written: () => void, nodeDir?: string): Loaded {
  const { Module } = nodeModule as unknown as ModuleInternals;
  const loaded = Module._cache[file];
  if (loaded) return { exports: loaded.exports, cache: 'off' };
  const cacheFile = cacheFileFor(file, nodeDir);
  if (!cacheFile) return { exports: require(file), cache: 'off' };
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  const script = new vm.Script(nodeModule.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = m; // as require() does: a cycle, or a later require of the file, gets this module
  try {
    (script.runInThisContext() as (...args: unknown[]) => void).call(
      m.exports,
      m.exports,
      nodeModule.createRequire(file),
      m,
      file,
      dirname(file),
    );
  } catch (err) {
    delete Module._cache[file];
    throw err;
  }
  m.loaded = true;
  if (cachedData && !script.cachedDataRejected) return { exports: m.exports, cache: 'used' };
  writeLater(script, file, cacheFile, written);
  return { exports: m.exports, cache: 'made' };
}

/**
 * One of the agent's bundles by its package self-reference (`@x/trace-agent/internal/…`, so that the bundled and the
 * unbundled agent find the same file), with the code cache; `debug` hears when a new cache is written.
 */
export function requireBundle(specifier: string, debug: (message: string) => void, nodeDir?: string): unknown {
  const file = require.resolve(specifier);
  return requireWithCodeCache(file, () => debug(`code cache written for ${file}`), nodeDir).exports;
}

/** Writes the caches made so far now: a thread about to be stopped with its process (its timers never fire). */
export function writeCodeCachesNow(): void {
  for (const write of [...pending]) write();
}

function writeLater(script: vm.Script, file: string, cacheFile: string, done: () => void): void {
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    pending.delete(write);
    process.removeListener('exit', write);
    try {
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
      renameSync(partial, cacheFile); // whole or not at all for a process starting meanwhile
      removeStale(cacheFile, familyOf(file));
      done();
    } catch {
      // a full disk or a read-only directory: the next start compiles as Node would
    }
  };
  pending.add(write);
  setTimeout(write, WRITE_AFTER_MS).unref();
  process.once('exit', write);
}

/**
 * The cache's path in a directory of the agent's own inside Node's compile cache directory; undefined when that cache
 * is off, or when the directory is not this user's alone (code read from there is run).
 */
function cacheFileFor(file: string, given?: string): string | undefined {
  try {
    const nodeDir = given ?? nodeModule.getCompileCacheDir?.();
    if (!nodeDir) return undefined;
    const dir = join(nodeDir, 'x-trace-agent');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if ((process.getuid && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return undefined;
    const source = statSync(file);
    const version = `${source.size}-${Math.round(source.mtimeMs)}-${process.version}-${process.arch}`;
    return join(dir, `${familyOf(file)}${version}.cache`);
  } catch {
    return undefined;
  }
}

/** The start of the cache names of one file of one installation: its name and a hash of its path. */
function familyOf(file: string): string {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits: tells installations apart, nothing more
  for (let i = 0; i < file.length; i++) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193);
  return `${basename(file)}-${(hash >>> 0).toString(16).padStart(8, '0')}-`;
}

/** The caches of earlier builds of the same installed file (an upgrade): unusable, each ~0.5 MB in the temp dir. */
function removeStale(cacheFile: string, family: string): void {
  const dir = dirname(cacheFile);
  const name = basename(cacheFile);
  for (const other of readdirSync(dir))
    if (other !== name && other.startsWith(family) && other.endsWith('.cache'))
      rmSync(join(dir, other), { force: true });
}
