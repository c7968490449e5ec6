// A FileEvent as the monitor would decode it for a process, with the fields the enricher reads
// (cgroup id and namespace ids) taken from the live process.
import type { FileEvent } from '../../src/types.ts';

export function eventFor(p: { pid: number; cgroupId: bigint; mntNs: number; pidNs: number; netNs: number }): FileEvent {
  return {
    timestampNs: BigInt(Date.now()) * 1_000_000n,
    hostPid: p.pid, hostTid: p.pid, hostPpid: 1, pid: 1, ppid: 0, uid: 0, gid: 0, euid: 0,
    comm: 'cat', tty: null, exePath: '/bin/busybox', parentExePath: '/bin/busybox',
    cgroupId: p.cgroupId, mntNs: p.mntNs, pidNs: p.pidNs, netNs: p.netNs,
    syscall: 'openat', dirfd: -100, flags: 0, mode: 0, args: {}, ret: 3,
    path: '/etc/hostname', absPath: '/etc/hostname', resolvedPath: '/etc/hostname',
    path2: null, absPath2: null, cwd: '/', ownerUid: 0,
  };
}
