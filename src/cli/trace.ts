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

let isoSecond = -1n;
let isoPrefix = '';

/** RFC 3339 with nanoseconds, as KubeArmor's UpdatedTime. The seconds part is cached: events come in bursts. */
export function rfc3339Nano(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  if (sec !== isoSecond) {
    isoSecond = sec;
    isoPrefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19); // 2026-01-02T03:04:05
  }
  return `${isoPrefix}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
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
const flagNames = new Map<string, string | undefined>();

// The same flags words come back all the time; naming them is the costly part of Data.
function callFlags(ev: FileEvent): string | undefined {
  const key = `${ev.syscall}:${ev.flags}`;
  if (flagNames.has(key)) return flagNames.get(key);
  const v = formatCallFlags(ev);
  if (flagNames.size < 4096) flagNames.set(key, v);
  return v;
}

/**
 * One trace line as JSON text, fields in the order of traceRecord. Written by hand rather than
 * through JSON.stringify of an object: this is the per-event cost that bounds trace's throughput.
 */
export function traceLine(ev: FileEvent, host: string, containerId: string | null): string {
  const flags = callFlags(ev);
  return `{"Timestamp":${ev.timestampNs / 1_000_000_000n},"UpdatedTime":"${rfc3339Nano(ev.timestampNs)}","HostName":${q(host)},`
    + (containerId === null ? '' : `"ContainerID":${q(containerId)},`)
    + `"HostPPID":${ev.hostPpid},"HostPID":${ev.hostPid},"PPID":${ev.ppid},"PID":${ev.pid},"UID":${ev.uid},`
    + `"ParentProcessName":${q(ev.parentExePath)},"ProcessName":${q(ev.exePath)},"Type":"${containerId === null ? 'HostLog' : 'ContainerLog'}",`
    + `"Source":${q(ev.exePath)},"Resource":${q(ev.absPath)},"Operation":"File","Data":${q(formatData(ev))},`
    + `"Result":${q(formatResult(ev.ret))},"Cwd":${q(ev.cwd)},"HostTID":${ev.hostTid},"GID":${ev.gid},"Comm":${q(ev.comm)},`
    + `"CgroupID":"${ev.cgroupId}","MntNS":${ev.mntNs},"PidNS":${ev.pidNs},"NetNS":${ev.netNs},"Syscall":"${syscallName(ev.syscall)}",`
    + `"Dirfd":${ev.dirfd},"Flags":${flags === undefined ? 'null' : q(flags)},"Mode":${ev.mode},"Args":${q(ev.args)},"Ret":${ev.ret},`
    + `"RequestedPath":${q(ev.path)},"ResolvedPath":${q(ev.resolvedPath)},"NewRequestedPath":${q(ev.path2)},`
    + `"NewResource":${q(ev.absPath2)},"OwnerUID":${ev.ownerUid === null ? 'null' : ev.ownerUid},"TimestampNs":"${ev.timestampNs}"}`;
}

/** One trace line as an object (what traceLine writes; kept for readers and tests). */
export function traceRecord(ev: FileEvent, host: string, containerId: string | null): Record<string, unknown> {
  return JSON.parse(traceLine(ev, host, containerId)) as Record<string, unknown>;
}

/**
 * Lines are gathered per batch of events and written at once. When stdout cannot keep up, reading
 * from the monitor pauses: the kernel then counts what its ring buffer cannot hold (reported at
 * exit and in the logs) instead of this process growing without bound.
 */
class LineSink {
  #lines: string[] = [];
  #scheduled = false;
  #monitor: Monitor | null = null;
  #blocked = false;

  attach(m: Monitor): void {
    this.#monitor = m;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join('\n') + '\n';
    this.#lines = [];
    if (!process.stdout.write(text) && !this.#blocked) {
      this.#blocked = true;
      this.#monitor?.pause();
      process.stdout.once('drain', () => {
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
  const sink = new LineSink();
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
