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

export function createEnricher(opts: EnricherOptions): ArmorwatchEnricher {
  if (opts.nodeName === '') throw new UsageError('enricher: nodeName must not be empty (set --node-name or NODE_NAME)');
  const log = opts.logger;
  // Lookups fail for every new container while containerd is down: one warning a minute says so.
  const warnings = new WarningLimiter(log);
  const holdMs = opts.holdMs ?? 500;
  const cacheSize = opts.cacheSize ?? 4096;
  const retryMs = opts.retryMs ?? 2000;
  const reconcileMs = opts.reconcileMs ?? 60_000;
  for (const [name, v, min] of [['holdMs', holdMs, 0], ['cacheSize', cacheSize, 1], ['retryMs', retryMs, 1], ['reconcileMs', reconcileMs, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new UsageError(`enricher: ${name} must be an integer >= ${min}, got ${v}`);
  }
  const procRoot = opts.procRoot ?? '/proc';
  const cgroupRoot = opts.cgroupRoot !== undefined ? opts.cgroupRoot : findCgroup2Mount();
  // Read first: a bad kubeconfig is a usage error, before anything is started.
  const kubeMode = opts.kubernetes ?? 'auto';
  const kc = kubeMode === 'auto' ? loadKubeConfig(opts.kubeconfig) : null;
  const hostNs = hostNamespaces(procRoot);
  if (hostNs === null) log.warn(`cannot read ${procRoot}/1/ns; host processes are told apart by their cgroup only (run the agent with hostPID)`);
  const cgroupResolver = new CgroupResolver({ cgroupRoot, procRoot, walkLimit: 50_000 });
  const containerd = new ContainerdClient(opts.containerdSocket ?? '/run/containerd/containerd.sock', opts.containerdNamespace ?? 'k8s.io');

  // Invariants: every cache is capped at cacheSize; `workloads` entries are valid only for the
  // current `generation` (bumped on any metadata change); a deleted container leaves no entry.
  const cgroups = new Lru<bigint, CgroupLookup>(cacheSize);
  const containers = new Lru<string, Container>(cacheSize);
  const images = new Lru<string, string | null>(cacheSize);
  const workloads = new Lru<bigint, { gen: number; w: Workload }>(cacheSize);
  const pendingCgroups = new Map<bigint, Promise<CgroupLookup>>();
  const pendingContainers = new Map<string, Promise<Container | null>>();
  const timers = new Set<NodeJS.Timeout>();
  const listeners: Array<() => void> = [];
  const startListeners: Array<(id: string) => void> = [];
  let generation = 0;
  let unattributed = 0, lookupFailures = 0, forgotten = 0;
  let closed = false;

  // Caches see a change at once; listeners hear of a burst (a relist of 100 pods) once.
  let notifyPending = false;
  const changed = () => {
    generation++;
    if (notifyPending) return;
    notifyPending = true;
    setImmediate(() => {
      notifyPending = false;
      if (closed) return;
      for (const l of listeners) {
        try { l(); } catch (err) { log.error({ err }, 'enricher change listener threw'); }
      }
    });
  };

  let kube: KubeWatcher | null = null;
  if (kc !== null) {
    kube = new KubeWatcher(kc, { nodeName: opts.nodeName, logger: log, retryMs, changed });
    kube.start();
  } else if (kubeMode === 'auto') {
    log.info('no Kubernetes configuration found; using container runtime metadata only');
  }

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
    return t;
  };

  function forget(id: string): void {
    let any = containers.delete(id);
    for (const [cg, l] of [...cgroups.entries()]) if (l.identity?.containerId === id) { cgroups.delete(cg); workloads.delete(cg); any = true; }
    if (any) forgotten++;
  }

  // containerd tells us about deletions; reconnect when the stream ends, and reconcile on reconnect.
  let unsubscribe: (() => void) | null = null;
  const subscribe = () => {
    if (closed) return;
    unsubscribe = containerd.subscribeEvents({ deleted: forget, started: (id) => {
      for (const l of startListeners) {
        try { l(id); } catch (err) { log.error({ err }, 'enricher container-start listener threw'); }
      }
    } }, (err) => {
      unsubscribe = null;
      if (closed) return;
      log.debug({ err: err?.message }, 'containerd event stream ended; reconnecting');
      later(retryMs, () => { subscribe(); void reconcile(); });
    });
  };
  subscribe();
  const reconcile = async () => {
    if (closed || containers.size === 0) return;
    try {
      const live = await containerd.listContainerIds();
      for (const [id] of [...containers.entries()]) if (!live.has(id)) forget(id);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'containerd reconciliation failed');
    }
  };
  const reconcileTimer = setInterval(() => { void reconcile(); }, reconcileMs);
  reconcileTimer.unref();

  async function fetchImage(ref: string | undefined): Promise<string | undefined> {
    if (ref === undefined) return undefined;
    let digest = images.get(ref);
    if (digest === undefined) {
      try {
        digest = await containerd.imageDigest(ref);
        images.set(ref, digest);
      } catch (err) {
        // Not cached, so the next container of this image asks again.
        lookupFailures++;
        log.debug({ err: (err as Error).message, image: ref }, 'image digest lookup failed');
        digest = null;
      }
    }
    return withDigest(ref, digest);
  }

  function fetchContainer(id: string): Promise<Container | null> {
    const hit = containers.get(id);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = pendingContainers.get(id);
    if (p === undefined) {
      p = (async () => {
        const record = await containerd.getContainer(id);
        if (record === null) return null;
        const sandboxId = record.annotations['io.kubernetes.cri.sandbox-id'];
        const sandbox = sandboxId !== undefined && sandboxId !== id ? await containerd.getContainer(sandboxId) : null;
        const c: Container = { record, info: runtimeInfo(record, sandbox, await fetchImage(imageReference(record))) };
        if (!closed) containers.set(id, c);
        return c;
      })().finally(() => pendingContainers.delete(id));
      pendingContainers.set(id, p);
    }
    return p;
  }

  // On pure cgroup v1 the kernel reports the same (root) cgroup id for every process, so the id
  // cannot key a cache: each event's process is looked up by pid instead.
  const byCgroupId = cgroupRoot !== null;

  function lookupCgroup(ev: FileEvent): Promise<CgroupLookup> {
    if (!byCgroupId) return cgroupResolver.lookup(ev.cgroupId, ev.hostPid);
    let p = pendingCgroups.get(ev.cgroupId);
    if (p === undefined) {
      p = cgroupResolver.lookup(ev.cgroupId, ev.hostPid).then((l) => {
        // Cached even when not found: cgroup ids are never reused, and one that no walk finds is gone.
        if (!closed) cgroups.set(ev.cgroupId, l);
        return l;
      }).finally(() => pendingCgroups.delete(ev.cgroupId));
      pendingCgroups.set(ev.cgroupId, p);
    }
    return p;
  }

  const inHostNamespaces = (ev: FileEvent) => hostNs !== null && ev.mntNs === hostNs.mnt && ev.pidNs === hostNs.pid;

  /** A cgroup with no container in it: host, unless the namespaces say it is some container we cannot name. */
  function noContainer(ev: FileEvent, lookup: CgroupLookup): Workload {
    if (lookup.path !== '' || hostNs === null || inHostNamespaces(ev)) return HOST;
    unattributed++;
    return UNKNOWN_CONTAINER;
  }

  function build(lookup: CgroupLookup, c: Container | null): Workload {
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

  function fromCaches(ev: FileEvent): Workload | undefined {
    const cached = workloads.get(ev.cgroupId);
    if (cached !== undefined && cached.gen === generation) return cached.w;
    const lookup = byCgroupId ? cgroups.get(ev.cgroupId) : undefined;
    if (lookup === undefined) return undefined;
    if (lookup.identity === null) return noContainer(ev, lookup);
    const c = containers.get(lookup.identity.containerId);
    if (c === undefined) return undefined;
    const w = build(lookup, c);
    workloads.set(ev.cgroupId, { gen: generation, w });
    return w;
  }

  async function slow(ev: FileEvent): Promise<Workload> {
    const lookup = await lookupCgroup(ev);
    if (lookup.identity === null) return noContainer(ev, lookup);
    let c: Container | null = null;
    try {
      c = await fetchContainer(lookup.identity.containerId);
    } catch (err) {
      lookupFailures++;
      warnings.warn({ err: (err as Error).message, containerId: lookup.identity.containerId }, 'container metadata lookup failed');
    }
    const w = build(lookup, c);
    if (c !== null && !closed && byCgroupId) workloads.set(ev.cgroupId, { gen: generation, w });
    return w;
  }

  return {
    resolve(ev: FileEvent): Workload | Promise<Workload> {
      // Same mount and pid namespaces as init: a host process, whatever its cgroup says.
      if (inHostNamespaces(ev)) return HOST;
      const hit = fromCaches(ev);
      if (hit !== undefined) return hit;
      const work = slow(ev);
      return new Promise<Workload>((resolve) => {
        let done = false;
        const t = later(holdMs, () => {
          if (done) return;
          done = true;
          unattributed++;
          // Answer with what the cgroup path alone says; the lookup goes on and fills the caches.
          const l = cgroups.peek(ev.cgroupId);
          resolve(l === undefined ? UNKNOWN_CONTAINER : l.identity === null ? noContainer(ev, l) : build(l, null));
        });
        work.then((w) => {
          if (done) return;
          done = true; clearTimeout(t); timers.delete(t);
          resolve(w);
        }, (err: unknown) => {
          lookupFailures++;
          warnings.warn({ err: (err as Error)?.message, cgroupId: String(ev.cgroupId) }, 'workload lookup failed');
          if (done) return;
          done = true; clearTimeout(t); timers.delete(t);
          unattributed++;
          resolve(UNKNOWN_CONTAINER);
        });
      });
    },

    node(): NodeIdentity {
      const labels: Record<string, string> = {
        'kubearmor.io/hostname': opts.nodeName,
        'kubernetes.io/hostname': opts.nodeName,
        ...kube?.nodeLabels(),
        ...opts.nodeLabels,
      };
      return { clusterName: opts.clusterName ?? 'default', hostName: opts.nodeName, labels };
    },

    onChange(listener: () => void): void { listeners.push(listener); },

    onContainerStart(listener: (id: string) => void): void { startListeners.push(listener); },

    async running(): Promise<Array<{ workload: Workload; pid: number }>> {
      const byId = new Map<string, { pid: number; lookup: CgroupLookup }>();
      let names: string[];
      try { names = await readdir(procRoot); } catch { return []; }
      const pids = names.filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
      for (const pid of pids) {
        let text: string;
        try { text = await readFile(`${procRoot}/${pid}/cgroup`, 'utf8'); } catch { continue; } // exited meanwhile
        const identity = identityFromProcCgroup(text);
        if (identity === null || byId.has(identity.containerId)) continue;
        const { v2, v1 } = cgroupPathFromProc(text);
        byId.set(identity.containerId, { pid, lookup: { path: v2 ?? v1 ?? '', identity } });
      }
      const out: Array<{ workload: Workload; pid: number }> = [];
      for (const [id, { pid, lookup }] of byId) {
        let c: Container | null = null;
        try {
          c = await fetchContainer(id);
        } catch (err) {
          lookupFailures++;
          warnings.warn({ err: (err as Error).message, containerId: id }, 'container metadata lookup failed');
        }
        out.push({ workload: build(lookup, c), pid });
      }
      return out;
    },

    stats(): EnricherStats {
      return {
        cgroups: cgroups.size, containers: containers.size, images: images.size, workloads: workloads.size,
        pendingLookups: pendingCgroups.size + pendingContainers.size, timers: timers.size,
        unattributed, lookupFailures, forgotten, suppressedWarnings: warnings.suppressed,
        kubernetes: kube === null ? null : { ...kube.stats(), restarts: kube.restarts },
      };
    },

    async waitForKubernetes(timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (kube !== null && !kube.synced()) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(reconcileTimer);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      unsubscribe?.();
      await kube?.close();
      containerd.close();
    },
  };
}
