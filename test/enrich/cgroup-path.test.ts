import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath, identityFromProcCgroup, cgroupPathFromProc } from '../../src/enrich/cgroup-path.ts';

const ID = '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44';
const UID = '2c9ad1f4-9a0e-4b3d-8f1e-6a7b8c9d0e1f';
const UID_ = UID.replaceAll('-', '_');
const STATIC_UID = '5b7b0c3b7d1e4f2a9c8d7e6f5a4b3c2d';

// Paths as they appear in /proc/<pid>/cgroup on real nodes, one per runtime × driver.
const CASES: ReadonlyArray<readonly [string, string, { runtime: string; podUid: string | null } | null]> = [
  ['containerd, systemd, besteffort', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: UID }],
  ['containerd, systemd, burstable', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: UID }],
  ['containerd, systemd, guaranteed', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: UID }],
  ['containerd, systemd, static pod', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: STATIC_UID }],
  ['containerd, cgroupfs, besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, { runtime: 'unknown', podUid: UID }],
  ['containerd, cgroupfs, guaranteed', `/kubepods/pod${UID}/${ID}`, { runtime: 'unknown', podUid: UID }],
  ['containerd, runc-managed systemd path (kind)', `/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`, { runtime: 'containerd', podUid: UID }],
  ['containerd, under a cgroup namespace', `/../../kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: UID }],
  ['containerd, k3s kubelet slice', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', podUid: UID }],
  ['containerd, sub-cgroup made inside the container', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope/init.scope`, { runtime: 'containerd', podUid: UID }],
  ['CRI-O, systemd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`, { runtime: 'crio', podUid: UID }],
  ['CRI-O, cgroupfs', `/kubepods/burstable/pod${UID}/crio-${ID}`, { runtime: 'crio', podUid: UID }],
  ['CRI-O conmon is not a container', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`, null],
  ['Docker, systemd', `/system.slice/docker-${ID}.scope`, { runtime: 'docker', podUid: null }],
  ['Docker, cgroupfs', `/docker/${ID}`, { runtime: 'docker', podUid: null }],
  ['Docker via cri-dockerd, systemd', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID}.scope`, { runtime: 'docker', podUid: UID }],
  ['Podman', `/machine.slice/libpod-${ID}.scope`, { runtime: 'podman', podUid: null }],
  ['host: init', '/init.scope', null],
  ['host: a service', '/system.slice/containerd.service', null],
  ['host: a login session', '/user.slice/user-0.slice/session-4.scope', null],
  ['host: the root', '/', null],
  ['pod-level cgroup without a container', `/kubepods/besteffort/pod${UID}`, null],
  ['a short hex name is not an id', '/system.slice/6d09394a988c.scope', null],
];

for (const [name, path, want] of CASES) {
  test(`cgroup path: ${name}`, () => {
    const got = parseCgroupPath(path);
    if (want === null) assert.equal(got, null);
    else assert.deepEqual(got, { containerId: ID, runtime: want.runtime, podUid: want.podUid });
  });
}

test('/proc/<pid>/cgroup on cgroup v2: the 0:: line', () => {
  const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope\n`;
  assert.deepEqual(identityFromProcCgroup(text), { containerId: ID, runtime: 'containerd', podUid: UID });
});

test('/proc/<pid>/cgroup on cgroup v1: controller lines, no unified line', () => {
  const text = [
    `12:pids:/kubepods/besteffort/pod${UID}/${ID}`,
    `11:cpu,cpuacct:/kubepods/besteffort/pod${UID}/${ID}`,
    `4:memory:/kubepods/besteffort/pod${UID}/${ID}`,
    `1:name=systemd:/kubepods/besteffort/pod${UID}/${ID}`,
    '',
  ].join('\n');
  assert.deepEqual(cgroupPathFromProc(text), { v2: null, v1: `/kubepods/besteffort/pod${UID}/${ID}` });
  assert.deepEqual(identityFromProcCgroup(text), { containerId: ID, runtime: 'unknown', podUid: UID });
});

test('/proc/<pid>/cgroup in hybrid mode with the unified line at the root falls back to v1', () => {
  const text = `9:name=systemd:/system.slice/docker-${ID}.scope\n4:memory:/system.slice/docker-${ID}.scope\n0::/\n`;
  assert.deepEqual(identityFromProcCgroup(text), { containerId: ID, runtime: 'docker', podUid: null });
});

test('/proc/<pid>/cgroup of a host process', () => {
  const text = '9:name=systemd:/init.scope\n4:memory:/\n0::/init.scope\n';
  assert.equal(identityFromProcCgroup(text), null);
});
