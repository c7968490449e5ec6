// deploy/ checked by a real kube-apiserver (test/helpers/kube-apiserver.ts): every object of the
// default install, the base and each overlay accepted by a server-side dry run with strict field
// validation (as `kubectl apply --dry-run=server --validate=strict`), with KubeArmor's CRDs and the
// Prometheus Operator's (for the prometheus-operator overlay's PodMonitor and PrometheusRule)
// installed; and the RBAC objects applied for real, then checked as the agent's own service account:
// SelfSubjectAccessReview for what it needs and what it must not have, and the agent's informers
// run under that token with the audit log showing every request it made was allowed.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import { needsControlPlane, controlPlaneUnavailableReason, prometheusOperatorCrdDir, startControlPlane, type ControlPlane, type KubeObject } from '../helpers/kube-apiserver.ts';
import { agentIdentity, installCrds, installKubeArmorCrds, putObjects } from '../helpers/kube-objects.ts';
import { loadFixture } from '../k8s-api/fixtures.ts';
import { sharedDir } from '../policy/shared-dir.ts';
import { parseAllDocuments } from 'yaml';
import { render, requireKubectl, root } from './render.ts';

const NODE = 'gke-cluster-1-default-pool-37f4c896-8cn6';
let cp: ControlPlane | null = null;

before(async () => {
  if (controlPlaneUnavailableReason() !== null) return;
  cp = await startControlPlane({ audit: true });
  await installKubeArmorCrds(cp, join(sharedDir(), 'policies', 'crd'));
  // The kinds deploy/overlays/prometheus-operator and the Helm chart use, from the operator's pinned release
  // (k8s/prometheus-operator-crds.sh). A kind added to the overlay without its CRD here makes the
  // dry run below fail with "does not serve".
  await installCrds(cp, PROMETHEUS_OPERATOR_KINDS.map((plural) => join(prometheusOperatorCrdDir(), `monitoring.coreos.com_${plural}.yaml`)));
});
after(async () => { await cp?.stop(); });

const ready = (t: TestContext): ControlPlane | null => (needsControlPlane(t) ? cp : null);

/** What a user can apply: deploy/ (the default), its base, every overlay, and the Helm chart's default rendering. */
const INSTALLS: ReadonlyArray<{ name: string; objects: () => KubeObject[] }> = [
  ...['deploy', 'deploy/base', ...readdirSync(join(root, 'deploy/overlays')).sort().map((d) => `deploy/overlays/${d}`)]
    .map((k) => ({ name: k, objects: () => render(k) as KubeObject[] })),
  { name: 'helm template deploy/helm/armorwatch', objects: () => helmTemplate() },
  // The chart's Prometheus Operator objects, off by default: a Service, a ServiceMonitor, a PodMonitor.
  { name: 'helm template deploy/helm/armorwatch (ServiceMonitor and PodMonitor on)', objects: () => helmTemplate('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true') },
];

/** `helm template` of the chart with its default values and `args` (Helm built by deploy/helm/build.sh, cached). */
function helmTemplate(...args: string[]): KubeObject[] {
  const helm = execFileSync('bash', [join(root, 'deploy/helm/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const out = execFileSync(helm, ['template', 'armorwatch', join(root, 'deploy/helm/armorwatch'), '--namespace', 'armorwatch', ...args], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

/** The Prometheus Operator's resources (plural names) that deploy/ and the Helm chart use. */
const PROMETHEUS_OPERATOR_KINDS = ['podmonitors', 'prometheusrules', 'servicemonitors'];

/** POST with ?dryRun=All&fieldValidation=Strict (`kubectl apply --dry-run=server --validate=strict` of a new object): nothing stored. */
async function dryRunCreate(api: ControlPlane, o: KubeObject): Promise<{ status: number; message: string }> {
  const path = await api.collectionPath(o.apiVersion, o.kind, o.metadata.namespace);
  const res = await api.request<{ message?: string }>('POST', `${path}?dryRun=All&fieldValidation=Strict`, { body: o });
  return { status: res.status, message: res.body.message ?? '' };
}

/**
 * Server-side apply with ?fieldValidation=Strict (`kubectl apply --server-side --validate=strict`):
 * the server's verdict on `o`; with `dryRun`, nothing is stored.
 */
async function apply(api: ControlPlane, o: KubeObject, dryRun: boolean): Promise<{ status: number; message: string }> {
  const path = `${await api.objectPath(o)}?fieldManager=armorwatch-test&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  const res = await api.request<{ message?: string }>('PATCH', path, { body: o, contentType: 'application/apply-patch+yaml' });
  return { status: res.status, message: res.body.message ?? '' };
}

test('deploy/: the default install, the base, every overlay and the Helm chart pass a strict server-side dry run', async (t) => {
  const api = ready(t);
  if (api === null) return;
  requireKubectl();
  const kinds = new Set<string>();
  for (const { name: k, objects } of INSTALLS) {
    const objs = objects();
    for (const o of objs) kinds.add(`${o.apiVersion} ${o.kind}`);
    assert.ok(objs.length > 0, `${k} renders objects`);
    // A dry run of a namespaced object needs its namespace to exist: namespaces are applied for real.
    const verdicts: Array<{ o: KubeObject; status: number; message: string }> = [];
    for (const o of objs.filter((x) => x.kind === 'Namespace')) verdicts.push({ o, ...(await apply(api, o, false)) });
    for (const o of objs.filter((x) => x.kind !== 'Namespace')) verdicts.push({ o, ...(await dryRunCreate(api, o)) });
    const refused = verdicts.filter((v) => v.status !== 201 && v.status !== 200).map((v) => `${v.o.kind} ${v.o.metadata.name}: ${v.status} ${v.message}`);
    assert.deepEqual(refused, [], `${k}: objects the API server refuses`);
  }
  // Every object was checked, the custom resources of both CRD sets among them.
  for (const k of ['monitoring.coreos.com/v1 PodMonitor', 'monitoring.coreos.com/v1 PrometheusRule', 'monitoring.coreos.com/v1 ServiceMonitor']) assert.ok(kinds.has(k), `${k} was checked`);
  t.diagnostic(`kinds checked: ${[...kinds].sort().join(', ')}`);
});

test('the strict dry run refuses what a typo in deploy/ would produce (the check can fail)', async (t) => {
  const api = ready(t);
  if (api === null) return;
  requireKubectl();
  const ds = render('deploy/base').find((o) => o.kind === 'DaemonSet') as KubeObject & { spec: { template: { spec: Record<string, unknown> } } };
  assert.ok(ds, 'deploy/base has a DaemonSet');
  ds.spec.template.spec.hostPid = true; // hostPID, misspelt
  const v = await dryRunCreate(api, ds);
  assert.equal(v.status, 400, v.message);
  assert.match(v.message, /unknown field "spec\.template\.spec\.hostPid"/);
  // The Prometheus Operator's schemas are checked as strictly: a misspelt field and a wrong type.
  const overlay = render('deploy/overlays/prometheus-operator') as KubeObject[];
  const pm = overlay.find((o) => o.kind === 'PodMonitor') as KubeObject & { spec: { podMetricsEndpoints: Array<Record<string, unknown>> } };
  pm.spec.podMetricsEndpoints[0]!.intervall = '30s';
  const pv = await dryRunCreate(api, pm);
  assert.equal(pv.status, 400, pv.message);
  assert.match(pv.message, /unknown field "spec\.podMetricsEndpoints\[0\]\.intervall"/);
  const pr = overlay.find((o) => o.kind === 'PrometheusRule') as KubeObject & { spec: { groups: Array<{ rules: Array<Record<string, unknown>> }> } };
  pr.spec.groups[0]!.rules[0]!.for = 5; // a duration string in the CRD
  const rv = await dryRunCreate(api, pr);
  assert.equal(rv.status, 422, rv.message);
  assert.match(rv.message, /spec\.groups\[0\]\.rules\[0\]\.for/);
});

test('RBAC: every install\'s RBAC objects apply for real (server-side apply), each over the one before, as moving between installs does', async (t) => {
  const api = ready(t);
  if (api === null) return;
  requireKubectl();
  const rbac = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  const applied: string[] = [];
  // Twice through: a later install's objects over an earlier one's, and back (a binding's roleRef
  // cannot change in place, so two installs naming one binding differently would fail here).
  for (const round of [1, 2]) {
    for (const { name: k, objects } of INSTALLS) {
      const objs = objects();
      for (const o of objs.filter((x) => x.kind === 'Namespace')) await apply(api, o, false);
      for (const o of objs.filter((x) => rbac.has(x.kind))) {
        const v = await apply(api, o, false);
        assert.ok(v.status === 200 || v.status === 201, `round ${round}, ${k}: ${o.kind} ${o.metadata.name}: ${v.status} ${v.message}`);
        applied.push(`${o.kind}/${o.metadata.name}`);
      }
    }
  }
  // What the server holds is what the last install wrote: the agent's ClusterRole's rules as rendered.
  const helm = INSTALLS[INSTALLS.length - 1]!.objects();
  for (const role of helm.filter((o) => o.kind === 'ClusterRole')) {
    const stored: { rules: unknown[] } = await api.ok<{ rules: unknown[] }>('GET', await api.objectPath(role));
    assert.deepEqual(stored.rules, (role as KubeObject & { rules: unknown[] }).rules, `ClusterRole ${role.metadata.name} as the last install renders it`);
  }
  t.diagnostic(`applied: ${[...new Set(applied)].sort().join(', ')}`);
});

/** What the agent does with the API, and nothing more: [verb, group, resource, namespace?]. */
const NEEDED: ReadonlyArray<readonly [string, string, string]> = [
  ['list', '', 'pods'], ['watch', '', 'pods'],
  ['list', '', 'nodes'], ['watch', '', 'nodes'],
  ['list', '', 'namespaces'], ['watch', '', 'namespaces'],
  ['get', 'apps', 'replicasets'], ['get', 'batch', 'jobs'],
];
/** What a node agent must never be able to do. */
const FORBIDDEN: ReadonlyArray<readonly [string, string, string]> = [
  ['get', '', 'secrets'], ['list', '', 'secrets'], ['list', '', 'configmaps'],
  // Informers list and watch; nothing reads a pod, node or namespace by name, so no GET on them.
  ['get', '', 'pods'], ['get', '', 'nodes'], ['get', '', 'namespaces'],
  ['create', '', 'pods'], ['update', '', 'pods'], ['patch', '', 'pods'], ['delete', '', 'pods'], ['create', '', 'pods/exec'],
  ['update', '', 'nodes'], ['patch', '', 'nodes'], ['update', '', 'namespaces'],
  ['list', 'apps', 'replicasets'], ['watch', 'apps', 'replicasets'], ['get', 'apps', 'deployments'], ['get', 'batch', 'cronjobs'],
  ['create', '', 'serviceaccounts/token'], ['escalate', 'rbac.authorization.k8s.io', 'clusterroles'],
];

test('RBAC: deploy/\'s service account can do what the agent needs and nothing a node agent must not', async (t) => {
  const api = ready(t);
  if (api === null) return;
  requireKubectl();
  const agent = await agentIdentity(api);
  const review = async ([verb, group, resource]: readonly [string, string, string]) => {
    const [res, sub] = resource.split('/');
    const body = await api.ok<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      token: agent.token,
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, group, resource: res, subresource: sub, namespace: 'wordpress-mysql' } } },
    });
    return body.status.allowed;
  };
  const denied = [];
  for (const n of NEEDED) if (!(await review(n))) denied.push(n.join(' '));
  assert.deepEqual(denied, [], 'needed but not granted');
  const allowed = [];
  for (const f of FORBIDDEN) if (await review(f)) allowed.push(f.join(' '));
  assert.deepEqual(allowed, [], 'granted but must not be');
});

test('the agent\'s informers under its own token: every request allowed, and only requests RBAC grants', async (t) => {
  const api = ready(t);
  if (api === null) return;
  requireKubectl();
  const agent = await agentIdentity(api);
  const started = Date.now();
  await putObjects(api, [...loadFixture('wordpress.yaml'), ...loadFixture('batch.yaml').filter((o) => o.kind !== 'Pod' || o.metadata.name !== 'mysql-0')]);
  const enricher = createEnricher({ logger: silentLogger, nodeName: NODE, kubernetes: 'auto', kubeconfig: agent.kubeconfig, retryMs: 100, containerdSocket: '/nonexistent/containerd.sock' });
  t.after(() => enricher.close());
  assert.equal(await enricher.waitForKubernetes(20_000), true, 'the informers synced under the service account');
  const user = `system:serviceaccount:${agent.namespace}:${agent.serviceAccount}`;
  // A watch is logged when its response starts (it completes only when it ends); others when complete.
  const mine = () => api.auditEvents().filter((e) => e.user.username === user && (e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted') && e.objectRef?.resource !== undefined && Date.parse(e.stageTimestamp) >= started);
  // The ReplicaSet and the Job the node's pods name are read once each.
  const read = (resource: string) => mine().some((e) => e.verb === 'get' && e.objectRef?.resource === resource && e.responseStatus?.code === 200);
  const granted = NEEDED.map(([v, , r]) => `${v} ${r}`);
  const using = () => [...new Set(mine().map((e) => `${e.verb} ${e.objectRef!.resource}`))].sort();
  // A watch is in the audit log once its response starts, which can come a moment after the
  // informers report their caches synced (seen under load: 'watch pods' missing at 0.5 s).
  const end = Date.now() + 20_000;
  while (!(read('replicasets') && read('jobs') && granted.every((g) => using().includes(g))) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.ok(read('replicasets') && read('jobs'), 'the pods\' ReplicaSet and Job were read');
  const refused = mine().filter((e) => e.responseStatus?.code === 403).map((e) => `${e.verb} ${e.requestURI}`);
  assert.deepEqual(refused, [], 'requests the API server refused the agent');
  const used = using();
  assert.deepEqual(used.filter((u) => !granted.includes(u)), [], 'the agent made requests outside what it needs');
  assert.deepEqual(granted.filter((g) => !used.includes(g)).sort(), [], 'every grant the agent needs is used');
});
