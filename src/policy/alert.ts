// The alert for a decision, in KubeArmor's shape (src/types.ts Alert), plus armorwatch's extras.
import type { Alert, EnrichedEvent, NodeIdentity } from '../types.ts';
import { formatCallFlags, formatData, formatResult, isoSeconds, splitNs, syscallName } from '../format/index.ts';
import type { Decision } from './engine.ts';

/** `k=v,k=v` sorted by key, as KubeArmor prints pod labels. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

const AT_CALLS = new Set(['openat', 'openat2', 'unlinkat', 'renameat', 'renameat2', 'fchmodat', 'fchownat']);

export function buildAlert(input: EnrichedEvent, node: NodeIdentity, d: Decision): Alert {
  const { event: ev, workload: w } = input;
  const container = w.kind === 'container';
  const flags = formatCallFlags(ev);
  const [sec, nanos, all] = splitNs(ev.timestampNs);
  return {
    Timestamp: Number(sec),
    UpdatedTime: `${isoSeconds(sec)}.${nanos}Z`,
    ClusterName: node.clusterName,
    HostName: node.hostName,
    ...(container && w.namespace !== undefined ? { NamespaceName: w.namespace } : {}),
    ...(container && w.owner !== undefined ? { Owner: { Ref: w.owner.ref, Name: w.owner.name, Namespace: w.owner.namespace } } : {}),
    ...(container && w.podName !== undefined ? { PodName: w.podName } : {}),
    ...(container && Object.keys(w.labels).length > 0 ? { Labels: formatLabels(w.labels) } : {}),
    ...(container && w.containerId !== undefined ? { ContainerID: w.containerId } : {}),
    ...(container && w.containerName !== undefined ? { ContainerName: w.containerName } : {}),
    ...(container && w.containerImage !== undefined ? { ContainerImage: w.containerImage } : {}),
    HostPPID: ev.hostPpid,
    HostPID: ev.hostPid,
    PPID: ev.ppid,
    PID: ev.pid,
    UID: ev.uid,
    ParentProcessName: ev.parentExePath,
    ProcessName: ev.exePath,
    PolicyName: d.policyName,
    Severity: d.severity === undefined ? '' : String(d.severity),
    ...(d.tags.length > 0 ? { Tags: d.tags.join(','), ATags: [...d.tags] } : {}),
    ...(d.message !== undefined ? { Message: d.message } : {}),
    Type: container ? 'MatchedPolicy' : 'MatchedHostPolicy',
    Source: ev.exePath,
    Resource: ev.absPath,
    Operation: 'File',
    Action: d.action === 'Block' ? 'Audit (Block)' : 'Audit',
    Data: formatData(ev),
    Enforcer: 'eBPF Monitor',
    Result: formatResult(ev.ret),
    Cwd: ev.cwd,
    PolicyKind: d.policyKind,
    ...(ev.resolvedPath !== null && ev.resolvedPath !== ev.absPath ? { ResolvedResource: ev.resolvedPath } : {}),
    ...(d.otherPolicies.length > 0 ? { OtherPolicies: [...d.otherPolicies] } : {}),
    Syscall: syscallName(ev.syscall),
    ...(AT_CALLS.has(ev.syscall) ? { Dirfd: ev.dirfd } : {}),
    ...(flags !== undefined ? { Flags: flags } : {}),
    TimestampNs: all,
  };
}
