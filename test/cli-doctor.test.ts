// `trace-agent doctor` against the real OTLP test receiver: each protocol accepted (exit 0), every way of failing
// reported with a FAIL verdict and exit 1, the configuration with its sources, and secrets never printed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './fixtures/cli/run-cli.js';
import { type OtlpReceiver, startReceiver } from './helpers/otlp-receiver.js';
import { selfSignedCert } from './helpers/tls.js';

let receiver: OtlpReceiver;
let closedPort: number;
beforeAll(async () => {
  receiver = await startReceiver();
  // A port that was just free: nothing listens there.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.clear();
  receiver.setMode('ok');
});

const SECRET_TOKEN = 'Bearer s3cr3t-t0ken-9f8e';
const SECRET_KEY = 'k3y-v4lue-77aa';
const SECRET_PASSWORD = 'hunter2-pw-x9';
const HEADERS = {
  OTEL_EXPORTER_OTLP_HEADERS: `authorization=${encodeURIComponent(SECRET_TOKEN)},x-api-key=${SECRET_KEY}`,
};

function doctor(env: Record<string, string>, ...args: string[]) {
  return runCli(['doctor', ...args], { env, timeoutMs: 25_000 });
}

function expectNoSecrets(out: string): void {
  for (const secret of [SECRET_TOKEN, 's3cr3t-t0ken', SECRET_KEY, SECRET_PASSWORD]) expect(out).not.toContain(secret);
}

describe('a reachable receiver', () => {
  it.each(['grpc', 'http/protobuf', 'http/json'] as const)(
    '%s: one empty export accepted, verdict OK, exit 0',
    async (protocol) => {
      const endpoint = protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl;
      const run = await doctor({
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        ...HEADERS,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const traces = receiver.requests.filter((r) => r.signal === 'traces');
      expect(traces).toHaveLength(1);
      expect(traces[0]).toMatchObject({ protocol, spanCount: 0, outcome: 'ok' });
      // The configured headers were sent (as gRPC metadata too) — and never printed.
      expect(traces[0]!.headers).toMatchObject({ authorization: SECRET_TOKEN, 'x-api-key': SECRET_KEY });
      expectNoSecrets(run.stdout);
      expect(run.stdout).toMatch(/header +authorization=<redacted> +← OTEL_EXPORTER_OTLP_HEADERS/);
      const url = protocol === 'grpc' ? receiver.grpcUrl : `${receiver.httpUrl}/v1/traces`;
      expect(run.stdout).toContain(`  traces → ${url} (${protocol}): sent an empty export request\n    OK: `);
      expect(run.stdout).toMatch(
        protocol === 'grpc'
          ? /OK: gRPC status 0 OK in \d+ ms: the endpoint accepts OTLP grpc/
          : /OK: HTTP 200 OK in \d+ ms: the endpoint accepts OTLP http/,
      );
      // Logs go to the same collector by default: checked as well.
      expect(receiver.requests.filter((r) => r.signal === 'logs')).toMatchObject([{ protocol, logCount: 0 }]);
      expect(run.stdout.trimEnd().split('\n').pop()).toBe(
        `Verdict: OK — tracing is on; spans go to ${url} (${protocol}).`,
      );
    },
  );

  it('gzip compression is used as configured', async () => {
    for (const [endpoint, protocol] of [
      [receiver.grpcUrl, 'grpc'],
      [receiver.httpUrl, 'http/protobuf'],
    ] as const) {
      receiver.clear();
      const run = await doctor({
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      });
      expect(run.code).toBe(0);
      expect(receiver.requests.find((r) => r.signal === 'traces')!.compressed).toBe(true);
    }
  });

  it("--offline checks nothing; --app finds the service name from the app's package.json", async () => {
    const run = await doctor(
      { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}` },
      '--offline',
      '--app',
      'test/fixtures/http-server.mjs',
    );
    expect(run.code).toBe(0);
    expect(receiver.requests).toEqual([]);
    expect(run.stdout).toContain(': not checked (--offline)');
    expect(run.stdout).toMatch(/service\.name +@x\/trace-agent +← default \(the app's package\.json name\)/);
  });
});

describe('failures: FAIL verdict, exit 1, and what to do', () => {
  it.each(['grpc', 'http/protobuf', 'http/json'] as const)(
    '%s: a closed port is "connection refused"',
    async (protocol) => {
      const run = await doctor({
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_LOGS_EXPORTER: 'none',
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`FAILED: connection refused by 127.0.0.1:${closedPort}`);
      expect(run.stdout).toContain('what to do: nothing listens there');
      expect(run.stdout).toMatch(
        /\nVerdict: FAIL — tracing cannot work as configured:\n {2}- the traces endpoint .* did not accept an export: connection refused/,
      );
    },
  );

  it('URL credentials and headers are never printed, even when the check fails', async () => {
    const run = await doctor({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: `http://admin:${SECRET_PASSWORD}@127.0.0.1:${closedPort}/otlp?token=${SECRET_KEY}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      EXPORTER_OTLP_HEADERS: `authorization=${encodeURIComponent(SECRET_TOKEN)},bad-pair-without-value`,
    });
    expect(run.code).toBe(1);
    expectNoSecrets(run.stdout + run.stderr);
    expect(run.stdout).toContain(`http://***@127.0.0.1:${closedPort}/otlp/v1/traces`);
    expect(run.stdout).toMatch(/header +authorization=<redacted> +← EXPORTER_OTLP_HEADERS/);
    expect(run.stdout).toMatch(
      /Warnings from the configuration[^\n]*\n {2}- EXPORTER_OTLP_HEADERS: key "bad-pair-without-value" is not of the form key=value/,
    );
  });

  it('TLS to a plaintext endpoint: a TLS failure, on gRPC and HTTP', async () => {
    for (const [endpoint, protocol] of [
      [receiver.grpcUrl, 'grpc'],
      [receiver.httpUrl, 'http/protobuf'],
    ] as const) {
      const run = await doctor({
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: endpoint.replace('http://', 'https://'),
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_LOGS_EXPORTER: 'none',
      });
      expect(run.code, protocol).toBe(1);
      expect(run.stdout).toMatch(/FAILED: TLS failure talking to 127\.0\.0\.1:\d+: /);
      expect(run.stdout).toContain('what to do: the endpoint does not speak TLS: use http:// instead of https://');
    }
  });

  it('an unreadable CA certificate file is reported before connecting', async () => {
    const run = await doctor({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl.replace('http', 'https'),
      OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem',
      OTEL_LOGS_EXPORTER: 'none',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'FAILED: cannot read the CA certificate (OTEL_EXPORTER_OTLP_CERTIFICATE) file /nonexistent/ca.pem: ENOENT',
    );
  });

  it('HTTP 404: the path is wrong (a per-signal endpoint is used exactly as given)', async () => {
    const run = await doctor({
      TRACES_ENABLE: 'true',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.httpUrl}/wrong`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_LOGS_EXPORTER: 'none',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAILED: HTTP 404 Not Found in \d+ ms: unexpected POST \/wrong/);
    expect(run.stdout).toContain('what to do: nothing at this path');
  });

  it('a failing receiver: HTTP 503 and gRPC UNAVAILABLE', async () => {
    receiver.setMode('error');
    const http = await doctor({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_LOGS_EXPORTER: 'none',
    });
    expect(http.code).toBe(1);
    expect(http.stdout).toMatch(/FAILED: HTTP 503 Service Unavailable in \d+ ms: OTLP test receiver is in error mode/);
    const grpc = await doctor({
      TRACES_ENABLE: 'true',
      EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl,
      OTEL_LOGS_EXPORTER: 'none',
    });
    expect(grpc.code).toBe(1);
    expect(grpc.stdout).toMatch(/FAILED: gRPC status 14 UNAVAILABLE in \d+ ms: OTLP test receiver is in error mode/);
    // One request each: the doctor does not retry.
    expect(receiver.requests.filter((r) => r.signal === 'traces')).toHaveLength(2);
  });

  it('a receiver that never answers: the timeout', async () => {
    receiver.setMode('hang');
    const run = await doctor(
      { TRACES_ENABLE: 'true', EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, OTEL_LOGS_EXPORTER: 'none' },
      '--timeout',
      '500',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAILED: no answer from 127\.0\.0\.1:\d+ within 500 ms/);
  });

  it('the wrong protocol for the port: a hint to switch', async () => {
    const grpcOnHttp = await doctor(
      {
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_LOGS_EXPORTER: 'none',
      },
      '--timeout',
      '3000',
    );
    expect(grpcOnHttp.code).toBe(1);
    expect(grpcOnHttp.stdout).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
    const httpOnGrpc = await doctor(
      {
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_LOGS_EXPORTER: 'none',
      },
      '--timeout',
      '3000',
    );
    expect(httpOnGrpc.code).toBe(1);
    expect(httpOnGrpc.stdout).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
  });

  it.each([
    ['TRACES_ENABLE unset', {}, 'tracing is off: set TRACES_ENABLE=true'],
    ['TRACES_ENABLE=maybe', { TRACES_ENABLE: 'maybe' }, 'TRACES_ENABLE is not one of 1/true/yes/on'],
    [
      'OTEL_SDK_DISABLED=true',
      { TRACES_ENABLE: 'true', OTEL_SDK_DISABLED: 'true' },
      'OTEL_SDK_DISABLED=true forces it off',
    ],
    ['TRACES_EXPORTER=none', { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none' }, 'spans are recorded but sent nowhere'],
    [
      'a trace file in a missing directory',
      { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'file', TRACES_FILE: '/nonexistent-dir/t.jsonl' },
      'cannot write the trace file /nonexistent-dir/t.jsonl: the directory /nonexistent-dir does not exist',
    ],
  ])('%s: tracing cannot work', async (_label, env, reason) => {
    const run = await doctor({ EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, ...env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Verdict: FAIL');
    expect(run.stdout).toContain(reason);
  });
});

describe('configuration report', () => {
  it('each value with the variable that set it, FastDeploy variables winning, defaults marked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-agent-doctor-'));
    const run = await doctor(
      {
        TRACES_ENABLE: 'yes',
        FD_SERVICE_NAME: 'fd-name',
        OTEL_SERVICE_NAME: 'otel-name',
        TRACES_EXPORTER: 'file,console',
        TRACES_FILE: join(dir, 't.jsonl'),
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '100',
        OTEL_BSP_SCHEDULE_DELAY: '900',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging',
      },
      '--offline',
    );
    expect(run.code).toBe(0);
    const row = (label: string) =>
      run.stdout
        .split('\n')
        .find((l) => l.startsWith(`  ${label} `))
        ?.replace(/\s+/g, ' ')
        .trim();
    expect(row('tracing')).toBe('tracing on ← TRACES_ENABLE');
    expect(row('service.name')).toBe('service.name fd-name ← FD_SERVICE_NAME');
    expect(row('exporters')).toBe('exporters file,console ← TRACES_EXPORTER');
    expect(row('file')).toBe(`file ${join(dir, 't.jsonl')} ← TRACES_FILE`);
    expect(row('sampler')).toBe('sampler traceidratio ← OTEL_TRACES_SAMPLER');
    expect(row('sampler ratio')).toBe('sampler ratio 0.25 ← OTEL_TRACES_SAMPLER_ARG');
    expect(row('schedule delay')).toBe('schedule delay 100 ms ← FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS');
    expect(row('resource attributes')).toBe(
      'resource attributes deployment.environment=staging ← OTEL_RESOURCE_ATTRIBUTES',
    );
    expect(row('host.name')).toBe(`host.name ${require('node:os').hostname()} ← default (OS hostname)`);
    expect(row('propagators')).toBe('propagators tracecontext,baggage ← default');
    expect(run.stdout).toContain(`traces → file ${join(dir, 't.jsonl')}: writable`);
    expect(run.stdout).toContain("traces → console: spans are printed on the app's stdout");
    expect(run.stdout.trimEnd().split('\n').pop()).toBe(
      `Verdict: OK — tracing is on; spans go to the file ${join(dir, 't.jsonl')} and the console.`,
    );
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(hasOpenssl())('a TLS endpoint with a self-signed certificate', () => {
  let server: Http2SecureServer;
  let url: string;
  let certFile: string;
  beforeAll(async () => {
    const tls = selfSignedCert('trace-agent-tls-');
    certFile = tls.cert;
    const keyFile = tls.key;
    // A minimal OTLP endpoint over TLS: gRPC (HTTP/2) and HTTP/1.1 on one port, accepting any export.
    server = createSecureServer(
      { key: readFileSync(keyFile), cert: readFileSync(certFile), allowHTTP1: true },
      (req, res) => {
        req.resume();
        req.on('end', () => {
          if (String(req.headers['content-type']).startsWith('application/grpc')) {
            res.writeHead(200, { 'content-type': 'application/grpc' });
            res.addTrailers({ 'grpc-status': '0' });
            res.end();
          } else {
            res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          }
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each(['grpc', 'http/protobuf'] as const)(
    '%s: untrusted without the CA file, OK with OTEL_EXPORTER_OTLP_CERTIFICATE',
    async (protocol) => {
      const env = {
        TRACES_ENABLE: 'true',
        EXPORTER_OTLP_ENDPOINT: url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_LOGS_EXPORTER: 'none',
      };
      const untrusted = await doctor(env);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stdout).toMatch(/FAILED: TLS failure talking to 127\.0\.0\.1:\d+: .*self[- ]signed/i);
      expect(untrusted.stdout).toContain('set OTEL_EXPORTER_OTLP_CERTIFICATE to the PEM file of the CA');
      const trusted = await doctor({ ...env, OTEL_EXPORTER_OTLP_CERTIFICATE: certFile });
      expect(trusted.stdout).toMatch(/CA certificate +\S+cert\.pem +← OTEL_EXPORTER_OTLP_CERTIFICATE/);
      expect(trusted.stdout).toMatch(/transport +TLS \(https:\/\/\)/);
      expect(trusted.code).toBe(0);
    },
  );
});
