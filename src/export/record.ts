// Alert → the fields of one OTLP LogRecord (docs/OTEL.md; names in attributes.ts).
import type { AttributeValue, Attributes, HrTime, LogRecord } from '@opentelemetry/api';
import type { Alert } from '../types.ts';
import { ATTR, EVENT_POLICY_MATCH } from './attributes.ts';
import { policySeverityNumber, toSeverityNumber } from './severity.ts';

/** Decimal nanoseconds since the epoch → HrTime without going through a float (which keeps only ~µs). */
export function nsToHrTime(ns: string): HrTime | undefined {
  if (!/^\d{1,30}$/.test(ns)) return undefined;
  const s = ns.length > 9 ? Number(ns.slice(0, ns.length - 9)) : 0;
  const n = Number(ns.length > 9 ? ns.slice(ns.length - 9) : ns);
  return [s, n];
}

function alertTime(alert: Alert): HrTime {
  const hr = alert.TimestampNs === undefined ? undefined : nsToHrTime(alert.TimestampNs);
  if (hr !== undefined) return hr;
  const sec = Math.floor(alert.Timestamp);
  return [sec, Math.round((alert.Timestamp - sec) * 1e9)];
}

const VERBS: Readonly<Record<string, readonly [done: string, attempt: string]>> = {
  open: ['opened', 'open'], openat: ['opened', 'open'], openat2: ['opened', 'open'], creat: ['created', 'create'],
  unlink: ['deleted', 'delete'], unlinkat: ['deleted', 'delete'], rmdir: ['removed', 'remove'],
  rename: ['renamed', 'rename'], renameat: ['renamed', 'rename'], renameat2: ['renamed', 'rename'],
  truncate: ['truncated', 'truncate'],
  chmod: ['changed the mode of', 'change the mode of'], fchmodat: ['changed the mode of', 'change the mode of'],
  chown: ['changed the owner of', 'change the owner of'], fchownat: ['changed the owner of', 'change the owner of'],
};

/** One human line: `Audit: /bin/ls opened /etc/network/if-up.d — <message> [<policy>]`. */
export function alertBody(alert: Alert): string {
  const call = (alert.Syscall ?? '').replace(/^SYS_/, '').toLowerCase();
  const verbs = VERBS[call] ?? ['accessed', 'access'];
  const passed = alert.Result === 'Passed';
  const what = passed
    ? `${alert.ProcessName} ${verbs[0]} ${alert.Resource}`
    : `${alert.ProcessName} tried to ${verbs[1]} ${alert.Resource} (${alert.Result})`;
  const message = alert.Message !== undefined && alert.Message !== '' ? ` — ${alert.Message}` : '';
  return `${alert.Action}: ${what}${message} [${alert.PolicyName}]`;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

// Tags strings repeat (one per policy): their split arrays are kept, bounded, instead of re-split per record.
const tagArrays = new Map<string, readonly string[]>();

function splitTags(tags: string | undefined): string[] | undefined {
  if (tags === undefined || tags === '') return undefined;
  let parts = tagArrays.get(tags);
  if (parts === undefined) {
    if (tagArrays.size >= 1024) tagArrays.clear();
    parts = Object.freeze(tags.split(','));
    tagArrays.set(tags, parts);
  }
  // The SDK copies array values into the record, so handing out the shared array is safe.
  return parts as string[];
}

const A = ATTR;

/**
 * Record attributes, as an object of ONE fixed shape: every key always present, absent optional
 * fields `undefined` (the SDK leaves undefined values out of the record, and does not count them
 * as dropped). An object literal with ~30 computed keys, or one grown key by key, falls into V8's
 * slow dictionary mode; building and walking this one was about 5× cheaper (measured, see
 * BENCHMARKS.md).
 */
export class RecordAttributes {
  [A.eventName]!: string;
  [A.pid]!: number;
  [A.vpid]!: number;
  [A.parentPid]!: number;
  [A.exePath]!: string;
  [A.exeName]!: string;
  [A.userId]!: number;
  [A.filePath]!: string;
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
  [A.ruleDescription]!: string | undefined;
  [A.severity]!: number | undefined;
  [A.tags]!: string[] | undefined;
  [A.atags]!: string[] | undefined;
  [A.dirfd]!: number | undefined;
  [A.flags]!: string | undefined;
  [A.resolvedResource]!: string | undefined;
  [A.otherPolicies]!: string[] | undefined;
  [key: string]: AttributeValue | undefined;

  constructor(alert: Alert) {
    this[A.eventName] = EVENT_POLICY_MATCH;
    this[A.pid] = alert.HostPID;
    this[A.vpid] = alert.PID;
    this[A.parentPid] = alert.HostPPID;
    this[A.exePath] = alert.ProcessName;
    this[A.exeName] = basename(alert.ProcessName);
    this[A.userId] = alert.UID;
    this[A.filePath] = alert.Resource;
    this[A.ruleName] = alert.PolicyName;
    this[A.rulesetName] = alert.PolicyKind;
    this[A.type] = alert.Type;
    this[A.source] = alert.Source;
    this[A.operation] = alert.Operation;
    this[A.action] = alert.Action;
    this[A.result] = alert.Result;
    this[A.enforcer] = alert.Enforcer;
    this[A.data] = alert.Data;
    this[A.syscall] = alert.Syscall;
    this[A.ppid] = alert.PPID;
    this[A.parentProcessName] = alert.ParentProcessName;
    this[A.cwd] = alert.Cwd !== undefined && alert.Cwd !== '' ? alert.Cwd : undefined;
    this[A.ruleDescription] = alert.Message !== undefined && alert.Message !== '' ? alert.Message : undefined;
    this[A.severity] = policySeverityNumber(alert.Severity);
    this[A.tags] = splitTags(alert.Tags);
    this[A.atags] = alert.ATags !== undefined && alert.ATags.length > 0 ? alert.ATags as string[] : undefined;
    this[A.dirfd] = alert.Dirfd;
    this[A.flags] = alert.Flags !== undefined && alert.Flags !== '' ? alert.Flags : undefined;
    this[A.resolvedResource] = alert.ResolvedResource !== undefined && alert.ResolvedResource !== alert.Resource ? alert.ResolvedResource : undefined;
    this[A.otherPolicies] = alert.OtherPolicies !== undefined && alert.OtherPolicies.length > 0 ? alert.OtherPolicies as string[] : undefined;
  }
}

/** Record attributes; optional alert fields that are absent are left out (undefined) rather than sent empty. */
export function recordAttributes(alert: Alert): Attributes {
  return new RecordAttributes(alert);
}

/** The LogRecord to emit for an alert, attributes left out (they travel apart, see handoff.ts). */
export function alertRecordFields(alert: Alert, observed: HrTime): LogRecord {
  const record: LogRecord = {
    eventName: EVENT_POLICY_MATCH,
    timestamp: alertTime(alert),
    observedTimestamp: observed,
    severityNumber: toSeverityNumber(alert.Severity),
    body: alertBody(alert),
  };
  if (alert.Severity !== undefined && alert.Severity !== '') record.severityText = String(alert.Severity);
  return record;
}

/** The LogRecord to emit for an alert. `observed` is when the agent handled it. */
export function alertToLogRecord(alert: Alert, observed: HrTime): LogRecord {
  const record = alertRecordFields(alert, observed);
  record.attributes = recordAttributes(alert);
  return record;
}
