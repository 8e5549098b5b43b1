// Replacing a method on an object (a prototype, usually) so it can be put back exactly: the instrumentations' one way
// to patch, kept apart from what their wrappers do with spans.

export type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

export interface MethodPatch {
  target: object;
  name: string;
  /** The own property before patching; undefined when the method was inherited. */
  before: PropertyDescriptor | undefined;
  wrapped: AnyFn;
}

/** Replaces `target[name]` by `wrap(original)`, keeping its writability and enumerability; undefined if no method. */
export function replaceMethod(target: object, name: string, wrap: (original: AnyFn) => AnyFn): MethodPatch | undefined {
  const original = (target as Record<string, unknown>)[name];
  if (typeof original !== 'function') return undefined;
  const before = Object.getOwnPropertyDescriptor(target, name);
  const wrapped = wrap(original as AnyFn);
  Object.defineProperty(target, name, {
    value: wrapped,
    writable: before?.writable ?? true,
    enumerable: before?.enumerable ?? false,
    configurable: true,
  });
  return { target, name, before, wrapped };
}

/** Undoes patches, newest first, and empties the list. */
export function restoreMethods(patches: MethodPatch[]): void {
  for (const p of patches.reverse()) {
    // Someone wrapped on top of us: removing our layer would also remove theirs, so leave it in place.
    if (Object.getOwnPropertyDescriptor(p.target, p.name)?.value !== p.wrapped) continue;
    if (p.before) Object.defineProperty(p.target, p.name, p.before);
    else delete (p.target as Record<string, unknown>)[p.name];
  }
  patches.length = 0;
}
