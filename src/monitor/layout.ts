// Hand-written mirror of struct aw_event in bpf/armorwatch_event.h. test/monitor/layout.test.ts
// compares it with what the C compiler says (`armorwatch-monitor --print-layout`).
import { NETWORK_SYSCALL_NAMES, type NetworkSyscallName } from '../syscalls.ts';

/** [offset, size] of every fixed field, in bytes. */
export const EVENT_FIELDS = {
  ts_boot_ns: [0, 8],
  cgroup_id: [8, 8],
  host_pid: [16, 4],
  host_tid: [20, 4],
  host_ppid: [24, 4],
  ns_pid: [28, 4],
  ns_ppid: [32, 4],
  uid: [36, 4],
  gid: [40, 4],
  euid: [44, 4],
  mnt_ns: [48, 4],
  pid_ns: [52, 4],
  net_ns: [56, 4],
  syscall_nr: [60, 4],
  dirfd: [64, 4],
  dirfd2: [68, 4],
  flags: [72, 4],
  mode: [76, 4],
  owner_uid: [80, 4],
  ev_flags: [84, 4],
  ret: [88, 8],
  arg_a: [96, 8],
  arg_b: [104, 8],
  str_len: [112, 24],
  comm: [136, 16],
  ident_dev: [152, 4],
  ident_depth: [156, 4],
  ident_ino: [160, 8],
} as const satisfies Record<string, readonly [number, number]>;

export const EVENT_HEADER_SIZE = 168;
export const PATH_MAX = 4096;

/** Order of the strings after the header (AW_STR_*). */
export const STR_SLOTS = { resolved: 0, path: 1, path2: 2, cwd: 3, dir: 4, dir2: 5, exe: 6, pexe: 7, tty: 8, argv: 9, caller: 10, host: 11, remote: 1, local: 2 } as const;
export const STR_COUNT = 12;

/** AW_EVF_* bits of ev_flags. */
export const EV_FLAGS = { ownerValid: 1, pathFault: 2, truncated: 4, hasPath2: 8, argvTruncated: 16, dirGone: 32, netOutcome: 64, ident: 128, uring: 256, netGateOpen: 512, netHandover: 1024, netAttempt: 2048 } as const;

/** Longest socket address a network event carries (AW_SOCKADDR_MAX). */
export const SOCKADDR_MAX = 112;

/** AW_NET_* bits of the kernel's network call mask: one per Network row of the syscall table, in its order. */
export const NET_CALL_BITS: Readonly<Record<NetworkSyscallName, number>> = Object.freeze(
  Object.fromEntries(NETWORK_SYSCALL_NAMES.map((n, i) => [n, 1 << i])) as Record<NetworkSyscallName, number>,
);

/** Frame types of the helper's stdout protocol (native/armorwatch-monitor.c). */
export const FRAME = { ready: 1, event: 2, stats: 3, ack: 4, error: 5 } as const;
export const FRAME_HEADER_SIZE = 8;
