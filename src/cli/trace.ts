// `armorwatch trace`: every file event as one JSON object per line on stdout, in KubeArmor's log
// shape plus armorwatch's extra fields (docs/TRACE.md). No policies: the kernel filter passes all.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { cgroupPathFromProc, parseCgroupPath } from '../enrich/cgroup-path.ts';
import { formatCallFlags, formatData, formatResult, syscallName } from '../format/index.ts';
import { createLogger } from '../log.ts';
import { openMonitor, type Monitor } from '../monitor/index.ts';
import type { FileEvent } from '../types.ts';

const HELP = `Usage: armorwatch trace [--pid N]... [--comm NAME]...

Streams every file access (open, openat, openat2, creat, unlink, unlinkat, rmdir, rename,
renameat, renameat2, truncate, chmod, fchmodat, chown, fchownat) as JSON lines on stdout.
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

let isoSecond = '';
let isoPrefix = '';

/** Seconds, nanoseconds and the whole of an epoch time in ns, as decimal text (no BigInt division). */
function splitNs(ns: bigint): [sec: string, nanos: string, all: string] {
  const s = ns.toString();
  if (s.length > 9 && ns > 0n) return [s.slice(0, -9), s.slice(-9), s];
  return [(ns / 1_000_000_000n).toString(), (ns % 1_000_000_000n).toString().padStart(9, '0'), s];
}

function isoSeconds(sec: string): string {
  if (sec !== isoSecond) {
    isoSecond = sec;
    isoPrefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19); // 2026-01-02T03:04:05
  }
  return isoPrefix;
}

/** RFC 3339 with nanoseconds, as KubeArmor's UpdatedTime. The seconds part is cached: events come in bursts. */
export function rfc3339Nano(ns: bigint): string {
  const [sec, nanos] = splitNs(ns);
  return `${isoSeconds(sec)}.${nanos}Z`;
}

/** Container id by cgroup id, from the first process seen in that cgroup; null for host cgroups. */
class ContainerIds {
  readonly #byCgroup = new Map<bigint, string | null>();

  lookup(ev: FileEvent): string | null {
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
 * A process's part of the line as last built, with the values it was built from. Strings from the
 * decoder's cache are the same objects event after event, so the checks are mostly identity tests.
 */
interface ProcPart {
  host: string; containerId: string | null; hostPpid: number; ppid: number; pid: number; uid: number;
  pexe: string; exe: string;
  /** `"HostName":…,` up to `"Resource":` */
  head: string;
  cwd: string; hostTid: number; gid: number; comm: string; cgroupId: bigint; mntNs: number; pidNs: number; netNs: number;
  /** `,"Cwd":…,` up to `"Syscall":"` */
  mid: string;
  absPath: string; absQ: string; path: string; pathQ: string; resolved: string | null; resolvedQ: string;
}

/** The quoted Data, Result, Flags and Args of the last call with the same numbers (no path in Data). */
interface CallPart {
  syscall: string; dirfd: number; flags: number; mode: number; ret: number;
  /** `"SYS_X","Dirfd":…,"Flags":…,"Mode":…,"Args":{},"Ret":…,"RequestedPath":` */
  tail: string;
  /** `"Data":…,"Result":…` */
  dataResult: string;
}

const MAX_PROCS = 4096;

/**
 * Builds trace lines. Written by hand rather than through JSON.stringify of an object, and the parts
 * that stay the same from one event of a process to the next are kept as text: this is the
 * per-event cost that bounds trace's throughput. Fields in the order of docs/TRACE.md.
 */
export class TraceLines {
  readonly #procs = new Map<number, ProcPart>();
  readonly #calls = new Map<string, CallPart>();

  #proc(ev: FileEvent, host: string, containerId: string | null): ProcPart {
    let p = this.#procs.get(ev.hostPid);
    if (p === undefined) {
      if (this.#procs.size >= MAX_PROCS) this.#procs.clear();
      p = {
        host: '', containerId: null, hostPpid: -1, ppid: -1, pid: -1, uid: -1, pexe: '', exe: '', head: '',
        cwd: '', hostTid: -1, gid: -1, comm: '', cgroupId: -1n, mntNs: -1, pidNs: -1, netNs: -1, mid: '',
        absPath: '', absQ: '""', path: '', pathQ: '""', resolved: null, resolvedQ: 'null',
      };
      this.#procs.set(ev.hostPid, p);
    }
    if (p.head === '' || p.host !== host || p.containerId !== containerId || p.hostPpid !== ev.hostPpid || p.ppid !== ev.ppid
      || p.pid !== ev.pid || p.uid !== ev.uid || p.pexe !== ev.parentExePath || p.exe !== ev.exePath) {
      p.host = host; p.containerId = containerId; p.hostPpid = ev.hostPpid; p.ppid = ev.ppid; p.pid = ev.pid; p.uid = ev.uid;
      p.pexe = ev.parentExePath; p.exe = ev.exePath;
      const exeQ = q(ev.exePath);
      p.head = `"HostName":${q(host)},`
        + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
        + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
        + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${exeQ},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
        + `"Source":${exeQ},"Resource":`;
    }
    if (p.mid === '' || p.cwd !== ev.cwd || p.hostTid !== ev.hostTid || p.gid !== ev.gid || p.comm !== ev.comm
      || p.cgroupId !== ev.cgroupId || p.mntNs !== ev.mntNs || p.pidNs !== ev.pidNs || p.netNs !== ev.netNs) {
      p.cwd = ev.cwd; p.hostTid = ev.hostTid; p.gid = ev.gid; p.comm = ev.comm; p.cgroupId = ev.cgroupId;
      p.mntNs = ev.mntNs; p.pidNs = ev.pidNs; p.netNs = ev.netNs;
      p.mid = `,"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
        + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},"Syscall":`;
    }
    return p;
  }

  #call(ev: FileEvent): CallPart {
    let c = this.#calls.get(ev.syscall);
    if (c === undefined) {
      c = { syscall: '', dirfd: 0, flags: 0, mode: 0, ret: 0, tail: '', dataResult: '' };
      this.#calls.set(ev.syscall, c);
    }
    if (c.tail === '' || c.dirfd !== ev.dirfd || c.flags !== ev.flags || c.mode !== ev.mode || c.ret !== ev.ret) {
      c.syscall = ev.syscall; c.dirfd = ev.dirfd; c.flags = ev.flags; c.mode = ev.mode; c.ret = ev.ret;
      const flags = formatCallFlags(ev);
      c.tail = `"${syscallName(ev.syscall)}","Dirfd":${ev.dirfd},"Flags":${flags === undefined ? 'null' : q(flags)},"Mode":${ev.mode},`
        + `"Args":{},"Ret":${ev.ret},"RequestedPath":`;
      c.dataResult = `"Data":${q(formatData(ev))},"Result":${q(formatResult(ev.ret))}`;
    }
    return c;
  }

  line(ev: FileEvent, host: string, containerId: string | null): string {
    const p = this.#proc(ev, host, containerId);
    if (p.absPath !== ev.absPath) { p.absPath = ev.absPath; p.absQ = q(ev.absPath); }
    if (p.path !== ev.path) { p.path = ev.path; p.pathQ = q(ev.path); }
    if (p.resolved !== ev.resolvedPath) { p.resolved = ev.resolvedPath; p.resolvedQ = qn(ev.resolvedPath); }
    const [sec, nanos, all] = splitNs(ev.timestampNs);
    const own = ev.ownerUid === null ? 'null' : ev.ownerUid;
    const time = `{"Timestamp":${sec},"UpdatedTime":"${isoSeconds(sec)}.${nanos}Z",`;
    const end = `,"NewRequestedPath":${qn(ev.path2)},"NewResource":${qn(ev.absPath2)},"OwnerUID":${own},"TimestampNs":"${all}"}`;
    if (WITH_ARGS.has(ev.syscall) || WITH_NEWPATH.has(ev.syscall)) {
      // Calls whose Data or Args carry more than the numbers the cache is keyed by.
      const flags = formatCallFlags(ev);
      return `${time}${p.head}${p.absQ},"Operation":"File","Data":${q(formatData(ev))},"Result":${q(formatResult(ev.ret))}${p.mid}`
        + `"${syscallName(ev.syscall)}","Dirfd":${ev.dirfd},"Flags":${flags === undefined ? 'null' : q(flags)},"Mode":${ev.mode},`
        + `"Args":${q(ev.args)},"Ret":${ev.ret},"RequestedPath":${p.pathQ},"ResolvedPath":${p.resolvedQ}${end}`;
    }
    const c = this.#call(ev);
    return `${time}${p.head}${p.absQ},"Operation":"File",${c.dataResult}${p.mid}${c.tail}${p.pathQ},"ResolvedPath":${p.resolvedQ}${end}`;
  }
}

const shared = new TraceLines();

/** One trace line as JSON text (see TraceLines). */
export function traceLine(ev: FileEvent, host: string, containerId: string | null): string {
  return shared.line(ev, host, containerId);
}

/** One trace line as an object (what traceLine writes; kept for readers and tests). */
export function traceRecord(ev: FileEvent, host: string, containerId: string | null): Record<string, unknown> {
  return JSON.parse(traceLine(ev, host, containerId)) as Record<string, unknown>;
}

const SINK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Lines are encoded straight into one buffer per batch of events and written at once (no joined
 * string to flatten and encode again). When stdout cannot keep up, reading from the monitor
 * pauses: the kernel then counts what its ring buffer cannot hold (reported at exit and in the
 * logs) instead of this process growing without bound.
 */
export class LineSink {
  #buf = Buffer.allocUnsafe(SINK_BYTES);
  #used = 0;
  #scheduled = false;
  #monitor: Monitor | null = null;
  #blocked = false;
  readonly #out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  attach(m: Monitor): void {
    this.#monitor = m;
  }

  push(line: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8, so this always leaves room for the line.
    const need = line.length * 3 + 1;
    if (this.#buf.length - this.#used < need) {
      this.flush();
      if (this.#buf.length < need) this.#buf = Buffer.allocUnsafe(need);
    }
    this.#used += this.#buf.write(line, this.#used);
    this.#buf[this.#used++] = NEWLINE;
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
  const sink = new LineSink(process.stdout);
  let stdoutGone = false;
  process.stdout.on('error', () => { stdoutGone = true; });
  let failed = false;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stop = resolve; });

  const monitor = await openMonitor({
    logger,
    pathFilter: { passAll: true, exactPaths: [], dirPrefixes: [] },
    processFilter: { pids: opts.pids, comms: opts.comms, excludePids: [process.pid] },
    onEvent: (ev) => {
      if (!stdoutGone) sink.push(traceLine(ev, host, containers.lookup(ev)));
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
  process.stderr.write(`armorwatch trace: ${stats.delivered} events delivered, ${stats.lostInKernel} lost in the kernel (ring buffer full), ${stats.lostPending} lost (no in-flight slot), ${stats.decodeErrors} undecodable; hook ${stats.hook}\n`);
  return failed ? 1 : 0;
}
