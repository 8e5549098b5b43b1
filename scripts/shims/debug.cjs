// Stand-in for the `debug` package inside the agent's bundle. require-in-the-middle logs through `debug`, whose
// start-up (it loads `tty` and `supports-color` to decide on colours) cost ~8 ms of the agent's start-up for
// messages that are off unless DEBUG names require-in-the-middle. The agent's own diagnostics use OTEL_LOG_LEVEL.
'use strict';
function createDebug() {
  const debug = () => {};
  debug.enabled = false;
  debug.extend = createDebug;
  return debug;
}
createDebug.enabled = () => false;
module.exports = createDebug;
