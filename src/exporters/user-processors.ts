// Span processors from the app's own module, as Ray Serve's `exporter_import_path` (ANYSCALE_TRACING_EXPORTER_IMPORT_PATH
// = `module:function`): the function returns a list of span processors, added beside the configured exporters, so
// traces can go to several backends or be enriched in onStart. Loaded with require(): CommonJS, and ES modules
// without top-level await (Node's require of ES modules). A module that fails to load, a function that throws or
// returns anything but processors: one warning, tracing goes on with the configured exporters. A processor that
// throws later: one warning, its call skipped, never the app's.
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { AgentConfig } from '../config/index.js';
import { type Diag, describeError } from '../diag.js';

type From = NonNullable<AgentConfig['processorsFrom']>;

export function userSpanProcessors(from: From, diag: Diag): SpanProcessor[] {
  const where = `${from.variable} (${from.module}, ${from.exportName})`;
  let list: unknown;
  try {
    const mod = load(from.module) as Record<string, unknown> | undefined;
    const fn = from.exportName === 'default' ? (mod?.default ?? mod) : mod?.[from.exportName];
    if (typeof fn !== 'function') throw new Error(`its export "${from.exportName}" is not a function`);
    list = (fn as () => unknown)();
  } catch (err) {
    diag.warn(`${where}: no span processors: ${describeError(err)}; tracing goes on with the configured exporters`);
    return [];
  }
  const items = Array.isArray(list) ? list : [];
  const processors = items.filter(isProcessor);
  if (!Array.isArray(list) || processors.length < items.length)
    diag.warn(
      `${where}: the function must return an array of span processors (onStart, onEnd, forceFlush, shutdown); ` +
        `${processors.length} of ${Array.isArray(list) ? items.length : 'no array of'} used`,
    );
  return processors.map((p, i) => new GuardedProcessor(p, `${where}, processor ${i}`, diag));
}

/** A path as it is; a bare name as a package, else (as Python imports `exporter` from the working directory) ./name. */
function load(module: string): unknown {
  const req = createRequire(join(process.cwd(), 'index.js'));
  if (isAbsolute(module)) return req(module);
  try {
    return req(module);
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    return req(`./${module}`);
  }
}

function isProcessor(p: unknown): p is SpanProcessor {
  const o = p as Partial<Record<keyof SpanProcessor, unknown>> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.onStart === 'function' &&
    typeof o.onEnd === 'function' &&
    typeof o.forceFlush === 'function' &&
    typeof o.shutdown === 'function'
  );
}

/** The user's processor, its errors kept from the app (they run inside span.end() and startSpan()). */
class GuardedProcessor implements SpanProcessor {
  private warned = false;

  constructor(
    private readonly inner: SpanProcessor,
    private readonly name: string,
    private readonly diag: Diag,
  ) {}

  private failed(call: string, err: unknown): void {
    if (!this.warned) this.diag.warn(`${this.name}: ${call} threw (${describeError(err)}); skipped, here and later`);
    this.warned = true;
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      this.inner.onStart(span, parentContext);
    } catch (err) {
      this.failed('onStart', err);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      this.inner.onEnd(span);
    } catch (err) {
      this.failed('onEnd', err);
    }
  }

  forceFlush(): Promise<void> {
    return this.settle('forceFlush', () => this.inner.forceFlush());
  }

  shutdown(): Promise<void> {
    return this.settle('shutdown', () => this.inner.shutdown());
  }

  private async settle(call: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failed(call, err);
    }
  }
}
