// Puts an Export{Trace,Logs}ServiceRequest together from pieces the app's thread encoded (otlp-encoder.ts's
// encodeSpanRecord / encodeScopeParts / encodeResourceParts): one Resource{Spans,Logs} (field 1) holding one
// Scope{Spans,Logs} (field 2) per scope, each the scope's head, its item records as they are, its tail. Protobuf
// repeated fields are concatenations, so no item is decoded or encoded again here.
import type { MessageParts } from '../otlp-encoder.js';

export interface ScopedRecords {
  scope: MessageParts;
  records: Uint8Array[];
}

const varintSize = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : n < 268435456 ? 4 : 5);

/** `alloc` gives the bytes to fill (a reused buffer, the ring's reader's); by default a new one. */
export function assembleRequest(
  resource: MessageParts,
  scopes: Iterable<ScopedRecords>,
  alloc: (size: number) => Uint8Array = Buffer.allocUnsafe,
): Uint8Array {
  const sized: { parts: ScopedRecords; size: number }[] = [];
  let resourceSize = resource.head.length + resource.tail.length;
  for (const parts of scopes) {
    let size = parts.scope.head.length + parts.scope.tail.length;
    for (const record of parts.records) size += record.length;
    sized.push({ parts, size });
    resourceSize += 1 + varintSize(size) + size;
  }
  const out = alloc(1 + varintSize(resourceSize) + resourceSize);
  let pos = 0;
  const put = (bytes: Uint8Array) => {
    out.set(bytes, pos);
    pos += bytes.length;
  };
  const lengthDelimited = (field: number, length: number) => {
    out[pos++] = (field << 3) | 2;
    let v = length;
    while (v > 127) {
      out[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    out[pos++] = v;
  };
  lengthDelimited(1, resourceSize);
  put(resource.head);
  for (const { parts, size } of sized) {
    lengthDelimited(2, size);
    put(parts.scope.head);
    for (const record of parts.records) put(record);
    put(parts.scope.tail);
  }
  put(resource.tail);
  return out;
}
