// Real eBPF: when the reader falls behind, the kernel counts what it could not deliver and the
// count reaches user space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { needsBpf } from '../helpers/privileges.ts';
import { collect } from './harness.ts';

const OPENLOOP = new URL('../../build/openloop', import.meta.url).pathname;

test('a full ring buffer is counted in the kernel and reported by stats()', async (t) => {
  if (!needsBpf(t)) return;
  // The smallest ring buffer (one page) and a paused reader: the helper's pipe fills, it stops
  // draining the ring buffer, and the kernel has to drop.
  const c = await collect({ ringbufBytes: 4096, processFilter: { pids: [], comms: ['openloop'], excludePids: [] } });
  try {
    c.monitor.pause();
    const n = 5000;
    const r = spawnSync(OPENLOOP, ['/etc/hostname', String(n)], { stdio: 'ignore' });
    assert.equal(r.status, 0);
    c.monitor.resume();
    const s = await c.monitor.refreshStats();
    assert.ok(s.lostInKernel > 0, `lostInKernel = ${s.lostInKernel}`);
    assert.ok(s.delivered + s.lostInKernel >= n, `every open is delivered or counted: ${s.delivered} + ${s.lostInKernel} >= ${n}`);
    assert.ok(s.delivered < n, 'not everything could have been delivered');
  } finally {
    await c.monitor.close();
  }
});
