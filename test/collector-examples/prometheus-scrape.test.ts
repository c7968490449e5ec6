// otel-collector/examples/prometheus-scrape as a user runs it: the project's Collector scrapes a
// running agent's /metrics with its prometheus receiver (Prometheus's own text parser) and
// forwards the metrics over OTLP to a second Collector, whose file output must hold them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { METRICS, prometheusBaseName } from '../../src/metrics/definitions.ts';
import { HOST_POLICY, startAgent, waitFor, waitReady, writeHostPolicy } from '../deploy/agent.ts';
import { root } from '../deploy/render.ts';
import { collectorBinary, freePort, startCollector } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';

test('the prometheus-scrape example reads every metric of a live agent and forwards it', { timeout: 5 * 60_000 }, async (t) => {
  if (!needsBpf(t)) return;
  const sink = await startCollector();
  t.after(() => sink.dispose());
  const health = await freePort();
  const agent = startAgent(t, { policies: writeHostPolicy(t), healthPort: health });
  assert.ok(await waitReady(agent, health), `the agent did not become ready:\n${agent.err()}`);
  for (let i = 0; i < 3; i++) readFileSync('/proc/net/tcp');

  const scraper = spawn(collectorBinary(), ['--config', `file:${join(root, 'otel-collector/examples/prometheus-scrape/config.yaml')}`,
    '--set=service::telemetry::metrics::level=none'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AGENT_METRICS_TARGET: `127.0.0.1:${health}`, SCRAPE_INTERVAL: '1s', OTLP_METRICS_ENDPOINT: sink.grpcAddress },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => { if (scraper.exitCode === null) scraper.kill('SIGKILL'); });
  let stderr = '';
  scraper.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });

  // The receiver names a counter without its _total suffix (OTel style) or with it, by version.
  const points = (m: (typeof METRICS)[keyof typeof METRICS]) => sink.metricPoints().filter((p) =>
    p.name === prometheusBaseName(m) || p.name === `${prometheusBaseName(m)}_total`);
  const matched = () => points(METRICS.matches).filter((p) => p.attributes.policy === HOST_POLICY && p.attributes.action === 'Audit');
  assert.ok(await waitFor(() => matched().some((p) => p.value >= 3), 60_000),
    `no scraped armorwatch_policy_matches_total{policy="${HOST_POLICY}"} >= 3 arrived:\n${stderr.slice(-3000)}`);

  const names = new Set(sink.metricPoints().map((p) => p.name));
  // Series with labels appear once something is counted under them; the rest are always there.
  for (const m of Object.values(METRICS)) {
    // Alerts go to stdout here (no endpoint): the OTLP exporter's series are absent, and so is
    // the Kubernetes watch counter without a Kubernetes configuration. Three alerts stay under the
    // throttle limit, so the suppressed series (labelled by workload and policy) has no point yet.
    // The host policy here is fully observed, so no section is unobserved (the series is labelled
    // by section; test/cli/run-capacity.test.ts scrapes it with an unobserved one).
    if ([METRICS.exportDuration, METRICS.queueSize, METRICS.accepted, METRICS.retried, METRICS.watchRestarts, METRICS.alertsSuppressed, METRICS.unobservedSections].includes(m)) continue;
    assert.ok(points(m).length > 0, `${prometheusBaseName(m)} was not scraped (got: ${[...names].filter((n) => n.startsWith('armorwatch')).join(', ')})`);
  }
  const delivered = points(METRICS.eventsDelivered).at(-1);
  assert.equal(delivered?.kind, 'sum', 'a counter stays a monotonic sum');
  const p = matched().at(-1)!;
  assert.equal(p.resource['service.name'], 'armorwatch', 'the job');
  assert.ok(Object.values(p.resource).includes(`127.0.0.1:${health}`), `the scraped target in the resource: ${JSON.stringify(p.resource)}`);
});
