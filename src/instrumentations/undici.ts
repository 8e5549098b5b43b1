// fetch spans: @opentelemetry/instrumentation-undici, loaded on the first fetch rather than at start-up, where it cost
// ~15 ms (its own copy of @opentelemetry/instrumentation and the whole semantic-conventions index) for apps that may
// never fetch. It works from undici's diagnostics channels, so nothing has to be patched in advance: this watches the
// first of them, `undici:request:create`; on its first message it builds the real instrumentation (which subscribes
// to every channel from then on) and hands it that first message, so the first request is traced like the others.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type MeterProvider, diag as otelDiag, type TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { SwitchableInstrumentation } from './switchable.js';

const UNDICI_REQUEST_CREATE = 'undici:request:create';

class LazyUndiciInstrumentation extends SwitchableInstrumentation {
  readonly instrumentationName = '@opentelemetry/instrumentation-undici';
  readonly instrumentationVersion = '';
  private real: Instrumentation | undefined;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  private readonly onFirstRequest = (message: unknown): void => {
    unsubscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
    try {
      const real = this.load();
      // The real instrumentation subscribed (it enables itself when built) after this message went out: it gets
      // this one from here. A version without this handler only misses the very first request.
      (real as unknown as { onRequestCreated?: (m: unknown) => void }).onRequestCreated?.(message);
    } catch (err) {
      otelDiag.warn(`fetch (undici) instrumentation could not start: ${String(err)}`);
    }
  };

  private load(): Instrumentation {
    if (!this.real) {
      const { UndiciInstrumentation } =
        require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
      const real = new UndiciInstrumentation();
      if (this.tracerProvider) real.setTracerProvider(this.tracerProvider);
      if (this.meterProvider) real.setMeterProvider(this.meterProvider);
      if (!real.getConfig().enabled) real.enable();
      this.real = real;
    }
    return this.real;
  }

  setTracerProvider(provider: TracerProvider): void {
    this.tracerProvider = provider;
    this.real?.setTracerProvider(provider);
  }

  override setMeterProvider(provider: MeterProvider): void {
    this.meterProvider = provider;
    this.real?.setMeterProvider(provider);
  }

  protected start(): void {
    if (this.real) this.real.enable();
    else subscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
  }

  protected stop(): void {
    unsubscribe(UNDICI_REQUEST_CREATE, this.onFirstRequest);
    this.real?.disable();
  }
}

export function createUndiciInstrumentation(): Instrumentation {
  return new LazyUndiciInstrumentation();
}
