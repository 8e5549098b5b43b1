// The collector misbehaves; the app must not notice. Real child processes, a real OTLP receiver that refuses
// connections (stopped), disappears mid-run and comes back on the same ports, accepts and never answers (hang), or
// answers slowly (a delaying proxy in front of it).
import * as http from 'node:http';
import { describe, expect, it } from 'vitest';
import { agentLines, load, poll, quantile, sleep, tally } from './helpers/fault-utils.js';
import { harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';

const h = harness('each');
const receiver = h.receiver;

const PROTOCOLS = ['grpc', 'http/protobuf'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const endpointOf = (r: OtlpReceiver, protocol: Protocol) => (protocol === 'grpc' ? r.grpcUrl : r.httpUrl);

async function serve(env: Record<string, string>, nodeArgs = ['--expose-gc', '--import', '@x/trace-agent']) {
  const { app, base } = await h.serve('fault-server.mjs', { env: { TRACES_ENABLE: 'true', ...env }, nodeArgs });
  const heapMb = async () => (JSON.parse(await (await fetch(`${base}/mem`)).text()).heapUsed as number) / 1e6;
  return { app, base, heapMb };
}

const spanLines = (stderr: string[], re: RegExp) => agentLines(stderr).filter((l) => re.test(l));
const FAILED = /span export to \S+ failed/;
const RECOVERED = /span export to .* works again/;

/**
 * After the collector is back: requests keep coming (as in production) until spans arrive again, then every one of
 * 50 further requests must arrive: nothing made after the recovery is lost.
 */
async function expectRecovery(r: OtlpReceiver, base: string, service: string, tag: string) {
  const arrived = (prefix: string) =>
    tally(r, service).spans.filter((s) => String(s.attributes['url.query'] ?? '').startsWith(prefix));
  let i = 0;
  const deadline = Date.now() + 30_000;
  while (arrived(`p=${tag}-`).length === 0 && Date.now() < deadline) {
    await load(`${base}/?p=${tag}-${i++}`, 5);
    await sleep(200);
  }
  expect(arrived(`p=${tag}-`).length, 'no span arrived within 30 s of the collector coming back').toBeGreaterThan(0);
  await load((k) => `${base}/?p=final-${tag}-${k}`, 50);
  const finals = await poll(
    () => arrived(`p=final-${tag}-`).length,
    (n) => n >= 50,
    15_000,
  );
  expect(finals).toBe(50);
}

describe.each(PROTOCOLS)('collector refusing connections from the start (%s)', (protocol) => {
  it('responses unaffected, one warning, memory bounded by the queue, spans made after it returns arrive', async () => {
    const r = await receiver();
    await r.stop(); // the ports are known, nothing listens on them
    const service = `refused-${protocol}`;
    const { app, base, heapMb } = await serve({
      EXPORTER_OTLP_ENDPOINT: endpointOf(r, protocol),
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      FD_SERVICE_NAME: service,
    });
    const heaps: number[] = [];
    const latencies: number[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await load(`${base}/?p=down`, 2500, 16);
      expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
      latencies.push(...results.map((x) => x.ms));
      heaps.push(await heapMb());
    }
    // 10,000 spans made and not exported: the heap after the last round is about the heap after the first (the
    // queue was full already then). A leak of even 1 KB per span would add 7.5 MB.
    expect(heaps[3]! - heaps[0]!, `heap MB per round: ${heaps.map((h) => h.toFixed(1)).join(', ')}`).toBeLessThan(5);
    // No request waited on the exporter (a blocked loop shows as seconds); generous for a loaded 2-core machine.
    expect(quantile(latencies, 0.99)).toBeLessThan(1000);
    // Reported when the first export finally fails: at once for gRPC, after the exporter's retries for HTTP.
    expect(
      await poll(
        () => spanLines(app.stderr, FAILED),
        (l) => l.length > 0,
        25_000,
      ),
    ).toHaveLength(1);
    await r.restart();
    await expectRecovery(r, base, service, 'after');
    expect(spanLines(app.stderr, RECOVERED)).toHaveLength(1);
    // Lines per outage and signal, never per batch (10,000 spans went through dozens of failed batches): spans
    // failed/recovered, logs failed/recovered, and the queue report (start + count) if the queue filled up.
    const lines = agentLines(app.stderr);
    expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(8);
  });
});

describe.each(PROTOCOLS)('collector disappearing mid-run and coming back, twice (%s)', (protocol) => {
  it('each outage gives one warning and one recovery line; spans made after each return arrive', async () => {
    const r = await receiver();
    const service = `midrun-${protocol}`;
    const { app, base } = await serve({
      EXPORTER_OTLP_ENDPOINT: endpointOf(r, protocol),
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      FD_SERVICE_NAME: service,
    });
    await load(`${base}/?p=up`, 200);
    expect(
      await poll(
        () => tally(r, service).server,
        (n) => n >= 200,
        10_000,
      ),
    ).toBe(200);
    for (const outage of [1, 2]) {
      await r.stop();
      const results = await load(`${base}/?p=down`, 1500, 16);
      expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
      const failed = await poll(
        () => spanLines(app.stderr, FAILED),
        (l) => l.length >= outage,
        25_000,
      );
      expect(failed, agentLines(app.stderr).join('\n')).toHaveLength(outage);
      await r.restart();
      await expectRecovery(r, base, service, `back${outage}`);
      expect(spanLines(app.stderr, RECOVERED), agentLines(app.stderr).join('\n')).toHaveLength(outage);
    }
    expect(tally(r, service).duplicates).toBe(0);
  });
});

describe('a long gRPC outage', () => {
  it('delivery resumes within seconds of the collector coming back, not after grpc-js reconnect backoff', async () => {
    const r = await receiver();
    await r.stop();
    const service = 'long-outage';
    const { base } = await serve({
      EXPORTER_OTLP_ENDPOINT: r.grpcUrl,
      FD_SERVICE_NAME: service,
      OTEL_LOGS_EXPORTER: 'none',
    });
    // 30 s of failed exports: grpc-js's own backoff (1 s growing 1.6x, up to 120 s) would reach 10-17 s by then.
    const downSince = Date.now();
    while (Date.now() - downSince < 30_000) {
      await load(`${base}/?p=down`, 10);
      await sleep(250);
    }
    await r.restart();
    const back = Date.now();
    let i = 0;
    while (tally(r, service).total === 0 && Date.now() - back < 30_000) {
      await load(`${base}/?p=after-${i++}`, 5);
      await sleep(100);
    }
    const waited = Date.now() - back;
    expect(tally(r, service).total).toBeGreaterThan(0);
    expect(waited, 'ms from the collector coming back to the first delivered span').toBeLessThan(5000);
  }, 60_000);
});

describe.each(PROTOCOLS)('collector that accepts and never answers (%s)', (protocol) => {
  it('each export times out per OTEL_EXPORTER_OTLP_TIMEOUT; exports never pile up; the app is unaffected', async () => {
    const counts: Record<number, number> = {};
    for (const timeoutMs of [1000, 3000]) {
      const r = await receiver({ mode: 'hang' });
      const { app, base } = await serve({
        EXPORTER_OTLP_ENDPOINT: endpointOf(r, protocol),
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_TIMEOUT: String(timeoutMs),
        OTEL_LOGS_EXPORTER: 'none',
        FD_SERVICE_NAME: `hang-${protocol}`,
      });
      // Steady traffic for the whole window, so there is always a batch waiting to be exported.
      let stop = false;
      const latencies: number[] = [];
      const traffic = (async () => {
        while (!stop) {
          const results = await load(`${base}/`, 20, 4);
          expect(results.every((x) => x.status === 200 && x.body === 'hello')).toBe(true);
          latencies.push(...results.map((x) => x.ms));
          await sleep(100);
        }
      })();
      await r.waitForRequests((q) => q.signal === 'traces', 10_000);
      const WINDOW_MS = 9000;
      const before = r.requests.filter((q) => q.signal === 'traces').length;
      await sleep(WINDOW_MS);
      counts[timeoutMs] = r.requests.filter((q) => q.signal === 'traces').length - before;
      stop = true;
      await traffic;
      expect(quantile(latencies, 0.99)).toBeLessThan(1000);
      // One export at a time, each abandoned after the timeout (then the next batch waits for the 500 ms batch
      // delay): about WINDOW / (timeout + delay) requests, never more than WINDOW / timeout.
      expect(counts[timeoutMs], `${counts[timeoutMs]} export requests in ${WINDOW_MS} ms`).toBeLessThanOrEqual(
        WINDOW_MS / timeoutMs + 2,
      );
      expect(spanLines(app.stderr, FAILED)).toEqual([expect.stringMatching(/deadline|timeout|timed out/i)]);
      app.kill('SIGKILL');
    }
    // The timeout is what paces them: a 1 s timeout gives about 6 exports in the window, a 3 s one about 2.
    expect(counts[1000]).toBeGreaterThanOrEqual(3);
    expect(counts[3000]).toBeLessThan(counts[1000]!);
  });
});

/** A collector that answers every request, `delayMs` late: an HTTP proxy in front of the receiver. */
async function slowProxy(target: OtlpReceiver, delayMs: number) {
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      setTimeout(() => {
        const out = http.request(
          `${target.httpUrl}${req.url}`,
          { method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      }, delayMs),
    );
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => proxy.close(() => resolve())) };
}

describe('slow collector, load spike', () => {
  it('spans beyond the queue are dropped, counted exactly and reported once; memory stays flat', async () => {
    const r = await receiver();
    const proxy = await slowProxy(r, 1500);
    try {
      const service = 'overload';
      const { app, base, heapMb } = await serve({
        EXPORTER_OTLP_ENDPOINT: proxy.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_BSP_MAX_QUEUE_SIZE: '200',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100',
        // Only the spans the test makes: no HTTP spans for its own requests, no logs.
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici',
        OTEL_LOGS_EXPORTER: 'none',
        FD_SERVICE_NAME: service,
      });
      const heaps: number[] = [];
      const BURSTS = 20;
      const PER_BURST = 1000;
      for (let i = 0; i < BURSTS; i++) {
        expect(await (await fetch(`${base}/burst?n=${PER_BURST}`)).text()).toBe(String(PER_BURST));
        if (i === 1 || i === BURSTS - 1) heaps.push(await heapMb());
        await sleep(100);
      }
      expect(heaps[1]! - heaps[0]!, `heap MB ${heaps.join(' -> ')}`).toBeLessThan(5);
      // The episode ends 2 s after the last drop; its count is then printed once.
      const summary = await poll(
        () => spanLines(app.stderr, /span\(s\) dropped \(queue full\)/),
        (lines) => lines.length > 0,
        15_000,
      );
      expect(summary).toHaveLength(1);
      expect(spanLines(app.stderr, /span queue full/)).toHaveLength(1);
      const dropped = Number(/(\d+) span\(s\) dropped/.exec(summary[0]!)![1]);
      // Exact accounting: every span made was either delivered or counted as dropped.
      const delivered = await poll(
        () => tally(r, service).total,
        (n) => n >= BURSTS * PER_BURST - dropped,
        30_000,
      );
      expect(delivered + dropped).toBe(BURSTS * PER_BURST);
      expect(dropped).toBeGreaterThan(0);
      expect(delivered).toBeGreaterThanOrEqual(200);
      expect(spanLines(app.stderr, FAILED)).toEqual([]); // slow is not failing
      expect(tally(r, service).duplicates).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
