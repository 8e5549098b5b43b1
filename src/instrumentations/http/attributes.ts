// Span attributes of HTTP server and client spans: the stable semantic-convention set that
// @opentelemetry/instrumentation-http 0.301 records, with the same keys, values and order, computed without its
// per-request allocations (a URL object per request, header splits, arrays): the common shapes take a fast path,
// anything unusual (a query string, dot segments, forwarded headers) goes through the same parsing it uses.

import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Attributes } from '@opentelemetry/api';

/** The `x-request-id` header, recorded so a request can be found by the id the app already logs. */
export const REQUEST_ID_ATTRIBUTE = 'x_request_id';

export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_ERROR_TYPE = 'error.type';
const ATTR_URL_SCHEME = 'url.scheme';
const ATTR_URL_PATH = 'url.path';
const ATTR_URL_QUERY = 'url.query';
const ATTR_URL_FULL = 'url.full';
const ATTR_SERVER_ADDRESS = 'server.address';
const ATTR_SERVER_PORT = 'server.port';
const ATTR_CLIENT_ADDRESS = 'client.address';
const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
const ATTR_NETWORK_PEER_PORT = 'network.peer.port';
const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);
/** Query parameters whose values are replaced by REDACTED (instrumentation-http's default list). */
const REDACTED_QUERY_PARAMS = [
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Goog-Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
];
const REDACTED = 'REDACTED';

export function normalizeMethod(method: string | undefined): string {
  if (method == null) return 'GET';
  if (KNOWN_METHODS.has(method)) return method; // Node's parser hands methods over upper-case already
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

// ---- server ----------------------------------------------------------------------------------------------------

/** Attributes known when an incoming request starts. `scheme` is 'http' or 'https'. */
export function serverRequestAttributes(request: IncomingMessage, scheme: 'http' | 'https'): Attributes {
  const headers = request.headers;
  const method = request.method;
  const normalized = normalizeMethod(method);
  const socket = request.socket;
  const server = serverAddress(headers, scheme);
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: normalized,
    [ATTR_URL_SCHEME]: scheme,
  };
  if (server?.host !== undefined) attributes[ATTR_SERVER_ADDRESS] = server.host;
  const peerAddress = socket?.remoteAddress;
  if (peerAddress !== undefined) attributes[ATTR_NETWORK_PEER_ADDRESS] = peerAddress;
  const peerPort = socket?.remotePort;
  if (peerPort !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = peerPort;
  if (request.httpVersion !== undefined) attributes[ATTR_NETWORK_PROTOCOL_VERSION] = request.httpVersion;
  const userAgent = headers['user-agent'];
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
  const target = requestTarget(request.url, scheme, headers.host);
  if (target.path !== undefined) attributes[ATTR_URL_PATH] = target.path;
  if (target.query !== undefined) attributes[ATTR_URL_QUERY] = target.query;
  const client = clientAddress(headers, peerAddress);
  if (client !== undefined) attributes[ATTR_CLIENT_ADDRESS] = client;
  if (server?.port !== undefined) attributes[ATTR_SERVER_PORT] = Number(server.port);
  if (method !== normalized && method !== undefined) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
  const requestId = first(headers['x-request-id']);
  if (requestId) attributes[REQUEST_ID_ATTRIBUTE] = requestId;
  return attributes;
}

/** A path made only of these characters is its own WHATWG-URL pathname (nothing to percent-encode or resolve). */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-_~!$&'()*+,;=:@%/]*$/; // not `//x`: that would be a host

/** url.path and url.query as `new URL(request.url, base)` and instrumentation-http's redaction make them. */
export function requestTarget(
  url: string | undefined,
  scheme: string,
  host: string | undefined,
): { path?: string; query?: string } {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const hash = path.indexOf('#');
  if (hash === -1 && PLAIN_PATH.test(path) && !path.includes('/.') && (q === -1 || q === raw.length - 1)) {
    return { path }; // `/a/b`, `/a/b?`: the common case, no URL object
  }
  let parsed: URL;
  try {
    parsed = new URL(raw, `${scheme}://${host || 'localhost'}`);
  } catch {
    return {};
  }
  const out: { path?: string; query?: string } = { path: parsed.pathname };
  if (parsed.search) out.query = redactQuery(parsed.search.slice(1));
  return out;
}

function redactQuery(search: string): string {
  const params = new URLSearchParams(search);
  for (const name of REDACTED_QUERY_PARAMS) if (params.has(name)) params.set(name, REDACTED);
  return params.toString();
}

interface HostPort {
  host: string;
  port?: string;
}

function serverAddress(headers: IncomingHttpHeaders, scheme: string): HostPort | undefined {
  const forwarded = headers.forwarded;
  if (forwarded) {
    for (const entry of parseForwarded(forwarded)) if (entry.host) return parseHostHeader(entry.host, entry.proto);
  }
  const xfHost = headers['x-forwarded-host'] as string | string[] | undefined;
  const xfProto = first(headers['x-forwarded-proto'] as string | string[] | undefined);
  if (typeof xfHost === 'string') return parseHostHeader(xfHost, xfProto);
  if (Array.isArray(xfHost) && typeof xfHost[0] === 'string' && xfHost[0].length > 0)
    return parseHostHeader(xfHost[0], xfProto);
  const host = headers.host;
  if (typeof host === 'string' && host.length > 0) return parseHostHeader(host, scheme);
  return undefined;
}

/** `host[:port]`, `[v6]:port`, with the scheme's default port when none is given (instrumentation-http's rules). */
export function parseHostHeader(header: string, proto?: string): HostPort {
  const colon = header.indexOf(':');
  const defaultPort = proto === 'http' ? '80' : proto === 'https' ? '443' : undefined;
  if (colon === -1) return defaultPort ? { host: header, port: defaultPort } : { host: header };
  if (header.indexOf(':', colon + 1) === -1) return { host: header.slice(0, colon), port: header.slice(colon + 1) };
  if (header.startsWith('[')) {
    if (header.endsWith(']')) return defaultPort ? { host: header, port: defaultPort } : { host: header };
    const last = header.lastIndexOf(':');
    if (header.charCodeAt(last - 1) === 93 /* ] */)
      return { host: header.slice(0, last), port: header.slice(last + 1) };
  }
  return { host: header };
}

function clientAddress(headers: IncomingHttpHeaders, peerAddress: string | undefined): string | undefined {
  const forwarded = headers.forwarded;
  if (forwarded) {
    for (const entry of parseForwarded(forwarded)) if (entry.for) return removePort(entry.for);
  }
  const xff = first(headers['x-forwarded-for']);
  if (xff) {
    const comma = xff.indexOf(',');
    return removePort((comma === -1 ? xff : xff.slice(0, comma)).trim());
  }
  return peerAddress || undefined;
}

function removePort(input: string): string {
  try {
    const { hostname } = new URL(`http://${input}`);
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  } catch {
    return input;
  }
}

interface ForwardedEntry {
  for?: string;
  host?: string;
  proto?: string;
}

/** RFC 7239 `Forwarded`, parsed by the same package instrumentation-http uses; rare, so loaded on first use. */
function parseForwarded(header: string): ForwardedEntry[] {
  try {
    const { parse } = require('forwarded-parse') as { parse(h: string): ForwardedEntry[] };
    return parse(header);
  } catch {
    return [];
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// ---- client ----------------------------------------------------------------------------------------------------

interface ClientRequestInternals {
  agent?: { defaultPort?: number } | false | null;
}

/**
 * Attributes known when an outgoing request is created, read from the ClientRequest Node has just built (so the
 * URL was already parsed once, by Node): its method, protocol, host and path, and the authority of its Host header
 * for the port (absent when it is the default one).
 */
export function clientRequestAttributes(request: ClientRequest): Attributes {
  const method = request.method;
  const normalized = normalizeMethod(method);
  const protocol = request.protocol || 'http:';
  const hostname = request.host || 'localhost';
  const port = clientPort(request, protocol);
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: normalized,
    [ATTR_SERVER_ADDRESS]: hostname,
    [ATTR_SERVER_PORT]: port,
    [ATTR_URL_FULL]: fullUrl(protocol, hostname, port, request.path),
  };
  const userAgent = request.getHeader('user-agent');
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent as string | string[];
  if (method !== normalized) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
  return attributes;
}

function clientPort(request: ClientRequest, protocol: string): number {
  const host = request.getHeader('host');
  if (typeof host === 'string') {
    const colon = host.lastIndexOf(':');
    if (colon !== -1 && colon > host.lastIndexOf(']')) {
      const port = Number(host.slice(colon + 1));
      if (Number.isInteger(port) && port > 0) return port;
    }
  }
  const agent = (request as unknown as ClientRequestInternals).agent;
  const agentPort = agent ? agent.defaultPort : undefined;
  return typeof agentPort === 'number' ? agentPort : protocol === 'https:' ? 443 : 80;
}

function fullUrl(protocol: string, hostname: string, port: number, path: string | undefined): string {
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  const authority = port === 80 || port === 443 ? host : `${host}:${port}`;
  let target = path || '/';
  const q = target.indexOf('?');
  if (q !== -1) {
    try {
      const parsed = new URL(target, 'http://localhost');
      target = `${parsed.pathname}?${redactQuery(parsed.search.slice(1))}`;
    } catch {
      // keep the path as given
    }
  }
  return `${protocol}//${authority}${target}`;
}

/** Peer and protocol attributes of a response (client side), as instrumentation-http records them. */
export function clientResponseAttributes(response: IncomingMessage): Attributes {
  const attributes: Attributes = {};
  if (response.statusCode != null) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = response.statusCode;
  const socket = response.socket;
  if (socket) {
    if (socket.remoteAddress !== undefined) attributes[ATTR_NETWORK_PEER_ADDRESS] = socket.remoteAddress;
    if (socket.remotePort !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = socket.remotePort;
    attributes[ATTR_NETWORK_PROTOCOL_VERSION] = response.httpVersion;
  }
  return attributes;
}
