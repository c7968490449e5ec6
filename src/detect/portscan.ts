// Port-scan detection: a stage beside the policy decision. It consumes connect() calls and their
// later outcomes (NetworkEvent) with their workload, keeps per-key state (a pod; a host process
// tree), and reports scan EPISODES — one `started` record when a threshold is crossed, `updated`
// at most every updateIntervalMs while attempts go on, `ended` after quietMs without any — never
// one record per connect. Design and limits: docs/DETECTION.md.
//
// Per key, while no episode runs: the distinct (host, port) targets attempted within the slow
// window, indexed by host and by port, in last-touch order (a Map's insertion order, refreshed by
// delete + set), so expiring the oldest is a walk from the front. When an episode starts it takes
// the triggering targets' counts and from then on counts every attempt of the key by itself
// (a port bitmap, a capped host set); the per-target state is dropped.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:os';
import type { ScanConfig } from '../config/types.ts';
import type { NetworkEvent, NodeIdentity, ScanDetection, ScanEpisode, ScanKind, Workload } from '../types.ts';

const { ECONNREFUSED, EINPROGRESS, EALREADY, EISCONN } = constants.errno;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const HOST_SAMPLE = 16;
const PORT_SAMPLE = 32;

/** Losses of the detector's bounded memory (each is counted, none is silent). */
export interface ScanDropped {
  /** Watched keys forgotten to make room for a new one (--scan-max-keys). */
  keys: number;
  /** Targets of a key forgotten to make room (--scan-max-targets) before any episode. */
  targets: number;
  /** Hosts of a running episode beyond --scan-max-targets, not counted as distinct. */
  hosts: number;
}

export interface ScanStats {
  /** Keys watched now, and of those with a running episode. */
  readonly keys: number;
  readonly active: number;
  /** Records emitted, by phase. */
  readonly records: { readonly started: number; readonly updated: number; readonly ended: number };
  readonly dropped: Readonly<ScanDropped>;
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly v6: boolean;
  readonly udp: boolean;
  firstNs: bigint;
  lastMs: number;
  attempts: number;
  succeeded: number;
  refused: number;
  failed: number;
}

type Result = 'succeeded' | 'refused' | 'failed' | 'pending';

function resultOf(ret: number): Result {
  if (ret >= 0) return 'succeeded';
  if (ret === -ECONNREFUSED) return 'refused';
  if (ret === -EINPROGRESS) return 'pending';
  return 'failed';
}

/** The target of a connect: IPv4 (also as IPv4-mapped IPv6), IPv6; TCP or UDP; null for anything else. */
function targetOf(ev: NetworkEvent): { host: string; port: number; v6: boolean; udp: boolean } | null {
  const r = ev.remote;
  if (r === null || (r.family !== 'inet' && r.family !== 'inet6')) return null;
  if (ev.type !== SOCK_STREAM && ev.type !== SOCK_DGRAM) return null;
  const mapped = r.family === 'inet6' ? r.mappedV4 : undefined;
  return { host: mapped ?? r.address, port: r.port, v6: r.family === 'inet6' && mapped === undefined, udp: ev.type === SOCK_DGRAM };
}

/**
 * Whose attempts are counted together, as the kernel's gate keys them (bpf/net.bpf.h gate_key): a
 * network namespace other than the host's (`hostNetNs`) -- a pod: its containers share it --; in
 * the host's, the parent process (a shell loop of `nc`, xargs -P, a service and its workers), or
 * the process itself when its parent is init. `hostNetNs` 0 (unknown): every process by its tree.
 */
export function scanKey(ev: NetworkEvent, hostNetNs: number): string {
  if (hostNetNs !== 0 && ev.netNs !== hostNetNs) return `net:${ev.netNs}`;
  return `host:${ev.hostPpid > 1 ? ev.hostPpid : ev.hostPid}`;
}

/** Attempts and results of one observation: a connect (1 attempt), or a target the kernel's gate held back. */
interface Counts {
  attempts: number;
  succeeded: number;
  refused: number;
  failed: number;
}

function countsOf(r: Result): Counts {
  return { attempts: 1, succeeded: r === 'succeeded' ? 1 : 0, refused: r === 'refused' ? 1 : 0, failed: r === 'failed' ? 1 : 0 };
}

class Episode {
  readonly id = randomUUID();
  readonly kinds: readonly ScanKind[];
  readonly slow: boolean;
  firstNs: bigint;
  lastNs: bigint;
  lastMs: number;
  attempts = 0;
  succeeded = 0;
  refused = 0;
  failed = 0;
  distinctPorts = 0;
  readonly ports = new Uint8Array(65536 / 8);
  readonly hosts = new Set<string>();
  hostsCapped = false;
  readonly open = new Set<number>();
  tcp = false;
  udp = false;
  v4 = false;
  v6 = false;
  /** When the latest record went out (ms), and whether anything changed since. */
  emittedMs = 0;
  changed = false;
  event: NetworkEvent;

  constructor(kinds: ScanKind[], slow: boolean, ev: NetworkEvent, firstNs: bigint, nowMs: number) {
    this.kinds = kinds;
    this.slow = slow;
    this.event = ev;
    this.firstNs = firstNs;
    this.lastNs = ev.timestampNs;
    this.lastMs = nowMs;
  }

  /** Adds a target (distinct counts); returns false when the host set is full. */
  target(host: string, port: number, v6: boolean, udp: boolean, maxHosts: number): boolean {
    const byte = port >> 3;
    const bit = 1 << (port & 7);
    if ((this.ports[byte]! & bit) === 0) { this.ports[byte]! |= bit; this.distinctPorts++; }
    if (v6) this.v6 = true; else this.v4 = true;
    if (udp) this.udp = true; else this.tcp = true;
    if (this.hosts.has(host)) return true;
    if (this.hosts.size >= maxHosts) { this.hostsCapped = true; return false; }
    this.hosts.add(host);
    return true;
  }

  count(r: Result, n = 1): void {
    if (r === 'succeeded') this.succeeded += n;
    else if (r === 'refused') this.refused += n;
    else if (r === 'failed') this.failed += n;
  }

  snapshot(phase: ScanEpisode['phase']): ScanEpisode {
    const ports: number[] = [];
    for (let byte = 0; byte < this.ports.length && ports.length < PORT_SAMPLE; byte++) {
      const b = this.ports[byte]!;
      if (b === 0) continue;
      for (let i = 0; i < 8 && ports.length < PORT_SAMPLE; i++) if ((b & (1 << i)) !== 0) ports.push(byte * 8 + i);
    }
    const hosts: string[] = [];
    for (const h of this.hosts) { if (hosts.length >= HOST_SAMPLE) break; hosts.push(h); }
    return Object.freeze({
      id: this.id, phase, kinds: this.kinds, slow: this.slow,
      transports: [...(this.tcp ? ['tcp' as const] : []), ...(this.udp ? ['udp' as const] : [])],
      families: [...(this.v4 ? ['ipv4' as const] : []), ...(this.v6 ? ['ipv6' as const] : [])],
      firstNs: this.firstNs, lastNs: this.lastNs,
      attempts: this.attempts, distinctPorts: this.distinctPorts, distinctHosts: this.hosts.size, hostsCapped: this.hostsCapped,
      succeeded: this.succeeded, refused: this.refused, failed: this.failed,
      hosts, ports, openPorts: [...this.open].sort((a, b) => a - b).slice(0, PORT_SAMPLE),
    });
  }
}

class KeyState {
  /** Distinct targets within the slow window, oldest touch first. Empty while an episode runs. */
  readonly targets = new Map<string, Target>();
  readonly byHost = new Map<string, Map<number, Target>>();
  readonly byPort = new Map<number, Map<string, Target>>();
  episode: Episode | null = null;
  lastMs = 0;
  workload: Workload;
  node: NodeIdentity;

  constructor(workload: Workload, node: NodeIdentity) {
    this.workload = workload;
    this.node = node;
  }

  forget(t: Target): void {
    this.targets.delete(`${t.host}|${t.port}`);
    const h = this.byHost.get(t.host);
    h?.delete(t.port);
    if (h?.size === 0) this.byHost.delete(t.host);
    const p = this.byPort.get(t.port);
    p?.delete(t.host);
    if (p?.size === 0) this.byPort.delete(t.port);
  }

  /** Forgets the targets last touched before `oldestMs`. */
  expire(oldestMs: number): void {
    for (const t of this.targets.values()) {
      if (t.lastMs >= oldestMs) break;
      this.forget(t);
    }
  }

  clearTargets(): void {
    this.targets.clear();
    this.byHost.clear();
    this.byPort.clear();
  }
}

/** Targets in `set` touched at or after `sinceMs`. */
function within(set: Map<unknown, Target> | undefined, sinceMs: number): number {
  if (set === undefined) return 0;
  let n = 0;
  for (const t of set.values()) if (t.lastMs >= sinceMs) n++;
  return n;
}

export class PortScanDetector {
  readonly #cfg: ScanConfig;
  readonly #emit: (d: ScanDetection) => void;
  /** Watched keys, least recently active first. */
  readonly #keys = new Map<string, KeyState>();
  readonly #dropped: ScanDropped = { keys: 0, targets: 0, hosts: 0 };
  readonly #records = { started: 0, updated: 0, ended: 0 };

  readonly #hostNetNs: number;
  /** Per key: wall-clock ms and event ns of the latest gate record (its handovers are aged from it). */
  readonly #gateAt = new Map<string, { ms: number; ns: bigint }>();

  /** `hostNetNs`: the host's network namespace inode (scanKey); 0: key every process by its tree. */
  constructor(config: ScanConfig, emit: (d: ScanDetection) => void, hostNetNs = 0) {
    this.#cfg = config;
    this.#emit = emit;
    this.#hostNetNs = hostNetNs;
  }

  /**
   * One network event with its workload. Only connect calls to IPv4/IPv6 TCP or UDP addresses and
   * their outcomes count; everything else is ignored. `nowMs`: wall-clock ms (tests pass their own).
   */
  observe(ev: NetworkEvent, workload: Workload, node: NodeIdentity, nowMs: number = Date.now()): void {
    if (ev.syscall !== 'connect') return;
    if (ev.phase === 'outcome') { this.#outcome(ev, nowMs); return; }
    if (ev.phase === 'gate') { this.#gateAt.set(scanKey(ev, this.#hostNetNs), { ms: nowMs, ns: ev.timestampNs }); return; }
    if (ev.ret === -EALREADY || ev.ret === -EISCONN) return; // a status check on a socket already counted
    const target = targetOf(ev);
    if (target === null) return;
    const key = scanKey(ev, this.#hostNetNs);
    let c: Counts;
    // When the target was last attempted: now, or for a target held back in the kernel that long
    // before the gate opened. Only the target is aged: the thresholds are checked at `nowMs`, once
    // the handovers (which come in the kernel's order, not in time) have brought the target in.
    let atMs = nowMs;
    if (ev.phase === 'handover' && ev.gated !== undefined) {
      const g = this.#gateAt.get(key);
      if (g !== undefined && g.ns > ev.timestampNs) atMs = g.ms - Number((g.ns - ev.timestampNs) / 1_000_000n);
      c = { ...ev.gated };
    } else {
      // A UDP connect only sets the peer: its success says nothing about the other end.
      c = countsOf(target.udp && ev.ret >= 0 ? 'pending' : resultOf(ev.ret));
    }
    let st = this.#keys.get(key);
    if (st === undefined) {
      st = new KeyState(workload, node);
      this.#makeRoom();
    } else this.#keys.delete(key);
    this.#keys.set(key, st);
    st.workload = workload;
    st.node = node;
    if (nowMs > st.lastMs) st.lastMs = nowMs;
    const ep = st.episode;
    if (ep !== null) {
      this.#addToEpisode(ep, ev, target, c, nowMs);
      this.#maybeUpdate(st, ep, nowMs);
      return;
    }
    const cfg = this.#cfg;
    st.expire(nowMs - cfg.slowWindowMs);
    const id = `${target.host}|${target.port}`;
    let t = st.targets.get(id);
    // The kernel counts over up to two slow windows: a target held back longer ago than one is
    // what the detector would have forgotten by now.
    if (t === undefined && atMs < nowMs - cfg.slowWindowMs) return;
    if (t === undefined) {
      if (st.targets.size >= cfg.maxTargets) {
        const oldest = st.targets.values().next().value as Target;
        st.forget(oldest);
        this.#dropped.targets++;
      }
      t = { ...target, firstNs: ev.gated?.firstNs ?? ev.timestampNs, lastMs: atMs, attempts: 0, succeeded: 0, refused: 0, failed: 0 };
      let h = st.byHost.get(t.host);
      if (h === undefined) st.byHost.set(t.host, h = new Map());
      h.set(t.port, t);
      let p = st.byPort.get(t.port);
      if (p === undefined) st.byPort.set(t.port, p = new Map());
      p.set(t.host, t);
    } else st.targets.delete(id);
    st.targets.set(id, t);
    if (atMs > t.lastMs) t.lastMs = atMs;
    t.attempts += c.attempts;
    t.succeeded += c.succeeded;
    t.refused += c.refused;
    t.failed += c.failed;
    this.#check(st, ev, t, nowMs);
  }

  /** Ends episodes quiet for quietMs, forgets idle keys, sends due updates. Call about once a second. */
  sweep(nowMs: number = Date.now()): void {
    const cfg = this.#cfg;
    for (const [key, g] of this.#gateAt) if (nowMs - g.ms > 60_000) this.#gateAt.delete(key);
    for (const [key, st] of this.#keys) {
      const ep = st.episode;
      if (ep !== null) {
        if (nowMs - ep.lastMs >= cfg.quietMs) { this.#end(st, ep); this.#keys.delete(key); }
        else this.#maybeUpdate(st, ep, nowMs);
        continue;
      }
      st.expire(nowMs - cfg.slowWindowMs);
      if (st.targets.size === 0) this.#keys.delete(key);
    }
  }

  /** Ends every running episode now (shutdown): their `ended` records carry the final counts. */
  flush(): void {
    for (const [key, st] of this.#keys) {
      if (st.episode !== null) { this.#end(st, st.episode); this.#keys.delete(key); }
    }
  }

  stats(): ScanStats {
    let active = 0;
    for (const st of this.#keys.values()) if (st.episode !== null) active++;
    return { keys: this.#keys.size, active, records: { ...this.#records }, dropped: { ...this.#dropped } };
  }

  #makeRoom(): void {
    if (this.#keys.size < this.#cfg.maxKeys) return;
    // The least recently active key without a running episode (an episode is never dropped).
    for (const [key, st] of this.#keys) {
      if (st.episode !== null) continue;
      this.#keys.delete(key);
      this.#dropped.keys++;
      return;
    }
  }

  #check(st: KeyState, ev: NetworkEvent, t: Target, nowMs: number): void {
    const cfg = this.#cfg;
    const fastSince = nowMs - cfg.windowMs;
    const host = st.byHost.get(t.host);
    const port = st.byPort.get(t.port);
    const kinds: ScanKind[] = [];
    let slow = false;
    // Before an episode, these sets stay below the slow thresholds: counting them is cheap.
    const fastPorts = within(host, fastSince);
    const fastHosts = within(port, fastSince);
    if (fastPorts >= cfg.ports) kinds.push('vertical');
    if (fastHosts >= cfg.hosts) kinds.push('horizontal');
    if (kinds.length === 0) {
      if ((host?.size ?? 0) >= cfg.slowPorts) kinds.push('vertical');
      if ((port?.size ?? 0) >= cfg.slowHosts) kinds.push('horizontal');
      // Slow: the targets that crossed the slow threshold were spread over more than the fast window.
      slow = kinds.length > 0 && fastPorts < cfg.slowPorts && fastHosts < cfg.slowHosts;
    }
    if (kinds.length === 0) return;
    // The episode starts with the targets that made it: that host's ports, that port's hosts.
    const seed = new Set<Target>();
    if (kinds.includes('vertical') && host !== undefined) for (const x of host.values()) seed.add(x);
    if (kinds.includes('horizontal') && port !== undefined) for (const x of port.values()) seed.add(x);
    let firstNs = ev.timestampNs;
    for (const x of seed) if (x.firstNs < firstNs) firstNs = x.firstNs;
    const ep = new Episode(kinds, slow, ev, firstNs, nowMs);
    for (const x of seed) {
      if (!ep.target(x.host, x.port, x.v6, x.udp, cfg.maxTargets)) this.#dropped.hosts++;
      ep.attempts += x.attempts;
      ep.count('succeeded', x.succeeded);
      ep.count('refused', x.refused);
      ep.count('failed', x.failed);
      if (x.succeeded > 0) ep.open.add(x.port);
    }
    st.clearTargets();
    st.episode = ep;
    this.#send(st, ep, 'started', nowMs);
  }

  #addToEpisode(ep: Episode, ev: NetworkEvent, target: NonNullable<ReturnType<typeof targetOf>>, c: Counts, nowMs: number): void {
    if (!ep.target(target.host, target.port, target.v6, target.udp, this.#cfg.maxTargets)) this.#dropped.hosts++;
    ep.attempts += c.attempts;
    ep.count('succeeded', c.succeeded);
    ep.count('refused', c.refused);
    ep.count('failed', c.failed);
    if (c.succeeded > 0 && !target.udp) ep.open.add(target.port);
    const first = ev.gated?.firstNs;
    if (first !== undefined && first < ep.firstNs) ep.firstNs = first;
    ep.changed = true;
    // Handovers come in the kernel's order, not in time: the latest attempt is the latest seen.
    if (ev.timestampNs >= ep.lastNs) { ep.event = ev; ep.lastNs = ev.timestampNs; }
    if (nowMs > ep.lastMs) ep.lastMs = nowMs;
  }

  /** The later result of a non-blocking connect: counted where its attempt was. */
  #outcome(ev: NetworkEvent, nowMs: number): void {
    const st = this.#keys.get(scanKey(ev, this.#hostNetNs));
    if (st === undefined) return;
    const result = resultOf(ev.ret);
    if (result === 'pending') return;
    const target = targetOf(ev);
    const ep = st.episode;
    if (ep !== null) {
      ep.count(result);
      if (result === 'succeeded' && target !== null && !target.udp) ep.open.add(target.port);
      ep.changed = true;
      this.#maybeUpdate(st, ep, nowMs);
      return;
    }
    if (target === null) return;
    const t = st.targets.get(`${target.host}|${target.port}`);
    if (t === undefined) return;
    if (result === 'succeeded') t.succeeded++;
    else if (result === 'refused') t.refused++;
    else t.failed++;
  }

  #maybeUpdate(st: KeyState, ep: Episode, nowMs: number): void {
    if (ep.changed && nowMs - ep.emittedMs >= this.#cfg.updateIntervalMs) this.#send(st, ep, 'updated', nowMs);
  }

  #end(st: KeyState, ep: Episode): void {
    this.#send(st, ep, 'ended', ep.lastMs);
    st.episode = null;
  }

  #send(st: KeyState, ep: Episode, phase: ScanEpisode['phase'], nowMs: number): void {
    ep.emittedMs = nowMs;
    ep.changed = false;
    this.#records[phase]++;
    this.#emit({ kind: 'scan', event: ep.event, workload: st.workload, node: st.node, scan: ep.snapshot(phase) });
  }
}
