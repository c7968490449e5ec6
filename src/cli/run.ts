// `armorwatch run`: the agent. Wires monitor → enrich → policy → export, serves health, reloads
// policies into the kernel filter without detaching, and on SIGTERM/SIGINT flushes the export
// queue within --shutdown-deadline before exiting 0. Only wiring lives here; each stage owns its folder.
import { parseRunConfig } from '../config/parse.ts';
import { runHelp } from '../config/options.ts';
import type { RunConfig } from '../config/types.ts';
import { createEnricher } from '../enrich/index.ts';
import { loadKubeConfig } from '../enrich/kube.ts';
import { UsageError } from '../errors.ts';
import { CrdPolicySource } from '../policy/crd-source.ts';
import { checkHeapForQueues } from '../export/heap.ts';
import { createAlertExporter } from '../export/index.ts';
import { startHealthServer, type HealthServer } from '../health/server.ts';
import { createLogger, type Logger } from '../log.ts';
import { openMonitor, type Monitor } from '../monitor/index.ts';
import { buildAlert, formatProblem, PolicyStore, type ReloadEvent } from '../policy/index.ts';
import type { EnrichedEvent, FileEvent, NodeIdentity, Workload } from '../types.ts';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseRunConfig(argv);
  if (parsed.help) {
    process.stdout.write(runHelp());
    return 0;
  }
  return runAgent(parsed.config, createLogger(parsed.config.logLevel));
}

function logReload(log: Logger, ev: ReloadEvent): void {
  for (const r of ev.rejected) {
    for (const p of r.problems) log.error({ file: r.file, keptPrevious: r.keptPrevious }, `policy rejected: ${formatProblem(p)}`);
  }
  log.info({ generation: ev.generation, policies: ev.policies, added: ev.added, updated: ev.updated, removed: ev.removed,
    rejected: ev.rejected.length, filter: { passAll: ev.filter.passAll, exactPaths: ev.filter.exactPaths.length, dirPrefixes: ev.filter.dirPrefixes.length } },
  'policies in force');
}

export async function runAgent(config: RunConfig, log: Logger): Promise<number> {
  checkHeapForQueues(config.exporter, config.queue.maxBytes);
  // Before anything starts: a missing Kubernetes configuration is a usage error.
  const sources = [];
  if (config.policyCrds) {
    const kc = loadKubeConfig(config.kubeconfig);
    if (kc === null) throw new UsageError('--policy-crds needs a Kubernetes configuration: run in a pod with its service account, or give --kubeconfig');
    sources.push(new CrdPolicySource(kc, { logger: log.child({ component: 'policy' }) }));
  }
  log.info({ config: { ...config, otlp: config.otlp && { ...config.otlp, headers: Object.keys(config.otlp.headers), certificate: undefined, clientKey: undefined, clientCertificate: undefined } } }, 'starting');
  let attached = false;
  let policiesLoaded = false;
  let stopping = false;
  let monitorFailed = false;
  let health: HealthServer | undefined;
  if (config.health !== null) {
    health = await startHealthServer(config.health, {
      live: () => (monitorFailed ? 'file monitor stopped' : null),
      ready: () => (stopping ? 'shutting down' : !policiesLoaded ? 'policies not loaded yet' : !attached ? 'eBPF programs not attached yet' : null),
    });
    log.info({ addr: `${config.health.host}:${health.port}` }, 'health server listening (/healthz, /readyz)');
  }

  const exporter = createAlertExporter(config, log.child({ component: 'export' }));
  const enricher = createEnricher({ logger: log.child({ component: 'enrich' }), nodeName: config.nodeName, clusterName: config.clusterName, kubeconfig: config.kubeconfig });
  const store = new PolicyStore({ paths: config.policies, engine: { defaultFilePosture: config.defaultFilePosture }, logger: log.child({ component: 'policy' }), sources });
  let monitor: Monitor | undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  // A signal sent to the whole process group also stops the monitor's helper: not a failure then.
  let signalled = false;
  process.once('SIGTERM', () => { signalled = true; stop(); });
  process.once('SIGINT', () => { signalled = true; stop(); });

  let matched = 0;
  let node: NodeIdentity = enricher.node();
  enricher.onChange(() => {
    node = enricher.node();
    store.state?.engine.clearWorkloadCache();
  });
  const decide = (event: FileEvent, workload: Workload): void => {
    const input: EnrichedEvent = { event, workload };
    const decision = store.engine.decide(input, node);
    if (decision === null) return;
    matched++;
    exporter.export(buildAlert(input, node, decision), workload);
  };
  const onEvent = (ev: FileEvent): void => {
    const w = enricher.resolve(ev);
    if (w instanceof Promise) w.then((x) => decide(ev, x), (err: unknown) => log.error({ err }, 'enrich failed'));
    else decide(ev, w);
  };

  try {
    const first = await store.start();
    logReload(log, first);
    policiesLoaded = true;
    monitor = await openMonitor({
      logger: log,
      pathFilter: first.filter,
      ringbufBytes: config.ringBufferBytes,
      processFilter: { pids: [], comms: [], excludePids: [process.pid] },
      onEvent,
      onError: (err) => {
        if (signalled) return;
        log.error({ err }, 'file monitor stopped');
        monitorFailed = true;
        stop();
      },
    });
    attached = true;
    const m = monitor;
    store.onReload((ev) => {
      logReload(log, ev);
      m.setPathFilter(ev.filter).catch((err: unknown) => log.error({ err }, 'could not update the kernel filter; the previous one stays'));
    });
    log.info('ready');
    // Kernel and enricher losses are reported on the same schedule as the export counters, so a
    // rising lostInKernel or unattributed count shows up while the agent runs, not only at exit.
    const ticker = config.statsIntervalMs > 0
      ? setInterval(() => log.info({ monitor: m.stats(), matched, enrich: enricher.stats() }, 'pipeline counters'), config.statsIntervalMs).unref()
      : undefined;
    await stopped;
    clearInterval(ticker);
  } finally {
    stopping = true;
    log.info({ deadlineMs: config.shutdownDeadlineMs }, 'stopping: flushing alerts');
    let monitorStats: unknown;
    if (monitor !== undefined) {
      try { monitorStats = await monitor.refreshStats(); } catch { monitorStats = monitor.stats(); }
      await monitor.close();
    }
    await store.close();
    const exportStats = await exporter.shutdown(config.shutdownDeadlineMs);
    await enricher.close();
    await health?.close();
    log.info({ monitor: monitorStats, matched, export: exportStats, enrich: enricher.stats() }, 'stopped');
  }
  return monitorFailed ? 1 : 0;
}
