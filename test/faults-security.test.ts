// Secrets and transport security: header values and URL credentials never appear in any output (even at debug
// level), headers go only to the endpoint they are configured for, TLS is verified for https:// endpoints
// (a self-signed collector is refused unless its CA is given), and bad environment values never stop the app.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentLines, load, poll, tally } from './helpers/fault-utils.js';
import { harness } from './helpers/harness.js';
import { runApp } from './helpers/run-app.js';

const h = harness('each');
const receiver = () => h.receiver();
const serve = (env: Record<string, string>, script = 'fault-server.mjs') =>
  h.serve(script, { env: { TRACES_ENABLE: 'true', ...env } });

/** A plain server that records the headers of what the app sends it (the app's own outgoing calls). */
async function echoServer() {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end('echo');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    close: () => new Promise((r) => server.close(r)),
  };
}

const SECRETS = [
  'tok-S3CRET-1',
  'key-S3CRET-2',
  'org-S3CRET-3',
  'logs-S3CRET-4',
  'trace-S3CRET-5',
  'user-S3CRET-6',
  'pass-S3CRET-7',
];

describe('secrets never printed', () => {
  it.each(['grpc', 'http/protobuf'] as const)(
    '%s at OTEL_LOG_LEVEL=all, with a collector that fails and one that works',
    async (protocol) => {
      const echo = await echoServer();
      for (const working of [false, true]) {
        const r = await receiver();
        if (!working) await r.stop();
        const port = protocol === 'grpc' ? r.grpcPort : r.httpPort;
        const service = `secrets-${protocol}-${working}`;
        const { app, base } = await serve({
          // URL credentials in the endpoint, secrets in every header variable (one percent-encoded, one with "=").
          EXPORTER_OTLP_ENDPOINT: `http://user-S3CRET-6:pass-S3CRET-7@127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok-S3CRET-1,x-api-key=key-S3CRET-2==,bad key=x',
          OTEL_EXPORTER_OTLP_HEADERS: 'x-scope-orgid=org-S3CRET-3',
          OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs-key=logs-S3CRET-4',
          OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-trace-key=trace-S3CRET-5',
          OTEL_LOG_LEVEL: 'all',
          FD_SERVICE_NAME: service,
        });
        await load(`${base}/hop?to=${encodeURIComponent(echo.url)}`, 20);
        await load(`${base}/hop?via=http&to=${encodeURIComponent(echo.url)}`, 20);
        if (working) {
          const [span] = await r.waitForSpans((s) => s.resource['service.name'] === service, 15_000);
          expect(span!.headers['x-trace-key']).toBe('trace-S3CRET-5'); // it was configured and used...
        } else {
          await poll(
            () => agentLines(app.stderr).filter((l) => / failed /.test(l)),
            (l) => l.length > 0,
            25_000,
          );
        }
        app.kill('SIGTERM');
        await app.exited;
        const output = [...app.stdout, ...app.stderr].join('\n');
        expect(agentLines(app.stderr).length).toBeGreaterThan(10); // debug output was on
        for (const secret of SECRETS) expect(output, `${secret} printed`).not.toContain(secret); // ...and never printed
        expect(output).not.toContain('tok-S3CRET');
        expect(output).toMatch(/EXPORTER_OTLP_HEADERS: key "bad key" is not a valid header name/);
      }
      // None of them went with the app's own requests.
      expect(echo.seen).toHaveLength(80);
      for (const headers of echo.seen)
        for (const secret of SECRETS) expect(JSON.stringify(headers)).not.toContain(secret);
      await echo.close();
    },
  );
});

describe('the diagnostics redactor (defence in depth: no current message carries a secret)', () => {
  it('masks configured header values (raw and percent-encoded) and any URL credentials in every line', async () => {
    const { createDiag, secretsOf } = await import('../src/diag.js');
    const { readConfig } = await import('../src/config/index.js');
    const { config } = readConfig({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: 'http://svc-user:svc%20pass@collector:4318',
      EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok-S3CRET-1,x-short=abc',
    });
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      const diag = createDiag('debug', secretsOf(config));
      diag.warn('auth Bearer tok-S3CRET-1 rejected; encoded: Bearer%20tok-S3CRET-1');
      diag.error('cannot reach https://someone:hunter2@elsewhere:443/x and http://svc-user:svc%20pass@collector:4318');
      diag.debug('password svc pass, user svc-user, short value abc stays readable');
    } finally {
      process.stderr.write = original;
    }
    const text = written.join('');
    for (const secret of ['tok-S3CRET-1', 'hunter2', 'someone', 'svc-user', 'svc pass', 'svc%20pass'])
      expect(text).not.toContain(secret);
    expect(text).toContain('https://***@elsewhere:443/x');
    expect(text).toContain('short value abc'); // values under 4 characters are not searched for
    expect(written).toHaveLength(3);
  });
});

describe('headers go only where they are configured', () => {
  it('traces-only headers reach the traces endpoint only; logs-only headers the logs endpoint only', async () => {
    const traces = await receiver();
    const logs = await receiver();
    const { base } = await serve(
      {
        EXPORTER_OTLP_ENDPOINT: traces.grpcUrl,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: logs.grpcUrl,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-common=c',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-traces-only=t',
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs-only=l',
        FD_SERVICE_NAME: 'header-scope',
      },
      'logs-server.mjs',
    );
    await load(`${base}/`, 5);
    await traces.waitForSpans(1, 15_000);
    await logs.waitForLogs(1, 15_000);
    expect(traces.requests.every((q) => q.signal === 'traces')).toBe(true);
    expect(logs.requests.every((q) => q.signal === 'logs')).toBe(true);
    for (const q of traces.requests) expect(q.headers).toMatchObject({ 'x-common': 'c', 'x-traces-only': 't' });
    for (const q of traces.requests) expect(q.headers['x-logs-only']).toBeUndefined();
    for (const q of logs.requests) expect(q.headers).toMatchObject({ 'x-common': 'c', 'x-logs-only': 'l' });
    for (const q of logs.requests) expect(q.headers['x-traces-only']).toBeUndefined();
  });
});

// ---- TLS ----

let certDir: string;
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'fault-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: certDir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=fault-test-ca',
  );
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(certDir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  writeFileSync(
    join(certDir, 'garbage.pem'),
    '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n',
  );
});

/** TLS in front of a plaintext port of the receiver (h2 is offered first, so gRPC works through it). */
async function tlsFront(targetPort: number) {
  const open = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(join(certDir, 'server.key')),
      cert: readFileSync(join(certDir, 'server.pem')),
      ALPNProtocols: ['h2', 'http/1.1'],
    },
    (socket) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      open.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end);
      upstream.on('error', end);
    },
  );
  server.on('tlsClientError', () => undefined); // the untrusting exporter hangs up: expected
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      open.forEach((s) => s.destroy()); // the app's exporter keeps its connection open
      return new Promise((r) => server.close(r));
    },
  };
}

describe.each(['grpc', 'http/protobuf'] as const)('TLS for https:// endpoints (%s)', (protocol) => {
  async function setup() {
    const r = await receiver();
    const front = await tlsFront(protocol === 'grpc' ? r.grpcPort : r.httpPort);
    return { r, front };
  }

  it('a self-signed collector is refused: spans are not sent, one warning, the app unaffected', async () => {
    const { r, front } = await setup();
    const { app, base } = await serve({
      EXPORTER_OTLP_ENDPOINT: front.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_LOGS_EXPORTER: 'none',
      FD_SERVICE_NAME: 'tls-refused',
    });
    const results = await load(`${base}/`, 50);
    expect(results.every((x) => x.status === 200)).toBe(true);
    const lines = await poll(
      () => agentLines(app.stderr),
      (l) => l.length > 0,
      25_000,
    );
    expect(lines).toEqual([
      expect.stringMatching(
        /span export to https:\/\/127\.0\.0\.1:\d+\S* failed \(.*(self[- ]signed|certificate|verify)/i,
      ),
    ]);
    expect(r.requests).toEqual([]);
    await front.close();
  });

  it('with OTEL_EXPORTER_OTLP_CERTIFICATE naming its CA, spans arrive (also at process.exit())', async () => {
    const { r, front } = await setup();
    const env = {
      EXPORTER_OTLP_ENDPOINT: front.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_CERTIFICATE: join(certDir, 'ca.pem'),
    };
    const { app, base } = await serve({ ...env, FD_SERVICE_NAME: 'tls-trusted' });
    await load(`${base}/`, 10);
    await r.waitForSpans({ where: (s) => s.resource['service.name'] === 'tls-trusted', count: 10 }, 15_000);
    expect(agentLines(app.stderr)).toEqual([]);
    // The exit-time sender verifies TLS the same way: with the CA it delivers, without it it does not.
    const exiting = await runApp('fault-exit.mjs', {
      env: {
        TRACES_ENABLE: 'true',
        ...env,
        FD_SERVICE_NAME: 'tls-exit',
        FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '60000',
      },
      args: ['exit', '3'],
    });
    expect(exiting.code).toBe(3);
    expect(tally(r, 'tls-exit').total).toBe(6);
    const untrusting = await runApp('fault-exit.mjs', {
      env: {
        TRACES_ENABLE: 'true',
        ...env,
        OTEL_EXPORTER_OTLP_CERTIFICATE: '',
        FD_SERVICE_NAME: 'tls-exit-untrusted',
        FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '60000',
      },
      args: ['exit', '3'],
    });
    expect(untrusting.code).toBe(3);
    expect(agentLines(untrusting.stderr)).toEqual([expect.stringMatching(/6 span\(s\) not delivered at exit/)]);
    expect(tally(r, 'tls-exit-untrusted').total).toBe(0);
    await front.close();
  });

  it('logs over TLS: OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE names the CA for the log exporter; an unreadable one is named', async () => {
    const { r, front } = await setup();
    const base = {
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: front.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: join(certDir, 'ca.pem'),
    };
    const trusted = await runApp('logs-script.mjs', {
      env: { ...base, FD_SERVICE_NAME: 'tls-logs', OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: join(certDir, 'ca.pem') },
    });
    expect(trusted.code, trusted.stderr.join('\n')).toBe(0);
    const records = await r.waitForLogs({ where: (l) => l.resource['service.name'] === 'tls-logs', count: 9 }, 15_000);
    expect(records.map((l) => l.body)).toContain('plain formatted line');
    const missing = await runApp('logs-script.mjs', {
      env: {
        ...base,
        FD_SERVICE_NAME: 'tls-logs-missing',
        OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: '/nonexistent/logs-ca.pem',
      },
    });
    expect(missing.code).toBe(0);
    expect(agentLines(missing.stderr).join('\n')).toMatch(
      /OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE or OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read \/nonexistent\/logs-ca\.pem/,
    );
    await front.close();
  });

  it('an unreadable or garbage certificate file: one warning naming the variable, export refused, app unaffected', async () => {
    const { r, front } = await setup();
    for (const [file, pattern] of [
      [
        '/nonexistent/ca.pem',
        /OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE or OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read \/nonexistent\/ca\.pem/,
      ],
      [join(certDir, 'garbage.pem'), /./],
    ] as const) {
      const { app, base } = await serve({
        EXPORTER_OTLP_ENDPOINT: front.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_CERTIFICATE: file,
      });
      const results = await load(`${base}/`, 50);
      expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
      const lines = await poll(
        () => agentLines(app.stderr),
        (l) => l.some((x) => /failed|cannot/.test(x)) && l.length >= 1,
        25_000,
      );
      expect(lines.some((l) => pattern.test(l))).toBe(true);
      expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(2); // the file problem, the refused export
      app.kill('SIGKILL');
    }
    expect(r.requests).toEqual([]);
    await front.close();
  });
});
