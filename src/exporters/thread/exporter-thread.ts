// The program of the exporter thread (TRACES_EXPORT_THREAD): takes the records the app's thread put in the ring
// (processor.ts), batches them, and exports them with the signal's OTLP exporter behind the same LazyExporter as on
// the app's thread (outage pacing, one warning per outage, the count of what was dropped), all on this thread's own
// event loop: an app thread that never yields still gets its spans out. Started with no preload and no environment,
// so the agent does not start again in here; loads the OTLP exporter bundle when it first exports.
import { workerData } from 'node:worker_threads';
import type { BatchConfig, LogLevel, OtlpConfig } from '../../config/index.js';
import { createDiag } from '../../diag.js';
import { LazyExporter } from '../lazy.js';
import type { MessageParts } from '../otlp-encoder.js';
import type { Signal } from '../otlp-wire.js';
import { assembleRequest, type ScopedRecords } from './request.js';
import { KIND, RingReader, SLOT } from './ring.js';

/** What the thread is given; plain data only (it crosses the thread boundary by structured clone). */
export interface ExportThreadData {
  sab: SharedArrayBuffer;
  signal: Signal;
  otlp: OtlpConfig;
  batch: BatchConfig;
  logLevel: LogLevel;
  secrets: string[];
}

/** One encoded item and the scope it belongs to. */
interface Item {
  scope: number;
  bytes: Uint8Array;
}

/** Requests in flight at once; beyond it records wait in the ring (and, when it is full, new ones are dropped). */
const MAX_IN_FLIGHT = 4;

export function unpackParts(payload: Uint8Array): MessageParts {
  const headLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  return { head: payload.subarray(4, 4 + headLength), tail: payload.subarray(4 + headLength) };
}

function run(d: ExportThreadData): void {
  const diag = createDiag(d.logLevel, d.secrets);
  const ring = new RingReader(d.sab);
  const header = ring.header;
  const scopes = new Map<number, MessageParts>();
  let resource: MessageParts = { head: new Uint8Array(0), tail: new Uint8Array(0) };

  const serialize = (items: Item[]): Uint8Array => {
    const groups = new Map<number, ScopedRecords>();
    for (const item of items) {
      let group = groups.get(item.scope);
      if (!group) groups.set(item.scope, (group = { scope: scopes.get(item.scope)!, records: [] }));
      group.records.push(item.bytes);
    }
    return assembleRequest(resource, groups.values());
  };
  const exporter = new LazyExporter<Item>(
    d.signal,
    () => {
      const otlp = require('@x/trace-agent/internal/otlp-exporter') as typeof import('../otlp.js');
      return otlp.createOtlpExporter<Item>(d.signal, d.otlp, diag, serialize);
    },
    d.otlp,
    diag,
  );

  let inFlight = 0;
  /** Takes up to one batch of items from the ring (scope and resource records update the tables on the way). */
  const takeBatch = (): Item[] => {
    const items: Item[] = [];
    ring.take((kind, id, payload) => {
      if (kind === KIND.span) items.push({ scope: id, bytes: payload });
      else if (kind === KIND.scope) scopes.set(id, unpackParts(payload));
      else if (kind === KIND.resource) resource = unpackParts(payload);
      return items.length < d.batch.maxExportBatchSize;
    });
    return items;
  };
  const pump = (): void => {
    while (inFlight < MAX_IN_FLIGHT) {
      const items = takeBatch();
      if (items.length === 0) return;
      inFlight++;
      exporter.export(items, () => {
        inFlight--;
        ring.wake(); // this thread's own wait below: take the next batch now
      });
    }
  };

  // A pending Atomics.waitAsync does not keep a thread's event loop alive; this does (the app's thread unrefs the
  // worker, so it never keeps the process alive).
  setInterval(() => undefined, 2 ** 30);
  const loop = async (): Promise<void> => {
    Atomics.store(header, SLOT.alive, 1);
    for (;;) {
      const seen = Atomics.load(header, SLOT.wake);
      const asked = Atomics.load(header, SLOT.flushAsked);
      pump();
      if (asked !== Atomics.load(header, SLOT.flushDone) && inFlight === 0 && ring.used() === 0) {
        Atomics.store(header, SLOT.flushDone, asked);
        Atomics.notify(header, SLOT.flushDone);
      }
      const wait = Atomics.waitAsync(header, SLOT.wake, seen, d.batch.scheduledDelayMs);
      if (wait.async) await wait.value;
    }
  };
  void loop();
}

const data = workerData as ExportThreadData | undefined;
if (data?.sab instanceof SharedArrayBuffer) run(data);
