// Shared by the fault tests: counting what a receiver got, loading an app with requests, the agent's own lines.
import { byService } from './harness.js';
import type { OtlpReceiver } from './otlp-receiver.js';

export const SERVER = 2;
export const CLIENT = 3;

/** The agent's diagnostics among a process's stderr lines. */
export const agentLines = (stderr: string[]) => stderr.filter((l) => l.startsWith('[@x/trace-agent]'));

/** Spans of `service` received so far, by kind, and how many span ids arrived more than once. */
export function tally(receiver: OtlpReceiver, service: string) {
  const spans = receiver.spans.filter(byService(service));
  const ids = new Set(spans.map((s) => s.spanId));
  return {
    total: spans.length,
    server: spans.filter((s) => s.kind === SERVER).length,
    client: spans.filter((s) => s.kind === CLIENT).length,
    duplicates: spans.length - ids.size,
    spans,
  };
}

/** `total` GETs to `url`, `concurrency` at a time; resolves with each response's status, body and duration. */
export async function load(url: string | ((i: number) => string), total: number, concurrency = 8) {
  const results: { status: number; body: string; ms: number }[] = new Array(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      const res = await fetch(typeof url === 'string' ? url : url(i));
      results[i] = { status: res.status, body: await res.text(), ms: performance.now() - started };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Polls `read` until `until` holds or `timeoutMs` passes; returns the last value either way. */
export async function poll<T>(
  read: () => T | Promise<T>,
  until: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!until(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await read();
  }
  return value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The q-quantile (0..1) of `values`. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
