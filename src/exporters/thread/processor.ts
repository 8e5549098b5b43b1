// The app thread's side of the exporter thread (TRACES_EXPORT_THREAD): a span processor that encodes each sampled
// span when it ends and copies the bytes into the ring (ring.ts); nothing of the span outlives end(), no timer or
// socket runs on the app's thread, and a full ring drops the span and counts it. The thread itself
// (exporter-thread.ts) starts shortly after start-up, or at the first full batch, flush or exit.
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchConfig, LogLevel, OtlpConfig } from '../../config/index.js';
import { type Diag, describeError } from '../../diag.js';
import { type ExitSink, registerExitSink } from '../exit-flush.js';
import { encodeResourceParts, encodeScopeParts, encodeSpanRecord, type MessageParts } from '../otlp-encoder.js';
import { dropWatch, type QueueWatch } from '../queue-watch.js';
import type { ExportThreadData } from './exporter-thread.js';
import { createRingBuffer, KIND, RingWriter, SLOT } from './ring.js';

/** Started this long after start-up even before a batch is full, as the lazy exporter is built (lazy.ts). */
const WARM_UP_DELAY_MS = 250;
/** Room per span of OTEL_BSP_MAX_QUEUE_SIZE: a typical HTTP server span encodes to 250–400 bytes. */
const BYTES_PER_QUEUED_SPAN = 1024;
const MAX_SCOPES = 65535;

type Scope = ReadableSpan['instrumentationScope'];

export class ThreadSpanExport implements SpanProcessor, ExitSink {
  private readonly sab: SharedArrayBuffer;
  private readonly ring: RingWriter;
  private readonly drops: QueueWatch;
  private worker: import('node:worker_threads').Worker | undefined;
  private broken = false;
  private resourceSent = false;
  private readonly scopeIds = new Map<Scope, number>();
  private readonly scopeKeys = new Map<string, number>();
  private sinceWake = 0;

  constructor(
    private readonly otlp: OtlpConfig,
    private readonly batch: BatchConfig,
    private readonly diag: Diag,
    private readonly logLevel: LogLevel,
    private readonly secrets: string[],
  ) {
    const bytes = Math.min(64 << 20, Math.max(256 << 10, batch.maxQueueSize * BYTES_PER_QUEUED_SPAN));
    this.sab = createRingBuffer(bytes);
    this.ring = new RingWriter(this.sab);
    this.drops = dropWatch(
      `span hand-off buffer full (${bytes >> 10} KiB, from OTEL_BSP_MAX_QUEUE_SIZE): new spans are dropped until the ` +
        'exporter thread catches up; the count follows when it does',
      diag,
    );
    registerExitSink(this);
    setTimeout(() => this.start(), WARM_UP_DELAY_MS).unref();
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) === 0) return; // not sampled
    try {
      if (!this.resourceSent) this.resourceSent = this.putParts(KIND.resource, 0, encodeResourceParts(span.resource));
      const scope = this.scopeId(span.instrumentationScope);
      if (scope === undefined || !this.ring.put(KIND.span, scope, encodeSpanRecord(span))) return this.drops.drop(1);
      if (++this.sinceWake >= this.batch.maxExportBatchSize) {
        this.sinceWake = 0;
        this.start();
        this.ring.wake();
      }
    } catch (err) {
      this.diag.debug(`span not exported: cannot encode it (${describeError(err)})`);
    }
  }

  /** The scope's id in the ring, its record written first; undefined when it cannot be written now. */
  private scopeId(scope: Scope): number | undefined {
    const known = this.scopeIds.get(scope);
    if (known !== undefined) return known;
    const key = JSON.stringify([scope.name, scope.version, scope.schemaUrl]);
    let id = this.scopeKeys.get(key);
    if (id === undefined) {
      if (this.scopeKeys.size >= MAX_SCOPES) return undefined;
      id = this.scopeKeys.size + 1;
      if (!this.putParts(KIND.scope, id, encodeScopeParts(scope))) return undefined;
      this.scopeKeys.set(key, id);
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

  private start(): boolean {
    if (this.worker || this.broken) return !this.broken;
    try {
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      const data: ExportThreadData = {
        sab: this.sab,
        signal: 'traces',
        otlp: this.otlp,
        batch: this.batch,
        logLevel: this.logLevel,
        secrets: this.secrets,
      };
      // Through the package's self-reference, so the bundled and the unbundled agent start the same file.
      this.worker = new Worker(require.resolve('@x/trace-agent/internal/export-thread'), {
        workerData: data,
        execArgv: [], // no preload: the agent must not start in its own exporter thread
        env: {},
        name: '@x/trace-agent exporter',
      });
      this.worker.on('error', (err) => {
        this.broken = true;
        this.diag.error(`the exporter thread stopped (${describeError(err)}); spans are no longer exported`);
      });
      this.worker.unref();
      return true;
    } catch (err) {
      this.broken = true;
      this.diag.error(`cannot start the exporter thread (${describeError(err)}); spans will not be exported`);
      return false;
    }
  }

  /** Asks the thread to export everything in the ring; the number to wait for in SLOT.flushDone. */
  private askFlush(): number | undefined {
    if (!this.worker && this.ring.used() === 0) return undefined;
    if (!this.start()) return undefined;
    const asked = Atomics.add(this.ring.header, SLOT.flushAsked, 1) + 1;
    this.ring.wake();
    return asked;
  }

  async forceFlush(): Promise<void> {
    const asked = this.askFlush();
    if (asked === undefined) return;
    const deadline = Date.now() + this.batch.exportTimeoutMs;
    const header = this.ring.header;
    for (;;) {
      const done = Atomics.load(header, SLOT.flushDone);
      const left = deadline - Date.now();
      if (done - asked >= 0 || left <= 0 || this.broken) return;
      const wait = Atomics.waitAsync(header, SLOT.flushDone, done, left);
      if (wait.async) await wait.value;
    }
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    await this.worker?.terminate();
    this.worker = undefined;
    this.broken = true;
  }

  capture(): void {}

  /** process.exit(), a crash: the thread still runs while this one waits for it, until `deadline`. */
  drainSync(deadline: number): void {
    const asked = this.askFlush();
    if (asked === undefined) return;
    const header = this.ring.header;
    for (;;) {
      const done = Atomics.load(header, SLOT.flushDone);
      const left = deadline - Date.now();
      if (done - asked >= 0 || left <= 0 || this.broken) return;
      Atomics.wait(header, SLOT.flushDone, done, left);
    }
  }
}
