import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent as decodeAny, EventDecoder, EXEC_SYSCALL_NUMBERS, isExecEvent, SYSCALL_NUMBERS } from '../../src/monitor/decode.ts';
import { MonitorError } from '../../src/monitor/errors.ts';
import { EVENT_FIELDS as F, EVENT_HEADER_SIZE, EV_FLAGS, STR_SLOTS } from '../../src/monitor/layout.ts';
import type { ExecEvent, FileEvent } from '../../src/types.ts';

type Strings = Partial<Record<keyof typeof STR_SLOTS, string>>;

function decodeEvent(rec: Buffer, offset: bigint): FileEvent {
  const ev = decodeAny(rec, offset);
  assert.ok(!isExecEvent(ev), 'a file record decodes to a FileEvent');
  return ev;
}

function decodeExec(rec: Buffer, offset = 0n): ExecEvent {
  const ev = decodeAny(rec, offset);
  assert.ok(isExecEvent(ev), 'an execve/execveat record decodes to an ExecEvent');
  return ev;
}

/** A record as the kernel would write it. */
function record(fields: { nr: number; ret?: number; dirfd?: number; dirfd2?: number; flags?: number; evFlags?: number; argA?: bigint; argB?: bigint; owner?: number }, strs: Strings): Buffer {
  const h = Buffer.alloc(EVENT_HEADER_SIZE);
  h.writeBigUInt64LE(1_000_000_000n, F.ts_boot_ns[0]);
  h.writeBigUInt64LE(77n, F.cgroup_id[0]);
  h.writeUInt32LE(4242, F.host_pid[0]);
  h.writeUInt32LE(4243, F.host_tid[0]);
  h.writeUInt32LE(4000, F.host_ppid[0]);
  h.writeUInt32LE(7, F.ns_pid[0]);
  h.writeUInt32LE(1, F.ns_ppid[0]);
  h.writeUInt32LE(1000, F.uid[0]);
  h.writeUInt32LE(100, F.gid[0]);
  h.writeUInt32LE(0, F.euid[0]);
  h.writeUInt32LE(fields.nr, F.syscall_nr[0]);
  h.writeInt32LE(fields.dirfd ?? -100, F.dirfd[0]);
  h.writeInt32LE(fields.dirfd2 ?? -100, F.dirfd2[0]);
  h.writeUInt32LE(fields.flags ?? 0, F.flags[0]);
  h.writeUInt32LE(fields.owner ?? 0, F.owner_uid[0]);
  h.writeBigInt64LE(BigInt(fields.ret ?? 3), F.ret[0]);
  h.writeBigUInt64LE(fields.argA ?? 0n, F.arg_a[0]);
  h.writeBigUInt64LE(fields.argB ?? 0n, F.arg_b[0]);
  h.writeUInt32LE(fields.evFlags ?? 0, F.ev_flags[0]);
  h.write('cat', F.comm[0]);
  const parts: Buffer[] = [h];
  for (const [name, slot] of Object.entries(STR_SLOTS)) {
    const b = Buffer.from(strs[name as keyof typeof STR_SLOTS] ?? '');
    h.writeUInt16LE(b.length, F.str_len[0] + 2 * slot);
    parts[slot + 1] = b;
  }
  return Buffer.concat(parts);
}

test('an openat relative to the cwd decodes with absolute, resolved and wall-clock fields', () => {
  const ev = decodeEvent(record({ nr: SYSCALL_NUMBERS.openat, flags: 0o2000000, evFlags: EV_FLAGS.ownerValid, owner: 0 },
    { path: '../etc/hostname', cwd: '/tmp', resolved: '/etc/hostname', exe: '/usr/bin/cat', pexe: '/usr/bin/bash' }), 5n);
  assert.equal(ev.syscall, 'openat');
  assert.equal(ev.timestampNs, 1_000_000_005n);
  assert.equal(ev.absPath, '/etc/hostname');
  assert.equal(ev.resolvedPath, '/etc/hostname');
  assert.equal(ev.dirfd, -100);
  assert.equal(ev.ownerUid, 0);
  assert.deepEqual([ev.hostPid, ev.hostTid, ev.hostPpid, ev.pid, ev.ppid, ev.uid, ev.gid], [4242, 4243, 4000, 7, 1, 1000, 100]);
  assert.deepEqual([ev.comm, ev.exePath, ev.parentExePath, ev.cgroupId], ['cat', '/usr/bin/cat', '/usr/bin/bash', 77n]);
});

test('a relative path with a dirfd is joined to that directory, not the cwd', () => {
  const ev = decodeEvent(record({ nr: SYSCALL_NUMBERS.openat, dirfd: 3 }, { path: 'hostname', cwd: '/tmp', dir: '/etc' }), 0n);
  assert.equal(ev.absPath, '/etc/hostname');
  assert.equal(ev.dirfd, 3);
});

test('a failed open has no resolved path and no owner', () => {
  const ev = decodeEvent(record({ nr: SYSCALL_NUMBERS.open, ret: -2 }, { path: '/nope', cwd: '/' }), 0n);
  assert.equal(ev.ret, -2);
  assert.equal(ev.resolvedPath, null);
  assert.equal(ev.ownerUid, null);
});

test('renameat2 carries both paths, each against its own directory, and newdirfd', () => {
  const ev = decodeEvent(record({ nr: SYSCALL_NUMBERS.renameat2, dirfd: 4, dirfd2: -100, evFlags: EV_FLAGS.hasPath2, ret: 0 },
    { path: 'a', path2: 'b', cwd: '/tmp', dir: '/srv' }), 0n);
  assert.deepEqual([ev.path, ev.absPath, ev.path2, ev.absPath2], ['a', '/srv/a', 'b', '/tmp/b']);
  assert.deepEqual(ev.args, { newdirfd: -100 });
  assert.equal(ev.resolvedPath, null);
});

test('chown carries uid and gid as named args', () => {
  const ev = decodeEvent(record({ nr: SYSCALL_NUMBERS.chown, argA: 1000n, argB: 100n, ret: 0 }, { path: '/x', cwd: '/' }), 0n);
  assert.deepEqual(ev.args, { uid: 1000, gid: 100 });
});

test('short records, overrunning strings and unknown syscalls are decode errors', () => {
  const ok = record({ nr: SYSCALL_NUMBERS.open }, { path: '/etc/hostname', cwd: '/' });
  const isDecode = (e: unknown): boolean => e instanceof MonitorError && e.code === 'AW_MONITOR_DECODE';
  assert.throws(() => decodeEvent(ok.subarray(0, 100), 0n), isDecode);
  assert.throws(() => decodeEvent(ok.subarray(0, ok.length - 1), 0n), isDecode);
  const bad = Buffer.from(ok);
  bad.writeUInt32LE(9999, F.syscall_nr[0]);
  assert.throws(() => decodeEvent(bad, 0n), /unknown syscall number 9999/);
});

test('a decoder reused across events of one process gives each event its own strings', () => {
  const d = new EventDecoder();
  const first = d.decode(record({ nr: SYSCALL_NUMBERS.openat }, { path: 'a', cwd: '/tmp', exe: '/bin/sh', pexe: '/sbin/init' }), 0n);
  const same = d.decode(record({ nr: SYSCALL_NUMBERS.openat }, { path: 'a', cwd: '/tmp', exe: '/bin/sh', pexe: '/sbin/init' }), 0n);
  // Same pid after an execve and a chdir: every cached string must follow the new bytes.
  const after = d.decode(record({ nr: SYSCALL_NUMBERS.openat }, { path: 'a', cwd: '/var', exe: '/bin/ls', pexe: '/bin/sh' }), 0n);
  const other = d.decode(record({ nr: SYSCALL_NUMBERS.openat }, { path: 'b', cwd: '/var', exe: '/bin/ls', pexe: '/bin/sh' }), 0n);
  const viaDir = d.decode(record({ nr: SYSCALL_NUMBERS.openat, dirfd: 5 }, { path: 'b', cwd: '/var', dir: '/etc', exe: '/bin/ls', pexe: '/bin/sh' }), 0n);
  assert.deepEqual([first.absPath, first.exePath, first.parentExePath, first.cwd], ['/tmp/a', '/bin/sh', '/sbin/init', '/tmp']);
  assert.deepEqual(same, first);
  assert.deepEqual([after.absPath, after.exePath, after.parentExePath, after.cwd], ['/var/a', '/bin/ls', '/bin/sh', '/var']);
  assert.equal(other.absPath, '/var/b');
  assert.equal(viaDir.absPath, '/etc/b');
  for (const ev of [first, after, other, viaDir]) assert.deepEqual(ev, decodeEvent(record({ nr: SYSCALL_NUMBERS.openat, dirfd: ev.dirfd }, { path: ev.path, cwd: ev.cwd, dir: ev.dirfd === 5 ? '/etc' : '', exe: ev.exePath, pexe: ev.parentExePath }), 0n));
});

test('a successful execve decodes to an ExecEvent: the program run, the caller, argv, terminal and euid', () => {
  const rec = record({ nr: EXEC_SYSCALL_NUMBERS.execve, ret: 0, evFlags: EV_FLAGS.ownerValid, owner: 0 },
    { path: 'bin/../bin/apt', cwd: '/usr', resolved: '/usr/bin/apt', pexe: '/usr/bin/bash', caller: '/usr/bin/bash',
      tty: 'pts3', argv: '/usr/bin/apt\0update\0\0' });
  rec.writeUInt32LE(1234, F.euid[0]);
  const ev = decodeExec(rec);
  assert.equal(ev.kind, 'process');
  assert.equal(ev.syscall, 'execve');
  assert.deepEqual([ev.path, ev.absPath, ev.resolvedPath, ev.exePath], ['bin/../bin/apt', '/usr/bin/apt', '/usr/bin/apt', '/usr/bin/apt']);
  assert.deepEqual([ev.callerExePath, ev.parentExePath, ev.cwd], ['/usr/bin/bash', '/usr/bin/bash', '/usr']);
  assert.deepEqual(ev.argv, ['/usr/bin/apt', 'update', ''], 'an empty argument is kept');
  assert.equal(ev.argvTruncated, false);
  assert.equal(ev.tty, 'pts3');
  assert.deepEqual([ev.uid, ev.euid, ev.ownerUid], [1000, 1234, 0]);
});

test('a failed exec has its errno, no resolved path, and the caller still running its own program', () => {
  const ev = decodeExec(record({ nr: EXEC_SYSCALL_NUMBERS.execve, ret: -2, evFlags: EV_FLAGS.argvTruncated },
    { path: '/nope', cwd: '/', exe: '/usr/bin/bash', pexe: '/sbin/init', argv: '/nope\0' }));
  assert.deepEqual([ev.ret, ev.resolvedPath, ev.ownerUid, ev.tty], [-2, null, null, null]);
  assert.deepEqual([ev.exePath, ev.callerExePath, ev.absPath], ['/usr/bin/bash', '/usr/bin/bash', '/nope']);
  assert.equal(ev.argvTruncated, true);
});

test('execveat on a dirfd: the name is joined to the directory; without name or directory, the file run stands in', () => {
  const nr = EXEC_SYSCALL_NUMBERS.execveat;
  const named = decodeExec(record({ nr, ret: 0, dirfd: 3 }, { path: '/dev/fd/3/true', cwd: '/tmp', dir: '/usr/bin', resolved: '/usr/bin/true' }));
  assert.deepEqual([named.syscall, named.dirfd, named.path, named.absPath], ['execveat', 3, 'true', '/usr/bin/true']);
  const empty = decodeExec(record({ nr, ret: 0, dirfd: 3 }, { path: '/dev/fd/3', cwd: '/tmp', resolved: '/usr/bin/true' }));
  assert.deepEqual([empty.path, empty.absPath], ['', '/usr/bin/true']);
  const gone = decodeExec(record({ nr, ret: 0, dirfd: 3, evFlags: EV_FLAGS.dirGone }, { path: '/dev/fd/3/t', cwd: '/tmp', resolved: '/usr/bin/true' }));
  assert.deepEqual([gone.path, gone.absPath], ['t', '/usr/bin/true']);
  const failed = decodeExec(record({ nr, ret: -13, dirfd: 4 }, { path: 'x', cwd: '/tmp', dir: '/srv', exe: '/bin/sh' }));
  assert.deepEqual([failed.path, failed.absPath, failed.resolvedPath], ['x', '/srv/x', null]);
});

test('an open matched by identity: the host path from its slot, the rule path from the lookup and the depth', () => {
  const rec = record({ nr: SYSCALL_NUMBERS.openat, evFlags: EV_FLAGS.ident },
    { path: '/x/inner', cwd: '/', resolved: '/x/inner', host: '/jail/x/inner' });
  rec.writeUInt32LE(253 << 20, F.ident_dev[0]);
  rec.writeUInt32LE(1, F.ident_depth[0]);
  rec.writeBigUInt64LE(1234n, F.ident_ino[0]);
  const seen: Array<[number, bigint]> = [];
  const ev = new EventDecoder((dev, ino) => { seen.push([dev, ino]); return '/etc/ssh'; }).decode(rec, 0n) as FileEvent;
  assert.deepEqual(seen, [[253 << 20, 1234n]]);
  assert.equal(ev.absPath, '/x/inner');
  assert.equal(ev.hostPath, '/jail/x/inner');
  assert.equal(ev.identityPath, '/etc/ssh/inner');
  const plain = decodeEvent(record({ nr: SYSCALL_NUMBERS.openat }, { path: '/etc/hostname', cwd: '/', resolved: '/etc/hostname' }), 0n);
  assert.equal(plain.hostPath, '/etc/hostname', 'no host slot: the host path is the resolved one');
  assert.equal(plain.identityPath, null);
});

test('links, symlinks and mounts carry both names; a relative symlink target is relative to the link; a non-bind mount is its target', () => {
  const ln = decodeEvent(record({ nr: SYSCALL_NUMBERS.linkat, evFlags: EV_FLAGS.hasPath2, ret: 0 }, { path: 'secret', path2: '/tmp/l', cwd: '/etc' }), 0n);
  assert.deepEqual([ln.absPath, ln.absPath2, ln.resolvedPath], ['/etc/secret', '/tmp/l', null]);
  const sym = decodeEvent(record({ nr: SYSCALL_NUMBERS.symlink, evFlags: EV_FLAGS.hasPath2, ret: 0 }, { path: '../etc/shadow', path2: '/tmp/a/l', cwd: '/root' }), 0n);
  assert.deepEqual([sym.absPath, sym.absPath2], ['/tmp/etc/shadow', '/tmp/a/l']);
  const bind = decodeEvent(record({ nr: SYSCALL_NUMBERS.mount, evFlags: EV_FLAGS.hasPath2, ret: 0, flags: 0x1000 }, { path: '/etc', path2: '/mnt', cwd: '/' }), 0n);
  assert.deepEqual([bind.absPath, bind.absPath2], ['/etc', '/mnt']);
  const tmpfs = decodeEvent(record({ nr: SYSCALL_NUMBERS.mount, evFlags: EV_FLAGS.hasPath2, ret: 0 }, { path: 'tmpfs', path2: '/mnt', cwd: '/etc' }), 0n);
  assert.deepEqual([tmpfs.path, tmpfs.absPath], ['tmpfs', '/mnt']);
});
