// Renders deploy/ and its overlays with the real kubectl and checks what a cluster operator relies
// on: the agent can read only what it needs, holds only the capabilities docs/OPERATIONS.md lists,
// and is wired to its health server, its node and its policies.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_OPTIONS } from '../../src/config/options.ts';
import { one, render, requireKubectl, root, type K8sObject } from './render.ts';

const NS = 'armorwatch';
const HEALTH_PORT = 8787;

/** The capabilities table of docs/OPERATIONS.md: the documented minimal list. */
function documentedCapabilities(): string[] {
  const doc = readFileSync(join(root, 'docs/OPERATIONS.md'), 'utf8');
  const section = /^## Capabilities\n([\s\S]*?)(?=^## )/m.exec(doc);
  assert.ok(section, 'docs/OPERATIONS.md has no "## Capabilities" section');
  const caps = [...section[1]!.matchAll(/^\|\s*`?CAP_([A-Z_]+)`?\s*\|/gm)].map((m) => m[1]!);
  assert.ok(caps.length > 0, 'docs/OPERATIONS.md lists no capability in its table');
  return caps.sort();
}

/** The agent's measured memory (MB) from BENCHMARKS.md's Export section: idle, and peak under load. */
function measuredMemory(): { idleMb: number; peakMb: number } {
  const text = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
  const idle = /idle: RSS [^)]*?= (\d+) MB/.exec(text);
  assert.ok(idle, 'BENCHMARKS.md no longer states the idle RSS ("idle: RSS ... = N MB"); re-check deploy/ resources');
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('|') && l.includes('peak RSS MB'));
  assert.ok(header >= 0, 'BENCHMARKS.md no longer has an "agent peak RSS MB" column; re-check deploy/ resources');
  const col = lines[header]!.split('|').findIndex((cell) => cell.includes('peak RSS MB'));
  const peaks: number[] = [];
  for (const l of lines.slice(header + 2)) {
    if (!l.startsWith('|')) break;
    peaks.push(Number(l.split('|')[col]));
  }
  assert.ok(peaks.length > 0 && peaks.every(Number.isFinite), 'cannot read the peak RSS figures of BENCHMARKS.md');
  return { idleMb: Number(idle[1]), peakMb: Math.max(...peaks) };
}

/** Host paths the agent mounts, each at the same path in the container, all read-only. */
const HOST_MOUNTS = ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/cgroup', '/run/containerd/containerd.sock'];

function agentContainer(ds: K8sObject): K8sObject {
  const containers = ds.spec.template.spec.containers as K8sObject[];
  assert.equal(containers.length, 1, 'the DaemonSet should run one container');
  return containers[0]!;
}

function checkInstall(objs: K8sObject[]): void {
  const ds = one(objs, 'DaemonSet', 'armorwatch');
  const pod = ds.spec.template.spec;
  const c = agentContainer(ds);

  // Pod Security Admission: baseline forbids hostPID and these capabilities.
  const nsLabels = one(objs, 'Namespace', NS).metadata.labels as Record<string, string> | undefined;
  assert.equal(nsLabels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  // Namespaced objects all land in the agent's namespace.
  for (const o of objs) {
    if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) {
      assert.equal(o.metadata.namespace, NS, `${o.kind} ${o.metadata.name} is not in namespace ${NS}`);
    }
  }

  // RBAC: read-only, exactly these resources: informers (list + watch) on pods, nodes and
  // namespaces; a GET by name of the ReplicaSet or Job a pod names (src/enrich/kube.ts).
  const role = one(objs, 'ClusterRole', 'armorwatch');
  const granted: Record<string, string> = {};
  for (const rule of role.rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>) {
    assert.equal(rule.resourceNames, undefined);
    for (const g of rule.apiGroups) for (const r of rule.resources) granted[`${g === '' ? 'core' : g}/${r}`] = [...rule.verbs].sort().join(',');
  }
  assert.deepEqual(granted, {
    'core/pods': 'list,watch', 'core/nodes': 'list,watch', 'core/namespaces': 'list,watch',
    'apps/replicasets': 'get', 'batch/jobs': 'get',
  });
  const binding = one(objs, 'ClusterRoleBinding', 'armorwatch');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'armorwatch' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: NS }]);
  one(objs, 'ServiceAccount', pod.serviceAccountName);

  // Host access: the host pid namespace, nothing more.
  assert.equal(pod.hostPID, true, 'hostPID: the kernel reports host pids');
  assert.notEqual(pod.hostNetwork, true);
  assert.notEqual(pod.hostIPC, true);
  assert.ok((pod.tolerations as Array<Record<string, unknown>>).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined),
    'a toleration with operator Exists and no key, so the agent runs on every node');

  // Security context: not privileged, read-only root, only the documented capabilities.
  const sc = c.securityContext;
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.runAsUser, 0, 'capabilities reach the effective set only of uid 0');
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  const added = (sc.capabilities.add as string[]).map((x) => x.replace(/^CAP_/, '')).sort();
  assert.deepEqual(added, documentedCapabilities(), 'the DaemonSet adds other capabilities than docs/OPERATIONS.md lists');
  assert.ok(!added.includes('SYS_ADMIN'), 'SYS_ADMIN is not needed on kernels with CAP_BPF');

  // Health: probes hit the port the health server listens on.
  const addr = (c.env as Array<{ name: string; value?: string }>).find((e) => e.name === 'ARMORWATCH_HEALTH_ADDR');
  assert.equal(addr?.value, `0.0.0.0:${HEALTH_PORT}`);
  const ports = c.ports as Array<{ name: string; containerPort: number }>;
  const portOf = (p: string | number): number => typeof p === 'number' ? p : ports.find((x) => x.name === p)!.containerPort;
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(portOf(c.livenessProbe.httpGet.port), HEALTH_PORT);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(portOf(c.readinessProbe.httpGet.port), HEALTH_PORT);

  // The node's name from the downward API.
  const nodeName = (c.env as Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>).find((e) => e.name === 'NODE_NAME');
  assert.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');

  // Resources: requested, memory capped, no CPU limit, and sized from the measured figures.
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory, 'cpu and memory requests');
  assert.equal(c.resources.limits?.cpu, undefined, 'no CPU limit: throttling overflows the ring buffer');
  const mb = (q: string): number => Number(/^(\d+)Mi$/.exec(q)?.[1] ?? NaN) * 1.048576;
  const measured = measuredMemory();
  assert.ok(mb(c.resources.requests.memory) >= measured.idleMb,
    `memory request ${c.resources.requests.memory} is below the idle RSS in BENCHMARKS.md (${measured.idleMb} MB)`);
  assert.ok(mb(c.resources.limits.memory) >= measured.peakMb * 1.2,
    `memory limit ${c.resources.limits.memory} leaves less than 20 % above the peak RSS in BENCHMARKS.md (${measured.peakMb} MB)`);

  // Mounts: the host paths the agent reads, read-only, and no others.
  const volumes = new Map((pod.volumes as K8sObject[]).map((v) => [v.name as string, v]));
  const mounts = c.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  for (const path of HOST_MOUNTS) {
    const m = mounts.find((x) => x.mountPath === path);
    assert.ok(m, `no mount at ${path}`);
    assert.equal(volumes.get(m.name)?.hostPath?.path, path, `${path} is not the host's ${path}`);
    assert.equal(m.readOnly, true, `${path} should be read-only`);
  }
  for (const m of mounts) {
    const v = volumes.get(m.name)!;
    if (v.hostPath !== undefined) assert.ok(HOST_MOUNTS.includes(v.hostPath.path), `unexpected host mount ${v.hostPath.path}`);
  }

  // Policies: the ConfigMap is mounted where --policies points.
  const policiesArg = (c.args as string[])[(c.args as string[]).indexOf('--policies') + 1];
  const pm = mounts.find((m) => m.mountPath === policiesArg);
  assert.ok(pm, `nothing mounted at --policies ${policiesArg}`);
  assert.equal(pm.readOnly, true);
  const cmName = volumes.get(pm.name)?.configMap?.name as string;
  const cm = one(objs, 'ConfigMap', cmName);
  assert.ok(Object.keys(cm.data).length > 0, 'the policies ConfigMap is empty');

  // Settings: every ConfigMap/Secret the agent reads its environment from.
  for (const src of c.envFrom as Array<{ configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }>) {
    if (src.configMapRef) one(objs, 'ConfigMap', src.configMapRef.name);
    if (src.secretRef) assert.equal(src.secretRef.optional, true, 'the OTLP header Secret is optional');
  }
}

/** Every environment variable and flag the manifests set must be one `armorwatch run --help` lists. */
function checkKnownSettings(objs: K8sObject[]): void {
  const c = agentContainer(one(objs, 'DaemonSet', 'armorwatch'));
  const knownEnv = new Set(RUN_OPTIONS.flatMap((o) => o.env));
  const env = c.env as Array<{ name: string; value?: string }>;
  const names = env.map((e) => e.name);
  for (const src of c.envFrom as Array<{ configMapRef?: { name: string } }>) {
    if (src.configMapRef) names.push(...Object.keys(one(objs, 'ConfigMap', src.configMapRef.name).data ?? {}));
  }
  // A helper variable is fine when a later value expands it ($(HOST_IP)); Kubernetes expands only
  // variables defined earlier in the list.
  const expandedBy = (n: string): number => env.findIndex((e) => e.value?.includes(`$(${n})`) === true);
  for (const n of names) {
    if (knownEnv.has(n)) continue;
    const user = expandedBy(n);
    assert.ok(user >= 0, `${n} is not an environment variable of armorwatch run`);
    assert.ok(names.indexOf(n) < user, `${n} is defined after ${env[user]!.name}, which uses it`);
  }
  const knownFlags = new Set(RUN_OPTIONS.map((o) => `--${o.name}`));
  const args = c.args as string[];
  assert.equal(args[0], 'run');
  for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(knownFlags.has(a.split('=')[0]!), `${a} is not a flag of armorwatch run`);

  // The agent flushes its queue for --shutdown-deadline on SIGTERM; the kubelet must wait longer.
  const deadline = RUN_OPTIONS.find((o) => o.name === 'shutdown-deadline')!.default;
  const seconds = Number(/^(\d+)s$/.exec(deadline)?.[1]);
  assert.ok(one(objs, 'DaemonSet', 'armorwatch').spec.template.spec.terminationGracePeriodSeconds > seconds,
    `terminationGracePeriodSeconds must exceed the agent's shutdown deadline (${deadline})`);
}

function otelSettings(objs: K8sObject[]): Record<string, string> {
  const c = agentContainer(one(objs, 'DaemonSet', 'armorwatch'));
  const name = (c.envFrom as Array<{ configMapRef?: { name: string } }>).find((e) => e.configMapRef)!.configMapRef!.name;
  return one(objs, 'ConfigMap', name).data as Record<string, string>;
}

describe('deploy/ (default: alerts to stdout)', () => {
  let objs: K8sObject[];
  before(() => { requireKubectl(); objs = render('deploy'); });

  test('renders a least-privilege DaemonSet wired to health, node and policies', () => checkInstall(objs));

  test('sets only flags and environment variables that armorwatch run knows', () => checkKnownSettings(objs));

  test('sets no OTLP endpoint, so alerts go to standard output', () => {
    assert.equal(otelSettings(objs).OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
  });

  test('the policies ConfigMap holds the seed policy', () => {
    const cm = one(objs, 'ConfigMap', 'armorwatch-policies');
    const text = Object.values(cm.data as Record<string, string>).join('\n');
    assert.match(text, /name: ksp-nist-ac-18-1-network-audit/);
    assert.match(text, /- path: \/proc\/net\/tcp/);
  });
});

for (const overlay of readdirSync(join(root, 'deploy/overlays'))) {
  describe(`deploy/overlays/${overlay}`, () => {
    let objs: K8sObject[];
    before(() => { requireKubectl(); objs = render(`deploy/overlays/${overlay}`); });

    test('keeps every property of the base install', () => checkInstall(objs));

    test('sets only flags and environment variables that armorwatch run knows', () => checkKnownSettings(objs));
  });
}

describe('overlay endpoints', () => {
  before(() => requireKubectl());

  test('otel-collector sends OTLP/gRPC to the in-cluster Collector', () => {
    const env = otelSettings(render('deploy/overlays/otel-collector'));
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector.observability:4317');
    assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
  });

  test('datadog-agent sends OTLP/gRPC to the Datadog Agent on the same node', () => {
    const c = agentContainer(one(render('deploy/overlays/datadog-agent'), 'DaemonSet', 'armorwatch'));
    const env = c.env as Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
    assert.equal(env.find((e) => e.name === 'HOST_IP')?.valueFrom?.fieldRef?.fieldPath, 'status.hostIP');
    assert.equal(env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://$(HOST_IP):4317');
    // What the cookbook's Datadog searches need (docs/QUERIES.md).
    assert.equal(env.find((e) => e.name === 'ARMORWATCH_DATADOG_ATTRIBUTES')?.value, 'true');
    assert.equal(env.find((e) => e.name === 'ARMORWATCH_DATADOG_SOURCE')?.value, 'kubearmor');
  });
});
