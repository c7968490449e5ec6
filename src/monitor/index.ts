// The monitor: starts the native helper (build/armorwatch-monitor), applies the filters,
// attaches, and turns its frames into FileEvents, ExecEvents and NetworkEvents. See docs/ARCHITECTURE.md ("Monitor").
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from '../log.ts';
import type { ExecEvent, FileEvent, IdentityPath, KernelFilterSpec, NetworkEvent, ProcessFilterSpec, WatchedIdentity } from '../types.ts';
import { EventDecoder, isExecEvent, isNetworkEvent } from './decode.ts';
import { MonitorError } from './errors.ts';
import { FrameReader } from './frames.ts';
import { FRAME } from './layout.ts';
import {
  execFilterCommand, identsCommand, KERNEL_FILTER_CAPACITY_DEFAULT, networkFilterCommand, NO_EXECS, NO_NETWORK, pathFilterCommand, processFilterCommand,
  wantsExecs, wantsNetwork,
} from './filter.ts';
import { defaultHelperPath, preflight } from './preflight.ts';

export { MonitorError } from './errors.ts';
export { isExecEvent, isNetworkEvent } from './decode.ts';

/**
 * Which groups of kernel hooks are attached now. Each is attached only while the filter in force
 * (policies, detectors, trace) can let one of its events through, and detached when none can.
 */
export interface HookState {
  /** The file calls (and io_uring completions). */
  readonly file: boolean;
  /** execve/execveat and the exec hook. */
  readonly exec: boolean;
  /** socket, connect, accept, accept4, bind, listen. */
  readonly network: boolean;
  /** The connect-outcome hook (sock:inet_sock_set_state). */
  readonly outcome: boolean;
  /** BPF links the helper holds now. */
  readonly links: number;
  /** Program attaches and detaches since start. */
  readonly attaches: number;
  readonly detaches: number;
}

export const NO_HOOKS: HookState = Object.freeze({ file: false, exec: false, network: false, outcome: false, links: 0, attaches: 0, detaches: 0 });

export interface MonitorStats {
  /** Events decoded and handed to onEvent. */
  readonly delivered: number;
  /** Events the kernel could not put in the ring buffer because the reader was behind. */
  readonly lostInKernel: number;
  /** Calls whose entry state the kernel could not keep (no per-thread slot could be allocated). */
  readonly lostPending: number;
  /** Records that did not decode (each also logged). */
  readonly decodeErrors: number;
  /** Calls the kernel filters decided not to report (not a loss: no rule could match them). */
  readonly filteredInKernel: number;
  /** Of those, executions (no process rule could match them). */
  readonly filteredExecInKernel: number;
  /** Of those, network calls (nothing asked for them). */
  readonly filteredNetInKernel: number;
  /** Non-blocking connects whose outcome could not be tracked (the kernel's table was full): a loss. */
  readonly lostNetPending: number;
  /** Connects the port-scan gate counted in the kernel instead of reporting (not a loss). */
  readonly gatedNetInKernel: number;
  /** Targets the gate held back and lost from its table before handing them over: a loss. */
  readonly lostGateTargets: number;
  /** Hook family in use: 'syscall_tracepoints', 'tp_btf' or 'raw_tracepoint'. */
  readonly hook: string;
  /** Hook of sched_process_exec in use: 'tp_btf', 'raw_tracepoint' or 'tracepoint'. */
  readonly execHook: string;
  /** The exec hook is attached: only while the filter in force lets executions through. */
  readonly execHookAttached: boolean;
  /** Hook of connect outcomes (sock:inet_sock_set_state), of the exec hook's kind; 'none' when the kernel has none. */
  readonly outcomeHook: string;
  /** Whether the outcome hook is attached (only once connects are asked for). */
  readonly outcomeAttached: boolean;
  /** Why connect outcomes are not reported, '' when they are (or can be, once asked for). */
  readonly outcomeProblem: string;
  /** Hook of io_uring opens: 'tp_btf' (io_uring:io_uring_submit_req and io_uring_complete), or 'none' (they are not observed). Optional for callers that build stats by hand. */
  readonly uringHook?: string;
  /**
   * Hooks of socket() and connect(): 'cgroup' (programs on the root of the cgroup v2 hierarchy,
   * run only on those calls) or 'syscalls' (the per-syscall hooks, as the other network calls).
   * Optional for callers that build stats by hand.
   */
  readonly netHook?: 'cgroup' | 'syscalls';
  /** Why socket() and connect() are on the per-syscall hooks when 'auto' asked for cgroup ones, '' otherwise. */
  readonly netHookProblem?: string;
  /** Kernel ids of the BPF programs the helper loaded (a benchmark sums their run time alone). */
  readonly programIds?: readonly number[];
  /** Which hook groups are attached now. */
  readonly hooks: HookState;
}

export interface Monitor {
  /**
   * Puts the path filter, from `spec.exec` the execution filter (absent: no execution passes) and
   * from `spec.network` the network filter in force at once, with the watched identities in force:
   * the helper builds the whole kernel filter beside the one in force and switches in one store.
   * When it rejects (AW_MONITOR_FILTER, AW_MONITOR_HELPER_FAILED) the previous filter stays in force,
   * whole. Switches never overlap.
   */
  setPathFilter(spec: KernelFilterSpec): Promise<void>;
  setProcessFilter(spec: ProcessFilterSpec): Promise<void>;
  /**
   * The files and directories whose opening passes the kernel filter whatever path they are
   * opened by (hard links, bind mounts, chroot, other mount namespaces); events name them by
   * `path` for their scope (FileEvent.identityPaths). Replaces the previous set in a switch of the
   * whole kernel filter, as setPathFilter does: when it rejects, the previous set stays whole.
   */
  setIdentities(ids: readonly WatchedIdentity[]): Promise<void>;
  /** Why io_uring opens are not observed on this kernel, or null when they are. */
  uringGap(): string | null;
  /** Latest counters (the kernel's are refreshed every statsIntervalMs). */
  stats(): MonitorStats;
  /**
   * Date.now() when the helper last wrote anything (events, acks, or the counters it sends every
   * statsIntervalMs even when idle): the heartbeat liveness checks.
   */
  lastFrameAt(): number;
  /** Asks the helper for fresh kernel counters and returns them once they arrive. */
  refreshStats(): Promise<MonitorStats>;
  /** Stop reading events (the kernel keeps counting what it cannot deliver meanwhile). */
  pause(): void;
  resume(): void;
  /** Detaches and waits for the helper to exit. Idempotent. */
  close(): Promise<void>;
}

export interface MonitorOptions {
  readonly logger: Logger;
  readonly pathFilter: KernelFilterSpec;
  readonly processFilter: ProcessFilterSpec;
  readonly onEvent: (ev: FileEvent) => void;
  /**
   * Receives executions. Without it no execution is asked of the kernel, and a path filter whose
   * `exec` lets any through is refused (AW_MONITOR_FILTER): nothing is collected to be dropped.
   */
  readonly onExec?: (ev: ExecEvent) => void;
  /**
   * Receives network calls and connect outcomes. Without it none is asked of the kernel, and a
   * filter whose `network` lets any through is refused (AW_MONITOR_FILTER).
   */
  readonly onNetwork?: (ev: NetworkEvent) => void;
  /** Called if the helper dies after start-up; the monitor is closed by then. Default: log it. */
  readonly onError?: (err: MonitorError) => void;
  readonly helperPath?: string;
  /** Ring buffer size in bytes (rounded up to a power of two by the helper); src/config owns the default. */
  readonly ringbufBytes: number;
  /**
   * Entries each kernel filter map (exact paths, prefixes, executed files, their directories and
   * names) holds for one filter; the maps hold two (the one in force and the next). Default
   * KERNEL_FILTER_CAPACITY_DEFAULT; src/config owns the option.
   */
  readonly kernelFilterCapacity?: number;
  /** 'auto' (default) tries syscall_tracepoints, then tp_btf, then raw_tracepoint. */
  readonly hook?: 'auto' | 'syscall_tracepoints' | 'tp_btf' | 'raw_tracepoint';
  /** Hook of sched_process_exec; 'auto' (default) tries tp_btf, then raw_tracepoint, then tracepoint. */
  readonly execHook?: 'auto' | 'tp_btf' | 'raw_tracepoint' | 'tracepoint';
  /**
   * Hooks of socket() and connect(); 'auto' (default): the root cgroup's when the kernel lets them
   * attach, else the per-syscall hooks; 'cgroup': those or fail; 'syscalls': the per-syscall hooks.
   */
  readonly netHook?: 'auto' | 'cgroup' | 'syscalls';
  readonly statsIntervalMs?: number;
}

interface KernelCounters {
  emitted: number; lostRingbuf: number; lostPending: number; filtered: number; filteredExec: number; filteredNet: number; lostNetPending: number; gatedNet: number; lostGate?: number;
  hook: string; execHook: string; execHookAttached: boolean; outcomeHook: string; outcomeAttached: boolean; uringHook?: string; bootToRealtimeNs: string;
  hooks?: HookState;
}

const STDERR_TAIL = 40;

/** The command lines of one side of the kernel filter (src/monitor/filter.ts). */
interface FilterLines {
  readonly paths: string;
  readonly execs: string;
  readonly net: string;
  readonly idents: string;
}

export async function openMonitor(opts: MonitorOptions): Promise<Monitor> {
  const onExec = opts.onExec;
  const onNetwork = opts.onNetwork;
  const capacity = opts.kernelFilterCapacity ?? KERNEL_FILTER_CAPACITY_DEFAULT;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x3fffffff) {
    throw new MonitorError('AW_MONITOR_FILTER', `kernel filter capacity ${capacity} is not a positive number of entries`);
  }
  // Checked before anything starts: a filter asking for executions nobody receives is a mistake.
  const filterCommands = (spec: KernelFilterSpec): Omit<FilterLines, 'idents'> => {
    if (onExec === undefined && wantsExecs(spec.exec)) {
      throw new MonitorError('AW_MONITOR_FILTER', 'the kernel filter passes executions but the monitor was opened without onExec');
    }
    if (onNetwork === undefined && wantsNetwork(spec.network)) {
      throw new MonitorError('AW_MONITOR_FILTER', 'the kernel filter passes network calls but the monitor was opened without onNetwork');
    }
    return { paths: pathFilterCommand(spec), execs: execFilterCommand(onExec === undefined ? NO_EXECS : spec.exec),
      net: networkFilterCommand(onNetwork === undefined ? NO_NETWORK : spec.network) };
  };
  const firstFilter = filterCommands(opts.pathFilter);
  if (!Number.isInteger(opts.ringbufBytes) || opts.ringbufBytes <= 0) {
    throw new MonitorError('AW_MONITOR_FILTER', `ring buffer size ${opts.ringbufBytes} is not a positive number of bytes`);
  }
  const helperPath = opts.helperPath ?? defaultHelperPath();
  preflight(helperPath);
  const args = ['--hook', opts.hook ?? 'auto', '--stats-ms', String(opts.statsIntervalMs ?? 1000), '--ringbuf-bytes', String(opts.ringbufBytes), '--filter-capacity', String(capacity)];
  if (opts.execHook !== undefined) args.push('--exec-hook', opts.execHook);
  if (opts.netHook !== undefined) args.push('--net-hook', opts.netHook);
  const child: ChildProcessWithoutNullStreams = spawn(helperPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = opts.logger.child({ component: 'monitor', helperPid: child.pid });

  const stderrTail: string[] = [];
  let stderrRest = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    const lines = (stderrRest + s).split('\n');
    stderrRest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      log.debug({ helper: line }, 'helper');
    }
  });

  let offset = 0n;
  let hook = 'none';
  let execHook = 'none';
  let uringHook = 'none';
  let netHook: 'cgroup' | 'syscalls' = 'syscalls';
  let netHookProblem = '';
  let programIds: readonly number[] = [];
  let uringError = 'not loaded yet';
  // What the kernel was last told to watch by identity, for naming matches (decoder): the rule
  // paths of each (device, inode), one per scope (the host, a container) that watches it.
  let identities = new Map<string, IdentityPath[]>();
  let outcomeProblem = '';
  let delivered = 0;
  let decodeErrors = 0;
  let kernel: KernelCounters = {
    emitted: 0, lostRingbuf: 0, lostPending: 0, filtered: 0, filteredExec: 0, filteredNet: 0, lostNetPending: 0, gatedNet: 0,
    hook, execHook, execHookAttached: false, outcomeHook: 'none', outcomeAttached: false, bootToRealtimeNs: '0',
  };
  let seq = 0;
  let closed = false;
  let exited = false;
  const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void; what: string }>();
  let ready: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;
  const readyPromise = new Promise((resolve, reject) => { ready = { resolve, reject }; });

  const snapshot = (): MonitorStats => ({
    delivered, decodeErrors, hook, execHook, uringHook, netHook, netHookProblem, programIds,
    lostInKernel: kernel.lostRingbuf, lostPending: kernel.lostPending, filteredInKernel: kernel.filtered,
    filteredExecInKernel: kernel.filteredExec, execHookAttached: kernel.execHookAttached === true,
    filteredNetInKernel: kernel.filteredNet, lostNetPending: kernel.lostNetPending, gatedNetInKernel: kernel.gatedNet,
    lostGateTargets: kernel.lostGate ?? 0,
    outcomeHook: kernel.outcomeHook, outcomeAttached: kernel.outcomeAttached, outcomeProblem,
    hooks: kernel.hooks ?? NO_HOOKS,
  });

  const helperFailure = (what: string): MonitorError => {
    const tail = stderrTail.slice(-8).join('\n');
    return new MonitorError('AW_MONITOR_HELPER_FAILED', `monitor helper ${what}${tail === '' ? '' : `:\n${tail}`}`);
  };

  const decoder = new EventDecoder((dev, ino) => identities.get(`${dev}:${ino}`));
  const onFrame = (type: number, payload: Buffer): void => {
    switch (type) {
      case FRAME.event:
        try {
          const ev = decoder.decode(payload, offset);
          if (isExecEvent(ev)) {
            if (onExec !== undefined) {
              delivered++;
              onExec(ev);
            } else { // the kernel was told to pass none: a record that breaks the protocol
              decodeErrors++;
              log.warn({ syscall: ev.syscall }, 'execution event although no execution was asked for');
            }
          } else if (isNetworkEvent(ev)) {
            if (onNetwork !== undefined) {
              delivered++;
              onNetwork(ev);
            } else {
              decodeErrors++;
              log.warn({ syscall: ev.syscall }, 'network event although no network call was asked for');
            }
          } else {
            delivered++;
            opts.onEvent(ev);
          }
        } catch (err) {
          if (!(err instanceof MonitorError)) throw err;
          decodeErrors++;
          log.warn({ err }, 'undecodable event record');
        }
        return;
      case FRAME.stats: {
        kernel = JSON.parse(payload.toString('utf8')) as KernelCounters;
        if (kernel.uringHook !== undefined) uringHook = kernel.uringHook;
        offset = BigInt(kernel.bootToRealtimeNs);
        return;
      }
      case FRAME.ack: {
        const a = JSON.parse(payload.toString('utf8')) as { seq: number; ok: boolean; error?: string };
        const waiter = acks.get(a.seq);
        acks.delete(a.seq);
        if (waiter === undefined) return;
        if (a.ok) waiter.resolve();
        else waiter.reject(new MonitorError('AW_MONITOR_HELPER_FAILED', `monitor helper could not ${waiter.what}: ${a.error ?? 'unknown error'}`));
        return;
      }
      case FRAME.ready: {
        const r = JSON.parse(payload.toString('utf8')) as {
          hook: string; execHook: string; outcomeHook: string; outcomeProblem: string; uringHook?: string; uringError?: string; bootToRealtimeNs: string; tried: unknown; ringbufBytes: number;
          netHook?: 'cgroup' | 'syscalls'; netHookProblem?: string; programs?: number[];
        };
        hook = r.hook;
        execHook = r.execHook;
        outcomeProblem = r.outcomeProblem;
        uringHook = r.uringHook ?? 'none';
        netHook = r.netHook ?? 'syscalls';
        netHookProblem = r.netHookProblem ?? '';
        programIds = Object.freeze([...(r.programs ?? [])]);
        uringError = r.uringError ?? 'the helper did not say';
        kernel = { ...kernel, outcomeHook: r.outcomeHook };
        offset = BigInt(r.bootToRealtimeNs);
        log.info({ hook, execHook, outcomeHook: r.outcomeHook, netHook, tried: r.tried, ringBufferBytes: r.ringbufBytes }, 'eBPF programs loaded');
        if (netHookProblem !== '') log.warn({ netHook }, `socket() and connect() use the per-syscall hooks, which every system call of the node passes: ${netHookProblem}`);
        // Said at every start, not only when connects are asked for: a later filter may ask.
        if (outcomeProblem !== '') log.warn({ outcomeHook: r.outcomeHook }, outcomeProblem);
        ready?.resolve(undefined);
        return;
      }
      case FRAME.error: {
        const e = JSON.parse(payload.toString('utf8')) as { code: string; message: string };
        ready?.reject(new MonitorError(e.code, e.message));
        return;
      }
      default:
        decodeErrors++;
        log.warn({ type }, 'unknown frame type from helper');
    }
  };

  const reader = new FrameReader();
  let lastFrameAt = Date.now();
  child.stdout.on('data', (chunk: Buffer) => {
    lastFrameAt = Date.now();
    try {
      reader.push(chunk, onFrame);
    } catch (err) {
      log.error({ err }, 'monitor helper stream broken; stopping it');
      child.kill('SIGTERM');
    }
  });

  const exitPromise = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exitPromise.then(([code, signal]) => {
    exited = true;
    const err = helperFailure(`exited (${signal ?? `status ${code}`})`);
    ready?.reject(err);
    for (const w of acks.values()) w.reject(err);
    acks.clear();
    if (!closed) {
      closed = true;
      if (opts.onError) opts.onError(err);
      else log.error({ err }, 'monitor helper stopped');
    }
  });
  child.on('error', (err) => ready?.reject(new MonitorError('AW_MONITOR_HELPER_FAILED', `cannot start ${helperPath}: ${err.message}`, { cause: err })));
  child.stdin.on('error', () => { /* the exit handler reports it */ });

  const command = (line: string, what: string): Promise<void> => {
    if (closed || exited) return Promise.reject(new MonitorError('AW_MONITOR_CLOSED', `cannot ${what}: the monitor is closed`));
    const n = ++seq;
    return new Promise<void>((resolve, reject) => {
      acks.set(n, { resolve, reject, what });
      child.stdin.write(`${n} ${line}\n`);
    });
  };

  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      child.stdout.resume();
      child.stdin.end(); // the helper detaches and exits at end of input
      // Detaching 35 per-syscall tracepoints takes the kernel 2-3 s (a grace period each).
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      if (!exited) await exitPromise;
      clearTimeout(timer);
    } else if (!exited) {
      await exitPromise;
    }
  };

  // One filter switch at a time: build the side not in force -- paths, executions, network calls
  // and watched identities, each part whole -- then switch to it with one store. A refused step
  // leaves the side in force as it was, every part of it (the next begin clears what was built).
  // A change of one part rebuilds the others from the lines last put in force.
  let switching: Promise<void> = Promise.resolve();
  // The lines in force (before the first switch: the first filter's, no identity yet).
  let inForce: FilterLines = { ...firstFilter, idents: 'idents -' };
  const switchFilter = (change: Partial<FilterLines>): Promise<void> => {
    const run = switching.then(async () => {
      const next: FilterLines = { ...inForce, ...change };
      await command('begin', 'start a kernel filter');
      await command(next.paths, 'build the path filter');
      await command(next.execs, 'build the execution filter');
      if (onNetwork !== undefined) await command(next.net, 'build the network filter');
      await command(next.idents, 'build the watched identities');
      await command('switch', 'switch to the new kernel filter');
      inForce = next;
    });
    switching = run.catch(() => undefined);
    return run;
  };

  try {
    await readyPromise;
    const self = (spec: ProcessFilterSpec): ProcessFilterSpec => ({ ...spec, excludePids: [...new Set([...spec.excludePids, process.pid])] });
    await command(processFilterCommand(self(opts.processFilter)), 'set the process filter');
    await switchFilter({});
    await command('attach', `attach the ${hook} programs`);
  } catch (err) {
    closed = true;
    child.kill('SIGTERM');
    if (!exited) await exitPromise;
    throw err;
  }
  log.info({ hook, execHook, uringHook }, 'file monitor attached');
  const uringGap = (): string | null => (uringHook !== 'none' ? null : `io_uring opens (IORING_OP_OPENAT/OPENAT2) are not observed on this kernel: ${uringError === '' ? 'no hook' : uringError}`);
  if (uringGap() !== null) log.warn(uringGap());

  return {
    setPathFilter: (spec) => {
      let cmds: Omit<FilterLines, 'idents'>;
      try { cmds = filterCommands(spec); } catch (err) { return Promise.reject(err); }
      return switchFilter(cmds);
    },
    setIdentities: async (ids) => {
      const idents = identsCommand(ids, capacity);
      const next = identityNames(ids);
      // Named before the kernel may report them, and kept until the kernel has the new set; a
      // refused switch leaves the names of the set still in force.
      const prev = identities;
      const both = new Map(identities);
      for (const [k, v] of next) both.set(k, [...(both.get(k) ?? []).filter((o) => !v.some((n) => n.containerId === o.containerId)), ...v]);
      identities = both;
      let ok = false;
      try {
        await switchFilter({ idents });
        ok = true;
      } finally {
        if (identities === both) identities = ok ? next : prev;
      }
    },
    uringGap,
    setProcessFilter: (spec) => command(processFilterCommand({ ...spec, excludePids: [...new Set([...spec.excludePids, process.pid])] }), 'set the process filter'),
    stats: snapshot,
    lastFrameAt: () => lastFrameAt,
    // The helper writes the stats frame before the ack, so the snapshot is fresh once the ack is in.
    refreshStats: async () => {
      await command('stats', 'report its counters');
      return snapshot();
    },
    pause: () => { if (!closed) child.stdout.pause(); },
    resume: () => { if (!closed) child.stdout.resume(); },
    close,
  };
}

/** The rule paths of each watched (device, inode), one per scope: the first path a scope gives it. */
export function identityNames(ids: readonly WatchedIdentity[]): Map<string, IdentityPath[]> {
  const out = new Map<string, IdentityPath[]>();
  for (const id of ids) {
    const key = `${id.dev}:${id.ino}`;
    const containerId = id.containerId ?? null;
    const list = out.get(key);
    if (list === undefined) out.set(key, [{ path: id.path, containerId }]);
    else if (!list.some((p) => p.containerId === containerId)) list.push({ path: id.path, containerId });
  }
  return out;
}
