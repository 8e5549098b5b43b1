// TRACES_EXPORT_THREAD in an app with worker threads: one exporter thread per process. The main thread's agent hosts
// it; each worker's agent hands it its rings (an exporter thread of its own cost ~18 MiB), and starts one of its own
// only when the main thread's does not take them in time.
import { beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await h.receiver();
});

const env = (service: string) =>
  agentEnv(receiver, service, {
    TRACES_EXPORT_THREAD: 'true',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_LOG_LEVEL: 'debug',
  });

interface Printed {
  workers: number[];
  threads: string[];
}

async function run(service: string, args: string[]) {
  const result = await runApp('thread-workers.mjs', { env: env(service), args });
  expect(result.code, result.stderr.join('\n')).toBe(0);
  const printed: Printed = JSON.parse(result.stdout.find((l) => l.includes('"workers"')) ?? '{}');
  return { ...result, printed, stderr: result.stderr.join('\n') };
}

/** Each worker's spans, by its thread.id: the resource of every span its ring carried. */
async function spansByThread(service: string, count: number) {
  const spans = await receiver.waitForSpans({ where: byService(service), count });
  const byThread = new Map<unknown, string[]>();
  for (const s of spans)
    byThread.set(s.resource['thread.id'], [...(byThread.get(s.resource['thread.id']) ?? []), s.name]);
  return { spans, byThread };
}

describe('TRACES_EXPORT_THREAD=true with worker threads', () => {
  it('three workers, one exporter thread: every worker’s spans arrive once, under its own thread.id, also after an idle spell and from a worker terminate()d', async () => {
    const service = 'thread-workers';
    // 3 workers x 300 spans, twice for the two that end by themselves; a rest of 2 s is 20 batch delays, so the
    // exporter thread lets their idle rings go and takes them again, resource and scope written anew.
    const { printed, stderr } = await run(service, ['3', '300', '2000']);
    const { spans, byThread } = await spansByThread(service, 100 + 300 * 5);
    expect(spans).toHaveLength(100 + 300 * 5); // each once
    expect(byThread.get(undefined)).toEqual(Array(100).fill('main'));
    const [a, b, last] = printed.workers;
    for (const id of [a, b])
      expect(byThread.get(id)?.sort()).toEqual([
        ...Array(300).fill(`worker ${id}`),
        ...Array(300).fill(`worker ${id} again`),
      ]);
    expect(byThread.get(last)).toEqual(Array(300).fill(`worker ${last}`)); // delivered after the worker was gone
    expect(spans.every((s) => s.scope.name === 'thread-workers')).toBe(true);
    expect(stderr.match(/exporter thread started/g)).toHaveLength(1);
    // The two resting workers' traces rings were let go while idle, and each ring let go once its worker ended.
    for (const id of [a, b]) expect(stderr).toContain(`thread ${id}/traces: ring let go (idle)`);
    for (const id of [a, b]) expect(stderr).toContain(`thread ${id}/traces: ring let go (its thread ended)`);
    expect(stderr).not.toContain('starting its own');
    expect(stderr).not.toContain('not delivered');
    // Node 24 and later name OS threads after the worker's name: then the count can be read off the process too.
    if (printed.threads.includes('MainThread'))
      expect(printed.threads.filter((t) => t.startsWith('@x/trace-agent'))).toHaveLength(1);
  });

  it('the main thread blocked when the workers start: a worker whose rings are not taken within 1 s exports from a thread of its own, also after an idle spell', async () => {
    const service = 'thread-workers-blocked';
    const { printed, stderr } = await run(service, ['2', '300', '3000', 'block']);
    const [a, last] = printed.workers;
    const { spans, byThread } = await spansByThread(service, 100 + 300 * 3);
    expect(spans).toHaveLength(100 + 300 * 3);
    expect(byThread.get(a)?.sort()).toEqual([
      ...Array(300).fill(`worker ${a}`),
      ...Array(300).fill(`worker ${a} again`),
    ]);
    expect(byThread.get(last)).toEqual(Array(300).fill(`worker ${last}`));
    expect(stderr.match(/starting its own/g)).toHaveLength(2);
    expect(stderr).not.toContain('not delivered'); // its flush at the end is answered by its own thread
    expect(stderr).toContain(`thread ${a}/traces: ring let go (idle)`); // and read again by the worker's own thread
  });
});
