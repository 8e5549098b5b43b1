// Stage 2: the scheduler. Receives tokens over ZeroMQ, "runs the model" (prefill, then one decode step per
// output token), and sends the generated ids to the detokenizer.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TraceSpanName,
  traceEvent,
  traceSetProcPropagateContext,
  traceSetThreadInfo,
  traceSliceEnd,
  traceSliceStart,
  withMessageContext,
} from '@x/trace-agent';
import { Pull, Push } from 'zeromq';

const fromFrontend = new Pull();
fromFrontend.connect(process.env.SCHEDULER_IN);
const toDetokenizer = new Push();
toDetokenizer.connect(process.env.DETOKENIZER_IN);
console.log(JSON.stringify({ ready: 'scheduler' }));
process.on('SIGTERM', () => {
  fromFrontend.close();
  toDetokenizer.close();
});

for await (const message of fromFrontend) {
  await withMessageContext(message, async () => {
    const { rid, tokens } = JSON.parse(message[0].toString());
    traceSetThreadInfo('scheduler', 0, 0);
    traceSetProcPropagateContext(rid, message); // join the request the front end started

    traceSliceStart(TraceSpanName.SCHEDULE, rid);
    await sleep(2);
    traceSliceEnd(TraceSpanName.SCHEDULE, rid);

    traceSliceStart(TraceSpanName.PREFILL, rid);
    await sleep(5 + tokens.length);
    traceSliceEnd(TraceSpanName.PREFILL, rid);

    traceSliceStart(TraceSpanName.DECODE, rid);
    const ids = [];
    for (let i = 0; i < Math.max(3, tokens.length); i++) {
      await sleep(1);
      ids.push(1000 + i);
      traceEvent('token', rid, { attrs: { index: i } });
    }
    await toDetokenizer.send(JSON.stringify({ rid, ids }));
    traceSliceEnd(TraceSpanName.DECODE, rid, { threadFinishFlag: true });
  });
}
