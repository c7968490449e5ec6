// Real eBPF: every hook family the helper can fall back to loads, attaches and reports events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { needsBpf } from '../helpers/privileges.ts';
import { collect } from './harness.ts';

for (const hook of ['syscall_tracepoints', 'tp_btf', 'raw_tracepoint'] as const) {
  test(`hook ${hook}: loads, reports itself in stats and delivers an open`, async (t) => {
    if (!needsBpf(t)) return;
    const c = await collect({ hook });
    try {
      assert.equal(c.monitor.stats().hook, hook);
      const r = spawnSync('/bin/cat', ['/etc/hostname'], { stdio: 'ignore' });
      const ev = await c.waitFor((e) => e.hostPid === r.pid && e.path === '/etc/hostname', `cat via ${hook}`);
      assert.equal(ev.syscall, 'openat');
      assert.equal(ev.resolvedPath, '/etc/hostname');
    } finally {
      await c.monitor.close();
    }
  });
}

test('auto picks the cheapest hook the kernel offers', async (t) => {
  if (!needsBpf(t)) return;
  const c = await collect();
  try {
    // syscall tracepoints need tracefs, which the helper mounts if it can; as root here it can.
    assert.equal(c.monitor.stats().hook, 'syscall_tracepoints');
  } finally {
    await c.monitor.close();
  }
});
