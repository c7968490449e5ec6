// Kubernetes metadata for this node: its pods (list+watch, field selector spec.nodeName), the node
// itself, namespaces (labels and the file- and network-posture annotations), and the ReplicaSets/Jobs that name a
// pod's Deployment/CronJob (read on demand). Informers restart after errors; a 410 Gone relists.
import { createRequire } from 'node:module';
import type {
  AppsV1Api, BatchV1Api, KubeConfig, ListWatch,
  KubernetesObject, V1Namespace, V1Node, V1OwnerReference, V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { Owner } from '../types.ts';
import { podLabelsFrom } from './runtime.ts';
import { UsageError } from '../errors.ts';

export const POSTURE_ANNOTATION = 'kubearmor-file-posture';
export const NETWORK_POSTURE_ANNOTATION = 'kubearmor-network-posture';

type Posture = 'audit' | 'block';
/** What the agent keeps of a namespace. */
export interface NamespaceInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly posture?: Posture;
  readonly networkPosture?: Posture;
}

type K8s = typeof import('@kubernetes/client-node');
let k8sModule: K8s | undefined;

/**
 * The client library, loaded on first use: it holds about 50 MB of heap once imported, which a
 * node without a cluster configuration never needs. require() of this ES module is synchronous
 * (Node 24, no top-level await in it), so createEnricher stays synchronous.
 */
export function k8s(): K8s {
  k8sModule ??= createRequire(import.meta.url)('@kubernetes/client-node') as K8s;
  return k8sModule;
}

export interface PodInfo {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Runtime container id (without the `containerd://` scheme) → container name and image. */
  readonly containers: ReadonlyMap<string, { readonly name: string; readonly image?: string }>;
  readonly controller: V1OwnerReference | undefined;
}

/** KubeConfig for 'auto': in-cluster when the service account is mounted, else $KUBECONFIG or the given file; null when none. */
export function loadKubeConfig(file: string | undefined): KubeConfig | null {
  const path = file ?? process.env.KUBECONFIG;
  const inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined;
  if ((path === undefined || path === '') && !inCluster) return null;
  const kc = new (k8s().KubeConfig)();
  if (path !== undefined && path !== '') {
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new UsageError(`kubeconfig ${path}: ${(err as Error).message}`);
    }
    return kc;
  }
  kc.loadFromCluster();
  return kc;
}

function imageOf(image: string | undefined, imageID: string | undefined): string | undefined {
  if (image === undefined || image === '') return undefined;
  const at = imageID?.lastIndexOf('@sha256:') ?? -1;
  return at >= 0 && !image.includes('@') ? `${image}${imageID!.slice(at)}` : image;
}

function toPodInfo(p: V1Pod): PodInfo {
  const containers = new Map<string, { name: string; image?: string }>();
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? []), ...(p.status?.ephemeralContainerStatuses ?? [])];
  for (const s of statuses) {
    const id = s.containerID?.replace(/^[a-z-]+:\/\//, '');
    if (id === undefined || id === '') continue;
    const image = imageOf(s.image, s.imageID);
    containers.set(id, image === undefined ? { name: s.name } : { name: s.name, image });
  }
  const refs = p.metadata?.ownerReferences ?? [];
  return {
    uid: p.metadata?.uid ?? '',
    name: p.metadata?.name ?? '',
    namespace: p.metadata?.namespace ?? '',
    labels: podLabelsFrom(p.metadata?.labels ?? {}),
    containers,
    controller: refs.find((r) => r.controller === true) ?? refs[0],
  };
}

const signature = (o: unknown) => JSON.stringify(o);

export class KubeWatcher {
  readonly #log: Logger;
  readonly #changed: () => void;
  readonly #retryMs: number;
  readonly #apps: AppsV1Api;
  readonly #batch: BatchV1Api;
  readonly #informers: ListWatch<KubernetesObject>[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #pods = new Map<string, PodInfo>(); // by uid
  readonly #podSig = new Map<string, string>();
  readonly #podByContainer = new Map<string, string>(); // container id → pod uid
  readonly #namespaces = new Map<string, NamespaceInfo>();
  #nodeLabels: Record<string, string> | null = null;
  // ReplicaSet/Job `ns/kind/name` → its own controller (or null when it has none); in flight as a promise.
  readonly #parents = new Map<string, { kind: string; name: string } | null | Promise<void>>();
  #closed = false;
  restarts = 0;

  constructor(kc: KubeConfig, opts: { nodeName: string; logger: Logger; retryMs: number; changed: () => void }) {
    this.#log = opts.logger;
    this.#changed = opts.changed;
    this.#retryMs = opts.retryMs;
    const { AppsV1Api, BatchV1Api, CoreV1Api, ListWatch, Watch } = k8s();
    const core = kc.makeApiClient(CoreV1Api);
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
    const watch = new Watch(kc);
    const podSel = `spec.nodeName=${opts.nodeName}`;
    const nodeSel = `metadata.name=${opts.nodeName}`;
    const pods = new ListWatch<V1Pod>('/api/v1/pods', watch, () => core.listPodForAllNamespaces({ fieldSelector: podSel }), false, undefined, podSel);
    pods.on('add', (p) => this.#podUpsert(p));
    pods.on('update', (p) => this.#podUpsert(p));
    pods.on('delete', (p) => this.#podDelete(p));
    const nodes = new ListWatch<V1Node>('/api/v1/nodes', watch, () => core.listNode({ fieldSelector: nodeSel }), false, undefined, nodeSel);
    const nodeUpsert = (n: V1Node) => {
      const labels = n.metadata?.labels ?? {};
      if (signature(labels) !== signature(this.#nodeLabels)) { this.#nodeLabels = { ...labels }; this.#changed(); }
    };
    nodes.on('add', nodeUpsert);
    nodes.on('update', nodeUpsert);
    nodes.on('delete', () => { this.#nodeLabels = null; this.#changed(); });
    const namespaces = new ListWatch<V1Namespace>('/api/v1/namespaces', watch, () => core.listNamespace(), false);
    const nsUpsert = (n: V1Namespace) => {
      const name = n.metadata?.name ?? '';
      const posture = (annotation: string): Posture | undefined => {
        const raw = n.metadata?.annotations?.[annotation];
        if (raw === 'audit' || raw === 'block') return raw;
        if (raw !== undefined) this.#log.warn({ namespace: name, value: raw }, `namespace annotation ${annotation} is neither audit nor block; ignored`);
        return undefined;
      };
      const next: { labels: Record<string, string>; posture?: Posture; networkPosture?: Posture } = { labels: { ...n.metadata?.labels } };
      const file = posture(POSTURE_ANNOTATION);
      if (file !== undefined) next.posture = file;
      const network = posture(NETWORK_POSTURE_ANNOTATION);
      if (network !== undefined) next.networkPosture = network;
      if (signature(next) !== signature(this.#namespaces.get(name))) { this.#namespaces.set(name, next); this.#changed(); }
    };
    namespaces.on('add', nsUpsert);
    namespaces.on('update', nsUpsert);
    namespaces.on('delete', (n) => { this.#namespaces.delete(n.metadata?.name ?? ''); this.#changed(); });
    for (const [name, inf] of [['pods', pods], ['nodes', nodes], ['namespaces', namespaces]] as const) {
      const informer = inf as unknown as ListWatch<KubernetesObject>;
      // The informer gives up on any error other than 410/timeout; start it again after a pause.
      informer.on('error', (err: unknown) => {
        if (this.#closed) return;
        this.#log.warn({ resource: name, err: (err as Error)?.message ?? String(err) }, 'Kubernetes watch failed; retrying');
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (this.#closed) return;
          this.restarts++;
          void informer.start();
        }, this.#retryMs);
        this.#timers.add(t);
      });
      this.#informers.push(informer);
    }
  }

  start(): void { for (const i of this.#informers) void i.start(); }

  /** True once every informer has listed at least once. */
  synced(): boolean { return this.#informers.every((i) => i.latestResourceVersion() !== ''); }

  podByUid(uid: string): PodInfo | undefined { return this.#pods.get(uid); }

  podByContainerId(id: string): PodInfo | undefined {
    const uid = this.#podByContainer.get(id);
    return uid === undefined ? undefined : this.#pods.get(uid);
  }

  namespace(name: string): NamespaceInfo | undefined {
    return this.#namespaces.get(name);
  }

  nodeLabels(): Readonly<Record<string, string>> | null { return this.#nodeLabels; }

  /** Owner as KubeArmor prints it: the top controller (Deployment over ReplicaSet, CronJob over Job). */
  owner(pod: PodInfo): Owner {
    const ref = pod.controller;
    if (ref === undefined) return { ref: 'Pod', name: pod.name, namespace: pod.namespace };
    if (ref.kind === 'ReplicaSet' || ref.kind === 'Job') {
      const parent = this.#parents.get(`${pod.namespace}/${ref.kind}/${ref.name}`);
      if (parent !== undefined && parent !== null && !(parent instanceof Promise)) {
        return { ref: parent.kind, name: parent.name, namespace: pod.namespace };
      }
    }
    return { ref: ref.kind, name: ref.name, namespace: pod.namespace };
  }

  stats(): { pods: number; containers: number; namespaces: number; parents: number; timers: number } {
    return { pods: this.#pods.size, containers: this.#podByContainer.size, namespaces: this.#namespaces.size, parents: this.#parents.size, timers: this.#timers.size };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #podUpsert(p: V1Pod): void {
    const info = toPodInfo(p);
    if (info.uid === '') return;
    const old = this.#pods.get(info.uid);
    if (old !== undefined) for (const id of old.containers.keys()) this.#podByContainer.delete(id);
    this.#pods.set(info.uid, info);
    for (const id of info.containers.keys()) this.#podByContainer.set(id, info.uid);
    this.#fetchParent(info);
    const sig = signature([info.labels, info.controller?.uid, [...info.containers.keys()]]);
    if (this.#podSig.get(info.uid) !== sig) { this.#podSig.set(info.uid, sig); this.#changed(); }
  }

  #podDelete(p: V1Pod): void {
    const uid = p.metadata?.uid ?? '';
    const old = this.#pods.get(uid);
    if (old === undefined) return;
    for (const id of old.containers.keys()) this.#podByContainer.delete(id);
    this.#pods.delete(uid);
    this.#podSig.delete(uid);
    // Forget parents no remaining pod refers to.
    const used = new Set([...this.#pods.values()].map((x) => `${x.namespace}/${x.controller?.kind}/${x.controller?.name}`));
    for (const k of this.#parents.keys()) if (!used.has(k) && !(this.#parents.get(k) instanceof Promise)) this.#parents.delete(k);
    this.#changed();
  }

  #fetchParent(pod: PodInfo): void {
    const ref = pod.controller;
    if (ref === undefined || (ref.kind !== 'ReplicaSet' && ref.kind !== 'Job')) return;
    const key = `${pod.namespace}/${ref.kind}/${ref.name}`;
    if (this.#parents.has(key)) return;
    const req = ref.kind === 'ReplicaSet'
      ? this.#apps.readNamespacedReplicaSet({ name: ref.name, namespace: pod.namespace })
      : this.#batch.readNamespacedJob({ name: ref.name, namespace: pod.namespace });
    const p = (req as Promise<KubernetesObject>).then(
      (obj) => {
        if (this.#closed) return;
        const refs = obj.metadata?.ownerReferences ?? [];
        const top = refs.find((r) => r.controller === true) ?? refs[0];
        this.#parents.set(key, top === undefined ? null : { kind: top.kind, name: top.name });
        this.#changed();
      },
      (err: unknown) => {
        // Not cached: the next update of a pod that refers to it tries again.
        this.#parents.delete(key);
        this.#log.debug({ key, err: (err as Error)?.message }, 'could not read pod owner');
      },
    );
    this.#parents.set(key, p);
  }
}
