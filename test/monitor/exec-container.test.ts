// Real eBPF and a real containerd container: an execution inside a container is reported from the
// container's own root and pid namespace, in the container's cgroup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import {
  buildBusyboxRootfs, containerdUnavailableReason, importBusyboxImage, needsContainerd, nsOf, runAppContainer, runSandbox, startContainerd,
} from '../helpers/containerd.ts';
import { collect, type Collected } from './harness.ts';
import { defer } from '../helpers/cleanup.ts';

const IMAGE = 'docker.io/armorwatch/busybox:1.36';
let daemon: Awaited<ReturnType<typeof startContainerd>> | null = null;
let rootfs = '';
let c: Collected | null = null;

before(async () => {
  if (containerdUnavailableReason() !== null || bpfUnavailableReason() !== null) return;
  daemon = await startContainerd();
  rootfs = buildBusyboxRootfs(mkdtempSync(join(tmpdir(), 'aw-rootfs-')));
  await importBusyboxImage(IMAGE);
  c = await collect();
});
after(async () => {
  await c?.monitor.close();
  if (rootfs !== '') rmSync(rootfs, { recursive: true, force: true });
  await daemon?.stop();
});

test('exec in a container: container paths, namespace pids, the container\'s cgroup, a failed exec too', async (t) => {
  if (!needsBpf(t) || !needsContainerd(t)) return;
  const marker = `aw-in-ctr-${process.pid}`;
  const pod = { name: 'exec-test', namespace: 'default', labels: {}, rootfs, uid: randomUUID() };
  const sandbox = await runSandbox(pod);
  defer(t, 'sandbox.remove', () => sandbox.remove());
  // sh waits, then runs echo (a busybox applet through its symlink) and a program that is not there.
  const app = await runAppContainer(pod, sandbox.id, 'main', IMAGE,
    ['/bin/sh', '-c', `sleep 1; /bin/echo ${marker}; /bin/missing-${marker}; sleep 3600`]);
  defer(t, 'app.remove', () => app.remove());
  const ev = await c!.waitForExec((e) => e.argv[1] === marker && e.ret === 0, 'echo inside the container', 15000);
  assert.equal(ev.cgroupId, app.cgroupId, 'the container\'s cgroup v2 id');
  assert.deepEqual([ev.path, ev.absPath, ev.resolvedPath], ['/bin/echo', '/bin/echo', '/bin/busybox'], 'paths as the container sees them');
  assert.deepEqual([ev.callerExePath, ev.parentExePath], ['/bin/busybox', '/bin/busybox'], 'sh (busybox) forked and exec\'d it');
  assert.equal(ev.hostPpid, app.pid, 'its parent is the container\'s sh');
  assert.equal(ev.ppid, 1, 'which is pid 1 in the container\'s pid namespace');
  assert.notEqual(ev.pid, ev.hostPid);
  const ns = nsOf(app.pid);
  assert.deepEqual([ev.mntNs, ev.pidNs, ev.netNs], [ns.mntNs, ns.pidNs, ns.netNs]);
  const failed = await c!.waitForExec((e) => e.path === `/bin/missing-${marker}`, 'the failed exec inside the container', 15000);
  assert.deepEqual([failed.ret, failed.resolvedPath, failed.exePath, failed.cgroupId], [-2, null, '/bin/busybox', app.cgroupId]);
});
