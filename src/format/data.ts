// The alert's Data field: the system call and its arguments, as KubeArmor writes them. Which
// arguments each call prints, and under which label, is in the one syscall table (src/syscalls.ts);
// the exact format of every call is documented in docs/POLICIES.md ("Data field").
import { SYSCALLS, type DataValue, type SyscallName } from '../syscalls.ts';
import type { FileEvent } from '../types.ts';
import { formatAtFlags, formatMountFlags, formatMoveMountFlags, formatTreeFlags, formatOpenFlags, formatRenameFlags, formatResolveFlags } from './flags.ts';

/** `openat` → `SYS_OPENAT`. */
export function syscallName(syscall: SyscallName): string {
  return SYSCALLS[syscall].display;
}

/** File mode bits in octal with a leading 0 (`0644`); `0` for none. */
export function formatMode(mode: number): string {
  return mode === 0 ? '0' : `0${(mode & 0o7777).toString(8)}`;
}

/** What Data reads of an event: the call, and the arguments its kind has (file calls: dirfd, flags and more; network calls: the socket fd). */
export type DataInput = { readonly syscall: SyscallName; readonly dirfd?: number; readonly flags?: number; readonly fd?: number }
  & Partial<Pick<FileEvent, 'mode' | 'args' | 'path2' | 'absPath2'>>;

/** The flags word of the call in names (open, AT_, RENAME_), or undefined when the call has none. */
export function formatCallFlags(ev: DataInput): string | undefined {
  const f = ev.flags ?? 0;
  switch (SYSCALLS[ev.syscall].flags) {
    case 'open': return formatOpenFlags(f);
    case 'at': return formatAtFlags(f);
    case 'rename': return formatRenameFlags(f);
    case 'mount': return formatMountFlags(f);
    case 'move_mount': return formatMoveMountFlags(f);
    case 'tree': return formatTreeFlags(f);
    default: return undefined;
  }
}

function value(ev: DataInput, v: DataValue, flags: string | undefined): string | number {
  switch (v) {
    case 'dirfd': return ev.dirfd ?? 0;
    case 'sockfd': return ev.fd ?? -1;
    case 'flags': return flags ?? formatCallFlags(ev) ?? '0';
    case 'mode': return formatMode(ev.mode ?? 0);
    case 'newpath': return ev.absPath2 ?? ev.path2 ?? '';
    case 'resolve': return formatResolveFlags(ev.args?.resolve ?? 0);
    default: return ev.args?.[v] ?? 0; // newdirfd, length, uid, gid
  }
}

/**
 * `syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC`, and so on per call.
 * `flags`: the call's flags already formatted (formatCallFlags), so that they are spelled once.
 */
export function formatData(ev: DataInput, flags?: string): string {
  const s = SYSCALLS[ev.syscall];
  let out = `syscall=${s.display}`;
  for (const [label, v] of s.data) out += ` ${label}=${value(ev, v, flags)}`;
  return out;
}
