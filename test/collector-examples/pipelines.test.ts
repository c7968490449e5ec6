// The example pipelines carry real alerts: the agent exports to the datadog-agent example (as if
// it were the node's Datadog Agent route), which forwards over gRPC to the loki example, which
// sends OTLP/HTTP with the tenant header to a Collector standing in for Loki. Only the endpoints
// come from the environment, as the examples' READMEs document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort, runExample, startCollector } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { HOST_POLICY, startAgent, waitReady, writeHostPolicy } from '../deploy/agent.ts';
import { defer } from '../helpers/cleanup.ts';

test('an alert travels agent → datadog-agent example → loki example → Loki stand-in', { timeout: 5 * 60_000 }, async (t) => {
  if (!needsBpf(t)) return;
  const loki = await startCollector({ headers: ['x-scope-orgid'] });
  defer(t, 'loki.dispose', () => loki.dispose());
  const [lokiGrpc, lokiHttp, ddGrpc, ddHttp, health] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  await runExample(t, 'loki', {
    OTLP_GRPC_LISTEN: `127.0.0.1:${lokiGrpc}`, OTLP_HTTP_LISTEN: `127.0.0.1:${lokiHttp}`,
    LOKI_OTLP_ENDPOINT: `http://${loki.httpBase}`, LOKI_TENANT: 'security',
  });
  await runExample(t, 'datadog-agent', {
    OTLP_GRPC_LISTEN: `127.0.0.1:${ddGrpc}`, OTLP_HTTP_LISTEN: `127.0.0.1:${ddHttp}`,
    DD_AGENT_HOST: '127.0.0.1', DD_AGENT_OTLP_PORT: String(lokiGrpc),
  });

  const agent = startAgent(t, {
    policies: writeHostPolicy(t), healthPort: health,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ddGrpc}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
  });
  assert.ok(await waitReady(agent, health), `the agent did not become ready:\n${agent.err()}`);
  readFileSync('/proc/net/tcp');

  const matches = () => loki.records().filter((r) => r.attributes['security_rule.name'] === HOST_POLICY);
  await loki.waitForRecords(1, 60_000);
  for (let i = 0; i < 100 && matches().length === 0; i++) await new Promise((r) => setTimeout(r, 200));
  const rec = matches()[0];
  assert.ok(rec, `the alert did not arrive:\nagent: ${agent.err()}\nstand-in: ${loki.stderr}`);
  assert.equal(rec.attributes['file.path'], '/proc/net/tcp');
  assert.equal(rec.attributes['kubearmor.action'], 'Audit');
  assert.equal(rec.resource['service.name'], 'armorwatch');
  assert.equal(rec.resource['test.header.x-scope-orgid'], 'security', 'the loki example sends the tenant header');
});
