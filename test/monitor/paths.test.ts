import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absolutize, foldPath } from '../../src/monitor/paths.ts';

test('foldPath removes . and empty components and applies ..', () => {
  assert.equal(foldPath('/etc/./network//if-up.d/'), '/etc/network/if-up.d');
  assert.equal(foldPath('/etc/../etc/hostname'), '/etc/hostname');
  assert.equal(foldPath('/'), '/');
});

test('foldPath does not climb above the root', () => {
  assert.equal(foldPath('/../../etc/passwd'), '/etc/passwd');
});

test('absolutize joins a relative path to its base directory', () => {
  assert.equal(absolutize('hostname', '/etc'), '/etc/hostname');
  assert.equal(absolutize('../etc/hostname', '/tmp'), '/etc/hostname');
  assert.equal(absolutize('x', '/'), '/x');
});

test('absolutize keeps an absolute path, only folded', () => {
  assert.equal(absolutize('/etc//hostname', '/tmp'), '/etc/hostname');
});
