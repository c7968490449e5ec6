// Issue 14 part 5, at the kernel: each way of reading a watched file by another path. The filter is
// narrow (one file, one directory, as a host policy's would be) and the files are watched by
// identity too; every access below must still reach user space, naming the rule's path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { resolveIdentities } from '../../src/policy/identity.ts';
import { collect, type Collected } from './harness.ts';

const EVASIONS = new URL('../../build/evasions', import.meta.url).pathname;
let c: Collected | null = null;
let dir = '';
let secret = '';
let watched = '';
let inner = '';
const mounts: string[] = [];

function sh(cmd: string): number {
  const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.pid as number;
}

/** `mount --bind from to` in the agent's own mount namespace, undone after the tests. */
function bind(from: string, to: string): number {
  const pid = sh(`mount --bind '${from}' '${to}'`);
  mounts.push(to);
  return pid;
}

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-evasion-')));
  for (const d of ['w', 'd', 'other', 'mnt-dir', 'mnt-ns', 'jail', 'jail/x']) mkdirSync(join(dir, d));
  secret = join(dir, 'w', 'secret');
  watched = join(dir, 'd');
  inner = join(watched, 'inner');
  writeFileSync(secret, 'the secret');
  writeFileSync(inner, 'inside the watched directory');
  writeFileSync(join(dir, 'mnt-file'), '');
  copyFileSync(EVASIONS, join(dir, 'jail', 'evasions'));
  c = await collect({
    pathFilter: { passAll: false, exactPaths: [secret], dirPrefixes: [`${watched}/`] },
  });
  const ids = await resolveIdentities([secret, watched]);
  assert.deepEqual(ids.unresolved, []);
  await c.monitor.setIdentities(ids.identities);
});
after(async () => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('a hard link to the watched file: ln is an event on both names, and reading the link names the file', async (t) => {
  if (!needsBpf(t)) return;
  const link = join(dir, 'other', 'link');
  const ln = spawnSync('ln', [secret, link]);
  assert.equal(ln.status, 0);
  const made = await c!.waitFor((e) => e.hostPid === ln.pid && (e.syscall === 'linkat' || e.syscall === 'link'), 'ln of the watched file');
  assert.equal(made.absPath, secret);
  assert.equal(made.absPath2, link);
  const cat = spawnSync('cat', [link]);
  assert.equal(cat.stdout.toString(), 'the secret');
  const ev = await c!.waitFor((e) => e.hostPid === cat.pid && e.resolvedPath === link, 'cat through the hard link');
  assert.deepEqual(ev.identityPaths, [{ path: secret, containerId: null }]);
});

test('a symlink to the watched file is an event on both names', async (t) => {
  if (!needsBpf(t)) return;
  const link = join(dir, 'other', 'symlink');
  const ln = spawnSync('ln', ['-s', secret, link]);
  assert.equal(ln.status, 0);
  const ev = await c!.waitFor((e) => e.hostPid === ln.pid && (e.syscall === 'symlinkat' || e.syscall === 'symlink'), 'ln -s of the watched file');
  assert.equal(ev.absPath, secret);
  assert.equal(ev.absPath2, link);
});

test('a bind mount of the watched directory: the mount is an event, and a file read through it names the rule\'s directory', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-dir');
  const pid = bind(watched, at);
  const m = await c!.waitFor((e) => e.hostPpid === pid && e.syscall === 'mount' && e.absPath2 === at, 'mount --bind of the directory');
  assert.equal(m.absPath, watched);
  const cat = spawnSync('cat', [join(at, 'inner')]);
  assert.equal(cat.stdout.toString(), 'inside the watched directory');
  const ev = await c!.waitFor((e) => e.hostPid === cat.pid && e.resolvedPath === join(at, 'inner'), 'cat through the bind mount');
  assert.deepEqual(ev.identityPaths, [{ path: inner, containerId: null }]);
});

test('a bind mount of the watched file itself', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-file');
  bind(secret, at);
  const cat = spawnSync('cat', [at]);
  assert.equal(cat.stdout.toString(), 'the secret');
  const ev = await c!.waitFor((e) => e.hostPid === cat.pid && e.resolvedPath === at, 'cat of the file bind-mounted elsewhere');
  assert.deepEqual(ev.identityPaths, [{ path: secret, containerId: null }]);
});

test('a bind mount made in a private mount namespace (unshare -m)', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-ns');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind '${watched}' '${at}' && exec cat '${at}/inner'`]);
  assert.equal(r.stdout.toString(), 'inside the watched directory', r.stderr.toString());
  const ev = await c!.waitFor((e) => e.comm === 'cat' && e.resolvedPath === `${at}/inner` && e.hostPath === `${at}/inner`, 'cat in the private namespace');
  assert.deepEqual(ev.identityPaths, [{ path: inner, containerId: null }]);
});

test('chroot into a directory holding a bind-mounted copy of the watched one: the process path, the host path and the rule path', async (t) => {
  if (!needsBpf(t)) return;
  const jail = join(dir, 'jail');
  bind(watched, join(jail, 'x'));
  const r = spawnSync('chroot', [jail, '/evasions', 'cat', '/x/inner'], { encoding: 'utf8' });
  assert.match(r.stdout, /inside the watched directory/, r.stderr);
  const ev = await c!.waitFor((e) => e.comm === 'evasions' && e.resolvedPath === '/x/inner', 'the read inside the chroot');
  assert.equal(ev.absPath, '/x/inner', 'the path as the process sees it');
  assert.equal(ev.hostPath, join(jail, 'x', 'inner'), 'the path as the host sees it');
  assert.deepEqual(ev.identityPaths, [{ path: inner, containerId: null }], 'the path the rule names');
});

test('io_uring IORING_OP_OPENAT of the watched file is an open', async (t) => {
  if (!needsBpf(t)) return;
  assert.equal(c!.monitor.uringGap(), null, 'this kernel has the io_uring completion tracepoint');
  const r = spawnSync(EVASIONS, ['uring', secret], { encoding: 'utf8' });
  assert.match(r.stdout, /^\d+ the secret/, r.stderr);
  const ev = await c!.waitFor((e) => e.hostPid === r.pid && e.syscall === 'io_uring_enter', 'the io_uring open');
  assert.equal(ev.resolvedPath, secret);
  assert.equal(ev.absPath, secret, 'no requested path by completion: the file opened stands for it');
  assert.ok(ev.ret >= 0);
});

test('io_uring: the name asked for is carried; a failed open of a watched name is reported, a failed open elsewhere is not', async (t) => {
  if (!needsBpf(t)) return;
  const ok = spawnSync(EVASIONS, ['uring', secret], { encoding: 'utf8' });
  const okEv = await c!.waitFor((e) => e.hostPid === ok.pid && e.syscall === 'io_uring_enter', 'the io_uring open');
  assert.equal(okEv.path, secret, 'the name the program asked for');
  const missing = join(watched, 'missing');
  const elsewhere = join(dir, 'other', 'missing');
  const outside = spawnSync(EVASIONS, ['uring', elsewhere], { encoding: 'utf8' });
  assert.match(outside.stdout, /^-2 /, outside.stderr);
  const r = spawnSync(EVASIONS, ['uring', missing], { encoding: 'utf8' });
  assert.match(r.stdout, /^-2 /, r.stderr);
  const ev = await c!.waitFor((e) => e.hostPid === r.pid && e.syscall === 'io_uring_enter', 'the failed io_uring open');
  assert.equal(ev.ret, -2, 'ENOENT');
  assert.equal(ev.absPath, missing);
  assert.equal(ev.resolvedPath, null, 'nothing was opened');
  assert.equal(c!.events.some((e) => e.hostPid === outside.pid), false, 'a failed open outside the rules passed the kernel filter');
});

test('io_uring: an open into a fixed-file slot (no descriptor) is judged by the file it opened, a hard link included', async (t) => {
  if (!needsBpf(t)) return;
  const r = spawnSync(EVASIONS, ['uringfixed', secret], { encoding: 'utf8' });
  assert.match(r.stdout, /^0 the secret/, r.stderr);
  const ev = await c!.waitFor((e) => e.hostPid === r.pid && e.syscall === 'io_uring_enter', 'the fixed-file io_uring open');
  assert.equal(ev.resolvedPath, secret);
  assert.equal(ev.ret, 0, 'the result of an open into a given slot');
  // Through a hard link outside the rules: the name asked for cannot pass, the file's identity does.
  const link = join(dir, 'other', 'uring-fixed-link');
  linkSync(secret, link);
  const viaLink = spawnSync(EVASIONS, ['uringfixed', link], { encoding: 'utf8' });
  assert.match(viaLink.stdout, /^0 the secret/, viaLink.stderr);
  const linked = await c!.waitFor((e) => e.hostPid === viaLink.pid && e.syscall === 'io_uring_enter', 'the fixed-file open through a hard link');
  assert.deepEqual(linked.identityPaths, [{ path: secret, containerId: null }]);
});

test('open_by_handle_at of the watched file is an open, judged by the file it opened', async (t) => {
  if (!needsBpf(t)) return;
  // (A file with one name: a handle leads to the inode, whose name the kernel picks among its links.)
  const r = spawnSync(EVASIONS, ['handle', inner], { encoding: 'utf8' });
  assert.match(r.stdout, /^\d+ inside the watched directory/, r.stderr);
  const ev = await c!.waitFor((e) => e.hostPid === r.pid && e.syscall === 'open_by_handle_at', 'the open by handle');
  assert.equal(ev.resolvedPath, inner);
  assert.equal(ev.path, '');
});

test('files outside the rules stay filtered in the kernel, whichever way they are opened', async (t) => {
  if (!needsBpf(t)) return;
  const plain = join(dir, 'other', 'plain');
  writeFileSync(plain, 'nothing');
  const pids = [spawnSync('cat', [plain]).pid, spawnSync(EVASIONS, ['uring', plain]).pid, spawnSync(EVASIONS, ['handle', plain]).pid];
  // A later event proves the earlier ones would have arrived by now.
  const cat = spawnSync('cat', [secret]);
  await c!.waitFor((e) => e.hostPid === cat.pid && e.resolvedPath === secret, 'the marker read');
  assert.deepEqual(c!.events.filter((e) => pids.includes(e.hostPid) && e.resolvedPath === plain).map((e) => e.syscall), []);
});

// Spellings that were already caught (issue 14's probe), kept proven here against the same narrow filter.
test('still caught: /proc/self/root/..., /proc/self/fd/N reopened, /proc/self/map_files/..., a dirfd passed over a unix socket, a long path', async (t) => {
  if (!needsBpf(t)) return;
  const root = spawnSync('cat', [`/proc/self/root${secret}`]);
  const viaRoot = await c!.waitFor((e) => e.hostPid === root.pid && e.path.startsWith('/proc/self/root/'), '/proc/self/root spelling');
  assert.equal(viaRoot.resolvedPath, secret);

  const fd = spawnSync(EVASIONS, ['procfd', secret]);
  const viaFd = await c!.waitFor((e) => e.hostPid === fd.pid && e.path.startsWith('/proc/self/fd/'), '/proc/self/fd reopen');
  assert.equal(viaFd.resolvedPath, secret);

  const mapped = spawnSync(EVASIONS, ['mapfiles', secret]);
  const viaMap = await c!.waitFor((e) => e.hostPid === mapped.pid && e.path.startsWith('/proc/self/map_files/'), '/proc/self/map_files open');
  assert.equal(viaMap.resolvedPath, secret);

  const scm = spawnSync(EVASIONS, ['scm', join(dir, 'w'), 'secret'], { encoding: 'utf8' });
  assert.match(scm.stdout, /the secret/, scm.stderr);
  const viaScm = await c!.waitFor((e) => e.hostPid === scm.pid && e.path === 'secret', 'openat on a received dirfd');
  assert.ok(viaScm.dirfd >= 0);
  assert.equal(viaScm.absPath, secret);

  let deep = watched;
  for (let i = 0; i < 6; i++) deep = join(deep, `${'long-directory-name-'.repeat(3)}${i}`);
  mkdirSync(deep, { recursive: true });
  const far = join(deep, 'f');
  writeFileSync(far, 'far');
  assert.ok(far.length > 300);
  const long = spawnSync('cat', [far]);
  const viaLong = await c!.waitFor((e) => e.hostPid === long.pid && e.resolvedPath === far, 'a path longer than the fast scan');
  assert.equal(viaLong.absPath, far);
});

test('open_tree of the watched directory, mount_setattr of a mount of it, pivot_root into it: events naming it (Operation File)', async (t) => {
  if (!needsBpf(t)) return;
  const tree = spawnSync(EVASIONS, ['tree', watched], { encoding: 'utf8' });
  assert.equal(tree.status, 0, tree.stderr);
  const opened = await c!.waitFor((e) => e.hostPid === tree.pid && e.syscall === 'open_tree', 'open_tree of the watched directory');
  assert.equal(opened.absPath, watched);
  assert.ok(opened.ret >= 0, `open_tree returned ${opened.ret}`);

  // In a private mount namespace: the directory bind-mounted on itself, so that it is a mount.
  const set = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind '${watched}' '${watched}' && exec '${EVASIONS}' setattr '${watched}'`], { encoding: 'utf8' });
  assert.equal(set.status, 0, set.stderr);
  // (unshare may make its own mount_setattr of "/" for --propagation: the one on the directory is looked for.)
  const attr = await c!.waitFor((e) => e.hostPid === set.pid && e.syscall === 'mount_setattr' && e.absPath === watched, 'mount_setattr of the watched directory');
  assert.equal(attr.ret, 0);
  assert.equal(attr.flags, 0);

  mkdirSync(join(watched, 'old'), { recursive: true });
  const pivot = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind '${watched}' '${watched}' && cd '${watched}' && exec pivot_root '${watched}' '${watched}/old'`], { encoding: 'utf8' });
  // (Absolute paths: a relative one is made absolute against the working directory read when the
  // call returns, which pivot_root has just moved to the new root.)
  const root = await c!.waitFor((e) => e.hostPid === pivot.pid && e.syscall === 'pivot_root', `pivot_root into the watched directory (exit ${pivot.status}: ${pivot.stderr})`);
  assert.equal(root.absPath, watched);
  assert.equal(root.absPath2, join(watched, 'old'));
});
