// The one table of the agent's own metrics: src/metrics/index.ts creates the instruments from it,
// docs/METRICS.md is rendered from it (src/metrics/docs.ts), test/metrics checks both against a
// real scrape. Names follow the OpenTelemetry conventions (dotted, unit in `unit`, not in the
// name); the Prometheus name is derived the way Prometheus wants it: dots to underscores, the
// base unit as a suffix (_seconds, _bytes), _total on counters.

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  /** OpenTelemetry instrument name (what OTLP push sends). */
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM unit: `s`, `By`, or an annotation such as `{event}`. */
  readonly unit: string;
  readonly description: string;
  /** Attribute (label) keys, each with the values it takes. */
  readonly attributes: Readonly<Record<string, string>>;
}

const spec = (name: string, kind: MetricKind, unit: string, description: string, attributes: Record<string, string> = {}): MetricSpec =>
  Object.freeze({ name, kind, unit, description, attributes: Object.freeze(attributes) });

export const EXPORTER_ATTR = { exporter: '`otlp` or `stdout`' };

export const METRICS = Object.freeze({
  // Monitor (kernel counters are refreshed by the helper every second).
  eventsDelivered: spec('armorwatch.monitor.events.delivered', 'counter', '{event}',
    'File events read from the kernel ring buffer, decoded and handed to the pipeline.'),
  eventsFiltered: spec('armorwatch.monitor.events.filtered', 'counter', '{event}',
    'Calls the kernel filter did not report because no policy rule can match them (not a loss).'),
  eventsGated: spec('armorwatch.monitor.events.gated', 'counter', '{event}',
    'Connects the port-scan gate counted in the kernel instead of reporting, while their workload attempted too few distinct ports and hosts to be a scan (not a loss: docs/DETECTION.md).'),
  eventsLost: spec('armorwatch.monitor.events.lost', 'counter', '{event}',
    'Events the kernel could not report.', {
      reason: '`ring_buffer_full` (the agent read too slowly; raise --ring-buffer-size), `no_pending_slot` (no per-thread slot for the call\'s entry state) `connect_outcome_untracked` (a non-blocking connect whose outcome the kernel\'s table had no room to follow) or `scan_gate_target_evicted` (a target the port-scan gate held back, pushed out of its table before it was handed over)',
    }),
  decodeErrors: spec('armorwatch.monitor.decode.errors', 'counter', '{record}',
    'Records from the monitor helper that did not decode (each is also logged).'),
  // Enrich.
  cacheEntries: spec('armorwatch.enrich.cache.entries', 'gauge', '{entry}',
    'Entries in the enricher\'s caches.', {
      cache: '`cgroups`, `containers`, `images`, `workloads`; with Kubernetes also `k8s_pods`, `k8s_containers`, `k8s_namespaces`, `k8s_owners`',
    }),
  lookupsPending: spec('armorwatch.enrich.lookups.pending', 'gauge', '{lookup}',
    'Container runtime lookups in progress.'),
  unattributed: spec('armorwatch.enrich.events.unattributed', 'counter', '{event}',
    'Events passed on without container metadata because the lookup was too slow or failed.'),
  lookupFailures: spec('armorwatch.enrich.lookup.failures', 'counter', '{lookup}',
    'Container runtime lookups that failed.'),
  forgotten: spec('armorwatch.enrich.containers.forgotten', 'counter', '{container}',
    'Containers dropped from the caches after they were deleted.'),
  watchRestarts: spec('armorwatch.enrich.kubernetes.watch.restarts', 'counter', '{restart}',
    'Kubernetes list-and-watch loops restarted after an error (the informers of pods, namespaces, nodes).'),
  // Policy.
  matches: spec('armorwatch.policy.matches', 'counter', '{match}',
    'Events that matched a policy rule (throttled ones included: alerts sent = matches − alerts.suppressed).', {
      policy: 'the policy name (PolicyName)',
      action: '`Audit` or `Block` (the policy\'s action; armorwatch never blocks, it reports)',
    }),
  alertsSuppressed: spec('armorwatch.policy.alerts.suppressed', 'counter', '{alert}',
    'Alerts not sent because their container was throttled (--max-alerts-per-sec, --throttle-sec); also reported in the notice that ends the quiet period.', {
      namespace: 'the namespace (empty for host processes)',
      workload: 'the owning workload, else the pod, else the container name (`host` for host processes)',
      policy: 'the policy name (PolicyName)',
    }),
  throttlePeriods: spec('armorwatch.policy.throttle.periods', 'counter', '{period}',
    'Quiet periods of alert throttling started (one notice record each).'),
  policiesLoaded: spec('armorwatch.policy.loaded', 'gauge', '{policy}',
    'Policies in force after the latest load.'),
  policiesRejected: spec('armorwatch.policy.rejected', 'gauge', '{document}',
    'Policy documents rejected by the latest load (an earlier valid version stays in force where there is one).'),
  reloads: spec('armorwatch.policy.reloads', 'counter', '{reload}',
    'Policy loads, the first one included.', {
      result: '`ok`, or `rejected` when at least one document was rejected',
    }),
  changesRefused: spec('armorwatch.policy.changes.refused', 'counter', '{change}',
    'Policy changes refused as a whole: the policies in force stay, engine and kernel filter alike, and the change is tried again: over the capacity at the next full scan, a failed switch after 1 s, 2 s, 4 s, ... up to the rescan period.', {
      reason: '`capacity` (the kernel filter would need more than --kernel-filter-capacity entries), `kernel_filter` (the kernel filter could not be switched) or `identities` (an update of the files watched by identity -- a container started, a watched file replaced -- was refused, e.g. more than --kernel-filter-capacity identities; the set in force stays and it is tried again at the next refresh, every 10 s)',
    }),
  unobservedSections: spec('armorwatch.policy.unobserved.sections', 'gauge', '{policy}',
    'Policies in force with a section, or values of one, that this node does not observe (validate and the load log say which).', {
      section: 'the section of the spec: `capabilities`, `network`, `apparmor`, `device`, `presets` or `syscalls` (calls not observed)',
    }),
  // Detection (port scans, src/detect).
  scanRecords: spec('armorwatch.detect.scan.records', 'counter', '{record}',
    'Port-scan records sent: per episode one started, updated ones at most every --scan-update-interval, one ended.', {
      phase: '`started`, `updated` or `ended`',
    }),
  scanKeys: spec('armorwatch.detect.scan.keys', 'gauge', '{key}',
    'Pods and host process trees port-scan detection holds state for (bounded by --scan-max-keys).', {
      state: '`watching` (no episode) or `scanning` (an episode runs)',
    }),
  scanDropped: spec('armorwatch.detect.scan.dropped', 'counter', '{entry}',
    'What the bounded memory of port-scan detection forgot (counts may then be short).', {
      reason: '`keys` (a watched pod or process tree without a running episode, for room: --scan-max-keys), `targets` (a host:port seen before any episode: --scan-max-targets), `hosts` (a host of a running episode past --scan-max-targets, not counted as distinct)',
    }),
  // Export.
  offered: spec('armorwatch.export.records.offered', 'counter', '{record}',
    'Alert records handed to an exporter.', EXPORTER_ATTR),
  accepted: spec('armorwatch.export.records.accepted', 'counter', '{record}',
    'Records taken into the OTLP export queue (offered minus dropped{queue_full}).', { exporter: '`otlp`' }),
  exported: spec('armorwatch.export.records.exported', 'counter', '{record}',
    'Records the backend confirmed (OTLP), or standard output took (stdout).', EXPORTER_ATTR),
  retried: spec('armorwatch.export.records.retried', 'counter', '{record}',
    'Records sent again after a retryable failure (a batch of n retried twice counts 2n).', { exporter: '`otlp`' }),
  dropped: spec('armorwatch.export.records.dropped', 'counter', '{record}',
    'Records that never reached the backend.', {
      ...EXPORTER_ATTR,
      reason: '`queue_full`, `rejected` (the backend refused them, not retryable), `retry_exhausted` (gave up after --retry-max-elapsed), `shutdown` (still held at the shutdown deadline)',
    }),
  queueRecords: spec('armorwatch.export.queue.records', 'gauge', '{record}',
    'Records held for export.', { ...EXPORTER_ATTR, state: '`queued` or `in_flight` (OTLP); `queued` (stdout: lines waiting for the reader)' }),
  queueSize: spec('armorwatch.export.queue.size', 'gauge', 'By',
    'Estimated bytes of the records held by the OTLP export queue (bounded by --queue-bytes).', { exporter: '`otlp`' }),
  exportDuration: spec('armorwatch.export.duration', 'histogram', 's',
    'Duration of one OTLP export request (one batch), retries counted separately.', {
      exporter: '`otlp`', outcome: '`success` or `failure`',
    }),
} satisfies Record<string, MetricSpec>);

export type MetricId = keyof typeof METRICS;

const UNIT_SUFFIX: Readonly<Record<string, string>> = { s: 'seconds', By: 'bytes' };

/** The base name Prometheus shows (before _total, _bucket, _sum, _count). */
export function prometheusBaseName(m: MetricSpec): string {
  const base = m.name.replaceAll('.', '_');
  const suffix = UNIT_SUFFIX[m.unit];
  return suffix === undefined || base.endsWith(`_${suffix}`) ? base : `${base}_${suffix}`;
}

/** The series name(s) a scrape shows for the metric. */
export function prometheusNames(m: MetricSpec): string[] {
  const base = prometheusBaseName(m);
  if (m.kind === 'counter') return [`${base}_total`];
  if (m.kind === 'histogram') return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
  return [base];
}
