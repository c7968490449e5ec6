// Port-scan detection options: the defaults (one table, read by the option rows and the parser)
// and their parsing. Defaults are chosen so that a busy but honest workload does not trip them:
// thousands of connects to one port, a handful of backends, DNS to 1–3 resolvers (docs/DETECTION.md).
import type { OptionSpec } from './options.ts';
import type { ScanConfig } from './types.ts';
import { bool, bad, duration, positiveInt, type Raw } from './values.ts';

export const SCAN_DEFAULTS: ScanConfig = Object.freeze({
  windowMs: 10_000,
  ports: 20,
  hosts: 64,
  slowWindowMs: 300_000,
  slowPorts: 40,
  slowHosts: 128,
  updateIntervalMs: 30_000,
  quietMs: 30_000,
  maxKeys: 4096,
  maxTargets: 4096,
});

const D = SCAN_DEFAULTS;
const dur = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
const env = (name: string): string[] => [`ARMORWATCH_${name.toUpperCase().replaceAll('-', '_')}`];

/** The rows of the option table (src/config/options.ts) for port-scan detection. */
export const SCAN_OPTIONS: readonly OptionSpec[] = [
  { name: 'scan-detection', env: env('scan-detection'), default: 'true',
    help: 'port-scan detection: one record (Type PortScan, armorwatch-port-scan) per scan episode of a pod or a host process tree, never one per connect; the kernel sends nothing while the distinct ports and hosts of a workload stay below the thresholds (docs/DETECTION.md); false turns it off' },
  { name: 'scan-window', arg: 'DURATION', env: env('scan-window'), default: dur(D.windowMs),
    help: 'fast window of port-scan detection: --scan-ports distinct ports of one host, or --scan-hosts distinct hosts on one port, attempted within it start an episode' },
  { name: 'scan-ports', arg: 'N', env: env('scan-ports'), default: String(D.ports),
    help: 'distinct ports of one host attempted within --scan-window that make a (vertical) scan' },
  { name: 'scan-hosts', arg: 'N', env: env('scan-hosts'), default: String(D.hosts),
    help: 'distinct hosts attempted on one port within --scan-window that make a (horizontal) scan' },
  { name: 'scan-slow-window', arg: 'DURATION', env: env('scan-slow-window'), default: dur(D.slowWindowMs),
    help: 'slow window of port-scan detection, for scans spread out in time (at least --scan-window)' },
  { name: 'scan-slow-ports', arg: 'N', env: env('scan-slow-ports'), default: String(D.slowPorts),
    help: 'distinct ports of one host attempted within --scan-slow-window that make a slow scan' },
  { name: 'scan-slow-hosts', arg: 'N', env: env('scan-slow-hosts'), default: String(D.slowHosts),
    help: 'distinct hosts attempted on one port within --scan-slow-window that make a slow scan' },
  { name: 'scan-update-interval', arg: 'DURATION', env: env('scan-update-interval'), default: dur(D.updateIntervalMs),
    help: 'least time between two records (phase updated) of a scan episode that goes on' },
  { name: 'scan-quiet', arg: 'DURATION', env: env('scan-quiet'), default: dur(D.quietMs),
    help: 'a scan episode ends (one last record, phase ended, with the final counts) after this long without a connect attempt' },
  { name: 'scan-max-keys', arg: 'N', env: env('scan-max-keys'), default: String(D.maxKeys),
    help: 'pods and host process trees port-scan detection watches at once; the least recently active one without a running episode is forgotten to make room (counted, armorwatch_detect_scan_dropped_total)' },
  { name: 'scan-max-targets', arg: 'N', env: env('scan-max-targets'), default: String(D.maxTargets),
    help: 'distinct host:port targets held per pod or process tree while watching, and distinct hosts counted exactly per episode; past it the oldest are forgotten (counted)' },
];

export interface ScanSources {
  get(name: string): Raw | undefined;
}

/** The port-scan settings from flags and environment; null when detection is off. */
export function parseScan(src: ScanSources): ScanConfig | null {
  const on = src.get('scan-detection');
  if (on !== undefined && !bool(on)) return null;
  const dms = (name: string, fallback: number): number => {
    const raw = src.get(name);
    if (raw === undefined) return fallback;
    const ms = duration(raw);
    if (ms <= 0) throw bad(raw, 'expected a duration greater than 0');
    return ms;
  };
  const atLeast2 = (name: string, fallback: number): number => {
    const raw = src.get(name);
    if (raw === undefined) return fallback;
    const n = positiveInt(raw);
    if (n < 2) throw bad(raw, 'expected a whole number of 2 or more (one target is no scan)');
    return n;
  };
  const config: ScanConfig = {
    windowMs: dms('scan-window', D.windowMs),
    ports: atLeast2('scan-ports', D.ports),
    hosts: atLeast2('scan-hosts', D.hosts),
    slowWindowMs: dms('scan-slow-window', D.slowWindowMs),
    slowPorts: atLeast2('scan-slow-ports', D.slowPorts),
    slowHosts: atLeast2('scan-slow-hosts', D.slowHosts),
    updateIntervalMs: dms('scan-update-interval', D.updateIntervalMs),
    quietMs: dms('scan-quiet', D.quietMs),
    maxKeys: atLeast2('scan-max-keys', D.maxKeys),
    maxTargets: atLeast2('scan-max-targets', D.maxTargets),
  };
  const sw = src.get('scan-slow-window');
  if (config.slowWindowMs < config.windowMs) {
    throw bad(sw ?? (src.get('scan-window') as Raw), `the slow window (${dur(config.slowWindowMs)}) cannot be shorter than --scan-window (${dur(config.windowMs)})`);
  }
  // A threshold above the targets held per key could never be reached.
  for (const [name, n] of [['scan-ports', config.ports], ['scan-hosts', config.hosts], ['scan-slow-ports', config.slowPorts], ['scan-slow-hosts', config.slowHosts]] as const) {
    if (n > config.maxTargets) throw bad(src.get(name) ?? (src.get('scan-max-targets') as Raw), `${n} distinct targets can never be counted with --scan-max-targets ${config.maxTargets}`);
  }
  return Object.freeze(config);
}
