// The hand-off between the app's thread (one writer) and the exporter thread (one reader): a byte ring in a
// SharedArrayBuffer. The writer never waits and never allocates: a record that does not fit is refused (the caller
// counts it as dropped), so memory is fixed at the ring's size. Written by hand: no library offers a
// SharedArrayBuffer ring for one writer and one reader; a MessagePort would need the app's event loop to run to
// deliver anything, which is exactly what a busy app thread does not do.
//
// Layout: a header of Int32 slots, then the data. A record is an 8-byte header (two u32: the payload length, then
// kind | id << 16), the payload, padded to 4 bytes. A record never wraps: when it does not fit before the end,
// a WRAP length (or fewer than 8 bytes left) sends the reader back to offset 0. read === write means empty, so the
// writer always leaves at least one byte free.

/** Header slots (Int32 indexes). */
export const SLOT = {
  /** Next byte offset the writer fills; stored after the record's bytes, so a reader that sees it sees them. */
  write: 0,
  /** Next byte offset the reader takes; the writer may reuse everything before it. */
  read: 1,
  /** Flushes asked for (by the app's thread) and done (by the exporter thread): done >= asked means delivered. */
  flushAsked: 3,
  flushDone: 4,
  /** Spans the exporter thread delivered, and spans whose export failed (or that it dropped in an outage). */
  delivered: 6,
  failed: 7,
  /** Why the last export failed (FAILURE below) and, when the collector answered, its HTTP or gRPC status. */
  lastFailure: 8,
  lastStatus: 9,
  /** 1 once the app's thread ends (its 'exit' event): the thread then leaves the reporting to it. */
  exiting: 10,
  /** Items the exporter thread has taken from the ring: handed over less taken is the queue's length. */
  taken: 11,
  /**
   * While exports fail, when the pause before the next attempt ends (ms after RingSpec.epoch; 0: not failing), and
   * the items the app's thread dropped meanwhile instead of queueing them (see OutageGate in lazy.ts).
   */
  pausedUntil: 12,
  outageDropped: 13,
  /** Items the app's thread has put in the ring: handed less taken are waiting. */
  handed: 14,
  /**
   * How the exporter thread waits (SLEEP below). The app's thread wakes it with a message only when this says it
   * must, and takes the state back to AWAKE first (compareExchange), so one wait gets one message at most.
   */
  sleep: 15,
  /** Who reads the ring (READER below): claimed once with compareExchange, so a ring never has two readers. */
  reader: 16,
  /** 1 once the writer, an app's worker thread, has ended: the process's exporter thread then lets the ring go. */
  closed: 17,
  /** Times the exporter thread let the ring go: the next reader needs the resource and scope records again. */
  letGo: 18,
} as const;

/** SLOT.reader: nobody yet (or let go after a long idle spell: the writer asks again), an exporter thread. */
export const READER = { none: 0, thread: 1 } as const;

/**
 * One exporter thread per process: the main thread's agent hosts it (HOST_KEY in the environment data its workers
 * inherit); an app worker's agent posts its rings on ADOPT_CHANNEL (the main thread hands them to the thread) and
 * talks to the thread on THREAD_CHANNEL (wake-ups one way, flushes done the other).
 */
export const HOST_KEY = '@x/trace-agent exporter host';
export const ADOPT_CHANNEL = '@x/trace-agent exporter: adopt';
export const THREAD_CHANNEL = '@x/trace-agent exporter: thread';

/**
 * The exporter thread's waits. AWAKE: exporting, or a wake-up on its way. NAPPING: it comes back by itself when a
 * full batch is due at the rate items arrive; the app's thread wakes it early only if half the queue is waiting (a
 * burst). SLEEPING: items arrive too slowly for a batch before the batch delay; the app's thread wakes it at a full
 * batch. (A message to the thread at every full batch cost the app's thread ~0.3 ms each under load: profile of the
 * ZeroMQ consumer, postMessage contended with the thread it wakes on two cores.)
 */
export const SLEEP = { awake: 0, napping: 1, sleeping: 2 } as const;

export const FAILURE = { network: 1, rejected: 2, timeout: 3 } as const;

const HEADER_BYTES = 128;
const RECORD_HEADER = 8;
const WRAP = 0xffffffff;

/** An item (a span or a log record), a scope it refers to by id, the resource every request starts with. */
export const KIND = { item: 1, scope: 2, resource: 3 } as const;

export function createRingBuffer(dataBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + (Math.ceil(dataBytes / 4) * 4 || 4));
}

/** The ring's header slots (SLOT), for a thread that only reads or sets them. */
export const ringHeader = (sab: SharedArrayBuffer) => new Int32Array(sab, 0, HEADER_BYTES / 4);

const padded = (length: number) => (length + 3) & ~3;

class Ring {
  readonly header: Int32Array;
  protected readonly data: Uint8Array;
  /** The data as u32 words, for record headers (a DataView over shared memory took ~0.6 µs per record). */
  protected readonly words: Uint32Array;
  protected readonly capacity: number;

  constructor(sab: SharedArrayBuffer) {
    this.header = ringHeader(sab);
    this.data = new Uint8Array(sab, HEADER_BYTES);
    this.words = new Uint32Array(sab, HEADER_BYTES);
    this.capacity = this.data.length;
  }

  /** Bytes written and not yet taken. */
  used(): number {
    const w = Atomics.load(this.header, SLOT.write);
    const r = Atomics.load(this.header, SLOT.read);
    return w >= r ? w - r : this.capacity - r + w;
  }
}

const copyBytes = Buffer.prototype.copy;

export class RingWriter extends Ring {
  /**
   * The data as a Buffer: Buffer#copy into shared memory took half the time of TypedArray#set (~55 against ~120 ns
   * for 300 bytes, measured on Node 24).
   */
  private readonly bytes: Buffer = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.length);

  /**
   * Copies one record in (the first `length` bytes of `payload`); false (and nothing written) when it does not fit. `id`
   * is the record's scope (0–65535).
   */
  put(kind: number, id: number, payload: Uint8Array, length = payload.length): boolean {
    const need = RECORD_HEADER + padded(length);
    const w = Atomics.load(this.header, SLOT.write);
    const r = Atomics.load(this.header, SLOT.read);
    let at: number;
    if (w >= r) {
      const tail = this.capacity - w;
      if (need < tail || (need === tail && r > 0)) at = w;
      else if (need < r) {
        if (tail >= RECORD_HEADER) this.words[w >>> 2] = WRAP;
        at = 0;
      } else return false;
    } else if (need < r - w) at = w;
    else return false;
    this.words[at >>> 2] = length;
    this.words[(at >>> 2) + 1] = kind | (id << 16);
    copyBytes.call(payload, this.bytes, at + RECORD_HEADER, 0, length);
    const next = at + need;
    Atomics.store(this.header, SLOT.write, next === this.capacity ? 0 : next);
    return true;
  }
}

export class RingReader extends Ring {
  /**
   * Hands each record written so far to `onRecord`, oldest first, stopping early when `onRecord` returns false;
   * returns how many records were taken. `payload` is a view of the ring, valid only during the call: a record kept
   * must be copied (one copy into a batch buffer: a slice per record cost ~0.6 µs, an ArrayBuffer each).
   */
  /** The payload bytes of the next `records` records (or of all there are), without taking them. */
  measure(records: number): number {
    const w = Atomics.load(this.header, SLOT.write);
    let r = Atomics.load(this.header, SLOT.read);
    let bytes = 0;
    for (let n = 0; r !== w && n < records; ) {
      const length = this.capacity - r < RECORD_HEADER ? WRAP : this.words[r >>> 2]!;
      if (length === WRAP) {
        r = 0;
        continue;
      }
      bytes += length;
      n++;
      r += RECORD_HEADER + padded(length);
      if (r === this.capacity) r = 0;
    }
    return bytes;
  }

  take(onRecord: (kind: number, id: number, payload: Uint8Array) => boolean | undefined): number {
    const w = Atomics.load(this.header, SLOT.write);
    let r = Atomics.load(this.header, SLOT.read);
    let taken = 0;
    while (r !== w) {
      const length = this.capacity - r < RECORD_HEADER ? WRAP : this.words[r >>> 2]!;
      if (length === WRAP) {
        r = 0;
        continue;
      }
      const kindAndId = this.words[(r >>> 2) + 1]!;
      const payload = this.data.subarray(r + RECORD_HEADER, r + RECORD_HEADER + length);
      const more = onRecord(kindAndId & 0xffff, kindAndId >>> 16, payload);
      r += RECORD_HEADER + padded(length);
      if (r === this.capacity) r = 0;
      taken++;
      if (more === false) break;
    }
    Atomics.store(this.header, SLOT.read, r);
    return taken;
  }
}
