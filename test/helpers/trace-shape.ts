// Comparing a trace made under the agent with the same app's trace under the official register: each span as
// scope, kind, name, attribute keys and its parent's scope, kind and name (ids, times and values differ by run).
import type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';

/** `node --require` arguments and environment that run an app under the official register, exporting to `receiver`. */
export const OFFICIAL_REGISTER_ARGS = ['--require', '@opentelemetry/auto-instrumentations-node/register'];
export function officialRegisterEnv(receiver: OtlpReceiver, service: string, extra: Record<string, string> = {}) {
  return {
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    ...extra,
  };
}

const label = (s: ReceivedSpan | undefined) =>
  s ? `${s.scope.name.replace('@opentelemetry/instrumentation-', '')} ${s.kindName} ${s.name}` : '(root)';

export function traceShape(trace: ReceivedSpan[]) {
  return trace
    .map((s) => ({
      span: label(s),
      parent: label(trace.find((p) => p.spanId === s.parentSpanId)),
      attributes: Object.keys(s.attributes).sort(),
    }))
    .sort((a, b) => `${a.span}<${a.parent}`.localeCompare(`${b.span}<${b.parent}`));
}

/** The span's ancestors, nearest first. */
export function ancestorsOf(trace: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const parent = trace.find((s) => s.spanId === span.parentSpanId);
  return parent ? [parent, ...ancestorsOf(trace, parent)] : [];
}
