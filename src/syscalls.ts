// The one table of the system calls armorwatch knows (x86_64): number, argument shapes, the name
// KubeArmor prints (`SYS_OPENAT`), the verbs of the record body, and how the alert's Data field
// spells the arguments. The kernel program (bpf/armorwatch.bpf.c) keeps its own `#define NR_*` and
// argument positions in C; test/syscalls.test.ts reads the C sources and checks them against this
// table, so the two sides cannot drift.

/** What an argument register holds. `path2`/`newdirfd`: the second path of two-path calls and its dirfd. */
export type ArgShape =
  | 'dirfd' | 'path' | 'flags' | 'mode' | 'newdirfd' | 'path2' | 'uid' | 'gid' | 'length' | 'how' | 'size'
  | 'argv' | 'envp' | 'fstype' | 'data' | 'newroot' | 'putold' | 'target' | 'mountfd' | 'handle'
  // Network calls: socket(domain, type, protocol); the socket fd, a sockaddr and its length (or, for
  // accept, a pointer to the length); listen's backlog.
  | 'domain' | 'type' | 'protocol' | 'sockfd' | 'sockaddr' | 'addrlen' | 'addrlenp' | 'backlog';

/** How the flags word is spelled: open(2) flags, AT_* flags, RENAME_* flags, MS_* (mount) flags, MOVE_MOUNT_* flags, open_tree/mount_setattr flags. */
export type FlagsKind = 'open' | 'at' | 'rename' | 'mount' | 'move_mount' | 'tree';

/** A value the Data field prints (see src/format/data.ts). */
export type DataValue = 'dirfd' | 'flags' | 'mode' | 'newdirfd' | 'newpath' | 'resolve' | 'length' | 'uid' | 'gid' | 'sockfd';

/** KubeArmor's Operation for the events of a call; null: observed only to keep caches right, never reported. */
export type SyscallOperation = 'File' | 'Process' | 'Network' | null;

export interface SyscallInfo {
  /** As the kernel spells it (the tracepoint's and `matchSyscalls`' name). */
  readonly name: string;
  /** x86_64 number. */
  readonly nr: number;
  readonly operation: SyscallOperation;
  /** The call's arguments in register order. */
  readonly args: readonly ArgShape[];
  /** `SYS_OPENAT`: the name in the alert's Data and Syscall fields. */
  readonly display: string;
  /** `opened` / `open`: the record body's verb when the call passed / failed. */
  readonly verb: readonly [done: string, attempt: string];
  /** The flags word and how it is spelled, null when the call has none. */
  readonly flags: FlagsKind | null;
  /** True when the call can change the file whatever its flags (what `readOnly` forbids). */
  readonly writes: boolean;
  /** `label=value` pairs of the Data field after `syscall=SYS_X`, in order. */
  readonly data: ReadonlyArray<readonly [label: string, value: DataValue]>;
  /**
   * How the kernel program sees the call: 'syscall' (default) on its own entry/exit hooks;
   * 'io_uring' for an operation submitted through io_uring, seen on io_uring's completion hook
   * (bpf/uring.bpf.h) and reported under this call's number.
   */
  readonly via?: 'syscall' | 'io_uring';
}

type Row = Omit<SyscallInfo, 'display'>;

const OPENED = ['opened', 'open'] as const;
const DELETED = ['deleted', 'delete'] as const;
const RENAMED = ['renamed', 'rename'] as const;
const MODE = ['changed the mode of', 'change the mode of'] as const;
const OWNER = ['changed the owner of', 'change the owner of'] as const;
const EXECUTED = ['executed', 'execute'] as const;
const NONE = ['changed', 'change'] as const;
const LINKED = ['linked', 'link'] as const;
const MOUNTED = ['mounted', 'mount'] as const;
const NET_FD = [['fd', 'sockfd']] as const;

const ROWS = [
  { name: 'open', nr: 2, operation: 'File', args: ['path', 'flags', 'mode'], verb: OPENED, flags: 'open', writes: false, data: [['flags', 'flags']] },
  { name: 'openat', nr: 257, operation: 'File', args: ['dirfd', 'path', 'flags', 'mode'], verb: OPENED, flags: 'open', writes: false, data: [['fd', 'dirfd'], ['flags', 'flags']] },
  { name: 'openat2', nr: 437, operation: 'File', args: ['dirfd', 'path', 'how', 'size'], verb: OPENED, flags: 'open', writes: false, data: [['fd', 'dirfd'], ['flags', 'flags'], ['resolve', 'resolve']] },
  { name: 'creat', nr: 85, operation: 'File', args: ['path', 'mode'], verb: ['created', 'create'], flags: 'open', writes: true, data: [['mode', 'mode']] },
  { name: 'unlink', nr: 87, operation: 'File', args: ['path'], verb: DELETED, flags: null, writes: true, data: [] },
  { name: 'unlinkat', nr: 263, operation: 'File', args: ['dirfd', 'path', 'flags'], verb: DELETED, flags: 'at', writes: true, data: [['fd', 'dirfd'], ['flags', 'flags']] },
  { name: 'rmdir', nr: 84, operation: 'File', args: ['path'], verb: ['removed', 'remove'], flags: null, writes: true, data: [] },
  { name: 'rename', nr: 82, operation: 'File', args: ['path', 'path2'], verb: RENAMED, flags: null, writes: true, data: [['newpath', 'newpath']] },
  { name: 'renameat', nr: 264, operation: 'File', args: ['dirfd', 'path', 'newdirfd', 'path2'], verb: RENAMED, flags: null, writes: true, data: [['fd', 'dirfd'], ['newfd', 'newdirfd'], ['newpath', 'newpath']] },
  { name: 'renameat2', nr: 316, operation: 'File', args: ['dirfd', 'path', 'newdirfd', 'path2', 'flags'], verb: RENAMED, flags: 'rename', writes: true, data: [['fd', 'dirfd'], ['newfd', 'newdirfd'], ['newpath', 'newpath'], ['flags', 'flags']] },
  { name: 'truncate', nr: 76, operation: 'File', args: ['path', 'length'], verb: ['truncated', 'truncate'], flags: null, writes: true, data: [['length', 'length']] },
  { name: 'chmod', nr: 90, operation: 'File', args: ['path', 'mode'], verb: MODE, flags: null, writes: true, data: [['mode', 'mode']] },
  // fchmodat has no flags argument (fchmodat2 does); its Data prints the word anyway, as KubeArmor's does.
  { name: 'fchmodat', nr: 268, operation: 'File', args: ['dirfd', 'path', 'mode'], verb: MODE, flags: 'at', writes: true, data: [['fd', 'dirfd'], ['mode', 'mode'], ['flags', 'flags']] },
  { name: 'chown', nr: 92, operation: 'File', args: ['path', 'uid', 'gid'], verb: OWNER, flags: null, writes: true, data: [['userid', 'uid'], ['group', 'gid']] },
  // KubeArmor's wording: fchownat's AT_* flags word is printed under the name `mode`.
  { name: 'fchownat', nr: 260, operation: 'File', args: ['dirfd', 'path', 'uid', 'gid', 'flags'], verb: OWNER, flags: 'at', writes: true, data: [['userid', 'uid'], ['group', 'gid'], ['mode', 'flags']] },
  // Another way to open, with no path: the file opened is all there is to match.
  { name: 'open_by_handle_at', nr: 304, operation: 'File', args: ['mountfd', 'handle', 'flags'], verb: OPENED, flags: 'open', writes: false, data: [['flags', 'flags']] },
  // io_uring's IORING_OP_OPENAT/OPENAT2: the name asked for seen at submission, the result when they complete.
  // `args` here are the operation's (the SQE's fd, addr, open_flags, len), not io_uring_enter's own.
  { name: 'io_uring_enter', nr: 426, operation: 'File', args: ['dirfd', 'path', 'flags', 'mode'], verb: OPENED, flags: 'open', writes: false, data: [['fd', 'dirfd'], ['flags', 'flags']], via: 'io_uring' },
  // New names for a file: matched on both names (the existing one and the new one), like rename.
  { name: 'link', nr: 86, operation: 'File', args: ['path', 'path2'], verb: LINKED, flags: null, writes: true, data: [['newpath', 'newpath']] },
  { name: 'linkat', nr: 265, operation: 'File', args: ['dirfd', 'path', 'newdirfd', 'path2', 'flags'], verb: LINKED, flags: 'at', writes: true, data: [['fd', 'dirfd'], ['newfd', 'newdirfd'], ['newpath', 'newpath'], ['flags', 'flags']] },
  { name: 'symlink', nr: 88, operation: 'File', args: ['path', 'path2'], verb: LINKED, flags: null, writes: true, data: [['newpath', 'newpath']] },
  { name: 'symlinkat', nr: 266, operation: 'File', args: ['path', 'newdirfd', 'path2'], verb: LINKED, flags: null, writes: true, data: [['newfd', 'newdirfd'], ['newpath', 'newpath']] },
  // Mounts show a file under another path: matched on the source (bind and move mounts) and the target.
  { name: 'mount', nr: 165, operation: 'File', args: ['path', 'path2', 'fstype', 'flags', 'data'], verb: MOUNTED, flags: 'mount', writes: true, data: [['target', 'newpath'], ['flags', 'flags']] },
  { name: 'move_mount', nr: 429, operation: 'File', args: ['dirfd', 'path', 'newdirfd', 'path2', 'flags'], verb: MOUNTED, flags: 'move_mount', writes: true, data: [['fd', 'dirfd'], ['newfd', 'newdirfd'], ['target', 'newpath'], ['flags', 'flags']] },
  // The rest of the mount family with paths, matched on them: a detached copy of a tree (made a
  // mount by move_mount), a mount's attributes changed, the root swapped (new root and where the
  // old one goes). fsmount has no path (a filesystem context fd): not reported.
  { name: 'open_tree', nr: 428, operation: 'File', args: ['dirfd', 'path', 'flags'], verb: ['opened the mount tree of', 'open the mount tree of'], flags: 'tree', writes: false, data: [['fd', 'dirfd'], ['flags', 'flags']] },
  { name: 'mount_setattr', nr: 442, operation: 'File', args: ['dirfd', 'path', 'flags', 'how', 'size'], verb: ['changed the mount attributes of', 'change the mount attributes of'], flags: 'tree', writes: true, data: [['fd', 'dirfd'], ['flags', 'flags']] },
  { name: 'pivot_root', nr: 155, operation: 'File', args: ['path', 'path2'], verb: ['made the root', 'make the root'], flags: null, writes: true, data: [['putold', 'newpath']] },
  { name: 'execve', nr: 59, operation: 'Process', args: ['path', 'argv', 'envp'], verb: EXECUTED, flags: null, writes: false, data: [] },
  { name: 'execveat', nr: 322, operation: 'Process', args: ['dirfd', 'path', 'argv', 'envp', 'flags'], verb: EXECUTED, flags: 'at', writes: false, data: [] },
  // Network (issue 11): KubeArmor prints the socket fd after the call (`syscall=SYS_CONNECT fd=3`), nothing for socket().
  // accept4's flags are SOCK_NONBLOCK/SOCK_CLOEXEC, not open(2) flags: not spelled.
  { name: 'socket', nr: 41, operation: 'Network', args: ['domain', 'type', 'protocol'], verb: ['created a socket', 'create a socket'], flags: null, writes: false, data: [] },
  { name: 'connect', nr: 42, operation: 'Network', args: ['sockfd', 'sockaddr', 'addrlen'], verb: ['connected to', 'connect to'], flags: null, writes: false, data: NET_FD },
  { name: 'accept', nr: 43, operation: 'Network', args: ['sockfd', 'sockaddr', 'addrlenp'], verb: ['accepted', 'accept'], flags: null, writes: false, data: NET_FD },
  { name: 'accept4', nr: 288, operation: 'Network', args: ['sockfd', 'sockaddr', 'addrlenp', 'flags'], verb: ['accepted', 'accept'], flags: null, writes: false, data: NET_FD },
  { name: 'bind', nr: 49, operation: 'Network', args: ['sockfd', 'sockaddr', 'addrlen'], verb: ['bound', 'bind'], flags: null, writes: false, data: NET_FD },
  { name: 'listen', nr: 50, operation: 'Network', args: ['sockfd', 'backlog'], verb: ['listened on', 'listen on'], flags: null, writes: false, data: NET_FD },
  // Not reported: it changes which path names a dentry, so the kernel program voids cached verdicts
  // (so do mount, move_mount, pivot_root and mount_setattr, which are reported).
  { name: 'umount2', nr: 166, operation: null, args: ['target', 'flags'], verb: NONE, flags: null, writes: false, data: [] },
] as const satisfies readonly Row[];

export type SyscallName = (typeof ROWS)[number]['name'];

/** Every known call by name. */
export const SYSCALLS: Readonly<Record<SyscallName, SyscallInfo>> = Object.freeze(Object.fromEntries(
  ROWS.map((r): [string, SyscallInfo] => [r.name, Object.freeze({ ...r, display: `SYS_${r.name.toUpperCase()}` })]),
) as Record<SyscallName, SyscallInfo>);

type RowOf<Op extends SyscallOperation> = Extract<(typeof ROWS)[number], { readonly operation: Op }>;
export type FileSyscallName = RowOf<'File'>['name'];
export type ExecSyscallName = RowOf<'Process'>['name'];
export type NetworkSyscallName = RowOf<'Network'>['name'];

/** Names of the calls with the given Operation, in table order. */
function namesOf(op: SyscallOperation): readonly string[] {
  return Object.freeze(ROWS.filter((r) => r.operation === op).map((r) => r.name));
}

export const FILE_SYSCALL_NAMES = namesOf('File') as readonly FileSyscallName[];
export const EXEC_SYSCALL_NAMES = namesOf('Process') as readonly ExecSyscallName[];
export const NETWORK_SYSCALL_NAMES = namesOf('Network') as readonly NetworkSyscallName[];

const BY_NUMBER: ReadonlyMap<number, SyscallInfo> = new Map(Object.values(SYSCALLS).map((s) => [s.nr, s]));

export function syscallByNumber(nr: number): SyscallInfo | undefined {
  return BY_NUMBER.get(nr);
}

/** The calls that have a dirfd argument (their alerts carry `Dirfd`). */
export function hasDirfd(s: SyscallInfo): boolean {
  return s.args[0] === 'dirfd';
}
