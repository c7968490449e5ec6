// Real eBPF: child processes execute programs and the execution events must say what ran, how it
// was asked for, with which arguments and terminal, and why it failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { EXEC_MAX_ARGS, EXEC_MAX_ARG_LEN } from '../../src/types.ts';
import { collect, run, type Collected } from './harness.ts';

const EXECOPS = new URL('../../build/execops', import.meta.url).pathname;
const TRUE = realpathSync('/bin/true');
let c: Collected | null = null;
let dir = '';

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-exec-')));
  c = await collect();
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('exec by absolute path: the file run, its owner, argv, and the caller and parent executables', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run('/bin/true', ['by-path', 'x y'], '/tmp');
  const ev = await c!.waitForExec((e) => e.hostPid === pid && e.ret === 0, 'exec of /bin/true');
  assert.equal(ev.kind, 'process');
  assert.equal(ev.syscall, 'execve');
  assert.deepEqual([ev.path, ev.absPath, ev.resolvedPath, ev.exePath], ['/bin/true', '/bin/true', TRUE, TRUE]);
  assert.equal(ev.ownerUid, statSync(TRUE).uid);
  assert.deepEqual(ev.argv, ['/bin/true', 'by-path', 'x y']);
  assert.equal(ev.argvTruncated, false);
  // node spawned it: the caller was the forked node process, the parent is node itself.
  assert.equal(ev.callerExePath, realpathSync(process.execPath));
  assert.equal(ev.parentExePath, realpathSync(process.execPath));
  assert.equal(ev.hostPpid, process.pid);
  assert.equal(ev.cwd, '/tmp');
  assert.deepEqual([ev.uid, ev.euid, ev.gid], [0, 0, 0]);
  assert.equal(ev.comm, 'true');
  assert.ok(ev.timestampNs > BigInt(Date.now() - 60_000) * 1_000_000n, 'timestamp is wall-clock time');
});

test('exec through a symlink, by a relative path: requested path made absolute, resolved path of the target', async (t) => {
  if (!needsBpf(t)) return;
  symlinkSync('/bin/true', join(dir, 'link-true'));
  const pid = run('./link-true', ['via-link'], dir);
  const ev = await c!.waitForExec((e) => e.hostPid === pid && e.ret === 0, 'exec of ./link-true');
  assert.equal(ev.path, './link-true');
  assert.equal(ev.absPath, join(dir, 'link-true'));
  assert.equal(ev.resolvedPath, TRUE);
  assert.deepEqual(ev.argv, ['./link-true', 'via-link']);
});

test('execveat on a directory fd: the name is joined to that directory', async (t) => {
  if (!needsBpf(t)) return;
  const pid = run(EXECOPS, ['execveat', '/usr/bin', 'true', 'at-arg'], '/tmp');
  const ev = await c!.waitForExec((e) => e.hostPid === pid && e.argv[1] === 'at-arg', 'execveat(dirfd of /usr/bin, "true")');
  assert.equal(ev.syscall, 'execveat');
  assert.ok(ev.dirfd >= 0, `dirfd ${ev.dirfd} is a descriptor`);
  assert.deepEqual([ev.path, ev.absPath, ev.resolvedPath], ['true', '/usr/bin/true', TRUE]);
  assert.deepEqual(ev.argv, ['true', 'at-arg']);
  assert.equal(ev.callerExePath, realpathSync(EXECOPS));
  // An O_CLOEXEC dirfd is closed by the exec before the hook runs: the file run stands in.
  const gone = run(EXECOPS, ['execveat-cloexec', '/usr/bin', 'true', 'gone-arg'], '/tmp');
  const g = await c!.waitForExec((e) => e.hostPid === gone && e.argv[1] === 'gone-arg', 'execveat with an O_CLOEXEC dirfd');
  assert.equal(g.syscall, 'execveat');
  assert.deepEqual([g.path, g.absPath], ['true', TRUE]);
});

test('arguments are capped at 20 after argv[0], each at 104 bytes, and the cut is flagged', async (t) => {
  if (!needsBpf(t)) return;
  const long = 'L'.repeat(300);
  const many = Array.from({ length: 30 }, (_, i) => (i === 3 ? long : `arg${i}`));
  const pid = run('/bin/true', many);
  const ev = await c!.waitForExec((e) => e.hostPid === pid && e.ret === 0, 'exec with 30 arguments');
  assert.equal(ev.argv.length, EXEC_MAX_ARGS + 1);
  assert.equal(ev.argv[4], long.slice(0, EXEC_MAX_ARG_LEN));
  assert.deepEqual(ev.argv.slice(1, 4), ['arg0', 'arg1', 'arg2']);
  assert.equal(ev.argv[EXEC_MAX_ARGS], `arg${EXEC_MAX_ARGS - 1}`);
  assert.equal(ev.argvTruncated, true);
  // Exactly at the caps: nothing is cut and nothing is flagged.
  const full = Array.from({ length: EXEC_MAX_ARGS }, (_, i) => String(i % 10).repeat(EXEC_MAX_ARG_LEN));
  const pid2 = run('/bin/true', full);
  const ev2 = await c!.waitForExec((e) => e.hostPid === pid2 && e.ret === 0, 'exec with 20 arguments of 104 bytes');
  assert.deepEqual(ev2.argv, ['/bin/true', ...full]);
  assert.equal(ev2.argvTruncated, false);
  // One byte more in one argument is a cut.
  const pid3 = run('/bin/true', ['x'.repeat(EXEC_MAX_ARG_LEN + 1)]);
  const ev3 = await c!.waitForExec((e) => e.hostPid === pid3 && e.ret === 0, 'exec with a 105-byte argument');
  assert.equal(ev3.argv[1], 'x'.repeat(EXEC_MAX_ARG_LEN));
  assert.equal(ev3.argvTruncated, true);
});

test('failed executions are events with their errno: ENOENT, EACCES, ENOEXEC', async (t) => {
  if (!needsBpf(t)) return;
  const noExec = join(dir, 'not-executable');
  writeFileSync(noExec, '#!/bin/sh\n');
  chmodSync(noExec, 0o644);
  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]));
  chmodSync(garbage, 0o755);
  for (const [path, errno] of [[join(dir, 'missing'), 2], [noExec, 13], [garbage, 8]] as const) {
    const pid = run(EXECOPS, ['execve', path, 'failing-arg'], dir);
    const ev = await c!.waitForExec((e) => e.hostPid === pid && e.syscall === 'execve' && e.ret < 0, `failed exec of ${path}`);
    assert.equal(ev.ret, -errno, path);
    assert.deepEqual([ev.path, ev.absPath, ev.resolvedPath, ev.ownerUid], [path, path, null, null]);
    assert.deepEqual(ev.argv, [path, 'failing-arg']);
    // The process still runs the program that called exec.
    assert.deepEqual([ev.exePath, ev.callerExePath], [realpathSync(EXECOPS), realpathSync(EXECOPS)]);
  }
});

test('the controlling terminal: pts<N> under a pty, on executions and file events; none without one', async (t) => {
  if (!needsBpf(t)) return;
  const marker = `tty-${process.pid}`;
  // script(1) runs the command on a fresh pty; setsid(1) in a new session without a terminal.
  run('/usr/bin/script', ['-qec', `/bin/cat /etc/hostname ${marker}-present; true`, '/dev/null']);
  const ex = await c!.waitForExec((e) => e.argv[2] === `${marker}-present` && e.ret === 0, 'exec under script');
  assert.match(ex.tty ?? 'null', /^pts\d+$/);
  const file = await c!.waitFor((e) => e.hostPid === ex.hostPid && e.path === '/etc/hostname', 'open under script');
  assert.equal(file.tty, ex.tty);
  run('/usr/bin/setsid', ['-w', '/bin/cat', '/etc/hostname', `${marker}-absent`]);
  const no = await c!.waitForExec((e) => e.argv[2] === `${marker}-absent` && e.ret === 0, 'exec under setsid');
  assert.equal(no.tty, null);
  const noFile = await c!.waitFor((e) => e.hostPid === no.hostPid && e.path === '/etc/hostname', 'open under setsid');
  assert.equal(noFile.tty, null);
});

test('effective uid: a process running with euid 1234 reports it next to its real uid', async (t) => {
  if (!needsBpf(t)) return;
  const bin = join(dir, 'euid-cat');
  copyFileSync('/bin/cat', bin);
  chmodSync(bin, 0o755);
  run('/usr/bin/setpriv', ['--euid', '1234', bin, '/etc/hostname']);
  const ev = await c!.waitForExec((e) => e.absPath === bin && e.ret === 0, 'exec under setpriv --euid 1234');
  assert.deepEqual([ev.uid, ev.euid], [0, 1234]);
  const open = await c!.waitFor((e) => e.hostPid === ev.hostPid && e.path === '/etc/hostname', 'open with euid 1234');
  assert.deepEqual([open.uid, open.euid], [0, 1234]);
});
