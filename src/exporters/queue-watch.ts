// Counts the spans the BatchSpanProcessor drops because its queue is full (a collector slower than the app) and
// reports them once per episode: one warning when dropping starts, one line with the count when it stops. The
// processor's only drop hook is its self-observability metric (otel.sdk.processor.span.processed with
// error.type=queue_full), so this is a MeterProvider that listens to that one counter and ignores the rest; its
// own diag message ("Dropped N spans because maxQueueSize reached", once per refill) is demoted by diag.ts.
import { type Attributes, type Counter, createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { Diag } from '../diag.js';

const PROCESSED_METRIC = 'otel.sdk.processor.span.processed';
/** An episode ends once no span has been dropped for this long. */
const QUIET_MS = 2000;

const watches = new Set<QueueWatch>();

/** The `selfObsMeterProvider` for one BatchSpanProcessor. */
export function spanQueueWatch(maxQueueSize: number, diag: Diag): MeterProvider {
  const watch = dropWatch(
    `span queue full (${maxQueueSize} spans, OTEL_BSP_MAX_QUEUE_SIZE): new spans are dropped until the exporter ` +
      'catches up; the count follows when it does',
    diag,
  );
  return { getMeter: () => watch.meter() };
}

/** The same episode reporting for a drop the caller sees itself; `startMessage` opens an episode. */
export function dropWatch(startMessage: string, diag: Diag, noun = 'span'): QueueWatch {
  const watch = new QueueWatch(startMessage, diag, noun);
  watches.add(watch);
  return watch;
}

/** Reports an episode still under way (at exit, so its count is not lost). */
export function reportDropsNow(): void {
  for (const watch of watches) watch.end();
}

export class QueueWatch {
  private dropped = 0;
  private startedAt = 0;
  private lastDropAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly startMessage: string,
    private readonly diag: Diag,
    private readonly noun = 'span',
  ) {}

  meter(): Meter {
    const noop = createNoopMeter();
    const onDrop = (n: number) => this.drop(n);
    return Object.assign(Object.create(noop) as Meter, {
      createCounter(name: string, options?: object): Counter {
        if (name !== PROCESSED_METRIC) return noop.createCounter(name, options);
        return {
          add(value: number, attributes?: Attributes) {
            if (attributes?.['error.type'] === 'queue_full') onDrop(value);
          },
        };
      },
    });
  }

  drop(n: number): void {
    const now = Date.now();
    this.lastDropAt = now;
    if (this.dropped === 0) {
      this.startedAt = now;
      this.diag.notice(this.startMessage);
      this.timer = setInterval(() => {
        if (Date.now() - this.lastDropAt >= QUIET_MS) this.end();
      }, QUIET_MS / 2);
      this.timer.unref();
    }
    this.dropped += n;
  }

  end(): void {
    if (this.dropped === 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    const seconds = ((this.lastDropAt - this.startedAt) / 1000).toFixed(1);
    this.diag.notice(`${this.dropped} ${this.noun}(s) dropped (queue full) over ${seconds} s`);
    this.dropped = 0;
  }
}
