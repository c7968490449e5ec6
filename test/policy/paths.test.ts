import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePaths, foldProcPath } from '../../src/policy/paths.ts';

test('/proc spellings fold to /proc/', () => {
  const table: Array<[string, string]> = [
    ['/proc/self/net/tcp', '/proc/net/tcp'],
    ['/proc/thread-self/net/udp', '/proc/net/udp'],
    ['/proc/1/environ', '/proc/environ'],
    ['/proc/4242/net/tcp', '/proc/net/tcp'],
    ['/proc/self', '/proc'],
    ['/proc/selfish/x', '/proc/selfish/x'],
    ['/proc/net/tcp', '/proc/net/tcp'],
    ['/proc/12a/x', '/proc/12a/x'],
    ['/etc/self/x', '/etc/self/x'],
  ];
  for (const [from, to] of table) assert.equal(foldProcPath(from), to, from);
});

test('candidate paths: requested, resolved, rename destination, each with its /proc form, once', () => {
  assert.deepEqual(candidatePaths({ absPath: '/a', resolvedPath: '/a', absPath2: null }), ['/a']);
  assert.deepEqual(candidatePaths({ absPath: '/tmp/l', resolvedPath: '/etc/shadow', absPath2: null }), ['/tmp/l', '/etc/shadow']);
  assert.deepEqual(candidatePaths({ absPath: '/proc/self/net/tcp', resolvedPath: '/proc/77/net/tcp', absPath2: null }), ['/proc/self/net/tcp', '/proc/net/tcp', '/proc/77/net/tcp']);
  assert.deepEqual(candidatePaths({ absPath: '/x', resolvedPath: null, absPath2: '/y' }), ['/x', '/y']);
});
