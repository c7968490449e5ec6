// Alert throttling the way KubeArmor does it: per container (the host is one more "container"), at
// most `maxAlertPerSec` alerts in any one-second window; the alert that goes past it starts a quiet
// period of `throttleSec` seconds in which that container's alerts are suppressed. Nothing is
// silent: the start of a quiet period is reported (one notice), and so is its end, with what was
// suppressed, counted per workload and policy. Invariant: matches = admitted + suppressed.

import type { Match, Workload } from '../types.ts';

export interface ThrottleSettings {
  readonly enabled: boolean;
  readonly maxAlertPerSec: number;
  readonly throttleSec: number;
}

/** Who a container belongs to, for the notices and the per-workload counts. */
export interface ThrottleSubject {
  /** The container id; '' for host processes; UNNAMED_CONTAINER_KEY for a container the runtime could not name. */
  readonly key: string;
  readonly namespace: string;
  /** The owning workload (e.g. Deployment name), else the pod name, else the container name. */
  readonly workload: string;
}

export interface SuppressedCount {
  readonly policy: string;
  readonly count: number;
}

/** `sample`: the alert that started the quiet period, or the last one it suppressed (what the notice record is rendered from). */
export type ThrottleNotice<T = undefined> =
  | { readonly kind: 'started'; readonly subject: ThrottleSubject; readonly atMs: number; readonly untilMs: number; readonly policy: string; readonly sample: T }
  | { readonly kind: 'ended'; readonly subject: ThrottleSubject; readonly startedMs: number; readonly endedMs: number;
      readonly suppressed: readonly SuppressedCount[]; readonly total: number; readonly sample: T };

interface ContainerState<T> {
  subject: ThrottleSubject;
  /** Start of the current one-second window (ms, multiple of 1000). */
  windowMs: number;
  inWindow: number;
  /** Set while throttled. */
  quiet: { startedMs: number; untilMs: number; byPolicy: Map<string, number>; last: T } | null;
}

export interface ThrottleCounters {
  readonly admitted: number;
  readonly suppressed: number;
  readonly periods: number;
  readonly throttledNow: number;
}

export class AlertThrottle<T = undefined> {
  readonly #settings: ThrottleSettings;
  readonly #notify: (n: ThrottleNotice<T>) => void;
  readonly #now: () => number;
  readonly #states = new Map<string, ContainerState<T>>();
  /** Suppressed alerts so far, by namespace, workload and policy (for the metrics). */
  readonly suppressedBy = new Map<string, { namespace: string; workload: string; policy: string; count: number }>();
  #admitted = 0;
  #suppressed = 0;
  #periods = 0;

  constructor(settings: ThrottleSettings, notify: (n: ThrottleNotice<T>) => void, now: () => number = Date.now) {
    this.#settings = settings;
    this.#notify = notify;
    this.#now = now;
  }

  /** True when the alert may be sent; false when it is suppressed (and counted). */
  admit(subject: ThrottleSubject, policy: string, sample?: T): boolean {
    if (!this.#settings.enabled) { this.#admitted++; return true; }
    const now = this.#now();
    let st = this.#states.get(subject.key);
    if (st === undefined) {
      st = { subject, windowMs: now - (now % 1000), inWindow: 0, quiet: null };
      this.#states.set(subject.key, st);
    }
    st.subject = subject;
    if (st.quiet !== null && now >= st.quiet.untilMs) this.#end(st, now);
    if (st.quiet !== null) {
      this.#suppress(st, policy, sample as T);
      return false;
    }
    const windowMs = now - (now % 1000);
    if (windowMs !== st.windowMs) { st.windowMs = windowMs; st.inWindow = 0; }
    if (st.inWindow >= this.#settings.maxAlertPerSec) {
      const untilMs = now + this.#settings.throttleSec * 1000;
      st.quiet = { startedMs: now, untilMs, byPolicy: new Map(), last: sample as T };
      this.#periods++;
      this.#suppress(st, policy, sample as T);
      this.#notify({ kind: 'started', subject, atMs: now, untilMs, policy, sample: sample as T });
      return false;
    }
    st.inWindow++;
    this.#admitted++;
    return true;
  }

  /** Ends the quiet periods that are over (their notices carry the counts), forgets idle containers. */
  sweep(): void {
    const now = this.#now();
    for (const [key, st] of this.#states) {
      if (st.quiet !== null && now >= st.quiet.untilMs) this.#end(st, now);
      else if (st.quiet === null && now - st.windowMs > 2000) this.#states.delete(key);
    }
  }

  /** Ends every quiet period now (at shutdown), so no suppressed count goes unreported. */
  flush(): void {
    const now = this.#now();
    for (const st of this.#states.values()) if (st.quiet !== null) this.#end(st, now);
  }

  counters(): ThrottleCounters {
    let throttledNow = 0;
    for (const st of this.#states.values()) if (st.quiet !== null) throttledNow++;
    return { admitted: this.#admitted, suppressed: this.#suppressed, periods: this.#periods, throttledNow };
  }

  #suppress(st: ContainerState<T>, policy: string, sample: T): void {
    const q = st.quiet as NonNullable<ContainerState<T>['quiet']>;
    q.last = sample;
    q.byPolicy.set(policy, (q.byPolicy.get(policy) ?? 0) + 1);
    this.#suppressed++;
    const k = `${st.subject.namespace}\0${st.subject.workload}\0${policy}`;
    const agg = this.suppressedBy.get(k);
    if (agg === undefined) this.suppressedBy.set(k, { namespace: st.subject.namespace, workload: st.subject.workload, policy, count: 1 });
    else agg.count++;
  }

  #end(st: ContainerState<T>, now: number): void {
    const q = st.quiet as NonNullable<ContainerState<T>['quiet']>;
    st.quiet = null;
    st.windowMs = now - (now % 1000);
    st.inWindow = 0;
    const suppressed = [...q.byPolicy].map(([policy, count]) => ({ policy, count })).sort((a, b) => b.count - a.count || a.policy.localeCompare(b.policy));
    this.#notify({ kind: 'ended', subject: st.subject, startedMs: q.startedMs, endedMs: now, suppressed, total: suppressed.reduce((s, x) => s + x.count, 0), sample: q.last });
  }
}

const subjects = new WeakMap<Workload, ThrottleSubject>();

/** The throttling subject of a workload: its container, or the node's host processes (cached per frozen Workload). */
/**
 * The bucket of containers the runtime could not name (enrich's unattributed events): one bucket of
 * their own, so that their alerts never spend the host's budget nor the host's theirs. It cannot be an
 * id: a container id is hex, so this never collides with one.
 */
export const UNNAMED_CONTAINER_KEY = 'unnamed container';

export function throttleSubject(w: Workload): ThrottleSubject {
  let s = subjects.get(w);
  if (s === undefined) {
    s = w.kind === 'host' ? { key: '', namespace: '', workload: 'host' }
      : w.containerId === undefined ? { key: UNNAMED_CONTAINER_KEY, namespace: w.namespace ?? '', workload: UNNAMED_CONTAINER_KEY }
      : { key: w.containerId, namespace: w.namespace ?? '', workload: w.owner?.name ?? w.podName ?? w.containerName ?? w.containerId };
    subjects.set(w, s);
  }
  return s;
}

/** The notice record of a throttling notice: the Match it concerns, with the throttle note added. */
export function noticeMatch(n: ThrottleNotice<Match>, settings: ThrottleSettings): Match {
  return {
    ...n.sample,
    throttle: n.kind === 'started'
      ? { phase: 'started', maxAlertsPerSec: settings.maxAlertPerSec, throttleSec: settings.throttleSec }
      : { phase: 'ended', quietMs: n.endedMs - n.startedMs, total: n.total, suppressed: n.suppressed },
  };
}
