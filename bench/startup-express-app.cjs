// The app whose start-up is measured with instrumented libraries: Express 5 and pg loaded at start (as a service
// does), an http server listening, then closed. No database is needed: pg is loaded, not connected.
const express = require('express');
const { Pool } = require('pg');

const pool = new Pool({ host: '127.0.0.1', max: 1 });
const app = express();
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
const server = app.listen(0, '127.0.0.1', async () => {
  server.close();
  await pool.end();
  // Peak RSS in KiB, as the kernel counts it for this process.
  process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS })}\n`);
});
