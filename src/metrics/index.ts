// The agent's own metrics, with the OpenTelemetry metrics SDK: Prometheus text at /metrics on the
// health server and, optionally, OTLP push to the alerts' receiver. Every stage keeps its counters
// as it always did (plain numbers, nothing added to the hot path); the instruments here are
// asynchronous and read those counters when a scrape or a push asks. Only what no stage counts
// by itself is counted here: matches per policy and action, policy loads, export request times.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Attributes, BatchObservableResult, Histogram, Observable } from '@opentelemetry/api';
import type { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MeterProvider, MetricReader, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { MetricsConfig, OtlpConfig } from '../config/types.ts';
import type { EnricherStats } from '../enrich/index.ts';
import type { ExportStats } from '../export/index.ts';
import { grpcTransport, httpAgentOptions } from '../export/otlp.ts';
import { agentResource } from '../export/resource.ts';
import type { Logger } from '../log.ts';
import type { MonitorStats } from '../monitor/index.ts';
import type { ScanStats } from '../detect/portscan.ts';
import { VERSION } from '../version.ts';
import { METRICS, prometheusBaseName, type MetricId } from './definitions.ts';

export { METRICS } from './definitions.ts';

// CommonJS builds, as src/enrich/kube.ts loads the Kubernetes client: the ES module build of the
// Prometheus exporter imports node:http's namespace, which pulls the bundled undici into memory.
// Measured (node 24, 30 instruments, one collect, after GC): +6.3 MB RSS this way, +9.5 MB through
// the ES module builds, +7.0 MB with prom-client instead.
const require = createRequire(import.meta.url);
type SdkMetrics = typeof import('@opentelemetry/sdk-metrics');
type PromModule = typeof import('@opentelemetry/exporter-prometheus');

/** Where the observable instruments read from; each may be absent until its stage has started. */
export interface MetricSources {
  monitor?: () => MonitorStats;
  enrich?: () => EnricherStats;
  export?: () => ExportStats;
  throttle?: () => ThrottleStats;
  scan?: () => ScanStats;
  policy?: () => PolicyStats;
  /** The identity watch (src/policy/identity.ts): its updates the kernel refused. */
  identities?: () => { readonly refused: number };
}

/** What the policy store reports of refused changes and unobserved sections (src/policy/watch.ts's status). */
export interface PolicyStats {
  readonly refusedChanges: { readonly capacity: number; readonly kernelFilter: number };
  readonly unobservedSections: Readonly<Record<string, readonly string[]>>;
}

/** What alert throttling has suppressed so far (src/policy/throttle.ts). */
export interface ThrottleStats {
  readonly periods: number;
  readonly suppressedBy: Iterable<{ readonly namespace: string; readonly workload: string; readonly policy: string; readonly count: number }>;
}

export interface MetricsIdentity {
  readonly serviceName: string;
  readonly nodeName: string;
  readonly clusterName: string;
  /** Static Resource attributes (--resource-attributes); the agent's own win. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
}

export interface AgentMetrics {
  /** One alert for `policy` with `action` went to export. */
  countMatch(policy: string, action: string): void;
  /** A policy load finished (the first one included). */
  policyLoad(policies: number, rejected: number): void;
  /** One OTLP export request took `seconds`. */
  exportRequest(seconds: number, ok: boolean): void;
  /** Prometheus text for GET /metrics; null when Prometheus is off. */
  readonly handler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** The Prometheus text (tests, and the handler). */
  scrape(): Promise<string>;
  /** Pushes a last time (OTLP) and stops. Idempotent. */
  shutdown(): Promise<void>;
}

const PROM_NAMES = new Map(Object.values(METRICS).map((m) => [m.name, prometheusBaseName(m)]));

/** The ResourceMetrics with each instrument under its Prometheus name (the serializer adds _total). */
function withPrometheusNames(rm: ResourceMetrics): ResourceMetrics {
  return {
    ...rm,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      ...sm,
      metrics: sm.metrics.map((m) => {
        const name = PROM_NAMES.get(m.descriptor.name);
        return name === undefined ? m : { ...m, descriptor: { ...m.descriptor, name } };
      }),
    })),
  };
}

function otlpMetricExporter(cfg: OtlpConfig): PushMetricExporter {
  if (cfg.protocol === 'grpc') {
    const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc') as typeof import('@opentelemetry/exporter-metrics-otlp-grpc');
    type Options = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;
    return new OTLPMetricExporter({
      url: cfg.endpoint, ...grpcTransport(cfg), timeoutMillis: cfg.timeoutMs,
      compression: cfg.compression as NonNullable<Options['compression']>,
    });
  }
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto');
  type Options = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;
  return new OTLPMetricExporter({
    url: cfg.endpoint, headers: { ...cfg.headers }, timeoutMillis: cfg.timeoutMs, httpAgentOptions: httpAgentOptions(cfg),
    compression: cfg.compression as NonNullable<Options['compression']>,
  });
}

const EXPORT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createAgentMetrics(config: MetricsConfig, id: MetricsIdentity, sources: MetricSources, log: Logger): AgentMetrics {
  const sdk = require('@opentelemetry/sdk-metrics') as SdkMetrics;
  const readers: MetricReader[] = [];
  let prom: PrometheusExporter | undefined;
  let serializer: PrometheusSerializer | undefined;
  if (config.prometheus) {
    const p = require('@opentelemetry/exporter-prometheus') as PromModule;
    prom = new p.PrometheusExporter({ preventServerStart: true });
    serializer = new p.PrometheusSerializer();
    readers.push(prom);
  }
  if (config.otlp !== null) {
    readers.push(new sdk.PeriodicExportingMetricReader({
      exporter: otlpMetricExporter(config.otlp),
      exportIntervalMillis: config.intervalMs,
      exportTimeoutMillis: Math.min(config.intervalMs, config.otlp.timeoutMs),
    }));
  }
  const provider: MeterProvider = new sdk.MeterProvider({
    // The Resource of the agent's host-process alerts: same service.instance.id and schema_url.
    resource: agentResource(
      { serviceName: id.serviceName, serviceVersion: VERSION, extra: id.resourceAttributes ?? {} },
      { clusterName: id.clusterName, hostName: id.nodeName },
    ),
    readers,
  });
  const meter = provider.getMeter('armorwatch', VERSION);
  const opts = (k: MetricId) => ({ description: METRICS[k].description, unit: METRICS[k].unit });
  const counter = (k: MetricId): Observable => meter.createObservableCounter(METRICS[k].name, opts(k));
  const gauge = (k: MetricId): Observable => meter.createObservableGauge(METRICS[k].name, opts(k));
  const o = {
    eventsDelivered: counter('eventsDelivered'), eventsFiltered: counter('eventsFiltered'), eventsGated: counter('eventsGated'), eventsLost: counter('eventsLost'),
    decodeErrors: counter('decodeErrors'), cacheEntries: gauge('cacheEntries'), lookupsPending: gauge('lookupsPending'),
    unattributed: counter('unattributed'), lookupFailures: counter('lookupFailures'), forgotten: counter('forgotten'),
    watchRestarts: counter('watchRestarts'), matches: counter('matches'),
    alertsSuppressed: counter('alertsSuppressed'), throttlePeriods: counter('throttlePeriods'), policiesLoaded: gauge('policiesLoaded'),
    policiesRejected: gauge('policiesRejected'), reloads: counter('reloads'), changesRefused: counter('changesRefused'),
    unobservedSections: gauge('unobservedSections'), offered: counter('offered'),
    scanRecords: counter('scanRecords'), scanKeys: gauge('scanKeys'), scanDropped: counter('scanDropped'),
    accepted: counter('accepted'), exported: counter('exported'), retried: counter('retried'), dropped: counter('dropped'),
    queueRecords: gauge('queueRecords'), queueSize: gauge('queueSize'),
  } satisfies Partial<Record<MetricId, Observable>>;
  const duration: Histogram = meter.createHistogram(METRICS.exportDuration.name, {
    ...opts('exportDuration'), advice: { explicitBucketBoundaries: EXPORT_BUCKETS_S },
  });

  // Counted here: per action, then per policy (no string built per match).
  const matches = new Map<string, Map<string, number>>();
  let policyGauges: { policies: number; rejected: number } | undefined;
  const reloads = { ok: 0, rejected: 0 };

  meter.addBatchObservableCallback((r: BatchObservableResult) => {
    const m = sources.monitor?.();
    if (m !== undefined) {
      r.observe(o.eventsDelivered, m.delivered);
      r.observe(o.eventsFiltered, m.filteredInKernel);
      r.observe(o.eventsGated, m.gatedNetInKernel);
      r.observe(o.eventsLost, m.lostInKernel, { reason: 'ring_buffer_full' });
      r.observe(o.eventsLost, m.lostPending, { reason: 'no_pending_slot' });
      r.observe(o.eventsLost, m.lostNetPending, { reason: 'connect_outcome_untracked' });
      r.observe(o.eventsLost, m.lostGateTargets, { reason: 'scan_gate_target_evicted' });
      r.observe(o.decodeErrors, m.decodeErrors);
    }
    const e = sources.enrich?.();
    if (e !== undefined) {
      const caches: Array<[string, number]> = [['cgroups', e.cgroups], ['containers', e.containers], ['images', e.images], ['workloads', e.workloads]];
      if (e.kubernetes !== null) {
        caches.push(['k8s_pods', e.kubernetes.pods], ['k8s_containers', e.kubernetes.containers], ['k8s_namespaces', e.kubernetes.namespaces], ['k8s_owners', e.kubernetes.parents]);
        r.observe(o.watchRestarts, e.kubernetes.restarts);
      }
      for (const [cache, n] of caches) r.observe(o.cacheEntries, n, { cache });
      r.observe(o.lookupsPending, e.pendingLookups);
      r.observe(o.unattributed, e.unattributed);
      r.observe(o.lookupFailures, e.lookupFailures);
      r.observe(o.forgotten, e.forgotten);
    }
    for (const [action, byPolicy] of matches) for (const [policy, n] of byPolicy) r.observe(o.matches, n, { policy, action });
    const th = sources.throttle?.();
    if (th !== undefined) {
      r.observe(o.throttlePeriods, th.periods);
      for (const x of th.suppressedBy) r.observe(o.alertsSuppressed, x.count, { namespace: x.namespace, workload: x.workload, policy: x.policy });
    }
    const sc = sources.scan?.();
    if (sc !== undefined) {
      for (const [phase, n] of Object.entries(sc.records)) r.observe(o.scanRecords, n, { phase });
      r.observe(o.scanKeys, sc.keys - sc.active, { state: 'watching' });
      r.observe(o.scanKeys, sc.active, { state: 'scanning' });
      for (const [reason, n] of Object.entries(sc.dropped)) r.observe(o.scanDropped, n, { reason });
    }
    if (policyGauges !== undefined) {
      r.observe(o.policiesLoaded, policyGauges.policies);
      r.observe(o.policiesRejected, policyGauges.rejected);
      r.observe(o.reloads, reloads.ok, { result: 'ok' });
      r.observe(o.reloads, reloads.rejected, { result: 'rejected' });
    }
    const ps = sources.policy?.();
    if (ps !== undefined) {
      r.observe(o.changesRefused, ps.refusedChanges.capacity, { reason: 'capacity' });
      r.observe(o.changesRefused, ps.refusedChanges.kernelFilter, { reason: 'kernel_filter' });
      for (const [section, keys] of Object.entries(ps.unobservedSections)) r.observe(o.unobservedSections, keys.length, { section });
    }
    const ids = sources.identities?.();
    if (ids !== undefined) r.observe(o.changesRefused, ids.refused, { reason: 'identities' });
    const x = sources.export?.();
    if (x?.otlp !== undefined) {
      const c = x.otlp;
      const a: Attributes = { exporter: 'otlp' };
      r.observe(o.offered, c.offered, a);
      r.observe(o.accepted, c.accepted, a);
      r.observe(o.exported, c.exported, a);
      r.observe(o.retried, c.retried, a);
      for (const [reason, n] of Object.entries(c.dropped)) r.observe(o.dropped, n, { exporter: 'otlp', reason });
      r.observe(o.queueRecords, c.queued, { exporter: 'otlp', state: 'queued' });
      r.observe(o.queueRecords, c.inFlight, { exporter: 'otlp', state: 'in_flight' });
      r.observe(o.queueSize, c.heldBytes, a);
    }
    if (x?.stdout !== undefined) {
      const c = x.stdout;
      const a: Attributes = { exporter: 'stdout' };
      r.observe(o.offered, c.offered, a);
      r.observe(o.exported, c.written, a);
      for (const [reason, n] of Object.entries(c.dropped)) r.observe(o.dropped, n, { exporter: 'stdout', reason });
      r.observe(o.queueRecords, c.pending, { exporter: 'stdout', state: 'queued' });
    }
  }, Object.values(o));

  const scrape = async (): Promise<string> => {
    if (prom === undefined || serializer === undefined) return '';
    const { resourceMetrics, errors } = await prom.collect();
    for (const err of errors) log.warn({ err }, 'metrics: collection error');
    return serializer.serialize(withPrometheusNames(resourceMetrics));
  };
  let closed: Promise<void> | undefined;
  return {
    countMatch(policy, action) {
      let byPolicy = matches.get(action);
      if (byPolicy === undefined) matches.set(action, byPolicy = new Map());
      byPolicy.set(policy, (byPolicy.get(policy) ?? 0) + 1);
    },
    policyLoad(policies, rejected) {
      policyGauges = { policies, rejected };
      if (rejected > 0) reloads.rejected++;
      else reloads.ok++;
    },
    exportRequest(seconds, ok) {
      duration.record(seconds, { exporter: 'otlp', outcome: ok ? 'success' : 'failure' });
    },
    handler: prom === undefined ? null : (req, res) => {
      scrape().then((text) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      }, (err: unknown) => {
        log.warn({ err }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      });
    },
    scrape,
    shutdown() {
      closed ??= provider.shutdown().catch((err: unknown) => log.warn({ err }, 'metrics: last push failed'));
      return closed;
    },
  };
}
