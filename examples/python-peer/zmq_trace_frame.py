"""Read and write the @x/trace-agent ZeroMQ trace-context frame from Python (pyzmq).

The agent appends ONE extra frame at the END of every multipart message it sends. Layout (big-endian):

    offset  size  field
    0       4     magic      FF 5A 54 43   (b"\\xffZTC")
    4       1     version    0x01
    5       1     trace-flags (W3C; bit 0 = sampled)
    6       16    trace-id   (binary, not all zero)
    22      8     parent-id  (binary span id of the sending span, not all zero)
    30      2     T = tracestate length
    32      T     tracestate (W3C header value, printable ASCII 0x20-0x7E, may be empty)
    32+T    2     B = baggage length
    34+T    B     baggage    (W3C header value, printable ASCII 0x20-0x7E, may be empty)

The frame is exactly 34+T+B bytes. A receiver strips the last frame only if the message has at least two
frames and the last one satisfies every rule; otherwise the message is application data, left untouched.

No dependency beyond the standard library; see to_carrier()/from_carrier() to plug into OpenTelemetry's
W3C propagators (opentelemetry.propagate.extract / inject) if your service already uses them.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

MAGIC = b"\xffZTC"
VERSION = 1
HEADER = struct.Struct(">4sBB16s8sH")  # magic, version, flags, trace-id, parent-id, tracestate length
MIN_SIZE = 34
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


@dataclass(frozen=True)
class TraceContext:
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex: the span that sent the message
    trace_flags: int = 1
    tracestate: str = ""
    baggage: str = ""

    @property
    def sampled(self) -> bool:
        return bool(self.trace_flags & 1)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.trace_flags:02x}"

    def child(self) -> "TraceContext":
        """The same trace with a fresh span id: use it for what this process sends on."""
        return TraceContext(self.trace_id, os.urandom(8).hex(), self.trace_flags, self.tracestate, self.baggage)


def _printable(data: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in data)


def decode(frame: bytes) -> Optional[TraceContext]:
    """The context in one frame, or None if it is not exactly a valid v1 frame. Never raises."""
    try:
        frame = bytes(frame)
        if len(frame) < MIN_SIZE:
            return None
        magic, version, flags, trace_id, span_id, t = HEADER.unpack_from(frame, 0)
        if magic != MAGIC or version != VERSION or MIN_SIZE + t > len(frame):
            return None
        (b,) = struct.unpack_from(">H", frame, 32 + t)
        if MIN_SIZE + t + b != len(frame) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
            return None
        tracestate = frame[32 : 32 + t]
        baggage = frame[34 + t : 34 + t + b]
        if not (_printable(tracestate) and _printable(baggage)):
            return None
        return TraceContext(trace_id.hex(), span_id.hex(), flags, tracestate.decode("ascii"), baggage.decode("ascii"))
    except Exception:  # noqa: BLE001 - a frame we cannot read is simply application data
        return None


def encode(ctx: TraceContext) -> bytes:
    """The frame for ctx. Raises ValueError for invalid ids; drops tracestate/baggage that are not printable ASCII."""
    trace_id = bytes.fromhex(ctx.trace_id)
    span_id = bytes.fromhex(ctx.span_id)
    if len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        raise ValueError("trace id must be 16 non-zero bytes and span id 8 non-zero bytes")

    def field(value: str) -> bytes:
        try:
            data = value.encode("ascii")
        except UnicodeEncodeError:
            return b""
        return data if len(data) <= 0xFFFF and _printable(data) else b""

    tracestate, baggage = field(ctx.tracestate), field(ctx.baggage)
    return (
        HEADER.pack(MAGIC, VERSION, ctx.trace_flags & 0xFF, trace_id, span_id, len(tracestate))
        + tracestate
        + struct.pack(">H", len(baggage))
        + baggage
    )


def split_message(frames: Sequence[bytes]) -> Tuple[List[bytes], Optional[TraceContext]]:
    """(application frames, context): removes the trailing context frame if, and only if, it is one."""
    frames = list(frames)
    if len(frames) >= 2:
        ctx = decode(frames[-1])
        if ctx is not None:
            return frames[:-1], ctx
    return frames, None


def append_context(frames: Sequence[bytes], ctx: Optional[TraceContext]) -> List[bytes]:
    """frames plus the context frame (unchanged when ctx is None). Never send it alone: frames must not be empty."""
    frames = list(frames)
    if ctx is None or not frames:
        return frames
    return frames + [encode(ctx)]


def to_carrier(ctx: TraceContext) -> dict:
    """W3C headers for opentelemetry.propagate.extract(carrier)."""
    carrier = {"traceparent": ctx.traceparent}
    if ctx.tracestate:
        carrier["tracestate"] = ctx.tracestate
    if ctx.baggage:
        carrier["baggage"] = ctx.baggage
    return carrier


def from_carrier(carrier: dict) -> Optional[TraceContext]:
    """The inverse of to_carrier, e.g. after opentelemetry.propagate.inject(carrier)."""
    parts = str(carrier.get("traceparent", "")).split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        flags = int(parts[3], 16)
    except ValueError:
        return None
    return TraceContext(parts[1], parts[2], flags, carrier.get("tracestate", ""), carrier.get("baggage", ""))
