// The Helm chart (deploy/helm/armorwatch) with the real `helm`, built from its Go module
// (deploy/helm/build.sh): it lints, renders by default exactly what kustomize renders from
// deploy/, renders the overlays' installs from values, and every setting it renders is one the
// agent's own parser accepts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { parseRunConfig } from '../../src/config/parse.ts';
import { one, render, requireKubectl, root, type K8sObject } from './render.ts';

const CHART = join(root, 'deploy/helm/armorwatch');
// A first build on a fresh machine compiles Helm from Go modules: minutes on 2 cores.
const BUILD_TIMEOUT_MS = 30 * 60_000;
let helm = '';

function helmTemplate(values: Record<string, unknown> = {}, release = 'armorwatch', namespace = 'armorwatch'): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'aw-helm-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    const out = execFileSync(helm, ['template', release, CHART, '--namespace', namespace, '--values', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(out).map((d, i) => {
      assert.deepEqual(d.errors, [], `helm template: document ${i} does not parse`);
      return d.toJS() as K8sObject;
    }).filter((o) => o !== null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
function byKey(objs: K8sObject[]): Map<string, K8sObject> {
  const m = new Map(objs.map((o) => [key(o), o]));
  assert.equal(m.size, objs.length, 'two objects with the same kind and name');
  return m;
}

/**
 * The container's environment in name order: kustomize puts a patch's entries first, Helm appends
 * extraEnv; only the order of $(VAR) expansions matters, and parsedConfig checks that.
 */
function envSorted(o: K8sObject): K8sObject {
  if (o.kind !== 'DaemonSet') return o;
  const copy = structuredClone(o);
  for (const c of copy.spec.template.spec.containers as K8sObject[]) (c.env as Array<{ name: string }>).sort((a, b) => a.name.localeCompare(b.name));
  return copy;
}

/** The same objects, field for field (comments, key order and env order aside). */
function assertSameObjects(helmObjs: K8sObject[], kustomizeObjs: K8sObject[]): void {
  const h = byKey(helmObjs);
  const k = byKey(kustomizeObjs);
  assert.deepEqual([...h.keys()].sort(), [...k.keys()].sort(), 'the same objects');
  for (const [name, obj] of k) assert.deepEqual(envSorted(h.get(name)!), envSorted(obj), name);
}

const container = (objs: K8sObject[]): K8sObject => one(objs, 'DaemonSet', 'armorwatch').spec.template.spec.containers[0] as K8sObject;

/** The environment the agent would see (ConfigMap via envFrom, then literal env values) → its own parser. */
function parsedConfig(objs: K8sObject[]) {
  const c = container(objs);
  const env: Record<string, string> = {};
  for (const src of c.envFrom as Array<{ configMapRef?: { name: string } }>) {
    if (src.configMapRef) Object.assign(env, one(objs, 'ConfigMap', src.configMapRef.name).data);
  }
  const list = c.env as Array<{ name: string; value?: string }>;
  for (const [i, e] of list.entries()) {
    // Kubernetes expands $(VAR) only for variables defined earlier in the list.
    for (const [, v] of (e.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g)) assert.ok(list.slice(0, i).some((x) => x.name === v), `${e.name} uses $(${v}) before it is defined`);
    if (e.value !== undefined) env[e.name] = e.value.replace('$(HOST_IP)', '10.0.0.7');
  }
  const r = parseRunConfig((c.args as string[]).slice(1), env, { hostname: () => 'node-a', readFile: () => Buffer.from('') });
  assert.equal(r.help, false);
  return r.help ? undefined as never : r.config;
}

describe('deploy/helm/armorwatch', () => {
  before(() => {
    helm = execFileSync('bash', [join(root, 'deploy/helm/build.sh')], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: BUILD_TIMEOUT_MS,
    }).trim().split('\n').at(-1)!;
    requireKubectl();
  }, { timeout: BUILD_TIMEOUT_MS });

  test('helm lint --strict passes; the chart and the agent have one version', () => {
    const r = spawnSync(helm, ['lint', '--strict', CHART], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    assert.match(chart, new RegExp(`^version: ${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(chart, new RegExp(`^appVersion: "${pkg.version.replaceAll('.', '\\.')}"$`, 'm'));
  });

  test('by default: exactly the objects of `kubectl kustomize deploy/`', () => {
    const objs = helmTemplate();
    assertSameObjects(objs, render('deploy'));
    assert.deepEqual(one(objs, 'DaemonSet', 'armorwatch').spec.template.spec.nodeSelector, { 'kubernetes.io/arch': 'amd64' });
    const cfg = parsedConfig(objs);
    assert.equal(cfg.exporter, 'stdout');
    assert.deepEqual(cfg.metrics, { prometheus: true, otlp: null, intervalMs: 60_000 });
  });

  test('exporter.endpoint: the otel-collector overlay; extraEnv: the datadog-agent overlay', () => {
    const collector = helmTemplate({ exporter: { endpoint: 'http://otel-collector.observability:4317', protocol: 'grpc' } });
    assertSameObjects(collector, render('deploy/overlays/otel-collector'));
    assert.equal(parsedConfig(collector).otlp?.endpoint, 'http://otel-collector.observability:4317');
    const datadog = helmTemplate({ extraEnv: [
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://$(HOST_IP):4317' },
      { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'grpc' },
      { name: 'ARMORWATCH_DATADOG_ATTRIBUTES', value: 'true' },
      { name: 'ARMORWATCH_DATADOG_SOURCE', value: 'kubearmor' },
    ] });
    assertSameObjects(datadog, render('deploy/overlays/datadog-agent'));
    assert.equal(parsedConfig(datadog).otlp?.endpoint, 'http://10.0.0.7:4317');
    assert.deepEqual(parsedConfig(datadog).datadog, { source: 'kubearmor', tags: [], attributes: true });
  });

  test('image, OTEL_* variables, resources, tolerations, nodeSelector, containerd socket (k3s)', () => {
    const objs = helmTemplate({
      image: { repository: 'registry.example/aw', tag: '9.9.9', pullPolicy: 'Always' },
      clusterName: 'prod-eu',
      env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', ARMORWATCH_QUEUE_SIZE: 20000 },
      exporter: { endpoint: 'http://collector:4318', protocol: 'http/protobuf' },
      resources: { requests: { cpu: '200m', memory: '200Mi' }, limits: { memory: '512Mi' } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'security', effect: 'NoSchedule' }],
      nodeSelector: { 'kubernetes.io/arch': 'amd64', 'node-role.example/worker': 'true' },
      containerdSocket: '/run/k3s/containerd/containerd.sock',
    });
    const ds = one(objs, 'DaemonSet', 'armorwatch');
    const c = container(objs);
    assert.equal(c.image, 'registry.example/aw:9.9.9');
    assert.equal(c.imagePullPolicy, 'Always');
    assert.deepEqual(c.resources, { requests: { cpu: '200m', memory: '200Mi' }, limits: { memory: '512Mi' } });
    assert.deepEqual(ds.spec.template.spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'security', effect: 'NoSchedule' }]);
    assert.equal(ds.spec.template.spec.nodeSelector['node-role.example/worker'], 'true');
    const sock = (ds.spec.template.spec.volumes as K8sObject[]).find((v) => v.name === 'containerd-sock');
    assert.deepEqual(sock?.hostPath, { path: '/run/k3s/containerd/containerd.sock', type: 'Socket' });
    const mount = (c.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === 'containerd-sock');
    assert.equal(mount?.mountPath, '/run/containerd/containerd.sock', 'where the agent connects');
    const cfg = parsedConfig(objs);
    assert.equal(cfg.clusterName, 'prod-eu');
    assert.equal(cfg.otlp?.endpoint, 'http://collector:4318/v1/logs');
    assert.equal(cfg.otlp?.compression, 'gzip');
    assert.equal(cfg.queue.maxRecords, 20_000);
    assert.equal(one(objs, 'ConfigMap', 'armorwatch-otel').data.OTEL_RESOURCE_ATTRIBUTES, 'deployment.environment.name=prod');
  });

  test('policies: the chart\'s own files, files from values, or an existing ConfigMap', () => {
    const own = one(helmTemplate({ policies: { files: { 'a.yaml': 'kind: KubeArmorPolicy\n' } } }), 'ConfigMap', 'armorwatch-policies');
    assert.deepEqual(own.data, { 'a.yaml': 'kind: KubeArmorPolicy\n' });
    const objs = helmTemplate({ policies: { existingConfigMap: 'team-policies' } });
    assert.equal(objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'armorwatch-policies').length, 0, 'none of its own');
    const vol = (one(objs, 'DaemonSet', 'armorwatch').spec.template.spec.volumes as K8sObject[]).find((v) => v.name === 'policies');
    assert.equal(vol?.configMap?.name, 'team-policies');
  });

  test('metrics: ServiceMonitor (with its Service) or PodMonitor on the health port; OTLP push; off', () => {
    const sm = helmTemplate({ metrics: { serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' } } } });
    const svc = one(sm, 'Service', 'armorwatch-metrics');
    const ds = one(sm, 'DaemonSet', 'armorwatch');
    assert.deepEqual(svc.spec.selector, ds.spec.template.metadata.labels);
    const monitor = one(sm, 'ServiceMonitor', 'armorwatch');
    assert.deepEqual(monitor.spec.selector.matchLabels, svc.metadata.labels);
    assert.equal((monitor.metadata.labels as Record<string, string>).release, 'kube-prometheus');
    assert.deepEqual(monitor.spec.endpoints, [{ port: 'health', path: '/metrics', interval: '30s' }]);
    assert.equal(svc.spec.ports[0].name, 'health');
    assert.equal(svc.spec.ports[0].targetPort, 'health');

    const pm = one(helmTemplate({ metrics: { podMonitor: { enabled: true } } }), 'PodMonitor', 'armorwatch');
    assert.deepEqual(pm, one(render('deploy/overlays/prometheus-operator'), 'PodMonitor', 'armorwatch'), 'the overlay\'s PodMonitor');

    const push = parsedConfig(helmTemplate({ exporter: { endpoint: 'http://collector:4317' }, metrics: { otlp: true, interval: '15s' } }));
    assert.deepEqual({ prometheus: push.metrics.prometheus, endpoint: push.metrics.otlp?.endpoint, intervalMs: push.metrics.intervalMs },
      { prometheus: true, endpoint: 'http://collector:4317', intervalMs: 15_000 });
    const off = helmTemplate({ metrics: { enabled: false, serviceMonitor: { enabled: true } } });
    assert.deepEqual(parsedConfig(off).metrics, { prometheus: false, otlp: null, intervalMs: 60_000 });
    assert.equal(off.filter((o) => o.kind === 'ServiceMonitor').length, 0, 'no monitor of metrics that are off');
  });

  test('another release name and namespace: every object follows', () => {
    const objs = helmTemplate({}, 'sec', 'security');
    for (const o of objs) {
      if (!['ClusterRole', 'ClusterRoleBinding', 'Namespace'].includes(o.kind)) assert.equal(o.metadata.namespace, 'security', key(o));
    }
    one(objs, 'Namespace', 'security');
    const ds = one(objs, 'DaemonSet', 'sec-armorwatch');
    one(objs, 'ServiceAccount', ds.spec.template.spec.serviceAccountName);
    assert.deepEqual(one(objs, 'ClusterRoleBinding', 'sec-armorwatch').subjects, [{ kind: 'ServiceAccount', name: 'sec-armorwatch', namespace: 'security' }]);
    assert.equal(helmTemplate({ namespace: { create: false } }).filter((o) => o.kind === 'Namespace').length, 0);
  });
});
