"""A pyzmq peer of Node services run with @x/trace-agent. Prints one JSON line per message.

    python3 peer.py pull  ENDPOINT COUNT [--raw]     receive; --raw shows frames exactly as on the wire
    python3 peer.py relay IN_ENDPOINT OUT_ENDPOINT COUNT
                                                     receive, then forward the application frames with a
                                                     context frame that continues the sender's trace
    python3 peer.py rep   ENDPOINT COUNT             answer requests; the reply carries the trace onwards
    python3 peer.py json  ENDPOINT COUNT             a peer written without the agent in mind: recv_json()
                                                     per message (the agent's frame, if sent, breaks it)
    python3 peer.py sglang IN_ENDPOINT OUT_ENDPOINT COUNT
                                                     recv_json() a request carrying traceGetProcPropagateContext's
                                                     dict, read it as SGLang's trace_set_proc_propagate_context
                                                     does, and send_json() back what it recovered

Sockets connect (the Node side binds). Without the agent's frame the message passes through unchanged.
"""

import json
import sys

import zmq

from zmq_trace_frame import append_context, split_message

TIMEOUT_MS = 15000


def describe(ctx):
    if ctx is None:
        return None
    return {
        "trace_id": ctx.trace_id,
        "span_id": ctx.span_id,
        "trace_flags": ctx.trace_flags,
        "tracestate": ctx.tracestate,
        "baggage": ctx.baggage,
    }


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def socket(zctx, kind, endpoint):
    sock = zctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    sock.connect(endpoint)
    return sock


def pull(zctx, endpoint, count, raw):
    sock = socket(zctx, zmq.PULL, endpoint)
    for _ in range(count):
        frames = sock.recv_multipart()
        if raw:
            emit({"frames": [f.hex() for f in frames]})
        else:
            app, ctx = split_message(frames)
            emit({"frames": [f.hex() for f in app], "context": describe(ctx)})


def relay(zctx, in_endpoint, out_endpoint, count):
    src = socket(zctx, zmq.PULL, in_endpoint)
    dst = socket(zctx, zmq.PUSH, out_endpoint)
    for _ in range(count):
        app, ctx = split_message(src.recv_multipart())
        # A real service would start a span here (e.g. OpenTelemetry with to_carrier(ctx) as its parent) and
        # send that span's id on; this example just mints the child span id itself.
        sent = ctx.child() if ctx else None
        dst.send_multipart(append_context(app, sent))
        emit({"frames": [f.hex() for f in app], "context": describe(ctx), "sent": describe(sent)})


def rep(zctx, endpoint, count):
    sock = socket(zctx, zmq.REP, endpoint)
    for _ in range(count):
        app, ctx = split_message(sock.recv_multipart())
        sent = ctx.child() if ctx else None
        sock.send_multipart(append_context([b"py:" + app[0]] + app[1:], sent))
        emit({"frames": [f.hex() for f in app], "context": describe(ctx), "sent": describe(sent)})


def json_pull(zctx, endpoint, count):
    sock = socket(zctx, zmq.PULL, endpoint)
    for _ in range(count):
        try:
            emit({"json": sock.recv_json()})
        except ValueError as err:  # the trace-context frame is no JSON (UnicodeDecodeError, JSONDecodeError)
            emit({"error": type(err).__name__})


def sglang(zctx, in_endpoint, out_endpoint, count):
    src = socket(zctx, zmq.PULL, in_endpoint)
    dst = socket(zctx, zmq.PUSH, out_endpoint)
    for _ in range(count):
        req = src.recv_json()
        ctx = req["trace_context"]
        # SGLang's TracePropagateContext.instance_from_dict: the root span from the W3C carrier (its propagator reads
        # `traceparent`), the previous slice from Python OpenTelemetry's integer ids.
        _version, trace_id, root_span_id, _flags = ctx["root_span"]["traceparent"].split("-")
        prev = ctx["prev_span"]
        ints = prev != "None" and type(prev["trace_id"]) is int and type(prev["span_id"]) is int
        record = {
            "rid": req["rid"],
            "trace_id": trace_id,
            "root_span_id": root_span_id,
            "prev_trace_id": format(prev["trace_id"], "032x") if ints else None,
            "prev_span_id": format(prev["span_id"], "016x") if ints else None,
            "ints": ints,
        }
        dst.send_json(record)
        emit(record)


def main(argv):
    zctx = zmq.Context.instance()
    try:
        if argv[:1] == ["pull"] and len(argv) in (3, 4):
            pull(zctx, argv[1], int(argv[2]), raw=argv[3:] == ["--raw"])
        elif argv[:1] == ["relay"] and len(argv) == 4:
            relay(zctx, argv[1], argv[2], int(argv[3]))
        elif argv[:1] == ["rep"] and len(argv) == 3:
            rep(zctx, argv[1], int(argv[2]))
        elif argv[:1] == ["json"] and len(argv) == 3:
            json_pull(zctx, argv[1], int(argv[2]))
        elif argv[:1] == ["sglang"] and len(argv) == 4:
            sglang(zctx, argv[1], argv[2], int(argv[3]))
        else:
            sys.stderr.write(__doc__)
            return 2
    except zmq.Again:
        sys.stderr.write("timed out waiting for a message\n")
        return 1
    finally:
        zctx.destroy(linger=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
