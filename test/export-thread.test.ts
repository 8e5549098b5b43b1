// TRACES_EXPORT_THREAD: spans and log records are encoded when they end and exported from a thread of the agent's
// own, so an app whose main thread never yields still gets them out while it is busy, and all of them at its end.
import { beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

const env = (service: string, extra: Record<string, string> = {}) =>
  agentEnv(receiver, service, { TRACES_EXPORT_THREAD: 'true', OTEL_BSP_SCHEDULE_DELAY: '100', ...extra });
const spansOf = (service: string) => receiver.spans.filter(byService(service)).length;
/** Each span of the loop, by its `busy.n`: every one from 0 to made - 1, once and whole (batch after batch). */
const loopNumbers = (service: string) =>
  receiver.spans
    .filter(byService(service))
    .map((s) => Number(s.attributes['busy.n']))
    .sort((a, b) => a - b);
const upTo = (made: number) => [...Array(made).keys()];

/** Runs the busy loop; returns how many spans of it had arrived when the app printed the loop's end. */
async function busyLoop(service: string, environment: Record<string, string>, args: string[]) {
  const app = h.start('busy-loop.mjs', { env: environment, args });
  let atEnd = -1;
  let logsAtEnd = -1;
  const ended = app.waitForJson<{ loop: string; made: number }>((v) => {
    if (v.loop === 'end' && atEnd < 0) {
      atEnd = spansOf(service);
      logsAtEnd = receiver.logs.filter(byService(service)).length;
    }
    return v.loop === 'end';
  }, 20_000);
  await app.waitForJson((v) => v.loop === 'start');
  const { made } = await ended;
  const { code } = await app.exited;
  return { app, made, atEnd, logsAtEnd, code };
}

describe('TRACES_EXPORT_THREAD=true', () => {
  it('a main thread busy for 2 s in a loop: its spans and logs reach the collector during the loop, all by its end', async () => {
    const service = 'thread-busy';
    const run = await busyLoop(service, env(service), ['2000', '500']);
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    expect(run.atEnd).toBeGreaterThan(run.made / 4); // a 2 s loop: the first batches left within its first second
    // The console line printed before the loop, as a log record (the one printed after it may be there as well).
    expect(run.logsAtEnd).toBeGreaterThanOrEqual(1);
    const [start] = await receiver.waitForLogs({ where: byService(service), count: 2 });
    expect(start?.body).toBe(JSON.stringify({ loop: 'start' }));
    await receiver.waitForSpans({ where: byService(service), count: run.made });
    expect(spansOf(service)).toBe(run.made); // each once
    // Many batches through the thread's reused buffers (ring-batches.ts): none overwritten by the next one's.
    expect(run.made).toBeGreaterThan(4 * 512);
    expect(loopNumbers(service)).toEqual(upTo(run.made));
    expect(run.app.stderr).toEqual([]);
  });

  it('with the default 5 s batch delay: full batches leave during a 2 s busy loop (a nap or a wake-up each), none dropped', async () => {
    const service = 'thread-paced';
    const run = await busyLoop(service, env(service, { OTEL_BSP_SCHEDULE_DELAY: '5000' }), ['2000', '200']);
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    expect(run.atEnd).toBeGreaterThan(run.made / 4); // not at the batch delay: ~5,000 spans a second, 512 a batch
    await receiver.waitForSpans({ where: byService(service), count: run.made });
    expect(spansOf(service)).toBe(run.made);
    expect(run.app.stderr).toEqual([]); // no queue-full warning
  });

  it('an app gone quiet: the exporter thread rests (under 40 ms of CPU in an idle second; a 1 ms poll took ~95)', async () => {
    const service = 'thread-rests';
    const run = await runApp('thread-rests.mjs', {
      env: env(service, { OTEL_BSP_SCHEDULE_DELAY: '5000' }),
      args: ['2000'],
    });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const { idleCpuMs } = JSON.parse(run.stdout.find((l) => l.includes('idleCpuMs')) ?? '{}');
    expect(idleCpuMs).toBeLessThan(40);
    await receiver.waitForSpans({ where: byService(service), count: 2000 });
  });

  // The default (issue 22): no variable set, the same busy loop's spans leave while it runs. Skipped when the suite
  // runs under another default (TRACE_AGENT_TEST_ENV, test/helpers/run-app.ts).
  it.skipIf(process.env.TRACE_AGENT_TEST_ENV?.includes('TRACES_EXPORT_THREAD'))(
    'TRACES_EXPORT_THREAD unset: the thread is the default, a busy loop’s spans arrive during the loop',
    async () => {
      const service = 'thread-default-busy';
      const run = await busyLoop(service, agentEnv(receiver, service, { OTEL_BSP_SCHEDULE_DELAY: '100' }), [
        '2000',
        '500',
      ]);
      expect(run.code, run.app.stderr.join('\n')).toBe(0);
      expect(run.atEnd).toBeGreaterThan(run.made / 4);
      await receiver.waitForSpans({ where: byService(service), count: run.made });
      expect(spansOf(service)).toBe(run.made);
    },
  );

  it('control, without it: nothing reaches the collector until the loop ends (the batch processor’s timer waits)', async () => {
    const service = 'thread-off-busy';
    const off = { OTEL_BSP_SCHEDULE_DELAY: '100', TRACES_EXPORT_THREAD: 'false' };
    const run = await busyLoop(service, agentEnv(receiver, service, off), ['2000', '500']);
    expect(run.code).toBe(0);
    expect(run.atEnd).toBe(0);
    expect(run.logsAtEnd).toBe(0);
  });

  it('a short-lived app ending naturally: its spans and logs leave from its own thread, no exporter thread starts', async () => {
    const service = 'thread-short';
    const run = await busyLoop(service, env(service, { OTEL_LOG_LEVEL: 'debug' }), ['50', '500']);
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    await receiver.waitForSpans({ where: byService(service), count: run.made });
    expect(spansOf(service)).toBe(run.made); // each once
    await receiver.waitForLogs({ where: byService(service), count: 2 });
    const stderr = run.app.stderr.join('\n');
    expect(stderr).not.toContain('exporter thread started');
    expect(stderr).toMatch(/OTLP grpc export of \d+ span\(s\)/); // sent all the same
  });

  it('a flush before the thread starts, then spans after it started: each arrives once, with its scope and resource', async () => {
    const service = 'thread-early-flush';
    const run = await runApp('early-flush.mjs', { env: env(service, { OTEL_LOG_LEVEL: 'debug' }) });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stderr.join('\n')).toContain('exporter thread started');
    const spans = await receiver.waitForSpans({ where: byService(service), count: 25 });
    expect(spans).toHaveLength(25);
    const byScope = (scope: string) => spans.filter((s) => s.scope.name === scope).map((s) => s.name);
    expect(byScope('early-flush').sort()).toEqual([...Array(10).fill('after'), ...Array(10).fill('before')]);
    expect(byScope('early-flush-second')).toEqual(Array(5).fill('second scope'));
  });

  it('process.exit() right after the loop: the spans still in the hand-off buffer are delivered before the end', async () => {
    const service = 'thread-exit';
    const run = await busyLoop(service, env(service, { OTEL_BSP_SCHEDULE_DELAY: '60000' }), ['300', '200', 'exit']);
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    expect(spansOf(service)).toBe(run.made); // delivered before the process ended
  });

  it('over http/protobuf too: every span of the loop arrives, once', async () => {
    const service = 'thread-http';
    const run = await busyLoop(
      service,
      env(service, { EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }),
      ['500', '200'],
    );
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    expect(spansOf(service)).toBe(run.made);
    expect(loopNumbers(service)).toEqual(upTo(run.made));
    expect(receiver.requests.some((r) => r.protocol === 'http/protobuf' && r.spanCount > 0)).toBe(true);
  });

  it('over http/json too: spans and logs leave from the thread, in OTLP/JSON the receiver decodes, each once', async () => {
    const service = 'thread-json';
    const json = { EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    const run = await busyLoop(service, env(service, { ...json, OTEL_LOG_LEVEL: 'debug' }), ['1000', '500']);
    expect(run.code, run.app.stderr.join('\n')).toBe(0);
    expect(run.app.stderr.join('\n')).toContain('exporter thread started');
    expect(run.atEnd).toBeGreaterThan(run.made / 4); // sent during the loop: from the thread, not the app's
    await receiver.waitForSpans({ where: byService(service), count: run.made });
    expect(spansOf(service)).toBe(run.made);
    const [start] = await receiver.waitForLogs({ where: byService(service), count: 2 });
    expect(start?.body).toBe(JSON.stringify({ loop: 'start' }));
    const requests = receiver.requests.filter((r) => r.protocol === 'http/json');
    expect(requests.some((r) => r.spanCount > 0) && requests.some((r) => r.logCount > 0)).toBe(true);
    expect(requests.filter((r) => r.outcome === 'decode-error')).toEqual([]);
    expect(receiver.errors.filter((e) => e.protocol === 'http/json')).toEqual([]);
  });

  it('OTEL_BSP_MAX_QUEUE_SIZE unset: a burst of 6,000 spans made before the thread runs waits in the 2 MiB buffer, none dropped', async () => {
    const service = 'thread-burst';
    const run = await runApp('thread-rests.mjs', { env: env(service, { OTEL_LOGS_EXPORTER: 'none' }), args: ['6000'] });
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stderr).toEqual([]);
    await receiver.waitForSpans({ where: byService(service), count: 6000 });
    expect(spansOf(service)).toBe(6000);
  });

  it('control, OTEL_BSP_MAX_QUEUE_SIZE=2048 set: the same burst is cut at 2,048 waiting, the rest dropped and counted', async () => {
    const service = 'thread-burst-bounded';
    const bounded = env(service, { OTEL_LOGS_EXPORTER: 'none', OTEL_BSP_MAX_QUEUE_SIZE: '2048' });
    const run = await runApp('thread-rests.mjs', { env: bounded, args: ['6000'] });
    expect(run.code).toBe(0);
    const dropped = Number(run.stderr.map((l) => /(\d+) span\(s\) dropped/.exec(l)?.[1]).find(Boolean));
    expect(dropped).toBeGreaterThan(1000); // the thread took a batch or two while the loop ran
    await receiver.waitForSpans({ where: byService(service), count: 6000 - dropped });
    expect(spansOf(service)).toBe(6000 - dropped);
  });

  it('a collector that never answers: the buffer fills, new spans are dropped and counted (one warning, one count)', async () => {
    const hung = await h.receiver();
    hung.setMode('hang');
    const app = h.start('busy-loop.mjs', {
      env: agentEnv(hung, 'thread-full', {
        TRACES_EXPORT_THREAD: 'true',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BSP_MAX_QUEUE_SIZE: '256',
        TRACES_SHUTDOWN_TIMEOUT_MS: '500',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000', // the console lines' log export waits this long for the hung collector
      }),
      args: ['1500', '0'],
    });
    const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
    await app.exited;
    const full = app.stderr.filter((l) => l.includes('span queue full'));
    const counts = app.stderr.map((l) => /(\d+) span\(s\) dropped/.exec(l)?.[1]).filter((n) => n !== undefined);
    expect(full).toHaveLength(1);
    expect(counts).toHaveLength(1);
    expect(Number(counts[0])).toBeGreaterThan(made / 2); // 256 KiB holds ~1,000 spans of the loop's; it made more
    expect(Number(counts[0])).toBeLessThan(made);
  });
});
