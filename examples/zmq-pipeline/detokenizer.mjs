// Stage 3: the detokenizer. Turns ids into text and sends it back to the front end.

import {
  TraceSpanName,
  traceSetProcPropagateContext,
  traceSetThreadInfo,
  traceSliceEnd,
  traceSliceStart,
  withMessageContext,
} from '@x/trace-agent';
import { Pull, Push } from 'zeromq';

const fromScheduler = new Pull();
await fromScheduler.bind(process.env.DETOKENIZER_IN);
const toFrontend = new Push();
toFrontend.connect(process.env.FRONTEND_IN);
console.log(JSON.stringify({ ready: 'detokenizer' }));
process.on('SIGTERM', () => {
  fromScheduler.close();
  toFrontend.close();
});

for await (const message of fromScheduler) {
  await withMessageContext(message, async () => {
    const { rid, ids } = JSON.parse(message[0].toString());
    traceSetThreadInfo('detokenizer');
    traceSetProcPropagateContext(rid, message);
    traceSliceStart(TraceSpanName.POSTPROCESSING, rid);
    const text = ids.map((id) => `tok${id}`).join(' ');
    await toFrontend.send(JSON.stringify({ rid, text }));
    traceSliceEnd(TraceSpanName.POSTPROCESSING, rid, { threadFinishFlag: true });
  });
}
