// The logs signal: a LoggerProvider exporting over OTLP (or to the console) beside the spans, fed by the console
// and by pino/winston/bunyan, each record carrying the trace and span ids of the span active when it was
// written. Started by the SDK module after the trace pipeline; loads the logs SDK only when logs are exported.
import { logs } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { LogsConfig } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';
import { createLogExporters } from '../exporters/index.js';
import { LazyExporter } from '../exporters/lazy.js';
import { ThreadLogRecordProcessor, type ThreadOptions } from '../exporters/thread/processor.js';
import { agentState } from '../state.js';
import { captureConsole } from './console.js';
import { consoleRecordEmitter, type EmitConsoleRecord } from './console-records.js';
import { bridgeLegacyLogsApi } from './legacy-api.js';

const SCOPE = '@x/trace-agent/console';

/** `thread`: TRACES_EXPORT_THREAD is on; OTLP log records (protobuf) then go to the exporter thread. */
export function startLogs(
  lc: LogsConfig,
  diag: Diag,
  resource: Resource,
  thread?: Pick<ThreadOptions, 'logLevel' | 'secrets'>,
): void {
  const exporting = lc.exporters.length > 0;
  const patchConsole = (exporting && lc.console) || lc.format === 'jsonl';
  if (!exporting && !patchConsole) return;
  try {
    let emitRecord: EmitConsoleRecord | undefined;
    if (exporting) {
      const { BatchLogRecordProcessor, LoggerProvider } =
        require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
      routeLogsSdkErrors(diag);
      const threaded = thread !== undefined && lc.exporters.includes('otlp');
      const others = threaded ? { ...lc, exporters: lc.exporters.filter((n) => n !== 'otlp') } : lc;
      const processors: LogRecordProcessor[] = createLogExporters(others, diag).map((exporter) => {
        // A bounded queue: with the collector down, records beyond maxQueueSize are dropped, not kept.
        const processor = new BatchLogRecordProcessor({
          exporter,
          scheduledDelayMillis: lc.batch.scheduledDelayMs,
          maxQueueSize: lc.batch.maxQueueSize,
          maxExportBatchSize: lc.batch.maxExportBatchSize,
          exportTimeoutMillis: lc.batch.exportTimeoutMs,
        });
        if (exporter instanceof LazyExporter) exporter.queued = queuedLogRecords(processor);
        return processor;
      });
      if (threaded) processors.push(new ThreadLogRecordProcessor({ otlp: lc.otlp, batch: lc.batch, diag, ...thread }));
      const provider = new LoggerProvider({ resource, processors, logRecordLimits: lc.limits });
      if (!logs.setGlobalLoggerProvider(provider))
        diag.warn('a global LoggerProvider was already registered; log libraries keep using it');
      agentState().logs = provider;
      if (lc.console)
        emitRecord = consoleRecordEmitter({
          logger: provider.getLogger(SCOPE),
          processors,
          resource,
          scopeName: SCOPE,
        });
      bridgeLegacyLogsApi(); // for winston's transport, should its instrumentation be loaded
      diag.info(
        `logs on: exporters=${lc.exporters.join(',')}` +
          (lc.exporters.includes('otlp') ? `, ${lc.otlp.protocol}` : '') +
          `, console=${lc.console}`,
      );
    }
    if (patchConsole) captureConsole({ format: lc.format, emitRecord });
  } catch (err) {
    diag.warn(`logs could not start and are off (spans are not affected): ${describeError(err)}`);
  }
}

/**
 * The records a batch processor still holds, for the synchronous delivery at an abrupt exit. sdk-logs has no
 * synchronous drain (its flush hands a batch to the exporter only after a microtask, and none runs in the 'exit'
 * event), so this reads the processor's buffer, a private field of sdk-logs 3.x. Should it change, nothing is
 * read and those records are lost at exit; test/faults-exit.test.ts would show it.
 */
function queuedLogRecords(processor: object): () => ReadableLogRecord[] {
  return () => {
    const queue = (processor as { _finishedLogRecords?: unknown })._finishedLogRecords;
    return Array.isArray(queue) ? (queue.slice() as ReadableLogRecord[]) : [];
  };
}

/**
 * The logs SDK is loaded with require(), so in the SDK bundle it gets the CommonJS copy of @opentelemetry/core,
 * whose global error handler is not the one sdk.ts routes (that is the ESM copy's): without this, each failed log
 * batch of an outage would also print an error line of its own. Failures are reported by LazyExporter.
 */
function routeLogsSdkErrors(diag: Diag): void {
  try {
    const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    core.setGlobalErrorHandler((err) => diag.debug(`OpenTelemetry logs SDK error: ${describeError(err)}`));
  } catch {
    // the default handler stays: noisier, not harmful
  }
}
