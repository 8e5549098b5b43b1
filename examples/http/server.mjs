// A plain http service that calls a downstream with fetch: nothing here knows about tracing.
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const downstream = process.env.DOWNSTREAM_URL;

http
  .createServer(async (_req, res) => {
    const extra = downstream ? ` + ${await (await fetch(downstream)).text()}` : '';
    res.end(`hello from ${process.env.FD_SERVICE_NAME ?? 'server'}${extra}\n`);
  })
  .listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
