// Renderer 2 of a match: the fields of one OTLP LogRecord (docs/OTEL.md; names in attributes.ts).
// Everything is read from the typed match: severity and tags as the policy gave them, the time as
// the kernel's nanoseconds, the process and file fields from the event.
import type { AttributeValue, Attributes, HrTime, LogRecord, SeverityNumber } from '@opentelemetry/api';
import type { Match } from '../types.ts';
import { ATTR, EVENT_ALERT_THROTTLE, EVENT_POLICY_MATCH } from './attributes.ts';
import { DdTags, joined, type DatadogSettings } from './datadog.ts';
import { matchText, type MatchText } from './match.ts';
import { severityName, toSeverityNumber } from './severity.ts';

const NS_PER_S = 1_000_000_000n;

/** Nanoseconds since the epoch → HrTime, exactly (a float would keep only ~µs). */
export function nsToHrTime(ns: bigint): HrTime {
  const s = ns / NS_PER_S;
  return [Number(s), Number(ns - s * NS_PER_S)];
}

/** One human line: `Audit: /bin/ls opened /etc/network/if-up.d — <message> [<policy>]`. */
export function matchBody(m: Match, text: MatchText): string {
  const t = m.throttle;
  if (t !== undefined) {
    const who = m.workload.kind === 'container' ? `container ${m.workload.containerName ?? m.workload.containerId ?? '?'}` : 'host processes';
    return t.phase === 'started'
      ? `Alert throttling: more than ${t.maxAlertsPerSec} alerts/s from ${who}; its alerts are suppressed (and counted) for ${t.throttleSec} s [${m.decision.policyName}]`
      : `Alert throttling ended for ${who}: ${t.total} alerts suppressed in ${Math.round(t.quietMs / 1000)} s (${t.suppressed.map((x) => `${x.policy}=${x.count}`).join(', ')})`;
  }
  const [done, attempt] = text.call.verb;
  const what = text.passed
    ? `${text.source} ${done} ${text.resource}`
    : `${text.source} tried to ${attempt} ${text.resource} (${text.result})`;
  const message = m.decision.message !== undefined && m.decision.message !== '' ? ` — ${m.decision.message}` : '';
  return `${text.action}: ${what}${message} [${m.decision.policyName}]`;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** A non-empty list as the SDK takes it (it copies array values into the record), else undefined. */
function list(values: readonly string[] | undefined): string[] | undefined {
  return values !== undefined && values.length > 0 ? values as string[] : undefined;
}

const A = ATTR;

/** What the configuration adds to every record (--event-name-attribute, the --datadog-* options). */
export interface RecordOptions {
  readonly eventNameAttribute: boolean;
  readonly datadog: DatadogSettings | null;
}

/** RecordOptions prepared once per exporter: the Datadog tags cache lives here. */
export class RecordShape {
  readonly eventNameAttribute: boolean;
  readonly ddtags: DdTags | null;
  readonly ddsource: string | undefined;
  readonly scalars: boolean;

  constructor(opts: RecordOptions) {
    this.eventNameAttribute = opts.eventNameAttribute;
    const dd = opts.datadog;
    this.ddtags = dd !== null && (dd.tags.length > 0 || dd.attributes) ? new DdTags(dd) : null;
    this.ddsource = dd?.source;
    this.scalars = dd?.attributes ?? false;
  }
}

const PLAIN = new RecordShape({ eventNameAttribute: false, datadog: null });

/**
 * Record attributes, as an object of ONE fixed shape: every key always present, absent optional
 * fields `undefined` (the SDK leaves undefined values out of the record, and does not count them
 * as dropped). An object literal with ~30 computed keys, or one grown key by key, falls into V8's
 * slow dictionary mode; building and walking this one was about 5× cheaper (measured, see
 * BENCHMARKS.md).
 */
export class RecordAttributes {
  [A.eventName]!: string | undefined;
  [A.pid]!: number;
  [A.vpid]!: number;
  [A.parentPid]!: number;
  [A.exePath]!: string;
  [A.exeName]!: string;
  [A.userId]!: number;
  [A.realUserId]!: number;
  [A.filePath]!: string | undefined;
  [A.networkTransport]!: string | undefined;
  [A.networkType]!: string | undefined;
  [A.peerAddress]!: string | undefined;
  [A.peerPort]!: number | undefined;
  [A.serverAddress]!: string | undefined;
  [A.serverPort]!: number | undefined;
  [A.clientAddress]!: string | undefined;
  [A.clientPort]!: number | undefined;
  [A.localAddress]!: string | undefined;
  [A.localPort]!: number | undefined;
  [A.socketDomain]!: string | undefined;
  [A.socketType]!: string | undefined;
  [A.socketProtocol]!: string | undefined;
  [A.socketFd]!: number | undefined;
  [A.commandArgs]!: string[] | undefined;
  [A.argsCount]!: number | undefined;
  [A.ruleName]!: string;
  [A.rulesetName]!: string | undefined;
  [A.type]!: string;
  [A.source]!: string;
  [A.operation]!: string;
  [A.action]!: string;
  [A.result]!: string;
  [A.enforcer]!: string;
  [A.data]!: string;
  [A.syscall]!: string | undefined;
  [A.ppid]!: number;
  [A.parentProcessName]!: string;
  [A.cwd]!: string | undefined;
  [A.tty]!: string | undefined;
  [A.argsTruncated]!: boolean | undefined;
  [A.ruleDescription]!: string | undefined;
  [A.severity]!: number | undefined;
  [A.tags]!: string[] | undefined;
  [A.atags]!: string[] | undefined;
  [A.dirfd]!: number | undefined;
  [A.flags]!: string | undefined;
  [A.resolvedResource]!: string | undefined;
  [A.hostResource]!: string | undefined;
  [A.matchedResource]!: string | undefined;
  [A.otherPolicies]!: string[] | undefined;
  [A.throttlePhase]!: string | undefined;
  [A.throttleSuppressed]!: number | undefined;
  [A.throttleByPolicy]!: string[] | undefined;
  [A.commandLine]!: string | undefined;
  [A.tagsJoined]!: string | undefined;
  [A.atagsJoined]!: string | undefined;
  [A.otherPoliciesJoined]!: string | undefined;
  [A.throttleByPolicyJoined]!: string | undefined;
  [A.ddtags]!: string | undefined;
  [A.ddsource]!: string | undefined;
  [A.datadogLogSource]!: string | undefined;
  [key: string]: AttributeValue | undefined;

  constructor(m: Match, text: MatchText, shape: RecordShape = PLAIN) {
    const ev = m.event;
    const d = m.decision;
    const t = m.throttle;
    this[A.eventName] = !shape.eventNameAttribute ? undefined : t === undefined ? EVENT_POLICY_MATCH : EVENT_ALERT_THROTTLE;
    this[A.pid] = ev.hostPid;
    this[A.vpid] = ev.pid;
    this[A.parentPid] = ev.hostPpid;
    this[A.exePath] = text.processName;
    this[A.exeName] = basename(text.processName);
    this[A.userId] = ev.euid;
    this[A.realUserId] = ev.uid;
    this[A.filePath] = text.filePath;
    const n = text.network;
    this[A.networkTransport] = n?.transport;
    this[A.networkType] = n?.type;
    this[A.peerAddress] = n?.peer?.address;
    this[A.peerPort] = n?.peer?.port;
    this[A.serverAddress] = n?.server?.address;
    this[A.serverPort] = n?.server?.port;
    this[A.clientAddress] = n?.client?.address;
    this[A.clientPort] = n?.client?.port;
    this[A.localAddress] = n?.local?.address;
    this[A.localPort] = n?.local?.port;
    this[A.socketDomain] = n?.domain;
    this[A.socketType] = n?.socketType;
    this[A.socketProtocol] = n?.protocol;
    this[A.socketFd] = n?.fd;
    this[A.commandArgs] = list(text.commandArgs);
    this[A.argsCount] = text.commandArgs?.length;
    this[A.ruleName] = d.policyName;
    this[A.rulesetName] = d.policyKind;
    this[A.type] = t === undefined ? text.type : 'AlertThreshold';
    this[A.source] = text.source;
    this[A.operation] = d.operation;
    this[A.action] = text.action;
    this[A.result] = text.result;
    this[A.enforcer] = 'eBPF Monitor';
    this[A.data] = text.data;
    this[A.syscall] = text.call.display;
    this[A.ppid] = ev.ppid;
    this[A.parentProcessName] = text.parentProcessName;
    this[A.cwd] = ev.cwd !== '' ? ev.cwd : undefined;
    this[A.tty] = text.tty;
    this[A.argsTruncated] = text.argsTruncated ? true : undefined;
    this[A.ruleDescription] = d.message !== undefined && d.message !== '' ? d.message : undefined;
    this[A.severity] = d.severity;
    this[A.tags] = list(d.tags);
    this[A.atags] = list(d.tags);
    this[A.dirfd] = text.dirfd;
    this[A.flags] = text.flags !== undefined && text.flags !== '' ? text.flags : undefined;
    this[A.resolvedResource] = text.resolvedResource;
    this[A.hostResource] = text.hostResource;
    this[A.matchedResource] = text.matchedResource;
    this[A.otherPolicies] = list(d.otherPolicies);
    this[A.throttlePhase] = t?.phase;
    this[A.throttleSuppressed] = t?.phase === 'ended' ? t.total : undefined;
    this[A.throttleByPolicy] = t?.phase === 'ended' ? t.suppressed.map((x) => `${x.policy}=${x.count}`) : undefined;
    const scalars = shape.scalars;
    this[A.commandLine] = scalars ? joined(text.commandArgs, ' ') : undefined;
    this[A.tagsJoined] = scalars ? joined(d.tags) : undefined;
    this[A.atagsJoined] = scalars ? joined(d.tags) : undefined;
    this[A.otherPoliciesJoined] = scalars ? joined(d.otherPolicies) : undefined;
    this[A.throttleByPolicyJoined] = scalars ? joined(this[A.throttleByPolicy]) : undefined;
    this[A.ddtags] = shape.ddtags?.of(d);
    this[A.ddsource] = shape.ddsource;
    this[A.datadogLogSource] = shape.ddsource;
  }
}

/**
 * Record attributes; optional fields that are absent are left out (undefined) rather than sent empty.
 * `shape` adds what the configuration asks for (the deprecated `event.name`, Datadog's attributes).
 */
export function recordAttributes(m: Match, text: MatchText = matchText(m), shape: RecordShape = PLAIN): Attributes {
  return new RecordAttributes(m, text, shape);
}

/** The LogRecord to emit for a match, attributes left out (they travel apart, see handoff.ts). */
export function matchRecordFields(m: Match, observed: HrTime, text: MatchText = matchText(m)): LogRecord {
  const severity = m.decision.severity;
  const record: LogRecord = {
    eventName: m.throttle === undefined ? EVENT_POLICY_MATCH : EVENT_ALERT_THROTTLE,
    timestamp: nsToHrTime(m.event.timestampNs),
    observedTimestamp: observed,
    severityNumber: toSeverityNumber(severity),
    body: matchBody(m, text),
  };
  // The OTel short name of SeverityNumber (WARN, ERROR2, ...), which Datadog's status remapper and
  // Loki's level detection read; the policy's own 1-10 value is the kubearmor.severity attribute.
  record.severityText = severityName(record.severityNumber as SeverityNumber);
  return record;
}

/** The LogRecord to emit for a match, attributes included. `observed` is when the agent handled it. */
export function matchToLogRecord(m: Match, observed: HrTime): LogRecord {
  const text = matchText(m);
  const record = matchRecordFields(m, observed, text);
  record.attributes = recordAttributes(m, text);
  return record;
}
