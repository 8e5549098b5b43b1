// Comparing a trace made under the agent with the same app's trace under the official register: each span as
// scope, kind, name, attributes and its parent's scope, kind and name. Ids and times differ by run and are left out;
// so are port numbers (each run listens on a free port), which are replaced by "<port>" wherever they appear.
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
      attributes: Object.fromEntries(
        Object.keys(s.attributes)
          .sort()
          .map((key) => [key, withoutPorts(key, s.attributes[key])]),
      ),
    }))
    .sort((a, b) => `${a.span}<${a.parent}`.localeCompare(`${b.span}<${b.parent}`));
}

function withoutPorts(key: string, value: unknown): unknown {
  if (/(^|\.)port$/.test(key)) return '<port>';
  return typeof value === 'string' ? value.replace(/(127\.0\.0\.1|localhost|\[::1\]):\d+/g, '$1:<port>') : value;
}

/** The span's ancestors, nearest first. */
export function ancestorsOf(trace: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const parent = trace.find((s) => s.spanId === span.parentSpanId);
  return parent ? [parent, ...ancestorsOf(trace, parent)] : [];
}
