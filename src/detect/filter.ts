// What port-scan detection needs of the kernel filter: every TCP and UDP connect (their outcomes
// pass with them), added to what the policies need; the filter may pass more than either needs
// (KernelFilterSpec's invariant), never less. Connects no rule needs go through the port-scan gate
// (bpf/net.bpf.h; docs/DETECTION.md "What it costs in the kernel"): the kernel sends nothing for a
// workload until it attempted as many distinct ports or hosts as a scan needs.
import { statSync } from 'node:fs';
import type { ScanConfig } from '../config/types.ts';
import type { KernelFilterSpec, NetworkFilterSpec, ScanGateSpec } from '../types.ts';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * The gate's settings for a detector's: one window covering the longest of its windows, and the
 * detector's lowest thresholds. The kernel counts distinct ports and hosts exactly, over all of a
 * key's hosts (ports) and over at least that window, so its counts are never below the detector's
 * and the gate opens no later than a scan the detector would find (docs/DETECTION.md).
 */
export function scanGate(cfg: ScanConfig, tcp: boolean, udp: boolean, hostNetNs: number): ScanGateSpec {
  return Object.freeze({
    tcp, udp,
    windowMs: Math.max(cfg.windowMs, cfg.slowWindowMs),
    quietMs: cfg.quietMs,
    ports: Math.min(cfg.ports, cfg.slowPorts),
    hosts: Math.min(cfg.hosts, cfg.slowHosts),
    hostNetNs,
  });
}

/**
 * `spec` letting TCP and UDP connects through as well, with the gate on for the protocols whose
 * connects no policy needs (a rule on connects of any protocol, or trace, turns it off).
 */
export function withScanNeeds(spec: KernelFilterSpec, cfg: ScanConfig, hostNetNs: number): KernelFilterSpec {
  const n = spec.network;
  if (n?.passAll === true) return spec;
  const calls = n?.calls ?? [];
  const rulesNeedConnects = calls.includes('connect');
  const protocols = n?.protocols ?? [];
  // An empty protocol list with calls means any protocol already; with no calls it means nothing yet.
  const anyProtocol = calls.length > 0 && protocols.length === 0;
  const ruleNeeds = (p: number): boolean => rulesNeedConnects && (anyProtocol || protocols.includes(p));
  const tcp = !ruleNeeds(IPPROTO_TCP);
  const udp = !ruleNeeds(IPPROTO_UDP);
  // The gate's protocols pass connects by themselves (NetworkFilterSpec.scanGate): added to the
  // shared protocol list they would let every TCP and UDP socket(), bind()... of the node through.
  // A protocol the gate does not take (rules need its connects) is in the rules' list already.
  // Without rules, connect is the only call: TCP and UDP stand for "no other protocol" (an empty
  // list would mean any).
  const network: NetworkFilterSpec = Object.freeze({
    passAll: false,
    calls: rulesNeedConnects ? calls : [...calls, 'connect' as const],
    protocols: anyProtocol ? [] : calls.length === 0 ? [IPPROTO_TCP, IPPROTO_UDP] : [...protocols],
    ...(tcp || udp ? { scanGate: scanGate(cfg, tcp, udp, hostNetNs) } : {}),
  });
  return Object.freeze({ ...spec, network });
}

/**
 * The inode of the host's network namespace, the one the detector and the gate key by process tree:
 * pid 1's (the agent runs with the host's pid namespace), else the agent's own (a test run on the host).
 */
export function hostNetNs(): number {
  for (const p of ['/proc/1/ns/net', '/proc/self/ns/net']) {
    try { return statSync(p).ino; } catch { /* next */ }
  }
  return 0;
}
