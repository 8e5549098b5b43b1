// Attribute names. The messaging.* ones come from the (incubating) OpenTelemetry messaging semantic conventions;
// they are copied as constants because incubating entries are not exported from the stable package entry point.
// messaging.zeromq.* are ours: ZeroMQ has no semantic-convention namespace yet. messaging.operation.name is required
// by the current messaging conventions (it repeats the span name's first word: `send`, `receive`).

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
/** The endpoint the socket is bound or connected to, e.g. `tcp://127.0.0.1:5557`. */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
/** Bytes of all application frames (the trace-context frame excluded). */
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_ERROR_TYPE = 'error.type';

/** Socket type in lowercase ZeroMQ naming: push, pull, pub, sub, xpub, xsub, req, rep, dealer, router, pair. */
export const ATTR_ZEROMQ_SOCKET_TYPE = 'messaging.zeromq.socket.type';
/** Number of application frames (the trace-context frame excluded). */
export const ATTR_ZEROMQ_FRAME_COUNT = 'messaging.zeromq.message.frame_count';

export const MESSAGING_SYSTEM_ZEROMQ = 'zeromq';
export const OPERATION_SEND = 'send';
export const OPERATION_RECEIVE = 'receive';
