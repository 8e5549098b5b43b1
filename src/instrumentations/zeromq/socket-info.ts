// Per-socket facts the instrumentation needs, kept in WeakMaps so sockets are never modified and are collected
// normally: the socket type (read once), its endpoint (the destination name), and which received request a
// reply answers (Reply: the last request; Router: per routing id).
import type { Context } from '@opentelemetry/api';

/** ZeroMQ socket type numbers 0..10 (ZMQ_PAIR..ZMQ_XSUB), in that order. */
const TYPE_NAMES = ['pair', 'pub', 'sub', 'req', 'rep', 'dealer', 'router', 'pull', 'push', 'xpub', 'xsub'] as const;
export type SocketTypeName = (typeof TYPE_NAMES)[number];

const ZMQ_REP = 4;
const ZMQ_ROUTER = 6;
const ZMQ_XPUB = 9;
const ZMQ_XSUB = 10;
/** A Router remembers at most this many routing ids; the oldest is forgotten first. */
const MAX_ROUTES = 1024;

export interface SocketInfo {
  readonly typeName: SocketTypeName;
  /** send() gets a PRODUCER span and, if propagation is on, the trace-context frame. */
  readonly tracesSend: boolean;
  /** receive() gets a CONSUMER span and has a trailing trace-context frame removed. */
  readonly tracesReceive: boolean;
  readonly isReply: boolean;
  readonly isRouter: boolean;
  /** First endpoint seen (see endpointOf), and the span names derived from it once. */
  endpoint?: string;
  sendName: string;
  receiveName: string;
  /** The socket belongs to a v5-compat socket, whose listeners receive the frames spread out. */
  compat?: boolean;
  /** Reply: context of the request the next send() answers. */
  replyParent?: Context;
  /** Whether its sends carry the trace-context frame, once decided by its endpoint (TRACES_ZMQ_PROPAGATION). */
  propagates?: boolean;
  /** Router: routing id (latin1 string of its bytes) -> context of the last message received from that peer. */
  routes?: Map<string, Context>;
}

/** The slice of a zeromq v6 Socket this module reads. */
export interface ZmqSocketLike {
  readonly type?: number;
  readonly closed?: boolean;
  readonly lastEndpoint?: string | null;
}

// null = looked at and deliberately left alone (Stream, draft sockets, unknown types).
const infos = new WeakMap<object, SocketInfo | null>();

function makeInfo(type: number): SocketInfo | null {
  const typeName = TYPE_NAMES[type];
  if (typeName === undefined) return null; // Stream (11), draft types (12+): raw or single-part, never altered
  return {
    typeName,
    // XSUB sends are (un)subscription requests and XPUB receives are those requests: control traffic, not messages.
    tracesSend: !['sub', 'pull'].includes(typeName) && type !== ZMQ_XSUB,
    tracesReceive: !['pub', 'push'].includes(typeName) && type !== ZMQ_XPUB,
    isReply: type === ZMQ_REP,
    isRouter: type === ZMQ_ROUTER,
    routes: type === ZMQ_ROUTER ? new Map() : undefined,
    sendName: 'send',
    receiveName: 'receive',
  };
}

/** The instrumentation facts for a socket, or null when it must be left alone. Never throws. */
export function socketInfo(socket: ZmqSocketLike): SocketInfo | null {
  const known = infos.get(socket);
  if (known !== undefined) return known;
  let type: unknown;
  try {
    type = socket.type; // a native option read: done once per socket
  } catch {
    return null; // e.g. already closed; not cached so a later call may still succeed
  }
  const info = typeof type === 'number' ? makeInfo(type) : null;
  infos.set(socket, info);
  return info;
}

/**
 * The socket's endpoint, used as messaging.destination.name. libzmq's ZMQ_LAST_ENDPOINT covers both bind and
 * connect (and resolves `tcp://127.0.0.1:*` to the real port); the first non-empty value is cached because it is
 * a native option read. (bind/connect cannot be wrapped instead: they are non-configurable native methods.)
 */
export function endpointOf(socket: ZmqSocketLike, info: SocketInfo): string | undefined {
  if (info.endpoint) return info.endpoint;
  try {
    const endpoint = socket.lastEndpoint;
    if (typeof endpoint === 'string' && endpoint) {
      info.endpoint = endpoint;
      info.sendName = `send ${endpoint}`;
      info.receiveName = `receive ${endpoint}`;
    }
  } catch {
    // closed socket: no name
  }
  return info.endpoint;
}

/** Routing ids compared by bytes; strings are sent by zeromq as UTF-8. */
export function routeKey(frame: unknown): string | undefined {
  if (typeof frame === 'string') return Buffer.from(frame, 'utf8').toString('latin1');
  if (Buffer.isBuffer(frame)) return frame.toString('latin1');
  if (ArrayBuffer.isView(frame)) {
    return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('latin1');
  }
  return undefined;
}

export function rememberRoute(info: SocketInfo, key: string, ctx: Context): void {
  const routes = info.routes;
  if (!routes) return;
  routes.delete(key); // re-insert so the Map's order is least-recently-received first
  routes.set(key, ctx);
  if (routes.size > MAX_ROUTES) {
    const oldest = routes.keys().next().value;
    if (oldest !== undefined) routes.delete(oldest);
  }
}
