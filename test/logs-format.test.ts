// The pure parts of console capture: timestamps, splitting arguments into message and fields, JSON lines.
import { describe, expect, it } from 'vitest';
import { isoMicros, jsonLine, nowHrTime, splitArgs } from '../src/logs/format.js';

describe('time', () => {
  it('isoMicros writes UTC ISO-8601 with exactly six fraction digits', () => {
    expect(isoMicros([0, 0])).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoMicros([1_700_000_000, 123_456_789])).toBe('2023-11-14T22:13:20.123456Z');
    expect(isoMicros([1_700_000_000, 999_999_999])).toBe('2023-11-14T22:13:20.999999Z');
  });
  it('nowHrTime is the wall clock, to within a few milliseconds of Date.now()', () => {
    const [s, ns] = nowHrTime();
    expect(ns).toBeGreaterThanOrEqual(0);
    expect(ns).toBeLessThan(1e9);
    expect(Math.abs(s * 1000 + ns / 1e6 - Date.now())).toBeLessThan(50);
  });
});

describe('splitArgs', () => {
  it.each([
    [['plain'], 'plain', {}],
    [['a', 1, true], 'a 1 true', {}],
    [['user logged in', { user: 'u1', n: 2 }], 'user logged in', { user: 'u1', n: 2 }],
    [[{ only: 'fields' }], '', { only: 'fields' }],
    [['%s took %d ms', 'GET', 12], 'GET took 12 ms', {}],
    [['%o', { a: 1 }], '{ a: 1 }', {}],
    [['lone %s'], 'lone %s', {}],
    [['list', [1, 2]], 'list [ 1, 2 ]', {}],
    [['two', { a: 1 }, { a: 2, b: 3 }], 'two', { a: 2, b: 3 }],
    [['null proto', Object.assign(Object.create(null), { k: 'v' })], 'null proto', { k: 'v' }],
    [['skip', { f: () => 1, u: undefined, s: Symbol('x'), keep: null }], 'skip', { keep: null }],
    [
      ['odd numbers', { nan: NaN, inf: -Infinity, big: 10n }],
      'odd numbers',
      { nan: 'NaN', inf: '-Infinity', big: '10' },
    ],
    [['dates', { at: new Date(0) }], 'dates', { at: '1970-01-01T00:00:00.000Z' }],
  ])('case %#', (args, message, fields) => {
    expect(splitArgs(args)).toEqual({ message, fields });
  });
  it('an Error argument is part of the message; an Error field becomes {type, message, stack}', () => {
    const err = new TypeError('bad input');
    expect(splitArgs(['failed', err]).message).toContain('TypeError: bad input');
    expect(splitArgs(['failed', { err }]).fields.err).toMatchObject({
      type: 'TypeError',
      message: 'bad input',
      stack: expect.stringContaining('bad input'),
    });
  });
  it('cycles, depth and class instances are cut safely', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    let deep: Record<string, unknown> = {};
    const root = { deep };
    for (let i = 0; i < 20; i++) deep = deep.next = {} as Record<string, unknown>;
    const out = splitArgs(['x', { a, root, map: new Map([[1, 2]]) }]).fields;
    expect(out.a).toEqual({ name: 'a', self: '[Circular]' });
    expect(JSON.stringify(out.root)).toContain('[Object]');
    expect(out.map).toBe('Map(1) { 1 => 2 }');
  });
});

describe('jsonLine', () => {
  const time: [number, number] = [1_700_000_000, 5_000];
  it('writes time, level, message, then the ids inside a span, then the fields', () => {
    const line = jsonLine(
      time,
      'INFO',
      { message: 'hi', fields: { user: 'u1' } },
      { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) },
    );
    expect(line).toBe(
      `{"time":"2023-11-14T22:13:20.000005Z","level":"INFO","message":"hi","trace_id":"${'a'.repeat(32)}","span_id":"${'b'.repeat(16)}","user":"u1"}`,
    );
  });
  it('has no ids outside a span, and keeps clashing fields under fields.<key>', () => {
    const parsed = JSON.parse(
      jsonLine(time, 'WARN', { message: 'm\nx', fields: { level: 'mine', message: 'm2', span_id: 's' } }, undefined),
    );
    expect(parsed).toEqual({
      time: '2023-11-14T22:13:20.000005Z',
      level: 'WARN',
      message: 'm\nx',
      'fields.level': 'mine',
      'fields.message': 'm2',
      'fields.span_id': 's',
    });
  });
});
