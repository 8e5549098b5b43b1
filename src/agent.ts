// Starts the agent once per process (per thread): decides from the environment whether to trace, and only
// then loads the SDK. The tracing-off path loads nothing from OpenTelemetry.
import { type Env, isTrue, parseBool, tracingRequested } from './config/env.js';
import { agentState } from './state.js';

const PREFIX = '[@x/trace-agent]';
export const MIN_NODE: readonly [number, number] = [22, 15];

export function startAgent(env: Env = process.env): void {
  const state = agentState();
  if (state.started) return;
  state.started = true;
  try {
    // Unset, blank or a false word (and no OTEL_EXPORT_ENABLED=true): off, decided before loading the configuration.
    if (parseBool(env.TRACES_ENABLE) === null) {
      warn(`TRACES_ENABLE="${env.TRACES_ENABLE}" is not a boolean (use true/false); tracing stays off`);
    }
    if (!tracingRequested(env)) return;
    if (isPackageManager(process.argv[1]) && !isTrue(env.TRACES_PACKAGE_MANAGERS)) {
      return; // `NODE_OPTIONS=--import …` reaches npm/yarn/pnpm themselves too: trace the app they start, not them
    }
    if (!nodeIsSupported(process.versions.node)) {
      warn(`Node ${process.versions.node} is not supported (needs >= ${MIN_NODE.join('.')}); tracing stays off`);
      return;
    }
    enableCompileCache();
    // The pipeline bundle (configuration, diagnostics, SDK) with the code cache of its earlier runs (code-cache.ts).
    const { requireWithCodeCache } = require('./code-cache.js') as typeof import('./code-cache.js');
    let diag: import('./diag.js').Diag | undefined;
    const file = require.resolve('@x/trace-agent/internal/sdk');
    const pipeline = requireWithCodeCache(file, () => diag?.debug(`code cache written for ${file}`));
    diag = (pipeline.exports as typeof import('./sdk.js')).startFromEnv(env, process.argv[1]);
    diag.debug(`${file} loaded, code cache: ${pipeline.cache}`);
  } catch (err) {
    warn(`tracing could not start and stays off: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const PACKAGE_MANAGER =
  /(^|[\\/])(npm|npx|yarn|yarnpkg|pnpm|pnpx|corepack)(-cli)?(\.c?js)?$|[\\/]node_modules[\\/](npm|yarn|pnpm|corepack)[\\/]|[\\/]\.yarn[\\/]releases[\\/]/;

/** Whether the main script is a package manager's CLI (npm-cli.js, yarn.js, pnpm.cjs, …). */
export function isPackageManager(mainScript: string | undefined): boolean {
  return mainScript !== undefined && PACKAGE_MANAGER.test(mainScript);
}

export function nodeIsSupported(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/**
 * Node's on-disk compile cache roughly halves the time to load the SDK bundle on every start after the first.
 * It applies to modules loaded from here on (the app's too, to their benefit); NODE_DISABLE_COMPILE_CACHE=1
 * turns it off, and an app that enabled it already keeps its own directory.
 */
function enableCompileCache(): void {
  try {
    const nodeModule = require('node:module') as typeof import('node:module');
    if (!nodeModule.getCompileCacheDir?.()) nodeModule.enableCompileCache?.();
  } catch {
    // an optimisation only
  }
}

function warn(message: string): void {
  try {
    process.stderr.write(`${PREFIX} warning: ${message}\n`);
  } catch {
    // stderr closed
  }
}
