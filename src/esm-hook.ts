// ESM apps: `import` bypasses require(), so the modules we instrument are intercepted with import-in-the-middle's
// loader hook — registered only when tracing is on and only for those modules, so other imports cost nothing.
import * as nodeModule from 'node:module';
import { describeError, type Diag } from './diag.js';

export function registerEsmHook(moduleNames: string[], diag: Diag): void {
  if (!moduleNames.length) return;
  // Builtins may be imported with or without the `node:` prefix.
  const include = [...new Set(moduleNames.flatMap((m) => (nodeModule.isBuiltin(m) ? [m, `node:${m}`] : [m])))];
  try {
    const sync = require('import-in-the-middle/supports-sync-hooks.mjs') as { supportsSyncHooks(): boolean };
    if (sync.supportsSyncHooks()) {
      // In-thread hooks (Node >= 22.22.3 / 24.11.1): no loader thread to start, no message round trips.
      const hooks = require('import-in-the-middle/register-hooks.mjs') as { register(o: object): void };
      hooks.register({ include });
      return;
    }
    nodeModule.register('import-in-the-middle/hook.mjs', require('node:url').pathToFileURL(__filename), {
      data: { include },
    });
  } catch (err) {
    diag.warn(`ESM instrumentation is unavailable (${describeError(err)}); CommonJS modules are still traced`);
  }
}
