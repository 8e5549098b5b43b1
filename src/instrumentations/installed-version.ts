// The version of a package as installed where this file resolves it, read from its package.json (the package may
// not export it). Used only where the bundle has no build-time value (the unbundled dist, run by tests and bench).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** undefined when the package cannot be found; never throws. */
export function installedVersion(name: string): string | undefined {
  try {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version;
    }
  } catch {
    // not installed here: the scope goes without a version
  }
  return undefined;
}
