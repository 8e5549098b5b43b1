// An Express 5 hello world with one routed handler, on $PORT: the bench requests GET /hello/world.
const express = require('express');

const app = express();
app.get('/hello/:name', (req, res) => res.send(`hello ${req.params.name}`));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
