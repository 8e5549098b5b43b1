// NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE: the agent's bundles (pipeline, OTLP exporter, contrib
// instrumentations) run from a V8 code cache it writes beside Node's compile cache (src/code-cache.ts). Proven on a
// real Express app exporting to the test receiver: the cache is written, used on the next start, a damaged one is
// rejected and rewritten, an unsafe directory is never read, and spans are the same every time.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, byService, harness } from './helpers/harness.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';
import { runApp } from './helpers/run-app.js';

const h = harness();
let receiver: OtlpReceiver;
const dirs: string[] = [];
beforeAll(async () => {
  receiver = await h.receiver();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function cacheRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'code-cache-'));
  dirs.push(dir);
  return dir;
}

/** The agent's cache directory under Node's (which adds a directory per Node version). */
function agentDir(root: string): string | undefined {
  const [nodeDir] = readdirSync(root);
  return nodeDir && readdirSync(join(root, nodeDir)).includes('x-trace-agent')
    ? join(root, nodeDir, 'x-trace-agent')
    : undefined;
}

let runs = 0;
/** Runs the Express app once (one request to its route), checks its route span arrived, returns its debug lines. */
async function runExpress(root: string, extra: Record<string, string> = {}): Promise<string[]> {
  const service = `code-cache-${++runs}`;
  const env = agentEnv(receiver, service, { NODE_COMPILE_CACHE: root, OTEL_LOG_LEVEL: 'debug', ...extra });
  const run = await runApp('express-app.cjs', { env });
  expect(run.code, run.stderr.join('\n')).toBe(0);
  const [server] = await receiver.waitForSpans((s) => byService(service)(s) && s.kind === 2);
  expect(server!.name).toBe('GET /users/:id'); // the express instrumentation's bundle ran, from the cache or not
  return run.stderr;
}

const pipelineLine = (stderr: string[]) => stderr.find((l) => l.includes('sdk.js loaded, code cache:')) ?? '';

describe('NODE_COMPILE_CACHE: the code cache of the agent', () => {
  it('is written by the first start and used by the next (pipeline, OTLP exporter, express instrumentation)', async () => {
    const root = cacheRoot();
    const first = await runExpress(root);
    expect(pipelineLine(first)).toContain('code cache: made');
    const names = readdirSync(agentDir(root)!);
    for (const bundle of ['sdk.js-', 'otlp.js-', 'express.js-'])
      expect(names.some((n) => n.startsWith(bundle))).toBe(true);
    const second = await runExpress(root);
    expect(pipelineLine(second)).toContain('code cache: used');
    expect(second.some((l) => l.includes('code cache written'))).toBe(false); // nothing left to write
  });

  it('a damaged cache is rejected by V8, the app runs as usual, and the cache is written anew', async () => {
    const root = cacheRoot();
    await runExpress(root);
    const dir = agentDir(root)!;
    const garbage = Buffer.alloc(4096, 0x5a);
    for (const name of readdirSync(dir)) writeFileSync(join(dir, name), garbage);
    const again = await runExpress(root);
    expect(pipelineLine(again)).toContain('code cache: made');
    const sdkCache = readdirSync(dir).find((n) => n.startsWith('sdk.js-'))!;
    expect(readFileSync(join(dir, sdkCache)).equals(garbage)).toBe(false);
  });

  it('the cache of an earlier build of the same file is removed when the new one is written', async () => {
    const root = cacheRoot();
    await runExpress(root);
    const dir = agentDir(root)!;
    const current = readdirSync(dir).find((n) => n.startsWith('sdk.js-'))!;
    const family = current.split('-').slice(0, 2).join('-'); // sdk.js-<hash of its path>
    const stale = `${family}-1-1-v0.0.0-x64.cache`;
    writeFileSync(join(dir, stale), 'an upgrade ago');
    rmSync(join(dir, current)); // so that this start writes one
    await runExpress(root);
    expect(readdirSync(dir)).not.toContain(stale);
    expect(readdirSync(dir)).toContain(current);
  });

  it('a directory others can write to is never read nor written', async () => {
    const root = cacheRoot();
    await runExpress(root);
    const dir = agentDir(root)!;
    const before = Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n))]));
    chmodSync(dir, 0o777);
    const stderr = await runExpress(root);
    expect(pipelineLine(stderr)).toContain('code cache: off');
    for (const [name, data] of Object.entries(before)) expect(readFileSync(join(dir, name)).equals(data)).toBe(true);
  });

  it('NODE_DISABLE_COMPILE_CACHE=1: plain require(), nothing written', async () => {
    const root = cacheRoot();
    const stderr = await runExpress(root, { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(pipelineLine(stderr)).toContain('code cache: off');
    expect(readdirSync(root)).toEqual([]);
  });
});
