// The app thread's side of the exporter thread (TRACES_EXPORT_THREAD), one implementation for both signals: each
// item (a span, a log record) is encoded when it is handed over and its bytes copied into the signal's ring
// (ring.ts); nothing of it outlives the call, no timer or socket runs on the app's thread, and a full ring drops the
// item and counts it. One exporter thread per process serves every signal's ring, the app's workers' too
// (exporter-link.ts): it starts shortly after start-up, or at the first full batch or process.exit(). A flush before
// it has started (a short-lived app ending naturally) is sent from the app's thread instead: starting a thread then
// cost ~70 ms at the app's exit. A thread that cannot start or stops hands the reading back to this one (takeOver).

import { threadId } from 'node:worker_threads';
import type { ExportResult } from '@opentelemetry/core';
import { requireBundle } from '../../code-cache.js';
import type { BatchConfig, LogLevel, OtlpConfig } from '../../config/index.js';
import { redactUrl } from '../../config/index.js';
import { type Diag, describeError } from '../../diag.js';
import { type ExitSink, registerExitSink } from '../exit-flush.js';
import { type EncodedRecord, encodeResourceParts, encodeScopeParts, type MessageParts } from '../otlp-encoder.js';
import { NOUNS, type Signal } from '../otlp-wire.js';
import { dropWatch, type QueueWatch } from '../queue-watch.js';
import { type ExporterLink, exporterLink } from './exporter-link.js';
import type { RingSpec } from './exporter-thread.js';
import { createRingBuffer, FAILURE, KIND, READER, RingWriter, SLEEP, SLOT } from './ring.js';
import { countResult, type Item, RingBatches, ringExporter } from './ring-batches.js';

/**
 * Started this long after the first item even before a batch is full, as the lazy exporter is built (lazy.ts); an
 * app that makes none never starts it (it costs a worker's start-up and ~18 MiB).
 */
const WARM_UP_DELAY_MS = 250;
/**
 * Room per item of the queue size (OTEL_BSP/BLRP_MAX_QUEUE_SIZE): a typical HTTP server span is 250–400 bytes, so
 * the default 2 MiB holds 5,000–8,000 of them. With the variable unset, the ring's bytes are the only bound: on two
 * busy cores the thread gets scheduled late often enough that a 2,048-item bound dropped 3% of a ZeroMQ consumer's
 * spans, and none with 8,192 (bench/zmq.mjs), for the same memory (the ring is allocated whole).
 */
const BYTES_PER_QUEUED_ITEM = 1024;
const MAX_SCOPES = 65535;

/** What the hand-off needs of a span or a log record. */
export interface Handed {
  resource: Parameters<typeof encodeResourceParts>[0];
  instrumentationScope: Parameters<typeof encodeScopeParts>[0];
}

export interface HandOffOptions<T> {
  signal: Signal;
  otlp: OtlpConfig;
  batch: BatchConfig;
  encode: (item: T) => EncodedRecord;
  diag: Diag;
  logLevel: LogLevel;
  secrets: string[];
}

export class HandOff<T extends Handed> implements ExitSink {
  private readonly ring: RingWriter;
  private readonly drops: QueueWatch;
  private readonly thread: ExporterLink;
  private readonly epoch: number;
  private resourceSent = false;
  private readonly scopeIds = new Map<Handed['instrumentationScope'], number>();
  private readonly scopeKeys = new Map<string, number>();
  /** Scope records in the ring since its reader began reading (a new reader needs them again: guestCheck()). */
  private readonly scopesSent = new Set<number>();
  /** A worker's ring: the times it was let go (SLOT.letGo) when the resource and scopes were last written. */
  private letGoSeen = 0;
  /** Items put in the ring (the exporter thread counts those it delivered and those that failed). */
  private handedOver = 0;
  /** The flush asked for at exit (capture()), and the failures counted before it (reported by then already). */
  private exitFlush: { asked: number; failedBefore: number } | undefined;

  private readonly spec: RingSpec;
  /** Items that may wait in the ring: OTEL_BSP/BLRP_MAX_QUEUE_SIZE when set, else as many as its bytes hold. */
  private readonly maxWaiting: number;
  /** Starts the thread a while after the first item (WARM_UP_DELAY_MS). */
  private warmUp: NodeJS.Timeout | undefined;
  /** The app thread's reading of the ring, made by a flush before the exporter thread started (flushHere). */
  private here: { batches: RingBatches; exporter: ReturnType<typeof ringExporter> } | undefined;
  /** The exporter thread failed (exporter-link.ts): this thread reads its ring from now on, as a batch processor. */
  private failedOver = false;
  /** The app thread's reading in progress (readHere), so that two never take from the ring at once. */
  private reading: Promise<void> | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  /** sinceEpoch(): the pause last seen, and the wall clock's offset from performance.now() read then. */
  private pauseSeen = 0;
  private wallOffset = 0;

  constructor(private readonly o: HandOffOptions<T>) {
    const bytes = Math.min(64 << 20, Math.max(256 << 10, o.batch.maxQueueSize * BYTES_PER_QUEUED_ITEM));
    const sab = createRingBuffer(bytes);
    this.ring = new RingWriter(sab);
    this.maxWaiting = o.batch.maxQueueSizeSet ? o.batch.maxQueueSize : Number.POSITIVE_INFINITY;
    this.epoch = Date.now();
    const noun = NOUNS[o.signal];
    const variable = o.signal === 'traces' ? 'OTEL_BSP_MAX_QUEUE_SIZE' : 'OTEL_BLRP_MAX_QUEUE_SIZE';
    this.drops = dropWatch(
      `${noun} queue full (${bytes >> 10} KiB hand-off buffer to the exporter thread, from ${variable}): new ` +
        `${noun}s are dropped until the exporter catches up; the count follows when it does`,
      o.diag,
      noun,
    );
    this.thread = exporterLink(o.logLevel, o.secrets, o.diag);
    const id = `${threadId}/${o.signal}`;
    this.spec = {
      sab,
      epoch: this.epoch,
      id,
      signal: o.signal,
      otlp: o.otlp,
      batch: o.batch,
      guest: this.thread.guest,
      // Every resource and scope record this writer made, kept for a reader that starts after others took them.
      tables: { resource: { head: new Uint8Array(0), tail: new Uint8Array(0) }, scopes: [] },
    };
    this.thread.add(this.spec);
    this.thread.onBreak(() => this.takeOver());
    registerExitSink(this);
  }

  /** Encodes the item into the ring; a full ring (or an item that cannot be encoded) drops it. Never throws. */
  hand(item: T): void {
    try {
      // Inside an outage, between two attempts: the item would only be dropped there; it dies young here instead.
      const pausedUntil = Atomics.load(this.ring.header, SLOT.pausedUntil);
      if (pausedUntil !== 0 && this.sinceEpoch(pausedUntil) < pausedUntil) {
        Atomics.add(this.ring.header, SLOT.outageDropped, 1);
        return;
      }
      if (this.spec.guest) this.guestCheck();
      if (!this.resourceSent) {
        // the resource goes first: the thread puts it in front of every request
        this.spec.tables.resource = encodeResourceParts(item.resource);
        if (!(this.resourceSent = this.putParts(KIND.resource, 0, this.spec.tables.resource)))
          return this.drops.drop(1);
        this.warmUp ??= setTimeout(() => this.thread.start(), WARM_UP_DELAY_MS).unref();
      }
      // The ring's bytes bound the queue, and OTEL_BSP/BLRP_MAX_QUEUE_SIZE items when set, as the batch processor's.
      const waiting = this.handedOver - Atomics.load(this.ring.header, SLOT.taken);
      if (waiting >= this.maxWaiting) return this.drops.drop(1);
      const scope = this.scopeId(item.instrumentationScope);
      if (scope === undefined) return this.drops.drop(1);
      const record = this.o.encode(item);
      if (!this.ring.put(KIND.item, scope, record.bytes, record.length)) return this.drops.drop(1);
      Atomics.store(this.ring.header, SLOT.handed, ++this.handedOver);
      if (waiting + 1 >= this.o.batch.maxExportBatchSize) this.batchReady(waiting + 1);
    } catch (err) {
      this.o.diag.debug(`${NOUNS[this.o.signal]} not exported: cannot encode it (${describeError(err)})`);
    }
  }

  /**
   * Date.now() - epoch, read from performance.now(): Date.now() allocates a 16-byte number at every call, even
   * optimized, which in an outage (a check per item) was most of what the hand-off allocated (sampled heap profile,
   * bench/memory-app.cjs). The wall clock is read again whenever the pause changes (each export attempt), so a clock
   * step is followed.
   */
  private sinceEpoch(pausedUntil: number): number {
    if (pausedUntil !== this.pauseSeen) {
      this.pauseSeen = pausedUntil;
      this.wallOffset = Date.now() - this.epoch - performance.now();
    }
    return performance.now() + this.wallOffset;
  }

  /** A full batch waits: starts the thread, or wakes it if its wait says it will not come by itself (ring.ts SLEEP). */
  private batchReady(waiting: number): void {
    if (this.failedOver) {
      void this.readHere();
      return;
    }
    if (!this.thread.started) {
      this.thread.start(); // its first look takes the batch
      return;
    }
    const header = this.ring.header;
    const state = Atomics.load(header, SLOT.sleep);
    if (state === SLEEP.awake || (state === SLEEP.napping && waiting < this.o.batch.maxQueueSize >>> 1)) return;
    if (Atomics.compareExchange(header, SLOT.sleep, state, SLEEP.awake) === state) this.thread.wake();
  }

  /**
   * A worker's ring (exporter-link.ts): asks for a reader while it has none (rate-limited there). The exporter thread
   * lets an idle ring go; the reader that takes it next starts with no resource or scope: they are written again.
   */
  private guestCheck(): void {
    const header = this.ring.header;
    if (Atomics.load(header, SLOT.reader) !== READER.none) return;
    const letGo = Atomics.load(header, SLOT.letGo);
    if (letGo !== this.letGoSeen) {
      this.letGoSeen = letGo;
      this.resourceSent = false;
      this.scopeIds.clear();
      this.scopesSent.clear();
    }
    this.thread.start();
  }

  /** The scope's id in the ring, its record written first; undefined when it cannot be written now. */
  private scopeId(scope: Handed['instrumentationScope']): number | undefined {
    const known = this.scopeIds.get(scope);
    if (known !== undefined) return known;
    const key = JSON.stringify([scope.name, scope.version, scope.schemaUrl]);
    let id = this.scopeKeys.get(key);
    if (id === undefined) {
      if (this.scopeKeys.size >= MAX_SCOPES) return undefined;
      id = this.scopeKeys.size + 1;
      this.scopeKeys.set(key, id);
      this.spec.tables.scopes.push([id, encodeScopeParts(scope)]);
    }
    // The same id for the same scope whoever reads: a reader that sees a record again gets what it had.
    if (!this.scopesSent.has(id)) {
      if (!this.putParts(KIND.scope, id, this.spec.tables.scopes[id - 1]![1])) return undefined;
      this.scopesSent.add(id);
    }
    this.scopeIds.set(scope, id);
    return id;
  }

  /** head and tail as one payload: head length (u32), head, tail (exporter-thread.ts's unpackParts). */
  private putParts(kind: number, id: number, parts: MessageParts): boolean {
    const payload = new Uint8Array(4 + parts.head.length + parts.tail.length);
    new DataView(payload.buffer).setUint32(0, parts.head.length, true);
    payload.set(parts.head, 4);
    payload.set(parts.tail, 4 + parts.head.length);
    return this.ring.put(kind, id, payload);
  }

  /** Asks the thread to export everything in the ring; the number to wait for in SLOT.flushDone. */
  private askFlush(): number | undefined {
    // Nothing outstanding: no work is scheduled, so a flush in 'beforeExit' lets the process end (asking anyway made
    // the loop busy again, 'beforeExit' fire again, and so on: on Node 22 one run in five never ended).
    const header = this.ring.header;
    if (this.handedOver - Atomics.load(header, SLOT.delivered) - Atomics.load(header, SLOT.failed) <= 0)
      return undefined;
    if (!this.thread.start()) return undefined;
    const asked = Atomics.add(this.ring.header, SLOT.flushAsked, 1) + 1;
    this.thread.wake();
    return asked;
  }

  private flushed(asked: number): boolean {
    return Atomics.load(this.ring.header, SLOT.flushDone) - asked >= 0 || this.thread.broken;
  }

  /** Read on this thread: before the exporter thread has started, and after it failed. */
  private get readsHere(): boolean {
    return this.failedOver || (!this.thread.started && !this.thread.broken);
  }

  async forceFlush(): Promise<void> {
    if (this.readsHere) return this.readHere();
    const asked = this.askFlush();
    if (asked === undefined || this.flushed(asked)) return;
    await this.thread.flushed(this.spec.id, asked, Date.now() + this.o.batch.exportTimeoutMs);
  }

  /** One reading on this thread at a time: a flush asked meanwhile waits for it, and it reads until empty. */
  private readHere(): Promise<void> {
    this.reading ??= this.flushHere().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** The app thread's reader of the ring, made once; the tables let it read items whose records others took. */
  private reader(): NonNullable<HandOff<T>['here']> {
    if (this.here) return this.here;
    const batches = new RingBatches(this.spec.sab, this.o.batch.maxExportBatchSize, this.spec.tables);
    // The bundle as the batch processor's exporter loads it, with the code cache (src/code-cache.ts).
    const load = () => requireBundle('@x/trace-agent/internal/otlp-exporter', this.o.diag.debug);
    const exporter = ringExporter(this.o, batches, this.o.diag, load);
    // At process.exit() once the thread failed, the rest of the ring goes with the export in flight (exit-flush.ts).
    exporter.queued = () => (this.failedOver ? takeAll(batches) : []);
    this.here = { batches, exporter };
    return this.here;
  }

  /**
   * Exports what the ring holds from the app's thread, batch after batch, while the exporter thread has not started
   * (or after it failed). The thread, if it starts later, reads on where this stopped.
   */
  private async flushHere(): Promise<void> {
    try {
      const { batches, exporter } = this.reader();
      const header = this.ring.header;
      while (this.readsHere) {
        const items: Item[] = batches.take();
        if (items.length === 0) return;
        const droppedMeanwhile = Atomics.exchange(header, SLOT.outageDropped, 0);
        if (droppedMeanwhile) exporter.countDropped(droppedMeanwhile);
        const result = await new Promise<ExportResult>((resolve) => exporter.export(items, resolve));
        const until = exporter.pausedUntil(); // as the thread does: hand() drops what an outage would
        Atomics.store(header, SLOT.pausedUntil, until && Math.max(1, until - this.epoch));
        countResult(header, items.length, result);
        if (result.code !== 0) return; // reported by the exporter; the rest waits for the next flush
      }
    } catch (err) {
      this.o.diag.debug(`${NOUNS[this.o.signal]}s not exported from the app's thread: ${describeError(err)}`);
      return;
    }
    await this.forceFlush(); // the thread started meanwhile: it takes the rest
  }

  /**
   * The exporter thread cannot start or stopped (exporter-link.ts has said so): what it had taken and not delivered
   * is lost and counted; from now on this thread reads the ring every batch delay and at each full batch.
   */
  private takeOver(): void {
    if (this.failedOver) return;
    this.failedOver = true;
    const header = this.ring.header;
    const lost =
      Atomics.load(header, SLOT.taken) - Atomics.load(header, SLOT.delivered) - Atomics.load(header, SLOT.failed);
    if (lost > 0) {
      Atomics.add(header, SLOT.failed, lost);
      this.o.diag.warn(`${lost} ${NOUNS[this.o.signal]}(s) the exporter thread had taken were lost with it`);
    }
    this.reader(); // its exit sink now: a process.exit() before the first reading still sends the ring's items
    this.readTimer = setInterval(() => {
      if (Atomics.load(header, SLOT.handed) !== Atomics.load(header, SLOT.taken)) void this.readHere();
    }, this.o.batch.scheduledDelayMs).unref();
    // Not now: a thread that cannot start fails inside the span.end() that started it (the exporter loads then).
    setImmediate(() => void this.readHere());
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    clearInterval(this.readTimer);
    this.thread.close(this.spec);
    await this.thread.release();
  }

  /** The process ends (process.exit(), a crash): every ring's flush is asked for first, so they run together. */
  capture(): void {
    const header = this.ring.header;
    Atomics.store(header, SLOT.exiting, 1);
    if (this.spec.guest) this.thread.close(this.spec); // a worker ends: the thread lets its ring go once flushed
    const failedBefore = Atomics.load(header, SLOT.failed);
    const asked = this.askFlush();
    if (asked !== undefined) this.exitFlush = { asked, failedBefore };
  }

  /**
   * The thread still runs while this one waits for it, until `deadline`. What it could not deliver is reported
   * here in one line, worded as the exit-time sender's (sync-send.ts).
   */
  drainSync(deadline: number): void {
    const flush = this.exitFlush;
    if (!flush) return;
    this.exitFlush = undefined;
    const header = this.ring.header;
    while (!this.flushed(flush.asked) && Date.now() < deadline)
      Atomics.wait(header, SLOT.flushDone, Atomics.load(header, SLOT.flushDone), deadline - Date.now());
    const delivered = Atomics.load(header, SLOT.delivered);
    const failed = Atomics.load(header, SLOT.failed);
    const lost = this.handedOver - delivered - flush.failedBefore;
    if (lost <= 0) return;
    const failure = this.handedOver - delivered - failed > 0 ? FAILURE.timeout : Atomics.load(header, SLOT.lastFailure);
    const why =
      failure === FAILURE.timeout
        ? 'timed out'
        : failure === FAILURE.rejected
          ? `the collector answered with status ${Atomics.load(header, SLOT.lastStatus)}`
          : 'network error';
    this.o.diag.warn(
      `${lost} ${NOUNS[this.o.signal]}(s) not delivered at exit to ${redactUrl(this.o.otlp.url)}: ${why}`,
    );
  }
}

/** Everything left in the ring, for a synchronous send at exit. */
function takeAll(batches: RingBatches): Item[] {
  const items: Item[] = [];
  for (let batch = batches.take(); batch.length > 0; batch = batches.take()) items.push(...batch);
  return items;
}
