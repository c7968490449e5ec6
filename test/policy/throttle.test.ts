// Alert throttling, KubeArmor's way, on a controlled clock: at most maxAlertPerSec per container
// per second; past it, one notice, a quiet period of throttleSec, and a closing notice with what was
// suppressed per policy. Whatever the arrival pattern: admitted + suppressed = matches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { renderAlert } from '../../src/export/kubearmor.ts';
import { matchToLogRecord } from '../../src/export/record.ts';
import { AlertThrottle, noticeMatch, throttleSubject, type ThrottleNotice, type ThrottleSubject } from '../../src/policy/throttle.ts';
import type { Match } from '../../src/types.ts';
import { HOST_MATCH, SEED_MATCH } from '../export/fixtures.ts';

const POD: ThrottleSubject = { key: 'c1', namespace: 'shop', workload: 'checkout' };
const OTHER: ThrottleSubject = { key: 'c2', namespace: 'shop', workload: 'cart' };

function setup(maxAlertPerSec = 10, throttleSec = 30, enabled = true) {
  let now = 1_000_000;
  const notices: ThrottleNotice[] = [];
  const t = new AlertThrottle({ enabled, maxAlertPerSec, throttleSec }, (n) => notices.push(n), () => now);
  return { t, notices, advance: (ms: number) => { now += ms; }, now: () => now };
}

test('a probe reading a file 50 times a second: 10 alerts, a start notice, 30 s of quiet, then the counts', () => {
  const { t, notices, advance } = setup();
  let sent = 0;
  for (let i = 0; i < 50; i++) if (t.admit(POD, 'ksp-proc-net')) sent++;
  assert.equal(sent, 10);
  assert.equal(notices.length, 1);
  assert.equal(notices[0]!.kind, 'started');
  // Another container is not affected.
  assert.equal(t.admit(OTHER, 'ksp-proc-net'), true);
  // The quiet period: 29 more seconds at 50/s from this container, two policies.
  for (let s = 0; s < 29; s++) {
    advance(1000);
    for (let i = 0; i < 50; i++) assert.equal(t.admit(POD, i % 5 === 0 ? 'ksp-etc' : 'ksp-proc-net'), false);
  }
  t.sweep();
  assert.equal(notices.length, 1, 'still quiet before 30 s');
  advance(1000);
  t.sweep();
  assert.equal(notices.length, 2);
  const end = notices[1]!;
  assert.equal(end.kind, 'ended');
  if (end.kind !== 'ended') return;
  assert.equal(end.total, 40 + 29 * 50);
  assert.deepEqual(end.suppressed, [{ policy: 'ksp-proc-net', count: 40 + 29 * 40 }, { policy: 'ksp-etc', count: 29 * 10 }]);
  assert.equal(end.endedMs - end.startedMs, 30_000);
  // After the quiet period, alerts flow again.
  assert.equal(t.admit(POD, 'ksp-proc-net'), true);
  const c = t.counters();
  assert.equal(c.admitted + c.suppressed, 50 + 29 * 50 + 1 + 1);
  assert.equal(c.periods, 1);
  assert.equal(t.suppressedBy.get('shop\0checkout\0ksp-etc')?.count, 290);
});

test('a new alert after the quiet period ends it even without a sweep; flush ends every open one', () => {
  const { t, notices, advance } = setup(2, 5);
  for (let i = 0; i < 5; i++) t.admit(POD, 'p');
  advance(5000);
  assert.equal(t.admit(POD, 'p'), true);
  assert.deepEqual(notices.map((n) => n.kind), ['started', 'ended']);
  for (let i = 0; i < 5; i++) t.admit(OTHER, 'q');
  t.flush();
  assert.deepEqual(notices.map((n) => n.kind), ['started', 'ended', 'started', 'ended']);
  const last = notices[3]!;
  assert.ok(last.kind === 'ended' && last.total === 3);
});

test('off: every alert admitted, no notice', () => {
  const { t, notices } = setup(1, 30, false);
  for (let i = 0; i < 100; i++) assert.equal(t.admit(POD, 'p'), true);
  assert.equal(notices.length, 0);
  assert.equal(t.counters().admitted, 100);
});

test('any arrival pattern: admitted + suppressed = matches, and the notices account for every suppressed alert', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }),
    fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 3000 }), container: fc.integer({ min: 0, max: 3 }), policy: fc.constantFrom('a', 'b', 'c') }), { maxLength: 400 }),
    (max, quiet, arrivals) => {
      const { t, notices, advance } = setup(max, quiet);
      let admitted = 0;
      for (const a of arrivals) {
        advance(a.gapMs);
        const subject = { key: `c${a.container}`, namespace: 'ns', workload: `w${a.container}` };
        if (t.admit(subject, a.policy)) admitted++;
        if (a.gapMs > 2500) t.sweep();
      }
      t.flush();
      const c = t.counters();
      assert.equal(c.admitted, admitted);
      assert.equal(c.admitted + c.suppressed, arrivals.length);
      const reported = notices.reduce((s, n) => s + (n.kind === 'ended' ? n.total : 0), 0);
      assert.equal(reported, c.suppressed, 'every suppressed alert is in an ending notice');
      assert.equal(notices.filter((n) => n.kind === 'started').length, notices.filter((n) => n.kind === 'ended').length);
      let byWorkload = 0;
      for (const v of t.suppressedBy.values()) byWorkload += v.count;
      assert.equal(byWorkload, c.suppressed);
    },
  ), { numRuns: 300 });
});

test('never more than maxAlertPerSec admitted per container in any one-second window', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 500 }), (gaps) => {
    const { t, advance, now } = setup(5, 2);
    const times: number[] = [];
    for (const g of gaps) { advance(g); if (t.admit(POD, 'p')) times.push(now()); }
    const perWindow = new Map<number, number>();
    for (const ms of times) perWindow.set(Math.floor(ms / 1000), (perWindow.get(Math.floor(ms / 1000)) ?? 0) + 1);
    for (const n of perWindow.values()) assert.ok(n <= 5);
  }), { numRuns: 300 });
});

test('the notices travel as records of the alert they concern: Type AlertThreshold, the counts in both renderers', () => {
  const notices: ThrottleNotice<Match>[] = [];
  let now = 5_000_000;
  const settings = { enabled: true, maxAlertPerSec: 3, throttleSec: 2 };
  const t = new AlertThrottle<Match>(settings, (n) => notices.push(n), () => now);
  const subject = throttleSubject(SEED_MATCH.workload);
  assert.equal(subject.workload, SEED_MATCH.workload.owner?.name, 'counted against the owning workload');
  assert.equal(throttleSubject(HOST_MATCH.workload).workload, 'host');
  const other = { ...SEED_MATCH, decision: { ...SEED_MATCH.decision, policyName: 'ksp-other' } };
  let sent = 0;
  for (let i = 0; i < 10; i++) if (t.admit(subject, (i % 2 === 0 ? SEED_MATCH : other).decision.policyName, i % 2 === 0 ? SEED_MATCH : other)) sent++;
  now += 2000;
  t.sweep();
  assert.equal(sent, 3);
  const [started, ended] = notices.map((n) => noticeMatch(n, settings));
  const a1 = renderAlert(started!);
  assert.equal(a1.Type, 'AlertThreshold');
  assert.deepEqual(a1.Throttle, { Phase: 'started', MaxAlertsPerSec: 3, ThrottleSec: 2 });
  assert.equal(a1.PolicyName, 'ksp-other', 'rendered from the alert that went past the limit');
  const a2 = renderAlert(ended!);
  assert.deepEqual(a2.Throttle, { Phase: 'ended', QuietSec: 2, SuppressedTotal: 7, Suppressed: { 'ksp-other': 4, [SEED_MATCH.decision.policyName]: 3 } });
  const r = matchToLogRecord(ended!, [0, 0]);
  assert.equal(r.eventName, 'armorwatch.alert.throttle');
  assert.equal(r.attributes?.['kubearmor.type'], 'AlertThreshold');
  assert.equal(r.attributes?.['armorwatch.throttle.phase'], 'ended');
  assert.equal(r.attributes?.['armorwatch.throttle.suppressed'], 7);
  assert.deepEqual(r.attributes?.['armorwatch.throttle.suppressed_by_policy'], ['ksp-other=4', `${SEED_MATCH.decision.policyName}=3`]);
  assert.match(String(r.body), /7 alerts suppressed in 2 s/);
  // An alert record carries none of it.
  const plain = matchToLogRecord(SEED_MATCH, [0, 0]);
  assert.equal(plain.eventName, 'armorwatch.policy.match');
  assert.equal(plain.attributes?.['armorwatch.throttle.phase'], undefined);
  assert.equal(renderAlert(SEED_MATCH).Throttle, undefined);
});

test('a container the runtime could not name is throttled in a bucket of its own, never the host\'s', () => {
  const { t, notices } = setup(3, 5);
  const unnamed = throttleSubject({ kind: 'container', labels: {} });
  const host = throttleSubject(HOST_MATCH.workload);
  assert.notEqual(unnamed.key, host.key);
  assert.equal(unnamed.workload, 'unnamed container', 'the notices say whose alerts were held back');
  for (let i = 0; i < 20; i++) t.admit(unnamed, 'ksp-any');
  assert.equal(notices.length, 1, 'the unnamed container is throttled');
  assert.equal(t.admit(host, 'hsp-any'), true, 'the host still has its whole budget');
});
