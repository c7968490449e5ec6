// The enricher with Kubernetes metadata from a real kube-apiserver (etcd + kube-apiserver started by
// test/helpers/kube-apiserver.ts), on top of real containerd containers: owners of every kind, node
// labels, namespace posture, live relabelling, the API server stopped and started again, an expired
// resourceVersion (410 Gone) after an etcd compaction, and the agent's own service account with
// exactly deploy/'s RBAC.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher, type ArmorwatchEnricher, type EnricherOptions } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import { findObject, loadFixture, type K8sObject } from '../k8s-api/fixtures.ts';
import { needsControlPlane, startControlPlane, controlPlaneUnavailableReason, type ControlPlane, type KubeObject } from '../helpers/kube-apiserver.ts';
import { createdObject, putObjects, runningStatus } from '../helpers/kube-objects.ts';
import {
  buildBusyboxRootfs, containerdUnavailableReason, importBusyboxImage, needsContainerd, nsOf,
  runAppContainer, runPod, runSandbox, startContainerd, cgroupOf, UNIFIED,
} from '../helpers/containerd.ts';
import { eventFor } from './event.ts';
import type { FileEvent, Workload } from '../../src/types.ts';
import { defer } from '../helpers/cleanup.ts';

const IMAGE = 'docker.io/armorwatch/busybox:1.36';
const NODE = 'gke-cluster-1-default-pool-37f4c896-8cn6';
const WORDPRESS = loadFixture('wordpress.yaml');
const POD_NAME = 'wordpress-7c966b5d85-wvtln';
// kube-apiserver (admission plugin PodTopologyLabels) copies the node's topology labels onto a pod
// bound to it: a real cluster's pods carry their node's zone, and so do these.
const ZONE = { 'topology.kubernetes.io/zone': 'us-central1-c' };

let daemon: Awaited<ReturnType<typeof startContainerd>> | null = null;
let cp: ControlPlane | null = null;
let rootfs = '';
let digest = '';
let dir = '';
let nsSeq = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-enrich-k8s-'));
  if (containerdUnavailableReason() !== null || controlPlaneUnavailableReason() !== null) return;
  daemon = await startContainerd();
  rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
  digest = await importBusyboxImage(IMAGE);
  // Watches straight from etcd (no watch cache), so a compaction makes old resourceVersions expire;
  // watches end every few seconds, so the informers watch again from the resourceVersion they hold.
  cp = await startControlPlane({ watchCache: false, audit: true, apiServerArgs: ['--min-request-timeout=3'] });
  await putObjects(cp, [findObject(WORDPRESS, 'Node', NODE)]);
});
after(async () => {
  await cp?.stop();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function ready(t: TestContext): ControlPlane | null {
  return needsContainerd(t) && needsControlPlane(t) ? cp : null;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The fixture objects moved into a namespace of their own (each test gets one: namespaces are never deleted here). */
function inNamespace(objs: readonly K8sObject[], ns: string): KubeObject[] {
  return objs.filter((o) => o.kind !== 'Node').map((o) => {
    const c = structuredClone(o) as KubeObject;
    if (c.kind === 'Namespace') c.metadata = { ...c.metadata, name: ns, labels: { 'kubernetes.io/metadata.name': ns } };
    else c.metadata.namespace = ns;
    return c;
  });
}

interface Seed { ns: string; enricher: ArmorwatchEnricher; ev: FileEvent; pod: KubeObject; uid: string }

/**
 * The seed's Namespace, Deployment, ReplicaSet and Pod in the API server; the pod's sandbox and
 * container in containerd with the uid the server gave it; the container's status written as the
 * kubelet would; an enricher on both.
 */
async function seedCluster(t: TestContext, api: ControlPlane, extra: Partial<EnricherOptions> = {}): Promise<Seed> {
  const ns = `wordpress-${++nsSeq}`;
  const created = await putObjects(api, inNamespace(WORDPRESS, ns));
  const pod = createdObject(created, 'Pod', ns, POD_NAME);
  const uid = pod.metadata.uid!;
  const spec = { name: POD_NAME, namespace: ns, uid, rootfs,
    // What the runtime recorded at start; Kubernetes' current labels must win over it.
    labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85', tier: 'recorded-at-start' } };
  const sandbox = await runSandbox(spec);
  const app = await runAppContainer(spec, sandbox.id, 'wordpress', IMAGE);
  defer(t, 'sandbox.remove', () => sandbox.remove());
  defer(t, 'app.remove', () => app.remove());
  await api.patch(pod, { status: runningStatus([{ name: 'wordpress', id: app.id, image: 'docker.io/library/wordpress:4.8-apache', imageID: 'docker.io/library/wordpress@sha256:6216f64ab88fc51d311e38c7f69ca3f9aaba621492b4f1fa93ddf63093768845' }]) }, 'status');
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig: api.kubeconfig, holdMs: 3000, retryMs: 100, ...extra });
  defer(t, 'enricher.close', () => enricher.close());
  assert.equal(await enricher.waitForKubernetes(20_000), true);
  const ev = eventFor({ pid: app.pid, cgroupId: app.cgroupId, ...nsOf(app.pid) });
  return { ns, enricher, ev, pod: createdObject(created, 'Pod', ns, POD_NAME), uid };
}

const resolved = async (e: ArmorwatchEnricher, ev: FileEvent): Promise<Workload> => e.resolve(ev);
const ownedByDeployment = (s: Seed) => waitFor('the Deployment owner', async () => (await resolved(s.enricher, s.ev)).owner?.ref === 'Deployment');

test('the seed pod: Deployment owner via its ReplicaSet, Kubernetes labels, namespace posture, node labels', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const s = await seedCluster(t, api);
  await ownedByDeployment(s);
  const w = await resolved(s.enricher, s.ev);
  assert.equal(s.pod.metadata.labels?.['topology.kubernetes.io/zone'], ZONE['topology.kubernetes.io/zone'], 'the API server labelled the pod with its node\'s zone');
  assert.deepEqual(w, {
    kind: 'container',
    containerId: w.containerId,
    containerName: 'wordpress',
    containerImage: `${IMAGE}@${digest}`,
    namespace: s.ns,
    podName: POD_NAME,
    podUid: s.uid,
    labels: { app: 'wordpress', ...ZONE },
    owner: { ref: 'Deployment', name: 'wordpress', namespace: s.ns },
    namespaceFilePosture: 'block',
  });
  assert.match(w.containerId ?? '', /^[0-9a-f]{64}$/);
  const node = s.enricher.node();
  assert.equal(node.clusterName, 'default');
  assert.equal(node.hostName, NODE);
  assert.equal(node.labels['cloud.google.com/gke-nodepool'], 'default-pool');
  assert.equal(node.labels['kubearmor.io/hostname'], NODE);
});

test('relabelling a pod, a namespace or the node calls onChange and changes what resolves', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const s = await seedCluster(t, api);
  await ownedByDeployment(s);
  let calls = 0;
  s.enricher.onChange(() => { calls++; });
  await api.patch(s.pod, { metadata: { labels: { version: 'v2' } } });
  await waitFor('onChange after the pod relabel', () => calls > 0);
  await waitFor('the new pod label', async () => (await resolved(s.enricher, s.ev)).labels['version'] === 'v2');
  assert.deepEqual((await resolved(s.enricher, s.ev)).labels, { app: 'wordpress', version: 'v2', ...ZONE });
  const before = calls;
  await api.patch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.ns } }, { metadata: { annotations: { 'kubearmor-file-posture': 'audit' } } });
  await waitFor('onChange after the namespace annotation', () => calls > before);
  await waitFor('posture audit', async () => (await resolved(s.enricher, s.ev)).namespaceFilePosture === 'audit');
  assert.equal((await resolved(s.enricher, s.ev)).namespaceNetworkPosture, undefined, 'no network posture annotation yet');
  await api.patch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.ns } }, { metadata: { annotations: { 'kubearmor-network-posture': 'block' } } });
  await waitFor('network posture block', async () => (await resolved(s.enricher, s.ev)).namespaceNetworkPosture === 'block');
  assert.equal((await resolved(s.enricher, s.ev)).namespaceFilePosture, 'audit', 'the file posture is its own annotation');
  await api.patch({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } }, { metadata: { labels: { 'armorwatch.test/role': 'edge' } } });
  await waitFor('the new node label', () => s.enricher.node().labels['armorwatch.test/role'] === 'edge');
  // A label removed (merge patch null) is gone from what resolves.
  await api.patch(s.pod, { metadata: { labels: { version: null } } });
  await waitFor('the pod label removed', async () => (await resolved(s.enricher, s.ev)).labels['version'] === undefined);
});

test('with the API server stopped, events still resolve from the runtime; when it is back the informers follow changes again', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const s = await seedCluster(t, api);
  await ownedByDeployment(s);
  await api.stopApiServer();
  let restarted = false;
  t.after(async () => { if (!restarted) await api.startApiServer(); });
  // A pod the API server has never told us about: runtime metadata alone.
  const late = await runPod({ name: 'late-pod', namespace: s.ns, labels: { app: 'late' }, rootfs }, 'late', IMAGE);
  defer(t, 'late.remove', () => late.remove());
  const w = await resolved(s.enricher, eventFor({ pid: late.app.pid, cgroupId: late.app.cgroupId, ...nsOf(late.app.pid) }));
  assert.equal(w.podName, 'late-pod');
  assert.equal(w.namespace, s.ns);
  assert.equal(w.containerName, 'late');
  assert.deepEqual(w.labels, { app: 'late' });
  assert.equal(w.owner, undefined);
  // The known pod keeps what was last known.
  assert.equal((await resolved(s.enricher, s.ev)).owner?.name, 'wordpress');
  await waitFor('a failed watch restarted', () => (s.enricher.stats().kubernetes?.restarts ?? 0) > 0);

  await api.startApiServer();
  restarted = true;
  await api.patch(s.pod, { metadata: { labels: { rollout: 'after-outage' } } });
  // The client backs off between reconnects (up to 30 s), so this can take a while.
  await waitFor('the relabel made after the outage', async () => (await resolved(s.enricher, s.ev)).labels['rollout'] === 'after-outage', 60_000);
});

test('an expired resourceVersion (410 Gone after an etcd compaction) is recovered by a relist', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const s = await seedCluster(t, api);
  await ownedByDeployment(s);
  // A pod event first: the informer now holds a fresh resourceVersion and watches again without
  // backing off. Then writes elsewhere move etcd's revision past it, and etcd is compacted.
  await api.patch(s.pod, { metadata: { labels: { before: 'compaction' } } });
  await waitFor('the label before the compaction', async () => (await resolved(s.enricher, s.ev)).labels['before'] === 'compaction');
  for (let i = 0; i < 3; i++) await api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `filler-${i}`, namespace: s.ns }, data: { i: String(i) } });
  const restarts = s.enricher.stats().kubernetes?.restarts;
  const compactedAt = Date.now();
  await api.compact();
  const podLists = () => api.auditEvents().filter((e) => e.objectRef?.resource === 'pods' && e.verb === 'list' && e.objectRef.namespace === undefined
    && e.stage === 'ResponseComplete' && Date.parse(e.stageTimestamp) >= compactedAt);
  // The server ends each watch within seconds (--min-request-timeout=3); the next watch, from the
  // resourceVersion the informer holds, is answered 410 Gone, and the informer lists again.
  await waitFor('a relist of the pods after the compaction', () => podLists().length > 0, 60_000);
  assert.equal(s.enricher.stats().kubernetes?.restarts, restarts, 'the relist came from the 410, not from a failed watch');
  await api.patch(s.pod, { metadata: { labels: { after: 'relist' } } });
  await waitFor('a change after the relist', async () => (await resolved(s.enricher, s.ev)).labels['after'] === 'relist', 30_000);
});

test('StatefulSet, DaemonSet, CronJob (through its Job) and bare pods: the owner KubeArmor prints', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const ns = `owners-${++nsSeq}`;
  const node = { nodeName: NODE, containers: [{ name: 'main', image: 'docker.io/library/busybox:1.36' }] };
  const sel = (app: string) => ({ selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { containers: node.containers } } });
  const created = await putObjects(api, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: ns }, spec: { ...sel('db'), serviceName: 'db' } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'logs', namespace: ns }, spec: sel('logs') },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: ns }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: node.containers } } } } } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly-28010340', namespace: ns, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: '', controller: true }] } },
  ]);
  const pods: Array<{ name: string; owner?: [string, string]; expect: { ref: string; name: string } }> = [
    { name: 'db-0', owner: ['StatefulSet', 'db'], expect: { ref: 'StatefulSet', name: 'db' } },
    { name: 'logs-x2v9k', owner: ['DaemonSet', 'logs'], expect: { ref: 'DaemonSet', name: 'logs' } },
    { name: 'nightly-28010340-p4q8z', owner: ['Job', 'nightly-28010340'], expect: { ref: 'CronJob', name: 'nightly' } },
    { name: 'debug', expect: { ref: 'Pod', name: 'debug' } },
  ];
  const running: Array<{ ev: FileEvent; expect: { ref: string; name: string } }> = [];
  for (const p of pods) {
    const ownerReferences = p.owner === undefined ? undefined : [(() => {
      const o = createdObject(created, p.owner[0], ns, p.owner[1]);
      return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid!, controller: true };
    })()];
    await putObjects(api, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, namespace: ns, labels: { app: p.name }, ...(ownerReferences ? { ownerReferences } : {}) }, spec: node }], created);
    const pod = createdObject(created, 'Pod', ns, p.name);
    const r = await runPod({ name: p.name, namespace: ns, uid: pod.metadata.uid!, labels: { app: p.name }, rootfs }, 'main', IMAGE);
    defer(t, 'r.remove', () => r.remove());
    await api.patch(pod, { status: runningStatus([{ name: 'main', id: r.app.id, image: IMAGE, imageID: `${IMAGE.split(':')[0]}@${digest}` }]) }, 'status');
    running.push({ ev: eventFor({ pid: r.app.pid, cgroupId: r.app.cgroupId, ...nsOf(r.app.pid) }), expect: p.expect });
  }
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig: api.kubeconfig, holdMs: 3000, retryMs: 100 });
  defer(t, 'enricher.close', () => enricher.close());
  assert.equal(await enricher.waitForKubernetes(20_000), true);
  for (const r of running) {
    await waitFor(`owner ${r.expect.ref}`, async () => (await resolved(enricher, r.ev)).owner?.ref === r.expect.ref);
    assert.deepEqual((await resolved(enricher, r.ev)).owner, { ...r.expect, namespace: ns });
  }
});

test('without containerd, a pod container is named from the pod status; pods of other nodes are not listed', async (t) => {
  const api = ready(t);
  if (api === null) return;
  const ns = `batch-${++nsSeq}`;
  const created = await putObjects(api, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, ...inNamespace(loadFixture('batch.yaml'), ns)]);
  const batchPod = createdObject(created, 'Pod', ns, 'nightly-backup-28010340-x7k2p');
  const uid = batchPod.metadata.uid!;
  const id = '1f0e3d2c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
  // A process in the cgroup the kubelet would have made, with no runtime to ask about it.
  const cg = join(UNIFIED, `kubepods/besteffort/pod${uid}/${id}`);
  mkdirSync(cg, { recursive: true });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  writeFileSync(join(cg, 'cgroup.procs'), String(sleeper.pid));
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig: api.kubeconfig, holdMs: 3000, retryMs: 100, containerdSocket: join(dir, 'no-containerd.sock') });
  t.after(async () => {
    await enricher.close();
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    rmdirSync(cg);
    rmdirSync(join(cg, '..'));
  });
  assert.equal(await enricher.waitForKubernetes(20_000), true);
  const { id: cgroupId } = await cgroupOf(sleeper.pid!);
  const ev = eventFor({ pid: sleeper.pid!, cgroupId, mntNs: 1, pidNs: 1, netNs: 1 });
  await waitFor('the CronJob owner', async () => (await resolved(enricher, ev)).owner?.ref === 'CronJob');
  const w = await resolved(enricher, ev);
  assert.equal(w.podName, 'nightly-backup-28010340-x7k2p');
  assert.equal(w.containerName, 'backup');
  assert.equal(w.containerImage, 'docker.io/library/busybox:1.36@sha256:b5d6fe0712636ceb7430189de28819e195e8966372edfc2d9409d79402a0dc16');
  assert.deepEqual(w.owner, { ref: 'CronJob', name: 'nightly-backup', namespace: ns });
  assert.deepEqual(w.labels, { 'batch.kubernetes.io/job-name': 'nightly-backup-28010340', 'job-name': 'nightly-backup-28010340', ...ZONE });
  assert.ok(enricher.stats().lookupFailures >= 1, 'the failed runtime lookup is counted');
  // mysql-0 runs on another node: the agent's field selector keeps it out.
  const count = async (query: string) => (await api.ok<{ items: unknown[] }>('GET', `/api/v1/pods${query}`)).items.length;
  const all = await count('');
  const onNode = await count(`?fieldSelector=spec.nodeName%3D${NODE}`);
  assert.ok(all > onNode, `the server holds ${all} pods, ${onNode} of them on ${NODE}`);
  await waitFor('every pod of the node listed', () => enricher.stats().kubernetes?.pods === onNode);
});
