// Kernel record → FileEvent. Pure: everything it needs is in the record and the clock offset.
import type { FileEvent, FileSyscall } from '../types.ts';
import { MonitorError } from './errors.ts';
import { EVENT_FIELDS as F, EVENT_HEADER_SIZE, EV_FLAGS, STR_COUNT, STR_SLOTS } from './layout.ts';
import { absolutize } from './paths.ts';

const AT_FDCWD = -100;

/** x86_64 syscall numbers of the covered calls (the kernel program uses the same table). */
export const SYSCALL_NUMBERS: Readonly<Record<FileSyscall, number>> = {
  open: 2, truncate: 76, rename: 82, rmdir: 84, creat: 85, unlink: 87, chmod: 90, chown: 92,
  openat: 257, fchownat: 260, unlinkat: 263, renameat: 264, fchmodat: 268, renameat2: 316, openat2: 437,
};
const BY_NUMBER: ReadonlyMap<number, FileSyscall> = new Map(
  Object.entries(SYSCALL_NUMBERS).map(([name, nr]) => [nr, name as FileSyscall]),
);
const OPENS: ReadonlySet<FileSyscall> = new Set(['open', 'openat', 'openat2', 'creat']);

function extraArgs(syscall: FileSyscall, a: bigint, b: bigint, dirfd2: number): Record<string, number> {
  switch (syscall) {
    case 'chown': case 'fchownat': return { uid: Number(a), gid: Number(b) };
    case 'openat2': return { resolve: Number(a) };
    case 'renameat': case 'renameat2': return { newdirfd: dirfd2 };
    case 'truncate': return { length: Number(a) };
    default: return {};
  }
}

/**
 * Decodes one record. `bootToRealtimeNs` turns the kernel's boot-time clock into wall-clock time.
 * Throws MonitorError AW_MONITOR_DECODE when the record does not match the layout.
 */
export function decodeEvent(rec: Buffer, bootToRealtimeNs: bigint): FileEvent {
  if (rec.length < EVENT_HEADER_SIZE) {
    throw new MonitorError('AW_MONITOR_DECODE', `event record of ${rec.length} bytes is shorter than the ${EVENT_HEADER_SIZE}-byte header`);
  }
  const nr = rec.readUInt32LE(F.syscall_nr[0]);
  const syscall = BY_NUMBER.get(nr);
  if (syscall === undefined) throw new MonitorError('AW_MONITOR_DECODE', `event record has unknown syscall number ${nr}`);

  const strs: string[] = [];
  let off = EVENT_HEADER_SIZE;
  for (let i = 0; i < STR_COUNT; i++) {
    const len = rec.readUInt16LE(F.str_len[0] + 2 * i);
    if (off + len > rec.length) {
      throw new MonitorError('AW_MONITOR_DECODE', `event record string ${i} (${len} bytes at ${off}) runs past its ${rec.length}-byte end`);
    }
    strs.push(rec.toString('utf8', off, off + len));
    off += len;
  }
  const evFlags = rec.readUInt32LE(F.ev_flags[0]);
  const dirfd = rec.readInt32LE(F.dirfd[0]);
  const dirfd2 = rec.readInt32LE(F.dirfd2[0]);
  const ret = Number(rec.readBigInt64LE(F.ret[0]));
  const cwd = strs[STR_SLOTS.cwd]!;
  const path = strs[STR_SLOTS.path]!;
  // A dirfd that names no open directory leaves its slot empty; the call then failed with EBADF.
  const base = (fd: number, dir: string): string => (fd === AT_FDCWD ? cwd : dir);
  const hasPath2 = (evFlags & EV_FLAGS.hasPath2) !== 0;
  const path2 = hasPath2 ? strs[STR_SLOTS.path2]! : null;
  const resolved = strs[STR_SLOTS.resolved]!;
  const commEnd = rec.indexOf(0, F.comm[0]);

  return {
    timestampNs: rec.readBigUInt64LE(F.ts_boot_ns[0]) + bootToRealtimeNs,
    hostPid: rec.readUInt32LE(F.host_pid[0]),
    hostTid: rec.readUInt32LE(F.host_tid[0]),
    hostPpid: rec.readUInt32LE(F.host_ppid[0]),
    pid: rec.readUInt32LE(F.ns_pid[0]),
    ppid: rec.readUInt32LE(F.ns_ppid[0]),
    uid: rec.readUInt32LE(F.uid[0]),
    gid: rec.readUInt32LE(F.gid[0]),
    comm: rec.toString('utf8', F.comm[0], commEnd < 0 || commEnd > F.comm[0] + F.comm[1] ? F.comm[0] + F.comm[1] : commEnd),
    exePath: strs[STR_SLOTS.exe]!,
    parentExePath: strs[STR_SLOTS.pexe]!,
    cgroupId: rec.readBigUInt64LE(F.cgroup_id[0]),
    mntNs: rec.readUInt32LE(F.mnt_ns[0]),
    pidNs: rec.readUInt32LE(F.pid_ns[0]),
    netNs: rec.readUInt32LE(F.net_ns[0]),
    syscall,
    dirfd,
    flags: rec.readUInt32LE(F.flags[0]),
    mode: rec.readUInt32LE(F.mode[0]),
    args: extraArgs(syscall, rec.readBigUInt64LE(F.arg_a[0]), rec.readBigUInt64LE(F.arg_b[0]), dirfd2),
    ret,
    path,
    // An unreadable path (a page the kernel could not fault in) leaves only what the kernel opened.
    absPath: path === '' && resolved !== '' ? resolved : absolutize(path, base(dirfd, strs[STR_SLOTS.dir]!)),
    resolvedPath: OPENS.has(syscall) && ret >= 0 && resolved !== '' ? resolved : null,
    path2,
    absPath2: path2 === null ? null : absolutize(path2, base(dirfd2, strs[STR_SLOTS.dir2]!)),
    cwd,
    ownerUid: (evFlags & EV_FLAGS.ownerValid) !== 0 ? rec.readUInt32LE(F.owner_uid[0]) : null,
  };
}
