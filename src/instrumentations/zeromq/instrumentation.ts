// ZeroMQ (npm `zeromq` 6.x) instrumentation: PRODUCER span per send, CONSUMER span per receive, and the trace
// context carried in one trailing frame (propagator.ts).
//
// Why prototypes: every socket class (Push, Router, ...) inherits send/receive from the one native
// `Socket.prototype`, which zeromq's lib/native.js exports and its lib/index.js requires whether the app required or
// imported zeromq. Patching that prototype as native.js loads therefore covers CJS, ESM, `for await` (the async
// iterator calls this.receive()) and the v5-compat layer (which calls the v6 send/receive underneath), with no
// module-loader hook of OpenTelemetry's (see package-files.ts for what that saves).
import {
  type Attributes,
  type Context,
  context,
  type DiagLogger,
  diag,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { SpanContextLayer } from '../../spans/context-layer.js';
import { type StartSpan, sdkStartSpan } from '../../spans/span-start.js';
import { onPackageFiles } from '../package-files.js';
import { type AnyFn, type MethodPatch, replaceMethod, restoreMethods } from '../patch.js';
import { SwitchableInstrumentation } from '../switchable.js';
import { bodySize } from './frames.js';
import { attachContext, messageRegistry } from './message-context.js';
import { type EndpointTest, endpointTest, type PropagationRule } from './propagation-rule.js';
import { contextFromFrame, frameFor, takeTraceFrame } from './propagator.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_ZEROMQ_FRAME_COUNT,
  ATTR_ZEROMQ_SOCKET_TYPE,
  MESSAGING_SYSTEM_ZEROMQ,
  OPERATION_RECEIVE,
  OPERATION_SEND,
} from './semconv.js';
import { endpointOf, rememberRoute, routeKey, type SocketInfo, socketInfo, type ZmqSocketLike } from './socket-info.js';
import type { ZeroMqInstrumentationConfig } from './types.js';

export const INSTRUMENTATION_NAME = '@x/trace-agent/instrumentation-zeromq';
export const INSTRUMENTATION_VERSION = '0.1.0';
const SUPPORTED_MAJOR = 6;
/** Marks a prototype as patched, process-wide, so that a second hook firing or a second agent copy skips it. */
const PATCHED = Symbol.for('@x/trace-agent.zeromq.patched');

/** v5-compat queues messages and sends them later from its own loop: the context of the compat send() call. */
const queuedSendContexts = new WeakMap<object, Context>();

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function failSpan(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  const code = errorCode(err);
  if (code) span.setAttribute(ATTR_ERROR_TYPE, code);
}

/**
 * A reply answers the request that was received; keep the active context only when it already belongs to that
 * request's trace (e.g. the reply is sent from inside withMessageContext, under a child span).
 */
function replyParent(active: Context, request: Context): Context {
  const activeSc = trace.getSpanContext(active);
  const requestSc = trace.getSpanContext(request);
  return activeSc && requestSc && activeSc.traceId === requestSc.traceId ? active : request;
}

/** A class of a loaded file's exports. */
function classFrom(exports: unknown, name: string): { prototype: object } | undefined {
  const cls = (exports as Record<string, unknown> | undefined)?.[name];
  return typeof cls === 'function' ? (cls as { prototype: object }) : undefined;
}

/**
 * The files of zeromq whose exports are patched as they load (package-files.ts): lib/native.js holds the native
 * Socket class every socket type extends, lib/compat.js the v5-compat Socket. Both are required by zeromq's own files,
 * so an `import` of zeromq (or of zeromq/v5-compat.js) reaches them through require() as well.
 */
const NATIVE_FILE = 'lib/native.js';
const COMPAT_FILE = 'lib/compat.js';

export class ZeroMqInstrumentation extends SwitchableInstrumentation<ZeroMqInstrumentationConfig> {
  readonly instrumentationName = INSTRUMENTATION_NAME;
  readonly instrumentationVersion = INSTRUMENTATION_VERSION;
  private socketPatches: MethodPatch[] = [];
  private compatPatches: MethodPatch[] = [];
  private versionWarned = false;
  private tracer: Tracer = trace.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
  private readonly _diag: DiagLogger = diag.createComponentLogger({ namespace: INSTRUMENTATION_NAME });
  private stopWatching: (() => void) | undefined;

  /**
   * Enabled when made (unless `enabled: false`), as OpenTelemetry's instrumentations are: made before zeromq loads,
   * it patches zeromq as it loads; made after, it patches the loaded copy at once.
   * `startSpan`: the agent's (src/spans/span-start.ts) skips the SDK Tracer's generic layers, as for http.
   */
  constructor(
    config: ZeroMqInstrumentationConfig = {},
    private readonly startSpan: StartSpan = sdkStartSpan,
  ) {
    super();
    this.setConfig(config);
    if (config.enabled !== false) this.enable();
  }

  setTracerProvider(provider: TracerProvider): void {
    this.tracer = provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
  }

  protected start(): void {
    // Any version reaches the patches, which warn once about an unsupported major instead of staying silent.
    this.stopWatching = onPackageFiles('zeromq', {
      [NATIVE_FILE]: (exports, version) => this.patchSockets(exports, version),
      [COMPAT_FILE]: (exports, version) => this.patchCompat(exports, version),
    });
  }

  protected stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    this.unpatchCompat();
    this.unpatchSockets();
  }

  private endpointRule: { rule: PropagationRule; test: EndpointTest } | undefined;

  /** Whether this socket's sends carry the trace-context frame (TRACES_ZMQ_PROPAGATION). */
  private propagates(socket: ZmqSocketLike, info: SocketInfo): boolean {
    const rule = this.getConfig().propagation;
    if (rule === undefined || typeof rule === 'boolean') return rule !== false;
    if (info.propagates !== undefined) return info.propagates;
    if (this.endpointRule?.rule !== rule) this.endpointRule = { rule, test: endpointTest(rule) };
    const endpoint = endpointOf(socket, info);
    const decision = this.endpointRule.test(endpoint);
    if (endpoint !== undefined) info.propagates = decision; // judged once, by its first known endpoint
    return decision;
  }

  /** An error inside this instrumentation (never the app's): one warning per place, each error at debug level. */
  private internalError(where: string, err: unknown): void {
    this._diag.warn(
      `${where}: an internal error was caught, the message is untraced; the app is unaffected (OTEL_LOG_LEVEL=debug shows each)`,
    );
    this._diag.debug(where, err);
  }

  private supported(version: string | undefined): boolean {
    if (typeof version === 'string' && Number.parseInt(version, 10) === SUPPORTED_MAJOR) return true;
    if (!this.versionWarned) {
      this.versionWarned = true;
      this._diag.warn(
        `zeromq ${version ?? '(unknown version)'} is not supported (only ${SUPPORTED_MAJOR}.x); it is left uninstrumented`,
      );
    }
    return false;
  }

  // ---- patching ---------------------------------------------------------------------------------------------

  private patchSockets(exports: unknown, version: string | undefined): void {
    if (!this.supported(version)) return;
    const Socket = classFrom(exports, 'Socket');
    if (!Socket || Object.hasOwn(Socket.prototype, PATCHED)) return;
    const proto = Socket.prototype;
    try {
      const self = this;
      const add = (name: string, wrap: (original: AnyFn) => AnyFn): void => {
        const p = replaceMethod(proto, name, wrap);
        if (p) self.socketPatches.push(p);
      };
      add(
        'send',
        (original) =>
          function send(this: unknown, ...args: unknown[]) {
            return self.tracedSend(this as ZmqSocketLike, original, args);
          },
      );
      add(
        'receive',
        (original) =>
          function receive(this: unknown, ...args: unknown[]) {
            return self.tracedReceive(this as ZmqSocketLike, original, args);
          },
      );
      Object.defineProperty(proto, PATCHED, { value: this, configurable: true });
      messageRegistry().run = (ctx, fn) => context.with(ctx, fn);
    } catch (err) {
      restoreMethods(this.socketPatches);
      this._diag.warn('zeromq could not be instrumented', err);
    }
  }

  private unpatchSockets(): void {
    const first = this.socketPatches[0];
    if (!first) return;
    const proto = first.target;
    restoreMethods(this.socketPatches);
    if (Object.getOwnPropertyDescriptor(proto, PATCHED)?.value === this)
      delete (proto as Record<symbol, unknown>)[PATCHED];
    messageRegistry().run = undefined;
  }

  private patchCompat(exports: unknown, version: string | undefined): void {
    if (!this.supported(version)) return;
    const CompatSocket = classFrom(exports, 'Socket');
    if (!CompatSocket || Object.hasOwn(CompatSocket.prototype, PATCHED)) return;
    const proto = CompatSocket.prototype;
    try {
      const registry = messageRegistry();
      const emitPatch = replaceMethod(
        proto,
        'emit',
        (original) =>
          // on('message') listeners run inside the message's context: zero code for callback-style consumers.
          function emit(this: unknown, ...args: unknown[]) {
            const first = args[0] === 'message' ? args[1] : undefined;
            const ctx = typeof first === 'object' && first !== null ? registry.firstFrames.get(first) : undefined;
            return ctx ? context.with(ctx, () => original.apply(this, args)) : original.apply(this, args);
          },
      );
      if (emitPatch) this.compatPatches.push(emitPatch);
      const recvPatch = replaceMethod(
        proto,
        '_recv',
        (original) =>
          // compat's receive loop: mark its v6 socket so that received() also keys the context by first frame.
          function _recv(this: unknown, ...args: unknown[]) {
            try {
              const inner = (this as { _socket?: unknown })._socket;
              const info = typeof inner === 'object' && inner !== null ? socketInfo(inner as ZmqSocketLike) : null;
              if (info) info.compat = true;
            } catch {
              // compat internals changed: listeners then run in the loop's context
            }
            return original.apply(this, args);
          },
      );
      if (recvPatch) this.compatPatches.push(recvPatch);
      const sendPatch = replaceMethod(
        proto,
        'send',
        (original) =>
          function send(this: unknown, ...args: unknown[]) {
            const ctx = context.active();
            const result = original.apply(this, args);
            try {
              // The message just completed (no SNDMORE) is the queue's last entry unless it was already sent
              // synchronously; tag it so the v6 send made later from compat's loop gets this caller's context.
              const queue = (this as { _sendQueue?: unknown })._sendQueue;
              const last = Array.isArray(queue) ? (queue[queue.length - 1] as unknown) : undefined;
              const msg = Array.isArray(last) ? (last[0] as unknown) : undefined;
              if (typeof msg === 'object' && msg !== null && !queuedSendContexts.has(msg))
                queuedSendContexts.set(msg, ctx);
            } catch {
              // compat internals changed: sends then simply use the loop's context
            }
            return result;
          },
      );
      if (sendPatch) this.compatPatches.push(sendPatch);
      Object.defineProperty(proto, PATCHED, { value: this, configurable: true });
    } catch (err) {
      restoreMethods(this.compatPatches);
      this._diag.warn('zeromq v5-compat could not be instrumented', err);
    }
  }

  private unpatchCompat(): void {
    const first = this.compatPatches[0];
    if (!first) return;
    const proto = first.target;
    restoreMethods(this.compatPatches);
    if (Object.getOwnPropertyDescriptor(proto, PATCHED)?.value === this)
      delete (proto as Record<symbol, unknown>)[PATCHED];
  }

  // ---- send ---------------------------------------------------------------------------------------------------

  private tracedSend(socket: ZmqSocketLike, original: AnyFn, args: unknown[]): unknown {
    let span: Span | undefined;
    let callArgs = args;
    try {
      const info = socketInfo(socket);
      // undefined is rejected by zeromq ("Message must be present") and [] sends nothing at all: both pass through
      // untouched, so the error stays the same and no lone context frame ever goes out.
      const message = args[0];
      if (info?.tracesSend && message !== undefined && !(Array.isArray(message) && message.length === 0)) {
        const started = this.startSend(socket, info, args[0]);
        span = started.span;
        if (started.message !== args[0]) callArgs = [started.message, ...args.slice(1)];
      }
    } catch (err) {
      this.internalError('zeromq send not traced', err);
    }
    // No span, or one that does not record (nothing to end): the send's own result is handed back as it is.
    if (!span?.isRecording()) return original.apply(socket, callArgs);
    const sendSpan = span;
    let result: unknown;
    try {
      result = original.apply(socket, callArgs);
    } catch (err) {
      failSpan(sendSpan, err);
      sendSpan.end();
      throw err;
    }
    if (!isThenable(result)) {
      sendSpan.end();
      return result;
    }
    return result.then(
      (value) => {
        sendSpan.end();
        return value;
      },
      (err: unknown) => {
        failSpan(sendSpan, err);
        sendSpan.end();
        throw err;
      },
    );
  }

  private startSend(socket: ZmqSocketLike, info: SocketInfo, message: unknown): { span: Span; message: unknown } {
    const frames: readonly unknown[] = Array.isArray(message) ? message : [message];
    let parent = queuedSendContexts.get(frames) ?? context.active();
    if (info.isReply && info.replyParent) {
      parent = replyParent(parent, info.replyParent);
      info.replyParent = undefined; // a Reply socket answers each request once
    } else if (info.isRouter) {
      const key = routeKey(frames[0]);
      const request = key === undefined ? undefined : info.routes?.get(key);
      if (request) parent = replyParent(parent, request);
    }
    const span = this.startMessagingSpan(socket, info, SpanKind.PRODUCER, parent, frames, undefined);
    if (!this.propagates(socket, info)) return { span, message };
    const frame = frameFor(span.spanContext(), parent);
    if (!frame) return { span, message };
    // A new array: the caller's array may be reused by the application and must not grow.
    return { span, message: [...frames, frame] };
  }

  /**
   * A PRODUCER (send) or CONSUMER (receive) span; `frames` undefined for a receive that failed. Its attributes are
   * set after the start, and only when it records: passed in the SDK startSpan's options they cost more (it copies and
   * checks options.attributes twice, before and after sampling, ~1 µs per span on the benchmark machine), and the
   * samplers the agent configures (the standard ones) never read them.
   */
  private startMessagingSpan(
    socket: ZmqSocketLike,
    info: SocketInfo,
    kind: SpanKind.PRODUCER | SpanKind.CONSUMER,
    parent: Context,
    frames: readonly unknown[] | undefined,
    startTime: number | undefined,
  ): Span {
    endpointOf(socket, info); // names the span after the endpoint, read from libzmq on first use
    const send = kind === SpanKind.PRODUCER;
    const span = this.startSpan(this.tracer, send ? info.sendName : info.receiveName, kind, parent, startTime);
    if (span.isRecording())
      span.setAttributes(messageAttributes(socket, info, send ? OPERATION_SEND : OPERATION_RECEIVE, frames));
    return span;
  }

  // ---- receive ------------------------------------------------------------------------------------------------

  private tracedReceive(socket: ZmqSocketLike, original: AnyFn, args: unknown[]): unknown {
    let info: SocketInfo | null = null;
    try {
      info = socketInfo(socket);
    } catch {
      info = null;
    }
    if (!info?.tracesReceive) return original.apply(socket, args);
    const tracedInfo = info;
    const parentAtCall = context.active();
    // For a failed receive's span only: a performance time (a TimeInput as such) where Date.now() would allocate.
    const startTime = performance.now();
    let result: unknown;
    try {
      result = original.apply(socket, args);
    } catch (err) {
      this.receiveFailed(socket, tracedInfo, err, parentAtCall, startTime);
      throw err;
    }
    if (!isThenable(result)) return result;
    return result.then(
      (frames: unknown) => this.received(socket, tracedInfo, frames, parentAtCall),
      (err: unknown) => {
        this.receiveFailed(socket, tracedInfo, err, parentAtCall, startTime);
        throw err;
      },
    );
  }

  /** Strips our frame (if any), records the CONSUMER span and remembers the message's context. Never throws. */
  private received(socket: ZmqSocketLike, info: SocketInfo, frames: unknown, parentAtCall: Context): unknown {
    try {
      if (!Array.isArray(frames)) return frames;
      // The array is fresh from the native binding and owned by no one else yet: it may be shortened in place.
      const taken = takeTraceFrame(frames);
      const parent = taken ? contextFromFrame(taken.frame) : parentAtCall;
      // The span marks delivery: it starts when the message reached the application, so the gap after the
      // producer span is the hop plus queueing time.
      const span = this.startMessagingSpan(socket, info, SpanKind.CONSUMER, parent, frames, undefined);
      span.end();
      const messageContext: Context = new SpanContextLayer(parent, span, undefined);
      attachContext(frames, messageContext);
      const first: unknown = frames[0];
      if (info.compat && typeof first === 'object' && first !== null) {
        messageRegistry().firstFrames.set(first, messageContext);
      }
      if (info.isReply) info.replyParent = messageContext;
      else if (info.isRouter) {
        const key = routeKey(first);
        if (key !== undefined) rememberRoute(info, key, messageContext);
      }
    } catch (err) {
      this.internalError('zeromq receive not traced', err);
    }
    return frames;
  }

  private receiveFailed(
    socket: ZmqSocketLike,
    info: SocketInfo,
    err: unknown,
    parent: Context,
    startTime: number,
  ): void {
    try {
      // EAGAIN is "nothing arrived in time" (receiveTimeout, or a socket being closed under a pending receive /
      // `for await`): no message, no failed operation.
      if (errorCode(err) === 'EAGAIN' || socket.closed) return;
      const span = this.startMessagingSpan(socket, info, SpanKind.CONSUMER, parent, undefined, startTime);
      failSpan(span, err);
      span.end();
    } catch {
      // never let tracing turn one error into another
    }
  }
}

/** Messaging attributes of a send or receive; `frames` undefined for a receive that failed (no message). */
function messageAttributes(
  socket: ZmqSocketLike,
  info: SocketInfo,
  operation: string,
  frames: readonly unknown[] | undefined,
): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_ZEROMQ,
    [ATTR_MESSAGING_OPERATION_NAME]: operation,
    [ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [ATTR_ZEROMQ_SOCKET_TYPE]: info.typeName,
  };
  if (frames) {
    attributes[ATTR_ZEROMQ_FRAME_COUNT] = frames.length;
    attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = bodySize(frames);
  }
  const destination = endpointOf(socket, info);
  if (destination) attributes[ATTR_MESSAGING_DESTINATION_NAME] = destination;
  return attributes;
}
