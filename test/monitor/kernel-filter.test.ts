// Real eBPF: the path and process filters in the kernel, and updating them while attached.
// Absence is shown by ordering: one process opens the file that must not arrive, then a marker
// that must; the ring buffer keeps order, so once the marker is in, the other would have been too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, type Collected } from './harness.ts';

let c: Collected | null = null;
let dir = '';
const p = (name: string): string => join(dir, name);

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-filter-')));
  mkdirSync(p('watched'));
  for (const f of ['exact', 'other', 'marker', 'watched/inner', 'later']) writeFileSync(p(f), 'x');
  symlinkSync(p('exact'), p('alias'));
  c = await collect({
    pathFilter: { passAll: false, exactPaths: [p('exact'), p('marker'), p('renamed-in-place'), '/proc/net/tcp'], dirPrefixes: [`${p('watched')}/`] },
  });
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function cat(...files: string[]): number {
  const r = spawnSync('/bin/cat', files, { stdio: 'ignore' });
  return r.pid!;
}

test('an exact path passes', async (t) => {
  if (!needsBpf(t)) return;
  const pid = cat(p('exact'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('exact'), 'the exact path');
});

test('a path under a directory prefix passes', async (t) => {
  if (!needsBpf(t)) return;
  const pid = cat(p('watched/inner'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('watched/inner'), 'a path under the prefix');
});

test('a path that matches nothing does not reach user space', async (t) => {
  if (!needsBpf(t)) return;
  const pid = cat(p('other'), p('marker'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('marker'), 'the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === p('other')).length, 0);
  assert.ok(c!.monitor.stats().filteredInKernel > 0 || (await c!.monitor.refreshStats()).filteredInKernel > 0);
});

test('a symlink to a filtered file passes under its resolved path', async (t) => {
  if (!needsBpf(t)) return;
  const pid = cat(p('alias'));
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === p('alias'), 'the symlink');
  assert.equal(ev.resolvedPath, p('exact'));
});

test('a file moved under a watched directory passes under its new resolved path (cached verdicts are voided by rename)', async (t) => {
  if (!needsBpf(t)) return;
  mkdirSync(p('dirA'));
  writeFileSync(p('dirA/f'), 'x');
  symlinkSync(p('dirA'), p('lnk'));
  // Through the link the requested path never matches; only the resolved path can.
  const first = cat(p('lnk/f'), p('marker'));
  await c!.waitFor((e) => e.hostPid === first && e.path === p('marker'), 'the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === first && e.path === p('lnk/f')).length, 0, 'dirA/f is not watched yet');
  spawnSync('/bin/mv', [p('dirA'), p('watched/dirA')]); // rename(2) by another process
  unlinkSync(p('lnk'));
  symlinkSync(p('watched/dirA'), p('lnk'));
  const second = cat(p('lnk/f'));
  const ev = await c!.waitFor((e) => e.hostPid === second && e.path === p('lnk/f'), 'the moved file through the link');
  assert.equal(ev.resolvedPath, p('watched/dirA/f'));
});

test('a file renamed in its own directory to a watched name passes at once (its cached verdict does not outlive the rename)', async (t) => {
  if (!needsBpf(t)) return;
  writeFileSync(p('scratch-name'), 'x');
  symlinkSync(p('scratch-name'), p('lnk2'));
  // Through the link the requested path never matches; only the resolved path can.
  const first = cat(p('lnk2'), p('marker'));
  await c!.waitFor((e) => e.hostPid === first && e.path === p('marker'), 'the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === first && e.path === p('lnk2')).length, 0, 'scratch-name is not watched');
  // Renames elsewhere first: they must not keep the file's own rename from counting.
  writeFileSync(p('churn-a'), 'x');
  for (let i = 0; i < 3; i++) spawnSync('/bin/mv', [p(i % 2 === 0 ? 'churn-a' : 'churn-b'), p(i % 2 === 0 ? 'churn-b' : 'churn-a')]);
  const again = cat(p('lnk2'), p('marker'));
  await c!.waitFor((e) => e.hostPid === again && e.path === p('marker'), 'the marker after other renames');
  assert.equal(c!.events.filter((e) => e.hostPid === again && e.path === p('lnk2')).length, 0, 'still not watched');
  spawnSync('/bin/mv', [p('scratch-name'), p('renamed-in-place')]); // same directory, same dentry
  unlinkSync(p('lnk2'));
  symlinkSync(p('renamed-in-place'), p('lnk2'));
  const second = cat(p('lnk2'));
  const ev = await c!.waitFor((e) => e.hostPid === second && e.path === p('lnk2'), 'the renamed file through the link');
  assert.equal(ev.resolvedPath, p('renamed-in-place'));
});

test('/proc/self/net/tcp passes a filter entry /proc/net/tcp', async (t) => {
  if (!needsBpf(t)) return;
  const pid = cat('/proc/self/net/tcp');
  await c!.waitFor((e) => e.hostPid === pid && e.path === '/proc/self/net/tcp', '/proc/self/net/tcp');
});

test('updating the filter while attached takes effect both ways', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [p('later'), p('marker')], dirPrefixes: [] });
  const pid = cat(p('exact'), p('later'), p('marker'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('marker'), 'the marker after the update');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === p('later')).length, 1, 'newly added path passes');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === p('exact')).length, 0, 'removed path no longer passes');
});

test('the process filter passes only the named comm', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter({ passAll: true, exactPaths: [], dirPrefixes: [] });
  await c!.monitor.setProcessFilter({ pids: [], comms: ['head'], excludePids: [] });
  const skipped = cat(p('other'));
  const r = spawnSync('/usr/bin/head', ['-c1', p('marker')], { stdio: 'ignore' });
  await c!.waitFor((e) => e.hostPid === r.pid && e.path === p('marker'), 'head (named in the comm filter)');
  assert.equal(c!.events.filter((e) => e.hostPid === skipped).length, 0, 'cat is not in the comm filter');
  await c!.monitor.setProcessFilter({ pids: [], comms: [], excludePids: [] });
});
