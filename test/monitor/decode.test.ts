import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent as decodeAny, EventDecoder, EXEC_SYSCALL_NUMBERS, isExecEvent, isFileEvent, isNetworkEvent, SYSCALL_NUMBERS } from '../../src/monitor/decode.ts';
import { MonitorError } from '../../src/monitor/errors.ts';
import { EVENT_FIELDS as F, EVENT_HEADER_SIZE, EV_FLAGS, STR_SLOTS } from '../../src/monitor/layout.ts';
import type { ExecEvent, FileEvent, NetworkEvent } from '../../src/types.ts';
import { SYSCALLS } from '../../src/syscalls.ts';

type Strings = Partial<Record<keyof typeof STR_SLOTS, string | Buffer>>;

function decodeEvent(rec: Buffer, offset: bigint): FileEvent {
  const ev = decodeAny(rec, offset);
  assert.ok(isFileEvent(ev), 'a file record decodes to a FileEvent');
  return ev;
}

function decodeExec(rec: Buffer, offset = 0n): ExecEvent {
  const ev = decodeAny(rec, offset);
  assert.ok(isExecEvent(ev), 'an execve/execveat record decodes to an ExecEvent');
  return ev;
}

/** A record as the kernel would write it. */
function record(fields: { nr: number; ret?: number; dirfd?: number; dirfd2?: number; flags?: number; mode?: number; evFlags?: number; argA?: bigint; argB?: bigint; owner?: number }, strs: Strings): Buffer {
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
  h.writeUInt32LE(fields.mode ?? 0, F.mode[0]);
  h.writeUInt32LE(fields.owner ?? 0, F.owner_uid[0]);
  h.writeBigInt64LE(BigInt(fields.ret ?? 3), F.ret[0]);
  h.writeBigUInt64LE(fields.argA ?? 0n, F.arg_a[0]);
  h.writeBigUInt64LE(fields.argB ?? 0n, F.arg_b[0]);
  h.writeUInt32LE(fields.evFlags ?? 0, F.ev_flags[0]);
  h.write('cat', F.comm[0]);
  const parts: Buffer[] = [h];
  for (const [name, slot] of Object.entries(STR_SLOTS)) {
    const given = strs[name as keyof typeof STR_SLOTS];
    if (given === undefined && parts[slot + 1] !== undefined) continue; // remote/local name the path slots of network events
    const b = typeof given === 'object' ? given : Buffer.from(given ?? '');
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
  const cached = new EventDecoder();
  const d = { decode: (rec: Buffer, off: bigint): FileEvent => { const ev = cached.decode(rec, off); assert.ok(isFileEvent(ev)); return ev; } };
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
  const ev = new EventDecoder((dev, ino) => { seen.push([dev, ino]); return [{ path: '/etc/ssh', containerId: null }, { path: '/srv/conf', containerId: 'c1' }]; }).decode(rec, 0n) as FileEvent;
  assert.deepEqual(seen, [[253 << 20, 1234n]]);
  assert.equal(ev.absPath, '/x/inner');
  assert.equal(ev.hostPath, '/jail/x/inner');
  assert.deepEqual(ev.identityPaths, [{ path: '/etc/ssh/inner', containerId: null }, { path: '/srv/conf/inner', containerId: 'c1' }], 'one path per scope that watches the identity');
  const plain = decodeEvent(record({ nr: SYSCALL_NUMBERS.openat }, { path: '/etc/hostname', cwd: '/', resolved: '/etc/hostname' }), 0n);
  assert.equal(plain.hostPath, '/etc/hostname', 'no host slot: the host path is the resolved one');
  assert.equal(plain.identityPaths, null);
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

function decodeNet(d: EventDecoder, rec: Buffer): NetworkEvent {
  const ev = d.decode(rec, 0n);
  assert.ok(isNetworkEvent(ev), 'a network record decodes to a NetworkEvent');
  return ev;
}

/** struct sockaddr bytes as the kernel copies them (family in host order, port and address in network order). */
function sockaddr(family: number, port: number, addr: number[], len?: number): Buffer {
  const b = Buffer.alloc(len ?? (family === 10 ? 28 : 16));
  b.writeUInt16LE(family, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(addr).copy(b, family === 10 ? 8 : 4);
  return b;
}

function unixAddr(path: string, abstract: boolean): Buffer {
  const name = Buffer.from(path);
  const b = Buffer.alloc(2 + (abstract ? 1 : 0) + name.length + (abstract ? 0 : 1));
  b.writeUInt16LE(1, 0);
  name.copy(b, abstract ? 3 : 2);
  return b;
}

test('network records decode with the call, socket triple, addresses and the phase', () => {
  const d = new EventDecoder();
  const nr = (n: keyof typeof SYSCALLS): number => SYSCALLS[n].nr;
  const proc = { cwd: '/srv', exe: '/usr/bin/curl', pexe: '/bin/sh' };
  const connect = decodeNet(d, record({ nr: nr('connect'), dirfd: 3, ret: -115, argA: 2n, argB: 1n, mode: 6 },
    { ...proc, remote: sockaddr(2, 5432, [10, 0, 0, 7]) }));
  assert.equal(connect.syscall, 'connect');
  assert.equal(connect.phase, 'call');
  assert.deepEqual([connect.fd, connect.ret, connect.domain, connect.type, connect.protocol], [3, -115, 2, 1, 6]);
  assert.deepEqual(connect.remote, { family: 'inet', address: '10.0.0.7', port: 5432 });
  assert.equal(connect.local, null);
  assert.deepEqual([connect.exePath, connect.cwd, connect.parentExePath], ['/usr/bin/curl', '/srv', '/bin/sh']);

  // The outcome reported in softirq carries only its address: the process's strings come from its call.
  const outcome = decodeNet(d, record({ nr: nr('connect'), dirfd: 3, ret: -111, argA: 2n, argB: 1n, mode: 6, evFlags: EV_FLAGS.netOutcome },
    { remote: sockaddr(2, 5432, [10, 0, 0, 7]) }));
  assert.equal(outcome.phase, 'outcome');
  assert.equal(outcome.ret, -111);
  assert.deepEqual([outcome.exePath, outcome.cwd], ['/usr/bin/curl', '/srv']);

  const v6 = decodeNet(d, record({ nr: nr('accept4'), dirfd: 4, ret: 5, argA: 10n, argB: 1n, mode: 6 }, {
    ...proc,
    remote: sockaddr(10, 40000, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    local: sockaddr(10, 443, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]),
  }));
  assert.deepEqual(v6.remote, { family: 'inet6', address: '2001:db8::1', port: 40000 });
  assert.deepEqual(v6.local, { family: 'inet6', address: '::ffff:127.0.0.1', port: 443, mappedV4: '127.0.0.1' });

  const path = decodeNet(d, record({ nr: nr('bind'), dirfd: 5, ret: 0, argA: 1n, argB: 1n }, { ...proc, local: unixAddr('/run/app.sock', false) }));
  assert.deepEqual(path.local, { family: 'unix', path: '/run/app.sock', abstract: false });
  const abs = decodeNet(d, record({ nr: nr('connect'), dirfd: 5, ret: -111, argA: 1n, argB: 1n }, { ...proc, remote: unixAddr('x11', true) }));
  assert.deepEqual(abs.remote, { family: 'unix', path: 'x11', abstract: true });
  const netlink = decodeNet(d, record({ nr: nr('bind'), dirfd: 6, ret: 0, argA: 16n, argB: 3n }, { ...proc, local: sockaddr(16, 0, [], 12) }));
  assert.deepEqual(netlink.local, { family: 'other', af: 16 });

  // socket() failed: no fd; protocol 0 of an inet datagram socket is UDP, as the kernel resolves it.
  const sock = decodeNet(d, record({ nr: nr('socket'), dirfd: -1, ret: -97, argA: 2n, argB: 2n, mode: 0 }, proc));
  assert.deepEqual([sock.fd, sock.ret, sock.protocol, sock.remote, sock.local], [-1, -97, 17, null, null]);
});
