// The log record exporters OTEL_LOGS_EXPORTER names. The OTLP exporter is built shortly after start-up or at
// the first export (LazyLogExporter), so grpc-js or the HTTP transport is not loaded during the app's start-up,
// and its failures are reported once per outage instead of once per batch.
import { context } from '@opentelemetry/api';
import { suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { redactUrl, type LogsConfig, type OtlpConfig } from '../config.js';
import { describeError, type Diag } from '../diag.js';
import { PendingBatches, registerExitSink, type ExitSink } from '../exporters/exit-flush.js';
import { GRPC_REBUILD_MS } from '../exporters/lazy.js';
import { deliverAtExit } from '../exporters/sync-send.js';

const SUCCESS = 0; // ExportResultCode.SUCCESS
const FAILED = 1; // ExportResultCode.FAILED
/** Built this long after start-up even before any export, so a flush at SIGTERM finds the exporter ready. */
const WARM_UP_DELAY_MS = 250;
/** After a failed export, batches are dropped without a network attempt for this long. */
const PAUSE_MS = 2000;
/**
 * One error object for every failure of an outage: the batch processor hands it to OpenTelemetry's global error
 * handler, whose repeated identical message the agent's diagnostics print once. The detail is in the warning.
 */
const OUTAGE_RESULT: ExportResult = {
  code: FAILED,
  error: Object.assign(new Error('log records dropped: the log exporter is failing (see the warning before)'), { stack: undefined }),
};

export function createLogExporters(logs: LogsConfig, diag: Diag): LogRecordExporter[] {
  routeLogsSdkErrors(diag);
  return logs.exporters.map((name): LogRecordExporter => {
    if (name === 'otlp') {
      return new LazyLogExporter(() => loadOtlpModule().createOtlpLogExporter(logs.otlp, diag), logs.otlp, diag);
    }
    const { ConsoleLogRecordExporter } = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    return new ConsoleLogRecordExporter();
  });
}

/**
 * The logs SDK is loaded with require(), so in the SDK bundle it gets the CommonJS copy of @opentelemetry/core,
 * whose global error handler is not the one sdk.ts routes (that is the ESM copy's): without this, each failed log
 * batch of an outage would also print an error line of its own. Failures are reported by LazyLogExporter.
 */
function routeLogsSdkErrors(diag: Diag): void {
  try {
    const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    core.setGlobalErrorHandler((err) => diag.debug(`OpenTelemetry logs SDK error: ${describeError(err)}`));
  } catch {
    // the default handler stays: noisier, not harmful
  }
}

/**
 * Builds the real exporter late (see above) and guards the collector and the app during an outage: after a
 * failed export, batches are dropped at once for PAUSE_MS instead of each being sent and retried (the OTLP
 * exporters retry a batch for up to their timeout); then the next batch probes again. So a collector that is
 * down gets one attempt every few seconds, the processor's bounded queue drains instead of staying full (an
 * app that ends meanwhile is not held up by it), and the outage is reported once.
 */
export class LazyLogExporter implements LogRecordExporter, ExitSink {
  private delegate: LogRecordExporter | undefined;
  private broken = false;
  /** Inside an outage: set at the first failure, cleared by the next success. */
  private failing = false;
  private pausedUntil = 0;
  private readonly target: string;
  /** gRPC: a failed export makes the next one use a new channel (see GRPC_REBUILD_MS). */
  private readonly rebuildOnFailure: boolean;
  /** Batches handed to the transport and not confirmed yet: sent again at an abrupt exit (exit-flush.ts). */
  private readonly pending = new PendingBatches<ReadableLogRecord>();
  /** The records its batch processor still holds; set by the logs pipeline (see queuedLogRecords in index.ts). */
  queued: () => ReadableLogRecord[] = () => [];

  constructor(
    private readonly build: () => LogRecordExporter,
    private readonly otlp: OtlpConfig,
    private readonly diag: Diag,
  ) {
    this.target = redactUrl(otlp.url);
    this.rebuildOnFailure = otlp.protocol === 'grpc';
    // Built outside any app context, marked like an export so that nothing the transport prints is captured.
    setTimeout(() => context.with(suppressTracing(context.active()), () => this.get()), WARM_UP_DELAY_MS).unref();
    registerExitSink(this);
  }

  capture(): void {
    // Nothing to switch: the logs batch processor hands a batch over only after a microtask, and none runs in the
    // 'exit' event, so drainSync() reads its queue instead.
  }

  /** process.exit(), a crash: the records not delivered yet (the last lines before a crash, often) sent synchronously. */
  drainSync(deadline: number): void {
    const encode = (records: ReadableLogRecord[]) => {
      const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
      return (this.otlp.protocol === 'http/json' ? transformer.JsonLogsSerializer : transformer.ProtobufLogsSerializer).serializeRequest(records);
    };
    const to = { otlp: this.otlp, signal: 'logs' as const, target: this.target, noun: 'log record' };
    deliverAtExit([...this.pending.take(), ...this.queued()], encode, to, deadline, this.diag);
  }


  private builtAt = 0;

  private get(): LogRecordExporter | undefined {
    if (!this.delegate && !this.broken) {
      try {
        this.builtAt = Date.now();
        this.delegate = this.build();
      } catch (err) {
        this.broken = true;
        this.diag.error(`cannot create the OTLP log exporter: ${describeError(err)}; logs will not be exported`);
      }
    }
    return this.delegate;
  }

  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    const delegate = this.get();
    if (!delegate || (this.failing && Date.now() < this.pausedUntil)) return resultCallback(OUTAGE_RESULT);
    const settled = this.pending.track(records);
    delegate.export(records, (result) => {
      settled();
      if (result.code === SUCCESS) {
        if (this.failing) this.diag.info(`log records reach ${this.target} again`);
        this.failing = false;
        return resultCallback(result);
      }
      if (!this.failing) {
        this.failing = true;
        this.diag.warn(
          `log records cannot be exported to ${this.target} (${describeError(result.error)}); ` +
            `dropping them, trying again every ${PAUSE_MS / 1000} s`,
        );
      }
      this.pausedUntil = Date.now() + PAUSE_MS;
      if (this.rebuildOnFailure && Date.now() - this.builtAt >= GRPC_REBUILD_MS) {
        const old = this.delegate;
        this.delegate = undefined; // the next probe builds a fresh exporter, whose channel connects at once
        void old?.shutdown().catch(() => undefined);
      }
      resultCallback(OUTAGE_RESULT);
    });
  }

  async shutdown(): Promise<void> {
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}

/**
 * The OTLP exporters (spans and logs) share one bundle of their own, reached through the package's
 * self-reference: the SDK bundle must not swallow the exporter packages and their transports.
 */
function loadOtlpModule(): typeof import('../exporters/otlp.js') {
  return require('@x/trace-agent/internal/otlp-exporter') as typeof import('../exporters/otlp.js');
}
