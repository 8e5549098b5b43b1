// Which sockets get the trace-context frame when TRACES_ZMQ_PROPAGATION lists endpoint patterns (config/index.ts):
// a socket is judged by its endpoint as libzmq reports it (`socket.lastEndpoint`, the one the span is named
// after), once, when it first sends with an endpoint known; a socket not yet bound or connected is judged as if no
// include pattern matched it.

/** Patterns to include and (`!` in the variable) exclude; `*` matches any run of characters. */
export interface PropagationRule {
  include: readonly string[];
  exclude: readonly string[];
}

export type EndpointTest = (endpoint: string | undefined) => boolean;

function toRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Whether a socket with this endpoint gets the frame: not excluded, and included when includes are given. */
export function endpointTest(rule: PropagationRule): EndpointTest {
  const include = rule.include.map(toRegExp);
  const exclude = rule.exclude.map(toRegExp);
  return (endpoint) => {
    if (endpoint === undefined) return include.length === 0;
    if (exclude.some((re) => re.test(endpoint))) return false;
    return include.length === 0 || include.some((re) => re.test(endpoint));
  };
}
