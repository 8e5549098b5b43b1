// Trace and span ids sliced from a pool of random hex text. The SDK's RandomIdGenerator fills a Buffer from
// Math.random and hex-encodes it for every id (two native calls per span); here one fill + hex encoding serves
// ~340 root spans (trace + span id), so an id costs a string slice (measured ~5x cheaper; see bench/README.md).
// Same randomness source as the SDK's generator (Math.random): node:crypto is not loaded for it, which would
// cost ~7 ms of start-up.
import type { IdGenerator } from '@opentelemetry/sdk-trace';

const POOL_BYTES = 8192; // 16 KiB of hex text
const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';

export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(POOL_BYTES);
  private readonly words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, POOL_BYTES / 4);
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
    const words = this.words;
    for (let i = 0; i < words.length; i++) words[i] = (Math.random() * 4294967296) >>> 0;
    this.pool = this.bytes.toString('hex');
    this.next = 0;
  }
}
