// The recorded spans of the agent's own instrumentations (http/https servers and clients, zeromq): the SDK's span,
// minus its cost. (fetch spans come from instrumentation-undici's own tracer calls and stay SDK spans.)
//
// Why not the SDK's SpanImpl: on the benchmark machine a recorded HTTP span cost ~4–6 µs of the server's CPU
// through Tracer.startSpan + SpanImpl, most of it in generic layers the agent's spans never need: options and
// attributes copied and checked twice before sampling, a self-observability counter call with a fresh attribute
// object and closure per span (to a no-op meter: the agent configures none), and per attribute an options object
// plus `isAnyValue`, which allocates a WeakSet for every value, even a number. A LeanSpan records the same data in
// the same shape (it is an SDK `ReadableSpan`, handed to the same span processors, so exporters and the encoder see
// no difference): attribute values that are plain strings within the length limit, numbers or booleans are stored
// directly; anything else (arrays, objects, bytes, too-long strings, an over-limit count, an empty key) goes
// through @opentelemetry/core's `maybeAddAttribute`, the SDK's own rule. Events, links, status, names and times
// follow SpanImpl (sdk-trace 3.1) line by line; test/lean-span.test.ts compares the two field by field.

import type { Context } from '@opentelemetry/api';
import {
  type Attributes,
  type AttributeValue,
  diag,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
} from '@opentelemetry/api';
import {
  AddAttributeDecision,
  addHrTimes,
  cleanAttributes,
  cleanSimpleAttributes,
  hrTime,
  hrTimeDuration,
  type InstrumentationScope,
  isTimeInput,
  isTimeInputHrTime,
  maybeAddAttribute,
  millisToHrTime,
} from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanLimits, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

const ATTR_EXCEPTION_TYPE = 'exception.type';
const ATTR_EXCEPTION_MESSAGE = 'exception.message';
const ATTR_EXCEPTION_STACKTRACE = 'exception.stacktrace';
const EXCEPTION_EVENT_NAME = 'exception';

/** What a span needs from the tracer that started it: the SDK Tracer's resource, scope, limits and processors. */
export interface SpanPipeline {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly limits: Required<SpanLimits>;
  readonly processor: SpanProcessor;
}

const pipelines = new WeakMap<object, SpanPipeline | null>();

/**
 * The pipeline behind an SDK Tracer, or undefined when `tracer` is not one (a no-op tracer, another SDK, or an
 * sdk-trace version shaped differently): its callers then start the span through the tracer's own startSpan.
 * These are private fields of sdk-trace's Tracer, read once per tracer and checked before use.
 */
export function pipelineOf(tracer: object): SpanPipeline | undefined {
  let pipeline = pipelines.get(tracer);
  if (pipeline === undefined) {
    pipeline = readPipeline(tracer as Partial<Record<string, unknown>>);
    pipelines.set(tracer, pipeline);
  }
  return pipeline ?? undefined;
}

function readPipeline(tracer: Partial<Record<string, unknown>>): SpanPipeline | null {
  const { _resource: resource, instrumentationScope: scope, _spanLimits: limits, _spanProcessor: processor } = tracer;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObject(resource) || !isObject(scope) || typeof scope.name !== 'string' || !isObject(processor)) return null;
  if (typeof processor.onStart !== 'function' || typeof processor.onEnd !== 'function' || !isObject(limits))
    return null;
  const numeric = [
    'attributeValueLengthLimit',
    'attributeCountLimit',
    'linkCountLimit',
    'eventCountLimit',
    'attributePerEventCountLimit',
    'attributePerLinkCountLimit',
  ];
  if (!numeric.every((k) => typeof limits[k] === 'number')) return null;
  return {
    resource: resource as unknown as Resource,
    scope: scope as unknown as InstrumentationScope,
    limits: limits as unknown as Required<SpanLimits>,
    processor: processor as unknown as SpanProcessor,
  };
}

const UNSET_STATUS: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET }) as SpanStatus;
const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;
const NO_DURATION: HrTime = Object.freeze([-1, -1]) as unknown as HrTime;
// Most spans get no link and no event: they share these until their first one (copy on write, never pushed to).
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];

/** A recording span, started: the pipeline's processors have seen its start, as SpanImpl's constructor does. */
export function startLeanSpan(
  pipeline: SpanPipeline,
  name: string,
  kind: SpanKind,
  spanContext: SpanContext,
  parentSpanContext: SpanContext | undefined,
  startTime: TimeInput | undefined,
  parent: Context,
): LeanSpan {
  const span = new LeanSpan(pipeline, name, kind, spanContext, parentSpanContext, startTime);
  pipeline.processor.onStart(span, parent);
  return span;
}

export class LeanSpan implements Span, ReadableSpan {
  attributes: Attributes = {};
  links: Link[] = NO_LINKS;
  events: TimedEvent[] = NO_EVENTS;
  status: SpanStatus = UNSET_STATUS;
  startTime: HrTime;
  endTime: HrTime = NOT_ENDED;
  duration: HrTime = NO_DURATION;
  ended = false;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  private attributesCount = 0;
  private readonly limits: Required<SpanLimits>;
  private readonly processor: SpanProcessor;
  private readonly perfStart: number;
  /** Date.now() at the start: with perfStart, converts performance-relative times as SpanImpl does. */
  private readonly startEpochMs: number;
  private readonly startTimeProvided: boolean;

  /** Use startLeanSpan: the processors' onStart must follow the construction. */
  constructor(
    pipeline: SpanPipeline,
    public name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    startTime: TimeInput | undefined,
  ) {
    const now = Date.now();
    this.resource = pipeline.resource;
    this.instrumentationScope = pipeline.scope;
    this.limits = pipeline.limits;
    this.processor = pipeline.processor;
    this.perfStart = performance.now();
    this.startEpochMs = now;
    this.startTimeProvided = startTime != null;
    this.startTime = this.timeOf(startTime ?? now);
  }

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.ended) return this.warnEnded();
    const attributes = this.attributes;
    const existing = attributes[key];
    const type = typeof value;
    // The common case, decided exactly as maybeAddAttribute would (a prototype member such as `toString` reads as
    // a function here and takes the general path, where Object.hasOwn tells it apart).
    if (
      (type === 'number' ||
        type === 'boolean' ||
        (type === 'string' && (value as string).length <= this.limits.attributeValueLengthLimit)) &&
      key.length > 0 &&
      typeof existing !== 'function'
    ) {
      if (existing === undefined) {
        if (this.attributesCount >= this.limits.attributeCountLimit) return this.dropAttribute();
        this.attributesCount++;
      }
      attributes[key] = value;
      return this;
    }
    const decision = maybeAddAttribute({
      key,
      value,
      attributes,
      limits: this.limits,
      currentAttributesCount: this.attributesCount,
    });
    if (decision === AddAttributeDecision.DROP_LIMIT_REACHED) return this.dropAttribute();
    if (decision === AddAttributeDecision.ADD_NEW) this.attributesCount++;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.attributesCount === 0 && !this.ended && this.copyAll(attributes)) return this;
    for (const key in attributes) {
      if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    }
    return this;
  }

  /**
   * The first attributes of a span, when every one of them takes setAttribute's common case: one object spread
   * (V8 copies the object's shape at once) instead of a store per key into a growing object.
   */
  private copyAll(attributes: Attributes): boolean {
    const lengthLimit = this.limits.attributeValueLengthLimit;
    let count = 0;
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key) || key.length === 0) return false;
      const value = attributes[key];
      const type = typeof value;
      if (!(type === 'number' || type === 'boolean' || (type === 'string' && (value as string).length <= lengthLimit)))
        return false;
      count++;
    }
    if (count > this.limits.attributeCountLimit) return false;
    this.attributes = { ...attributes };
    this.attributesCount = count;
    return true;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, timeStamp?: TimeInput): this {
    if (this.ended) return this.warnEnded();
    const { eventCountLimit } = this.limits;
    if (eventCountLimit === 0) {
      diag.warn('No events allowed.');
      this.droppedEventsCount++;
      return this;
    }
    if (this.events.length >= eventCountLimit) {
      if (this.droppedEventsCount === 0) diag.debug('Dropping extra events.');
      this.events.shift();
      this.droppedEventsCount++;
    }
    if (isTimeInput(attributesOrStartTime)) {
      if (!isTimeInput(timeStamp)) timeStamp = attributesOrStartTime;
      attributesOrStartTime = undefined;
    }
    const cleaned = cleanSimpleAttributes(attributesOrStartTime as Attributes | undefined, {
      attributeCountLimit: this.limits.attributePerEventCountLimit,
      attributeValueLengthLimit: this.limits.attributeValueLengthLimit,
    });
    if (this.events === NO_EVENTS) this.events = [];
    this.events.push({ name, time: this.timeOf(timeStamp), ...cleaned });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this.warnEnded();
    const { linkCountLimit } = this.limits;
    if (linkCountLimit === 0) {
      this.droppedLinksCount++;
      return this;
    }
    if (this.links.length >= linkCountLimit) {
      if (this.droppedLinksCount === 0) diag.debug('Dropping extra links.');
      this.links.shift();
      this.droppedLinksCount++;
    }
    const cleaned = cleanAttributes(link.attributes, {
      attributeCountLimit: this.limits.attributePerLinkCountLimit,
      attributeValueLengthLimit: this.limits.attributeValueLengthLimit,
    });
    if (this.links === NO_LINKS) this.links = [];
    this.links.push({ context: link.context, ...cleaned });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.ended) return this.warnEnded();
    if (status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
      else if (status.message != null) {
        diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
      }
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (this.ended) return this.warnEnded();
    this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) {
      this.warnEnded();
      const { traceId, spanId } = this.context;
      diag.error(`${this.name} ${traceId}-${spanId} - You can only call end() on a span once.`);
      return;
    }
    if (endTime === undefined && !this.startTimeProvided) {
      // The common case: the elapsed performance time added to the start (SpanImpl's _getTime, without a detour).
      const duration = millisToHrTime(performance.now() - this.perfStart);
      this.duration = duration;
      this.endTime = addHrTimes(this.startTime, duration);
    } else {
      this.endTime = this.timeOf(endTime);
      this.duration = hrTimeDuration(this.startTime, this.endTime);
      if (this.duration[0] < 0) {
        diag.warn(
          'Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.',
          this.startTime,
          this.endTime,
        );
        this.endTime = this.startTime.slice() as HrTime;
        this.duration = [0, 0];
      }
    }
    if (this.droppedEventsCount > 0)
      diag.warn(`Dropped ${this.droppedEventsCount} events because eventCountLimit reached`);
    if (this.droppedLinksCount > 0) diag.warn(`Dropped ${this.droppedLinksCount} links because linkCountLimit reached`);
    const processor = this.processor;
    if (processor.onEnding) processor.onEnding(this);
    this.ended = true;
    processor.onEnd(this);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes[ATTR_EXCEPTION_MESSAGE] = exception;
    } else if (exception) {
      if (exception.code) attributes[ATTR_EXCEPTION_TYPE] = exception.code.toString();
      else if (exception.name) attributes[ATTR_EXCEPTION_TYPE] = exception.name;
      if (exception.message) attributes[ATTR_EXCEPTION_MESSAGE] = exception.message;
      if (exception.stack) attributes[ATTR_EXCEPTION_STACKTRACE] = exception.stack;
    }
    if (attributes[ATTR_EXCEPTION_TYPE] || attributes[ATTR_EXCEPTION_MESSAGE]) {
      this.addEvent(EXCEPTION_EVENT_NAME, attributes, time);
    } else {
      diag.warn(`Failed to record an exception ${String(exception)}`);
    }
  }

  /** SpanImpl's _getTime: numbers up to performance.now() are performance-relative, larger ones epoch ms. */
  private timeOf(input: TimeInput | undefined): HrTime {
    if (typeof input === 'number' && input <= performance.now()) {
      return hrTime(input + (this.startEpochMs - (this.perfStart + performance.timeOrigin)));
    }
    if (typeof input === 'number') return millisToHrTime(input);
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (isTimeInputHrTime(input)) return input as HrTime;
    if (this.startTimeProvided) return millisToHrTime(Date.now());
    return addHrTimes(this.startTime, millisToHrTime(performance.now() - this.perfStart));
  }

  private dropAttribute(): this {
    this.droppedAttributesCount++;
    if (this.droppedAttributesCount === 1) diag.warn('Dropping extra attributes.');
    return this;
  }

  private warnEnded(): this {
    const { traceId, spanId } = this.context;
    diag.warn(`Cannot execute the operation on ended Span {traceId: ${traceId}, spanId: ${spanId}}`);
    return this;
  }
}
