// Real eBPF: the kernel filter's first-component screen (a path whose first component no entry
// starts with is rejected after a few bytes) and opens decided at sys_exit alone. The screen may
// only ever reject what the full filter would: paths sharing a first component with a rule still
// get the exact check, relative and unfolded spellings still pass, /proc aliases follow /proc
// rules, and a symlink from anywhere into a listed file still passes under its resolved path.
// Absence is shown by ordering: the same process opens the filtered file, then a marker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, type Collected } from './harness.ts';
import type { KernelFilterSpec } from '../../src/types.ts';

const FILEOPS = fileURLToPath(new URL('../../build/fileops', import.meta.url));
let c: Collected | null = null;
let dir = ''; // under /tmp: every entry's first component is "tmp"
let away = ''; // under /var/tmp: a first component no entry has
const p = (name: string): string => join(dir, name);
let rules: KernelFilterSpec = { passAll: false, exactPaths: [], dirPrefixes: [] };

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync('/tmp/aw-ffirst-'));
  away = realpathSync(mkdtempSync('/var/tmp/aw-ffirst-'));
  mkdirSync(p('watched'));
  for (const f of ['listed', 'sibling', 'marker', 'watched/inner']) writeFileSync(p(f), 'x');
  symlinkSync(p('listed'), join(away, 'link-to-listed'));
  rules = { passAll: false, exactPaths: [p('listed'), p('marker')], dirPrefixes: [`${p('watched')}/`] };
  c = await collect({ pathFilter: rules });
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  if (away !== '') rmSync(away, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd?: string): number {
  return spawnSync(cmd, args, { stdio: 'ignore', cwd }).pid!;
}

async function absentBeforeMarker(pid: number, path: string): Promise<void> {
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('marker'), 'the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === path).length, 0, `${path} must be filtered`);
}

test('a path that shares its first component with the rules but matches none is filtered; the listed one passes', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/cat', [p('sibling'), p('listed'), p('watched/inner'), p('marker')]);
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('listed'), 'the listed path');
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('watched/inner'), 'the path under the prefix');
  await absentBeforeMarker(pid, p('sibling'));
});

test('a path under a first component no rule has is filtered', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/cat', ['/etc/hostname', `${away}/nothing-here`, p('marker')]);
  await absentBeforeMarker(pid, '/etc/hostname');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === `${away}/nothing-here`).length, 0, 'a failed open there is filtered too');
});

test('a symlink under a first component no rule has passes when it resolves to a listed file', async (t) => {
  if (!needsBpf(t)) return;
  const link = join(away, 'link-to-listed');
  const pid = run('/bin/cat', [link]);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === link, 'the symlink into the listed file');
  assert.equal(ev.resolvedPath, p('listed'));
});

test('a failed open of a path under a prefix passes: the requested path decides at exit', async (t) => {
  if (!needsBpf(t)) return;
  const missing = p('watched/missing');
  const pid = run('/bin/cat', [missing]);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === missing, 'the failed open');
  assert.ok(ev.ret < 0, `the open failed (ret ${ev.ret})`);
});

test('relative, dirfd-relative and unfolded spellings pass whatever their first component', async (t) => {
  if (!needsBpf(t)) return;
  const rel = run('/bin/cat', ['hostname'], '/etc');
  await c!.waitFor((e) => e.hostPid === rel && e.path === 'hostname', 'cat hostname in /etc');
  const at = run(FILEOPS, ['openat', '/etc', 'hostname']);
  await c!.waitFor((e) => e.hostPid === at && e.path === 'hostname' && e.syscall === 'openat', 'openat(/etc fd, hostname)');
  const spellings = ['/./etc/hostname', '//etc/hostname', '/../etc/hostname', '/etc/./hostname'];
  const pid = run('/bin/cat', spellings);
  for (const s of spellings) await c!.waitFor((e) => e.hostPid === pid && e.path === s, s);
});

test('a call that ".." leads from a foreign first component to a listed file passes (truncate: no opened file to judge later)', async (t) => {
  if (!needsBpf(t)) return;
  // The screen reads eight bytes at a time: one spelling has its "/.." inside a word, the other
  // has the '/' as the last byte of the first word and the '.' as the first byte of the second.
  // (The first component of the second does not exist: that call fails, and is reported all the same.)
  const inWord = `/etc/..${p('listed')}`;
  const acrossWords = `/abcdef/..${p('listed')}`;
  assert.equal(acrossWords.slice(7, 9), '/.');
  for (const s of [inWord, acrossWords]) {
    const pid = run(FILEOPS, ['truncate', s, '1']); // the file holds one byte: nothing changes
    await c!.waitFor((e) => e.hostPid === pid && e.path === s && e.syscall === 'truncate', `truncate ${s}`);
  }
});

test('/proc spellings are filtered while no rule is under /proc, and pass once one is', async (t) => {
  if (!needsBpf(t)) return;
  const first = run('/bin/cat', ['/proc/self/net/dev', p('marker')]);
  await absentBeforeMarker(first, '/proc/self/net/dev');
  await c!.monitor.setPathFilter({ ...rules, exactPaths: [...rules.exactPaths, '/proc/net/dev'] });
  try {
    const spellings = ['/proc/net/dev', '/proc/self/net/dev', '/proc/thread-self/net/dev', `/proc/${process.pid}/net/dev`];
    const pid = run('/bin/cat', [...spellings, '/proc/self/stat', p('marker')]);
    for (const s of spellings) await c!.waitFor((e) => e.hostPid === pid && e.path === s, s);
    await absentBeforeMarker(pid, '/proc/self/stat');
  } finally {
    await c!.monitor.setPathFilter(rules);
  }
});

test('an entry "/" screens nothing: a path under any first component passes, and the screen returns after', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter({ ...rules, dirPrefixes: [...rules.dirPrefixes, '/'] });
  try {
    const pid = run('/bin/cat', ['/etc/hostname']);
    await c!.waitFor((e) => e.hostPid === pid && e.path === '/etc/hostname', '/etc/hostname under the entry "/"');
  } finally {
    await c!.monitor.setPathFilter(rules);
  }
  const pid = run('/bin/cat', ['/etc/hostname', p('marker')]);
  await absentBeforeMarker(pid, '/etc/hostname');
});

test('a filtered file opened again and again stays filtered until the filter changes, then passes', async (t) => {
  if (!needsBpf(t)) return;
  // The same file opened many times by one process: the later opens are judged from the cached verdict.
  const many = Array.from({ length: 50 }, () => p('sibling'));
  const pid = run('/bin/cat', [...many, p('marker')]);
  await absentBeforeMarker(pid, p('sibling'));
  await c!.monitor.setPathFilter({ ...rules, exactPaths: [...rules.exactPaths, p('sibling')] });
  try {
    const again = run('/bin/cat', [p('sibling')]);
    await c!.waitFor((e) => e.hostPid === again && e.path === p('sibling'), 'the newly listed file');
  } finally {
    await c!.monitor.setPathFilter(rules);
  }
});
