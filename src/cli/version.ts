// The package's name and version, read from its package.json (found from dist/src/cli or from src/cli).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function packageVersion(): string {
  for (const up of [
    ['..', '..', '..'],
    ['..', '..'],
  ]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, ...up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@x/trace-agent') return `${pkg.name} ${pkg.version ?? ''}`.trim();
    } catch {
      // not at this level: try the next one
    }
  }
  return '@x/trace-agent (version unknown)';
}
