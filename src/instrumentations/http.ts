// Incoming and outgoing http/https spans (the OpenTelemetry http instrumentation) and fetch spans (undici's
// diagnostics channels, so fetch costs no patching).
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { IncomingMessage } from 'node:http';

/** The `x-request-id` header, recorded so a request can be found by the id the app already logs. */
export const REQUEST_ID_ATTRIBUTE = 'x_request_id';

export function createHttpInstrumentation(): Instrumentation {
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  return new HttpInstrumentation({
    startIncomingSpanHook: (request) => {
      const id = (request as IncomingMessage).headers?.['x-request-id'];
      const value = Array.isArray(id) ? id[0] : id;
      return value ? { [REQUEST_ID_ATTRIBUTE]: value } : {};
    },
  });
}

export function createUndiciInstrumentation(): Instrumentation {
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  return new UndiciInstrumentation();
}
