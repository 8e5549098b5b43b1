// pino, winston and bunyan records reach the logs pipeline through their OpenTelemetry instrumentations, which the
// instrumentations module loads on first use of each library (src/instrumentations/first-use.ts) and which send
// to the global LoggerProvider. winston's needs one more step, taken here.
import { logs } from '@opentelemetry/api';

/**
 * @opentelemetry/winston-transport still reads the global logger provider of the former
 * @opentelemetry/api-logs package (a versioned getter under its own global symbol), not the one of
 * @opentelemetry/api. Installing that getter, answering with the API's provider, routes its records into our
 * pipeline. An app that registered its own api-logs provider keeps it.
 */
export function bridgeLegacyLogsApi(): void {
  const key = Symbol.for('io.opentelemetry.js.api.logs');
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[key] !== undefined) return;
  g[key] = (version: number) => (version === 1 ? logs.getLoggerProvider() : undefined);
}
