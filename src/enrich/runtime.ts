// What the container runtime knows about a container, as the CRI plugin records it: labels set by
// the kubelet on every container, annotations in the OCI spec, and the pod's labels on the sandbox.
import type { ContainerRecord } from './containerd.ts';

export interface RuntimeInfo {
  readonly containerId: string;
  readonly containerName?: string;
  /** `repo:tag@sha256:digest` when the digest is known, else the image reference as recorded. */
  readonly image?: string;
  readonly podName?: string;
  readonly podNamespace?: string;
  readonly podUid?: string;
  readonly sandboxId?: string;
  readonly containerType?: string; // 'container' | 'sandbox'
  /** The pod's labels as recorded on the sandbox container (CRI system labels removed). */
  readonly podLabels: Readonly<Record<string, string>>;
}

export const CRI = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  containerType: 'io.kubernetes.cri.container-type',
  criContainerName: 'io.kubernetes.cri.container-name',
  imageName: 'io.kubernetes.cri.image-name',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
} as const;

/** Labels the kubelet and the CRI plugin add for themselves; they are not the pod's labels. */
export function isSystemLabel(key: string): boolean {
  return key.startsWith('io.kubernetes.') || key.startsWith('io.cri-containerd.') || key.startsWith('io.containerd.');
}

/** Labels of a pod as KubeArmor reports them: controller bookkeeping labels left out. */
export const BOOKKEEPING_LABELS: ReadonlySet<string> = new Set(['pod-template-hash', 'controller-revision-hash', 'pod-template-generation']);

export function podLabelsFrom(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!isSystemLabel(k) && !BOOKKEEPING_LABELS.has(k)) out[k] = v;
  return out;
}

function pick(c: ContainerRecord, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = c.labels[k] ?? c.annotations[k];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** The image reference the user asked for: CRI's image-name annotation, else the container's image. */
export function imageReference(c: ContainerRecord): string | undefined {
  const annotated = c.annotations[CRI.imageName];
  if (annotated !== undefined && annotated !== '') return annotated;
  return c.image === '' ? undefined : c.image;
}

/** `repo:tag` + digest → `repo:tag@sha256:…`; a reference that already has a digest is kept. */
export function withDigest(ref: string, digest: string | null): string {
  if (digest === null || ref.includes('@') || ref.startsWith('sha256:')) return ref;
  return `${ref}@${digest}`;
}

export function runtimeInfo(c: ContainerRecord, sandbox: ContainerRecord | null, image: string | undefined): RuntimeInfo {
  const type = pick(c, CRI.containerType);
  const info: Record<string, unknown> = { containerId: c.id };
  const set = (k: string, v: string | undefined) => { if (v !== undefined) info[k] = v; };
  set('containerName', pick(c, CRI.containerName, CRI.criContainerName));
  set('image', image);
  set('podName', pick(c, CRI.podName, CRI.sandboxName));
  set('podNamespace', pick(c, CRI.podNamespace, CRI.sandboxNamespace));
  set('podUid', pick(c, CRI.podUid, CRI.sandboxUid));
  set('sandboxId', type === 'sandbox' ? c.id : pick(c, CRI.sandboxId));
  set('containerType', type);
  info['podLabels'] = podLabelsFrom(type === 'sandbox' ? c.labels : sandbox?.labels ?? {});
  return info as unknown as RuntimeInfo;
}
