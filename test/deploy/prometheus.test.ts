// The Prometheus alert rules: promtool (Prometheus's own checker) parses them and runs their unit
// tests (loss and a stalled export fire, a healthy agent does not); every series and label they
// use is one the agent serves; the operator overlay carries the same rules.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { METRICS, prometheusBaseName, prometheusNames } from '../../src/metrics/definitions.ts';
import { one, render, requireKubectl, root } from './render.ts';

const RULES = join(root, 'deploy/prometheus/alert-rules.yaml');
const RULE_TESTS = join(root, 'deploy/prometheus/alert-rules.test.yaml');

interface Rule { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;

function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: join(root, 'deploy/prometheus') });
  assert.ok(r.error === undefined, `promtool is needed (Debian package prometheus; bash scripts/setup.sh --with-test-deps installs it): ${r.error?.message}`);
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

test('promtool parses the rules, and their unit tests pass', () => {
  assert.match(promtool('check', 'rules', RULES), /SUCCESS: 4 rules found/);
  assert.match(promtool('test', 'rules', RULE_TESTS), /SUCCESS/);
});

test('there are rules for kernel loss, dropped alerts and a stalled export', () => {
  const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
  assert.deepEqual(names, ['ArmorwatchEventsLost', 'ArmorwatchEventsUndecodable', 'ArmorwatchAlertsDropped', 'ArmorwatchExportStalled']);
});

test('every series the rules and their tests read is one /metrics serves, every label one it sets', () => {
  const served = new Set(Object.values(METRICS).flatMap((m) => [...prometheusNames(m), prometheusBaseName(m)]));
  const labels = new Set(['job', 'instance', ...Object.values(METRICS).flatMap((m) => Object.keys(m.attributes))]);
  const texts = [...groups.flatMap((g) => g.rules.map((r) => r.expr)), readFileSync(RULE_TESTS, 'utf8')];
  let seen = 0;
  for (const text of texts) {
    for (const [name] of text.matchAll(/\barmorwatch_[a-z_]+\b/g)) {
      assert.ok(served.has(name), `${name} is not a metric of docs/METRICS.md`);
      seen++;
    }
  }
  assert.ok(seen >= 6);
  for (const r of groups.flatMap((g) => g.rules)) {
    for (const m of r.expr.matchAll(/\b(?:by|on) \(([^)]*)\)/g)) {
      for (const l of m[1]!.split(',').map((x) => x.trim())) assert.ok(labels.has(l), `${r.alert}: label ${l} is not set on any series`);
    }
    for (const m of r.expr.matchAll(/\{([^}]*)\}/g)) {
      for (const l of m[1]!.split(',').map((x) => x.split('=')[0]!.trim())) assert.ok(labels.has(l), `${r.alert}: label ${l}`);
    }
  }
});

test('deploy/overlays/prometheus-operator: a PodMonitor on the health port at /metrics, and the same rules', () => {
  requireKubectl();
  const objs = render('deploy/overlays/prometheus-operator');
  const pm = one(objs, 'PodMonitor', 'armorwatch');
  const ds = one(objs, 'DaemonSet', 'armorwatch');
  assert.deepEqual(pm.spec.selector.matchLabels, ds.spec.template.metadata.labels);
  const [ep] = pm.spec.podMetricsEndpoints as Array<{ port: string; path: string }>;
  const port = (ds.spec.template.spec.containers[0].ports as Array<{ name: string; containerPort: number }>).find((p) => p.name === ep!.port);
  assert.ok(port, `the DaemonSet has no port named ${ep!.port}`);
  const addr = (ds.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).find((e) => e.name === 'ARMORWATCH_HEALTH_ADDR');
  assert.equal(addr?.value, `0.0.0.0:${port.containerPort}`, 'the port the health server (and /metrics) listens on');
  assert.equal(ep!.path, '/metrics');
  assert.deepEqual(one(objs, 'PrometheusRule', 'armorwatch').spec.groups, groups);
});
