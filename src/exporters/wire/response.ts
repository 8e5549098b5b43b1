// The one thing read from a collector's answer: partial success (Export{Trace,Logs}ServiceResponse field 1, with
// the count rejected in field 1 and a message in field 2; the same numbers for both signals).

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** What a partial success says, or undefined when the answer has none (the usual, empty answer). */
export function partialSuccess(body: Buffer, json: boolean): PartialSuccess | undefined {
  try {
    const found = json ? fromJson(body) : fromProtobuf(body);
    return found && (found.rejected > 0 || found.message) ? found : undefined;
  } catch {
    return undefined; // an answer that does not parse says nothing about the export, which succeeded
  }
}

function fromJson(body: Buffer): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  const p = (JSON.parse(body.toString('utf8')) as { partialSuccess?: Record<string, unknown> }).partialSuccess;
  if (!p) return undefined;
  const rejected = Number(p.rejectedSpans ?? p.rejectedLogRecords ?? 0);
  return { rejected: Number.isFinite(rejected) ? rejected : 0, message: String(p.errorMessage ?? '') };
}

function fromProtobuf(body: Buffer): PartialSuccess | undefined {
  const outer = fields(body).get(1);
  if (!outer || typeof outer === 'number') return undefined;
  const inner = fields(outer);
  const rejected = inner.get(1);
  const message = inner.get(2);
  return {
    rejected: typeof rejected === 'number' ? rejected : 0,
    message: message && typeof message !== 'number' ? message.toString('utf8') : '',
  };
}

/** The varint and length-delimited fields of a message by number (the last of each wins, as protobuf says). */
function fields(buf: Buffer): Map<number, number | Buffer> {
  const out = new Map<number, number | Buffer>();
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= buf.length) throw new Error('truncated');
      const b = buf[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) out.set(key >>> 3, varint());
    else if (wire === 2) {
      const len = varint();
      out.set(key >>> 3, buf.subarray(pos, pos + len));
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}
