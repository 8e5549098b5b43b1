// How an agent reaches the process's exporter thread. The main thread's agent starts it and owns it (OwnThread);
// an app worker's agent, which Node starts again in each worker thread, asks the main thread's to read its rings too
// (HostLink), so a process has one exporter thread however many workers it runs (each of its own cost ~18 MiB:
// bench/memory.mjs, an empty worker). A worker whose rings nobody takes within ADOPT_TIMEOUT_MS (the main thread's
// agent exports in-thread, or its event loop is blocked) starts its own thread, as every agent did before.
import { getCompileCacheDir } from 'node:module';
import { BroadcastChannel, getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';
import type { LogLevel } from '../../config/index.js';
import { type Diag, describeError } from '../../diag.js';
import type { ExportThreadData, RingSpec } from './exporter-thread.js';
import { ADOPT_CHANNEL, HOST_KEY, READER, ringHeader, SLOT, THREAD_CHANNEL } from './ring.js';

/** What the agent does when its exporter thread fails, and what a user who sees that can set. */
const FALLBACK = "exporting from the app's thread instead, as TRACES_EXPORT_THREAD=false does from the start";

/** A worker's rings not taken by the main thread's exporter thread by then: the worker starts its own. */
const ADOPT_TIMEOUT_MS = 1000;
/** The least time between two requests to take the same rings. */
const ASK_AGAIN_MS = 100;
/** On THREAD_CHANNEL, from the main thread's agent: its exporter thread failed. */
const HOST_FAILED = 'host failed';

/** What the hand-off (hand-off.ts) needs of the exporter thread, wherever it runs. */
export interface ExporterLink {
  /** False until the thread reads the rings: a flush then runs on the app's thread (hand-off.ts's flushHere). */
  readonly started: boolean;
  readonly broken: boolean;
  /** True for a worker's link: its rings are read by another thread's exporter thread. */
  readonly guest: boolean;
  add(ring: RingSpec): void;
  /** Starts the thread (or asks for the rings to be taken); false once it cannot export. */
  start(): boolean;
  /** Wakes the thread's loops before their batch delay (a full batch, a flush). */
  wake(): void;
  /** Resolves once the ring's flush number `asked` is done, or at `deadline` (epoch ms), or if the thread ends. */
  flushed(ring: string, asked: number, deadline: number): Promise<void>;
  /** The ring's writer is done (its shutdown, its exit). */
  close(ring: RingSpec): void;
  /** Called once if the thread cannot start or stops unasked: its rings are then read on the app's thread. */
  onBreak(listener: () => void): void;
  /** One signal is done with the thread; the last one stops it. */
  release(): Promise<void>;
}

interface FlushWaiter {
  ring: string;
  asked: number;
  done: () => void;
}

/** Flushes waited for, resolved by the thread's `{ ring, flushed }` messages. */
class Waiters {
  private readonly set = new Set<FlushWaiter>();

  wait(ring: string, asked: number, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.done(), Math.max(0, deadline - Date.now()));
      const waiter: FlushWaiter = {
        ring,
        asked,
        done: () => {
          clearTimeout(timer);
          this.set.delete(waiter);
          resolve();
        },
      };
      this.set.add(waiter);
    });
  }

  onFlushed(m: { ring?: unknown; flushed?: unknown }): void {
    for (const w of this.set) if (m.ring === w.ring && Number(m.flushed) - w.asked >= 0) w.done();
  }

  endAll(): void {
    for (const w of this.set) w.done();
  }
}

/** An exporter thread this agent starts: the main thread's, which also takes its workers' rings, or a worker's own. */
class OwnThread implements ExporterLink {
  private worker: import('node:worker_threads').Worker | undefined;
  private readonly rings: RingSpec[] = [];
  /** Signals using the thread: the last one to shut down stops it. */
  private users = 0;
  private adoptions: BroadcastChannel | undefined;
  /** The headers of the workers' rings handed to the thread, by ring id: given back to their writers if it fails. */
  private readonly adopted = new Map<string, Int32Array>();
  private readonly breakListeners: (() => void)[] = [];
  /** Set by fail(); `broken` is also set by release(). */
  private failed = false;
  broken = false;
  readonly guest = false;

  constructor(
    private readonly logLevel: LogLevel,
    private readonly secrets: string[],
    private readonly diag: Diag,
    private readonly host: boolean,
    /** A worker's fallback shares its link's: a flush may be answered by either thread. */
    private readonly waiters = new Waiters(),
  ) {
    if (!host) return;
    setEnvironmentData(HOST_KEY, true); // seen by the workers started from now on, and by theirs
    this.adoptions = new BroadcastChannel(ADOPT_CHANNEL);
    this.adoptions.unref();
    this.adoptions.onmessage = (event) => this.adopt((event as MessageEvent).data);
  }

  get started(): boolean {
    return this.worker !== undefined;
  }

  wake(): void {
    this.worker?.postMessage('wake');
  }

  flushed(ring: string, asked: number, deadline: number): Promise<void> {
    return this.worker ? this.waiters.wait(ring, asked, deadline) : Promise.resolve();
  }

  private readonly onMessage = (m: { ring?: string; flushed?: number; diag?: unknown }): void => {
    if (typeof m.diag !== 'string') return this.waiters.onFlushed(m);
    try {
      process.stderr.write(m.diag); // the thread's diagnostics line, redacted there
    } catch {
      // stderr closed: nothing sensible left to do
    }
  };

  add(ring: RingSpec): void {
    this.users++;
    this.read(ring);
  }

  /** Gives the thread a ring to read (again, for a worker's ring it let go): it reads it unless another thread does. */
  read(ring: RingSpec): void {
    if (this.worker) this.worker.postMessage(ring);
    else if (!this.rings.some((r) => r.sab === ring.sab)) this.rings.push(ring);
  }

  /** A worker's ring (ADOPT_CHANNEL): read by this thread too; its writer hears from the thread (THREAD_CHANNEL). */
  private adopt(ring: unknown): void {
    const spec = ring as RingSpec;
    if (!(spec?.sab instanceof SharedArrayBuffer) || spec.guest !== true || this.broken) return;
    // Those of ended workers are forgotten (each view keeps its 2 MiB ring alive): closed, or let go and unread.
    for (const [id, h] of this.adopted)
      if (
        Atomics.load(h, SLOT.closed) !== 0 ||
        (Atomics.load(h, SLOT.reader) === READER.none && Atomics.load(h, SLOT.letGo) !== 0)
      )
        this.adopted.delete(id);
    this.adopted.set(spec.id, ringHeader(spec.sab));
    this.read(spec);
    this.start();
  }

  close(): void {}

  start(): boolean {
    if (this.worker || this.broken) return !this.broken;
    try {
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      const data: ExportThreadData = {
        rings: this.rings,
        logLevel: this.logLevel,
        secrets: this.secrets,
        host: this.host,
        codeCacheDir: getCompileCacheDir?.(),
      };
      // Through the package's self-reference, so the bundled and the unbundled agent start the same file.
      this.worker = new Worker(require.resolve('@x/trace-agent/internal/export-thread'), {
        workerData: data,
        execArgv: [], // no preload: the agent must not start in its own exporter thread
        env: threadEnv(),
        name: '@x/trace-agent exporter',
      });
      const worker = this.worker;
      worker.on('message', this.onMessage);
      worker.on('error', (err) => this.fail(`the exporter thread stopped (${describeError(err)})`));
      worker.on('exit', (code) => {
        // Not asked to stop (release() forgets the worker first): it ended unasked, terminated by someone else.
        if (this.worker === worker) this.fail(`the exporter thread ended (exit code ${code})`);
        this.waiters.endAll();
      });
      worker.unref();
      this.rings.length = 0; // the thread has them; later ones go as messages (and a worker's ring is not kept here)
      this.diag.debug('exporter thread started');
      return true;
    } catch (err) {
      this.worker = undefined;
      this.fail(`cannot start the exporter thread (${describeError(err)})`);
      return false;
    }
  }

  onBreak(listener: () => void): void {
    if (this.failed) listener();
    else this.breakListeners.push(listener);
  }

  /**
   * The thread cannot start, or stopped: one error line; each ring's writer reads its ring on its own thread from
   * now on (hand-off.ts), and the workers' rings it had taken are let go, so their writers start threads of their own
   * (HostLink) and write their resource and scopes again.
   */
  private fail(why: string): void {
    if (this.broken) return;
    this.broken = this.failed = true;
    this.adoptions?.close();
    this.diag.error(`${why}: ${FALLBACK}`);
    if (this.host) {
      setEnvironmentData(HOST_KEY, false); // workers started from now on start their own at once
      for (const header of this.adopted.values()) {
        Atomics.add(header, SLOT.letGo, 1); // before the reader slot, as the thread lets a ring go
        Atomics.store(header, SLOT.reader, READER.none);
      }
      this.adopted.clear();
      const channel = new BroadcastChannel(THREAD_CHANNEL);
      channel.postMessage(HOST_FAILED); // the workers' links start their own threads now, not at their next span
      channel.close();
    }
    for (const listener of this.breakListeners.splice(0)) {
      try {
        listener();
      } catch {
        // a signal's own failure stays its own
      }
    }
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    const worker = this.worker;
    this.worker = undefined;
    this.broken = true;
    this.adoptions?.close();
    await worker?.terminate();
  }
}

/**
 * A worker's link to the main thread's exporter thread. Its rings go to the main thread's agent (ADOPT_CHANNEL),
 * which hands them to its thread; whichever thread first claims a ring (SLOT.reader) reads it. Asked again while a
 * ring is not read (the thread lets a ring go after a long idle spell, as a worker ended by terminate() never says
 * it is done), and after ADOPT_TIMEOUT_MS falls back to a thread of its own (OwnThread).
 */
class HostLink implements ExporterLink {
  private readonly rings: RingSpec[] = [];
  private readonly headers = new Map<RingSpec, Int32Array>();
  private readonly thread = new BroadcastChannel(THREAD_CHANNEL);
  private readonly adoptions = new BroadcastChannel(ADOPT_CHANNEL);
  private readonly waiters = new Waiters();
  private own: OwnThread | undefined;
  /** Told if this worker's own thread fails (fallBack); the main thread's failing gives the rings back instead. */
  private readonly breakListeners: (() => void)[] = [];
  private users = 0;
  /** When a ring was first seen unread (0: all are read), and when they were last asked for. */
  private unreadSince = 0;
  private askedAt = 0;
  readonly guest = true;
  readonly started = true; // never read on the worker's own thread: the rings' reader may claim them any time

  constructor(
    private readonly logLevel: LogLevel,
    private readonly secrets: string[],
    private readonly diag: Diag,
  ) {
    this.thread.unref();
    this.adoptions.unref();
    this.thread.onmessage = (event) => {
      const data = (event as MessageEvent).data;
      if (data === HOST_FAILED) {
        if (!this.own && this.rings.length > 0) this.fallBack();
      } else this.waiters.onFlushed(data ?? {});
    };
  }

  get broken(): boolean {
    return this.own?.broken ?? false;
  }

  add(ring: RingSpec): void {
    this.users++;
    this.rings.push(ring);
    this.headers.set(ring, ringHeader(ring.sab));
    this.own?.add(ring);
    this.start();
    setTimeout(() => this.start(), ADOPT_TIMEOUT_MS + 1).unref(); // falls back if still unread by then
  }

  start(): boolean {
    const unread = this.rings.filter((r) => Atomics.load(this.headers.get(r)!, SLOT.reader) === READER.none);
    if (unread.length === 0) {
      this.unreadSince = 0;
      return this.own?.start() ?? true;
    }
    const now = Date.now();
    if (this.unreadSince === 0) this.unreadSince = now;
    if (!this.own && now - this.unreadSince > ADOPT_TIMEOUT_MS) return this.fallBack();
    if (now - this.askedAt >= ASK_AGAIN_MS) {
      this.askedAt = now;
      // Once it has a thread of its own, a ring let go while idle goes back to that thread.
      for (const ring of unread) this.own ? this.own.read(ring) : this.adoptions.postMessage(ring);
    }
    return this.own?.start() ?? true;
  }

  private fallBack(): boolean {
    this.diag.debug(`the main thread's exporter thread did not take this worker's rings: starting its own`);
    this.own = new OwnThread(this.logLevel, this.secrets, this.diag, false, this.waiters);
    for (const listener of this.breakListeners) this.own.onBreak(listener);
    for (const ring of this.rings) this.own.add(ring); // a ring the main thread's took meanwhile stays with it
    return this.own.start();
  }

  wake(): void {
    this.thread.postMessage('wake');
    this.own?.wake();
  }

  flushed(ring: string, asked: number, deadline: number): Promise<void> {
    return this.waiters.wait(ring, asked, deadline); // answered on the channel, or by its own thread (fallBack)
  }

  close(ring: RingSpec): void {
    Atomics.store(this.headers.get(ring) ?? ringHeader(ring.sab), SLOT.closed, 1);
    this.wake();
  }

  onBreak(listener: () => void): void {
    if (this.own) this.own.onBreak(listener);
    else this.breakListeners.push(listener);
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    this.waiters.endAll();
    this.thread.close();
    this.adoptions.close();
    await this.own?.release();
  }
}

/**
 * The app's environment (grpc-js reads GRPC_VERBOSITY/GRPC_TRACE, proxies and more from it) without what would
 * start the agent, should a preload still reach the thread.
 */
function threadEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !/^(TRACES_ENABLE|OTEL_EXPORT_ENABLED|NODE_OPTIONS)$/.test(key)) env[key] = value;
  return env;
}

let link: ExporterLink | undefined;

/** This agent's link: the main thread hosts the process's exporter thread; a worker uses it when there is one. */
export function exporterLink(logLevel: LogLevel, secrets: string[], diag: Diag): ExporterLink {
  if (link) return link;
  const hosted = !isMainThread && getEnvironmentData(HOST_KEY) === true;
  link = hosted ? new HostLink(logLevel, secrets, diag) : new OwnThread(logLevel, secrets, diag, isMainThread);
  return link;
}
