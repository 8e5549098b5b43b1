// The agent's OTLP exporter, one for both signals and the three protocols: a request is serialized (protobuf by the
// agent's encoder, JSON by the library's serializer), gzip-compressed when configured, and posted by transport.ts;
// answers OTLP says to retry are retried with backoff inside the export timeout, as the official exporters do.
// A refused or failing connection is not retried here: LazyExporter paces the next attempt, and a collector down at
// exit then costs milliseconds, not the whole timeout (the official HTTP exporter retried ECONNREFUSED until then).
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ExportResult } from '@opentelemetry/core';
import { type OtlpConfig, redactUrl } from '../../config/index.js';
import type { Diag } from '../../diag.js';
import type { Exporter } from '../lazy.js';
import { NOUNS, type Signal, type TlsFiles } from '../otlp-wire.js';
import { partialSuccess } from './response.js';
import { type Answer, createTransport, type Transport } from './transport.js';

const gzipAsync = promisify(gzip);

/** OTLP's retry policy (exporter spec): up to 5 attempts, backoff from 1 s growing 1.5× up to 5 s, ±20% jitter. */
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;

export class WireExporter<T> implements Exporter<T> {
  private readonly transport: Transport;
  private readonly inFlight = new Set<Promise<unknown>>();
  private partialWarned = false;
  private readonly target: string;

  constructor(
    private readonly signal: Signal,
    private readonly otlp: OtlpConfig,
    tls: TlsFiles,
    private readonly serialize: (items: T[]) => Uint8Array | undefined,
    private readonly diag: Diag,
  ) {
    this.target = redactUrl(otlp.url);
    this.transport = createTransport({
      protocol: otlp.protocol,
      signal,
      url: otlp.url,
      headers: otlp.headers,
      tls,
      gzip: otlp.compression === 'gzip',
    });
  }

  export(items: T[], resultCallback: (result: ExportResult) => void): void {
    const sending = this.send(items).then(resultCallback, (err: unknown) =>
      resultCallback({ code: 1, error: err instanceof Error ? err : new Error(String(err)) }),
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async send(items: T[]): Promise<ExportResult> {
    const raw = this.serialize(items);
    if (!raw) return { code: 1, error: new Error(`cannot serialize ${items.length} ${NOUNS[this.signal]}(s)`) };
    const deadline = Date.now() + this.otlp.timeoutMs;
    const body = this.otlp.compression === 'gzip' ? await gzipAsync(raw) : raw;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const answer = await this.transport.post(body, Math.max(1, deadline - started));
      const wait = answer.retryAfterMs ?? backoff(attempt);
      const retry =
        answer.outcome !== 'ok' && answer.retryable && attempt < MAX_ATTEMPTS && Date.now() + wait < deadline;
      if (this.diag.enabled('debug'))
        this.trace(items.length, body.byteLength, answer, Date.now() - started, retry && wait);
      if (answer.outcome === 'ok') {
        this.reportPartial(answer);
        return { code: 0 };
      }
      if (!retry) return { code: 1, error: new Error(answer.message) };
      // A connection reset on reuse is sent again at once; a collector asking to back off is waited for.
      if (answer.outcome === 'rejected') await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** One debug line per request sent: what, where, how it ended, how long it took. */
  private trace(count: number, bytes: number, answer: Answer, ms: number, retryInMs: number | false): void {
    const what = `${count} ${NOUNS[this.signal]}(s), ${bytes} bytes${this.otlp.compression === 'gzip' ? ' gzip' : ''}`;
    const then = retryInMs === false ? '' : `; sending again in ${Math.round(retryInMs)} ms`;
    this.diag.debug(
      `OTLP ${this.otlp.protocol} export of ${what} to ${this.target}: ${answer.message} in ${ms} ms${then}`,
    );
  }

  /** A collector that accepted part of a request says how many items it rejected and why: once as a warning. */
  private reportPartial(answer: Answer): void {
    const partial = answer.body && partialSuccess(answer.body, this.otlp.protocol === 'http/json');
    if (!partial) return;
    const line = `the collector rejected ${partial.rejected} ${NOUNS[this.signal]}(s) of an export${partial.message ? `: ${partial.message}` : ''}`;
    if (this.partialWarned) this.diag.debug(line);
    else this.diag.warn(`${line} (reported once; more at OTEL_LOG_LEVEL=debug)`);
    this.partialWarned = true;
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.transport.close();
  }
}

function backoff(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 1.5 ** (attempt - 1));
  return base * (0.8 + Math.random() * 0.4);
}
