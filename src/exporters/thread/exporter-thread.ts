// The program of the exporter thread (TRACES_EXPORT_THREAD): for each signal's ring, takes the records the app's
// thread put in it (hand-off.ts), batches them, and exports them with the signal's OTLP exporter behind the same LazyExporter as on
// the app's thread (outage pacing, one warning per outage, the count of what was dropped), all on this thread's own
// event loop: an app thread that never yields still gets its spans out. Started with no preload and no environment,
// so the agent does not start again in here; loads the OTLP exporter bundle as it starts.
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { diag as otelDiag } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { requireBundle, writeCodeCachesNow } from '../../code-cache.js';
import type { BatchConfig, LogLevel, OtlpConfig } from '../../config/index.js';
import { createDiag, type Diag, OTEL_DIAG_LEVEL, otelLogger } from '../../diag.js';
import type { Signal } from '../otlp-wire.js';
import { READER, SLEEP, SLOT, THREAD_CHANNEL } from './ring.js';
import { countResult, RingBatches, type RingTables, ringExporter } from './ring-batches.js';

/** One signal's ring and how to export it; plain data only (it crosses the thread boundary by structured clone). */
export interface RingSpec {
  sab: SharedArrayBuffer;
  /** Date.now() when the ring was made: SLOT.pausedUntil counts from it (an Int32 cannot hold epoch ms). */
  epoch: number;
  /** The writer's thread id and the signal: names the ring in flush messages. */
  id: string;
  signal: Signal;
  /** Written by an app worker's thread (exporter-link.ts's HostLink): let go once closed, or idle and empty. */
  guest: boolean;
  otlp: OtlpConfig;
  batch: BatchConfig;
  /**
   * Every resource and scope record the writer made (hand-off.ts), cloned when the spec is sent: a reader that starts
   * after another took those records from the ring (the app's thread, a thread that failed) reads on all the same.
   */
  tables: RingTables;
}

/** What the thread is given; rings added after it started come as messages. */
export interface ExportThreadData {
  rings: RingSpec[];
  logLevel: LogLevel;
  secrets: string[];
  /** The main thread's exporter thread: also takes the app's workers' rings, and hears them on THREAD_CHANNEL. */
  host?: boolean;
  /** The app's Node compile cache directory, if on: the exporter bundle's code cache goes there (code-cache.ts). */
  codeCacheDir?: string;
}

/**
 * A worker's ring with nothing handed for this many batch delays (a minute by default), and empty, is let go: a
 * worker ended by terminate() never says it is done.
 */
const IDLE_GUEST_DELAYS = 12;

/**
 * Requests in flight at once: one, as the batch processor does, so a collector that hangs sees one request per
 * export timeout; records wait in the ring meanwhile (and, when it is full, new ones are dropped and counted).
 */
const MAX_IN_FLIGHT = 1; // and RingBatches reuses its buffers once the one export in flight has ended

/** The headers of the rings written by the app's main thread (its SLOT.exiting silences the thread's warnings). */
const headers: Int32Array[] = [];
let channel: BroadcastChannel | undefined;
/** Each ring loop's wake-up: a 'wake' message from the app's thread calls them all. */
const wakers = new Set<() => void>();
/** The thread's debug lines (code cache written), once its diagnostics exist. */
let debug: (message: string) => void = () => {};
/** Set once the first export has ended: the exporter's code cache is written then, with what it compiled. */
let exported = false;

/**
 * The thread's diagnostics, as the app thread's (and OpenTelemetry's own, so OTEL_LOG_LEVEL=debug shows the
 * exporter's lines). Once the app's thread is in its 'exit' event it reports what was not delivered itself: a line
 * written here then would reach stderr through the app's thread, which is about to end, or not at all.
 */
function threadDiag(level: LogLevel, secrets: string[]): Diag {
  // Lines go to the app's thread as messages, which it writes in order with the flush completions that follow them:
  // through this thread's own stderr (piped asynchronously) the last export's line was lost when the app ended
  // right after its flush (a failure at a natural exit went unreported).
  const own = createDiag(level, secrets, (line) => parentPort?.postMessage({ diag: line }));
  const exiting = () => headers.some((h) => Atomics.load(h, SLOT.exiting) !== 0);
  const quiet = (write: (message: string) => void) => (message: string) => {
    if (!exiting()) write(message);
  };
  const diag: Diag = { ...own, warn: quiet(own.warn), notice: quiet(own.notice), error: quiet(own.error) };
  otelDiag.setLogger(otelLogger(diag), { logLevel: OTEL_DIAG_LEVEL[level], suppressOverrideMessage: true });
  return diag;
}

/** Exports one signal's ring, on this thread's event loop, until the thread ends. */
function run(d: RingSpec, diag: Diag): void {
  const batches = new RingBatches(d.sab, d.batch.maxExportBatchSize, d.tables);
  const { ring, header } = batches;
  // One reader per ring: a worker's ring may reach this thread and the worker's own (exporter-link.ts).
  if (Atomics.compareExchange(header, SLOT.reader, READER.none, READER.thread) !== READER.none) return;
  if (!d.guest) headers.push(header);
  const exporter = ringExporter(d, batches, diag, loadExporter);

  let inFlight = 0;
  let lastExportAt = 0;
  /**
   * Exports while a request may start: a full batch at once; a partial one only once the batch delay has passed
   * since the last export, or for a flush. (Sending whatever had arrived as soon as the previous request ended made
   * requests of a few spans each under load: ~5 µs of this thread's CPU per span, against ~1 µs in full batches.)
   */
  const pump = (flushing: boolean): void => {
    while (inFlight < MAX_IN_FLIGHT) {
      const waiting = batches.waiting();
      const due = flushing || Date.now() - lastExportAt >= d.batch.scheduledDelayMs;
      if (waiting > 0 && waiting < (due ? 1 : d.batch.maxExportBatchSize)) return;
      // With nothing waiting this still takes the scope and resource records written ahead of any item (and any
      // item that came meanwhile), so that an empty ring reads as empty.
      const items = batches.take();
      if (items.length === 0) return;
      lastExportAt = Date.now();
      inFlight++;
      const droppedMeanwhile = Atomics.exchange(header, SLOT.outageDropped, 0);
      if (droppedMeanwhile) exporter.countDropped(droppedMeanwhile);
      exporter.export(items, (result: ExportResult) => {
        inFlight--;
        batches.exported(); // one request in flight: its buffers serve the next batch
        const until = exporter.pausedUntil();
        Atomics.store(header, SLOT.pausedUntil, until && Math.max(1, until - d.epoch));
        countResult(header, items.length, result);
        // Before the flush this may answer: a short-lived app stops this thread with it, and its timers with it.
        if (!exported) writeCodeCachesNow();
        exported = true;
        wake(); // the loop's wait below: take the next batch now
      });
    }
  };

  // Waits end on the batch delay, an export's end, or a message from the app's thread (a full batch, a flush).
  // Not Atomics.waitAsync: on Node 24 a notify from another thread did not always resolve it until some other event
  // woke that thread's loop (seen as 5 s flushes at exit); a message always wakes it.
  let wakeUp: (() => void) | undefined;
  const wake = () => {
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  };
  wakers.add(wake);
  const loop = async (): Promise<void> => {
    for (;;) {
      const asked = Atomics.load(header, SLOT.flushAsked);
      pump(asked !== Atomics.load(header, SLOT.flushDone));
      if (asked !== Atomics.load(header, SLOT.flushDone) && inFlight === 0 && ring.used() === 0) {
        Atomics.store(header, SLOT.flushDone, asked);
        Atomics.notify(header, SLOT.flushDone); // the app's thread waiting at exit (Atomics.wait)
        const done = { ring: d.id, flushed: asked }; // or asynchronously
        // A worker's ring: its writer hears from the main thread's exporter thread on the channel, from its own by
        // message.
        if (d.guest && channel) channel.postMessage(done);
        else parentPort?.postMessage(done);
      }
      if (d.guest && inFlight === 0 && letGo()) return;
      const ms = nextWait();
      if (ms > 0)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(wake, ms);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      Atomics.store(header, SLOT.sleep, SLEEP.awake);
    }
  };

  // How long to wait, and how (ring.ts SLEEP): a nap until a full batch is due at the rate items arrived since the
  // last look, or sleep until the batch delay and let the app's thread wake this one at a full batch.
  let seenHanded = Atomics.load(header, SLOT.handed);
  let seenAt = Date.now();
  let handedAt = seenAt;
  // A worker's ring, closed or long idle, flushed and empty: the reader lets it go and the loop ends. A live writer
  // that sees no reader asks again; one that wrote meanwhile is seen by the second look, and the ring kept.
  const letGo = (): boolean => {
    if (Atomics.load(header, SLOT.flushAsked) !== Atomics.load(header, SLOT.flushDone) || ring.used() !== 0)
      return false;
    const closed = Atomics.load(header, SLOT.closed) !== 0;
    if (!closed && Date.now() - handedAt < IDLE_GUEST_DELAYS * d.batch.scheduledDelayMs) return false;
    Atomics.add(header, SLOT.letGo, 1); // before the reader slot: a writer that sees no reader sees this too
    Atomics.store(header, SLOT.reader, READER.none);
    if (ring.used() !== 0 && Atomics.compareExchange(header, SLOT.reader, READER.none, READER.thread) === READER.none)
      return false;
    wakers.delete(wake);
    diag.debug(`thread ${d.id}: ring let go (${closed ? 'its thread ended' : 'idle'})`);
    return true;
  };
  const nextWait = (): number => {
    const now = Date.now();
    const handed = Atomics.load(header, SLOT.handed);
    const perMs = (handed - seenHanded) / Math.max(1, now - seenAt);
    if (handed !== seenHanded) handedAt = now;
    seenHanded = handed;
    seenAt = now;
    if (inFlight > 0) return d.batch.scheduledDelayMs; // the export's end wakes the loop
    const waiting = batches.waiting();
    // Nothing waiting: the batch delay counts from the next item, so a look every batch delay is soon enough.
    const dueIn =
      waiting === 0 ? d.batch.scheduledDelayMs : Math.max(1, d.batch.scheduledDelayMs - (now - lastExportAt));
    const missing = d.batch.maxExportBatchSize - waiting;
    const eta = perMs > 0 ? Math.ceil(missing / perMs) : Number.POSITIVE_INFINITY;
    if (eta < dueIn) {
      Atomics.store(header, SLOT.sleep, SLEEP.napping);
      return Math.max(1, eta);
    }
    Atomics.store(header, SLOT.sleep, SLEEP.sleeping);
    // Published before this second look, as the app's thread counts an item before it looks at the state: either
    // this sees the full batch, or the app's thread sees this thread asleep and wakes it.
    return batches.waiting() >= d.batch.maxExportBatchSize ? 0 : dueIn;
  };
  void loop();
}

/** The OTLP exporter bundle, run from a code cache beside the app's compile cache when it has one, as on its thread. */
const loadExporter = () => requireBundle('@x/trace-agent/internal/otlp-exporter', debug, data?.codeCacheDir);

const data = workerData as ExportThreadData | undefined;
if (Array.isArray(data?.rings)) {
  const diag = threadDiag(data.logLevel, data.secrets);
  debug = diag.debug;
  // Loaded as the thread starts (off the app's thread) rather than at its first export, which it would delay: rings
  // filling from the app's first milliseconds wait for it (bench/workers.mjs at 10,000 spans/s a worker: 9–19% of
  // the spans dropped in the first second either way, so this is no cure).
  setImmediate(() => {
    try {
      loadExporter();
    } catch {
      // reported by the first export, which loads it again
    }
  });
  for (const ring of data.rings) run(ring, diag);
  const onMessage = (message: RingSpec | 'wake') => {
    if (message === 'wake') for (const wake of wakers) wake();
    else if (message?.sab instanceof SharedArrayBuffer) run(message, diag);
  };
  parentPort?.on('message', onMessage);
  if (data.host) {
    // The app's workers wake this thread here; they hand their rings to the main thread's agent (ADOPT_CHANNEL).
    channel = new BroadcastChannel(THREAD_CHANNEL);
    channel.onmessage = (event) => {
      if ((event as MessageEvent).data === 'wake') onMessage('wake');
    };
  }
}
