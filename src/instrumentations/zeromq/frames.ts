// Sizes of outgoing frames as zeromq will put them on the wire: byte views and ArrayBuffers as-is, null as an
// empty frame, other primitives as the UTF-8 of their string form (what the native binding does). Other objects
// count as 0 rather than calling their toString a second time from here.

function frameSize(frame: unknown): number {
  if (frame === null) return 0;
  if (typeof frame === 'string') return Buffer.byteLength(frame, 'utf8');
  if (ArrayBuffer.isView(frame)) return frame.byteLength;
  if (
    frame instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && frame instanceof SharedArrayBuffer)
  ) {
    return frame.byteLength;
  }
  if (typeof frame === 'object' || typeof frame === 'function' || typeof frame === 'symbol') return 0;
  return Buffer.byteLength(String(frame), 'utf8');
}

export function bodySize(frames: readonly unknown[]): number {
  let total = 0;
  for (const frame of frames) total += frameSize(frame);
  return total;
}
