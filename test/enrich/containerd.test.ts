// The enricher against a real containerd, with no Kubernetes API at all: everything it reports
// comes from the kernel's cgroup id, /proc, and what CRI records on the containers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import {
  buildBusyboxRootfs, containerdUnavailableReason, importBusyboxImage, needsContainerd, nsOf, runPod,
  runAppContainer, runSandbox, startContainerd, removeContainer, cgroupOf,
} from '../helpers/containerd.ts';
import { eventFor } from './event.ts';
import { defer } from '../helpers/cleanup.ts';

const IMAGE = 'docker.io/armorwatch/busybox:1.36';
let daemon: Awaited<ReturnType<typeof startContainerd>> | null = null;
let rootfs = '';
let digest = '';

before(async () => {
  if (containerdUnavailableReason() !== null) return;
  daemon = await startContainerd();
  rootfs = buildBusyboxRootfs(mkdtempSync(join(tmpdir(), 'aw-rootfs-')));
  digest = await importBusyboxImage(IMAGE);
});
after(async () => {
  if (rootfs !== '') rmSync(rootfs, { recursive: true, force: true });
  await daemon?.stop();
});

const enricherFor = (extra: Partial<Parameters<typeof createEnricher>[0]> = {}) =>
  createEnricher({ logger: silentLogger, nodeName: 'node-a', kubernetes: 'off', holdMs: 3000, ...extra });

test('a pod container resolves to its name, image with digest, pod and pod labels from containerd alone', async (t) => {
  if (!needsContainerd(t)) return;
  const pod = await runPod({ name: 'wordpress-7c966b5d85-wvtln', namespace: 'wordpress-mysql', labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85' }, rootfs }, 'wordpress', IMAGE);
  const enricher = enricherFor();
  defer(t, 'pod.remove', () => pod.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const w = await enricher.resolve(eventFor({ pid: pod.app.pid, cgroupId: pod.app.cgroupId, ...nsOf(pod.app.pid) }));
  assert.deepEqual(w, {
    kind: 'container',
    containerId: pod.app.id,
    containerName: 'wordpress',
    containerImage: `${IMAGE}@${digest}`,
    namespace: 'wordpress-mysql',
    podName: 'wordpress-7c966b5d85-wvtln',
    podUid: pod.uid,
    labels: { app: 'wordpress' },
  });
});

test('a process in the host namespaces is a host process, even in a container-looking cgroup', async (t) => {
  if (!needsContainerd(t)) return;
  const pod = await runPod({ name: 'odd', namespace: 'default', labels: {}, rootfs }, 'main', IMAGE);
  // The agent compares with pid 1's namespaces; this sandbox hides them, so stand in our own.
  const proc = mkdtempSync(join(tmpdir(), 'aw-proc-'));
  mkdirSync(join(proc, '1/ns'), { recursive: true });
  symlinkSync('/proc/self/ns/mnt', join(proc, '1/ns/mnt'));
  symlinkSync('/proc/self/ns/pid', join(proc, '1/ns/pid'));
  const enricher = enricherFor({ procRoot: proc });
  defer(t, 'remove proc', () => rmSync(proc, { recursive: true, force: true }));
  defer(t, 'pod.remove', () => pod.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const w = await enricher.resolve(eventFor({ pid: process.pid, cgroupId: pod.app.cgroupId, ...nsOf(process.pid) }));
  assert.deepEqual(w, { kind: 'host', labels: {} });
  // The same cgroup from inside the container's namespaces is the container.
  const inside = await enricher.resolve(eventFor({ pid: pod.app.pid, cgroupId: pod.app.cgroupId, ...nsOf(pod.app.pid) }));
  assert.equal(inside.podName, 'odd');
});

test('a host process in a host cgroup is a host process', async (t) => {
  if (!needsContainerd(t)) return;
  const enricher = enricherFor();
  defer(t, 'enricher.close', () => enricher.close());
  const self = await cgroupOf(process.pid);
  const w = await enricher.resolve(eventFor({ pid: process.pid, cgroupId: self.id, ...nsOf(process.pid) }));
  assert.deepEqual(w, { kind: 'host', labels: {} });
});

test("a fresh container's first event is held until its pod is known, then served from cache", async (t) => {
  if (!needsContainerd(t)) return;
  const enricher = enricherFor(); // cold: nothing cached, nothing listed
  const uid = '0f5e8a3c-1b2d-4e6f-9a8b-7c6d5e4f3a21';
  const spec = { name: 'fresh-pod', namespace: 'default', uid, labels: { app: 'fresh' }, rootfs };
  const sandbox = await runSandbox(spec);
  const app = await runAppContainer(spec, sandbox.id, 'main', IMAGE);
  defer(t, 'sandbox.remove', () => sandbox.remove());
  defer(t, 'app.remove', () => app.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const ev = eventFor({ pid: app.pid, cgroupId: app.cgroupId, ...nsOf(app.pid) });
  const first = enricher.resolve(ev);
  assert.ok(first instanceof Promise, 'an unknown cgroup is looked up, not answered at once');
  const w = await first;
  assert.equal(w.podName, 'fresh-pod');
  assert.equal(w.containerName, 'main');
  assert.deepEqual(w.labels, { app: 'fresh' });
  const again = enricher.resolve(ev);
  assert.ok(!(again instanceof Promise), 'the second event of the same cgroup is answered from cache');
  assert.equal(again.podName, 'fresh-pod');
  assert.equal(enricher.stats().unattributed, 0);
});

test('concurrent events of one unknown cgroup share one lookup', async (t) => {
  if (!needsContainerd(t)) return;
  const pod = await runPod({ name: 'burst', namespace: 'default', labels: { app: 'burst' }, rootfs }, 'main', IMAGE);
  const enricher = enricherFor();
  defer(t, 'pod.remove', () => pod.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const ev = eventFor({ pid: pod.app.pid, cgroupId: pod.app.cgroupId, ...nsOf(pod.app.pid) });
  const pending = Array.from({ length: 20 }, () => enricher.resolve(ev));
  assert.equal(enricher.stats().pendingLookups, 1);
  const all = await Promise.all(pending);
  assert.ok(all.every((w) => w.podName === 'burst'));
});

test('an event whose process already exited is still attributed (cgroup found by its inode)', async (t) => {
  if (!needsContainerd(t)) return;
  const pod = await runPod({ name: 'gone', namespace: 'default', labels: { app: 'gone' }, rootfs }, 'main', IMAGE);
  const enricher = enricherFor();
  defer(t, 'pod.remove', () => pod.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const ns = nsOf(pod.app.pid);
  const w = await enricher.resolve(eventFor({ pid: 4_194_000, cgroupId: pod.app.cgroupId, ...ns })); // no such pid
  assert.equal(w.podName, 'gone');
  assert.equal(w.containerId, pod.app.id);
});

test('a container that is deleted is forgotten', async (t) => {
  if (!needsContainerd(t)) return;
  const pod = await runPod({ name: 'shortlived', namespace: 'default', labels: {}, rootfs }, 'main', IMAGE);
  const enricher = enricherFor();
  defer(t, 'pod.remove', () => pod.remove());
  defer(t, 'enricher.close', () => enricher.close());
  await enricher.resolve(eventFor({ pid: pod.app.pid, cgroupId: pod.app.cgroupId, ...nsOf(pod.app.pid) }));
  assert.equal(enricher.stats().containers, 1);
  await removeContainer(pod.app.id);
  await waitFor(() => enricher.stats().containers === 0 && enricher.stats().cgroups === 0);
});

test('running containers: each with its pod labels and a process whose root is the container\'s; a container start is announced with its id', async (t) => {
  if (!needsContainerd(t)) return;
  const enricher = enricherFor();
  defer(t, 'enricher.close', () => enricher.close());
  const started: string[] = [];
  enricher.onContainerStart((id) => started.push(id));
  await new Promise((r) => setTimeout(r, 500)); // the event stream is subscribed
  const pod = await runPod({ name: 'listed', namespace: 'default', labels: { app: 'listed' }, rootfs }, 'main', IMAGE);
  defer(t, 'pod.remove', () => pod.remove());
  await waitFor(() => started.includes(pod.app.id) && started.includes(pod.sandbox.id));
  const running = await enricher.running();
  const app = running.find((c) => c.workload.containerId === pod.app.id);
  assert.ok(app, `the app container is listed among ${running.length}`);
  assert.equal(app.workload.labels['app'], 'listed');
  assert.equal(app.workload.containerName, 'main');
  // Its process's root is the container's own: the image's /bin/busybox, not the host's /.
  assert.equal(readlinkSync(`/proc/${app.pid}/root`), '/');
  assert.ok(existsSync(`/proc/${app.pid}/root/bin/busybox`));
  assert.notEqual(statSync(`/proc/${app.pid}/root/bin`).ino, statSync('/bin').ino);
});

test('churn: 200 containers started and stopped leave the caches at their baseline', async (t) => {
  if (!needsContainerd(t)) return;
  const uid = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  const spec = { name: 'churn', namespace: 'default', uid, labels: { app: 'churn' }, rootfs };
  const sandbox = await runSandbox(spec);
  const enricher = enricherFor();
  defer(t, 'sandbox.remove', () => sandbox.remove());
  defer(t, 'enricher.close', () => enricher.close());
  const baseline = enricher.stats();
  let peak = 0;
  const one = async () => {
    const c = await runAppContainer(spec, sandbox.id, 'worker', IMAGE);
    try {
      const w = await enricher.resolve(eventFor({ pid: c.pid, cgroupId: c.cgroupId, ...nsOf(c.pid) }));
      assert.equal(w.podName, 'churn');
      peak = Math.max(peak, enricher.stats().containers);
    } finally {
      await c.remove();
    }
  };
  for (let i = 0; i < 200; i += 4) {
    await Promise.all([one(), one(), one(), one()]);
  }
  assert.ok(peak >= 1, 'containers were cached while running');
  await waitFor(() => { const s = enricher.stats(); return s.containers === baseline.containers && s.cgroups === baseline.cgroups; }, 10_000);
  const s = enricher.stats();
  assert.equal(s.workloads, baseline.workloads);
  assert.equal(s.pendingLookups, 0);
  assert.equal(s.timers, 0, 'no hold timers left behind');
  assert.equal(s.unattributed, 0);
  assert.equal(s.images, 1, 'one image, cached once');
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
