// OTEL_RESOURCE_ATTRIBUTES and --resource-attributes reach the backend on every workload's
// Resource (checked at the real Collector), and on the metrics' Resource; the attributes the agent
// derives itself (cluster, node, pod) cannot be overridden by them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRunConfig } from '../../src/config/parse.ts';
import { createAlertExporter } from '../../src/export/index.ts';
import { silentLogger } from '../../src/log.ts';
import { createAgentMetrics } from '../../src/metrics/index.ts';
import { startCollector } from '../helpers/collector.ts';
import { HOST_MATCH, podMatch } from './fixtures.ts';

test('static resource attributes on every workload Resource and on the metrics; the agent\'s own win', async () => {
  const c = await startCollector();
  try {
    const r = parseRunConfig(['--policies', '/p', '--resource-attributes', 'team=payments,deployment.environment.name=prod',
      '--health-addr', '127.0.0.1:0'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${c.grpcAddress}`,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,k8s.cluster.uid=0b5e%2C1,k8s.cluster.name=not-this,env=prod',
    });
    assert.equal(r.help, false);
    if (r.help) return;
    const cfg = r.config;
    assert.deepEqual(cfg.resourceAttributes, {
      'deployment.environment.name': 'prod', 'k8s.cluster.uid': '0b5e,1', 'k8s.cluster.name': 'not-this', env: 'prod', team: 'payments',
    });
    const exp = createAlertExporter(cfg, silentLogger);
    const matches = [podMatch(0, 1), podMatch(1, 2), HOST_MATCH];
    for (const m of matches) exp.export(m);
    await exp.forceFlush();
    await exp.shutdown(2000);
    const recs = await c.waitForRecords(matches.length);
    assert.equal(recs.length, matches.length);
    const resources = new Set(recs.map((x) => JSON.stringify(x.resource)));
    assert.equal(resources.size, 3, 'three workloads, three Resources');
    for (const rec of recs) {
      assert.equal(rec.resource['deployment.environment.name'], 'prod', 'the flag wins over the variable');
      assert.equal(rec.resource['k8s.cluster.uid'], '0b5e,1', 'URL-decoded');
      assert.equal(rec.resource.team, 'payments');
      assert.equal(rec.resource.env, 'prod', "Datadog's env tag");
      assert.equal(rec.resource['k8s.cluster.name'], matches[0]!.node.clusterName, 'what the agent knows wins');
    }
    const metrics = createAgentMetrics({ prometheus: true, otlp: null, intervalMs: 60_000 }, cfg, {}, silentLogger);
    const text = await metrics.scrape();
    await metrics.shutdown();
    assert.match(text, /^target_info\{[^}]*deployment_environment_name="prod"[^}]*\} 1$/m);
    assert.match(text, new RegExp(`^target_info\\{[^}]*k8s_cluster_name="${cfg.clusterName}"`, 'm'));
  } finally {
    await c.dispose();
  }
});
