// The seed scenario end to end (shared/seed/000_f4fcaa6aaeb4368b.txt): a wordpress pod run through
// containerd as the kubelet would, a real kube-apiserver (test/helpers/kube-apiserver.ts) holding its
// Pod, ReplicaSet, Deployment, Namespace and this Node, the real agent under its own service account
// with exactly deploy/'s RBAC (`bin/armorwatch run`) with the seed's policy, and the
// real Collector. `cd /etc/network/if-up.d && ls` in the container must arrive as exactly one
// record carrying every field of the seed's Expected Alert, with this run's values — and, since the
// agent also prints alerts (--exporter both), as exactly one alert in KubeArmor's shape.
import { defer } from '../helpers/cleanup.ts';
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/version.ts';
import { uuidV5 } from '../../src/export/resource.ts';
import { buildBusyboxRootfs, needsContainerd } from '../helpers/containerd.ts';
import type { CollectedRecord } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { needsControlPlane, startControlPlane } from '../helpers/kube-apiserver.ts';
import { agentIdentity, putObjects } from '../helpers/kube-objects.ts';
import {
  ContainerShell, eventually, IMAGE, recordsOf, runAgent, SEED_COMMAND, SEED_DIR, seedOwners, servedNode, servePod, startStack, warmUp,
  type Access, type Stack,
} from './cluster.ts';

const SEED_POLICY = fileURLToPath(new URL('../fixtures/seed/ksp-nist-ac-18-1-network-audit.yaml', import.meta.url));
const POD = { name: 'wordpress-7c966b5d85-wvtln', namespace: 'wordpress-mysql', labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85' } };
// From the seed's Expected Alert.
const TAGS = ['NIST-800', 'AC-18(1)', 'Networking', 'Access', 'NIST_SA', 'NIST_SA-20', 'NIST_SA-20-Customized Development of Critical Components', 'SA'];
const MESSAGE = 'Access to network files detected. Possible violation of NIST Controls';
// What busybox's `ls` (1.35, static glibc: opendir) really passes to openat for the working
// directory, as observed; the same as the seed's bash-era /bin/ls.
const LS_FLAGS = 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC';

let stack: Stack | null = null;
let dir = '';
let sandboxRootfs = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-e2e-seed-'));
  sandboxRootfs = buildBusyboxRootfs(join(dir, 'sandbox'));
  stack = await startStack();
});
after(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function ready(t: TestContext): Stack | null {
  return needsContainerd(t) && needsBpf(t) && needsControlPlane(t) ? stack : null;
}

/**
 * What the container really runs: `/bin/ls` and the shell are links to `/bin/busybox` in this image,
 * and the kernel names the file a link leads to.
 */
interface Exes { readonly ls: string; readonly shell: string }

/** The seed's Expected Alert as docs/OTEL.md maps it onto the record's attributes, with this access's pids. */
function expectedAttributes(a: Access, exe: Exes): Record<string, unknown> {
  return {
    'process.pid': a.hostPid, // HostPID
    'process.vpid': a.pid, // PID
    'process.parent_pid': a.hostPpid, // HostPPID
    'process.executable.path': exe.ls, // ProcessName
    'process.executable.name': basename(exe.ls),
    'process.user.id': 0,
    'process.real_user.id': 0,
    'process.working_directory': SEED_DIR,
    'file.path': SEED_DIR, // Resource
    'security_rule.name': 'ksp-nist-ac-18-1-network-audit', // PolicyName
    'security_rule.description': MESSAGE, // Message
    'security_rule.ruleset.name': 'KubeArmorPolicy',
    'kubearmor.type': 'MatchedPolicy',
    'kubearmor.severity': 3,
    'kubearmor.tags': TAGS,
    'kubearmor.atags': TAGS,
    'kubearmor.source': exe.ls,
    'kubearmor.operation': 'File',
    'kubearmor.action': 'Audit',
    'kubearmor.result': 'Passed',
    'kubearmor.enforcer': 'eBPF Monitor',
    'kubearmor.data': `syscall=SYS_OPENAT fd=-100 flags=${LS_FLAGS}`,
    'kubearmor.syscall': 'SYS_OPENAT',
    'kubearmor.dirfd': -100,
    'kubearmor.flags': LS_FLAGS,
    'kubearmor.ppid': a.ppid, // PPID
    'kubearmor.parent_process_name': exe.shell, // ParentProcessName: the shell that ran the command
  };
}

function assertSeedRecord(r: CollectedRecord, a: Access, exe: Exes): void {
  assert.deepEqual(r.attributes, expectedAttributes(a, exe));
  assert.equal(r.eventName, 'armorwatch.policy.match');
  assert.equal(r.severityNumber, 13, 'severity 3 → WARN');
  assert.equal(r.severityText, 'WARN');
  assert.equal(r.body, `Audit: ${exe.ls} opened ${SEED_DIR} — ${MESSAGE} [ksp-nist-ac-18-1-network-audit]`);
  const ts = BigInt(r.timeUnixNano);
  assert.ok(ts >= a.startNs && ts <= a.endNs, `kernel time ${ts} within the command's run [${a.startNs}, ${a.endNs}]`);
  // Pids as a user would check them: small numbers inside the container, the shell as parent.
  assert.ok(a.pid < 100 && a.ppid < a.pid && a.hostPid !== a.pid, `container pids ${a.pid}/${a.ppid}, host pid ${a.hostPid}`);
}

function expectedResource(uid: string, id: string, digest: string): Record<string, unknown> {
  return {
    'service.name': 'armorwatch',
    'service.version': VERSION,
    'service.instance.id': uuidV5(`default/${hostname()}/armorwatch`),
    'k8s.cluster.name': 'default', // ClusterName
    'k8s.node.name': hostname(), // HostName
    'host.name': hostname(),
    'k8s.namespace.name': 'wordpress-mysql', // NamespaceName (and Owner.Namespace)
    'k8s.pod.name': POD.name, // PodName
    'k8s.pod.uid': uid,
    'k8s.container.name': 'wordpress', // ContainerName
    'container.id': id, // ContainerID
    'container.runtime.name': 'containerd',
    'container.image.name': 'docker.io/armorwatch/wordpress', // ContainerImage, split
    'container.image.tags': ['4.8-apache'],
    'container.image.repo_digests': [`docker.io/armorwatch/wordpress@${digest}`],
    'k8s.pod.label.app': 'wordpress', // Labels: app=wordpress (pod-template-hash is bookkeeping)
  };
}

/**
 * A real API server (etcd + kube-apiserver) holding this node and the seed's Namespace, Deployment,
 * ReplicaSet and Pod; the pod running in containerd with the uid the server gave it; and a
 * kubeconfig with the token of the agent's own ServiceAccount as deploy/ binds it — with `apiUp`
 * false, the API server is stopped again before the agent starts (connections refused).
 */
async function seedCluster(t: TestContext, s: Stack, apiUp: boolean): Promise<{ pod: { uid: string; id: string }; kubeconfig: string }> {
  // The seed's cluster (kubelet v1.26) predates the PodTopologyLabels admission plugin, which copies
  // the node's topology.kubernetes.io labels onto its pods; its Expected Alert has Labels app=wordpress.
  const cp = await startControlPlane({ disableAdmission: ['PodTopologyLabels'] });
  defer(t, 'cp.stop', () => cp.stop());
  const created = await putObjects(cp, [servedNode(), ...seedOwners()]);
  const pod = await servePod(t, cp, s, sandboxRootfs, created, POD, 'wordpress', true);
  const { kubeconfig } = await agentIdentity(cp);
  if (!apiUp) await cp.stopApiServer();
  return { pod, kubeconfig };
}

/**
 * The seed's Expected Alert field for field, in KubeArmor's names as `--exporter stdout` prints it,
 * with this run's values. Owner is expected only when the API server could say.
 */
function expectedAlert(a: Access, exe: Exes, pod: { id: string }, digest: string, owned: boolean): Record<string, unknown> {
  return {
    ClusterName: 'default', HostName: hostname(), NamespaceName: POD.namespace, PodName: POD.name, Labels: 'app=wordpress',
    ContainerName: 'wordpress', ContainerID: pod.id, ContainerImage: `${IMAGE}@${digest}`, Type: 'MatchedPolicy',
    PolicyName: 'ksp-nist-ac-18-1-network-audit', Severity: '3', Message: MESSAGE, Source: exe.ls, Resource: SEED_DIR,
    Operation: 'File', Action: 'Audit', Data: `syscall=SYS_OPENAT fd=-100 flags=${LS_FLAGS}`, Enforcer: 'eBPF Monitor',
    Result: 'Passed', ATags: TAGS, HostPID: a.hostPid, HostPPID: a.hostPpid,
    Owner: owned ? { Ref: 'Deployment', Name: 'wordpress', Namespace: 'wordpress-mysql' } : undefined,
    PID: a.pid, PPID: a.ppid, ParentProcessName: exe.shell, ProcessName: exe.ls, Tags: TAGS.join(','),
  };
}

function assertSeedAlert(alerts: Array<Record<string, unknown>>, expected: Record<string, unknown>): void {
  assert.equal(alerts.length, 1, 'exactly one alert on standard output for the access');
  const got = Object.fromEntries(Object.keys(expected).map((k) => [k, alerts[0]![k]]));
  assert.deepEqual(got, expected);
}

/**
 * The agent with the seed's policy; the seed command run in the pod until the record of an access
 * carries `warmField` (the agent's caches are warm), then once more: that access, and the records
 * it produced once the agent has stopped and everything it exported is in the Collector.
 */
async function seedAccess(t: TestContext, s: Stack, podId: string, kubeconfig: string, warmField: string): Promise<{ a: Access; recs: CollectedRecord[]; alerts: Array<Record<string, unknown>>; agentLog: string; exe: Exes }> {
  // Both exporters: the OTLP record, and the alert in KubeArmor's own shape on standard output.
  const agent = await runAgent(t, s, SEED_POLICY, { KUBECONFIG: kubeconfig, ARMORWATCH_EXPORTER: 'both' });
  const shell = await ContainerShell.open(podId);
  defer(t, 'shell.close', () => shell.close());
  await warmUp(s.collector, shell, warmField);
  const a = await shell.access(SEED_COMMAND);
  assert.equal(a.output, 'mountnfs\n', 'the command ran in the container');
  await eventually('the record', 20_000, () => recordsOf(s.collector, a, SEED_DIR)[0]);
  await agent.stop();
  const alerts = agent.running.out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((x) => x.HostPID === a.hostPid && x.Resource === SEED_DIR);
  return { a, recs: recordsOf(s.collector, a, SEED_DIR), alerts, agentLog: agent.running.err(), exe: { ls: shell.realpath('/bin/ls'), shell: shell.exe() } };
}

test('seed: ls in the wordpress container → exactly one record with every field of the Expected Alert', async (t) => {
  const s = ready(t);
  if (s === null) return;
  const { pod, kubeconfig } = await seedCluster(t, s, true);
  // The agent learns the pod's owner from the API server a moment after it starts.
  const { a, recs, alerts, exe } = await seedAccess(t, s, pod.id, kubeconfig, 'k8s.deployment.name');
  assertSeedAlert(alerts, expectedAlert(a, exe, pod, s.digest, true));
  assert.equal(recs.length, 1, 'exactly one record for the access');
  assert.deepEqual(recs[0]!.resource, { ...expectedResource(pod.uid, pod.id, s.digest), 'k8s.deployment.name': 'wordpress' });
  assertSeedRecord(recs[0]!, a, exe);
});

test('seed with the API server stopped: the record still arrives with what the runtime knows (no owner, labels from the sandbox)', async (t) => {
  const s = ready(t);
  if (s === null) return;
  const { pod, kubeconfig } = await seedCluster(t, s, false);
  const { a, recs, alerts, agentLog, exe } = await seedAccess(t, s, pod.id, kubeconfig, 'k8s.container.name');
  assertSeedAlert(alerts, expectedAlert(a, exe, pod, s.digest, false));
  assert.equal(recs.length, 1, 'exactly one record for the access');
  assert.deepEqual(recs[0]!.resource, expectedResource(pod.uid, pod.id, s.digest), 'no k8s.deployment.name: the owner needs the API server');
  assertSeedRecord(recs[0]!, a, exe);
  assert.match(agentLog, /Kubernetes watch failed; retrying/, 'the agent says it cannot reach the API server');
});
