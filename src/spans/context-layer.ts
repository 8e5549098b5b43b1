// Contexts built at the lowest cost: a Context is an interface, so a span (and its RPC metadata) can be put on a
// parent in one small object instead of through the API's BaseContext, whose every setValue copies the whole Map.
// Shared by the http and zeromq instrumentations, which build one such context per request or message.
import { type Context, INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';

/**
 * A parent plus a span (and, for HTTP, its RPC metadata) in one small object: `trace.setSpan` + `setRPCMetadata`
 * on the API's BaseContext copy its whole Map and build three closures each, per request or message. This layer
 * answers its own two keys and defers to the parent for the rest. Deriving from it (setValue/deleteValue) adds one
 * more layer, as immutable as before.
 */
export class SpanContextLayer implements Context {
  constructor(
    private readonly parent: Context,
    private readonly span: unknown,
    private readonly rpc: unknown,
  ) {}
  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.span;
    if (key === RPC_KEY && this.rpc !== undefined) return this.rpc;
    return this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new ValueLayer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new ValueLayer(this, key, undefined); // reads as absent, as BaseContext's deleteValue does
  }
}

class ValueLayer implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}
  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new ValueLayer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new ValueLayer(this, key, undefined);
  }
}

/** The key an API helper stores its value under, learnt by letting it set the value on a probe context. */
function keyUsedBy(set: (probe: Context) => unknown): symbol {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue: (k) => {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  set(probe);
  if (key === undefined) throw new Error('context key not found');
  return key;
}

const SPAN_KEY = keyUsedBy((probe) => trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)));
const RPC_KEY = keyUsedBy((probe) =>
  setRPCMetadata(probe, { type: RPCType.HTTP, span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT) }),
);
