// Test hooks: internal sizes, warnings seen, and a full reset between cases. Not part of the public API.
import { resetRegistry, sliceStats } from './registry.js';
import { resetThreads, threadInfoCount } from './thread.js';
import { resetWarnings, warnedKinds } from './warn.js';

export { sliceStats, threadInfoCount, warnedKinds };

export function resetSlice(): void {
  resetRegistry();
  resetThreads();
  resetWarnings();
}
