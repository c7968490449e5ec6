// The test fixtures' Kubernetes objects (test/fixtures/k8s) put into a real API server the way a
// cluster would hold them: the server assigns uids and resourceVersions, so ownerReferences are
// pointed at the uids it gave the owners created before; status (what the kubelet would report) is
// written through the status subresource. Workload objects whose fixture omits a pod template get a
// minimal one, as the server requires it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane, KubeObject } from './kube-apiserver.ts';
import { render } from '../deploy/render.ts';

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/** Objects created so far, by kind/namespace/name, as the server returned them. */
export type Created = Map<string, KubeObject>;

export function createdObject(created: Created, kind: string, namespace: string | undefined, name: string): KubeObject {
  const o = created.get(keyOf(kind, namespace, name));
  if (o === undefined) throw new Error(`no ${kind} ${namespace ?? ''}/${name} was created`);
  return o;
}

function withTemplate(o: KubeObject): void {
  const spec = (o.spec ??= {}) as Record<string, any>;
  const container = { name: 'main', image: 'docker.io/library/busybox:1.36' };
  if (o.kind === 'ReplicaSet' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') {
    spec.template ??= { metadata: { labels: { ...spec.selector?.matchLabels } }, spec: { containers: [container] } };
    if (o.kind === 'StatefulSet') spec.serviceName ??= o.metadata.name;
  }
  if (o.kind === 'Job') spec.template ??= { spec: { restartPolicy: 'Never', containers: [container] } };
}

/**
 * Creates `objs` in order (owners before what they own) and returns them as stored. `status` is
 * written after creation for objects that carry one and for which it matters (Pods).
 */
export async function putObjects(cp: ControlPlane, objs: readonly KubeObject[], created: Created = new Map()): Promise<Created> {
  for (const src of objs) {
    const o = structuredClone(src);
    const status = o.status;
    delete o.status;
    const { uid: _u, creationTimestamp: _c, resourceVersion: _r, generateName: _g, ...meta } = o.metadata;
    o.metadata = meta as KubeObject['metadata'];
    if (o.kind === 'Namespace') delete o.spec;
    // An owner not among the objects keeps the fixture's uid: a dangling reference is legal (no
    // garbage collector runs here).
    o.metadata.ownerReferences = o.metadata.ownerReferences?.map((ref) => ({ ...ref, uid: created.get(keyOf(ref.kind, o.metadata.namespace, ref.name))?.metadata.uid ?? ref.uid }));
    withTemplate(o);
    let stored = await cp.create(o);
    if (o.kind === 'Pod' && status !== undefined) stored = await cp.patch(stored, { status }, 'status');
    created.set(keyOf(o.kind, o.metadata.namespace, o.metadata.name), stored);
  }
  return created;
}

/** A Pod's container statuses as the kubelet writes them once its containers run. */
export function runningStatus(containers: ReadonlyArray<{ name: string; id: string; image: string; imageID: string }>): Record<string, unknown> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    phase: 'Running',
    containerStatuses: containers.map((c) => ({
      name: c.name, containerID: `containerd://${c.id}`, image: c.image, imageID: c.imageID,
      ready: true, started: true, restartCount: 0, state: { running: { startedAt } },
    })),
  };
}

/** The agent's identity as deploy/ grants it: its ServiceAccount, and a token for it. */
export interface AgentIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly token: string;
  /** A kubeconfig that reaches the API server as the service account (not as admin). */
  readonly kubeconfig: string;
}

/**
 * Applies deploy/base's Namespace, ServiceAccount and RBAC objects as they render (kustomize) and asks
 * the API server for a token of that ServiceAccount (TokenRequest, as the kubelet does for the pod).
 * Objects that exist already are kept, so it can run more than once against one server.
 */
export async function agentIdentity(cp: ControlPlane): Promise<AgentIdentity> {
  const kinds = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  const objs = render('deploy/base').filter((o) => kinds.has(o.kind)) as KubeObject[];
  for (const o of objs) {
    const res = await cp.request('POST', await cp.collectionPath(o.apiVersion, o.kind, o.metadata.namespace), { body: o });
    if (res.status !== 201 && res.status !== 409) throw new Error(`${o.kind} ${o.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const sa = objs.find((o) => o.kind === 'ServiceAccount');
  if (sa === undefined) throw new Error('deploy/base has no ServiceAccount');
  const namespace = sa.metadata.namespace!;
  const tr = await cp.ok<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${sa.metadata.name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const token = tr.status.token;
  return { namespace, serviceAccount: sa.metadata.name, token, kubeconfig: cp.writeKubeconfig(token, join(cp.dir, 'agent.kubeconfig')) };
}

/** Installs KubeArmor's CRDs (shared/policies/crd, as KubeArmor ships them) and waits until each is Established. */
export async function installKubeArmorCrds(cp: ControlPlane, crdDir: string): Promise<string[]> {
  return installCrds(cp, readdirSync(crdDir).filter((n) => n.endsWith('.yaml')).sort().map((f) => join(crdDir, f)));
}

/** Installs the CRDs in `files` (YAML, one or more documents each) and waits until each is Established. */
export async function installCrds(cp: ControlPlane, files: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd === null) continue;
      const res = await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
      if (res.status !== 201 && res.status !== 409) throw new Error(`${f}: ${res.status} ${JSON.stringify(res.body)}`);
      names.push(crd.metadata.name);
    }
  }
  for (const end = Date.now() + 30_000; ;) {
    const pending: string[] = [];
    for (const n of names) {
      const crd = await cp.ok<{ status?: { conditions?: Array<{ type: string; status: string }> } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}`);
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) pending.push(n);
    }
    if (pending.length === 0) break;
    if (Date.now() > end) throw new Error(`CRDs not Established within 30 s: ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return names;
}
