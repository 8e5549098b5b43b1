// SIGTERM / SIGINT with spans in flight: every finished span is delivered exactly once, the process ends with the
// same status as the same app without the agent, and a collector that is down or hanging bounds the delay.
import { beforeAll, describe, expect, it } from 'vitest';
import { agentLines, load, SERVER, tally } from './helpers/fault-utils.js';
import { harness, agentEnv as tracedInto } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

/** `env` null: the same app without the agent. */
const serve = (script: string, env: Record<string, string> | null) => h.serve(script, env ? { env } : { nodeArgs: [] });

const agentEnv = (service: string, extra: Record<string, string> = {}) =>
  tracedInto(receiver, service, { OTEL_LOGS_EXPORTER: 'none', ...extra });

describe.each(['SIGTERM', 'SIGINT'] as const)('%s with spans queued and in flight', (signal) => {
  it('delivers every finished span exactly once and dies of the signal, as without the agent', async () => {
    const N = 1500;
    const service = `signal-count-${signal}`;
    // Default 500 ms batch delay and 512-span batches: at the signal some batches are being exported, the rest queued.
    const { app, port } = await serve('fault-server.mjs', agentEnv(service));
    const results = await load(`http://127.0.0.1:${port}/`, N, 16);
    expect(results.every((r) => r.status === 200 && r.body === 'hello')).toBe(true);
    app.kill(signal);
    const exit = await app.exited;
    // Without the agent the same app dies of the same signal.
    const control = await serve('fault-server.mjs', null);
    control.app.kill(signal);
    expect(exit).toEqual(await control.app.exited);
    expect(exit).toEqual({ code: null, signal });
    // Everything arrived before the process died.
    const got = tally(receiver, service);
    expect({ server: got.server, duplicates: got.duplicates }).toEqual({ server: N, duplicates: 0 });
    expect(agentLines(app.stderr)).toEqual([]);
  });
});

describe('bounded shutdown', () => {
  it('SIGTERM with a collector that accepts and never answers: dies within TRACES_SHUTDOWN_TIMEOUT_MS', async () => {
    const hanging = await h.receiver({ mode: 'hang' });
    try {
      const { app, port } = await serve('fault-server.mjs', {
        ...agentEnv('signal-hang', { EXPORTER_OTLP_ENDPOINT: hanging.grpcUrl }),
        TRACES_SHUTDOWN_TIMEOUT_MS: '1000',
      });
      await load(`http://127.0.0.1:${port}/`, 50);
      const started = Date.now();
      app.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(Date.now() - started).toBeLessThan(4000); // 1 s bound, generous slack for a loaded machine
    } finally {
      await hanging.close();
    }
  });

  it('natural end with process.exitCode and a hanging collector: the code survives, one bounded wait', async () => {
    const hanging = await h.receiver({ mode: 'hang' });
    try {
      const app = h.start('fault-exit.mjs', {
        env: {
          ...agentEnv('exitcode-hang', { EXPORTER_OTLP_ENDPOINT: hanging.grpcUrl }),
          TRACES_SHUTDOWN_TIMEOUT_MS: '1000',
        },
        args: ['exitcode', '3'],
      });
      const started = Date.now();
      expect(await app.exited).toEqual({ code: 4, signal: null });
      // beforeExit gives up after 1 s and the 'exit' flush does not wait a second time.
      expect(Date.now() - started).toBeLessThan(6000);
      expect(agentLines(app.stderr).filter((l) => l.includes('not delivered'))).toHaveLength(1);
    } finally {
      await hanging.close();
    }
  });
});

describe('an app that drains on SIGTERM and then calls process.exit()', () => {
  it('spans of the requests that finish during the drain (after the signal) are delivered too', async () => {
    const service = 'signal-drain';
    // A minute-long batch delay: only the flush at process.exit() can deliver spans that end after the signal.
    const { app, port } = await serve(
      'fault-drain.mjs',
      agentEnv(service, { FD_OTLP_EXPORTER_SCHEDULE_DELAY_MILLIS: '60000' }),
    );
    const inProgress = Array.from({ length: 20 }, () =>
      fetch(`http://127.0.0.1:${port}/?delay=1500`).then((r) => r.text()),
    );
    await app.waitForJson((v) => v.received === 20); // all 20 are being handled
    app.kill('SIGTERM');
    await app.waitForJson((v) => v.draining === true);
    expect(await Promise.all(inProgress)).toEqual(Array(20).fill('drained'));
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const got = tally(receiver, service);
    expect({ server: got.server, duplicates: got.duplicates }).toEqual({ server: 20, duplicates: 0 });
    expect(got.spans.every((s) => s.kind === SERVER && s.attributes['http.response.status_code'] === 200)).toBe(true);
  });
});
