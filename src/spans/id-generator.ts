// Trace and span ids sliced from a pool of random hex text. The SDK's RandomIdGenerator fills a Buffer from
// Math.random and hex-encodes it for every id (two native calls per span); here one fill + hex encoding serves
// ~340 root spans (trace + span id), so an id costs a string slice (measured ~5x cheaper; see bench/README.md).
// The same kind of randomness as the SDK's generator (Math.random, which is xorshift128+ in V8), without its cost:
// the pool is filled by xoshiro128** seeded from Math.random, written here because Math.random returns a freshly
// allocated number at every call, even optimized (2,048 per refill: ~96 bytes per root span; a trace + span id took
// 126 ns, 85 with this, measured),
// and node:crypto's randomFillSync would cost ~7 ms of start-up to load.
import type { IdGenerator } from '@opentelemetry/sdk-trace';

const POOL_BYTES = 8192; // 16 KiB of hex text
const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';

export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(POOL_BYTES);
  private readonly words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, POOL_BYTES / 4);
  /** xoshiro128** state: four u32 words, never all zero. */
  private readonly state = Uint32Array.from({ length: 4 }, () => (Math.random() * 4294967296) >>> 0 || 1);
  private pool = '';
  private next = 0;
  private preset: string | undefined;

  /**
   * The trace id the next generateTraceId() returns: a span start that sampled a fresh trace id itself (see
   * fastStartSpan in src/spans/span-start.ts) hands it to the SDK's Tracer, so that the Tracer's sampler sees the same id and decides the same.
   */
  presetTraceId(id: string | undefined): void {
    this.preset = id;
  }

  generateTraceId(): string {
    const preset = this.preset;
    if (preset !== undefined) {
      this.preset = undefined;
      return preset;
    }
    const id = this.take(32);
    return id === ZERO_TRACE_ID ? this.generateTraceId() : id; // all-zero ids are invalid
  }

  generateSpanId(): string {
    const id = this.take(16);
    return id === ZERO_SPAN_ID ? this.generateSpanId() : id;
  }

  private take(chars: number): string {
    if (this.next + chars > this.pool.length) this.refill();
    const id = this.pool.slice(this.next, this.next + chars);
    this.next += chars;
    return id;
  }

  private refill(): void {
    xoshiro128(this.state, this.words);
    this.pool = this.bytes.toString('hex');
    this.next = 0;
  }
}

/** Fills `out` with xoshiro128** (Blackman and Vigna) outputs, advancing `state` (four u32 words, not all zero). */
export function xoshiro128(state: Uint32Array, out: Uint32Array): void {
  let s0 = state[0]!;
  let s1 = state[1]!;
  let s2 = state[2]!;
  let s3 = state[3]!;
  for (let i = 0; i < out.length; i++) {
    const m = Math.imul(s1, 5);
    out[i] = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}
