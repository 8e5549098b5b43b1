// Stage 1: the HTTP front end and tokenizer. POST /generate {"prompt": "..."} → tokens go to the scheduler over
// ZeroMQ; the text comes back from the detokenizer; the request is answered and finished here.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import {
  TraceSpanName,
  traceEvent,
  traceReqFinish,
  traceReqStart,
  traceSetThreadInfo,
  traceSliceEnd,
  traceSliceStart,
  withMessageContext,
} from '@x/trace-agent';
import { Pull, Push } from 'zeromq';

const toScheduler = new Push();
await toScheduler.bind(process.env.SCHEDULER_IN);
const fromDetokenizer = new Pull();
await fromDetokenizer.bind(process.env.FRONTEND_IN);
const waiting = new Map();

// Results come back over ZeroMQ; withMessageContext continues the trace the detokenizer's message carries.
(async () => {
  for await (const message of fromDetokenizer) {
    withMessageContext(message, () => {
      const { rid, text } = JSON.parse(message[0].toString());
      traceSetThreadInfo('frontend');
      traceSliceStart('respond', rid);
      waiting.get(rid)?.(text);
      waiting.delete(rid);
      traceSliceEnd('respond', rid);
      traceReqFinish(rid, { attrs: { output_chars: text.length } });
    });
  }
})();

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const rid = req.headers['x-request-id'] ?? randomUUID();
  const { prompt = '' } = JSON.parse(body || '{}');

  traceSetThreadInfo('tokenizer');
  traceReqStart(rid, { role: 'frontend' }); // a child of this request's HTTP server span
  traceSliceStart(TraceSpanName.PREPROCESSING, rid);
  const tokens = prompt.split(/\s+/).filter(Boolean);
  traceEvent('tokenized', rid, { attrs: { tokens: tokens.length } });
  const answered = new Promise((resolve) => waiting.set(rid, resolve));
  await toScheduler.send(JSON.stringify({ rid, tokens })); // sent inside the slice: the trace travels along
  traceSliceEnd(TraceSpanName.PREPROCESSING, rid, { threadFinishFlag: true });

  const text = await answered;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ rid, text }));
});
server.listen(Number(process.env.HTTP_PORT ?? 8080), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: 'frontend', port: server.address().port }));
});
process.on('SIGTERM', () => {
  server.close();
  toScheduler.close();
  fromDetokenizer.close();
});
