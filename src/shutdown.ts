// Delivers finished spans when the process ends, without changing how it ends: an app with no SIGTERM/SIGINT
// handler of its own still dies of that signal (same status as without the agent), an app with one keeps
// control of its shutdown, and a collector that is down delays the end by at most the shutdown timeout.
// process.exit(), uncaught exceptions and unhandled rejections end the process synchronously: the spans still
// queued then are delivered from the 'exit' event (exporters/exit-flush.ts), and Node prints and exits as usual.
import { isMainThread } from 'node:worker_threads';
import type { Diag } from './diag.js';
import { flushAtExit } from './exporters/exit-flush.js';
import { reportDropsNow } from './exporters/queue-watch.js';
import { agentState, flushAll, shutdownAll } from './state.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** `timeoutMs`: the longest the agent delays the end of the process (TRACES_SHUTDOWN_TIMEOUT_MS). */
export function installShutdownHooks(timeoutMs: number, diag: Diag): void {
  const state = agentState();
  const flushWithin = (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const flushed = flushAll(state).then(
      () => 'done' as const,
      () => 'done' as const,
    );
    return Promise.race([flushed, deadline]).finally(() => {
      clearTimeout(timer);
      reportDropsNow();
    });
  };

  // Set when the agent itself ends the process after giving up on a flush: the 'exit' flush must not wait again.
  let gaveUp = false;

  // The loop is empty: export what is still queued. With nothing queued no I/O starts and the process ends.
  let exiting = false;
  process.on('beforeExit', () => {
    if (exiting) return;
    exiting = true;
    void flushWithin(timeoutMs).then((outcome) => {
      exiting = false;
      if (outcome === 'timeout') {
        diag.warn(`spans/logs not delivered within ${timeoutMs} ms at exit; exiting anyway`);
        gaveUp = true;
        process.exit();
      }
    });
  });

  // process.exit(), a crash: synchronous delivery of what is left, bounded by the same timeout.
  process.on('exit', () => {
    if (gaveUp) return;
    try {
      flushAtExit(state.forceFlush, timeoutMs);
      reportDropsNow();
    } catch {
      // never let the agent change how the process ends
    }
  });

  if (!isMainThread) return; // signals are delivered to the main thread only
  for (const signal of SIGNALS) {
    const onSignal = () => {
      const appHandlesIt = process.listenerCount(signal) > 1;
      if (appHandlesIt) {
        // The app decides when and how to exit; we only hurry the spans out.
        void flushWithin(timeoutMs);
        return;
      }
      // A second signal while flushing ends the process at once, as it would without us.
      process.removeListener(signal, onSignal);
      void shutdownAll(state, timeoutMs).finally(() => {
        reportDropsNow();
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}
