// Real containerd for tests: starts the daemon when none answers (and stops it again), builds a
// busybox rootfs and an OCI image of it, and runs "pods" the way the kubelet does through CRI — a
// sandbox container carrying the pod's labels, app containers carrying CRI's labels and annotations,
// each in the cgroup kubelet's cgroupfs driver would give it.
import type { TestContext } from 'node:test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync, writeFileSync, openSync, closeSync, readdirSync, rmdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REQUIRE_BPF } from './privileges.ts';

const run = promisify(execFile);
export const SOCKET = '/run/containerd/containerd.sock';
export const NS = 'k8s.io';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ls', 'cat', 'sleep', 'true', 'echo'];

/** Why containerd tests cannot run here, or null when they can. */
export function containerdUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/sbin/runc', BUSYBOX]) {
    if (!existsSync(bin) && !(bin === '/usr/sbin/runc' && existsSync('/usr/bin/runc'))) return `${bin} is not installed (scripts/setup.sh --with-test-deps)`;
  }
  return null;
}

/** Like needsBpf: skips, or fails under ARMORWATCH_REQUIRE_BPF=1. Usage: `if (!needsContainerd(t)) return;` */
export function needsContainerd(t: TestContext): boolean {
  const why = containerdUnavailableReason();
  if (why === null) return true;
  if (REQUIRE_BPF) throw new Error(`this test needs containerd and ARMORWATCH_REQUIRE_BPF=1: ${why}`);
  t.skip(why);
  return false;
}

export async function ctr(...args: string[]): Promise<string> {
  const { stdout } = await run('ctr', ['--address', SOCKET, '-n', NS, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

async function answers(): Promise<boolean> {
  try { await run('ctr', ['--address', SOCKET, '--timeout', '2s', 'version']); return true; } catch { return false; }
}

/** Makes sure containerd answers on SOCKET; `stop` ends it only if this call started it. */
export async function startContainerd(): Promise<{ started: boolean; stop(): Promise<void> }> {
  if (await answers()) return { started: false, stop: async () => {} };
  const logDir = mkdtempSync(join(tmpdir(), 'aw-containerd-'));
  const log = openSync(join(logDir, 'containerd.log'), 'a');
  const child: ChildProcess = spawn('containerd', ['--address', SOCKET], { stdio: ['ignore', log, log], detached: false });
  closeSync(log);
  for (let i = 0; i < 100 && !(await answers()); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers())) {
    child.kill('SIGTERM');
    throw new Error(`containerd did not start; see ${join(logDir, 'containerd.log')}`);
  }
  return {
    started: true,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** A folder with busybox and a few applet links: enough to run `sh -c '...'`. */
export function buildBusyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
  if (!existsSync(join(dir, 'bin/busybox'))) copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  for (const a of APPLETS) if (!existsSync(join(dir, 'bin', a))) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/hostname'), 'aw-test\n');
  return dir;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Imports a one-layer OCI image of the busybox rootfs under `ref` (unless present) and returns its
 * manifest digest (`sha256:…`), which is what containerd's Images/Get reports as the target.
 * `addFiles` may put more into the rootfs folder before it is packed (give such images their own ref).
 */
export async function importBusyboxImage(ref: string, addFiles?: (rootfs: string) => void): Promise<string> {
  const have = await ctr('images', 'ls');
  const line = have.split('\n').find((l) => l.split(/\s+/)[0] === ref);
  if (line !== undefined) return line.split(/\s+/)[2]!;
  const work = mkdtempSync(join(tmpdir(), 'aw-image-'));
  try {
    const rootfs = buildBusyboxRootfs(join(work, 'rootfs'));
    addFiles?.(rootfs);
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
    await run('tar', ['-C', rootfs, '-cf', join(work, 'layer.tar'), '.']);
    const blob = (b: Buffer) => { const d = sha(b); writeFileSync(join(layout, 'blobs/sha256', d), b); return { digest: `sha256:${d}`, size: b.length }; };
    const layer = readFileSync(join(work, 'layer.tar'));
    const layerDesc = blob(layer);
    const config = blob(Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
    })));
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerDesc }],
    })));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': ref },
      }],
    }));
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await run('tar', ['-C', layout, '-cf', join(work, 'image.tar'), '.']);
    await ctr('images', 'import', join(work, 'image.tar'));
    return manifest.digest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const randomContainerId = () => randomBytes(32).toString('hex');
/** Where the unified (v2) hierarchy is mounted: hybrid hosts like these machines, or pure v2. */
export const UNIFIED = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

/** The cgroup v2 path and id (directory inode) of a running process. */
export async function cgroupOf(pid: number): Promise<{ path: string; id: bigint }> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  const path = text.split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  return { path, id: (await stat(join(UNIFIED, path), { bigint: true })).ino };
}

export function nsOf(pid: number): { mntNs: number; pidNs: number; netNs: number } {
  return { mntNs: statSync(`/proc/${pid}/ns/mnt`).ino, pidNs: statSync(`/proc/${pid}/ns/pid`).ino, netNs: statSync(`/proc/${pid}/ns/net`).ino };
}

export interface PodSpec {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly labels: Record<string, string>;
  readonly rootfs: string;
}

export interface RunningContainer {
  readonly id: string;
  readonly pid: number;
  readonly cgroupPath: string;
  readonly cgroupId: bigint;
  remove(): Promise<void>;
}

async function startTask(id: string, args: string[], command: string[]): Promise<RunningContainer> {
  const pidFile = join(tmpdir(), `aw-pid-${id}`);
  try {
    await ctr('run', '-d', '--pid-file', pidFile, ...args, id, ...command);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const cg = await cgroupOf(pid);
    return { id, pid, cgroupPath: cg.path, cgroupId: cg.id, remove: async () => { await removeContainer(id); removeEmptyParentCgroup(cg.path); } };
  } finally {
    rmSync(pidFile, { force: true });
  }
}

export async function removeContainer(id: string): Promise<void> {
  await ctr('task', 'rm', '-f', id).catch(() => {});
  await ctr('containers', 'rm', id).catch(() => {});
}

/** runc removes the container's cgroup but not the pod's it made above it; drop that once it is empty. */
function removeEmptyParentCgroup(path: string): void {
  const parent = dirname(path);
  if (!/\/pod[0-9a-f-]+$/.test(parent)) return;
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try { rmdirSync(join('/sys/fs/cgroup', h, parent)); } catch { /* absent, or other containers remain */ }
  }
}

const flags = (flag: string, kv: Record<string, string>) => Object.entries(kv).flatMap(([k, v]) => [flag, `${k}=${v}`]);

/** The pod sandbox as CRI creates it: the pod's labels plus CRI's own, in the pod's cgroup. */
export async function runSandbox(pod: PodSpec & { uid: string }): Promise<RunningContainer> {
  const id = randomContainerId();
  const labels = { ...pod.labels, 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid, 'io.cri-containerd.kind': 'sandbox' };
  const annotations = {
    'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': id,
    'io.kubernetes.cri.sandbox-name': pod.name, 'io.kubernetes.cri.sandbox-namespace': pod.namespace, 'io.kubernetes.cri.sandbox-uid': pod.uid,
  };
  return startTask(id, ['--cgroup', `/kubepods/besteffort/pod${pod.uid}/${id}`, ...flags('--label', labels), ...flags('--annotation', annotations), '--env', 'PATH=/bin', '--rootfs', pod.rootfs], ['/bin/sleep', '3600']);
}

/** An app container of the pod as CRI creates it, from `image`. */
export async function runAppContainer(pod: PodSpec & { uid: string }, sandboxId: string, name: string, image: string, command: string[] = ['/bin/sleep', '3600'], id = randomContainerId()): Promise<RunningContainer> {
  const labels = { 'io.kubernetes.container.name': name, 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid, 'io.cri-containerd.kind': 'container' };
  const annotations = {
    'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': sandboxId, 'io.kubernetes.cri.container-name': name,
    'io.kubernetes.cri.image-name': image, 'io.kubernetes.cri.sandbox-name': pod.name, 'io.kubernetes.cri.sandbox-namespace': pod.namespace, 'io.kubernetes.cri.sandbox-uid': pod.uid,
  };
  return startTask(id, ['--cgroup', `/kubepods/besteffort/pod${pod.uid}/${id}`, ...flags('--label', labels), ...flags('--annotation', annotations), '--env', 'PATH=/bin', image], command);
}

/** Sandbox plus one app container; `remove` deletes both. */
export async function runPod(pod: PodSpec, containerName: string, image: string): Promise<{ uid: string; sandbox: RunningContainer; app: RunningContainer; remove(): Promise<void> }> {
  const uid = pod.uid ?? randomUUID();
  const p = { ...pod, uid };
  const sandbox = await runSandbox(p);
  const app = await runAppContainer(p, sandbox.id, containerName, image).catch(async (err: unknown) => { await sandbox.remove(); throw err; });
  return { uid, sandbox, app, async remove() { await app.remove(); await sandbox.remove(); } };
}
