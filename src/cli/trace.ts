// `armorwatch trace`: every file event, execution and network call as one JSON object per line on stdout, in
// KubeArmor's log shape plus armorwatch's extra fields (docs/TRACE.md). No policies: the kernel
// filter passes all.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { cgroupPathFromProc, parseCgroupPath } from '../enrich/cgroup-path.ts';
import { RING_BUFFER_DEFAULT } from '../config/parse.ts';
import {
  familyName, formatAddress, formatAtFlags, formatCallFlags, formatData, formatResult, isoSeconds, networkResource, protocolName, socketTypeName,
  splitNs, syscallName,
} from '../format/index.ts';
import { createLogger } from '../log.ts';
import { openMonitor, type Monitor } from '../monitor/index.ts';
import type { ExecEvent, FileEvent, NetworkEvent, SocketAddress } from '../types.ts';

const HELP = `Usage: armorwatch trace [--pid N]... [--comm NAME]...

Streams every file access (open, openat, openat2, creat, unlink, unlinkat, rmdir, rename,
renameat, renameat2, truncate, chmod, fchmodat, chown, fchownat), every execution (execve,
execveat, failed ones included) and every network call (socket, connect, accept, accept4, bind,
listen, with their addresses, and the outcome of non-blocking connects) as JSON lines on stdout.
Logs go to stderr. Needs root (or CAP_BPF and CAP_PERFMON). Stop with Ctrl-C.

Options:
  --pid N       only processes with this host pid (repeatable)
  --comm NAME   only processes with this command name, first 15 bytes (repeatable)
  -h, --help    this text
Field names: docs/TRACE.md
`;

function parse(argv: string[]): { pids: number[]; comms: string[]; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { pid: { type: 'string', multiple: true }, comm: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`trace: ${(err as Error).message}`);
  }
  const pids = (values.pid ?? []).map((p) => {
    if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`trace: --pid expects a process id, got "${p}"`);
    return Number(p);
  });
  const comms = values.comm ?? [];
  for (const c of comms) if (c === '') throw new UsageError('trace: --comm expects a name');
  return { pids, comms, help: values.help === true };
}

/** Container id by cgroup id, from the first process seen in that cgroup; null for host cgroups. */
class ContainerIds {
  readonly #byCgroup = new Map<bigint, string | null>();

  lookup(ev: { readonly hostPid: number; readonly cgroupId: bigint }): string | null {
    const known = this.#byCgroup.get(ev.cgroupId);
    if (known !== undefined) return known;
    let text: string;
    try {
      text = readFileSync(`/proc/${ev.hostPid}/cgroup`, 'utf8');
    } catch {
      return null; // gone already; try again with the next event of this cgroup
    }
    const { v2, v1 } = cgroupPathFromProc(text);
    const path = v2 ?? v1;
    const id = path === null ? null : (parseCgroupPath(path)?.containerId ?? null);
    this.#byCgroup.set(ev.cgroupId, id);
    return id;
  }
}

const q = JSON.stringify;
const qn = (s: string | null): string => (s === null ? 'null' : q(s));
const WITH_ARGS: ReadonlySet<string> = new Set(['chown', 'fchownat', 'openat2', 'renameat', 'renameat2', 'truncate']);
const WITH_NEWPATH: ReadonlySet<string> = new Set(['rename', 'renameat', 'renameat2']);

/**
 * A process's part of the line as last built, as UTF-8, with the values it was built from. Strings
 * from the decoder's cache are the same objects event after event, so the checks are mostly
 * identity tests.
 */
interface ProcPart {
  host: string; containerId: string | null; hostPpid: number; ppid: number; pid: number; uid: number;
  pexe: string; exe: string;
  /** `Z","HostName":…,` up to `"Resource":` */
  head: Buffer;
  cwd: string; hostTid: number; gid: number; comm: string; cgroupId: bigint; mntNs: number; pidNs: number; netNs: number;
  euid: number; tty: string | null;
  /** `,"Cwd":…,` up to `"Syscall":` */
  mid: Buffer;
  absPath: string; absQ: Buffer; path: string; pathQ: Buffer;
  resolved: string | null;
  /** `,"ResolvedPath":…` */
  resolvedQ: Buffer;
  owner: number | null; ownerText: Buffer;
}

/** The Data, Result, Flags and Args of the last call with the same numbers (calls with no path in Data). */
interface CallPart {
  /** Data or Args carry more than these numbers: the line takes the plain road. */
  readonly plain: boolean;
  dirfd: number; flags: number; mode: number; ret: number;
  /** `,"Operation":"File","Data":…,"Result":…` */
  dataResult: Buffer;
  /** `"SYS_X","Dirfd":…,"Flags":…,"Mode":…,"Args":{},"Ret":…,"RequestedPath":` */
  tail: Buffer;
}

const MAX_PROCS = 4096;
const EMPTY: Buffer = Buffer.alloc(0);
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const NO_NEW_PATHS = utf8(',"NewRequestedPath":null,"NewResource":null,"OwnerUID":');
const TIMESTAMP_NS = utf8(',"TimestampNs":"');
const LINE_END = utf8('"}\n');

function putAscii(out: Buffer, off: number, s: string, from: number): number {
  for (let i = from; i < s.length; i++) out[off++] = s.charCodeAt(i);
  return off;
}

/**
 * Builds trace lines, fields in the order of docs/TRACE.md. This is the per-event cost that bounds
 * trace's throughput, so the parts that stay the same from one event of a process to the next are
 * kept as UTF-8 bytes and copied into the output buffer; only the time is written per event. Calls
 * whose Data or Args carry paths or other arguments take the plain road through one string.
 */
export class TraceLines {
  readonly #procs = new Map<number, ProcPart>();
  readonly #calls = new Map<string, CallPart>();
  #secText = '';
  /** `{"Timestamp":…,"UpdatedTime":"…T…:…:….` for #secText */
  #timeHead = EMPTY;

  #proc(ev: FileEvent, host: string, containerId: string | null): ProcPart {
    let p = this.#procs.get(ev.hostPid);
    if (p === undefined) {
      if (this.#procs.size >= MAX_PROCS) this.#procs.clear();
      p = {
        host: '', containerId: null, hostPpid: -1, ppid: -1, pid: -1, uid: -1, pexe: '', exe: '', head: EMPTY,
        cwd: '', hostTid: -1, gid: -1, comm: '', cgroupId: -1n, mntNs: -1, pidNs: -1, netNs: -1, euid: -1, tty: null, mid: EMPTY,
        absPath: '', absQ: utf8('""'), path: '', pathQ: utf8('""'), resolved: null, resolvedQ: utf8(',"ResolvedPath":null'),
        owner: null, ownerText: utf8('null'),
      };
      this.#procs.set(ev.hostPid, p);
    }
    if (p.head === EMPTY || p.host !== host || p.containerId !== containerId || p.hostPpid !== ev.hostPpid || p.ppid !== ev.ppid
      || p.pid !== ev.pid || p.uid !== ev.uid || p.pexe !== ev.parentExePath || p.exe !== ev.exePath) {
      p.host = host; p.containerId = containerId; p.hostPpid = ev.hostPpid; p.ppid = ev.ppid; p.pid = ev.pid; p.uid = ev.uid;
      p.pexe = ev.parentExePath; p.exe = ev.exePath;
      const exeQ = q(ev.exePath);
      p.head = utf8(`Z","HostName":${q(host)},`
        + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
        + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
        + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${exeQ},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
        + `"Source":${exeQ},"Resource":`);
    }
    if (p.mid === EMPTY || p.cwd !== ev.cwd || p.hostTid !== ev.hostTid || p.gid !== ev.gid || p.comm !== ev.comm
      || p.cgroupId !== ev.cgroupId || p.mntNs !== ev.mntNs || p.pidNs !== ev.pidNs || p.netNs !== ev.netNs
      || p.euid !== ev.euid || p.tty !== ev.tty) {
      p.cwd = ev.cwd; p.hostTid = ev.hostTid; p.gid = ev.gid; p.comm = ev.comm; p.cgroupId = ev.cgroupId;
      p.mntNs = ev.mntNs; p.pidNs = ev.pidNs; p.netNs = ev.netNs; p.euid = ev.euid; p.tty = ev.tty;
      p.mid = utf8(`,"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
        + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},`
        + `"EUID":${ev.euid},"TTY":${qn(ev.tty)},"Syscall":`);
    }
    if (p.absPath !== ev.absPath) { p.absPath = ev.absPath; p.absQ = utf8(q(ev.absPath)); }
    if (p.path !== ev.path) { p.path = ev.path; p.pathQ = utf8(q(ev.path)); }
    if (p.resolved !== ev.resolvedPath) { p.resolved = ev.resolvedPath; p.resolvedQ = utf8(`,"ResolvedPath":${qn(ev.resolvedPath)}`); }
    if (p.owner !== ev.ownerUid) { p.owner = ev.ownerUid; p.ownerText = utf8(String(ev.ownerUid)); }
    return p;
  }

  #call(ev: FileEvent): CallPart {
    let c = this.#calls.get(ev.syscall);
    if (c === undefined) {
      c = { plain: WITH_ARGS.has(ev.syscall) || WITH_NEWPATH.has(ev.syscall), dirfd: 0, flags: 0, mode: 0, ret: 0, tail: EMPTY, dataResult: EMPTY };
      this.#calls.set(ev.syscall, c);
    }
    if (c.plain) return c;
    if (c.tail === EMPTY || c.dirfd !== ev.dirfd || c.flags !== ev.flags || c.mode !== ev.mode || c.ret !== ev.ret) {
      c.dirfd = ev.dirfd; c.flags = ev.flags; c.mode = ev.mode; c.ret = ev.ret;
      const flags = formatCallFlags(ev);
      c.tail = utf8(`"${syscallName(ev.syscall)}","Dirfd":${ev.dirfd},"Flags":${flags === undefined ? 'null' : q(flags)},"Mode":${ev.mode},`
        + `"Args":{},"Ret":${ev.ret},"RequestedPath":`);
      c.dataResult = utf8(`,"Operation":"File","Data":${q(formatData(ev))},"Result":${q(formatResult(ev.ret))}`);
    }
    return c;
  }

  /** The line as one string, for the calls the byte path does not cover. */
  #plain(ev: FileEvent, host: string, containerId: string | null): string {
    const [sec, nanos, all] = splitNs(ev.timestampNs);
    const flags = formatCallFlags(ev);
    return `{"Timestamp":${sec},"UpdatedTime":"${isoSeconds(sec)}.${nanos}Z","HostName":${q(host)},`
      + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
      + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
      + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${q(ev.exePath)},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
      + `"Source":${q(ev.exePath)},"Resource":${q(ev.absPath)},"Operation":"File","Data":${q(formatData(ev))},`
      + `"Result":${q(formatResult(ev.ret))},"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
      + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},`
      + `"EUID":${ev.euid},"TTY":${qn(ev.tty)},"Syscall":"${syscallName(ev.syscall)}",`
      + `"Dirfd":${ev.dirfd},"Flags":${flags === undefined ? 'null' : q(flags)},"Mode":${ev.mode},"Args":${q(ev.args)},"Ret":${ev.ret},`
      + `"RequestedPath":${q(ev.path)},"ResolvedPath":${qn(ev.resolvedPath)},"NewRequestedPath":${qn(ev.path2)},`
      + `"NewResource":${qn(ev.absPath2)},"OwnerUID":${ev.ownerUid === null ? 'null' : ev.ownerUid},"TimestampNs":"${all}"}`;
  }

  /**
   * Writes the line and its newline into out at off and returns the offset after it; when it does
   * not fit, writes nothing and returns minus the bytes it needs.
   */
  encode(ev: FileEvent, host: string, containerId: string | null, out: Buffer, off: number): number {
    const ns = ev.timestampNs.toString();
    const c = this.#call(ev);
    if (c.plain || ev.path2 !== null || ev.absPath2 !== null
      || ns.length <= 9 || ev.timestampNs <= 0n) {
      const line = this.#plain(ev, host, containerId);
      const need = line.length * 3 + 1; // a UTF-16 unit is at most 3 bytes of UTF-8
      if (out.length - off < need) return -need;
      off += out.write(line, off);
      out[off++] = 0x0a;
      return off;
    }
    const secLen = ns.length - 9;
    if (this.#secText.length !== secLen || !ns.startsWith(this.#secText)) {
      this.#secText = ns.slice(0, secLen);
      this.#timeHead = utf8(`{"Timestamp":${this.#secText},"UpdatedTime":"${isoSeconds(this.#secText)}.`);
    }
    const p = this.#proc(ev, host, containerId);
    const th = this.#timeHead;
    const need = th.length + 9 + p.head.length + p.absQ.length + c.dataResult.length + p.mid.length + c.tail.length
      + p.pathQ.length + p.resolvedQ.length + NO_NEW_PATHS.length + p.ownerText.length + TIMESTAMP_NS.length + ns.length + LINE_END.length;
    if (out.length - off < need) return -need;
    out.set(th, off); off += th.length;
    off = putAscii(out, off, ns, secLen);
    out.set(p.head, off); off += p.head.length;
    out.set(p.absQ, off); off += p.absQ.length;
    out.set(c.dataResult, off); off += c.dataResult.length;
    out.set(p.mid, off); off += p.mid.length;
    out.set(c.tail, off); off += c.tail.length;
    out.set(p.pathQ, off); off += p.pathQ.length;
    out.set(p.resolvedQ, off); off += p.resolvedQ.length;
    out.set(NO_NEW_PATHS, off); off += NO_NEW_PATHS.length;
    out.set(p.ownerText, off); off += p.ownerText.length;
    out.set(TIMESTAMP_NS, off); off += TIMESTAMP_NS.length;
    off = putAscii(out, off, ns, 0);
    out.set(LINE_END, off);
    return off + LINE_END.length;
  }

  /**
   * An execution's line: KubeArmor's process log shape (`Operation: Process`, `Resource` the
   * command line) plus the same extras as file lines and the execution's own (docs/TRACE.md).
   * Executions are rare next to file calls: one plain string.
   */
  execLine(ev: ExecEvent, host: string, containerId: string | null): string {
    const [sec, nanos, all] = splitNs(ev.timestampNs);
    const sys = syscallName(ev.syscall);
    const atFlags = ev.syscall === 'execveat' ? formatAtFlags(ev.flags) : null;
    const data = ev.syscall === 'execveat' ? `syscall=${sys} fd=${ev.dirfd} flags=${atFlags}` : `syscall=${sys}`;
    const processName = ev.resolvedPath ?? ev.absPath;
    const resource = [ev.absPath, ...ev.argv.slice(1)].join(' ');
    return `{"Timestamp":${sec},"UpdatedTime":"${isoSeconds(sec)}.${nanos}Z","HostName":${q(host)},`
      + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
      + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
      + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${q(processName)},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
      + `"Source":${q(ev.callerExePath)},"Resource":${q(resource)},"Operation":"Process","Data":${q(data)},`
      + `"Result":${q(formatResult(ev.ret))},"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
      + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},`
      + `"EUID":${ev.euid},"TTY":${qn(ev.tty)},"Syscall":"${sys}",`
      + `"Dirfd":${ev.dirfd},"Flags":${atFlags === null ? 'null' : q(atFlags)},"Ret":${ev.ret},`
      + `"RequestedPath":${q(ev.path)},"ExecPath":${q(ev.absPath)},"ResolvedPath":${qn(ev.resolvedPath)},`
      + `"Argv":${q(ev.argv)},"ArgvTruncated":${ev.argvTruncated},"OwnerUID":${ev.ownerUid === null ? 'null' : ev.ownerUid},`
      + `"TimestampNs":"${all}"}`;
  }

  /**
   * A network call's line: KubeArmor's network log shape (`Operation: Network`, `Resource` the
   * socket's triple or its address) plus the same extras as the other lines and the call's own
   * (docs/TRACE.md). One plain string.
   */
  networkLine(ev: NetworkEvent, host: string, containerId: string | null): string {
    const [sec, nanos, all] = splitNs(ev.timestampNs);
    const sys = syscallName(ev.syscall);
    return `{"Timestamp":${sec},"UpdatedTime":"${isoSeconds(sec)}.${nanos}Z","HostName":${q(host)},`
      + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
      + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
      + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${q(ev.exePath)},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
      + `"Source":${q(ev.exePath)},"Resource":${q(networkResource(ev))},"Operation":"Network","Data":${q(formatData({ syscall: ev.syscall, fd: ev.fd }))},`
      + `"Result":${q(formatResult(ev.ret))},"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
      + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},`
      + `"EUID":${ev.euid},"TTY":${qn(ev.tty)},"Syscall":"${sys}","Phase":"${ev.phase}","Fd":${ev.fd},"Ret":${ev.ret},`
      + `"Domain":"${familyName(ev.domain)}","SocketType":"${socketTypeName(ev.type)}","Protocol":"${protocolName(ev.protocol)}",`
      + `"Remote":${addressJson(ev.remote)},"Local":${addressJson(ev.local)},"TimestampNs":"${all}"}`;
  }

  /** One line as a string, without its newline. */
  line(ev: FileEvent, host: string, containerId: string | null): string {
    let out: Buffer = Buffer.allocUnsafe(4096);
    let end = this.encode(ev, host, containerId, out, 0);
    if (end < 0) {
      out = Buffer.allocUnsafe(-end);
      end = this.encode(ev, host, containerId, out, 0);
    }
    return out.toString('utf8', 0, end - 1);
  }
}

/** A socket address in trace lines: its family, its text (address, or unix path with `@` for abstract), its port. */
function addressJson(a: SocketAddress | null): string {
  if (a === null) return 'null';
  const port = a.family === 'inet' || a.family === 'inet6' ? `,"Port":${a.port}` : '';
  const mapped = a.family === 'inet6' && a.mappedV4 !== undefined ? `,"MappedIPv4":${q(a.mappedV4)}` : '';
  return `{"Family":"${a.family}","Address":${q(formatAddress(a))}${port}${mapped}}`;
}

const shared = new TraceLines();

/** One trace line as JSON text (see TraceLines). */
export function traceLine(ev: FileEvent, host: string, containerId: string | null): string {
  return shared.line(ev, host, containerId);
}

/** One execution's trace line as JSON text (see TraceLines.execLine). */
export function traceExecLine(ev: ExecEvent, host: string, containerId: string | null): string {
  return shared.execLine(ev, host, containerId);
}

/** One network call's trace line as JSON text (see TraceLines.networkLine). */
export function traceNetworkLine(ev: NetworkEvent, host: string, containerId: string | null): string {
  return shared.networkLine(ev, host, containerId);
}

/** One trace line as an object (what traceLine writes; kept for readers and tests). */
export function traceRecord(ev: FileEvent, host: string, containerId: string | null): Record<string, unknown> {
  return JSON.parse(traceLine(ev, host, containerId)) as Record<string, unknown>;
}

const SINK_BYTES = 1 << 20;

/**
 * Lines are encoded straight into one buffer per batch of events and written at once. When stdout
 * cannot keep up, reading from the monitor pauses: the kernel then counts what its ring buffer
 * cannot hold (reported at exit and in the logs) instead of this process growing without bound.
 */
export class LineSink {
  #buf: Buffer = Buffer.allocUnsafe(SINK_BYTES);
  #used = 0;
  #scheduled = false;
  #monitor: Monitor | null = null;
  #blocked = false;
  readonly #out: NodeJS.WritableStream;
  readonly #lines: TraceLines;

  constructor(out: NodeJS.WritableStream, lines: TraceLines) {
    this.#out = out;
    this.#lines = lines;
  }

  attach(m: Monitor): void {
    this.#monitor = m;
  }

  push(ev: FileEvent, host: string, containerId: string | null): void {
    let end = this.#lines.encode(ev, host, containerId, this.#buf, this.#used);
    if (end < 0) {
      this.flush();
      if (this.#buf.length < -end) this.#buf = Buffer.allocUnsafe(Math.max(-end, SINK_BYTES));
      end = this.#lines.encode(ev, host, containerId, this.#buf, 0);
    }
    this.#used = end;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** An execution's line (see TraceLines.execLine). */
  pushExec(ev: ExecEvent, host: string, containerId: string | null): void {
    this.#pushLine(this.#lines.execLine(ev, host, containerId));
  }

  /** A network call's line (see TraceLines.networkLine). */
  pushNetwork(ev: NetworkEvent, host: string, containerId: string | null): void {
    this.#pushLine(this.#lines.networkLine(ev, host, containerId));
  }

  #pushLine(line: string): void {
    const need = Buffer.byteLength(line) + 1;
    if (this.#buf.length - this.#used < need) {
      this.flush();
      if (this.#buf.length < need) this.#buf = Buffer.allocUnsafe(Math.max(need, SINK_BYTES));
    }
    this.#used += this.#buf.write(line, this.#used);
    this.#buf[this.#used++] = 0x0a;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#used === 0) return;
    const chunk = this.#buf.subarray(0, this.#used);
    // The written part now belongs to the stream; later lines go after it, or to a fresh buffer
    // once the rest is small.
    const rest = this.#buf.length - this.#used;
    this.#buf = rest >= SINK_BYTES / 4 ? this.#buf.subarray(this.#used) : Buffer.allocUnsafe(SINK_BYTES);
    this.#used = 0;
    if (!this.#out.write(chunk) && !this.#blocked) {
      this.#blocked = true;
      this.#monitor?.pause();
      this.#out.once('drain', () => {
        this.#blocked = false;
        this.#monitor?.resume();
      });
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const opts = parse(argv);
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const logger = createLogger();
  const host = hostname();
  const containers = new ContainerIds();
  const sink = new LineSink(process.stdout, new TraceLines());
  let stdoutGone = false;
  process.stdout.on('error', () => { stdoutGone = true; });
  let failed = false;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stop = resolve; });

  const monitor = await openMonitor({
    logger,
    ringbufBytes: RING_BUFFER_DEFAULT,
    pathFilter: {
      passAll: true, exactPaths: [], dirPrefixes: [], exec: { passAll: true, paths: [], dirs: [], names: [] },
      network: { passAll: true, calls: [], protocols: [] },
    },
    processFilter: { pids: opts.pids, comms: opts.comms, excludePids: [process.pid] },
    onEvent: (ev) => {
      if (!stdoutGone) sink.push(ev, host, containers.lookup(ev));
    },
    onExec: (ev) => {
      if (!stdoutGone) sink.pushExec(ev, host, containers.lookup(ev));
    },
    onNetwork: (ev) => {
      if (!stdoutGone) sink.pushNetwork(ev, host, containers.lookup(ev));
    },
    onError: (err) => {
      logger.error({ err }, 'file monitor stopped');
      failed = true;
      stop();
    },
  });
  sink.attach(monitor);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop);
  process.stdout.once('close', stop);
  await stopped;
  let stats = monitor.stats();
  try { stats = await monitor.refreshStats(); } catch { /* helper already gone: keep the last counters */ }
  await monitor.close();
  sink.flush();
  logger.info({ stats }, 'trace stopped');
  process.stderr.write(`armorwatch trace: ${stats.delivered} events delivered, ${stats.lostInKernel} lost in the kernel (ring buffer full), ${stats.lostPending} lost (no in-flight slot), ${stats.decodeErrors} undecodable, ${stats.lostNetPending} connect outcomes untracked; hook ${stats.hook}, exec hook ${stats.execHook}, connect outcome hook ${stats.outcomeHook}${stats.outcomeProblem === '' ? '' : ` (${stats.outcomeProblem})`}\n`);
  return failed ? 1 : 0;
}
