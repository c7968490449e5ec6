// Real eBPF: every exec hook the helper can fall back to (sched_process_exec as tp_btf, raw
// tracepoint, classic tracepoint) reports executions, and every syscall family reports failed ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { needsBpf } from '../helpers/privileges.ts';
import { collect } from './harness.ts';

const EXECOPS = new URL('../../build/execops', import.meta.url).pathname;

// Each exec hook once, each syscall family once.
const PAIRS = [['syscall_tracepoints', 'tp_btf'], ['tp_btf', 'raw_tracepoint'], ['raw_tracepoint', 'tracepoint']] as const;

for (const [hook, execHook] of PAIRS) {
  test(`exec hook ${execHook} with hook ${hook}: a successful exec and a failed one, with their fields`, async (t) => {
    if (!needsBpf(t)) return;
    const c = await collect({ hook, execHook });
    try {
      assert.deepEqual([c.monitor.stats().hook, c.monitor.stats().execHook], [hook, execHook]);
      const ok = spawnSync(EXECOPS, ['execve', '/bin/true', `ok-${execHook}`], { stdio: 'ignore', cwd: '/tmp' });
      const ev = await c.waitForExec((e) => e.hostPid === ok.pid && e.argv[1] === `ok-${execHook}`, `exec via ${execHook}`);
      assert.deepEqual([ev.ret, ev.path, ev.resolvedPath, ev.callerExePath, ev.cwd], [0, '/bin/true', realpathSync('/bin/true'), realpathSync(EXECOPS), '/tmp']);
      const bad = spawnSync(EXECOPS, ['execve', '/nonexistent-aw/x', `bad-${hook}`], { stdio: 'ignore' });
      const fail = await c.waitForExec((e) => e.hostPid === bad.pid && e.argv[1] === `bad-${hook}`, `failed exec via ${hook}`);
      assert.deepEqual([fail.ret, fail.absPath, fail.resolvedPath], [-2, '/nonexistent-aw/x', null]);
    } finally {
      await c.monitor.close();
    }
  });
}
