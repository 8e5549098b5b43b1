// `npm run demo` end to end: three processes, HTTP → ZeroMQ → ZeroMQ → ZeroMQ → response, file export, then the
// CLI's tree and Perfetto output. Asserts on the recorded spans and their parentage, and on the printed tree.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, REPO_ROOT, TEST_NODE } from './helpers/run-app.js';

interface FileSpan {
  name: string;
  kind: number;
  spanId: string;
  parentSpanId?: string;
  traceId: string;
  service: string;
}

describe('npm run demo', () => {
  it('prints one trace tree spanning the three stages and writes a Perfetto file', () => {
    const out = mkdtempSync(join(tmpdir(), 'trace-agent-demo-'));
    const run = spawnSync(TEST_NODE, ['examples/zmq-pipeline/run-demo.mjs'], {
      cwd: REPO_ROOT,
      env: cleanEnv({ DEMO_OUT: out }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('"rid":"demo-request-1"');
    expect(run.stdout).toMatch(
      /^trace [0-9a-f]{32} · \d+ span\(s\) · pipeline-detokenizer, pipeline-frontend, pipeline-scheduler/m,
    );

    const spans: FileSpan[] = readFileSync(join(out, 'traces.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .flatMap((line) =>
        (JSON.parse(line).resourceSpans as any[]).flatMap((rs) => {
          const service = rs.resource.attributes.find((a: any) => a.key === 'service.name').value.stringValue;
          return rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => ({ ...s, service })));
        }),
      );
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: FileSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const find = (service: string, name: string) => {
      const span = spans.find((s) => s.service === `pipeline-${service}` && s.name === name);
      expect(span, `${service}: ${name}`).toBeDefined();
      return span!;
    };
    const server = spans.find((s) => s.kind === 2 && s.service === 'pipeline-frontend')!;
    expect(server.parentSpanId ?? '').toBe('');
    const room = find('frontend', 'Bootstrap Room 0x0'); // always there, as in the seeds (room 0 when none is given)
    expect(parentOf(room)).toBe(server);
    const root = find('frontend', 'frontend Req demo-req');
    expect(parentOf(root)).toBe(room);
    // The front end's slice sends to the scheduler, whose slices run under the consumer span of that message.
    const preprocessing = find('frontend', 'PREPROCESSING');
    const toScheduler = spans.find((s) => s.kind === 4 && parentOf(s) === preprocessing)!;
    const atScheduler = spans.find((s) => s.kind === 5 && parentOf(s) === toScheduler)!;
    expect(atScheduler.service).toBe('pipeline-scheduler');
    for (const name of ['SCHEDULE', 'PREFILL', 'DECODE']) {
      const slice = find('scheduler', name);
      expect(parentOf(parentOf(slice)!)).toBe(atScheduler); // slice → scheduler thread span → consumer
    }
    const postprocessing = find('detokenizer', 'POSTPROCESSING');
    expect(parentOf(parentOf(postprocessing)!)!.kind).toBe(5);
    expect(find('frontend', 'respond')).toBeDefined();

    const perfetto = JSON.parse(readFileSync(join(out, 'trace.perfetto.json'), 'utf8'));
    const events = Array.isArray(perfetto) ? perfetto : perfetto.traceEvents;
    const processNames = events
      .filter((e: any) => e.ph === 'M' && e.name === 'process_name')
      .map((e: any) => e.args.name);
    expect(new Set(processNames)).toEqual(new Set(['pipeline-frontend', 'pipeline-scheduler', 'pipeline-detokenizer']));
  });
});
