// The attribute, event and link limits of spans and log records (the spec's OTEL_*_LIMIT variables). sdk-trace 3
// and sdk-logs no longer read them from the environment, so the agent does and hands them to the providers. Each
// signal's own variable wins over the general OTEL_ATTRIBUTE_* one; unset, the SDKs' defaults (no length limit,
// 128 of each).
import type { Reader } from './reader.js';
import type { RecordLimits, SpanLimitsConfig } from './types.js';

const DEFAULT_COUNT = 128;
const MAX = 1_000_000_000;

export function readSpanLimits(r: Reader): SpanLimitsConfig {
  const count = (key: string, names: string[]) => r.int(`spanLimits.${key}`, names, DEFAULT_COUNT, 0, MAX);
  return {
    attributeValueLengthLimit: r.int(
      'spanLimits.attributeValueLengthLimit',
      ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'],
      Number.POSITIVE_INFINITY,
      0,
      MAX,
    ),
    attributeCountLimit: count('attributeCountLimit', [
      'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT',
      'OTEL_ATTRIBUTE_COUNT_LIMIT',
    ]),
    eventCountLimit: count('eventCountLimit', ['OTEL_SPAN_EVENT_COUNT_LIMIT']),
    linkCountLimit: count('linkCountLimit', ['OTEL_SPAN_LINK_COUNT_LIMIT']),
    attributePerEventCountLimit: count('attributePerEventCountLimit', ['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT']),
    attributePerLinkCountLimit: count('attributePerLinkCountLimit', ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT']),
  };
}

export function readLogRecordLimits(r: Reader): RecordLimits {
  return {
    attributeValueLengthLimit: r.int(
      'logs.limits.attributeValueLengthLimit',
      ['OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'],
      Number.POSITIVE_INFINITY,
      0,
      MAX,
    ),
    attributeCountLimit: r.int(
      'logs.limits.attributeCountLimit',
      ['OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT'],
      DEFAULT_COUNT,
      0,
      MAX,
    ),
  };
}
