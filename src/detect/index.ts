// The detection stage as the agent runs it: the port-scan detector with its once-a-second sweep
// (episodes end after their quiet gap even when nothing else arrives), its records logged and sent.
import type { ScanConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { NetworkEvent, NodeIdentity, ScanDetection, Workload } from '../types.ts';
import { PortScanDetector, type ScanStats } from './portscan.ts';

export { PortScanDetector, scanKey, type ScanStats } from './portscan.ts';
export { hostNetNs, scanGate, withScanNeeds } from './filter.ts';

export interface ScanStage {
  observe(ev: NetworkEvent, workload: Workload, node: NodeIdentity): void;
  stats(): ScanStats;
  /** Stops the sweep and ends every running episode (their `ended` records are sent). Idempotent. */
  close(): void;
}

export function createScanStage(config: ScanConfig, hostNetNs: number, send: (d: ScanDetection) => void, log: Logger): ScanStage {
  const detector = new PortScanDetector(config, (d) => {
    const s = d.scan;
    log.info({ phase: s.phase, id: s.id, kinds: s.kinds, slow: s.slow, pid: d.event.hostPid, exe: d.event.exePath,
      namespace: d.workload.namespace, pod: d.workload.podName, ports: s.distinctPorts, hosts: s.distinctHosts, attempts: s.attempts },
    `port scan ${s.phase}`);
    send(d);
  }, hostNetNs);
  let timer: NodeJS.Timeout | undefined = setInterval(() => detector.sweep(), 1000).unref();
  return {
    observe: (ev, w, node) => detector.observe(ev, w, node),
    stats: () => detector.stats(),
    close() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      detector.flush();
    },
  };
}
