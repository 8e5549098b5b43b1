// The reading side of a signal's ring (hand-off.ts writes it), one implementation for its two readers: the exporter
// thread, and the app's thread when it flushes before that thread has started (a short-lived app then sends its
// spans itself instead of starting a thread at its exit), or once that thread has failed. Takes batches of items,
// keeps the resource and scope records met on the way (starting from the writer's: RingSpec.tables), and puts a
// request together.
import type { ExportResult } from '@opentelemetry/core';
import type { OtlpConfig } from '../../config/index.js';
import type { Diag } from '../../diag.js';
import { LazyExporter } from '../lazy.js';
import type { MessageParts } from '../otlp-encoder.js';
import type { Signal } from '../otlp-wire.js';
import { otlpJsonRequest } from './json-request.js';
import { assembleRequest, type ScopedRecords } from './request.js';
import { FAILURE, KIND, RingReader, SLOT } from './ring.js';

/** One encoded item and the scope it belongs to. */
export interface Item {
  scope: number;
  bytes: Uint8Array;
}

/** The resource and scope records a reader has taken (plain data: it crosses to the thread by structured clone). */
export interface RingTables {
  resource: MessageParts;
  scopes: [id: number, parts: MessageParts][];
}

export function unpackParts(payload: Uint8Array): MessageParts {
  const headLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  return { head: payload.subarray(4, 4 + headLength), tail: payload.subarray(4 + headLength) };
}

/**
 * A buffer used again from one batch to the next while no export holds it. A new buffer of a batch's size (~150 KB
 * for 512 spans) is memory the kernel maps afresh, a page fault for each 4 KiB page filled. With new ones for the
 * batch, its request and the request's gRPC frame, the exporter thread took 0.10 page faults and 1.2-1.7 µs of system
 * time a span; reused (and the frame's prefix written apart), 0.01-0.02 and 0.5-1.0 µs (bench/http-app.cjs at
 * 10,000 req/s, per-thread /proc times, three runs each).
 */
class Reused {
  private bytes = Buffer.alloc(0);
  private held = false;

  /** `size` bytes: this buffer's, held until release(), when it is free and not too large; else new ones. */
  take(size: number): Buffer {
    if (this.held || size > MAX_REUSED_BYTES) return Buffer.allocUnsafe(size);
    if (this.bytes.length < size)
      this.bytes = Buffer.allocUnsafe(Math.min(MAX_REUSED_BYTES, Math.max(size, 2 * this.bytes.length)));
    this.held = true;
    return this.bytes.subarray(0, size);
  }

  release(): void {
    this.held = false;
  }
}

/** A batch or request larger than this (an unusual batch size or huge records) gets a buffer of its own. */
const MAX_REUSED_BYTES = 4 * 1024 * 1024;

export class RingBatches {
  readonly ring: RingReader;
  private readonly scopes: Map<number, MessageParts>;
  private resource: MessageParts;
  /** The items' bytes, and the request made of them: reused once exported() says the export has ended. */
  private readonly batchBytes = new Reused();
  private readonly requestBytes = new Reused();

  constructor(
    sab: SharedArrayBuffer,
    private readonly batchSize: number,
    tables: RingTables,
  ) {
    this.ring = new RingReader(sab);
    this.scopes = new Map(tables.scopes);
    this.resource = tables.resource;
  }

  get header(): Int32Array {
    return this.ring.header;
  }

  /** Items handed over and not yet taken. */
  waiting(): number {
    return Atomics.load(this.ring.header, SLOT.handed) - Atomics.load(this.ring.header, SLOT.taken);
  }

  /**
   * Takes up to one batch of items (scope and resource records update the tables on the way; with no item waiting
   * this still takes those, so that an empty ring reads as empty).
   */
  take(): Item[] {
    const items: Item[] = [];
    // The batch's records are copied into one buffer, sized by a first walk over their headers.
    const batch = this.batchBytes.take(this.ring.measure(this.batchSize));
    let at = 0;
    this.ring.take((kind, id, payload) => {
      if (kind === KIND.item) {
        let bytes: Uint8Array;
        if (at + payload.length <= batch.length) {
          batch.set(payload, at);
          bytes = batch.subarray(at, (at += payload.length));
        } else bytes = payload.slice();
        items.push({ scope: id, bytes });
      } else if (kind === KIND.scope) this.scopes.set(id, unpackParts(payload.slice()));
      else if (kind === KIND.resource) this.resource = unpackParts(payload.slice());
      return items.length < this.batchSize;
    });
    if (items.length) Atomics.add(this.ring.header, SLOT.taken, items.length);
    return items;
  }

  /** The Export{Trace,Logs}ServiceRequest of these items. */
  serialize(items: Item[]): Uint8Array {
    const groups = new Map<number, ScopedRecords>();
    for (const item of items) {
      let group = groups.get(item.scope);
      if (!group) groups.set(item.scope, (group = { scope: this.scopes.get(item.scope)!, records: [] }));
      group.records.push(item.bytes);
    }
    return assembleRequest(this.resource, groups.values(), (size) => this.requestBytes.take(size));
  }

  /**
   * The export of the items last taken has ended (delivered or not): their bytes and their request's may be used
   * again. Only the exporter thread says so; without it every batch after the first gets buffers of its own (the
   * app's thread, reading at exit, may still send items of an export that has answered). A request that ended before
   * all its bytes left (answered early, or timed out and cancelled) may have the rest overwritten: only payload of a
   * stream the peer answered or saw reset, which it discards; the framing (HTTP/2 frame headers, HTTP/1.1's
   * content-length) is never in this buffer.
   */
  exported(): void {
    this.batchBytes.release();
    this.requestBytes.release();
  }
}

/**
 * The signal's OTLP exporter for a ring's batches, behind the LazyExporter both threads use (outage pacing, one
 * warning per outage, the count of what was dropped); `load` requires the OTLP exporter bundle as its thread can.
 */
export function ringExporter(
  d: { signal: Signal; otlp: OtlpConfig },
  batches: RingBatches,
  diag: Diag,
  load: () => unknown,
): LazyExporter<Item> {
  // http/json: the protobuf request transcoded where it is put together, off the app's thread (json-request.ts).
  const serialize =
    d.otlp.protocol === 'http/json'
      ? (items: Item[]) => otlpJsonRequest(d.signal, batches.serialize(items))
      : (items: Item[]) => batches.serialize(items);
  const exporter = new LazyExporter<Item>(
    d.signal,
    () => (load() as typeof import('../otlp.js')).createOtlpExporter<Item>(d.signal, d.otlp, diag, serialize),
    d.otlp,
    diag,
  );
  exporter.encodeAtExit = serialize; // an export in flight on the app's thread at process.exit() goes again then
  return exporter;
}

/** Counts an export's items as delivered or failed in the ring's header (read at exit, hand-off.ts's drainSync). */
export function countResult(header: Int32Array, items: number, result: ExportResult): void {
  if (result.code === 0) {
    Atomics.add(header, SLOT.delivered, items);
    return;
  }
  const [failure, status] = classify(result.error);
  Atomics.store(header, SLOT.lastFailure, failure);
  Atomics.store(header, SLOT.lastStatus, status);
  Atomics.add(header, SLOT.failed, items);
}

/** How a failed export is reported at exit: as the exit-time sender (sync-send.ts) words it. */
function classify(error: Error | undefined): [failure: number, status: number] {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error?.message ?? '';
  if (code === 4 || /deadline|timeout|timed out/i.test(message)) return [FAILURE.timeout, 0];
  if (typeof code === 'number' && code >= 300) return [FAILURE.rejected, code]; // an HTTP status
  if (typeof code === 'number' && code !== 14 && code > 0) return [FAILURE.rejected, code]; // a gRPC status
  return [FAILURE.network, 0];
}
