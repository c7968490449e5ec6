// Real eBPF: each group of kernel hooks (file calls, executions, network calls, connect outcomes) is
// attached only while the filter in force can let one of its events through, and detached when
// none can. Checked from outside the helper too: the BPF links it holds, counted in /proc (each
// link is an fd whose fdinfo names its link_type), go to none with an empty filter and come back
// with a rule, and the events of a rule flow again after its hooks were detached and reattached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookState } from '../../src/monitor/index.ts';
import type { KernelFilterSpec } from '../../src/types.ts';
import { NETWORK_SYSCALLS } from '../../src/types.ts';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, run, type Collected } from './harness.ts';

const NOTHING: KernelFilterSpec = { passAll: false, exactPaths: [], dirPrefixes: [] };
let c: Collected | null = null;
let dir = '';
let helperPid = 0;

/** The monitor helper: this process's child running build/armorwatch-monitor. */
function findHelper(): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(armorwatch-moni')) return Number(name);
    } catch { /* gone meanwhile */ }
  }
  throw new Error('no monitor helper among this process\'s children');
}

/** BPF links the helper holds, counted by the kernel's fdinfo (not by the helper's own report). */
function linkFds(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      if (/^link_type:/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

async function hooksNow(): Promise<HookState> {
  return (await c!.monitor.refreshStats()).hooks;
}

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-hooks-')));
  writeFileSync(join(dir, 'watched'), 'x');
  c = await collect({ pathFilter: NOTHING });
  helperPid = findHelper();
}, { timeout: 120_000 });
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('with nothing to watch no hook is attached; a file rule attaches the file hooks alone', async (t) => {
  if (!needsBpf(t)) return;
  const idle = await hooksNow();
  assert.deepEqual({ ...idle, attaches: 0, detaches: 0 }, { file: false, exec: false, network: false, outcome: false, links: 0, attaches: 0, detaches: 0 });
  assert.equal(linkFds(helperPid), 0, 'the helper holds BPF links although nothing is watched');

  const watched = join(dir, 'watched');
  await c!.monitor.setPathFilter({ ...NOTHING, exactPaths: [watched] });
  const on = await hooksNow();
  assert.equal(on.file, true);
  assert.equal(on.exec, false);
  assert.equal(on.network, false);
  assert.equal(on.outcome, false);
  assert.ok(on.links > 20, `file hooks: ${on.links} links`);
  assert.equal(linkFds(helperPid), on.links, 'the kernel and the helper disagree on the links held');
  const pid = run('/bin/cat', [watched]);
  await c!.waitFor((e) => e.hostPid === pid && e.absPath === watched, 'the open of the watched file');
});

test('the file hooks go when the last file rule goes, and events flow again when one comes back', async (t) => {
  if (!needsBpf(t)) return;
  const watched = join(dir, 'watched');
  await c!.monitor.setPathFilter(NOTHING);
  const off = await hooksNow();
  assert.equal(off.file, false);
  assert.equal(off.links, 0);
  assert.equal(linkFds(helperPid), 0, 'links left after the last rule went');
  const filteredBefore = (await c!.monitor.refreshStats()).filteredInKernel;
  for (let i = 0; i < 3; i++) run('/bin/cat', ['/etc/hostname']);
  assert.equal((await c!.monitor.refreshStats()).filteredInKernel, filteredBefore, 'file calls were judged with no file hook attached');

  await c!.monitor.setPathFilter({ ...NOTHING, exactPaths: [watched] });
  assert.equal((await hooksNow()).file, true);
  const pid = run('/bin/cat', [watched]);
  await c!.waitFor((e) => e.hostPid === pid && e.absPath === watched, 'the open of the watched file, after reattaching');
});

test('executions and network calls attach their own hooks, and detach them when they go', async (t) => {
  if (!needsBpf(t)) return;
  const tag = `aw-hooks-${process.pid}`;
  await c!.monitor.setPathFilter({ ...NOTHING, exec: { passAll: true, paths: [], dirs: [], names: [] } });
  const exec = await hooksNow();
  assert.deepEqual([exec.file, exec.exec, exec.network, exec.outcome], [false, true, false, false]);
  assert.equal(linkFds(helperPid), exec.links);
  const pid = run('/bin/true', [tag]);
  await c!.waitForExec((e) => e.hostPid === pid && e.argv[1] === tag, 'the execution of true');

  await c!.monitor.setPathFilter({ ...NOTHING, network: { passAll: false, calls: [...NETWORK_SYSCALLS], protocols: [] } });
  const net = await hooksNow();
  assert.deepEqual([net.file, net.exec, net.network, net.outcome], [false, false, true, true]);
  assert.equal(linkFds(helperPid), net.links);

  // Sockets only: the outcome hook, which runs on every TCP state change of the node, goes.
  await c!.monitor.setPathFilter({ ...NOTHING, network: { passAll: false, calls: ['socket'], protocols: [] } });
  const sockets = await hooksNow();
  assert.deepEqual([sockets.network, sockets.outcome], [true, false]);

  await c!.monitor.setPathFilter(NOTHING);
  const none = await hooksNow();
  assert.deepEqual([none.file, none.exec, none.network, none.outcome, none.links], [false, false, false, false, 0]);
  assert.equal(linkFds(helperPid), 0);
  assert.ok(none.attaches > 0 && none.detaches >= none.attaches, `attaches ${none.attaches}, detaches ${none.detaches}`);
});
