// The image, built and run for real: scripts/image.sh builds the Dockerfile with Debian's docker.io
// from a debootstrapped base; the image goes to containerd (`docker save` → `ctr images import`) and
// runs there with the DaemonSet's security context, read from deploy/base/daemonset.yaml: its
// capabilities and no other, not privileged, no privilege escalation, the runtime's default seccomp
// profile, a read-only root filesystem, the host pid namespace and the DaemonSet's mounts with their
// propagation (tracefs HostToContainer: a mount the host makes later shows up inside). The agent in
// it must attach, turn ready, send a host process's file access to a real Collector, and on SIGTERM
// exit 0 within the DaemonSet's terminationGracePeriodSeconds.
// Docker 20.10 does not know CAP_BPF or CAP_PERFMON, which is why the image runs under containerd.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort, startCollector } from '../helpers/collector.ts';
import { SOCKET, containerdUnavailableReason, randomContainerId, startContainerd } from '../helpers/containerd.ts';
import { REQUIRE_BPF, bpfUnavailableReason } from '../helpers/privileges.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const NS = 'armorwatch-image-test';
const ctr = async (...args: string[]): Promise<string> =>
  (await run('ctr', ['--address', SOCKET, '-n', NS, ...args], { maxBuffer: 16 << 20 })).stdout;

// Capability numbers (linux/capability.h), to read /proc/<pid>/status and to drop all but the
// DaemonSet's: ctr starts from a default set, and takes no "ALL".
const CAPS = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE',
  'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'] as const;

const capNames = (mask: bigint): string[] => CAPS.filter((_, i) => (mask >> BigInt(i)) & 1n);
function statusField(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  assert.ok(line, `/proc/${pid}/status has no ${field}`);
  return line.slice(field.length + 1).trim();
}
const capField = (pid: number, field: string): bigint => BigInt(`0x${statusField(pid, field)}`);

interface Mount { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean; readonly mountPropagation?: string }
interface Volume { readonly name: string; readonly hostPath?: { path: string }; readonly configMap?: object; readonly emptyDir?: { sizeLimit?: string } }

function daemonSet() {
  const docs = parseAllDocuments(readFileSync(join(root, 'deploy/base/daemonset.yaml'), 'utf8')).map((d) => d.toJS());
  const ds = docs.find((d) => d?.kind === 'DaemonSet');
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  const config = parseAllDocuments(readFileSync(join(root, 'deploy/base/otel-config.yaml'), 'utf8')).map((d) => d.toJS())
    .find((d) => d?.kind === 'ConfigMap');
  return {
    hostPID: pod.hostPID === true, hostNetwork: pod.hostNetwork === true, image: c.image as string, args: c.args as string[],
    gracePeriodS: pod.terminationGracePeriodSeconds as number,
    sc: c.securityContext, mounts: c.volumeMounts as Mount[], volumes: pod.volumes as Volume[],
    memoryLimit: c.resources?.limits?.memory as string | undefined, env: config.data as Record<string, string>,
  };
}

/** One line of /proc/<pid>/mountinfo: mount point, options and propagation tags (shared:N, master:N). */
function mountOf(pid: number | 'self', mountPoint: string): { options: string; tags: string[] } | undefined {
  const f = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).findLast((x) => x[4] === mountPoint);
  return f === undefined ? undefined : { options: f[5]!, tags: f.slice(6, f.indexOf('-')) };
}
const tag = (tags: readonly string[], kind: 'shared' | 'master'): string | undefined => tags.find((x) => x.startsWith(`${kind}:`))?.slice(kind.length + 1);

/** mountPropagation as the kubelet hands it to the runtime (CRI): HostToContainer is rslave, Bidirectional rshared. */
const PROPAGATION: Record<string, string> = { None: 'rprivate', HostToContainer: 'rslave', Bidirectional: 'rshared' };

const quantity = (q: string): number => {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  assert.ok(m, `quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1);
};

/** Why this test cannot run here, or null. */
function unavailable(): string | null {
  const why = bpfUnavailableReason() ?? containerdUnavailableReason();
  if (why !== null) return why;
  for (const bin of ['/usr/sbin/debootstrap', '/usr/sbin/dockerd']) {
    if (!existsSync(bin)) return `${bin} is not installed (scripts/setup.sh --with-test-deps)`;
  }
  return null;
}


test('the image built from the Dockerfile runs with the DaemonSet\'s security context: attaches, turns ready, sends a host access to the Collector', { timeout: 40 * 60_000 }, async (t) => {
  const why = unavailable();
  if (why !== null) {
    if (REQUIRE_BPF) throw new Error(`this test needs root, BPF, containerd, debootstrap and docker.io and ARMORWATCH_REQUIRE_BPF=1: ${why}`);
    t.skip(why);
    return;
  }
  const containerd = await startContainerd();
  defer(t, 'stop containerd if this test started it', () => containerd.stop());
  const ds = daemonSet();
  const work = mkdtempSync(join(tmpdir(), 'aw-image-test-'));
  defer(t, 'remove the work folder', () => rmSync(work, { recursive: true, force: true }));

  // ---- build (the Docker daemon's layer cache and the debootstrapped base make a rebuild quick)
  const archive = join(work, 'image.tar');
  const built = spawnSync('bash', [join(root, 'scripts/image.sh'), '--tag', ds.image, '--save', archive],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  assert.equal(built.status, 0, `scripts/image.sh failed:\n${built.stderr.slice(-4000)}`);
  for (const l of built.stderr.split('\n').filter((l) => l.startsWith('image: '))) t.diagnostic(l);
  await ctr('images', 'import', archive);
  defer(t, 'remove the image from containerd', async () => {
    await ctr('images', 'rm', '--sync', ds.image).catch(() => undefined);
    await run('ctr', ['--address', SOCKET, 'namespaces', 'rm', NS]).catch(() => undefined);
  }, 180_000); // deleting 340 MB of snapshots takes its time on a busy machine
  const size = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${ds.image} `));
  t.diagnostic(`in containerd: ${size?.replace(/\s+/g, ' ')}`);

  // ---- what the pod would get: policies (a host policy for a folder of this test), the Collector
  const target = join(work, 'target');
  const policies = join(work, 'policies');
  mkdirSync(target);
  mkdirSync(policies);
  writeFileSync(join(target, 'secret'), 'x');
  writeFileSync(join(policies, 'host.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-image-test
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  severity: 5
  message: "image test: host file access"
  file:
    matchDirectories:
      - dir: ${target}/
        recursive: true
  action: Audit
`);
  const collector = await startCollector();
  defer(t, 'stop the Collector', () => collector.stop());
  const healthPort = await freePort();

  // ---- the DaemonSet's security context as ctr flags
  const sc = ds.sc;
  assert.equal(sc.privileged, false);
  assert.deepEqual(sc.capabilities.drop, ['ALL'], 'the DaemonSet drops every capability it does not add');
  const wanted = (sc.capabilities.add as string[]).map((c) => c.toUpperCase());
  // A capability outside this process's bounding set cannot be given to a container (runc fails).
  const bounding = capNames(capField(process.pid, 'CapBnd'));
  const ungrantable = wanted.filter((c) => !bounding.includes(c));
  const granted = wanted.filter((c) => bounding.includes(c));
  if (ungrantable.length > 0) {
    const msg = `not granted, missing from this sandbox's capability bounding set: ${ungrantable.map((c) => `CAP_${c}`).join(', ')}`;
    t.diagnostic(msg);
    console.log(`image test: ${msg}`);
  }
  const flags: string[] = [
    ...CAPS.filter((c) => !granted.includes(c)).flatMap((c) => ['--cap-drop', `CAP_${c}`]),
    ...granted.flatMap((c) => ['--cap-add', `CAP_${c}`]),
  ];
  // allowPrivilegeEscalation: false is ctr's default (no_new_privs; --allow-new-privs would lift it).
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.seccompProfile?.type, 'RuntimeDefault');
  flags.push('--seccomp');
  assert.equal(sc.readOnlyRootFilesystem, true);
  flags.push('--read-only');
  assert.equal(sc.runAsUser, 0, 'the image runs as root (USER 0:0) and so does the DaemonSet');
  assert.ok(ds.hostPID, 'the DaemonSet runs in the host pid namespace');
  // The host's pid namespace is this test's own, joined through /proc/<our pid>/ns/pid: in this
  // sandbox /proc/1/ns/* cannot be read even as root (EACCES; pid 1 is the VM's init). That it is
  // the host's is checked, not assumed: the initial pid namespace has a fixed inode number
  // (PROC_PID_INIT_INO, 0xEFFFFFFC), and no other pid namespace can have it.
  const hostPidNs = readlinkSync(`/proc/${process.pid}/ns/pid`);
  assert.equal(hostPidNs, `pid:[${0xEFFFFFFC}]`, 'this test runs in the initial (host) pid namespace');
  flags.push('--with-ns', `pid:/proc/${process.pid}/ns/pid`);
  // The pod network needs a CNI plugin; here the container shares the host's network so that the
  // Collector and the /readyz probe on 127.0.0.1 are reachable. The one difference from the DaemonSet.
  if (!ds.hostNetwork) t.diagnostic('network: the host\'s (the DaemonSet uses the pod network, which needs a CNI plugin here)');
  flags.push('--net-host');
  if (ds.memoryLimit !== undefined) flags.push('--memory-limit', String(quantity(ds.memoryLimit)));
  for (const m of ds.mounts) {
    const v = ds.volumes.find((x) => x.name === m.name);
    assert.ok(v, `volume ${m.name}`);
    let spec: string;
    if (v.hostPath) {
      // rbind, as the kubelet binds a hostPath, with the mount's propagation as CRI gives it to runc.
      const propagation = PROPAGATION[m.mountPropagation ?? 'None'];
      assert.ok(propagation, `${m.name}: mountPropagation ${m.mountPropagation}`);
      spec = `type=bind,src=${v.hostPath.path},dst=${m.mountPath},options=rbind:${m.readOnly === true ? 'ro' : 'rw'}:${propagation}`;
    } else if (v.configMap) {
      assert.equal(m.mountPath, ds.args[ds.args.indexOf('--policies') + 1], 'the policies mount is where --policies points');
      spec = `type=bind,src=${policies},dst=${m.mountPath},options=rbind:ro`;
    } else if (v.emptyDir) {
      const limit = v.emptyDir.sizeLimit === undefined ? '' : `:size=${quantity(v.emptyDir.sizeLimit)}`;
      spec = `type=tmpfs,src=tmpfs,dst=${m.mountPath},options=nosuid:nodev${limit}`;
    } else {
      assert.fail(`volume ${m.name}: a kind this test does not mount`);
    }
    flags.push('--mount', spec);
  }
  // The pod's environment: the ConfigMap's, NODE_NAME from the downward API, the health address
  // (the DaemonSet's 0.0.0.0:8787, on a free loopback port because this test shares the host's
  // network) and the Collector (overlays/otel-collector sets an endpoint the same way).
  const env = { ...ds.env, NODE_NAME: hostname(), ARMORWATCH_HEALTH_ADDR: `127.0.0.1:${healthPort}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${collector.grpcAddress}` };
  for (const [k, v] of Object.entries(env)) flags.push('--env', `${k}=${v}`);

  // A hostPath mount with HostToContainer propagation receives the host's later mounts only from a
  // shared mount. On a node, systemd makes every mount shared; this sandbox's are private, so the
  // test makes those mounts shared as a node has them, and restores them after.
  const slaves = ds.mounts.filter((m) => m.mountPropagation === 'HostToContainer')
    .map((m) => ({ m, hostPath: ds.volumes.find((x) => x.name === m.name)!.hostPath!.path }));
  for (const { hostPath } of slaves) {
    const host = mountOf('self', hostPath);
    assert.ok(host, `${hostPath} is a mount point on this machine`);
    if (tag(host.tags, 'shared') !== undefined) continue;
    t.diagnostic(`${hostPath} is a private mount here: made shared for this test, as systemd has it on a node`);
    spawnSync('mount', ['--make-shared', hostPath]);
    defer(t, `make ${hostPath} private again`, () => { spawnSync('mount', ['--make-private', hostPath]); });
    assert.ok(tag(mountOf('self', hostPath)!.tags, 'shared') !== undefined, `mount --make-shared ${hostPath}`);
  }

  // ---- run it: container start → /readyz 200 is the start-up time
  const id = `armorwatch-${randomContainerId().slice(0, 12)}`;
  const pidFile = join(work, 'pid');
  const logFile = join(work, 'agent.log');
  // Registered first: a failed `ctr run` can leave the container behind.
  defer(t, 'stop and remove the container', async () => {
    await ctr('task', 'kill', '-s', 'SIGTERM', id).catch(() => undefined);
    await waitFor('the agent to exit on SIGTERM', 30_000, async () =>
      (await ctr('task', 'ls')).split('\n').some((l) => l.startsWith(`${id} `) && !/\bSTOPPED\b/.test(l)) ? undefined : true)
      .catch(() => undefined);
    await ctr('task', 'rm', '-f', id).catch(() => undefined);
    await ctr('containers', 'rm', id).catch(() => undefined);
  });
  const started = process.hrtime.bigint();
  await ctr('run', '-d', '--pid-file', pidFile, '--log-uri', `file://${logFile}`, ...flags, ds.image, id);
  const runMs = Number(process.hrtime.bigint() - started) / 1e6;
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  await waitFor('/readyz 200', 90_000, async () => {
    try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
  }, { intervalMs: 50 }).catch((err: Error) => { throw new Error(`${err.message}; the agent's output:\n${log().slice(-4000)}`); });
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`start-up: container start → /readyz 200 in ${Math.round(startupMs)} ms (of which \`ctr run -d\` ${Math.round(runMs)} ms); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  assert.match(log(), /"eBPF programs loaded"/, 'the agent logged its attach');

  // ---- the process really runs with that context
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  assert.deepEqual(capNames(capField(pid, 'CapEff')).sort(), [...granted].sort(), 'effective capabilities: the DaemonSet\'s, no other');
  assert.deepEqual(capNames(capField(pid, 'CapBnd')).sort(), [...granted].sort(), 'bounding set: the DaemonSet\'s, no other');
  assert.equal(statusField(pid, 'NoNewPrivs'), '1', 'allowPrivilegeEscalation: false');
  assert.equal(statusField(pid, 'Seccomp'), '2', 'a seccomp filter (RuntimeDefault)');
  const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  assert.match(rootMount?.split(' ')[5] ?? '', /^ro\b/, `read-only root filesystem: ${rootMount}`);
  const ns = (p: number, kind: string): string => readlinkSync(`/proc/${p}/ns/${kind}`);
  assert.equal(ns(pid, 'pid'), hostPidNs, 'host pid namespace');
  assert.notEqual(ns(pid, 'mnt'), ns(process.pid, 'mnt'), 'its own mount namespace');

  // ---- mountPropagation: HostToContainer (tracefs): the container's mount is a slave of the host's,
  // and a mount the host makes below it later shows up in the container, and goes when unmounted.
  assert.ok(slaves.length > 0, 'the DaemonSet has a HostToContainer mount');
  for (const { m, hostPath } of slaves) {
    const inside = mountOf(pid, m.mountPath);
    assert.ok(inside, `${m.mountPath} is mounted in the container`);
    assert.equal(tag(inside.tags, 'master'), tag(mountOf('self', hostPath)!.tags, 'shared'), `${m.mountPath}: a slave of the host's mount (mountinfo: ${inside.tags.join(' ')})`);
    assert.equal(tag(inside.tags, 'shared'), undefined, `${m.mountPath}: nothing the container mounts goes back to the host`);
    assert.match(inside.options, /^ro\b/, `${m.mountPath} is read-only`);
  }
  const tracefs = slaves.find((x) => x.m.name === 'tracefs');
  assert.ok(tracefs, 'tracefs is mounted HostToContainer');
  // A trace instance of this test's own (a folder in tracefs no one else uses) as the mount point.
  const later = join(tracefs.hostPath, 'instances', `aw-image-${id.slice(-12)}`);
  mkdirSync(later);
  defer(t, 'remove the trace instance', () => { spawnSync('umount', [later]); if (existsSync(later)) rmdirSync(later); });
  const inContainer = join(tracefs.m.mountPath, 'instances', basename(later));
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'aw-image-test', later]).status, 0, `mount a tmpfs on ${later}`);
  await waitFor('the host\'s new mount in the container', 5_000, () => mountOf(pid, inContainer) ?? undefined);
  assert.equal(spawnSync('umount', [later]).status, 0);
  await waitFor('the host\'s unmount in the container', 5_000, () => (mountOf(pid, inContainer) === undefined ? true : undefined));

  // ---- a host process reads a watched file: one record at the Collector
  const cat = spawnSync('/bin/cat', [join(target, 'secret')]);
  assert.equal(cat.status, 0);
  const rec = await waitFor('the record of the host access', 30_000, () => collector.records()
    .find((r) => r.attributes['process.pid'] === cat.pid && r.attributes['file.path'] === join(target, 'secret')))
    .catch((err: Error) => { throw new Error(`${err.message}; the agent's output:\n${log().slice(-4000)}`); });
  assert.equal(rec.attributes['security_rule.name'], 'hsp-image-test');
  assert.equal(rec.attributes['kubearmor.type'], 'MatchedHostPolicy');
  assert.equal(rec.attributes['kubearmor.result'], 'Passed');
  assert.match(String(rec.attributes['process.executable.path']), /\/cat$/);
  assert.equal(rec.resource['k8s.node.name'], hostname());
  assert.equal(rec.resource['k8s.cluster.name'], ds.env.ARMORWATCH_CLUSTER_NAME);

  // ---- SIGTERM, as the kubelet stops the pod: exit 0 within terminationGracePeriodSeconds
  assert.ok(ds.gracePeriodS > 0, 'the DaemonSet sets terminationGracePeriodSeconds');
  const signalled = process.hrtime.bigint();
  await ctr('task', 'kill', '-s', 'SIGTERM', id);
  await waitFor(`the agent to exit within terminationGracePeriodSeconds (${ds.gracePeriodS} s)`, ds.gracePeriodS * 1000, async () =>
    ((await ctr('task', 'ls')).split('\n').some((l) => l.startsWith(`${id} `) && /\bSTOPPED\b/.test(l)) ? true : undefined), { intervalMs: 50 })
    .catch((err: Error) => { throw new Error(`${err.message}; the agent's output:\n${log().slice(-4000)}`); });
  const stopMs = Number(process.hrtime.bigint() - signalled) / 1e6;
  // ctr reports a task's non-zero exit status when it deletes the task ("exit with non-zero exit code N").
  const removed = await run('ctr', ['--address', SOCKET, '-n', NS, 'task', 'rm', id]);
  const code = /non-zero exit code (\d+)/.exec(removed.stderr)?.[1] ?? '0';
  t.diagnostic(`SIGTERM → exit ${code} in ${Math.round(stopMs)} ms (terminationGracePeriodSeconds ${ds.gracePeriodS})`);
  assert.equal(code, '0', `the agent's exit status on SIGTERM; its output:\n${log().slice(-2000)}`);
  assert.match(log(), /"msg":"stopped"/, 'the agent logged its orderly stop');
});
