// The stand-in API server, exercised through @kubernetes/client-node as the agent uses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, Watch, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { FakeApiServer } from './server.ts';
import { loadFixture, findObject } from './fixtures.ts';
import { defer } from '../helpers/cleanup.ts';

async function setup(t: import('node:test').TestContext) {
  const api = new FakeApiServer();
  await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'aw-k8s-'));
  api.writeKubeconfig(join(dir, 'kubeconfig'));
  const kc = new KubeConfig();
  kc.loadFromFile(join(dir, 'kubeconfig'));
  defer(t, 'remove dir', () => rmSync(dir, { recursive: true, force: true }));
  defer(t, 'api.stop', () => api.stop());
  for (const o of [...loadFixture('wordpress.yaml'), ...loadFixture('batch.yaml')]) api.add(o);
  return { api, kc };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('lists pods of one node with a field selector, with a list resourceVersion', async (t) => {
  const { api, kc } = await setup(t);
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=gke-cluster-1-default-pool-37f4c896-8cn6' });
  assert.deepEqual(list.items.map((p) => p.metadata?.name).sort(), ['nightly-backup-28010340-x7k2p', 'wordpress-7c966b5d85-wvtln']);
  assert.equal(list.metadata?.resourceVersion, String(api.resourceVersion));
  const nodes = await core.listNode({ fieldSelector: 'metadata.name=gke-cluster-1-default-pool-37f4c896-8cn6' });
  assert.equal(nodes.items.length, 1);
  assert.equal(nodes.items[0]!.metadata?.labels?.['cloud.google.com/gke-nodepool'], 'default-pool');
});

test('label selectors: =, !=, in, notin, exists, !exists', async (t) => {
  const { kc } = await setup(t);
  const core = kc.makeApiClient(CoreV1Api);
  const names = async (labelSelector: string) =>
    (await core.listNamespacedPod({ namespace: 'wordpress-mysql', labelSelector })).items.map((p) => p.metadata?.name).sort();
  assert.deepEqual(await names('app=wordpress'), ['wordpress-7c966b5d85-wvtln']);
  assert.deepEqual(await names('app!=wordpress'), ['mysql-0', 'nightly-backup-28010340-x7k2p']);
  assert.deepEqual(await names('app in (mysql,wordpress)'), ['mysql-0', 'wordpress-7c966b5d85-wvtln']);
  assert.deepEqual(await names('app notin (mysql),job-name'), ['nightly-backup-28010340-x7k2p']);
  assert.deepEqual(await names('!app'), ['nightly-backup-28010340-x7k2p']);
  await assert.rejects(core.listNamespacedPod({ namespace: 'wordpress-mysql', labelSelector: 'app in mysql' }), /400/);
});

test('single-object GET of a namespaced ReplicaSet, and 404 for a missing one', async (t) => {
  const { kc } = await setup(t);
  const apps = kc.makeApiClient(AppsV1Api);
  const rs = await apps.readNamespacedReplicaSet({ name: 'wordpress-7c966b5d85', namespace: 'wordpress-mysql' });
  assert.equal(rs.metadata?.ownerReferences?.[0]?.kind, 'Deployment');
  assert.equal(rs.metadata?.ownerReferences?.[0]?.controller, true);
  await assert.rejects(apps.readNamespacedReplicaSet({ name: 'nope', namespace: 'wordpress-mysql' }), /404/);
});

test('a watch from a resourceVersion streams later changes; selector changes become ADDED/DELETED', async (t) => {
  const { api, kc } = await setup(t);
  const rv = api.resourceVersion;
  const pod = findObject(loadFixture('wordpress.yaml'), 'Pod', 'wordpress-7c966b5d85-wvtln');
  pod.metadata.labels = { app: 'wordpress', tier: 'frontend' };
  api.update(pod);
  const events: string[] = [];
  const ctl = await new Watch(kc).watch('/api/v1/namespaces/wordpress-mysql/pods', { resourceVersion: String(rv), labelSelector: 'tier=frontend' },
    (type, obj: V1Pod) => events.push(`${type} ${obj.metadata?.name}`), () => {});
  defer(t, 'ctl.abort', () => ctl.abort());
  await until(() => events.length === 1);
  pod.metadata.labels = { app: 'wordpress' };
  api.update(pod);
  await until(() => events.length === 2);
  assert.deepEqual(events, ['ADDED wordpress-7c966b5d85-wvtln', 'DELETED wordpress-7c966b5d85-wvtln']);
});

test('a watch from a compacted resourceVersion gets an ERROR event with a 410 Expired Status', async (t) => {
  const { api, kc } = await setup(t);
  const old = api.resourceVersion - 1;
  api.compact();
  const events: Array<{ type: string; obj: { code?: number; reason?: string } }> = [];
  let ended = false;
  await new Watch(kc).watch('/api/v1/pods', { resourceVersion: String(old) }, (type, obj) => events.push({ type, obj }), () => { ended = true; });
  await until(() => ended);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'ERROR');
  assert.equal(events[0]!.obj.code, 410);
  assert.equal(events[0]!.obj.reason, 'Expired');
});

test('an informer relists after the server comes back with compacted history', async (t) => {
  const { api, kc } = await setup(t);
  const core = kc.makeApiClient(CoreV1Api);
  const inf = makeInformer(kc, '/api/v1/namespaces', () => core.listNamespace());
  const seen = new Set<string>();
  inf.on('add', (n) => seen.add(n.metadata?.name ?? ''));
  let done = false;
  inf.on('error', () => setTimeout(() => { if (!done) void inf.start(); }, 100));
  t.after(() => { done = true; return inf.stop(); });
  await inf.start();
  await until(() => seen.has('wordpress-mysql'));
  await api.stop();
  api.add({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'added-while-down' } });
  api.compact();
  await api.start();
  await until(() => seen.has('added-while-down'));
  assert.ok(api.requests.filter((r) => r.startsWith('GET /api/v1/namespaces?') || r === 'GET /api/v1/namespaces').length >= 2, 'listed again');
});

test('a list at an exact resourceVersion older than the compacted history is 410 Gone', async (t) => {
  const { api } = await setup(t);
  const old = api.resourceVersion - 1;
  api.compact();
  const res = await fetch(`${api.url}/api/v1/pods?resourceVersion=${old}&resourceVersionMatch=Exact`);
  assert.equal(res.status, 410);
  const body = await res.json() as { kind: string; code: number; reason: string };
  assert.deepEqual([body.kind, body.code, body.reason], ['Status', 410, 'Expired']);
  assert.equal((await fetch(`${api.url}/api/v1/pods?resourceVersion=${api.resourceVersion}&resourceVersionMatch=Exact`)).status, 200);
});

test('watches that allow bookmarks receive BOOKMARK events with the current resourceVersion', async (t) => {
  const { api, kc } = await setup(t);
  const events: Array<{ type: string; rv: string | undefined }> = [];
  const ctl = await new Watch(kc).watch('/api/v1/namespaces', { allowWatchBookmarks: true, resourceVersion: String(api.resourceVersion) },
    (type, obj: { metadata?: { resourceVersion?: string } }) => events.push({ type, rv: obj.metadata?.resourceVersion }), () => {});
  defer(t, 'ctl.abort', () => ctl.abort());
  await until(() => api.openWatches === 1);
  api.bookmark();
  await until(() => events.length === 1);
  assert.deepEqual(events, [{ type: 'BOOKMARK', rv: String(api.resourceVersion) }]);
});
