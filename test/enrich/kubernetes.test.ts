// The enricher with Kubernetes metadata from the stand-in API server (test/k8s-api/server.ts), on
// top of real containerd containers: owner, node labels, namespace posture, live relabelling, and
// an API server that goes away and comes back with its history compacted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher, type ArmorwatchEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeApiServer } from '../k8s-api/server.ts';
import { findObject, loadFixture } from '../k8s-api/fixtures.ts';
import {
  buildBusyboxRootfs, containerdUnavailableReason, importBusyboxImage, needsContainerd, nsOf, removeContainer,
  runAppContainer, runPod, runSandbox, startContainerd, cgroupOf, UNIFIED,
} from '../helpers/containerd.ts';
import { eventFor } from './event.ts';
import type { FileEvent, Workload } from '../../src/types.ts';
import { defer } from '../helpers/cleanup.ts';

const IMAGE = 'docker.io/armorwatch/busybox:1.36';
const NODE = 'gke-cluster-1-default-pool-37f4c896-8cn6';
const SEED_ID = '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44';
const WORDPRESS = loadFixture('wordpress.yaml');
const POD = findObject(WORDPRESS, 'Pod', 'wordpress-7c966b5d85-wvtln');
const POD_UID = POD.metadata.uid!;

let daemon: Awaited<ReturnType<typeof startContainerd>> | null = null;
let rootfs = '';
let digest = '';
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-enrich-k8s-'));
  if (containerdUnavailableReason() !== null) return;
  daemon = await startContainerd();
  rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
  digest = await importBusyboxImage(IMAGE);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await daemon?.stop();
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** API server with the seed's objects, the seed's pod running in containerd, and an enricher on both. */
async function seedCluster(t: import('node:test').TestContext, extra: Partial<Parameters<typeof createEnricher>[0]> = {}) {
  const api = new FakeApiServer();
  await api.start();
  for (const o of WORDPRESS) api.add(o);
  const kubeconfig = join(dir, `kubeconfig-${api.port}`);
  api.writeKubeconfig(kubeconfig);
  await removeContainer(SEED_ID); // left over from an interrupted run
  const spec = { name: 'wordpress-7c966b5d85-wvtln', namespace: 'wordpress-mysql', uid: POD_UID, rootfs,
    // What the runtime recorded at start; Kubernetes' current labels must win over it.
    labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85', tier: 'recorded-at-start' } };
  const sandbox = await runSandbox(spec);
  const app = await runAppContainer(spec, sandbox.id, 'wordpress', IMAGE, undefined, SEED_ID);
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig, holdMs: 3000, retryMs: 100, ...extra });
  defer(t, 'sandbox.remove', () => sandbox.remove());
  defer(t, 'app.remove', () => app.remove());
  defer(t, 'api.stop', () => api.stop());
  defer(t, 'enricher.close', () => enricher.close());
  assert.equal(await enricher.waitForKubernetes(10_000), true);
  const ev = eventFor({ pid: app.pid, cgroupId: app.cgroupId, ...nsOf(app.pid) });
  return { api, enricher, ev, sandbox, spec };
}

const resolved = async (e: ArmorwatchEnricher, ev: FileEvent): Promise<Workload> => e.resolve(ev);

test('the seed pod: Deployment owner via its ReplicaSet, Kubernetes labels, namespace posture, node labels', async (t) => {
  if (!needsContainerd(t)) return;
  const { enricher, ev } = await seedCluster(t);
  await waitFor(async () => (await resolved(enricher, ev)).owner?.ref === 'Deployment');
  assert.deepEqual(await resolved(enricher, ev), {
    kind: 'container',
    containerId: SEED_ID,
    containerName: 'wordpress',
    containerImage: `${IMAGE}@${digest}`,
    namespace: 'wordpress-mysql',
    podName: 'wordpress-7c966b5d85-wvtln',
    podUid: POD_UID,
    labels: { app: 'wordpress' },
    owner: { ref: 'Deployment', name: 'wordpress', namespace: 'wordpress-mysql' },
    namespaceFilePosture: 'block',
  });
  const node = enricher.node();
  assert.equal(node.clusterName, 'default');
  assert.equal(node.hostName, NODE);
  assert.equal(node.labels['cloud.google.com/gke-nodepool'], 'default-pool');
  assert.equal(node.labels['kubearmor.io/hostname'], NODE);
});

test('relabelling a pod, a namespace or the node calls onChange and changes what resolves', async (t) => {
  if (!needsContainerd(t)) return;
  const { api, enricher, ev } = await seedCluster(t);
  await waitFor(async () => (await resolved(enricher, ev)).owner?.ref === 'Deployment');
  let calls = 0;
  enricher.onChange(() => { calls++; });
  const pod = structuredClone(POD);
  pod.metadata.labels = { ...pod.metadata.labels, version: 'v2' };
  api.update(pod);
  await waitFor(() => calls > 0);
  assert.deepEqual((await resolved(enricher, ev)).labels, { app: 'wordpress', version: 'v2' });
  const before = calls;
  const ns = findObject(WORDPRESS, 'Namespace', 'wordpress-mysql');
  ns.metadata.annotations!['kubearmor-file-posture'] = 'audit';
  api.update(ns);
  await waitFor(() => calls > before);
  assert.equal((await resolved(enricher, ev)).namespaceFilePosture, 'audit');
  const node = findObject(WORDPRESS, 'Node', NODE);
  node.metadata.labels = { ...node.metadata.labels, 'armorwatch.test/role': 'edge' };
  api.update(node);
  await waitFor(() => enricher.node().labels['armorwatch.test/role'] === 'edge');
});

test('with the API server gone, events still resolve; when it returns with compacted history the client relists', async (t) => {
  if (!needsContainerd(t)) return;
  const { api, enricher, ev, spec } = await seedCluster(t);
  await waitFor(async () => (await resolved(enricher, ev)).owner?.ref === 'Deployment');
  await api.stop();
  // A pod the API server has never told us about: runtime metadata alone.
  const late = await runPod({ name: 'late-pod', namespace: 'wordpress-mysql', labels: { app: 'late' }, rootfs }, 'late', IMAGE);
  defer(t, 'late.remove', () => late.remove());
  const w = await resolved(enricher, eventFor({ pid: late.app.pid, cgroupId: late.app.cgroupId, ...nsOf(late.app.pid) }));
  assert.equal(w.podName, 'late-pod');
  assert.equal(w.namespace, 'wordpress-mysql');
  assert.equal(w.containerName, 'late');
  assert.deepEqual(w.labels, { app: 'late' });
  assert.equal(w.owner, undefined);
  // The known pod keeps what was last known.
  assert.equal((await resolved(enricher, ev)).owner?.name, 'wordpress');
  assert.equal(spec.labels.tier, 'recorded-at-start');

  const pod = structuredClone(POD);
  pod.metadata.labels = { app: 'wordpress', rollout: 'after-outage' };
  api.update(pod);
  api.compact();
  const seenBefore = api.requests.length;
  await api.start();
  await waitFor(async () => (await resolved(enricher, ev)).labels['rollout'] === 'after-outage');
  const after = api.requests.slice(seenBefore).filter((r) => r.startsWith('GET /api/v1/pods?'));
  const relist = after.findIndex((r) => !r.includes('watch=true'));
  assert.ok(after.some((r, i) => r.includes('watch=true') && /resourceVersion=\d+/.test(r) && i < relist), `an expired watch came before the relist: ${after.join(' | ')}`);
  assert.ok(relist >= 0, 'the pods were listed again');
  assert.ok((enricher.stats().kubernetes?.restarts ?? 0) > 0, 'the watches were restarted');
});

test('without containerd, a pod container is named from the pod status; a Job pod is owned by its CronJob', async (t) => {
  if (!needsContainerd(t)) return;
  const api = new FakeApiServer();
  await api.start();
  for (const o of [...WORDPRESS, ...loadFixture('batch.yaml')]) api.add(o);
  const kubeconfig = join(dir, `kubeconfig-${api.port}`);
  api.writeKubeconfig(kubeconfig);
  const batchPod = findObject(loadFixture('batch.yaml'), 'Pod', 'nightly-backup-28010340-x7k2p');
  const uid = batchPod.metadata.uid!;
  const id = '1f0e3d2c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
  // A process in the cgroup the kubelet would have made, with no runtime to ask about it.
  const cg = join(UNIFIED, `kubepods/besteffort/pod${uid}/${id}`);
  mkdirSync(cg, { recursive: true });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  writeFileSync(join(cg, 'cgroup.procs'), String(sleeper.pid));
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig, holdMs: 3000, retryMs: 100, containerdSocket: join(dir, 'no-containerd.sock') });
  t.after(async () => {
    await enricher.close();
    await api.stop();
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    rmdirSync(cg);
    rmdirSync(join(cg, '..'));
  });
  assert.equal(await enricher.waitForKubernetes(10_000), true);
  const { id: cgroupId } = await cgroupOf(sleeper.pid!);
  const ev = eventFor({ pid: sleeper.pid!, cgroupId, mntNs: 1, pidNs: 1, netNs: 1 });
  await waitFor(async () => (await resolved(enricher, ev)).owner?.ref === 'CronJob');
  const w = await resolved(enricher, ev);
  assert.equal(w.podName, 'nightly-backup-28010340-x7k2p');
  assert.equal(w.containerName, 'backup');
  assert.equal(w.containerImage, 'docker.io/library/busybox:1.36@sha256:b5d6fe0712636ceb7430189de28819e195e8966372edfc2d9409d79402a0dc16');
  assert.deepEqual(w.owner, { ref: 'CronJob', name: 'nightly-backup', namespace: 'wordpress-mysql' });
  assert.deepEqual(w.labels, { 'batch.kubernetes.io/job-name': 'nightly-backup-28010340', 'job-name': 'nightly-backup-28010340' });
  assert.ok(enricher.stats().lookupFailures >= 1, 'the failed runtime lookup is counted');
  // Pods of other nodes are not watched.
  assert.equal(enricher.stats().kubernetes?.pods, 2);
});
