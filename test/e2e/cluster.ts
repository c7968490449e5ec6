// What the end-to-end tests share: one containerd, one Collector and the seed's image per file; the
// seed's Kubernetes objects renamed to this host; a shell inside a container that runs a command
// while the test can still see its host pid; and the real agent started and stopped around a case.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, startCollector, type CollectedRecord, type Collector } from '../helpers/collector.ts';
import { containerdUnavailableReason, importBusyboxImage, NS, runPod, SOCKET, startContainerd } from '../helpers/containerd.ts';
import { bpfUnavailableReason } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import { findObject, loadFixture, type K8sObject } from '../k8s-api/fixtures.ts';
import { exited, startAgent, waitReady, type RunningAgent } from '../deploy/agent.ts';
import type { ControlPlane, KubeObject } from '../helpers/kube-apiserver.ts';
import { createdObject, putObjects, runningStatus, type Created } from '../helpers/kube-objects.ts';

/** The seed's image name; the content is busybox plus the seed's /etc/network/if-up.d/mountnfs. */
export const IMAGE = 'docker.io/armorwatch/wordpress:4.8-apache';
export const SEED_DIR = '/etc/network/if-up.d';
export const SEED_COMMAND = `sh -c 'cd ${SEED_DIR} && ls'`;

export interface Stack {
  readonly collector: Collector;
  /** Manifest digest of IMAGE (`sha256:…`). */
  readonly digest: string;
  dispose(): Promise<void>;
}

/** Containerd (started if none answers), the seed image, and a Collector; null when this machine cannot run them. */
export async function startStack(): Promise<Stack | null> {
  if (containerdUnavailableReason() !== null || bpfUnavailableReason() !== null) return null;
  const daemon = await startContainerd();
  const digest = await importBusyboxImage(IMAGE, (rootfs) => {
    mkdirSync(join(rootfs, SEED_DIR), { recursive: true });
    writeFileSync(join(rootfs, SEED_DIR, 'mountnfs'), '#!/bin/sh\n');
  });
  const collector = await startCollector();
  return { collector, digest, async dispose() { await collector.dispose(); await daemon.stop(); } };
}

const WORDPRESS = loadFixture('wordpress.yaml');

/** This host as the API server serves it: the seed's Node renamed, with `labels` added. */
export function servedNode(labels: Record<string, string> = {}): K8sObject {
  const node = findObject(WORDPRESS, 'Node', 'gke-cluster-1-default-pool-37f4c896-8cn6');
  node.metadata.name = hostname();
  node.metadata.labels = { ...node.metadata.labels, 'kubernetes.io/hostname': hostname(), ...labels };
  return node;
}

export interface ServedPod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: Record<string, string>;
  readonly containerId: string;
  readonly digest: string;
  /** Keep the seed pod's owner (ReplicaSet wordpress-7c966b5d85); otherwise a bare pod. */
  readonly owned: boolean;
}

/** A Pod on this node shaped like the seed's, with the uid, container id and image the runtime really has. */
export function servedPod(p: ServedPod): K8sObject {
  const pod = findObject(WORDPRESS, 'Pod', 'wordpress-7c966b5d85-wvtln') as K8sObject & { spec: { nodeName: string }; status: { containerStatuses: Array<Record<string, unknown>> } };
  pod.metadata = { ...pod.metadata, name: p.name, namespace: p.namespace, uid: p.uid, labels: p.labels };
  if (!p.owned) { delete pod.metadata.ownerReferences; delete pod.metadata.generateName; }
  pod.spec.nodeName = hostname();
  pod.status.containerStatuses = [{ ...pod.status.containerStatuses[0], containerID: `containerd://${p.containerId}`, image: IMAGE, imageID: `${IMAGE.split(':')[0]}@${p.digest}` }];
  return pod;
}

/** The seed's Namespace, Deployment and ReplicaSet, unchanged. */
export const seedOwners = (): K8sObject[] => WORDPRESS.filter((o) => o.kind !== 'Node' && o.kind !== 'Pod').map((o) => structuredClone(o));

/**
 * A pod as a real cluster has it: the Pod object created in the API server (bound to this node; its
 * owners must be in `created` already when `owned`), its sandbox and container run in containerd
 * with the uid the server gave it, and its container status written through the status
 * subresource as the kubelet would. Removed from containerd when the test ends.
 */
export async function servePod(t: TestContext, cp: ControlPlane, s: Stack, sandboxRootfs: string, created: Created,
  pod: { name: string; namespace: string; labels: Record<string, string> }, container: string, owned: boolean): Promise<{ uid: string; id: string; object: KubeObject }> {
  const obj = servedPod({ ...pod, uid: '', containerId: '', digest: s.digest, owned }) as KubeObject & { spec: { containers: Array<{ name: string }> } };
  obj.spec.containers[0]!.name = container;
  delete obj.status;
  await putObjects(cp, [obj], created);
  const object = createdObject(created, 'Pod', pod.namespace, pod.name);
  const run = await startPod(t, sandboxRootfs, { ...pod, uid: object.metadata.uid! }, container);
  const status = runningStatus([{ name: container, id: run.id, image: IMAGE, imageID: `${IMAGE.split(':')[0]}@${s.digest}` }]);
  return { ...run, object: await cp.patch(object, { status }, 'status') };
}

/** One access seen from the host: the process that made it and its parent, in both pid namespaces. */
export interface Access {
  readonly hostPid: number;
  readonly pid: number;
  readonly hostPpid: number;
  readonly ppid: number;
  /** What the command wrote on standard output. */
  readonly output: string;
  /** Wall-clock window (ns since the epoch) the command ran in. */
  readonly startNs: bigint;
  readonly endNs: bigint;
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** `NSpid:` of /proc/<pid>/status: the pid in every namespace, host first. */
function nsPids(hostPid: number): number[] {
  const line = readFileSync(`/proc/${hostPid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'));
  assert.ok(line, `no NSpid for ${hostPid}`);
  return line.slice(6).trim().split(/\s+/).map(Number);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A long-lived `sh` in a container (`ctr task exec`, like `kubectl exec -it … sh`), fed on stdin.
 * Commands it runs are its children, so their parent stays alive and can be checked.
 */
export class ContainerShell {
  readonly #proc: ChildProcessWithoutNullStreams;
  #out = '';
  #seq = 0;
  hostPid = 0;
  pid = 0;

  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.#proc = proc;
    proc.stdout.setEncoding('utf8').on('data', (s: string) => { this.#out += s; });
    proc.stderr.setEncoding('utf8').on('data', (s: string) => { this.#out += s; });
  }

  static async open(containerId: string): Promise<ContainerShell> {
    const proc = spawn('ctr', ['--address', SOCKET, '-n', NS, 'task', 'exec', '--exec-id', `aw-e2e-${process.pid}-${Date.now()}`, containerId, '/bin/sh'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const sh = new ContainerShell(proc);
    sh.pid = Number(await sh.run('echo $$'));
    // The shell's host pid: the one process of the container whose innermost pid is the shell's.
    const pids = (await new Promise<string>((resolve, reject) => {
      const ps = spawn('ctr', ['--address', SOCKET, '-n', NS, 'task', 'ps', containerId]);
      let text = '';
      ps.stdout.setEncoding('utf8').on('data', (s: string) => { text += s; });
      ps.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ctr task ps exited ${code}`))));
    })).split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    const mine = pids.filter((p) => nsPids(p).at(-1) === sh.pid);
    assert.equal(mine.length, 1, `one process with container pid ${sh.pid} among ${pids.join(',')}`);
    sh.hostPid = mine[0]!;
    return sh;
  }

  /**
   * Where `path` leads inside the container, following links of its last component: the executable
   * the kernel reports for it. (Not realpath(3): that would follow /proc/<pid>/root out to the host.)
   */
  realpath(path: string): string {
    const root = `/proc/${this.hostPid}/root`;
    let p = path;
    for (let hops = 0; hops < 40; hops++) {
      let target: string;
      try { target = readlinkSync(`${root}${p}`); } catch { return p; } // not a link
      p = resolve(dirname(p), target);
    }
    throw new Error(`too many links from ${path}`);
  }

  /** The shell's own executable, as the kernel names it. */
  exe(): string { return readlinkSync(`/proc/${this.hostPid}/exe`); }

  #write(line: string): void { this.#proc.stdin.write(`${line}\n`); }

  async #until(marker: string): Promise<string> {
    for (const end = Date.now() + 20_000; Date.now() < end; await sleep(10)) {
      const i = this.#out.indexOf(marker);
      if (i >= 0) {
        const before = this.#out.slice(0, i);
        this.#out = this.#out.slice(i + marker.length);
        return before;
      }
    }
    throw new Error(`container shell: no "${marker.trim()}" in time; output so far: ${this.#out}`);
  }

  /** Runs one line in the shell and returns its output (trimmed). */
  async run(line: string): Promise<string> {
    const marker = `__aw_done_${++this.#seq}__\n`;
    this.#write(`${line}; echo __aw_done_${this.#seq}__`);
    return (await this.#until(marker)).trim();
  }

  /**
   * Runs `command` in a child of the shell with its output sent into a FIFO. The child blocks
   * opening the FIFO until the test reads it, which is when its host pid is taken: the same process
   * then execs the command (a subshell execs its last command, and so does `sh -c '… && ls'`), so
   * it is the one that accesses.
   */
  async access(command: string): Promise<Access> {
    const fifo = `/tmp/aw-out-${++this.#seq}`;
    await this.run(`/bin/busybox mkfifo ${fifo}`);
    const marker = `__aw_access_${this.#seq}__\n`;
    const startNs = nowNs();
    // A subshell, because ash opens a simple command's redirections before it forks.
    this.#write(`(${command}) > ${fifo}; echo __aw_access_${this.#seq}__`);
    let child: number | undefined;
    for (const end = Date.now() + 20_000; child === undefined && Date.now() < end; await sleep(5)) {
      const kids = readFileSync(`/proc/${this.hostPid}/task/${this.hostPid}/children`, 'utf8').trim();
      if (kids !== '') child = Number(kids.split(/\s+/)[0]);
    }
    assert.ok(child !== undefined, 'the command started');
    const pid = nsPids(child).at(-1)!;
    const output = await readFile(`/proc/${this.hostPid}/root${fifo}`, 'utf8');
    await this.#until(marker);
    const endNs = nowNs() + 1_000_000n; // Date.now() truncates to the millisecond
    await this.run(`/bin/busybox rm ${fifo}`);
    return { hostPid: child, pid, hostPpid: this.hostPid, ppid: this.pid, output, startNs, endNs };
  }

  async close(): Promise<void> {
    if (this.#proc.exitCode !== null) return;
    const done = new Promise((r) => this.#proc.once('exit', r));
    this.#proc.stdin.end('exit\n');
    await done;
  }
}

/** Every record the Collector holds for one access (by host pid and path). */
export function recordsOf(c: Collector, a: Access, path: string): CollectedRecord[] {
  return c.records().filter((r) => r.attributes['process.pid'] === a.hostPid && r.attributes['file.path'] === path);
}

/** The policies that matched an access: the one the record names and the others it lists. */
export function matchedPolicies(r: CollectedRecord): string[] {
  return [String(r.attributes['security_rule.name']), ...((r.attributes['kubearmor.other_policies'] as string[] | undefined) ?? [])].sort();
}

/** Polls `probe` until it returns something, or fails the test after `ms` (a deadline for a slow machine). */
export async function eventually<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const v = await probe();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Runs the seed command in the container until the record of an access carries the resource attribute `field` (the agent's caches are warm). */
export async function warmUp(c: Collector, shell: ContainerShell, field: string): Promise<void> {
  await eventually(`a record with ${field}`, 60_000, async () => {
    const a = await shell.access(SEED_COMMAND);
    const r = await eventually('the record of a warm-up access', 20_000, () => recordsOf(c, a, SEED_DIR)[0]);
    return r.resource[field] !== undefined ? r : undefined;
  });
}

export interface Agent {
  readonly running: RunningAgent;
  /** SIGTERM, exit status 0, then waits until the Collector holds every record the agent says it exported. */
  stop(): Promise<void>;
}

/** `bin/armorwatch run` exporting to the stack's Collector, ready (eBPF attached, policies loaded). */
export async function runAgent(t: TestContext, stack: Stack, policies: string, env: Record<string, string> = {}): Promise<Agent> {
  const healthPort = await freePort();
  const before = stack.collector.records().length;
  const running = startAgent(t, { policies, healthPort, env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${stack.collector.grpcAddress}`, ARMORWATCH_STATS_INTERVAL: '0', ARMORWATCH_SHUTDOWN_DEADLINE: '10s', ...env,
  } });
  assert.ok(await waitReady(running, healthPort), `agent did not become ready:\n${running.err().slice(-3000)}`);
  return {
    running,
    async stop() {
      running.child.kill('SIGTERM');
      assert.equal(await exited(running.child), 0, running.err().slice(-3000));
      const final = running.err().split('\n').filter((l) => l.includes('"export: final counters"')).pop();
      assert.ok(final, 'final export counters logged');
      const otlp = (JSON.parse(final) as { export: { otlp: { exported: number; dropped: Record<string, number> } } }).export.otlp;
      assert.deepEqual(otlp.dropped, { queue_full: 0, rejected: 0, retry_exhausted: 0, shutdown: 0 }, 'nothing dropped');
      const got = await stack.collector.waitForRecords(before + otlp.exported);
      assert.equal(got.length, before + otlp.exported, 'the Collector holds every exported record');
    },
  };
}

/** The cgroup hierarchies (v1 controllers, hybrid `unified`, or pure v2 `.`) that still hold a pod's cgroup. */
export function podCgroupsLeft(uid: string): string[] {
  return ['.', ...readdirSync('/sys/fs/cgroup')].filter((h) => existsSync(join('/sys/fs/cgroup', h, 'kubepods/besteffort', `pod${uid}`)));
}

/** A pod run the way the kubelet runs it (sandbox + one container from IMAGE); removed, cgroups included, when the test ends. */
export async function startPod(t: TestContext, sandboxRootfs: string, pod: { name: string; namespace: string; labels: Record<string, string>; uid?: string }, container: string): Promise<{ uid: string; id: string }> {
  const p = await runPod({ ...pod, uid: pod.uid ?? randomUUID(), rootfs: sandboxRootfs }, container, IMAGE);
  assert.ok(p.app.cgroupPath.endsWith(`/kubepods/besteffort/pod${p.uid}/${p.app.id}`), `kubelet-style cgroup, got ${p.app.cgroupPath}`);
  defer(t, `remove pod ${pod.name}`, async () => {
    await p.remove();
    assert.deepEqual(podCgroupsLeft(p.uid), [], 'no cgroup of the pod left behind');
  });
  return { uid: p.uid, id: p.app.id };
}
