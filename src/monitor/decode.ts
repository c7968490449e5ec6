// Kernel record → FileEvent, ExecEvent or NetworkEvent. Pure: everything it needs is in the record,
// the clock offset, and (for a connect's outcome reported away from its process) the strings of
// that process's earlier records.
import type { ExecEvent, ExecSyscall, FileEvent, FileSyscall, IdentityPath, MonitorEvent, NetworkEvent, NetworkSyscall } from '../types.ts';
import { defaultProtocol } from '../format/index.ts';
import { MonitorError } from './errors.ts';
import { EVENT_FIELDS as F, EVENT_HEADER_SIZE, EV_FLAGS, STR_COUNT, STR_SLOTS } from './layout.ts';
import { absolutize } from './paths.ts';
import { MS_SOURCE_IS_PATH } from '../format/index.ts';
import { EXEC_SYSCALL_NAMES, FILE_SYSCALL_NAMES, NETWORK_SYSCALL_NAMES, SYSCALLS, type SyscallName } from '../syscalls.ts';
import { decodeSockaddr } from './sockaddr.ts';

const AT_FDCWD = -100;

function numbersOf<N extends SyscallName>(names: readonly N[]): Readonly<Record<N, number>> {
  return Object.freeze(Object.fromEntries(names.map((n) => [n, SYSCALLS[n].nr])) as Record<N, number>);
}

/** x86_64 numbers of the covered calls, from the one table (src/syscalls.ts; the kernel program is checked against it). */
export const SYSCALL_NUMBERS: Readonly<Record<FileSyscall, number>> = numbersOf(FILE_SYSCALL_NAMES);
const BY_NUMBER: ReadonlyMap<number, FileSyscall> = new Map(
  Object.entries(SYSCALL_NUMBERS).map(([name, nr]) => [nr, name as FileSyscall]),
);
const OPENS: ReadonlySet<FileSyscall> = new Set(['open', 'openat', 'openat2', 'creat', 'open_by_handle_at', 'io_uring_enter']);
const SYMLINKS: ReadonlySet<FileSyscall> = new Set(['symlink', 'symlinkat']);
/** x86_64 numbers of the execution calls, from the same table. */
export const EXEC_SYSCALL_NUMBERS: Readonly<Record<ExecSyscall, number>> = numbersOf(EXEC_SYSCALL_NAMES);
const EXEC_BY_NUMBER: ReadonlyMap<number, ExecSyscall> = new Map(
  Object.entries(EXEC_SYSCALL_NUMBERS).map(([name, nr]) => [nr, name as ExecSyscall]),
);
const NET_BY_NUMBER: ReadonlyMap<number, NetworkSyscall> = new Map(NETWORK_SYSCALL_NAMES.map((n) => [SYSCALLS[n].nr, n]));
// What execveat on a dirfd hands the exec hook (bprm->filename): /dev/fd/<dirfd>[/<name>].
const DEV_FD = /^\/dev\/fd\/\d+(?:\/(.*))?$/s;

/** True for a file event (the decoder leaves `kind` unset on them). */
export function isFileEvent(ev: MonitorEvent): ev is FileEvent {
  return ev.kind === undefined || ev.kind === 'file';
}

/** True for an execution. */
export function isExecEvent(ev: MonitorEvent): ev is ExecEvent {
  return ev.kind === 'process';
}

/** True for a network call or a connect's outcome. */
export function isNetworkEvent(ev: MonitorEvent): ev is NetworkEvent {
  return ev.kind === 'network';
}

// Shared by the calls without other arguments (the field is read-only).
const NO_ARGS: Readonly<Record<string, number>> = Object.freeze({});

// The BigInt reads only for the calls that have these arguments.
function extraArgs(syscall: FileSyscall, rec: Buffer, dirfd2: number): Readonly<Record<string, number>> {
  switch (syscall) {
    case 'chown': case 'fchownat': return { uid: Number(rec.readBigUInt64LE(F.arg_a[0])), gid: Number(rec.readBigUInt64LE(F.arg_b[0])) };
    case 'openat2': return { resolve: Number(rec.readBigUInt64LE(F.arg_a[0])) };
    case 'renameat': case 'renameat2': case 'linkat': case 'symlinkat': case 'move_mount': return { newdirfd: dirfd2 };
    case 'truncate': return { length: Number(rec.readBigUInt64LE(F.arg_a[0])) };
    default: return NO_ARGS;
  }
}

/** The numeric part of TaskIdentity as the header carries it (executions and network calls; file events read it inline, on the hot path). */
function taskNumbers(rec: Buffer, bootToRealtimeNs: bigint) {
  return {
    timestampNs: rec.readBigUInt64LE(F.ts_boot_ns[0]) + bootToRealtimeNs,
    hostPid: rec.readUInt32LE(F.host_pid[0]),
    hostTid: rec.readUInt32LE(F.host_tid[0]),
    hostPpid: rec.readUInt32LE(F.host_ppid[0]),
    pid: rec.readUInt32LE(F.ns_pid[0]),
    ppid: rec.readUInt32LE(F.ns_ppid[0]),
    uid: rec.readUInt32LE(F.uid[0]),
    gid: rec.readUInt32LE(F.gid[0]),
    euid: rec.readUInt32LE(F.euid[0]),
    mntNs: rec.readUInt32LE(F.mnt_ns[0]),
    pidNs: rec.readUInt32LE(F.pid_ns[0]),
    netNs: rec.readUInt32LE(F.net_ns[0]),
  } as const;
}

/** A process's strings as last seen: the raw bytes (to check they still hold) and their text. */
interface ProcStrings {
  exeRaw: Buffer; exe: string;
  pexeRaw: Buffer; pexe: string;
  cwdRaw: Buffer; cwd: string;
  commRaw: Buffer; comm: string;
  ttyRaw: Buffer; tty: string | null;
  cgLo: number; cgHi: number; cgroupId: bigint;
  // The last path and what it made absolute against the last base: the same file is often opened again.
  pathRaw: Buffer; path: string; base: string; absPath: string;
  resolvedRaw: Buffer; resolved: string;
}

// Processes remembered at most; past that the cache starts again (it only saves decoding).
const MAX_PROCS = 4096;
const NO_BYTES = Buffer.alloc(0);

// A byte loop: for strings this short it is several times cheaper than Buffer#compare's binding.
function same(rec: Buffer, start: number, end: number, raw: Buffer): boolean {
  if (raw.length !== end - start) return false;
  for (let i = start, j = 0; i < end; i++, j++) if (rec[i] !== raw[j]) return false;
  return true;
}

/** The rule paths of a watched identity (device as the kernel keeps it, inode), one per scope that watches it, or undefined. */
export type IdentityLookup = (dev: number, ino: bigint) => readonly IdentityPath[] | undefined;

/**
 * `rulePath` with the last `depth` components of `hostPath` below it: the file a rule names, or the
 * file under a directory a rule names, under the name the rule gives it.
 */
export function identityPathOf(rulePath: string, depth: number, hostPath: string): string {
  if (depth === 0) return rulePath;
  let at = hostPath.length;
  for (let i = 0; i < depth && at > 0; i++) at = hostPath.lastIndexOf('/', at - 1);
  const tail = hostPath.slice(Math.max(at, 0));
  return rulePath === '/' ? tail : `${rulePath.replace(/\/+$/, '')}${tail}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * Decodes records. The strings that belong to a process (exe, parent exe, cwd, comm) repeat in
 * nearly every event of that process; they are decoded once and reused while their bytes match.
 */
export class EventDecoder {
  readonly #procs = new Map<number, ProcStrings>();
  readonly #ends = new Int32Array(STR_COUNT + 1);
  readonly #identities: IdentityLookup | undefined;

  /** `identities`: the watched identities' rule paths (src/monitor/index.ts keeps what it told the kernel). */
  constructor(identities?: IdentityLookup) {
    this.#identities = identities;
  }

  #str(rec: Buffer, slot: number): string {
    return rec.toString('utf8', this.#ends[slot]!, this.#ends[slot + 1]!);
  }

  #proc(hostPid: number): ProcStrings {
    let p = this.#procs.get(hostPid);
    if (p === undefined) {
      if (this.#procs.size >= MAX_PROCS) this.#procs.clear();
      p = { exeRaw: NO_BYTES, exe: '', pexeRaw: NO_BYTES, pexe: '', cwdRaw: NO_BYTES, cwd: '', commRaw: NO_BYTES, comm: '', ttyRaw: NO_BYTES, tty: null, cgLo: -1, cgHi: -1, cgroupId: 0n, pathRaw: NO_BYTES, path: '', base: '', absPath: '/', resolvedRaw: NO_BYTES, resolved: '' };
      this.#procs.set(hostPid, p);
    }
    return p;
  }

  /**
   * Decodes one record. `bootToRealtimeNs` turns the kernel's boot-time clock into wall-clock time.
   * Throws MonitorError AW_MONITOR_DECODE when the record does not match the layout.
   */
  decode(rec: Buffer, bootToRealtimeNs: bigint): MonitorEvent {
    if (rec.length < EVENT_HEADER_SIZE) {
      throw new MonitorError('AW_MONITOR_DECODE', `event record of ${rec.length} bytes is shorter than the ${EVENT_HEADER_SIZE}-byte header`);
    }
    const nr = rec.readUInt32LE(F.syscall_nr[0]);
    const syscall = BY_NUMBER.get(nr);
    if (syscall === undefined) {
      const exec = EXEC_BY_NUMBER.get(nr);
      if (exec !== undefined) return this.#exec(rec, bootToRealtimeNs, exec);
      const net = NET_BY_NUMBER.get(nr);
      if (net !== undefined) return this.#network(rec, bootToRealtimeNs, net);
      throw new MonitorError('AW_MONITOR_DECODE', `event record has unknown syscall number ${nr}`);
    }
    this.#slots(rec);
    // ends[i] is where string i starts, ends[i + 1] where it ends.
    const ends = this.#ends;
    const hostPid = rec.readUInt32LE(F.host_pid[0]);
    const p = this.#proc(hostPid);
    this.#processStrings(rec, p);

    const evFlags = rec.readUInt32LE(F.ev_flags[0]);
    const dirfd = rec.readInt32LE(F.dirfd[0]);
    const dirfd2 = rec.readInt32LE(F.dirfd2[0]);
    // Two 32-bit reads instead of a BigInt: a return value fits well within 2^53.
    const ret = rec.readInt32LE(F.ret[0] + 4) * 0x1_0000_0000 + rec.readUInt32LE(F.ret[0]);
    const cwd = p.cwd;
    const ps = ends[STR_SLOTS.path]!;
    const pe = ends[STR_SLOTS.path + 1]!;
    if (!same(rec, ps, pe, p.pathRaw)) {
      p.pathRaw = Buffer.from(rec.subarray(ps, pe));
      p.path = this.#str(rec, STR_SLOTS.path);
      p.base = '';
      p.absPath = '';
    }
    const path = p.path;
    const hasPath2 = (evFlags & EV_FLAGS.hasPath2) !== 0;
    const path2 = hasPath2 ? this.#str(rec, STR_SLOTS.path2) : null;
    const absPath2 = path2 === null ? null : absolutize(path2, dirfd2 === AT_FDCWD ? cwd : this.#str(rec, STR_SLOTS.dir2));
    const rs = ends[STR_SLOTS.resolved]!;
    const re = ends[STR_SLOTS.resolved + 1]!;
    if (!same(rec, rs, re, p.resolvedRaw)) {
      p.resolvedRaw = Buffer.from(rec.subarray(rs, re));
      p.resolved = this.#str(rec, STR_SLOTS.resolved);
    }
    const resolved = p.resolved;
    const opened = OPENS.has(syscall) && ret >= 0 && resolved !== '';
    const host = ends[STR_SLOTS.host + 1]! > ends[STR_SLOTS.host]! ? this.#str(rec, STR_SLOTS.host) : null;
    const hostPath = opened ? (host ?? resolved) : null;
    let identityPaths: IdentityPath[] | null = null;
    if ((evFlags & EV_FLAGS.ident) !== 0 && hostPath !== null && this.#identities !== undefined) {
      const rules = this.#identities(rec.readUInt32LE(F.ident_dev[0]), rec.readBigUInt64LE(F.ident_ino[0]));
      if (rules !== undefined) {
        const depth = rec.readUInt32LE(F.ident_depth[0]);
        identityPaths = rules.map((r) => ({ path: identityPathOf(r.path, depth, hostPath), containerId: r.containerId }));
      }
    }
    // A dirfd that names no open directory leaves its slot empty; the call then failed with EBADF.
    const base = dirfd === AT_FDCWD ? cwd : this.#str(rec, STR_SLOTS.dir);
    if (p.base !== base || p.absPath === '') {
      p.base = base;
      p.absPath = absolutize(path, base);
    }
    const flags = rec.readUInt32LE(F.flags[0]);
    let absPath = path === '' && resolved !== '' ? resolved : p.absPath;
    // A symlink's relative target is relative to the link's directory; a mount's source is a path
    // only for bind and move mounts (else a device or a name: the target is what the call names).
    if (path2 !== null && absPath2 !== null && path !== '') {
      if (SYMLINKS.has(syscall) && !path.startsWith('/')) absPath = absolutize(path, dirOf(absPath2));
      else if (syscall === 'mount' && (flags & MS_SOURCE_IS_PATH) === 0) absPath = absPath2;
    }
    const cgroupId = this.#cgroup(rec, p);

    return {
      timestampNs: rec.readBigUInt64LE(F.ts_boot_ns[0]) + bootToRealtimeNs,
      hostPid,
      hostTid: rec.readUInt32LE(F.host_tid[0]),
      hostPpid: rec.readUInt32LE(F.host_ppid[0]),
      pid: rec.readUInt32LE(F.ns_pid[0]),
      ppid: rec.readUInt32LE(F.ns_ppid[0]),
      uid: rec.readUInt32LE(F.uid[0]),
      gid: rec.readUInt32LE(F.gid[0]),
      euid: rec.readUInt32LE(F.euid[0]),
      comm: p.comm,
      tty: p.tty,
      exePath: p.exe,
      parentExePath: p.pexe,
      cgroupId,
      mntNs: rec.readUInt32LE(F.mnt_ns[0]),
      pidNs: rec.readUInt32LE(F.pid_ns[0]),
      netNs: rec.readUInt32LE(F.net_ns[0]),
      syscall,
      dirfd,
      flags,
      mode: rec.readUInt32LE(F.mode[0]),
      args: extraArgs(syscall, rec, dirfd2),
      ret,
      path,
      // An unreadable path (a page the kernel could not fault in), or none (open_by_handle_at, an
      // io_uring open whose name could not pass the kernel filter), leaves only what the kernel opened.
      absPath,
      resolvedPath: opened ? resolved : null,
      hostPath,
      identityPaths,
      path2,
      absPath2,
      cwd,
      ownerUid: (evFlags & EV_FLAGS.ownerValid) !== 0 ? rec.readUInt32LE(F.owner_uid[0]) : null,
    };
  }

  /** Updates the process's cached strings (exe, parent exe, cwd, comm, tty) from a record that carries them. */
  #processStrings(rec: Buffer, p: ProcStrings): void {
    const ends = this.#ends;
    if (!same(rec, ends[STR_SLOTS.exe]!, ends[STR_SLOTS.exe + 1]!, p.exeRaw)) {
      p.exeRaw = Buffer.from(rec.subarray(ends[STR_SLOTS.exe]!, ends[STR_SLOTS.exe + 1]!));
      p.exe = this.#str(rec, STR_SLOTS.exe);
    }
    if (!same(rec, ends[STR_SLOTS.pexe]!, ends[STR_SLOTS.pexe + 1]!, p.pexeRaw)) {
      p.pexeRaw = Buffer.from(rec.subarray(ends[STR_SLOTS.pexe]!, ends[STR_SLOTS.pexe + 1]!));
      p.pexe = this.#str(rec, STR_SLOTS.pexe);
    }
    if (!same(rec, ends[STR_SLOTS.cwd]!, ends[STR_SLOTS.cwd + 1]!, p.cwdRaw)) {
      p.cwdRaw = Buffer.from(rec.subarray(ends[STR_SLOTS.cwd]!, ends[STR_SLOTS.cwd + 1]!));
      p.cwd = this.#str(rec, STR_SLOTS.cwd);
    }
    let commEnd = rec.indexOf(0, F.comm[0]);
    if (commEnd < 0 || commEnd > F.comm[0] + F.comm[1]) commEnd = F.comm[0] + F.comm[1];
    if (!same(rec, F.comm[0], commEnd, p.commRaw)) {
      p.commRaw = Buffer.from(rec.subarray(F.comm[0], commEnd));
      p.comm = rec.toString('utf8', F.comm[0], commEnd);
    }
    if (!same(rec, ends[STR_SLOTS.tty]!, ends[STR_SLOTS.tty + 1]!, p.ttyRaw)) {
      p.ttyRaw = Buffer.from(rec.subarray(ends[STR_SLOTS.tty]!, ends[STR_SLOTS.tty + 1]!));
      p.tty = p.ttyRaw.length === 0 ? null : this.#str(rec, STR_SLOTS.tty);
    }

  }

  /** The cgroup id, decoded again only when its bytes changed. */
  #cgroup(rec: Buffer, p: ProcStrings): bigint {
    const cgLo = rec.readUInt32LE(F.cgroup_id[0]);
    const cgHi = rec.readUInt32LE(F.cgroup_id[0] + 4);
    if (cgLo !== p.cgLo || cgHi !== p.cgHi) {
      p.cgLo = cgLo;
      p.cgHi = cgHi;
      p.cgroupId = rec.readBigUInt64LE(F.cgroup_id[0]);
    }
    return p.cgroupId;
  }

  /**
   * A network call, or a connect's outcome. An outcome reported away from the process (softirq)
   * carries only its address: the process's strings are those of its earlier records (empty when
   * none was decoded).
   */
  #network(rec: Buffer, bootToRealtimeNs: bigint, syscall: NetworkSyscall): NetworkEvent {
    this.#slots(rec);
    const ends = this.#ends;
    const hostPid = rec.readUInt32LE(F.host_pid[0]);
    const p = this.#proc(hostPid);
    const evFlags = rec.readUInt32LE(F.ev_flags[0]);
    const outcome = (evFlags & EV_FLAGS.netOutcome) !== 0;
    const handover = (evFlags & EV_FLAGS.netHandover) !== 0;
    // Outcomes and handovers carry no process strings: those of the process's latest event stand.
    if ((!outcome && !handover) || ends[STR_SLOTS.exe + 1]! > ends[STR_SLOTS.exe]!) this.#processStrings(rec, p);
    const domain = Number(rec.readBigUInt64LE(F.arg_a[0]));
    const type = Number(rec.readBigUInt64LE(F.arg_b[0]));
    const at = (slot: number): [number, number] => [ends[slot]!, ends[slot + 1]! - ends[slot]!];
    const [rs, rl] = at(STR_SLOTS.remote);
    const [ls, ll] = at(STR_SLOTS.local);
    return {
      kind: 'network',
      ...taskNumbers(rec, bootToRealtimeNs),
      comm: p.comm,
      tty: p.tty,
      exePath: p.exe,
      parentExePath: p.pexe,
      cgroupId: this.#cgroup(rec, p),
      cwd: p.cwd,
      syscall,
      phase: handover ? 'handover' : outcome ? ((evFlags & EV_FLAGS.netAttempt) !== 0 ? 'attempt' : 'outcome')
        : (evFlags & EV_FLAGS.netGateOpen) !== 0 ? 'gate' : 'call',
      fd: handover ? -1 : rec.readInt32LE(F.dirfd[0]),
      ret: rec.readInt32LE(F.ret[0] + 4) * 0x1_0000_0000 + rec.readUInt32LE(F.ret[0]),
      domain,
      type,
      protocol: defaultProtocol(domain, type, rec.readUInt32LE(F.mode[0])),
      remote: decodeSockaddr(rec, rs, rl),
      local: decodeSockaddr(rec, ls, ll),
      ...(handover ? { gated: {
        attempts: rec.readUInt32LE(F.flags[0]), succeeded: rec.readUInt32LE(F.owner_uid[0]),
        refused: rec.readUInt32LE(F.dirfd[0]), failed: rec.readUInt32LE(F.dirfd2[0]),
        firstNs: rec.readBigUInt64LE(F.ident_ino[0]) + bootToRealtimeNs,
      } } : {}),
    };
  }

  /** Where each string slot starts and ends (this.#ends), checked against the record's length. */
  #slots(rec: Buffer): void {
    const ends = this.#ends;
    ends[0] = EVENT_HEADER_SIZE;
    for (let i = 0; i < STR_COUNT; i++) {
      const len = rec.readUInt16LE(F.str_len[0] + 2 * i);
      const off = ends[i]!;
      if (off + len > rec.length) {
        throw new MonitorError('AW_MONITOR_DECODE', `event record string ${i} (${len} bytes at ${off}) runs past its ${rec.length}-byte end`);
      }
      ends[i + 1] = off + len;
    }
  }

  /**
   * An execution. A successful one comes from the exec hook: the resolved slot is the program now
   * running, the caller slot what ran before. A failed one comes from the syscall exit: the caller
   * still runs its own executable (exe slot) and nothing was resolved.
   */
  #exec(rec: Buffer, bootToRealtimeNs: bigint, syscall: ExecSyscall): ExecEvent {
    this.#slots(rec);
    const str = (slot: number): string => this.#str(rec, slot);
    const evFlags = rec.readUInt32LE(F.ev_flags[0]);
    const dirfd = rec.readInt32LE(F.dirfd[0]);
    const ret = rec.readInt32LE(F.ret[0] + 4) * 0x1_0000_0000 + rec.readUInt32LE(F.ret[0]);
    const ok = ret >= 0;
    const resolved = ok && str(STR_SLOTS.resolved) !== '' ? str(STR_SLOTS.resolved) : null;
    const cwd = str(STR_SLOTS.cwd);
    let path = str(STR_SLOTS.path);
    if (ok && dirfd !== AT_FDCWD) path = DEV_FD.exec(path)?.[1] ?? '';
    const dir = dirfd === AT_FDCWD ? cwd : str(STR_SLOTS.dir);
    // No requested path (AT_EMPTY_PATH, an unreadable one) or no directory to join it to (a dirfd
    // closed on exec, flagged): the file that ran is the best absolute form there is.
    const unjoinable = path === '' || (!path.startsWith('/') && dir === '');
    const absPath = unjoinable ? (resolved ?? path) : absolutize(path, dir);
    let commEnd = rec.indexOf(0, F.comm[0]);
    if (commEnd < 0 || commEnd > F.comm[0] + F.comm[1]) commEnd = F.comm[0] + F.comm[1];
    const argvText = str(STR_SLOTS.argv);
    const argv = argvText === '' ? [] : argvText.slice(0, -1).split('\0');
    const tty = str(STR_SLOTS.tty);
    const ownExe = str(STR_SLOTS.exe);
    return {
      kind: 'process',
      ...taskNumbers(rec, bootToRealtimeNs),
      comm: rec.toString('utf8', F.comm[0], commEnd),
      exePath: ok ? (resolved ?? '') : ownExe,
      callerExePath: ok ? str(STR_SLOTS.caller) : ownExe,
      parentExePath: str(STR_SLOTS.pexe),
      cgroupId: rec.readBigUInt64LE(F.cgroup_id[0]),
      syscall,
      dirfd,
      flags: rec.readUInt32LE(F.flags[0]),
      ret,
      path,
      absPath,
      resolvedPath: resolved,
      ownerUid: (evFlags & EV_FLAGS.ownerValid) !== 0 ? rec.readUInt32LE(F.owner_uid[0]) : null,
      argv,
      argvTruncated: (evFlags & EV_FLAGS.argvTruncated) !== 0,
      tty: tty === '' ? null : tty,
      cwd,
    };
  }
}

/** Decodes one record without a cache (see EventDecoder). */
export function decodeEvent(rec: Buffer, bootToRealtimeNs: bigint): MonitorEvent {
  return new EventDecoder().decode(rec, bootToRealtimeNs);
}
