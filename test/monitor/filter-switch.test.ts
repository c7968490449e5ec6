// Real eBPF: the kernel filter switches whole. A large filter replaced by a different large one
// (both near the capacity: the two sides are full at once) passes the new rules and not the old; a
// filter over the capacity is refused and the one in force stays; a syscall rule without a path
// passes its calls and not the other calls on the same file, and one with a path passes its calls
// on that path alone; the exec hook runs only while the
// filter lets executions through; and a policy store whose change the kernel refuses keeps its
// engine. Absence is shown by ordering: an event that would have come before a marker did not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyStore } from '../../src/policy/watch.ts';
import type { KernelFilterSpec } from '../../src/types.ts';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { hostAuditPolicy as hostPolicy } from '../helpers/policies.ts';
import { collect, run, type Collected } from './harness.ts';

const CAPACITY = 20_000;
let c: Collected | null = null;
let dir = '';
const p = (name: string): string => join(dir, name);
/** `n` paths under /opt/aw-noise-<tag>/ that nothing opens, then `extra`. */
const many = (tag: string, n: number, ...extra: string[]): string[] => [...Array.from({ length: n }, (_, i) => `/opt/aw-noise-${tag}/${i}`), ...extra];
const files = (exactPaths: string[], more: Partial<KernelFilterSpec> = {}): KernelFilterSpec => ({ passAll: false, exactPaths, dirPrefixes: [], ...more });

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-switch-')));
  for (const f of ['a', 'b', 'c', 'd', 'marker']) writeFileSync(p(f), 'x');
  c = await collect({ kernelFilterCapacity: CAPACITY, pathFilter: files(many('a', CAPACITY - 2, p('a'), p('marker'))) });
}, { timeout: 300_000 });
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const opened = (pid: number, path: string) => (e: { hostPid: number; absPath: string; syscall: string }) => e.hostPid === pid && e.absPath === path;

test('a full filter replaced by a different full one: the new rules pass, the old ones no longer', async (t) => {
  if (!needsBpf(t)) return;
  const a0 = run('/bin/cat', [p('a')]);
  await c!.waitFor(opened(a0, p('a')), 'a, under the first filter');
  await c!.monitor.setPathFilter(files(many('b', CAPACITY - 2, p('b'), p('marker'))));
  const a1 = run('/bin/cat', [p('a')]);
  const b1 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b1, p('b')), 'b, under the new filter');
  assert.equal(c!.events.some(opened(a1, p('a'))), false, 'a passed after the switch to a filter without it');
});

test('a filter over the capacity is refused, the one in force stays whole, and a later valid one is taken', async (t) => {
  if (!needsBpf(t)) return;
  await assert.rejects(c!.monitor.setPathFilter(files(many('c', CAPACITY, p('c')))),
    /build the path filter: paths: 20001 exact paths, over the capacity of 20000 per map \(--kernel-filter-capacity\)/);
  const c1 = run('/bin/cat', [p('c')]);
  const b1 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b1, p('b')), 'b, still in force after the refusal');
  assert.equal(c!.events.some(opened(c1, p('c'))), false, 'c passed although its filter was refused');
  await c!.monitor.setPathFilter(files([p('c'), p('marker')]));
  const c2 = run('/bin/cat', [p('c')]);
  await c!.waitFor(opened(c2, p('c')), 'c, once a valid filter names it');
});

test('a syscall rule without a path passes its calls, and not the other calls on the same file', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter(files([p('marker')], { passCalls: ['unlink', 'unlinkat'] }));
  const before = (await c!.monitor.refreshStats()).filteredInKernel;
  const target = p('d');
  const catPid = run('/bin/cat', [target]);
  const rmPid = run('/bin/rm', ['-f', target]);
  const rm = await c!.waitFor((e) => e.hostPid === rmPid && (e.syscall === 'unlinkat' || e.syscall === 'unlink'), 'the unlink of d');
  assert.equal(rm.absPath, target);
  assert.equal(c!.events.some((e) => e.hostPid === catPid && e.absPath === target), false, 'the open of d reached user space');
  const after = (await c!.monitor.refreshStats()).filteredInKernel;
  assert.ok(after > before, `the filtered counter did not rise (${before} -> ${after})`);
});

test('a syscall rule with a path passes its calls on that path, and not the other calls there', async (t) => {
  if (!needsBpf(t)) return;
  const target = p('e');
  writeFileSync(target, 'x');
  await c!.monitor.setPathFilter(files([target, p('marker')], { pathCalls: { [target]: ['chmod', 'fchmodat'] } }));
  const before = (await c!.monitor.refreshStats()).filteredInKernel;
  const catPid = run('/bin/cat', [target]);
  const chmodPid = run('/bin/chmod', ['600', target]);
  const ch = await c!.waitFor((e) => e.hostPid === chmodPid && (e.syscall === 'fchmodat' || e.syscall === 'chmod'), 'the chmod of e');
  assert.equal(ch.absPath, target);
  const rmPid = run('/bin/rm', ['-f', target]);
  const marker = run('/bin/cat', [p('marker')]);
  await c!.waitFor(opened(marker, p('marker')), 'the marker, a file rule\'s entry: every call');
  assert.equal(c!.events.some((e) => e.hostPid === catPid && e.absPath === target), false, 'the open of e reached user space');
  assert.equal(c!.events.some((e) => e.hostPid === rmPid && e.absPath === target), false, 'the unlink of e reached user space');
  const after = (await c!.monitor.refreshStats()).filteredInKernel;
  assert.ok(after - before >= 2, `the open and the unlink of e were not counted as filtered (${before} -> ${after})`);
});

test('the exec hook is detached while no execution can pass, and attached when a process rule comes', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter(files([p('marker')]));
  const off = await c!.monitor.refreshStats();
  assert.equal(off.execHookAttached, false, 'no process rule: the exec hook is detached');
  const tag = `off-${process.pid}`;
  for (let i = 0; i < 5; i++) run('/bin/true', [tag]);
  const stillOff = await c!.monitor.refreshStats();
  assert.equal(stillOff.filteredExecInKernel, off.filteredExecInKernel, 'executions were judged although no rule needs them');
  assert.equal(c!.execs.some((e) => e.argv[1] === tag), false);

  await c!.monitor.setPathFilter(files([p('marker')], { exec: { passAll: false, paths: [], dirs: [], names: ['aw-never-run'] } }));
  const on = await c!.monitor.refreshStats();
  assert.equal(on.execHookAttached, true, 'a process rule attaches the exec hook');
  for (let i = 0; i < 5; i++) run('/bin/true', [`on-${process.pid}`]);
  const judged = await c!.monitor.refreshStats();
  assert.ok(judged.filteredExecInKernel - on.filteredExecInKernel >= 5, `executions judged: ${judged.filteredExecInKernel - on.filteredExecInKernel}, expected at least 5`);
});


test('a change the kernel refuses keeps the engine and the kernel filter in force, and says so', async (t) => {
  if (!needsBpf(t)) return;
  const folder = mkdtempSync(join(tmpdir(), 'aw-switch-store-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(join(folder, 'p.yaml'), hostPolicy('hsp-a', [p('a'), p('marker')]));
  // The store's own limit is above the kernel's here, so the refusal comes from the kernel switch.
  const store = new PolicyStore({ paths: [folder], kernelFilterCapacity: 2 * CAPACITY, rescanMs: 3_600_000 });
  t.after(() => store.close());
  const first = await store.start();
  store.useSwitch((ev) => c!.monitor.setPathFilter(ev.filter));
  await c!.monitor.setPathFilter(first.filter);

  writeFileSync(join(folder, 'p.yaml'), hostPolicy('hsp-big', many('big', CAPACITY, p('b'))));
  assert.equal(await store.reload(), null, 'the change was refused');
  assert.equal(store.engine, first.engine, 'the engine in force stayed');
  const st = store.status();
  assert.equal(st.refusedChanges.kernelFilter, 1);
  assert.match(st.refusedChange ?? '', /^the kernel filter could not be switched: .*over the capacity of 20000/);
  const b1 = run('/bin/cat', [p('b')]);
  const a1 = run('/bin/cat', [p('a')]);
  await c!.waitFor(opened(a1, p('a')), 'a, from the filter still in force');
  assert.equal(c!.events.some(opened(b1, p('b'))), false, 'b passed although its change was refused');

  writeFileSync(join(folder, 'p.yaml'), hostPolicy('hsp-b', [p('b'), p('marker')]));
  const taken = await store.reload();
  assert.ok(taken !== null && store.engine === taken.engine, 'a later valid change is taken');
  assert.equal(store.status().refusedChange, null);
  const b2 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b2, p('b')), 'b, once its change is taken');
});
