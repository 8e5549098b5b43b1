// Delivers the spans still queued when the process ends abruptly: process.exit(), an uncaught exception or an
// unhandled rejection. Those paths run the 'exit' event and nothing asynchronous after it, so the spans are taken
// from the batch processor synchronously (its forceFlush hands every queued batch to the exporter within the
// call) and written synchronously: appendFileSync for the file exporter, a worker-thread OTLP request waited for
// with Atomics.wait for OTLP (see sync-send.ts). Node prints the crash and picks the exit code itself afterwards,
// so the app's output and status are exactly those it has without the agent.
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** An exporter that can hand over what it has not delivered yet, synchronously. */
export interface ExitSink {
  /** From now on export() keeps batches instead of sending them asynchronously. */
  capture(): void;
  /** Delivers the captured and in-flight batches before `deadline` (epoch ms); then exports normally again. */
  drainSync(deadline: number): void;
}

const sinks = new Set<ExitSink>();

export function registerExitSink(sink: ExitSink): void {
  sinks.add(sink);
}

/**
 * Runs in the 'exit' event. `forceFlush` is the span provider's: called only for its synchronous part (the batch
 * processor moving its queue into export()); the promise it returns is never waited for.
 */
export function flushAtExit(forceFlush: (() => Promise<void>) | undefined, timeoutMs: number): void {
  if (sinks.size === 0 || timeoutMs <= 0) return;
  const deadline = Date.now() + timeoutMs;
  for (const sink of sinks) sink.capture();
  try {
    forceFlush?.().catch(() => undefined);
  } catch {
    // nothing more to take then
  }
  for (const sink of sinks) {
    try {
      sink.drainSync(deadline);
    } catch {
      // best effort: the process is ending either way
    }
  }
}

/** Batches given to export() and not yet confirmed, plus the ones captured at exit. */
export class PendingBatches<T = ReadableSpan> {
  private readonly inFlight = new Set<T[]>();
  private captured: T[][] = [];
  capturing = false;

  /** Call when a batch goes out; returns the function to call when its result is known. */
  track(spans: T[]): () => void {
    this.inFlight.add(spans);
    return () => this.inFlight.delete(spans);
  }

  keep(spans: T[]): void {
    this.captured.push(spans);
  }

  /**
   * Everything not known to be delivered, oldest first, and stops capturing. In-flight batches are included: once
   * this thread stops, their request will never complete, so sending them again risks a duplicate rather than a
   * loss (OTLP delivery is at-least-once anyway: the exporters retry).
   */
  take(): T[] {
    const spans = [...this.inFlight, ...this.captured].flat();
    this.inFlight.clear();
    this.captured = [];
    this.capturing = false;
    return spans;
  }
}
