import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeInfo, withDigest, imageReference, podLabelsFrom } from '../../src/enrich/runtime.ts';
import type { ContainerRecord } from '../../src/enrich/containerd.ts';
import { findCgroup2Mount } from '../../src/enrich/cgroup.ts';
import { Lru } from '../../src/enrich/lru.ts';
import { decodeFirstStringField } from '../../src/enrich/containerd-proto.ts';
import { createEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';

const ID = '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44';
const SANDBOX = 'a1'.repeat(32);
const DIGEST = 'sha256:6216f64ab88fc51d311e38c7f69ca3f9aaba621492b4f1fa93ddf63093768845';

// Labels and annotations as containerd's CRI plugin records them on a pod's two containers.
const sandbox: ContainerRecord = {
  id: SANDBOX, image: 'registry.k8s.io/pause:3.6',
  labels: {
    app: 'wordpress', 'pod-template-hash': '7c966b5d85', 'io.cri-containerd.kind': 'sandbox',
    'io.kubernetes.pod.name': 'wordpress-7c966b5d85-wvtln', 'io.kubernetes.pod.namespace': 'wordpress-mysql', 'io.kubernetes.pod.uid': '9e1b7c34-2d5a-4f86-b0e3-6c4a8d2f1b97',
  },
  annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': SANDBOX },
};
const app: ContainerRecord = {
  id: ID, image: 'docker.io/library/wordpress:4.8-apache',
  labels: {
    'io.cri-containerd.kind': 'container', 'io.kubernetes.container.name': 'wordpress',
    'io.kubernetes.pod.name': 'wordpress-7c966b5d85-wvtln', 'io.kubernetes.pod.namespace': 'wordpress-mysql', 'io.kubernetes.pod.uid': '9e1b7c34-2d5a-4f86-b0e3-6c4a8d2f1b97',
  },
  annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': SANDBOX, 'io.kubernetes.cri.container-name': 'wordpress' },
};

test('runtime info of an app container takes the pod labels from its sandbox', () => {
  assert.deepEqual(runtimeInfo(app, sandbox, withDigest('docker.io/library/wordpress:4.8-apache', DIGEST)), {
    containerId: ID, containerName: 'wordpress', image: `docker.io/library/wordpress:4.8-apache@${DIGEST}`,
    podName: 'wordpress-7c966b5d85-wvtln', podNamespace: 'wordpress-mysql', podUid: '9e1b7c34-2d5a-4f86-b0e3-6c4a8d2f1b97',
    sandboxId: SANDBOX, containerType: 'container', podLabels: { app: 'wordpress' },
  });
});

test('runtime info falls back to CRI annotations when the kubelet labels are missing', () => {
  const bare: ContainerRecord = { id: ID, image: '', labels: {}, annotations: {
    'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'web',
    'io.kubernetes.cri.sandbox-name': 'web-0', 'io.kubernetes.cri.sandbox-namespace': 'shop', 'io.kubernetes.cri.sandbox-uid': 'u-1',
    'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1.25',
  } };
  const info = runtimeInfo(bare, null, imageReference(bare));
  assert.equal(info.containerName, 'web');
  assert.equal(info.podName, 'web-0');
  assert.equal(info.podNamespace, 'shop');
  assert.equal(info.podUid, 'u-1');
  assert.equal(info.image, 'docker.io/library/nginx:1.25');
  assert.deepEqual(info.podLabels, {});
});

test('a container that is not from Kubernetes has no pod', () => {
  const plain: ContainerRecord = { id: ID, image: 'docker.io/library/redis:7', labels: { maintainer: 'x' }, annotations: {} };
  const info = runtimeInfo(plain, null, imageReference(plain));
  assert.equal(info.podName, undefined);
  assert.equal(info.containerName, undefined);
  assert.equal(info.image, 'docker.io/library/redis:7');
});

test('image with digest: appended once, never to an image id or an already pinned reference', () => {
  assert.equal(withDigest('docker.io/library/wordpress:4.8-apache', DIGEST), `docker.io/library/wordpress:4.8-apache@${DIGEST}`);
  assert.equal(withDigest(`docker.io/library/wordpress@${DIGEST}`, 'sha256:00'), `docker.io/library/wordpress@${DIGEST}`);
  assert.equal(withDigest('sha256:0123', DIGEST), 'sha256:0123');
  assert.equal(withDigest('docker.io/library/wordpress:4.8-apache', null), 'docker.io/library/wordpress:4.8-apache');
});

test('pod labels leave out CRI system labels and controller bookkeeping', () => {
  assert.deepEqual(podLabelsFrom({ app: 'a', 'pod-template-hash': 'h', 'controller-revision-hash': 'r', 'io.kubernetes.pod.name': 'p', 'io.cri-containerd.kind': 'sandbox', 'kubearmor.io/x': 'y' }), { app: 'a', 'kubearmor.io/x': 'y' });
});

test('cgroup2 mount found from mountinfo on unified and hybrid hosts, none on pure v1', () => {
  const hybrid = [
    '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
    '32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  ].join('\n');
  assert.equal(findCgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(findCgroup2Mount('35 25 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate'), '/sys/fs/cgroup');
  assert.equal(findCgroup2Mount('32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'), null);
});

test('LRU keeps at most its capacity and forgets the least recently used', () => {
  const lru = new Lru<string, number>(2);
  lru.set('a', 1); lru.set('b', 2);
  lru.get('a');
  lru.set('c', 3);
  assert.equal(lru.size, 2);
  assert.equal(lru.peek('b'), undefined);
  assert.equal(lru.peek('a'), 1);
  assert.equal(lru.evictions, 1);
  assert.throws(() => new Lru(0), /positive integer/);
});

test('the id of a containerd ContainerDelete event is read from its first field', () => {
  // containerd.events.ContainerDelete{id: "abc"}: tag 0x0a, length 3.
  assert.equal(decodeFirstStringField(Uint8Array.from([0x0a, 3, 0x61, 0x62, 0x63])), 'abc');
  assert.equal(decodeFirstStringField(Uint8Array.from([])), null);
});

test('enricher options are checked up front', () => {
  assert.throws(() => createEnricher({ logger: silentLogger, nodeName: '' }), /nodeName must not be empty/);
  assert.throws(() => createEnricher({ logger: silentLogger, nodeName: 'n', holdMs: -1 }), /holdMs must be an integer >= 0, got -1/);
  assert.throws(() => createEnricher({ logger: silentLogger, nodeName: 'n', cacheSize: 0.5 }), /cacheSize must be an integer >= 1/);
  assert.throws(() => createEnricher({ logger: silentLogger, nodeName: 'n', kubeconfig: '/nonexistent/kubeconfig' }), /kubeconfig \/nonexistent\/kubeconfig: /);
});
