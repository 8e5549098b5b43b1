// Incoming trace headers per W3C Trace Context Level 2, end to end: a real traced service receives each request
// with the headers below and calls a downstream echo server (with fetch and with http.get); the test checks the
// traceparent/tracestate the downstream got. Cases follow the spec's own test suite (w3c/trace-context test/test.py,
// strict level 2) plus the random-trace-id flag.
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTraceState } from '../src/spans/tracecontext.js';
import { type App, startApp } from './helpers/run-app.js';

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const tp = (flags = '01', version = '00', trace = TRACE, parent = PARENT) => `${version}-${trace}-${parent}-${flags}`;

let app: App;
let base: string;
let echo: http.Server;
let echoUrl: string;
const seen = new Map<string, http.IncomingHttpHeaders>();

beforeAll(async () => {
  echo = http.createServer((req, res) => {
    seen.set(req.url!, req.headers);
    res.end('echo');
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as { port: number }).port}`;
  app = startApp('fault-server.mjs', {
    env: { TRACES_ENABLE: 'true', TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  });
  const { port } = await app.waitForJson<{ port: number }>((v) => typeof v.port === 'number');
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  app?.kill('SIGKILL');
  await new Promise((r) => echo.close(r));
});

let counter = 0;
/** Sends `headers` (an array value = that many header fields) to the traced service; returns what it forwarded. */
async function forwarded(headers: Record<string, string | string[]>, via: 'fetch' | 'http') {
  const id = `/echo/${++counter}`;
  const url = `${base}/hop?via=${via}&to=${encodeURIComponent(echoUrl + id)}`;
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
  expect(body).toBe('echo');
  const h = seen.get(id)!;
  const traceparent = h.traceparent as string;
  expect(traceparent, 'every forwarded request carries a valid traceparent').toMatch(
    /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/,
  );
  const [, traceId, parentId, flags] = traceparent.split('-');
  return {
    traceId: traceId!,
    parentId: parentId!,
    flags: parseInt(flags!, 16),
    tracestate: h.tracestate as string | undefined,
  };
}

const members = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => `bar${String(i + from).padStart(2, '0')}=${String(i + from).padStart(2, '0')}`);
const ALL_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
const ALL_VALUE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i))
  .filter((c) => c !== ',' && c !== '=')
  .join('');

describe.each(['http', 'fetch'] as const)('traceparent (forwarded with %s)', (via) => {
  it.each([
    ['a valid traceparent is continued with a new parent-id', { traceparent: tp() }, true],
    ['version ff is invalid', { traceparent: tp('01', 'ff') }, false],
    ['version 00 with a trailing field is invalid', { traceparent: `${tp()}-what-the-future-will-be-like` }, false],
    ['version 00 with a trailing character is invalid', { traceparent: `${tp()}.` }, false],
    [
      'a future version with extra fields is parsed (first four)',
      { traceparent: `${tp('01', 'cc')}-what-the-future-will-be-like` },
      true,
    ],
    ['a future version without extra fields is parsed', { traceparent: tp('01', 'cc') }, true],
    [
      'a future version followed by other than "-" is invalid',
      { traceparent: `${tp('01', 'cc')}.what-the-future` },
      false,
    ],
    ['illegal characters in the version', { traceparent: tp('01', '.0') }, false],
    ['uppercase hex in the trace-id', { traceparent: tp('01', '00', TRACE.replace('1', 'A')) }, false],
    ['an all-zero trace-id', { traceparent: tp('01', '00', '0'.repeat(32)) }, false],
    ['an all-zero parent-id', { traceparent: tp('01', '00', TRACE, '0'.repeat(16)) }, false],
    ['a trace-id one character too long', { traceparent: tp('01', '00', `${TRACE}3`) }, false],
    ['a parent-id one character too short', { traceparent: tp('01', '00', TRACE, PARENT.slice(1)) }, false],
    ['trace-flags with an illegal character', { traceparent: tp('.1') }, false],
    ['trace-flags too long', { traceparent: tp('011') }, false],
    ['two traceparent header fields', { traceparent: [tp(), tp('01', '00', TRACE.replace('2', '3'))] }, false],
    ['leading and trailing whitespace (OWS) is accepted', { traceparent: `\t ${tp()} \t` }, true],
    ['a header named trace-parent is not traceparent', { 'trace-parent': tp() }, false],
  ])('%s', async (_name, headers, continued) => {
    const out = await forwarded(headers as Record<string, string | string[]>, via);
    if (continued) {
      expect(out.traceId).toBe(TRACE);
      expect(out.parentId).not.toBe(PARENT);
    } else {
      expect(out.traceId).not.toBe(TRACE);
      expect(out.traceId).not.toBe('0'.repeat(32));
    }
  });

  it.each([
    ['01', 0x01],
    ['02', 0x02], // random, not sampled: the parent-based sampler does not sample, the random bit stays
    ['03', 0x03],
    ['00', 0x00],
    ['ff', 0x03], // unknown flags are not forwarded (they MUST be zero), sampled and random are
    ['fd', 0x01],
  ])(
    'trace-flags %s are forwarded as %i: sampled follows the sampler, the random flag is kept as received',
    async (flags, expected) => {
      const out = await forwarded({ traceparent: tp(flags) }, via);
      expect(out.traceId).toBe(TRACE);
      expect(out.flags).toBe(expected);
    },
  );

  it('the random flag is kept through a future version too', async () => {
    expect((await forwarded({ traceparent: `${tp('03', 'cc')}-future` }, via)).flags).toBe(0x03);
  });
});

describe.each(['http', 'fetch'] as const)('tracestate (forwarded with %s)', (via) => {
  it.each([
    ['kept as received', ['foo=1,bar=2'], 'foo=1,bar=2'],
    [
      'several header fields are combined in order',
      ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'],
      'foo=1,bar=2,rojo=1,congo=2,baz=3',
    ],
    ['OWS around members is dropped', ['foo=1 \t , \t bar=2, \t baz=3'], 'foo=1,bar=2,baz=3'],
    ['empty members are allowed', ['foo=1,,  ,bar=2'], 'foo=1,bar=2'],
    ["duplicate keys are passed on (uniqueness is the sender's duty)", ['foo=1', 'foo=2'], 'foo=1,foo=2'],
    [
      '32 members over 4 header fields are kept',
      [members(10).join(), members(10, 11).join(), members(10, 21).join(), members(2, 31).join()],
      members(32).join(),
    ],
    [
      '33 members: the whole header is discarded',
      [members(10).join(), members(10, 11).join(), members(10, 21).join(), members(3, 31).join()],
      undefined,
    ],
    ['a key of 256 characters is kept', ['foo=1', `${'z'.repeat(256)}=1`], `foo=1,${'z'.repeat(256)}=1`],
    ['a key of 257 characters: whole header discarded', ['foo=1', `${'z'.repeat(257)}=1`], undefined],
    ['a value of 256 characters is kept', [`foo=${'v'.repeat(256)}`], `foo=${'v'.repeat(256)}`],
    ['a value of 257 characters: whole header discarded', ['bar=1', `foo=${'v'.repeat(257)}`], undefined],
    [
      'a long header within the limits is not truncated',
      [
        members(20)
          .map((m) => `${m}${'x'.repeat(150)}`)
          .join(),
      ],
      members(20)
        .map((m) => `${m}${'x'.repeat(150)}`)
        .join(),
    ],
    [
      'keys may start with a digit and contain "@" anywhere after the first character',
      ['foo@=1,1bar=2,foo@@bar=3,foo@bar@baz=4'],
      'foo@=1,1bar=2,foo@@bar=3,foo@bar@baz=4',
    ],
    ['a key starting with "@": whole header discarded', ['@foo=1,bar=2'], undefined],
    ['an uppercase key: whole header discarded', ['FOO=1,bar=2'], undefined],
    ['a key with a space: whole header discarded', ['foo =1,bar=2'], undefined],
    ['a key with a dot: whole header discarded', ['foo.bar=1,bar=2'], undefined],
    ['an empty value: whole header discarded', ['foo=,bar=3'], undefined],
    ['"=" in a value: whole header discarded', ['foo=bar=baz'], undefined],
    ['a member without "=": whole header discarded', ['foo,bar=2'], undefined],
    [
      'every allowed character',
      [`${ALL_KEY}=${ALL_VALUE}`, `${ALL_KEY}@a-z0-9_-*/=${ALL_VALUE}`],
      `${ALL_KEY}=${ALL_VALUE},${ALL_KEY}@a-z0-9_-*/=${ALL_VALUE}`,
    ],
    ['an empty header sends none', [''], undefined],
  ])('%s', async (_name, tracestate, expected) => {
    const out = await forwarded({ traceparent: tp(), tracestate: tracestate as string[] }, via);
    expect(out.traceId).toBe(TRACE); // failure to parse tracestate never affects traceparent
    expect(out.tracestate).toBe(expected);
  });

  it('tracestate without traceparent is discarded', async () => {
    const out = await forwarded({ tracestate: 'foo=1' }, via);
    expect(out.traceId).not.toBe(TRACE);
    expect(out.tracestate).toBeUndefined();
  });

  it('an invalid traceparent restarts the trace without its tracestate', async () => {
    const out = await forwarded({ traceparent: tp('01', 'ff'), tracestate: 'foo=1' }, via);
    expect(out.traceId).not.toBe(TRACE);
    expect(out.tracestate).toBeUndefined();
  });
});

describe('parseTraceState (in process)', () => {
  it('returns undefined for absent, empty or invalid input and never throws on garbage', () => {
    for (const bad of [undefined, '', ' , ', '=1', 'a=1,=2', 'a=1,b', 'a=\x01', 'a=é', `a=${'x'.repeat(300)}`]) {
      expect(parseTraceState(bad)).toBeUndefined();
    }
    // Seeded garbage: printable and control characters, commas and equals signs.
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: Math.floor(rnd() * 80) }, () => String.fromCharCode(Math.floor(rnd() * 130))).join(
        '',
      );
      const parsed = parseTraceState(s);
      if (parsed) expect(parseTraceState(parsed.serialize())?.serialize()).toBe(parsed.serialize());
    }
  });
  it('set moves a key to the front; unset removes it; get reads the first', () => {
    const ts = parseTraceState('a=1,b=2,a=3')!;
    expect(ts.get('a')).toBe('1');
    expect(ts.set('b', '9').serialize()).toBe('b=9,a=1,a=3');
    expect(ts.unset('a').serialize()).toBe('b=2');
    expect(ts.set('Bad', '1')).toBe(ts);
  });
});
