// `armorwatch run`: the agent. Wires monitor → enrich → policy → export, serves health, reloads
// policies into the kernel filter without detaching, and on SIGTERM/SIGINT flushes the export
// queue within --shutdown-deadline before exiting 0. Only wiring lives here; each stage owns its folder.
import { parseRunConfig } from '../config/parse.ts';
import { runHelp } from '../config/options.ts';
import type { RunConfig } from '../config/types.ts';
import { createScanStage, hostNetNs, withScanNeeds } from '../detect/index.ts';
import { createEnricher } from '../enrich/index.ts';
import { loadKubeConfig } from '../enrich/kube.ts';
import { UsageError } from '../errors.ts';
import { CrdPolicySource } from '../policy/crd-source.ts';
import { checkHeapForQueues } from '../export/heap.ts';
import { createAlertExporter } from '../export/index.ts';
import { startHealthServer, type HealthServer } from '../health/server.ts';
import { createLogger, type Logger } from '../log.ts';
import { createAgentMetrics, type AgentMetrics, type MetricSources } from '../metrics/index.ts';
import { openMonitor, type HookState, type Monitor } from '../monitor/index.ts';
import { formatProblem, IDENTITY_REFRESH_MS, IdentityWatch, PolicyStore, SAME_NAME_CODE, sameNamed, sameNamedMessage, UNOBSERVED_CODE, unobservedFields, type PolicyStoreStatus, type ReloadEvent } from '../policy/index.ts';
import { AlertThrottle, noticeMatch, throttleSubject, type ThrottleSettings } from '../policy/throttle.ts';
import type { KernelFilterSpec, Match, MonitorEvent, NodeIdentity, Workload } from '../types.ts';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseRunConfig(argv);
  if (parsed.help) {
    process.stdout.write(runHelp());
    return 0;
  }
  return runAgent(parsed.config, createLogger(parsed.config.logLevel));
}

function logReload(log: Logger, ev: ReloadEvent, metrics: AgentMetrics): void {
  metrics.policyLoad(ev.policies, ev.rejected.length);
  for (const r of ev.rejected) {
    for (const p of r.problems) log.error({ file: r.file, keptPrevious: r.keptPrevious }, `policy rejected: ${formatProblem(p)}`);
  }
  // Say loudly, at load, what the new or changed policies ask for that this node does not observe.
  const changed = new Set([...ev.added, ...ev.updated]);
  for (const doc of ev.engine.policies) {
    if (!changed.has(doc.key)) continue;
    const unobserved = unobservedFields(doc);
    if (unobserved.length > 0) log.warn({ policy: doc.key, file: doc.source.file, code: UNOBSERVED_CODE, unobserved: unobserved.map((u) => `${u.path}: ${u.message}`) }, 'policy sections not observed on this node');
  }
  // And one name given by several documents: all are in force here, one in a cluster.
  for (const { key, docs } of sameNamed(ev.engine.policies)) {
    if (!changed.has(key)) continue;
    log.warn({ policy: key, files: docs.map((d) => `${d.source.file}:${d.source.line}`), code: SAME_NAME_CODE }, sameNamedMessage(key, docs));
  }
  log.info({ generation: ev.generation, policies: ev.policies, added: ev.added, updated: ev.updated, removed: ev.removed,
    rejected: ev.rejected.length, filter: { passAll: ev.filter.passAll, exactPaths: ev.filter.exactPaths.length, dirPrefixes: ev.filter.dirPrefixes.length } },
  'policies in force');
}

/** Liveness fails when the monitor helper has written nothing for this long (it sends counters every second). */
export const HELPER_SILENCE_MS = 10_000;
/** Liveness fails when one scan of the policy folders has been running this long. */
export const POLICY_SCAN_STUCK_MS = 60_000;

class StartAborted extends Error {}

/** Resolves to `p`, or to undefined after `ms` (the work goes on; its result is not waited for). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), Math.max(0, ms)); })])
    .finally(() => clearTimeout(timer));
}

/** Why the agent is not ready for lack of policies, from the store's status; null when some are in force. */
export function policyReadiness(st: PolicyStoreStatus): string | null {
  if (st.policies > 0) return null;
  if (st.unreadableFolders.length > 0) return `no policy in force: ${st.unreadableFolders.join('; ')}`;
  if (st.files === 0) return `no policy in force: no policy files (*.yaml, *.yml) in ${st.emptyFolders.join(', ') || 'the policy folders'}`;
  return `no policy in force: ${st.files} policy file(s), none valid (${st.unreadableFiles} unreadable, ${st.rejectedDocuments} document(s) rejected; see the log)`;
}

/** The `?verbose` lines of /readyz and /healthz. */
export function policyDetail(st: PolicyStoreStatus): string[] {
  const skipped = Object.entries(st.skippedEntries).map(([k, n]) => `${k}=${n}`).join(', ');
  return [
    `policies: ${st.policies} in force from ${st.files} file(s); ${st.rejectedDocuments} document(s) rejected; ${st.unreadableFiles} file(s) unreadable`,
    `policy folders: ${st.unreadableFolders.length} unreadable${st.unreadableFolders.length > 0 ? ` (${st.unreadableFolders.join('; ')})` : ''}; ${st.emptyFolders.length} empty${st.emptyFolders.length > 0 ? ` (${st.emptyFolders.join(', ')})` : ''}`,
    `entries passed over: ${skipped === '' ? 'none' : skipped}`,
    `reloads: ${st.reloads}; failed scans: ${st.failedScans}; scan running for ${st.scanRunningMs} ms`,
    ...(st.refusedChange === null ? [] : [`policy change refused, the previous policies stay in force: ${st.refusedChange}${st.refusedRetryInMs === null ? '' : `; tried again in ${Math.ceil(st.refusedRetryInMs / 1000)} s`}`]),
    `policy changes refused: ${st.refusedChanges.capacity} over the kernel filter capacity; ${st.refusedChanges.kernelFilter} kernel filter switch(es) failed`,
    `unobserved policy sections: ${unobservedLine(st.unobservedSections)}`,
  ];
}

/** The health detail's line of kernel hooks: each group is attached only while something loaded needs it. */
export function hooksDetail(h: HookState): string {
  const on = (name: string, attached: boolean): string => `${name} ${attached ? 'attached' : 'detached'}`;
  return `kernel hooks: ${[on('file', h.file), on('exec', h.exec), on('network', h.network), on('connect outcome', h.outcome)].join(', ')} (${h.links} links)`;
}

/** The `?verbose` lines of the identity watch: how many rule targets are watched by identity (host, containers), which are not. */
function identityDetail(w: IdentityWatch): string[] {
  const st = w.status();
  const missing = st.unresolved.length === 0 ? '' : `; ${st.unresolved.length} not resolvable yet (${st.unresolved.slice(0, 5).join(', ')}${st.unresolved.length > 5 ? ', ...' : ''})`;
  const linked = st.linked === 0 ? '' : `; hard links out of watched directories: ${st.linked}`;
  return [`host rule targets watched by identity: ${st.watched}${missing}${linked}${st.error === null ? '' : `; last update refused: ${st.error}`}`,
    `container rule targets watched by identity: ${st.containerWatched} in ${st.containers} containers${st.containerUnresolved === 0 ? '' : `; ${st.containerUnresolved} not resolvable there`}`];
}

/** `capabilities (2: a, b), network (1: c)`, at most five policies named per section; `none`. */
function unobservedLine(by: PolicyStoreStatus['unobservedSections']): string {
  const parts = Object.entries(by).map(([section, keys]) => `${section} (${keys.length}: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})`);
  return parts.length === 0 ? 'none' : parts.join('; ');
}

/** Why sending the configured headers is a risk: plain http:// to a host that is not this one. */
export function plainTextHeadersWarning(otlp: RunConfig['otlp']): string | null {
  if (otlp === null || Object.keys(otlp.headers).length === 0) return null;
  const u = new URL(otlp.endpoint);
  if (u.protocol !== 'http:') return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return null;
  return `OTLP headers (${Object.keys(otlp.headers).join(', ')}) are sent in plain text to ${u.host} (http://): anyone on the path can read them; use https://`;
}

export async function runAgent(config: RunConfig, log: Logger): Promise<number> {
  return new Agent(config, log).run();
}

/**
 * One run of the agent: the stages wired together, the health answers, start-up and shutdown.
 * Invariants: `attached` only once the kernel has the policies' filter and watched identities;
 * `stopping` from the first moment of shutdown on; every match goes through `send`.
 */
class Agent {
  private readonly config: RunConfig;
  private readonly log: Logger;
  private readonly store: PolicyStore;
  private readonly sources: MetricSources;
  private readonly metrics: AgentMetrics;
  private readonly exporter: ReturnType<typeof createAlertExporter>;
  private readonly enricher: ReturnType<typeof createEnricher>;
  private readonly throttle: AlertThrottle<Match> | null;
  private readonly throttleSweep: NodeJS.Timeout | undefined;
  private readonly scan: ReturnType<typeof createScanStage> | null;
  /** The host's network namespace: the detector and the kernel's gate key host processes by process tree, others by it. */
  private readonly netNs: number;
  private readonly stopped: Promise<void>;
  private stop: () => void = () => {};
  private health: HealthServer | undefined;
  private monitor: Monitor | undefined;
  private identities: IdentityWatch | undefined;
  private attached = false;
  private policiesLoaded = false;
  private stopping = false;
  private monitorFailed = false;
  private signalled = false;
  private signalAt: number | undefined;
  private matched = 0;
  private node: NodeIdentity;

  constructor(config: RunConfig, log: Logger) {
    this.config = config;
    this.log = log;
    checkHeapForQueues(config.exporter, config.queue.maxBytes);
    // Before anything starts: a missing Kubernetes configuration is a usage error.
    const policySources = [];
    if (config.policyCrds) {
      const kc = loadKubeConfig(config.kubeconfig);
      if (kc === null) throw new UsageError('--policy-crds needs a Kubernetes configuration: run in a pod with its service account, or give --kubeconfig');
      policySources.push(new CrdPolicySource(kc, { logger: log.child({ component: 'policy' }) }));
    }
    log.info({ config: { ...config, otlp: config.otlp && { ...config.otlp, headers: Object.keys(config.otlp.headers), certificate: undefined, clientKey: undefined, clientCertificate: undefined } } }, 'starting');
    const plain = plainTextHeadersWarning(config.otlp);
    if (plain !== null) log.warn(plain);
    this.store = new PolicyStore({ paths: config.policies, engine: { defaultFilePosture: config.defaultFilePosture, defaultNetworkPosture: config.defaultNetworkPosture }, kernelFilterCapacity: config.kernelFilterCapacity, logger: log.child({ component: 'policy' }), sources: policySources });
    const store = this.store;
    this.sources = { policy: () => store.status() };
    this.metrics = createAgentMetrics(config.metrics, config, this.sources, log.child({ component: 'metrics' }));

    this.exporter = createAlertExporter(config, log.child({ component: 'export' }), { processor: { onExportRequest: this.metrics.exportRequest } });
    this.enricher = createEnricher({ logger: log.child({ component: 'enrich' }), nodeName: config.nodeName, clusterName: config.clusterName, kubeconfig: config.kubeconfig });
    this.sources.export = this.exporter.stats;
    this.sources.enrich = () => this.enricher.stats();
    // Alert throttling sits between the decision and the exporter: every match is counted (metrics,
    // `matched`), then either sent or suppressed and counted; the notices go out as records too.
    const throttleSettings: ThrottleSettings | null = config.throttle === null ? null
      : { enabled: true, maxAlertPerSec: config.throttle.maxAlertsPerSec, throttleSec: config.throttle.throttleSec };
    this.throttle = throttleSettings === null ? null : new AlertThrottle<Match>(throttleSettings, (n) => {
      const notice = noticeMatch(n, throttleSettings);
      log.info({ phase: n.kind, namespace: n.subject.namespace, workload: n.subject.workload, containerId: n.subject.key,
        ...(n.kind === 'ended' ? { suppressed: n.total } : {}) }, n.kind === 'started' ? 'alert throttling started' : 'alert throttling ended');
      this.exporter.export(notice);
    });
    const throttle = this.throttle;
    if (throttle !== null) this.sources.throttle = () => ({ periods: throttle.counters().periods, suppressedBy: throttle.suppressedBy.values() });
    this.throttleSweep = throttle === null ? undefined : setInterval(() => throttle.sweep(), 1000).unref();
    // Port-scan episodes go straight to export, not through alert throttling: the detector already
    // sends one record per episode phase, updates at most every --scan-update-interval
    // (docs/DETECTION.md), so a scan cannot flood the export, and a scan must not be hidden by the
    // alerts it causes.
    this.netNs = hostNetNs();
    this.scan = config.scan === null ? null : createScanStage(config.scan, this.netNs, (d) => this.exporter.export(d), log.child({ component: 'detect' }));
    const scan = this.scan;
    if (scan !== null) this.sources.scan = () => scan.stats();

    this.stopped = new Promise<void>((resolve) => { this.stop = resolve; });
    this.node = this.enricher.node();
    this.enricher.onChange(() => {
      this.node = this.enricher.node();
      this.store.state?.engine.clearWorkloadCache();
    });
  }

  /** The kernel filter: what the policies need, and the connects port-scan detection needs. */
  private kernelFilter(f: KernelFilterSpec): KernelFilterSpec {
    return this.config.scan === null ? f : withScanNeeds(f, this.config.scan, this.netNs);
  }

  private helperSilentMs(): number {
    return this.monitor !== undefined && this.attached ? Date.now() - this.monitor.lastFrameAt() : 0;
  }

  private live(): string | null {
    if (this.monitorFailed) return 'file monitor stopped';
    const silent = this.helperSilentMs();
    if (silent > HELPER_SILENCE_MS) return `file monitor helper silent for ${Math.round(silent / 1000)} s (stopped or stuck)`;
    const scan = this.store.status().scanRunningMs;
    if (scan > POLICY_SCAN_STUCK_MS) return `policy folder scan running for ${Math.round(scan / 1000)} s (stuck)`;
    return null;
  }

  private ready(): string | null {
    return this.stopping ? 'shutting down' : !this.policiesLoaded ? 'policies not loaded yet' : !this.attached ? 'eBPF programs not attached yet' : policyReadiness(this.store.status());
  }

  private detail(): string[] {
    const m = this.monitor;
    return [...policyDetail(this.store.status()), `monitor: ${this.attached ? `attached; helper last heard ${this.helperSilentMs()} ms ago` : 'not attached'}`,
      ...(m === undefined ? [] : [`io_uring opens: ${m.uringGap() ?? 'observed (io_uring:io_uring_submit_req, io_uring:io_uring_complete)'}`, hooksDetail(m.stats().hooks)]),
      ...(this.identities === undefined ? [] : identityDetail(this.identities))];
  }

  private async startHealth(): Promise<void> {
    const h = this.config.health;
    if (h === null) return;
    const metrics = this.metrics;
    this.health = await startHealthServer(h, { live: () => this.live(), ready: () => this.ready(), detail: () => this.detail() },
      metrics.handler === null ? {} : { routes: { '/metrics': metrics.handler } });
    this.log.info({ addr: `${h.host}:${this.health.port}`, metrics: metrics.handler !== null }, `health server listening (/healthz, /readyz${metrics.handler === null ? '' : ', /metrics'})`);
  }

  private send(m: Match): void {
    if (this.throttle === null || this.throttle.admit(throttleSubject(m.workload), m.decision.policyName, m)) this.exporter.export(m);
  }

  private decide(event: MonitorEvent, workload: Workload): void {
    if (event.kind === 'network') {
      this.scan?.observe(event, workload, this.node);
      // The gate's records are the detector's alone: they only exist for connects no rule needs.
      if (event.phase === 'gate' || event.phase === 'handover' || event.phase === 'attempt') return;
    }
    // One event can raise a File (or Process) alert and a Syscall alert: both are decided.
    const engine = this.store.engine;
    const input = { event, workload };
    this.raise(event, workload, engine.decide(input, this.node));
    this.raise(event, workload, engine.decideSyscall(input, this.node));
  }

  private raise(event: MonitorEvent, workload: Workload, decision: Match['decision'] | null): void {
    if (decision === null) return;
    this.matched++;
    this.metrics.countMatch(decision.policyName, decision.action);
    this.send({ event, workload, node: this.node, decision });
  }

  private onEvent(ev: MonitorEvent): void {
    const w = this.enricher.resolve(ev);
    if (w instanceof Promise) w.then((x) => this.decided(ev, x), (err: unknown) => this.log.error({ err }, 'enrich failed'));
    else this.decided(ev, w);
  }

  private decided(ev: MonitorEvent, w: Workload): void {
    this.decide(ev, w);
    // A file event may change what a watched name leads to: the identity watch resolves again.
    if (ev.kind !== 'process' && ev.kind !== 'network') this.identities?.touched(ev, w);
  }

  // A signal sent to the whole process group also stops the monitor's helper: not a failure then.
  // The shutdown deadline counts from the signal; a second signal, or the deadline passing, ends
  // the process at once.
  private onSignal(): void {
    this.signalled = true;
    this.signalAt ??= Date.now();
    setTimeout(() => {
      this.log.error({ deadlineMs: this.config.shutdownDeadlineMs }, 'shutdown deadline passed; exiting now');
      process.exit(1);
    }, this.config.shutdownDeadlineMs).unref();
    this.stop();
  }

  async run(): Promise<number> {
    try {
      await this.startHealth();
    } catch (err) {
      await this.enricher.close();
      await this.exporter.shutdown(0);
      throw err;
    }
    const onSignal = (): void => this.onSignal();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const aborted = this.stopped.then(() => { throw new StartAborted('stopped during start-up'); });
    aborted.catch(() => undefined);
    try {
      await this.start(aborted);
      await this.stopped;
    } catch (err) {
      if (!(err instanceof StartAborted)) throw err;
      this.log.info('stopped during start-up');
    } finally {
      await this.shutdown();
    }
    return this.monitorFailed ? 1 : 0;
  }

  /** Policies first, then the kernel; a signal meanwhile ends start-up (`aborted` rejects). */
  private async start(aborted: Promise<never>): Promise<void> {
    const { config, log, store, metrics } = this;
    const first = await Promise.race([store.start(), aborted]);
    logReload(log, first, metrics);
    const noPolicies = policyReadiness(store.status());
    if (noPolicies !== null) log.warn({ detail: policyDetail(store.status()) }, `${noPolicies}; not ready until a policy is in force`);
    this.policiesLoaded = true;
    const onEvent = (ev: MonitorEvent): void => this.onEvent(ev);
    const opening = openMonitor({
      logger: log,
      pathFilter: this.kernelFilter(first.filter),
      ringbufBytes: config.ringBufferBytes,
      kernelFilterCapacity: config.kernelFilterCapacity,
      processFilter: { pids: [], comms: [], excludePids: [process.pid] },
      onEvent,
      onExec: onEvent,
      onNetwork: onEvent,
      onError: (err) => {
        if (this.signalled) return;
        log.error({ err }, 'file monitor stopped');
        this.monitorFailed = true;
        this.stop();
      },
    });
    opening.then((m) => { if (this.stopping) void m.close(); }, () => undefined);
    const m = await Promise.race([opening, aborted]);
    this.monitor = m;
    this.sources.monitor = m.stats;
    // A change goes in force in the kernel first, then in the engine; a failed switch keeps both
    // as they were (the store logs it, counts it, and says it in the health detail).
    store.useSwitch((ev) => m.setPathFilter(this.kernelFilter(ev.filter)));
    // Files and directories of policies, watched by identity as well as by path (host policies'
    // on the host, container policies' in each selected container's root); ready only once the
    // kernel has them.
    const ids = new IdentityWatch((list) => m.setIdentities(list), (err: unknown) => log.error({ err }, 'could not update the watched identities; the set in force before stays whole (tried again at the next refresh)'),
      IDENTITY_REFRESH_MS, { running: () => this.enricher.running(), node: () => this.node });
    this.identities = ids;
    this.sources.identities = () => ids.status();
    this.enricher.onContainerStart(() => { void ids.refresh(); });
    await ids.update(store.engine);
    this.attached = true;
    store.onReload((ev) => {
      void ids.update(ev.engine);
      logReload(log, ev, metrics);
      const none = policyReadiness(store.status());
      if (none !== null) log.warn(`${none}; not ready until a policy is in force`);
    });
    log.info('ready');
    // Kernel and enricher losses are reported on the same schedule as the export counters, so a
    // rising lostInKernel or unattributed count shows up while the agent runs, not only at exit.
    if (config.statsIntervalMs > 0) {
      const ticker = setInterval(() => log.info({ monitor: m.stats(), ...this.counters() }, 'pipeline counters'), config.statsIntervalMs).unref();
      void this.stopped.then(() => clearInterval(ticker));
    }
  }

  /** The counters logged while running and at the end (besides the monitor's). */
  private counters(): Record<string, unknown> {
    return { matched: this.matched, ...(this.throttle === null ? {} : { throttle: this.throttle.counters() }), ...(this.scan === null ? {} : { scan: this.scan.stats() }),
      enrich: this.enricher.stats(), policies: this.store.status() };
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.identities?.close();
    const { config, log } = this;
    // Everything below fits the deadline counted from the signal: the helper detaches while the
    // export queue drains, and a margin is kept for closing the exporter (at most 1 s) and the rest.
    const since = this.signalAt ?? Date.now();
    const left = (): number => config.shutdownDeadlineMs - (Date.now() - since);
    const margin = Math.min(1500, config.shutdownDeadlineMs / 4);
    log.info({ deadlineMs: config.shutdownDeadlineMs, leftMs: left() }, 'stopping: flushing alerts');
    let monitorStats: unknown;
    let detached: Promise<unknown> = Promise.resolve();
    if (this.monitor !== undefined) {
      const mon = this.monitor;
      monitorStats = (await within(mon.refreshStats().catch(() => mon.stats()), Math.min(1000, left() / 4))) ?? mon.stats();
      detached = within(mon.close(), left() - margin);
    }
    await within(this.store.close(), 1000);
    clearInterval(this.throttleSweep);
    // The quiet periods still running end now: their notices carry what they suppressed; so do
    // the scan episodes still running, with their final counts.
    this.throttle?.flush();
    this.scan?.close();
    const exportStats = await this.exporter.shutdown(Math.max(0, left() - margin));
    await detached;
    await within(this.enricher.close(), Math.max(0, left() - margin / 2));
    await this.health?.close();
    await within(this.metrics.shutdown(), Math.max(0, left() - margin / 2));
    const c = this.counters();
    log.info({ monitor: monitorStats, matched: c.matched, throttle: c.throttle, scan: c.scan, export: exportStats, enrich: c.enrich, policies: c.policies, tookMs: Date.now() - since }, 'stopped');
  }
}
