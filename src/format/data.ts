// The alert's Data field: the system call and its arguments, as KubeArmor writes them.
// The exact format of every call is documented in docs/POLICIES.md ("Data field").
import type { FileEvent, FileSyscall } from '../types.ts';
import { formatAtFlags, formatOpenFlags, formatRenameFlags, formatResolveFlags } from './flags.ts';

/** `openat` → `SYS_OPENAT`. */
export function syscallName(syscall: FileSyscall | string): string {
  return `SYS_${syscall.toUpperCase()}`;
}

/** File mode bits in octal with a leading 0 (`0644`); `0` for none. */
export function formatMode(mode: number): string {
  return mode === 0 ? '0' : `0${(mode & 0o7777).toString(8)}`;
}

type DataInput = Pick<FileEvent, 'syscall' | 'dirfd' | 'flags' | 'mode' | 'args' | 'path2' | 'absPath2'>;

function arg(ev: DataInput, name: string): number {
  return ev.args[name] ?? 0;
}

function newPath(ev: DataInput): string {
  return ev.absPath2 ?? ev.path2 ?? '';
}

/** The flags word of the call in names (open, AT_, RENAME_), or undefined when the call has none. */
export function formatCallFlags(ev: DataInput): string | undefined {
  switch (ev.syscall) {
    case 'open': case 'openat': case 'openat2': case 'creat':
      return formatOpenFlags(ev.flags);
    case 'unlinkat': case 'fchmodat': case 'fchownat':
      return formatAtFlags(ev.flags);
    case 'renameat2':
      return formatRenameFlags(ev.flags);
    default:
      return undefined;
  }
}

/** `syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC`, and so on per call. */
export function formatData(ev: DataInput): string {
  const sys = `syscall=${syscallName(ev.syscall)}`;
  switch (ev.syscall) {
    case 'open':
      return `${sys} flags=${formatOpenFlags(ev.flags)}`;
    case 'openat':
      return `${sys} fd=${ev.dirfd} flags=${formatOpenFlags(ev.flags)}`;
    case 'openat2':
      return `${sys} fd=${ev.dirfd} flags=${formatOpenFlags(ev.flags)} resolve=${formatResolveFlags(arg(ev, 'resolve'))}`;
    case 'creat':
      return `${sys} mode=${formatMode(ev.mode)}`;
    case 'unlink': case 'rmdir':
      return sys;
    case 'unlinkat':
      return `${sys} fd=${ev.dirfd} flags=${formatAtFlags(ev.flags)}`;
    case 'rename':
      return `${sys} newpath=${newPath(ev)}`;
    case 'renameat':
      return `${sys} fd=${ev.dirfd} newfd=${arg(ev, 'newdirfd')} newpath=${newPath(ev)}`;
    case 'renameat2':
      return `${sys} fd=${ev.dirfd} newfd=${arg(ev, 'newdirfd')} newpath=${newPath(ev)} flags=${formatRenameFlags(ev.flags)}`;
    case 'truncate':
      return `${sys} length=${arg(ev, 'length')}`;
    case 'chmod':
      return `${sys} mode=${formatMode(ev.mode)}`;
    case 'fchmodat':
      return `${sys} fd=${ev.dirfd} mode=${formatMode(ev.mode)} flags=${formatAtFlags(ev.flags)}`;
    case 'chown':
      return `${sys} userid=${arg(ev, 'uid')} group=${arg(ev, 'gid')}`;
    case 'fchownat':
      // KubeArmor's wording: the AT_* flags word is printed under the name `mode`.
      return `${sys} userid=${arg(ev, 'uid')} group=${arg(ev, 'gid')} mode=${formatAtFlags(ev.flags)}`;
  }
}
