// Public shapes produced by the test OTLP receiver. Every protocol (gRPC, HTTP/protobuf,
// HTTP/JSON) is normalized into these, so tests never care how the data arrived.

export type ReceiverProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export type ReceiverSignal = 'traces' | 'logs' | 'metrics';
/** ok: store and answer; hang: accept, never answer; error: HTTP 503 / gRPC UNAVAILABLE. */
export type ReceiverMode = 'ok' | 'hang' | 'error';

/** An OTLP AnyValue unwrapped to plain JS (int64 becomes number, bytes stay bytes, empty is null). */
export type AttrValue = string | number | boolean | null | Uint8Array | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

/** Request headers (HTTP) or metadata (gRPC): lowercase name -> string. */
export type Headers = Record<string, string>;

export interface ReceivedScope {
  name: string;
  version: string;
  attributes: Attributes;
}

export interface ReceivedSpanEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface ReceivedSpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  flags: number;
  attributes: Attributes;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for root spans. */
  parentSpanId: string;
  name: string;
  /** As in the proto: 0 UNSPECIFIED, 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER. */
  kind: number;
  kindName: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  events: ReceivedSpanEvent[];
  links: ReceivedSpanLink[];
  /** code: 0 UNSET, 1 OK, 2 ERROR. */
  status: { code: number; message: string };
  traceState: string;
  flags: number;
  resource: Attributes;
  scope: ReceivedScope;
  protocol: ReceiverProtocol;
  headers: Headers;
}

export interface ReceivedLog {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AttrValue;
  attributes: Attributes;
  eventName: string;
  flags: number;
  /** hex, '' when the record is not correlated with a span. */
  traceId: string;
  spanId: string;
  resource: Attributes;
  scope: ReceivedScope;
  protocol: ReceiverProtocol;
  headers: Headers;
}

export interface ReceivedRequest {
  protocol: ReceiverProtocol;
  signal: ReceiverSignal;
  path: string;
  headers: Headers;
  /** How the receiver answered (mode at arrival time, or 'decode-error'). */
  outcome: ReceiverMode | 'decode-error';
  /**
   * True when the body arrived compressed (HTTP Content-Encoding / gRPC grpc-encoding);
   * undefined if grpc-js no longer exposes the request's encoding.
   */
  compressed: boolean | undefined;
  spanCount: number;
  logCount: number;
  metricCount: number;
}

/** Anything the receiver could not accept: undecodable body, bad path, bad content type, bad ids. */
export interface ReceiverError {
  protocol: ReceiverProtocol | 'http';
  signal: ReceiverSignal | 'unknown';
  path: string;
  message: string;
  headers: Headers;
}
