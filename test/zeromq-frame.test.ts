// The trace-context frame codec: a golden vector pinning the documented layout, and seeded property/fuzz tests
// (no exception, nothing accepted that would not re-encode byte for byte, no application frame lost or altered).
import { describe, expect, it } from 'vitest';
import {
  decodeTraceFrame,
  encodeTraceFrame,
  FRAME_MAGIC,
  takeTraceFrame,
} from '../src/instrumentations/zeromq/propagator.js';
import type { TraceFrame } from '../src/instrumentations/zeromq/types.js';

/** mulberry32: small, fast, good enough to drive a fuzzer; the seed makes every failure reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const hexId = (n: number) => {
    let id = bytes(n).toString('hex');
    if (/^0+$/.test(id)) id = `${id.slice(0, -1)}1`;
    return id;
  };
  const ascii = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + int(0x5f));
    return s;
  };
  return { next, int, bytes, hexId, ascii };
}

type Rng = ReturnType<typeof rng>;

function randomTraceFrame(r: Rng): TraceFrame {
  const len = () => (r.int(3) === 0 ? 0 : r.int(r.int(10) === 0 ? 3000 : 120));
  return {
    traceId: r.hexId(16),
    spanId: r.hexId(8),
    traceFlags: r.int(256),
    traceState: r.ascii(len()),
    baggage: r.ascii(len()),
  };
}

/** Inputs near the format: random bytes, magic + random tail, and valid frames with one mutation. */
function fuzzInput(r: Rng): Buffer {
  const kind = r.int(3);
  if (kind === 0) return r.bytes(r.int(80));
  if (kind === 1)
    return Buffer.concat([FRAME_MAGIC, Buffer.from([r.int(4) === 0 ? r.int(256) : 1]), r.bytes(r.int(90))]);
  const frame = Buffer.from(encodeTraceFrame(randomTraceFrame(r))!);
  const t = frame.readUInt16BE(30);
  switch (r.int(8)) {
    case 0:
      return frame.subarray(0, r.int(frame.length)); // truncated
    case 1:
      return Buffer.concat([frame, r.bytes(1 + r.int(4))]); // trailing bytes
    case 2:
      frame[r.int(frame.length)] ^= 1 << r.int(8); // one bit flipped anywhere
      return frame;
    case 3:
      frame.writeUInt16BE(r.int(0x10000), 30); // tracestate length lies
      return frame;
    case 4:
      frame.writeUInt16BE(r.int(0x10000), 32 + t); // baggage length lies
      return frame;
    case 5:
      frame.fill(0, r.int(2) === 0 ? 6 : 22, r.int(2) === 0 ? 22 : 30); // zero trace id or span id
      return frame;
    case 6:
      if (frame.length > 34) frame[32 + r.int(frame.length - 34)] = r.int(2) === 0 ? r.int(0x20) : 0x7f + r.int(0x81);
      return frame; // control or non-ASCII byte in tracestate/baggage
    default:
      return frame; // untouched: must decode
  }
}

describe('trace-context frame: format', () => {
  it('matches the documented golden vector', () => {
    const fields: TraceFrame = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      traceState: 'congo=t61rcWkgMzE',
      baggage: 'userId=alice',
    };
    const golden =
      'ff5a5443' +
      '01' +
      '01' +
      '4bf92f3577b34da6a3ce929d0e0e4736' +
      '00f067aa0ba902b7' +
      '0011' +
      Buffer.from('congo=t61rcWkgMzE').toString('hex') +
      '000c' +
      Buffer.from('userId=alice').toString('hex');
    expect(encodeTraceFrame(fields)!.toString('hex')).toBe(golden);
    expect(decodeTraceFrame(Buffer.from(golden, 'hex'))).toEqual(fields);
    // Minimal frame: 34 bytes, both strings empty.
    const minimal = encodeTraceFrame({ ...fields, traceState: '', baggage: '' })!;
    expect(minimal.length).toBe(34);
    expect(minimal.subarray(30).toString('hex')).toBe('00000000');
  });

  it('rejects what the spec rejects', () => {
    const ok = encodeTraceFrame({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 0,
      traceState: '',
      baggage: '',
    })!;
    expect(decodeTraceFrame(ok)).toBeDefined();
    const version2 = Buffer.from(ok);
    version2[4] = 2;
    expect(decodeTraceFrame(version2)).toBeUndefined();
    expect(decodeTraceFrame(ok.subarray(0, 33))).toBeUndefined();
    expect(decodeTraceFrame(Buffer.concat([ok, Buffer.from([0])]))).toBeUndefined();
    for (const notBytes of [undefined, null, 0, 'ff5a5443', {}, [ok], ok.buffer]) {
      expect(decodeTraceFrame(notBytes)).toBeUndefined();
    }
    // A plain Uint8Array (not a Buffer) is read the same way.
    expect(decodeTraceFrame(new Uint8Array(ok))).toEqual(decodeTraceFrame(ok));
    // The encoder refuses invalid ids and drops unrepresentable fields instead of failing.
    expect(
      encodeTraceFrame({ traceId: '0'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, traceState: '', baggage: '' }),
    ).toBeUndefined();
    expect(
      encodeTraceFrame({ traceId: 'x'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, traceState: '', baggage: '' }),
    ).toBeUndefined();
    expect(
      encodeTraceFrame({ traceId: 'a'.repeat(31), spanId: 'b'.repeat(16), traceFlags: 0, traceState: '', baggage: '' }),
    ).toBeUndefined();
    // A character outside ASCII whose low 7 bits are a hex digit ('š' is U+0161, and 0x61 is 'a') is no digit.
    expect(
      encodeTraceFrame({
        traceId: `${'a'.repeat(31)}\u0161`,
        spanId: 'b'.repeat(16),
        traceFlags: 0,
        traceState: '',
        baggage: '',
      }),
    ).toBeUndefined();
    expect(
      encodeTraceFrame({ traceId: 'A'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, traceState: '', baggage: '' })!
        .subarray(6, 22)
        .equals(Buffer.alloc(16, 0xaa)),
    ).toBe(true);
    const dropped = encodeTraceFrame({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 0,
      traceState: 'é=1',
      baggage: 'k=v',
    })!;
    expect(decodeTraceFrame(dropped)).toMatchObject({ traceState: '', baggage: 'k=v' });
  });
});

describe('trace-context frame: properties (seeded)', () => {
  it('round-trips 10,000 random valid frames', () => {
    const r = rng(0xc0ffee);
    const failures: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const f = randomTraceFrame(r);
      const encoded = encodeTraceFrame(f);
      const back = encoded && decodeTraceFrame(encoded);
      const same =
        back !== undefined &&
        encoded!.length === 34 + f.traceState.length + f.baggage.length &&
        JSON.stringify(back) === JSON.stringify(f);
      if (!same) failures.push(i);
    }
    expect(failures).toEqual([]);
  });

  it('30,000 fuzzed inputs: never throws, and accepts only exact encodings', () => {
    const r = rng(0x5eed);
    let accepted = 0;
    const failures: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const input = fuzzInput(r);
      let decoded: TraceFrame | undefined;
      try {
        decoded = decodeTraceFrame(input);
      } catch (err) {
        failures.push(`case ${i} threw ${String(err)}`);
        continue;
      }
      if (decoded) {
        accepted++;
        // Anything accepted re-encodes to exactly the same bytes: no partial or lenient parse.
        if (!encodeTraceFrame(decoded)?.equals(input)) failures.push(`case ${i} lenient: ${input.toString('hex')}`);
      }
    }
    expect(failures).toEqual([]);
    // The generator must exercise both outcomes, or this test proves nothing.
    expect(accepted).toBeGreaterThan(2_000);
    expect(accepted).toBeLessThan(28_000);
  });

  it('10,000 random messages: an appended frame is removed exactly; application frames are never lost or altered', () => {
    const r = rng(42);
    const appFrame = (): Buffer => {
      switch (r.int(6)) {
        case 0:
          return Buffer.alloc(0);
        case 1:
          return fuzzInput(r); // marker-like, usually invalid
        case 2:
          return Buffer.from(encodeTraceFrame(randomTraceFrame(r))!); // an application frame that IS a valid frame
        default:
          return r.bytes(r.int(64));
      }
    };
    const failures: number[] = [];
    let appendedCount = 0;
    for (let i = 0; i < 10_000; i++) {
      const app = Array.from({ length: 1 + r.int(6) }, appFrame);
      const expectedHex = app.map((f) => f.toString('hex')).join(',');
      const appended = r.int(2) === 0;
      const sent = randomTraceFrame(r);
      const message = appended ? [...app, encodeTraceFrame(sent)!] : [...app];
      const taken = takeTraceFrame(message);
      const gotHex = message.map((f) => f.toString('hex')).join(',');
      let ok: boolean;
      if (appended) {
        // From an agent: its frame is always last, and only it is removed.
        appendedCount++;
        ok = JSON.stringify(taken?.frame) === JSON.stringify(sent) && gotHex === expectedHex;
      } else if (app.length >= 2 && decodeTraceFrame(app[app.length - 1])) {
        // Documented: a message of 2+ frames ending in a valid frame is read as carrying context.
        ok =
          taken !== undefined &&
          gotHex ===
            app
              .slice(0, -1)
              .map((f) => f.toString('hex'))
              .join(',');
      } else {
        ok = taken === undefined && gotHex === expectedHex;
      }
      if (!ok) failures.push(i);
    }
    expect(failures).toEqual([]);
    expect(appendedCount).toBeGreaterThan(4_000);
  });

  it('a single-frame message is never stripped, whatever it contains', () => {
    const frame = encodeTraceFrame({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 1,
      traceState: '',
      baggage: '',
    })!;
    const message = [frame];
    expect(takeTraceFrame(message)).toBeUndefined();
    expect(message).toEqual([frame]);
    const odd: unknown[] = ['text', null, 7, {}, frame];
    expect(takeTraceFrame(odd)?.frame.traceId).toBe('a'.repeat(32));
    expect(odd).toHaveLength(4);
    const noBytes: unknown[] = [frame, 'string last'];
    expect(takeTraceFrame(noBytes)).toBeUndefined();
    expect(noBytes).toHaveLength(2);
  });
});
