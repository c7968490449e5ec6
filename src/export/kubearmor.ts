// Renderer 1 of a match: the alert in KubeArmor's shape (src/types.ts Alert, field names and order
// as KubeArmor prints them), plus armorwatch's extras. stdout mode prints it as one JSON line.
import { isoSeconds, splitNs } from '../format/index.ts';
import type { Alert, AlertWhere, Match, NodeIdentity, TaskIdentity, ThrottleNote, Workload } from '../types.ts';
import { matchText, type MatchText } from './match.ts';

// The enricher hands out one frozen Workload per container until its metadata changes: the label
// string is computed once per object.
const labelStrings = new WeakMap<Workload, string>();

/** `k=v,k=v` sorted by key, as KubeArmor prints pod labels. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

function workloadLabels(w: Workload): string {
  let s = labelStrings.get(w);
  if (s === undefined) { s = formatLabels(w.labels); labelStrings.set(w, s); }
  return s;
}

/** The leading fields of a KubeArmor line: the time `ns`, the workload and node, the process ids of `ev`. */
export function alertWhere(ns: bigint, w: Workload, node: NodeIdentity, ev: TaskIdentity): AlertWhere {
  const container = w.kind === 'container';
  const [sec, nanos] = splitNs(ns);
  const labels = container ? workloadLabels(w) : '';
  return {
    Timestamp: Number(sec),
    UpdatedTime: `${isoSeconds(sec)}.${nanos}Z`,
    ClusterName: node.clusterName,
    HostName: node.hostName,
    ...(container && w.namespace !== undefined ? { NamespaceName: w.namespace } : {}),
    ...(container && w.owner !== undefined ? { Owner: { Ref: w.owner.ref, Name: w.owner.name, Namespace: w.owner.namespace } } : {}),
    ...(container && w.podName !== undefined ? { PodName: w.podName } : {}),
    ...(labels !== '' ? { Labels: labels } : {}),
    ...(container && w.containerId !== undefined ? { ContainerID: w.containerId } : {}),
    ...(container && w.containerName !== undefined ? { ContainerName: w.containerName } : {}),
    ...(container && w.containerImage !== undefined ? { ContainerImage: w.containerImage } : {}),
    HostPPID: ev.hostPpid,
    HostPID: ev.hostPid,
    PPID: ev.ppid,
    PID: ev.pid,
    UID: ev.uid,
  };
}

/** The KubeArmor alert of a match. `text`: the shared spellings, when the caller already has them. */
export function renderAlert(m: Match, text: MatchText = matchText(m)): Alert {
  const { event: ev, workload: w, node, decision: d } = m;
  const all = splitNs(ev.timestampNs)[2];
  return {
    ...alertWhere(ev.timestampNs, w, node, ev),
    ParentProcessName: text.parentProcessName,
    ProcessName: text.processName,
    PolicyName: d.policyName,
    Severity: d.severity === undefined ? '' : String(d.severity),
    ...(d.tags.length > 0 ? { Tags: d.tags.join(','), ATags: [...d.tags] } : {}),
    ...(d.message !== undefined ? { Message: d.message } : {}),
    Type: m.throttle === undefined ? text.type : 'AlertThreshold',
    Source: text.source,
    Resource: text.resource,
    Operation: d.operation,
    Action: text.action,
    Data: text.data,
    Enforcer: 'eBPF Monitor',
    Result: text.result,
    Cwd: ev.cwd,
    ...(text.tty !== undefined ? { TTY: text.tty } : {}),
    PolicyKind: d.policyKind,
    ...(text.resolvedResource !== undefined ? { ResolvedResource: text.resolvedResource } : {}),
    ...(text.hostResource !== undefined ? { HostResource: text.hostResource } : {}),
    ...(text.matchedResource !== undefined ? { MatchedResource: text.matchedResource } : {}),
    ...(d.otherPolicies.length > 0 ? { OtherPolicies: [...d.otherPolicies] } : {}),
    Syscall: text.call.display,
    ...(text.dirfd !== undefined ? { Dirfd: text.dirfd } : {}),
    ...(text.flags !== undefined ? { Flags: text.flags } : {}),
    ...(text.argsTruncated ? { ArgsTruncated: true } : {}),
    TimestampNs: all,
    ...(m.throttle !== undefined ? { Throttle: throttleFields(m.throttle) } : {}),
  };
}

function throttleFields(t: ThrottleNote): NonNullable<Alert['Throttle']> {
  if (t.phase === 'started') return { Phase: 'started', MaxAlertsPerSec: t.maxAlertsPerSec, ThrottleSec: t.throttleSec };
  return { Phase: 'ended', QuietSec: Math.round(t.quietMs / 1000), SuppressedTotal: t.total,
    Suppressed: Object.fromEntries(t.suppressed.map((x) => [x.policy, x.count])) };
}

/** The JSON line stdout mode writes for a match. */
export function alertLine(m: Match, text?: MatchText): string {
  return `${JSON.stringify(renderAlert(m, text))}\n`;
}
