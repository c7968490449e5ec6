// The two renderers of a port-scan episode (src/detect/portscan.ts), side by side: a line in
// KubeArmor's alert shape (Type `PortScan`, PolicyName `armorwatch-port-scan`) and an OTLP record
// with the network semantic conventions plus `armorwatch.scan.*` (names and docs rows in
// scan-attributes.ts). Both read the typed episode; nothing is parsed back.
import type { Attributes, HrTime, LogRecord, SeverityNumber } from '@opentelemetry/api';
import { rfc3339Nano, splitNs } from '../format/index.ts';
import type { ScanAlert, ScanDetection, ScanEpisode } from '../types.ts';
import { alertWhere } from './kubearmor.ts';
import { joined } from './datadog.ts';
import { nsToHrTime, type RecordShape } from './record.ts';
import { EVENT_SCAN_EPISODE, SCAN, SCAN_MESSAGE, SCAN_POLICY_NAME, SCAN_SEVERITY, SCAN_TAGS, SCAN_TYPE } from './scan-attributes.ts';
import { severityName, toSeverityNumber } from './severity.ts';
import { ATTR } from './attributes.ts';

/** `1-5,8,10-12` of ascending ports, `,…` when the episode has more than the sample. */
export function portRanges(ports: readonly number[], total: number): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length;) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    parts.push(i === j ? String(ports[i]) : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return `${parts.join(',')}${total > ports.length ? ',…' : ''}`;
}

function hostList(s: ScanEpisode): string {
  return `${s.hosts.join(',')}${s.distinctHosts > s.hosts.length ? ',…' : ''}`;
}

const protocols = (s: ScanEpisode): string => s.transports.map((t) => t.toUpperCase()).join(',');

/** KubeArmor's network Resource, for an episode: the hosts and ports attempted (samples). */
export function scanResource(s: ScanEpisode): string {
  return `remoteip=${hostList(s)} port=${portRanges(s.ports, s.distinctPorts)} protocol=${protocols(s)}`;
}

export function scanData(s: ScanEpisode): string {
  return `syscall=SYS_CONNECT attempts=${s.attempts} ports=${s.distinctPorts} hosts=${s.distinctHosts} succeeded=${s.succeeded} refused=${s.refused} failed=${s.failed}`;
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `vertical scan: 1000 ports of 10.99.0.2` / `horizontal scan: port 80 of 40 hosts`. */
function shape(s: ScanEpisode): string {
  const kind = `${s.slow ? 'slow ' : ''}${s.kinds.join(' and ')} scan`;
  const ports = s.distinctPorts === 1 ? `port ${s.ports[0]}` : plural(s.distinctPorts, 'port');
  const hosts = s.distinctHosts === 1 ? (s.hosts[0] ?? '') : `${plural(s.distinctHosts, 'host')}${s.hostsCapped ? ' or more' : ''}`;
  return `${kind}: ${ports} of ${hosts}`;
}

/** The OTLP body: `Port scan started: /usr/bin/nmap, vertical scan: 1000 ports of 10.0.0.2 (...) [armorwatch-port-scan]`. */
export function scanBody(d: ScanDetection): string {
  const s = d.scan;
  const open = s.openPorts.length > 0 ? `; open: ${portRanges(s.openPorts, s.openPorts.length)}` : '';
  return `Port scan ${s.phase}: ${d.event.exePath}, ${shape(s)} (${s.attempts} attempts: ${s.succeeded} succeeded, ${s.refused} refused, ${s.failed} failed${open}) [${SCAN_POLICY_NAME}]`;
}

/** Renderer 1: the KubeArmor-shaped alert of an episode record. */
export function renderScanAlert(d: ScanDetection): ScanAlert {
  const { event: ev, workload: w, node, scan: s } = d;
  const ts = s.phase === 'started' ? ev.timestampNs : s.lastNs;
  return {
    ...alertWhere(ts, w, node, ev),
    ParentProcessName: ev.parentExePath,
    ProcessName: ev.exePath,
    PolicyName: SCAN_POLICY_NAME,
    Severity: String(SCAN_SEVERITY),
    Tags: SCAN_TAGS.join(','),
    ATags: SCAN_TAGS,
    Message: `${SCAN_MESSAGE} (${shape(s)})`,
    Type: SCAN_TYPE,
    Source: ev.exePath,
    Resource: scanResource(s),
    Operation: 'Network',
    Action: 'Audit',
    Data: scanData(s),
    Enforcer: 'eBPF Monitor',
    Result: 'Passed',
    Cwd: ev.cwd,
    ...(ev.tty !== null ? { TTY: ev.tty } : {}),
    TimestampNs: splitNs(ts)[2],
    Scan: {
      Id: s.id,
      Phase: s.phase,
      Kinds: s.kinds,
      Slow: s.slow,
      Transports: s.transports,
      Attempts: s.attempts,
      DistinctPorts: s.distinctPorts,
      DistinctHosts: s.distinctHosts,
      ...(s.hostsCapped ? { HostsCapped: true } : {}),
      Succeeded: s.succeeded,
      Refused: s.refused,
      Failed: s.failed,
      Hosts: s.hosts,
      Ports: s.ports,
      OpenPorts: s.openPorts,
      FirstTime: rfc3339Nano(s.firstNs),
      LastTime: rfc3339Nano(s.lastNs),
    },
  };
}

export function scanAlertLine(d: ScanDetection): string {
  return `${JSON.stringify(renderScanAlert(d))}\n`;
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** Renderer 2: the attributes of the OTLP record (absent facts left undefined, as record.ts does). */
export function scanAttributes(d: ScanDetection, eventNameAttribute = false, datadog?: RecordShape): Attributes {
  const a = episodeAttributes(d, eventNameAttribute);
  if (datadog === undefined) return a;
  // What --datadog-* add, as on policy matches (record.ts): the detector's tags are its policy tags.
  const s = d.scan;
  const joinedOn = (values: readonly (string | number)[]): string | undefined => (datadog.scalars ? joined(values.map(String)) : undefined);
  a[ATTR.ddtags] = datadog.ddtags?.ofTags(SCAN_TAGS);
  a[ATTR.ddsource] = datadog.ddsource;
  a[ATTR.datadogLogSource] = datadog.ddsource;
  a[ATTR.tagsJoined] = joinedOn(SCAN_TAGS);
  a[ATTR.atagsJoined] = joinedOn(SCAN_TAGS);
  a[SCAN.kindsJoined] = joinedOn(s.kinds);
  a[SCAN.hostsJoined] = joinedOn(s.hosts);
  a[SCAN.portsJoined] = joinedOn(s.ports);
  a[SCAN.openPortsJoined] = joinedOn(s.openPorts);
  return a;
}

function episodeAttributes(d: ScanDetection, eventNameAttribute: boolean): Attributes {
  const { event: ev, scan: s } = d;
  const oneHost = s.distinctHosts === 1 && !s.hostsCapped ? s.hosts[0] : undefined;
  const onePort = s.distinctPorts === 1 ? s.ports[0] : undefined;
  return {
    [ATTR.eventName]: eventNameAttribute ? EVENT_SCAN_EPISODE : undefined,
    [ATTR.pid]: ev.hostPid,
    [ATTR.vpid]: ev.pid,
    [ATTR.parentPid]: ev.hostPpid,
    [ATTR.exePath]: ev.exePath,
    [ATTR.exeName]: basename(ev.exePath),
    [ATTR.userId]: ev.euid,
    [ATTR.realUserId]: ev.uid,
    [ATTR.cwd]: ev.cwd !== '' ? ev.cwd : undefined,
    [ATTR.ruleName]: SCAN_POLICY_NAME,
    [ATTR.ruleDescription]: SCAN_MESSAGE,
    [ATTR.type]: SCAN_TYPE,
    [ATTR.severity]: SCAN_SEVERITY,
    [ATTR.tags]: [...SCAN_TAGS],
    [ATTR.atags]: [...SCAN_TAGS],
    [ATTR.source]: ev.exePath,
    [ATTR.operation]: 'Network',
    [ATTR.action]: 'Audit',
    [ATTR.result]: 'Passed',
    [ATTR.enforcer]: 'eBPF Monitor',
    [ATTR.data]: scanData(s),
    [ATTR.syscall]: 'SYS_CONNECT',
    [ATTR.ppid]: ev.ppid,
    [ATTR.parentProcessName]: ev.parentExePath,
    [ATTR.tty]: ev.tty ?? undefined,
    [SCAN.networkTransport]: s.transports.length === 1 ? s.transports[0] : undefined,
    [SCAN.networkType]: s.families.length === 1 ? s.families[0] : undefined,
    [SCAN.peerAddress]: oneHost,
    [SCAN.serverAddress]: oneHost,
    [SCAN.peerPort]: onePort,
    [SCAN.serverPort]: onePort,
    [SCAN.id]: s.id,
    [SCAN.phase]: s.phase,
    [SCAN.kinds]: [...s.kinds],
    [SCAN.slow]: s.slow,
    [SCAN.attempts]: s.attempts,
    [SCAN.distinctPorts]: s.distinctPorts,
    [SCAN.distinctHosts]: s.distinctHosts,
    [SCAN.hostsCapped]: s.hostsCapped ? true : undefined,
    [SCAN.succeeded]: s.succeeded,
    [SCAN.refused]: s.refused,
    [SCAN.failed]: s.failed,
    [SCAN.hosts]: [...s.hosts],
    [SCAN.ports]: [...s.ports],
    [SCAN.openPorts]: s.openPorts.length > 0 ? [...s.openPorts] : undefined,
    [SCAN.firstTime]: rfc3339Nano(s.firstNs),
    [SCAN.lastTime]: rfc3339Nano(s.lastNs),
  };
}

/** The LogRecord of an episode record, attributes left out (they travel apart, see handoff.ts). */
export function scanRecordFields(d: ScanDetection, observed: HrTime): LogRecord {
  const s = d.scan;
  const severityNumber = toSeverityNumber(SCAN_SEVERITY);
  return {
    eventName: EVENT_SCAN_EPISODE,
    timestamp: nsToHrTime(s.phase === 'started' ? d.event.timestampNs : s.lastNs),
    observedTimestamp: observed,
    severityNumber,
    severityText: severityName(severityNumber as SeverityNumber),
    body: scanBody(d),
  };
}
