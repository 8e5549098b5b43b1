// The official OTLP request serializers (@opentelemetry/otlp-transformer) by signal and encoding, for the requests the
// agent sends itself: at an abrupt exit (lazy.ts) and `trace-agent doctor`'s empty probe.
import type { Signal } from './otlp-wire.js';

export interface OtlpSerializer<T = unknown> {
  serializeRequest(items: T[]): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): unknown;
}

export function otlpSerializer<T>(signal: Signal, json: boolean): OtlpSerializer<T> {
  const t = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const s =
    signal === 'traces'
      ? json
        ? t.JsonTraceSerializer
        : t.ProtobufTraceSerializer
      : json
        ? t.JsonLogsSerializer
        : t.ProtobufLogsSerializer;
  return s as unknown as OtlpSerializer<T>;
}
