// TRACES_ZMQ_PROPAGATION's endpoint patterns (src/instrumentations/zeromq/propagation-rule.ts): which socket
// endpoints get the trace-context frame. End to end with pyzmq peers: test/zeromq-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { endpointTest } from '../src/instrumentations/zeromq/propagation-rule.js';

describe('endpointTest', () => {
  const excludeOne = endpointTest({ include: [], exclude: ['tcp://*:5557'] });
  const includeIpc = endpointTest({ include: ['ipc://*', 'tcp://10.0.0.*:*'], exclude: ['ipc:///run/py/*'] });

  it.each([
    [excludeOne, 'tcp://127.0.0.1:5557', false],
    [excludeOne, 'tcp://127.0.0.1:55570', true], // a pattern matches the whole endpoint, not a prefix
    [excludeOne, 'ipc:///tmp/a.sock', true],
    [excludeOne, undefined, true], // no endpoint yet, no include pattern: the frame goes
    [includeIpc, 'ipc:///tmp/node/jobs.sock', true],
    [includeIpc, 'ipc:///run/py/in.sock', false], // excluded wins over included
    [includeIpc, 'tcp://10.0.0.7:5555', true],
    [includeIpc, 'tcp://10.0.0.70.example:5555', true], // `*` is any run of characters, dots included
    [includeIpc, 'tcp://127.0.0.1:5555', false],
    [includeIpc, undefined, false], // with include patterns, an unknown endpoint matches none
  ])('%#: %s → %s', (test, endpoint, expected) => {
    expect(test(endpoint)).toBe(expected);
  });

  it('regular-expression characters in a pattern are literal', () => {
    const test = endpointTest({ include: ['ipc:///tmp/a+b(1).sock'], exclude: [] });
    expect(test('ipc:///tmp/a+b(1).sock')).toBe(true);
    expect(test('ipc:///tmp/aab1.sock')).toBe(false);
  });
});
