// The enrich stage: kernel event → cgroup → container (containerd) → pod (Kubernetes) → Workload.
// Fast path is synchronous (all caches warm); an unknown cgroup is looked up on demand and the event
// held at most `holdMs`, so the first accesses of a fresh container are still attributed to its pod.
import { WarningLimiter } from './warn-limit.ts';
import type { Enricher, FileEvent, NodeIdentity, Owner, Workload } from '../types.ts';
import type { Logger } from '../log.ts';
import { UsageError } from '../errors.ts';
import { readdir, readFile } from 'node:fs/promises';
import { CgroupResolver, findCgroup2Mount, hostNamespaces, type CgroupLookup } from './cgroup.ts';
import { cgroupPathFromProc, identityFromProcCgroup } from './cgroup-path.ts';
import { ContainerdClient, type ContainerRecord } from './containerd.ts';
import { Lru } from './lru.ts';
import { runtimeInfo, imageReference, withDigest, type RuntimeInfo } from './runtime.ts';
import { KubeWatcher, loadKubeConfig } from './kube.ts';

export interface EnricherOptions {
  readonly logger: Logger;
  readonly nodeName: string;
  /** `default` when unset, as KubeArmor prints it. */
  readonly clusterName?: string;
  /** Extra node labels for host policies (win over the Kubernetes node's labels). */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  readonly containerdSocket?: string;
  readonly containerdNamespace?: string;
  /** 'auto': in-cluster config, $KUBECONFIG or `kubeconfig` when present; 'off': runtime data only. */
  readonly kubernetes?: 'auto' | 'off';
  readonly kubeconfig?: string;
  /** Longest time an event of an unknown cgroup is held while it is looked up (ms). */
  readonly holdMs?: number;
  /** Entries per cache (cgroups, containers, images). */
  readonly cacheSize?: number;
  /** Pause before reconnecting to containerd's event stream or restarting a failed Kubernetes watch (ms). */
  readonly retryMs?: number;
  /** How often the container cache is checked against containerd's list (ms), in case a deletion event was missed. */
  readonly reconcileMs?: number;
  readonly procRoot?: string;
  /** cgroup2 mount; found from /proc/self/mountinfo when unset. */
  readonly cgroupRoot?: string | null;
}

export interface EnricherStats {
  readonly cgroups: number;
  readonly containers: number;
  readonly images: number;
  readonly workloads: number;
  readonly pendingLookups: number;
  readonly timers: number;
  /** Events answered without container metadata because the lookup took longer than holdMs or failed. */
  readonly unattributed: number;
  readonly lookupFailures: number;
  /** Repeated lookup-failure warnings not logged (rate limit: one per message a minute). */
  readonly suppressedWarnings: number;
  readonly forgotten: number;
  readonly kubernetes: { pods: number; containers: number; namespaces: number; parents: number; timers: number; restarts: number } | null;
}

export interface ArmorwatchEnricher extends Enricher {
  stats(): EnricherStats;
  /**
   * The running containers this node's /proc shows, each with its workload and the host pid of
   * one of its processes (the lowest), for resolving container policies' files in their roots.
   */
  running(): Promise<Array<{ workload: Workload; pid: number }>>;
  /** Called with a container's id when containerd says its task started. */
  onContainerStart(listener: (id: string) => void): void;
  /** Resolves when the Kubernetes caches have listed once (immediately without Kubernetes); false on timeout. */
  waitForKubernetes(timeoutMs: number): Promise<boolean>;
}

const HOST: Workload = Object.freeze({ kind: 'host', labels: Object.freeze({}) });
const UNKNOWN_CONTAINER: Workload = Object.freeze({ kind: 'container', labels: Object.freeze({}) });
type Container = { readonly record: ContainerRecord; readonly info: RuntimeInfo };

/** The enricher of `armorwatch run`; options are checked here, before anything is started. */
export function createEnricher(opts: EnricherOptions): ArmorwatchEnricher {
  return new WorkloadEnricher(opts);
}

/**
 * Invariants: every cache is capped at cacheSize; `workloads` entries are valid only for the
 * current `generation` (bumped on any metadata change); a deleted container leaves no entry.
 */
class WorkloadEnricher implements ArmorwatchEnricher {
  private readonly opts: EnricherOptions;
  private readonly log: Logger;
  // Lookups fail for every new container while containerd is down: one warning a minute says so.
  private readonly warnings: WarningLimiter;
  private readonly holdMs: number;
  private readonly retryMs: number;
  private readonly procRoot: string;
  private readonly hostNs: ReturnType<typeof hostNamespaces>;
  private readonly cgroupResolver: CgroupResolver;
  private readonly containerd: ContainerdClient;
  // On pure cgroup v1 the kernel reports the same (root) cgroup id for every process, so the id
  // cannot key a cache: each event's process is looked up by pid instead.
  private readonly byCgroupId: boolean;
  private readonly cgroups: Lru<bigint, CgroupLookup>;
  private readonly containers: Lru<string, Container>;
  private readonly images: Lru<string, string | null>;
  private readonly workloads: Lru<bigint, { gen: number; w: Workload }>;
  private readonly pendingCgroups = new Map<bigint, Promise<CgroupLookup>>();
  private readonly pendingContainers = new Map<string, Promise<Container | null>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners: Array<() => void> = [];
  private readonly startListeners: Array<(id: string) => void> = [];
  private readonly kube: KubeWatcher | null = null;
  private readonly reconcileTimer: NodeJS.Timeout;
  private generation = 0;
  private unattributed = 0;
  private lookupFailures = 0;
  private forgotten = 0;
  private closed = false;
  private notifyPending = false;
  private unsubscribe: (() => void) | null = null;

  constructor(opts: EnricherOptions) {
    this.opts = opts;
    if (opts.nodeName === '') throw new UsageError('enricher: nodeName must not be empty (set --node-name or NODE_NAME)');
    this.log = opts.logger;
    this.warnings = new WarningLimiter(this.log);
    this.holdMs = opts.holdMs ?? 500;
    const cacheSize = opts.cacheSize ?? 4096;
    this.retryMs = opts.retryMs ?? 2000;
    const reconcileMs = opts.reconcileMs ?? 60_000;
    for (const [name, v, min] of [['holdMs', this.holdMs, 0], ['cacheSize', cacheSize, 1], ['retryMs', this.retryMs, 1], ['reconcileMs', reconcileMs, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UsageError(`enricher: ${name} must be an integer >= ${min}, got ${v}`);
    }
    this.procRoot = opts.procRoot ?? '/proc';
    const cgroupRoot = opts.cgroupRoot !== undefined ? opts.cgroupRoot : findCgroup2Mount();
    this.byCgroupId = cgroupRoot !== null;
    // Read first: a bad kubeconfig is a usage error, before anything is started.
    const kubeMode = opts.kubernetes ?? 'auto';
    const kc = kubeMode === 'auto' ? loadKubeConfig(opts.kubeconfig) : null;
    this.hostNs = hostNamespaces(this.procRoot);
    if (this.hostNs === null) this.log.warn(`cannot read ${this.procRoot}/1/ns; host processes are told apart by their cgroup only (run the agent with hostPID)`);
    this.cgroupResolver = new CgroupResolver({ cgroupRoot, procRoot: this.procRoot, walkLimit: 50_000 });
    this.containerd = new ContainerdClient(opts.containerdSocket ?? '/run/containerd/containerd.sock', opts.containerdNamespace ?? 'k8s.io');
    this.cgroups = new Lru(cacheSize);
    this.containers = new Lru(cacheSize);
    this.images = new Lru(cacheSize);
    this.workloads = new Lru(cacheSize);

    if (kc !== null) {
      this.kube = new KubeWatcher(kc, { nodeName: opts.nodeName, logger: this.log, retryMs: this.retryMs, changed: () => this.changed() });
      this.kube.start();
    } else if (kubeMode === 'auto') {
      this.log.info('no Kubernetes configuration found; using container runtime metadata only');
    }
    this.subscribe();
    this.reconcileTimer = setInterval(() => { void this.reconcile(); }, reconcileMs);
    this.reconcileTimer.unref();
  }

  // Caches see a change at once; listeners hear of a burst (a relist of 100 pods) once.
  private changed(): void {
    this.generation++;
    if (this.notifyPending) return;
    this.notifyPending = true;
    setImmediate(() => {
      this.notifyPending = false;
      if (this.closed) return;
      for (const l of this.listeners) {
        try { l(); } catch (err) { this.log.error({ err }, 'enricher change listener threw'); }
      }
    });
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
    return t;
  }

  private forget(id: string): void {
    let any = this.containers.delete(id);
    for (const [cg, l] of [...this.cgroups.entries()]) if (l.identity?.containerId === id) { this.cgroups.delete(cg); this.workloads.delete(cg); any = true; }
    if (any) this.forgotten++;
  }

  // containerd tells us about deletions; reconnect when the stream ends, and reconcile on reconnect.
  private subscribe(): void {
    if (this.closed) return;
    this.unsubscribe = this.containerd.subscribeEvents({ deleted: (id) => this.forget(id), started: (id) => {
      for (const l of this.startListeners) {
        try { l(id); } catch (err) { this.log.error({ err }, 'enricher container-start listener threw'); }
      }
    } }, (err) => {
      this.unsubscribe = null;
      if (this.closed) return;
      this.log.debug({ err: err?.message }, 'containerd event stream ended; reconnecting');
      this.later(this.retryMs, () => { this.subscribe(); void this.reconcile(); });
    });
  }

  private async reconcile(): Promise<void> {
    if (this.closed || this.containers.size === 0) return;
    try {
      const live = await this.containerd.listContainerIds();
      for (const [id] of [...this.containers.entries()]) if (!live.has(id)) this.forget(id);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'containerd reconciliation failed');
    }
  }

  private async fetchImage(ref: string | undefined): Promise<string | undefined> {
    if (ref === undefined) return undefined;
    let digest = this.images.get(ref);
    if (digest === undefined) {
      try {
        digest = await this.containerd.imageDigest(ref);
        this.images.set(ref, digest);
      } catch (err) {
        // Not cached, so the next container of this image asks again.
        this.lookupFailures++;
        this.log.debug({ err: (err as Error).message, image: ref }, 'image digest lookup failed');
        digest = null;
      }
    }
    return withDigest(ref, digest);
  }

  private fetchContainer(id: string): Promise<Container | null> {
    const hit = this.containers.get(id);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = this.pendingContainers.get(id);
    if (p === undefined) {
      p = (async () => {
        const record = await this.containerd.getContainer(id);
        if (record === null) return null;
        const sandboxId = record.annotations['io.kubernetes.cri.sandbox-id'];
        const sandbox = sandboxId !== undefined && sandboxId !== id ? await this.containerd.getContainer(sandboxId) : null;
        const c: Container = { record, info: runtimeInfo(record, sandbox, await this.fetchImage(imageReference(record))) };
        if (!this.closed) this.containers.set(id, c);
        return c;
      })().finally(() => this.pendingContainers.delete(id));
      this.pendingContainers.set(id, p);
    }
    return p;
  }

  private lookupCgroup(ev: FileEvent): Promise<CgroupLookup> {
    if (!this.byCgroupId) return this.cgroupResolver.lookup(ev.cgroupId, ev.hostPid);
    let p = this.pendingCgroups.get(ev.cgroupId);
    if (p === undefined) {
      p = this.cgroupResolver.lookup(ev.cgroupId, ev.hostPid).then((l) => {
        // Cached even when not found: cgroup ids are never reused, and one that no walk finds is gone.
        if (!this.closed) this.cgroups.set(ev.cgroupId, l);
        return l;
      }).finally(() => this.pendingCgroups.delete(ev.cgroupId));
      this.pendingCgroups.set(ev.cgroupId, p);
    }
    return p;
  }

  private inHostNamespaces(ev: FileEvent): boolean {
    return this.hostNs !== null && ev.mntNs === this.hostNs.mnt && ev.pidNs === this.hostNs.pid;
  }

  /** A cgroup with no container in it: host, unless the namespaces say it is some container we cannot name. */
  private noContainer(ev: FileEvent, lookup: CgroupLookup): Workload {
    if (lookup.path !== '' || this.hostNs === null || this.inHostNamespaces(ev)) return HOST;
    this.unattributed++;
    return UNKNOWN_CONTAINER;
  }

  private build(lookup: CgroupLookup, c: Container | null): Workload {
    const kube = this.kube;
    const id = lookup.identity!.containerId;
    const info = c?.info;
    const uidHint = info?.podUid ?? lookup.identity!.podUid ?? undefined;
    const pod = kube?.podByContainerId(id) ?? (uidHint === undefined ? undefined : kube?.podByUid(uidHint));
    const namespace = pod?.namespace ?? info?.podNamespace;
    const w: { -readonly [K in keyof Workload]: Workload[K] } = { kind: 'container', containerId: id, labels: pod?.labels ?? info?.podLabels ?? {} };
    const name = info?.containerName ?? pod?.containers.get(id)?.name;
    if (name !== undefined) w.containerName = name;
    const image = info?.image !== undefined && info.image.includes('@') ? info.image : pod?.containers.get(id)?.image ?? info?.image;
    if (image !== undefined) w.containerImage = image;
    if (namespace !== undefined) w.namespace = namespace;
    const podName = pod?.name ?? info?.podName;
    if (podName !== undefined) w.podName = podName;
    const podUid = pod?.uid ?? info?.podUid ?? lookup.identity!.podUid ?? undefined;
    if (podUid !== undefined) w.podUid = podUid;
    if (pod !== undefined && kube !== null) w.owner = kube.owner(pod) satisfies Owner;
    const ns = namespace === undefined ? undefined : kube?.namespace(namespace);
    if (ns?.posture !== undefined) w.namespaceFilePosture = ns.posture;
    if (ns?.networkPosture !== undefined) w.namespaceNetworkPosture = ns.networkPosture;
    return Object.freeze(w);
  }

  private fromCaches(ev: FileEvent): Workload | undefined {
    const cached = this.workloads.get(ev.cgroupId);
    if (cached !== undefined && cached.gen === this.generation) return cached.w;
    const lookup = this.byCgroupId ? this.cgroups.get(ev.cgroupId) : undefined;
    if (lookup === undefined) return undefined;
    if (lookup.identity === null) return this.noContainer(ev, lookup);
    const c = this.containers.get(lookup.identity.containerId);
    if (c === undefined) return undefined;
    const w = this.build(lookup, c);
    this.workloads.set(ev.cgroupId, { gen: this.generation, w });
    return w;
  }

  private async slow(ev: FileEvent): Promise<Workload> {
    const lookup = await this.lookupCgroup(ev);
    if (lookup.identity === null) return this.noContainer(ev, lookup);
    let c: Container | null = null;
    try {
      c = await this.fetchContainer(lookup.identity.containerId);
    } catch (err) {
      this.lookupFailures++;
      this.warnings.warn({ err: (err as Error).message, containerId: lookup.identity.containerId }, 'container metadata lookup failed');
    }
    const w = this.build(lookup, c);
    if (c !== null && !this.closed && this.byCgroupId) this.workloads.set(ev.cgroupId, { gen: this.generation, w });
    return w;
  }

  resolve(ev: FileEvent): Workload | Promise<Workload> {
    // Same mount and pid namespaces as init: a host process, whatever its cgroup says.
    if (this.inHostNamespaces(ev)) return HOST;
    const hit = this.fromCaches(ev);
    if (hit !== undefined) return hit;
    const work = this.slow(ev);
    return new Promise<Workload>((resolve) => {
      let done = false;
      const t = this.later(this.holdMs, () => {
        if (done) return;
        done = true;
        this.unattributed++;
        // Answer with what the cgroup path alone says; the lookup goes on and fills the caches.
        const l = this.cgroups.peek(ev.cgroupId);
        resolve(l === undefined ? UNKNOWN_CONTAINER : l.identity === null ? this.noContainer(ev, l) : this.build(l, null));
      });
      work.then((w) => {
        if (done) return;
        done = true; clearTimeout(t); this.timers.delete(t);
        resolve(w);
      }, (err: unknown) => {
        this.lookupFailures++;
        this.warnings.warn({ err: (err as Error)?.message, cgroupId: String(ev.cgroupId) }, 'workload lookup failed');
        if (done) return;
        done = true; clearTimeout(t); this.timers.delete(t);
        this.unattributed++;
        resolve(UNKNOWN_CONTAINER);
      });
    });
  }

  node(): NodeIdentity {
    const labels: Record<string, string> = {
      'kubearmor.io/hostname': this.opts.nodeName,
      'kubernetes.io/hostname': this.opts.nodeName,
      ...this.kube?.nodeLabels(),
      ...this.opts.nodeLabels,
    };
    return { clusterName: this.opts.clusterName ?? 'default', hostName: this.opts.nodeName, labels };
  }

  onChange(listener: () => void): void { this.listeners.push(listener); }

  onContainerStart(listener: (id: string) => void): void { this.startListeners.push(listener); }

  async running(): Promise<Array<{ workload: Workload; pid: number }>> {
    const byId = new Map<string, { pid: number; lookup: CgroupLookup }>();
    let names: string[];
    try { names = await readdir(this.procRoot); } catch { return []; }
    const pids = names.filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
    for (const pid of pids) {
      let text: string;
      try { text = await readFile(`${this.procRoot}/${pid}/cgroup`, 'utf8'); } catch { continue; } // exited meanwhile
      const identity = identityFromProcCgroup(text);
      if (identity === null || byId.has(identity.containerId)) continue;
      const { v2, v1 } = cgroupPathFromProc(text);
      byId.set(identity.containerId, { pid, lookup: { path: v2 ?? v1 ?? '', identity } });
    }
    const out: Array<{ workload: Workload; pid: number }> = [];
    for (const [id, { pid, lookup }] of byId) {
      let c: Container | null = null;
      try {
        c = await this.fetchContainer(id);
      } catch (err) {
        this.lookupFailures++;
        this.warnings.warn({ err: (err as Error).message, containerId: id }, 'container metadata lookup failed');
      }
      out.push({ workload: this.build(lookup, c), pid });
    }
    return out;
  }

  stats(): EnricherStats {
    return {
      cgroups: this.cgroups.size, containers: this.containers.size, images: this.images.size, workloads: this.workloads.size,
      pendingLookups: this.pendingCgroups.size + this.pendingContainers.size, timers: this.timers.size,
      unattributed: this.unattributed, lookupFailures: this.lookupFailures, forgotten: this.forgotten, suppressedWarnings: this.warnings.suppressed,
      kubernetes: this.kube === null ? null : { ...this.kube.stats(), restarts: this.kube.restarts },
    };
  }

  async waitForKubernetes(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.kube !== null && !this.kube.synced()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reconcileTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.unsubscribe?.();
    await this.kube?.close();
    this.containerd.close();
  }
}
