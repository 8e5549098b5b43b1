// The exporter thread (the default, TRACES_EXPORT_THREAD) fails: it cannot start (a broken install) or it ends
// unasked (terminated from outside, as a crash in it would end it). The app is told once, on stderr, and its spans
// go out from its own thread from then on, as with TRACES_EXPORT_THREAD=false: none made afterwards is lost.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { REPO_ROOT, TEST_NODE } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

const env = (service: string) =>
  agentEnv(receiver, service, { TRACES_EXPORT_THREAD: 'true', OTEL_BSP_SCHEDULE_DELAY: '100' });
const named = (service: string, name: string) =>
  receiver.spans.filter(byService(service)).filter((s) => s.name === name);
const FELL_BACK = /exporting from the app's thread instead, as TRACES_EXPORT_THREAD=false does/;

describe('the exporter thread fails', () => {
  it('terminated while the app runs: one error line, the spans made afterwards leave from the app’s thread, each once', async () => {
    const service = 'thread-killed';
    const app = h.start('thread-killed.mjs', { env: env(service), args: ['600', '300'] });
    const { killed } = await app.waitForJson<{ killed: number }>((v) => 'killed' in v, 20_000);
    expect(killed).toBe(1); // the exporter thread, the process's only worker
    const { code } = await app.exited;
    expect(code, app.stderr.join('\n')).toBe(0);
    await receiver.waitForSpans({ where: (s) => byService(service)(s) && s.name === 'after', count: 300 });
    expect(named(service, 'after')).toHaveLength(300);
    expect(named(service, 'before')).toHaveLength(600); // delivered by the thread before it was terminated
    expect(app.stderr).toHaveLength(1);
    expect(app.stderr[0]).toMatch(/the exporter thread ended \(exit code 1\)/);
    expect(app.stderr[0]).toMatch(FELL_BACK);
  });

  it('terminated, then process.exit(): the spans still in the ring are sent synchronously at exit', async () => {
    const service = 'thread-killed-exit';
    const app = h.start('thread-killed.mjs', { env: env(service), args: ['600', '300', 'exit'] });
    const { code } = await app.exited;
    expect(code, app.stderr.join('\n')).toBe(0);
    await receiver.waitForSpans({ where: (s) => byService(service)(s) && s.name === 'after', count: 300 });
    expect(named(service, 'after')).toHaveLength(300);
    expect(app.stderr.filter((l) => !FELL_BACK.test(l))).toEqual([]);
  });

  it('terminated with an export in flight (a collector that never answers): those spans are counted lost, in one warning', async () => {
    const hung = await h.receiver();
    hung.setMode('hang');
    const app = h.start('thread-killed.mjs', {
      env: agentEnv(hung, 'thread-killed-in-flight', {
        TRACES_EXPORT_THREAD: 'true',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000', // longer than the fixture waits before terminating the thread
        TRACES_SHUTDOWN_TIMEOUT_MS: '300',
      }),
      args: ['600', '300'],
    });
    await app.exited;
    // The thread took the first full batch (512 of the 600) and waited on the collector; the rest stayed in the ring.
    expect(app.stderr.filter((l) => l.includes('were lost with it'))).toEqual([
      '[@x/trace-agent] warn: 512 span(s) the exporter thread had taken were lost with it',
    ]);
    expect(app.stderr.filter((l) => FELL_BACK.test(l))).toHaveLength(1);
  });

  it('the process’s exporter thread terminated while an app worker makes spans: the worker starts its own, none lost', async () => {
    const service = 'thread-killed-workers';
    const app = h.start('thread-killed-workers.mjs', { env: env(service) });
    const { killed } = await app.waitForJson<{ killed: number }>((v) => 'killed' in v, 20_000);
    expect(killed).toBe(1);
    const { worker } = await app.waitForJson<{ worker: number }>((v) => 'worker' in v, 20_000);
    expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
    await receiver.waitForSpans({ where: (s) => byService(service)(s) && s.name === 'after', count: 200 });
    const fromWorker = receiver.spans.filter(byService(service)).filter((s) => s.resource['thread.id'] === worker);
    expect(fromWorker.filter((s) => s.name === 'before')).toHaveLength(200);
    expect(fromWorker.filter((s) => s.name === 'after')).toHaveLength(200);
    expect(app.stderr).toHaveLength(1); // the main thread's line; the worker's own thread works
    expect(app.stderr[0]).toMatch(FELL_BACK);
  });

  describe("Node's permission model (--permission), which forbids worker threads unless --allow-worker", () => {
    // The fixture's Node, not the test's, decides whether network access needs a flag too (Node 25 and later).
    const allowNet = spawnSync(TEST_NODE, ['-p', "process.allowedNodeEnvironmentFlags.has('--allow-net')"])
      .stdout.toString()
      .includes('true');
    /** stderr less Node's own warning that --allow-net is experimental (Node 26). */
    const agentLines = (stderr: string[]) => stderr.filter((l) => !/ExperimentalWarning|--trace-warnings/.test(l));
    const permission = (...more: string[]) => [
      '--permission',
      '--allow-fs-read=*',
      ...(allowNet ? ['--allow-net'] : []),
      ...more,
      '--import',
      '@x/trace-agent',
    ];

    it('TRACES_EXPORT_THREAD unset: the batch processors, no error line, every span delivered', async () => {
      const service = 'thread-permission';
      const app = h.start('busy-loop.mjs', {
        env: agentEnv(receiver, service, { OTEL_BSP_SCHEDULE_DELAY: '100' }),
        args: ['300', '500'],
        nodeArgs: permission(),
      });
      const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
      expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
      await receiver.waitForSpans({ where: byService(service), count: made });
      expect(named(service, 'busy')).toHaveLength(made);
      expect(agentLines(app.stderr)).toEqual([]);
    });

    it('TRACES_EXPORT_THREAD=true: one warning naming the variable and --allow-worker, the same delivery', async () => {
      const service = 'thread-permission-asked';
      const app = h.start('busy-loop.mjs', { env: env(service), args: ['300', '500'], nodeArgs: permission() });
      const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
      expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
      await receiver.waitForSpans({ where: byService(service), count: made });
      expect(agentLines(app.stderr)).toHaveLength(1);
      expect(agentLines(app.stderr)[0]).toMatch(
        /TRACES_EXPORT_THREAD=true needs a worker thread.*--allow-worker.*using false/,
      );
    });

    it('process.exit(): the spans still queued cannot be sent (that needs a worker too): one warning says so, naming --allow-worker', async () => {
      const service = 'thread-permission-exit';
      const app = h.start('busy-loop.mjs', {
        env: agentEnv(receiver, service, { OTEL_BSP_SCHEDULE_DELAY: '5000', OTEL_LOGS_EXPORTER: 'none' }),
        args: ['100', '500', 'exit'],
        nodeArgs: permission(),
      });
      const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
      expect((await app.exited).code).toBe(0);
      expect(agentLines(app.stderr)).toEqual([
        `[@x/trace-agent] warn: ${made} span(s) not delivered at exit to ${receiver.grpcUrl}: the worker thread that ` +
          "sends them cannot start (Node's permission model: --allow-worker)",
      ]);
    });

    it('--allow-worker: the exporter thread runs', async () => {
      const service = 'thread-permission-allowed';
      const app = h.start('busy-loop.mjs', {
        env: agentEnv(receiver, service, { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_LOG_LEVEL: 'debug' }),
        args: ['1000', '500'],
        nodeArgs: permission('--allow-worker'),
      });
      const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
      expect((await app.exited).code, app.stderr.join('\n')).toBe(0);
      await receiver.waitForSpans({ where: byService(service), count: made });
      expect(app.stderr.join('\n')).toContain('exporter thread started');
    });
  });

  describe('a broken install: the thread’s file is missing', () => {
    let root: string;
    beforeAll(() => {
      // A copy of the built package without the exporter thread's program; its dependencies are the repo's.
      root = mkdtempSync(join(tmpdir(), 'trace-agent-broken-'));
      const pkg = join(root, 'node_modules', '@x', 'trace-agent');
      cpSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
      cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
      rmSync(join(pkg, 'dist', 'src', 'exporters', 'thread', 'exporter-thread.js'));
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('one error line naming the cause; every span leaves from the app’s thread, while it runs and at its end', async () => {
      const service = 'thread-missing';
      const agent = join(root, 'node_modules', '@x', 'trace-agent', 'dist', 'register.js');
      const app = h.start('busy-loop.mjs', { env: env(service), args: ['300', '500'], nodeArgs: ['--import', agent] });
      const { made } = await app.waitForJson<{ made: number }>((v) => 'made' in v, 20_000);
      const { code } = await app.exited;
      expect(code, app.stderr.join('\n')).toBe(0);
      await receiver.waitForSpans({ where: byService(service), count: made });
      expect(named(service, 'busy')).toHaveLength(made);
      expect(app.stderr).toHaveLength(1);
      expect(app.stderr[0]).toMatch(/cannot start the exporter thread \(.*Cannot find module/);
      expect(app.stderr[0]).toMatch(FELL_BACK);
    });
  });
});
