// Real eBPF: child processes make file calls and the events must say what they did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, statSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { formatOpenFlags, formatResult } from '../../src/format/index.ts';
import { collect, run, type Collected } from './harness.ts';

const FILEOPS = new URL('../../build/fileops', import.meta.url).pathname;
let c: Collected | null = null;
let dir = '';

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-events-')));
  c = await collect();
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('absolute path: the event names the file, the process and its parent executables', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/sh', ['-c', 'cat /etc/hostname > /dev/null']);
  const ev = await c!.waitFor((e) => e.hostPpid === pid && e.comm === 'cat' && e.path === '/etc/hostname', 'cat /etc/hostname');
  assert.equal(ev.syscall, 'openat');
  assert.equal(ev.absPath, '/etc/hostname');
  assert.equal(ev.resolvedPath, '/etc/hostname');
  assert.equal(ev.ret >= 0, true);
  assert.equal(formatResult(ev.ret), 'Passed');
  assert.equal(ev.exePath, realpathSync('/bin/cat'));
  assert.equal(ev.parentExePath, realpathSync('/bin/sh'));
  assert.equal(ev.ownerUid, statSync('/etc/hostname').uid);
  assert.equal(ev.pid, ev.hostPid, 'a host process has the same pid in its own namespace');
  assert.ok(ev.timestampNs > BigInt(Date.now() - 60_000) * 1_000_000n, 'timestamp is wall-clock time');
});

test('relative to the cwd: absPath is joined to the working directory', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/sh', ['-c', 'cd /etc && cat hostname > /dev/null']);
  const ev = await c!.waitFor((e) => e.hostPpid === pid && e.path === 'hostname', 'cat hostname in /etc');
  assert.equal(ev.cwd, '/etc');
  assert.equal(ev.absPath, '/etc/hostname');
  assert.equal(ev.resolvedPath, '/etc/hostname');
});

test('relative to a dirfd: absPath is joined to that directory', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run(FILEOPS, ['openat', '/etc', 'hostname'], '/tmp');
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === 'hostname', 'openat(dirfd of /etc, "hostname")');
  assert.ok(ev.dirfd >= 0, 'dirfd is the descriptor, not AT_FDCWD');
  assert.equal(ev.cwd, '/tmp');
  assert.equal(ev.absPath, '/etc/hostname');
});

test('.. in the path is folded', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/sh', ['-c', 'cd /tmp && cat ../etc/./hostname > /dev/null']);
  const ev = await c!.waitFor((e) => e.hostPpid === pid && e.path === '../etc/./hostname', 'cat ../etc/./hostname');
  assert.equal(ev.absPath, '/etc/hostname');
});

test('through a symlink: the requested and the resolved path are both reported', async (t) => {
  if (!needsBpf(t)) return;
  const target = join(dir, 'target.txt');
  const link = join(dir, 'link.txt');
  writeFileSync(target, 'x');
  symlinkSync(target, link);
  const pid = run('/bin/cat', [link]);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === link, 'cat through a symlink');
  assert.equal(ev.absPath, link);
  assert.equal(ev.resolvedPath, target);
});

test('/proc/self/net/tcp resolves to the process\'s own /proc/<pid> directory', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/cat', ['/proc/self/net/tcp']);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === '/proc/self/net/tcp', 'cat /proc/self/net/tcp');
  assert.equal(ev.absPath, '/proc/self/net/tcp');
  assert.equal(ev.resolvedPath, `/proc/${pid}/net/tcp`);
});

test('O_WRONLY|O_CREAT|O_TRUNC are decoded from a shell redirection', async (t) => {
  if (!needsBpf(t)) return;
  const out = join(dir, 'created.txt');
  const pid = run('/bin/sh', ['-c', `echo hi > ${out}`]);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === out, 'echo > file');
  const names = formatOpenFlags(ev.flags).split('|');
  for (const f of ['O_WRONLY', 'O_CREAT', 'O_TRUNC']) assert.ok(names.includes(f), `${f} in ${names.join('|')}`);
  assert.equal(ev.mode & 0o777, 0o666);
  assert.equal(ev.resolvedPath, out);
});

test('a failed open reports the errno and no resolved path', async (t) => {
  if (!needsBpf(t)) return;
  const missing = join(dir, 'does-not-exist');
  const pid = run('/bin/cat', [missing]);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.path === missing, 'cat of a missing file');
  assert.equal(ev.ret, -2);
  assert.equal(formatResult(ev.ret), 'No such file or directory');
  assert.equal(ev.resolvedPath, null);
});

test('rename and unlink report both names and the removed one', async (t) => {
  if (!needsBpf(t)) return;
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  writeFileSync(a, 'x');
  const mv = run('/bin/mv', [a, b]);
  const ren = await c!.waitFor((e) => e.hostPid === mv && e.syscall.startsWith('rename'), 'mv a b');
  assert.equal(ren.absPath, a);
  assert.equal(ren.absPath2, b);
  assert.equal(ren.ret, 0);
  const rm = run('/bin/rm', [b]);
  const un = await c!.waitFor((e) => e.hostPid === rm && e.syscall.startsWith('unlink'), 'rm b');
  assert.equal(un.absPath, b);
  assert.equal(un.ret, 0);
});

test('chmod, chown and truncate(2) carry their mode, ids and length', async (t) => {
  if (!needsBpf(t)) return;
  const f = join(dir, 'attrs.txt');
  writeFileSync(f, 'hello');
  const chmod = run('/bin/chmod', ['0640', f]);
  const m = await c!.waitFor((e) => e.hostPid === chmod && e.syscall.includes('chmod') && e.absPath === f, 'chmod 0640');
  assert.equal(m.mode & 0o7777, 0o640);
  assert.equal(m.ret, 0);
  const chown = run('/bin/chown', ['1234:5678', f]);
  const o = await c!.waitFor((e) => e.hostPid === chown && e.syscall.includes('chown') && e.absPath === f, 'chown 1234:5678');
  assert.deepEqual([o.args.uid, o.args.gid], [1234, 5678]);
  const tr = run(FILEOPS, ['truncate', f, '3']);
  const t2 = await c!.waitFor((e) => e.hostPid === tr && e.syscall === 'truncate', 'truncate(2) to 3 bytes');
  assert.equal(t2.absPath, f);
  assert.equal(t2.args.length, 3);
  assert.equal(t2.ret, 0);
});

test('openat2 reports its flags and resolve argument', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run(FILEOPS, ['openat2', '/etc/hostname']);
  const ev = await c!.waitFor((e) => e.hostPid === pid && e.syscall === 'openat2', 'openat2 /etc/hostname');
  assert.equal(ev.absPath, '/etc/hostname');
  assert.equal(ev.args.resolve, 0x04, 'RESOLVE_NO_SYMLINKS');
  assert.equal(ev.resolvedPath, '/etc/hostname');
});

test('a process in its own pid and mount namespace reports its namespace pid next to the host pid', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/usr/bin/unshare', ['-p', '-m', '-f', '--mount-proc', '/bin/sh', '-c', 'cat /etc/hostname > /dev/null; true']);
  const ev = await c!.waitFor((e) => e.comm === 'cat' && e.path === '/etc/hostname' && e.hostPid !== e.pid && e.hostPid > pid,
    'cat inside unshare -p -m -f');
  const host = c!.events.find((e) => e.hostPid === pid);
  assert.ok(host !== undefined, 'unshare itself (in the host namespaces) made file calls too');
  assert.ok(ev.pid < 10, `namespace pid ${ev.pid} is small (sh is 1, cat its child)`);
  assert.equal(ev.ppid, 1, 'its parent is the namespace\'s init (sh)');
  assert.notEqual(ev.pidNs, host.pidNs, 'pid namespace differs from the host\'s');
  assert.notEqual(ev.mntNs, host.mntNs, 'mount namespace differs from the host\'s');
});
