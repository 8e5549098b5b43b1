// What the agent's own instrumentations share as OpenTelemetry `Instrumentation`s: a configuration whose `enabled`
// flag turns them on and off once each way. Subclasses say what starting and stopping does (subscribing to
// diagnostics channels, patching); spans are their own business.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';

export abstract class SwitchableInstrumentation<C extends InstrumentationConfig = InstrumentationConfig>
  implements Instrumentation<C>
{
  abstract readonly instrumentationName: string;
  abstract readonly instrumentationVersion: string;
  private config: C = { enabled: false } as C;

  abstract setTracerProvider(provider: TracerProvider): void;

  /** Starts watching or patching; called once per enable(). */
  protected abstract start(): void;
  /** Undoes start(); called once per disable(). */
  protected abstract stop(): void;

  setMeterProvider(_provider: MeterProvider): void {
    // no metrics: the agent exports traces (and logs) only
  }

  /** As OpenTelemetry's instrumentations: `enabled` here changes nothing, enable() and disable() do. */
  setConfig(config: C): void {
    this.config = { ...config, enabled: this.config.enabled };
  }

  getConfig(): C {
    return this.config;
  }

  enable(): void {
    if (this.config.enabled) return;
    this.config.enabled = true;
    this.start();
  }

  disable(): void {
    if (!this.config.enabled) return;
    this.config.enabled = false;
    this.stop();
  }
}
