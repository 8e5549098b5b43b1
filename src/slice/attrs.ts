// User attributes in, OpenTelemetry attributes out: bigints become strings, unusable values are dropped with one
// warning (the SDK would drop them silently).
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { warnOnce } from './warn.js';

export function toAttributes(attrs: unknown, where: string): Attributes | undefined {
  if (attrs === undefined || attrs === null) return undefined;
  if (typeof attrs !== 'object' || Array.isArray(attrs)) {
    warnOnce(
      'bad_attrs',
      `${where}: attrs must be a plain object; got ${Array.isArray(attrs) ? 'an array' : typeof attrs}: ignored`,
    );
    return undefined;
  }
  const out: Attributes = {};
  let count = 0;
  for (const key of Object.keys(attrs)) {
    const raw = (attrs as Record<string, unknown>)[key];
    if (raw === undefined || raw === null) continue;
    const value = toValue(raw);
    if (value === undefined) {
      warnOnce(
        'bad_attrs',
        `${where}: attribute "${key}" is a ${typeof raw}; values must be strings, numbers, booleans or arrays of them: dropped`,
      );
      continue;
    }
    out[key] = value;
    count++;
  }
  return count === 0 ? undefined : out;
}

function toValue(v: unknown): AttributeValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return v.toString();
    case 'object':
      if (Array.isArray(v)) {
        const items: unknown[] = [];
        for (const item of v) {
          const t = typeof item;
          if (item === null || item === undefined || t === 'string' || t === 'number' || t === 'boolean')
            items.push(item);
          else if (t === 'bigint') items.push(String(item));
          else return undefined;
        }
        return items as AttributeValue;
      }
      return undefined;
    default:
      return undefined;
  }
}
