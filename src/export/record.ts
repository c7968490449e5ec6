// Alert → the fields of one OTLP LogRecord (docs/OTEL.md; names in attributes.ts).
import type { AnyValue, Attributes, HrTime, LogRecord } from '@opentelemetry/api';
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

function splitTags(tags: string | undefined): string[] | undefined {
  if (tags === undefined || tags === '') return undefined;
  return tags.split(',');
}

/** Record attributes; optional alert fields that are absent are left out rather than sent empty. */
export function recordAttributes(alert: Alert): Attributes {
  const a: Attributes = {
    [ATTR.eventName]: EVENT_POLICY_MATCH,
    [ATTR.pid]: alert.HostPID,
    [ATTR.vpid]: alert.PID,
    [ATTR.parentPid]: alert.HostPPID,
    [ATTR.exePath]: alert.ProcessName,
    [ATTR.exeName]: basename(alert.ProcessName),
    [ATTR.userId]: alert.UID,
    [ATTR.filePath]: alert.Resource,
    [ATTR.ruleName]: alert.PolicyName,
    [ATTR.rulesetName]: alert.PolicyKind,
    [ATTR.type]: alert.Type,
    [ATTR.source]: alert.Source,
    [ATTR.operation]: alert.Operation,
    [ATTR.action]: alert.Action,
    [ATTR.result]: alert.Result,
    [ATTR.enforcer]: alert.Enforcer,
    [ATTR.data]: alert.Data,
    [ATTR.syscall]: alert.Syscall,
    [ATTR.ppid]: alert.PPID,
    [ATTR.parentProcessName]: alert.ParentProcessName,
  };
  if (alert.Cwd !== undefined && alert.Cwd !== '') a[ATTR.cwd] = alert.Cwd;
  if (alert.Message !== undefined && alert.Message !== '') a[ATTR.ruleDescription] = alert.Message;
  const severity = policySeverityNumber(alert.Severity);
  if (severity !== undefined) a[ATTR.severity] = severity;
  const tags = splitTags(alert.Tags);
  if (tags !== undefined) a[ATTR.tags] = tags;
  if (alert.ATags !== undefined && alert.ATags.length > 0) a[ATTR.atags] = [...alert.ATags];
  if (alert.Dirfd !== undefined) a[ATTR.dirfd] = alert.Dirfd;
  if (alert.Flags !== undefined && alert.Flags !== '') a[ATTR.flags] = alert.Flags;
  if (alert.ResolvedResource !== undefined && alert.ResolvedResource !== alert.Resource) a[ATTR.resolvedResource] = alert.ResolvedResource;
  if (alert.OtherPolicies !== undefined && alert.OtherPolicies.length > 0) a[ATTR.otherPolicies] = [...alert.OtherPolicies];
  return a;
}

/** The LogRecord to emit for an alert. `observed` is when the agent handled it. */
export function alertToLogRecord(alert: Alert, observed: HrTime): LogRecord {
  const body: AnyValue = alertBody(alert);
  const record: LogRecord = {
    eventName: EVENT_POLICY_MATCH,
    timestamp: alertTime(alert),
    observedTimestamp: observed,
    severityNumber: toSeverityNumber(alert.Severity),
    body,
    attributes: recordAttributes(alert),
  };
  if (alert.Severity !== undefined && alert.Severity !== '') record.severityText = String(alert.Severity);
  return record;
}
