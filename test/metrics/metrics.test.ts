// The agent's metrics as Prometheus and the Collector see them: a real scrape of /metrics on the
// health server while real exports reach the real Collector, and OTLP push into that Collector.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseRunConfig } from '../../src/config/parse.ts';
import type { MetricsConfig, OtlpConfig } from '../../src/config/types.ts';
import type { EnricherStats } from '../../src/enrich/index.ts';
import { createAlertExporter, type ExportSettings } from '../../src/export/index.ts';
import { startHealthServer } from '../../src/health/server.ts';
import { silentLogger } from '../../src/log.ts';
import { METRICS, prometheusNames } from '../../src/metrics/definitions.ts';
import { createAgentMetrics, type MetricSources } from '../../src/metrics/index.ts';
import { NO_HOOKS, type MonitorStats } from '../../src/monitor/index.ts';
import { AlertThrottle, throttleSubject } from '../../src/policy/throttle.ts';
import { startCollector, type Collector } from '../helpers/collector.ts';
import { HOST_MATCH, podMatch } from '../export/fixtures.ts';
import { SCHEMA_URL } from '../../src/export/attributes.ts';
import { uuidV5 } from '../../src/export/resource.ts';
import { PortScanDetector } from '../../src/detect/portscan.ts';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import { connect, HOST, NODE } from '../detect/fixtures.ts';

const ID = { serviceName: 'armorwatch', nodeName: 'node-a', clusterName: 'c1', resourceAttributes: { 'deployment.environment.name': 'prod' } };
const PROM_ONLY: MetricsConfig = { prometheus: true, otlp: null, intervalMs: 60_000 };

function grpc(c: Collector): OtlpConfig {
  return { endpoint: `http://${c.grpcAddress}`, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 3000 };
}

/** Prometheus text → `name{labels}` → value (labels sorted, otel_scope_* left out). */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .filter((l) => !l[1]!.startsWith('otel_scope_')).map((l) => `${l[1]}=${l[2]}`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

const discard = (): Writable => new Writable({ write(_c, _e, cb) { cb(); } });

const MONITOR: MonitorStats = { delivered: 1234, lostInKernel: 7, lostPending: 2, decodeErrors: 1, filteredInKernel: 98_765, filteredExecInKernel: 321, filteredNetInKernel: 12, lostNetPending: 3, gatedNetInKernel: 77, lostGateTargets: 4,
  hook: 'tp_btf', execHook: 'tp_btf', execHookAttached: true, outcomeHook: 'tp_btf', outcomeAttached: false, outcomeProblem: '', hooks: NO_HOOKS };
const POLICY = { refusedChanges: { capacity: 2, kernelFilter: 1 }, unobservedSections: { capabilities: ['KubeArmorPolicy/a/cap1', 'KubeArmorPolicy/a/cap2'], apparmor: ['KubeArmorPolicy/a/aa'] } };
const ENRICH: EnricherStats = {
  cgroups: 11, containers: 5, images: 3, workloads: 6, pendingLookups: 1, timers: 0, unattributed: 4, lookupFailures: 2, forgotten: 9, suppressedWarnings: 0,
  kubernetes: { pods: 8, containers: 13, namespaces: 4, parents: 2, timers: 0, restarts: 3 },
};

test('a scrape of /metrics serves every documented metric with the counts of real exports to the Collector', async () => {
  const c = await startCollector();
  const sources: MetricSources = { monitor: () => MONITOR, enrich: () => ENRICH, policy: () => POLICY };
  const metrics = createAgentMetrics(PROM_ONLY, ID, sources, silentLogger);
  const settings: ExportSettings = {
    exporter: 'both', otlp: grpc(c), serviceName: 'armorwatch', statsIntervalMs: 0,
    queue: { maxRecords: 10_000, maxBytes: 64 << 20, batchRecords: 100, retryMaxElapsedMs: 0 },
  };
  const exp = createAlertExporter(settings, silentLogger, { stdout: discard(), processor: { onExportRequest: metrics.exportRequest, batchDelayMs: 10 } });
  sources.export = exp.stats;
  // A real throttle (2 alerts/s, on a stopped clock): 10 matches of pod 0, 8 of them suppressed.
  const throttle = new AlertThrottle({ enabled: true, maxAlertPerSec: 2, throttleSec: 30 }, () => undefined, () => 1_000_000);
  sources.throttle = () => ({ periods: throttle.counters().periods, suppressedBy: throttle.suppressedBy.values() });
  for (let i = 0; i < 10; i++) throttle.admit(throttleSubject(podMatch(0, i).workload), podMatch(0, i).decision.policyName);
  // A real port-scan detector (2 keys at most): one ended episode, one still running, a third key dropped for room.
  const scan = new PortScanDetector({ ...SCAN_DEFAULTS, maxKeys: 2 }, () => undefined);
  sources.scan = () => scan.stats();
  for (let p = 1; p <= 25; p++) scan.observe(connect({ host: '10.0.0.2', port: p, ms: p, pid: 10, ppid: 1 }), HOST, NODE, p);
  scan.sweep(60_000);
  for (let p = 1; p <= 25; p++) scan.observe(connect({ host: '10.0.0.3', port: p, ms: 60_000 + p, pid: 11, ppid: 1 }), HOST, NODE, 60_000 + p);
  for (const pid of [12, 13]) scan.observe(connect({ host: '10.0.0.4', port: 80, ms: 60_100, pid, ppid: 1 }), HOST, NODE, 60_100);
  const health = await startHealthServer({ host: '127.0.0.1', port: 0 }, { live: () => null, ready: () => null }, { routes: { '/metrics': metrics.handler! } });
  try {
    const n = 750;
    for (let i = 0; i < n; i++) {
      const a = podMatch(i % 3, i);
      metrics.countMatch(a.decision.policyName, i % 5 === 0 ? 'Block' : 'Audit');
      exp.export(a);
    }
    metrics.policyLoad(4, 0);
    metrics.policyLoad(3, 2);
    await exp.forceFlush();
    const received = await c.waitForRecords(n);
    assert.equal(received.length, n);
    const logRequests = c.requests().filter((r) => r.resourceLogs !== undefined).length;

    const res = await fetch(`http://127.0.0.1:${health.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const s = parseProm(text);
    const get = (key: string): number | undefined => s.get(key);

    // Every metric of the table is served under its documented Prometheus name.
    for (const m of Object.values(METRICS)) {
      for (const name of prometheusNames(m)) assert.ok([...s.keys()].some((k) => k.startsWith(`${name}{`)), `${name} missing from the scrape`);
      assert.match(text, new RegExp(`^# TYPE ${prometheusNames(m)[0]!.replace(/_bucket$/, '')} ${m.kind}$`, 'm'));
    }
    // Export: what the exporters counted, which is what the Collector got.
    assert.equal(get('armorwatch_export_records_offered_total{exporter=otlp}'), n);
    assert.equal(get('armorwatch_export_records_accepted_total{exporter=otlp}'), n);
    assert.equal(get('armorwatch_export_records_exported_total{exporter=otlp}'), received.length);
    assert.equal(get('armorwatch_export_records_offered_total{exporter=stdout}'), n);
    assert.equal(get('armorwatch_export_records_exported_total{exporter=stdout}'), n);
    for (const reason of ['queue_full', 'rejected', 'retry_exhausted', 'shutdown']) {
      assert.equal(get(`armorwatch_export_records_dropped_total{exporter=otlp,reason=${reason}}`), 0, reason);
    }
    assert.equal(get('armorwatch_export_queue_records{exporter=otlp,state=queued}'), 0);
    assert.equal(get('armorwatch_export_queue_size_bytes{exporter=otlp}'), 0, 'nothing held after the flush');
    // One histogram observation per export request, as many as the Collector received.
    assert.equal(get('armorwatch_export_duration_seconds_count{exporter=otlp,outcome=success}'), logRequests);
    assert.ok((get('armorwatch_export_duration_seconds_sum{exporter=otlp,outcome=success}') ?? 0) > 0);
    assert.equal(get('armorwatch_export_duration_seconds_bucket{exporter=otlp,le=+Inf,outcome=success}'), logRequests);
    // Matches per policy and action add up to what was counted.
    const matches = [...s].filter(([k]) => k.startsWith('armorwatch_policy_matches_total{'));
    assert.equal(matches.reduce((sum, [, v]) => sum + v, 0), n);
    assert.equal(get(`armorwatch_policy_matches_total{action=Block,policy=${podMatch(0, 0).decision.policyName}}`), n / 5);
    // Throttling: what the throttle suppressed, per namespace, workload and policy, and its quiet periods.
    const w = throttleSubject(podMatch(0, 0).workload);
    assert.equal(get(`armorwatch_policy_alerts_suppressed_total{namespace=${w.namespace},policy=${podMatch(0, 0).decision.policyName},workload=${w.workload}}`), 8, text);
    assert.equal(get('armorwatch_policy_throttle_periods_total{}'), 1);
    // Policy loads: the latest load's gauges, every load counted.
    assert.equal(get('armorwatch_policy_loaded{}'), 3);
    assert.equal(get('armorwatch_policy_rejected{}'), 2);
    assert.equal(get('armorwatch_policy_reloads_total{result=ok}'), 1);
    assert.equal(get('armorwatch_policy_reloads_total{result=rejected}'), 1);
    // Refused changes by reason, and the policies in force with unobserved sections, by section.
    assert.equal(get('armorwatch_policy_changes_refused_total{reason=capacity}'), 2);
    assert.equal(get('armorwatch_policy_changes_refused_total{reason=kernel_filter}'), 1);
    assert.equal(get('armorwatch_policy_unobserved_sections{section=capabilities}'), 2);
    assert.equal(get('armorwatch_policy_unobserved_sections{section=apparmor}'), 1);
    // Monitor and enricher counters pass through under their names and labels.
    assert.equal(get('armorwatch_monitor_events_delivered_total{}'), MONITOR.delivered);
    assert.equal(get('armorwatch_monitor_events_filtered_total{}'), MONITOR.filteredInKernel);
    assert.equal(get('armorwatch_monitor_events_gated_total{}'), MONITOR.gatedNetInKernel);
    assert.equal(get('armorwatch_monitor_events_lost_total{reason=ring_buffer_full}'), MONITOR.lostInKernel);
    assert.equal(get('armorwatch_monitor_events_lost_total{reason=no_pending_slot}'), MONITOR.lostPending);
    assert.equal(get('armorwatch_monitor_events_lost_total{reason=connect_outcome_untracked}'), MONITOR.lostNetPending);
    assert.equal(get('armorwatch_monitor_events_lost_total{reason=scan_gate_target_evicted}'), MONITOR.lostGateTargets);
    assert.equal(get('armorwatch_enrich_cache_entries{cache=k8s_pods}'), ENRICH.kubernetes?.pods);
    assert.equal(get('armorwatch_enrich_kubernetes_watch_restarts_total{}'), ENRICH.kubernetes?.restarts);
    // Port-scan detection: records by phase, keys held, what its bounded memory forgot.
    assert.equal(get('armorwatch_detect_scan_records_total{phase=started}'), 2);
    assert.equal(get('armorwatch_detect_scan_records_total{phase=ended}'), 1);
    assert.equal(get('armorwatch_detect_scan_records_total{phase=updated}'), 0);
    assert.equal(get('armorwatch_detect_scan_keys{state=scanning}'), 1);
    assert.equal(get('armorwatch_detect_scan_keys{state=watching}'), 1);
    assert.equal(get('armorwatch_detect_scan_dropped_total{reason=keys}'), 1);
    // The resource, as Prometheus's target_info.
    assert.match(text, /^target_info\{[^}]*service_name="armorwatch"[^}]*\} 1$/m);
    assert.match(text, /^target_info\{[^}]*k8s_node_name="node-a"[^}]*\} 1$/m);
    assert.match(text, new RegExp(`^target_info\\{[^}]*service_instance_id="${uuidV5('c1/node-a/armorwatch')}"[^}]*\\} 1$`, 'm'));
    assert.match(text, /^target_info\{[^}]*deployment_environment_name="prod"[^}]*\} 1$/m);

    assert.equal((await fetch(`http://127.0.0.1:${health.port}/metrics`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${health.port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await exp.shutdown(2000);
    await metrics.shutdown();
    await health.close();
    await c.dispose();
  }
});

test('records the queue cannot hold are in the scrape as dropped{queue_full}: offered = accepted + dropped', async () => {
  // Nothing listens on this port: every export fails and is retried, so the queue fills.
  const sources: MetricSources = {};
  const metrics = createAgentMetrics(PROM_ONLY, ID, sources, silentLogger);
  const exp = createAlertExporter({
    exporter: 'otlp', serviceName: 'armorwatch', statsIntervalMs: 0,
    otlp: { endpoint: 'http://127.0.0.1:9', protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 500 },
    queue: { maxRecords: 40, maxBytes: 64 << 20, batchRecords: 10, retryMaxElapsedMs: 0 },
  }, silentLogger, { processor: { onExportRequest: metrics.exportRequest } });
  sources.export = exp.stats;
  try {
    for (let i = 0; i < 100; i++) exp.export(podMatch(0, i));
    await new Promise((r) => setTimeout(r, 1500));
    const s = parseProm(await metrics.scrape());
    const offered = s.get('armorwatch_export_records_offered_total{exporter=otlp}');
    const accepted = s.get('armorwatch_export_records_accepted_total{exporter=otlp}');
    const full = s.get('armorwatch_export_records_dropped_total{exporter=otlp,reason=queue_full}');
    assert.equal(offered, 100);
    assert.equal(accepted, 40);
    assert.equal(full, 60);
    assert.equal(s.get('armorwatch_export_records_exported_total{exporter=otlp}'), 0);
    const held = (s.get('armorwatch_export_queue_records{exporter=otlp,state=queued}') ?? 0) + (s.get('armorwatch_export_queue_records{exporter=otlp,state=in_flight}') ?? 0);
    assert.equal(held, 40, 'what was accepted is still held');
    assert.ok((s.get('armorwatch_export_queue_size_bytes{exporter=otlp}') ?? 0) > 40 * 64, 'the bytes of 40 records');
    const failures = s.get('armorwatch_export_duration_seconds_count{exporter=otlp,outcome=failure}');
    assert.ok((failures ?? 0) >= 1, 'failed export requests are timed too');
  } finally {
    await exp.shutdown(100);
    await metrics.shutdown();
  }
});

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  test(`OTLP push over ${protocol} reaches the Collector, where the alerts go (configured as a user would)`, async () => {
    const c = await startCollector();
    const endpoint = protocol === 'grpc' ? `http://${c.grpcAddress}` : `http://${c.httpBase}`;
    const parsed = parseRunConfig(['--policies', '/p', '--metrics-exporter', 'prometheus,otlp', '--metrics-interval', '200ms', '--health-addr', '127.0.0.1:0'],
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    const cfg = parsed.config.metrics;
    assert.equal(cfg.otlp?.endpoint, protocol === 'grpc' ? endpoint : `${endpoint}/v1/metrics`);
    const metrics = createAgentMetrics(cfg, ID, { monitor: () => MONITOR }, silentLogger);
    try {
      metrics.countMatch('ksp-a', 'Audit');
      metrics.countMatch('ksp-a', 'Audit');
      metrics.countMatch('ksp-b', 'Block');
      const point = async (name: string, attrs: Record<string, unknown>): Promise<number | undefined> => {
        for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
          const p = c.metricPoints().filter((x) => x.name === name && Object.entries(attrs).every(([k, v]) => x.attributes[k] === v)).pop();
          if (p !== undefined) return p.value;
        }
        return undefined;
      };
      assert.equal(await point('armorwatch.policy.matches', { policy: 'ksp-a', action: 'Audit' }), 2);
      assert.equal(await point('armorwatch.policy.matches', { policy: 'ksp-b', action: 'Block' }), 1);
      assert.equal(await point('armorwatch.monitor.events.lost', { reason: 'ring_buffer_full' }), MONITOR.lostInKernel);
      const p = c.metricPoints().find((x) => x.name === 'armorwatch.monitor.events.delivered');
      assert.equal(p?.kind, 'sum');
      assert.equal(p?.unit, '{event}');
      assert.equal(p?.resource['service.name'], 'armorwatch');
      assert.equal(p?.resource['k8s.cluster.name'], 'c1');
      // The metrics' Resource is the one the agent's host-process alerts carry: same attributes
      // (service.instance.id included) and the same schema_url.
      const alerts = createAlertExporter({
        exporter: 'otlp', otlp: parsed.config.otlp, queue: parsed.config.queue, serviceName: ID.serviceName,
        resourceAttributes: ID.resourceAttributes, statsIntervalMs: 0,
      }, silentLogger);
      alerts.export({ ...HOST_MATCH, node: { clusterName: ID.clusterName, hostName: ID.nodeName, labels: {} } });
      await alerts.shutdown(5000);
      const host = (await c.waitForRecords(1))[0];
      assert.deepEqual(p?.resource, host?.resource);
      assert.equal(p?.resource['service.instance.id'], uuidV5('c1/node-a/armorwatch'));
      assert.equal(p?.resource['deployment.environment.name'], 'prod');
      const schemaUrls = c.requests().flatMap((q) => [...(q.resourceMetrics ?? []), ...(q.resourceLogs ?? [])]).map((r) => r.schemaUrl);
      assert.ok(schemaUrls.length >= 2 && schemaUrls.every((u) => u === SCHEMA_URL), `every Resource (metrics and alerts) names ${SCHEMA_URL}: ${schemaUrls.join(', ')}`);
    } finally {
      await metrics.shutdown();
      await c.dispose();
    }
  });
}
