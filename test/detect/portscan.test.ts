// The port-scan detector on recorded connect sequences: which sequences make an episode, what the
// episode's records say, and what busy honest traffic does not trip. Times are passed explicitly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import type { ScanConfig } from '../../src/config/types.ts';
import { PortScanDetector } from '../../src/detect/portscan.ts';
import type { NetworkEvent, ScanDetection, Workload } from '../../src/types.ts';
import { at, connect, ECONNREFUSED, EHOSTUNREACH, EINPROGRESS, HOST, HOST_NETNS, NODE, outcome, POD, POD_NETNS, type Connect } from './fixtures.ts';

function detector(cfg: Partial<ScanConfig> = {}): { d: PortScanDetector; out: ScanDetection[]; feed: (c: Connect, w?: Workload) => void } {
  const out: ScanDetection[] = [];
  const d = new PortScanDetector({ ...SCAN_DEFAULTS, ...cfg }, (x) => out.push(x), HOST_NETNS);
  const feed = (c: Connect, w: Workload = HOST): void => {
    // A pod's processes share its network namespace.
    const cw = w.kind === 'container' ? { netNs: POD_NETNS, ...c } : c;
    const ev: NetworkEvent = c.phase === 'outcome' ? outcome(cw) : connect(cw);
    d.observe(ev, w, NODE, c.ms);
  };
  return { d, out, feed };
}

const phases = (out: ScanDetection[]): string[] => out.map((x) => x.scan.phase);

test('vertical: 1000 ports of one host in a second, 3 open → one episode, started then ended with exact counts', () => {
  const { d, out, feed } = detector({ quietMs: 5000 });
  const open = new Set([22, 80, 443]);
  for (let p = 1; p <= 1000; p++) {
    const ms = p; // one per millisecond
    feed({ host: '10.99.0.2', port: p, ms });
    feed({ host: '10.99.0.2', port: p, ms: ms + 0.5, phase: 'outcome', ret: open.has(p) ? 0 : -ECONNREFUSED });
  }
  assert.deepEqual(phases(out), ['started'], 'one record while it runs (the update interval is not reached)');
  const started = out[0]!.scan;
  assert.deepEqual(started.kinds, ['vertical']);
  assert.equal(started.slow, false);
  assert.equal(started.distinctPorts, SCAN_DEFAULTS.ports, 'started when the threshold was crossed, with the ports that crossed it');
  d.sweep(1000 + 5000 - 1);
  assert.equal(out.length, 1, 'not ended before the quiet gap');
  d.sweep(1000 + 5000);
  assert.deepEqual(phases(out), ['started', 'ended']);
  const ended = out[1]!.scan;
  assert.equal(ended.id, started.id, 'the same episode');
  assert.deepEqual({ attempts: ended.attempts, ports: ended.distinctPorts, hosts: ended.distinctHosts, succeeded: ended.succeeded, refused: ended.refused, failed: ended.failed },
    { attempts: 1000, ports: 1000, hosts: 1, succeeded: 3, refused: 997, failed: 0 });
  assert.deepEqual(ended.openPorts, [22, 80, 443]);
  assert.deepEqual(ended.hosts, ['10.99.0.2']);
  assert.deepEqual(ended.ports, Array.from({ length: 32 }, (_, i) => i + 1), 'the lowest 32 ports as the sample');
  assert.deepEqual(ended.transports, ['tcp']);
  assert.deepEqual(ended.families, ['ipv4']);
  assert.equal(out[1]!.event.exePath, '/usr/bin/nmap');
  assert.deepEqual(d.stats(), { keys: 0, active: 0, records: { started: 1, updated: 0, ended: 1 }, dropped: { keys: 0, targets: 0, hosts: 0 } });
});

test('horizontal: one port over 100 hosts → one episode of kind horizontal; unreachable hosts count as failed', () => {
  const { d, out, feed } = detector();
  for (let i = 1; i <= 100; i++) {
    feed({ host: `10.99.1.${i}`, port: 80, ms: i * 10 });
    feed({ host: `10.99.1.${i}`, port: 80, ms: i * 10 + 5, phase: 'outcome', ret: i <= 4 ? 0 : i <= 50 ? -ECONNREFUSED : -EHOSTUNREACH });
  }
  d.sweep(10_000 + SCAN_DEFAULTS.quietMs);
  assert.deepEqual(phases(out), ['started', 'ended']);
  assert.deepEqual(out[0]!.scan.kinds, ['horizontal']);
  assert.equal(out[0]!.scan.distinctHosts, SCAN_DEFAULTS.hosts);
  const e = out[1]!.scan;
  assert.deepEqual({ hosts: e.distinctHosts, ports: e.distinctPorts, attempts: e.attempts, succeeded: e.succeeded, refused: e.refused, failed: e.failed },
    { hosts: 100, ports: 1, attempts: 100, succeeded: 4, refused: 46, failed: 50 });
  assert.equal(e.hosts.length, 16, 'a sample of the hosts');
  assert.equal(e.hosts[0], '10.99.1.1');
});

test('slow: 45 ports one every 2 s stays under the fast window but crosses the slow one', () => {
  const { d, out, feed } = detector();
  for (let p = 1; p <= 45; p++) feed({ host: '10.99.0.2', port: 1000 + p, ms: p * 2000, ret: -ECONNREFUSED });
  assert.equal(out.length, 1, 'started (the last 5 ports came within the update interval)');
  assert.equal(out[0]!.scan.slow, true);
  assert.deepEqual(out[0]!.scan.kinds, ['vertical']);
  assert.equal(out[0]!.scan.distinctPorts, SCAN_DEFAULTS.slowPorts);
  d.flush();
  assert.deepEqual(phases(out), ['started', 'ended']);
  const e = out.at(-1)!.scan;
  assert.equal(e.phase, 'ended');
  assert.deepEqual({ ports: e.distinctPorts, refused: e.refused }, { ports: 45, refused: 45 });
});

test('the same 45 slow ports spread over more than the slow window raise nothing', () => {
  const { out, feed } = detector();
  // One every 8 s: at most 38 in any 5 minutes.
  for (let p = 1; p <= 45; p++) feed({ host: '10.99.0.2', port: 1000 + p, ms: p * 8000, ret: -ECONNREFUSED });
  assert.equal(out.length, 0);
});

test('updates come at most every --scan-update-interval while the scan goes on, and only when something changed', () => {
  const { d, out, feed } = detector({ updateIntervalMs: 5000 });
  for (let i = 0; i < 20_000; i++) feed({ host: '10.99.0.2', port: 1 + (i % 65535), ms: i }); // 20 s, 1000/s
  assert.deepEqual(phases(out), ['started', 'updated', 'updated', 'updated']);
  const times = out.map((x) => Number(x.scan.lastNs / 1_000_000n) - 1_795_885_200_000);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 5000, `updates ${times[i - 1]} → ${times[i]} at least 5 s apart`);
  d.sweep(20_000 + 4000);
  assert.equal(out.length, 5, 'the sweep sends the update that was due');
  d.sweep(20_000 + 9000);
  assert.equal(out.length, 5, 'nothing new since: no update record');
  d.sweep(20_000 + SCAN_DEFAULTS.quietMs);
  assert.equal(out.at(-1)!.scan.phase, 'ended');
  assert.equal(out.at(-1)!.scan.attempts, 20_000);
  assert.equal(out.at(-1)!.scan.distinctPorts, 20_000);
});

test('after an episode ended, a new scan is a new episode', () => {
  const { d, out, feed } = detector();
  for (let p = 1; p <= 30; p++) feed({ host: '10.99.0.2', port: p, ms: p });
  d.sweep(30 + SCAN_DEFAULTS.quietMs);
  for (let p = 1; p <= 30; p++) feed({ host: '10.99.0.2', port: p, ms: 40_000 + p });
  d.flush();
  assert.deepEqual(phases(out), ['started', 'ended', 'started', 'ended']);
  assert.notEqual(out[0]!.scan.id, out[2]!.scan.id);
});

test('negatives: 1,000 connects to one port, a client of 5 backends, DNS to 3 resolvers — no record', () => {
  const { d, out, feed } = detector();
  for (let i = 0; i < 1000; i++) feed({ host: '10.0.0.10', port: 5432, ms: i, ret: 0 });
  for (let i = 0; i < 1000; i++) feed({ host: `10.0.1.${1 + (i % 5)}`, port: 8080, ms: i, ret: 0, pid: 5000, ppid: 4999 });
  for (let i = 0; i < 300; i++) feed({ host: `10.96.0.${10 + (i % 3)}`, port: 53, ms: i * 10, udp: true, ret: 0, pid: 6000, ppid: 5999 });
  // A service whose workers (children of one parent) each talk to the same few backends.
  for (let i = 0; i < 500; i++) feed({ host: `10.0.2.${1 + (i % 4)}`, port: 6379 + (i % 2), ms: i, ret: 0, pid: 7000 + (i % 8), ppid: 6999 });
  d.flush();
  assert.equal(out.length, 0);
  assert.equal(d.stats().keys, 4, 'one key per process tree');
});

test('a threshold just under the defaults raises nothing; one more target starts the episode', () => {
  const { out, feed } = detector();
  for (let p = 1; p < SCAN_DEFAULTS.ports; p++) feed({ host: '10.99.0.2', port: p, ms: p });
  for (let i = 1; i < SCAN_DEFAULTS.hosts; i++) feed({ host: `10.99.1.${i}`, port: 8443, ms: i, pid: 9000, ppid: 8999 });
  assert.equal(out.length, 0);
  feed({ host: '10.99.0.2', port: SCAN_DEFAULTS.ports, ms: 100 });
  assert.deepEqual(out.map((x) => x.scan.kinds), [['vertical']]);
  feed({ host: '10.99.1.250', port: 8443, ms: 100, pid: 9000, ppid: 8999 });
  assert.deepEqual(out.map((x) => x.scan.kinds), [['vertical'], ['horizontal']]);
});

test('pods are keyed by their network namespace: two containers of one pod scanning together make one episode; host trees by parent', () => {
  const { d, out, feed } = detector();
  const sidecar: Workload = { ...POD, containerId: 'd'.repeat(64), containerName: 'sidecar' };
  for (let p = 1; p <= 10; p++) feed({ host: '10.99.0.2', port: p, ms: p }, POD);
  // Another process tree of the pod: the same key all the same.
  for (let p = 11; p <= 20; p++) feed({ host: '10.99.0.2', port: p, ms: p, pid: 5001, ppid: 5000 }, sidecar);
  assert.equal(out.length, 1, 'the pod crossed the threshold');
  assert.equal(out[0]!.workload.podName, 'web-1');
  // A shell loop: each `nc -z` is a new process, children of the same shell.
  for (let p = 1; p <= 20; p++) feed({ host: '10.99.0.3', port: p, ms: p, pid: 10_000 + p, ppid: 9999 });
  assert.equal(out.length, 2, 'the shell loop is one process tree');
  // Daemons re-parented to init are keyed by themselves.
  for (let p = 1; p <= 19; p++) feed({ host: '10.99.0.4', port: p, ms: p, pid: 20_000 + p, ppid: 1 });
  d.flush();
  assert.equal(out.filter((x) => x.scan.phase === 'started').length, 2, 'children of init are not one tree');
});

test('blocking connects count at the call: refused and connected without any outcome event', () => {
  const { d, out, feed } = detector();
  for (let p = 1; p <= 25; p++) feed({ host: '10.99.0.2', port: p, ms: p, ret: p === 7 ? 0 : -ECONNREFUSED });
  d.flush();
  const e = out.at(-1)!.scan;
  assert.deepEqual({ attempts: e.attempts, succeeded: e.succeeded, refused: e.refused, open: e.openPorts }, { attempts: 25, succeeded: 1, refused: 24, open: [7] });
});

test('outcomes for attempts made before the episode started are counted in it; status re-checks are not attempts', () => {
  const { d, out, feed } = detector();
  for (let p = 1; p <= 20; p++) feed({ host: '10.99.0.2', port: p, ms: p, ret: -EINPROGRESS });
  for (let p = 1; p <= 20; p++) {
    feed({ host: '10.99.0.2', port: p, ms: 30 + p, ret: -114 }); // EALREADY: still connecting
    feed({ host: '10.99.0.2', port: p, ms: 30 + p, phase: 'outcome', ret: p === 3 ? 0 : -ECONNREFUSED });
  }
  d.flush();
  const e = out.at(-1)!.scan;
  assert.deepEqual({ attempts: e.attempts, succeeded: e.succeeded, refused: e.refused, open: e.openPorts }, { attempts: 20, succeeded: 1, refused: 19, open: [3] });
});

test('UDP and IPv6: transports and families are reported; a UDP connect is no success', () => {
  const { d, out, feed } = detector();
  for (let p = 1; p <= 20; p++) feed({ host: 'fd00::2', port: p, ms: p, v6: true, udp: true, ret: 0 });
  d.flush();
  const e = out.at(-1)!.scan;
  assert.deepEqual({ t: e.transports, f: e.families, s: e.succeeded, a: e.attempts }, { t: ['udp'], f: ['ipv6'], s: 0, a: 20 });
});

test('bounds: keys and targets are capped, and what is dropped is counted', () => {
  const { d, out, feed } = detector({ maxKeys: 3, maxTargets: 8, slowPorts: 8, ports: 8, slowHosts: 8, hosts: 5 });
  for (let k = 0; k < 5; k++) feed({ host: '10.0.0.1', port: 80, ms: k, pid: 100 + k, ppid: 1 });
  assert.equal(d.stats().keys, 3);
  assert.equal(d.stats().dropped.keys, 2);
  // Over many hosts and ports, no host with 8 ports and no port with 5 hosts: no episode, 8 held.
  for (let i = 1; i <= 12; i++) feed({ host: `10.0.${i}.9`, port: i, ms: 10 + i, pid: 999, ppid: 1 });
  assert.equal(out.length, 0);
  assert.equal(d.stats().dropped.targets, 4, '12 distinct targets, 8 held');
  // An episode's distinct hosts are capped too (a lower bound, flagged).
  for (let i = 1; i <= 12; i++) feed({ host: `10.1.0.${i}`, port: 443, ms: 100 + i, pid: 1234, ppid: 1 });
  d.flush();
  const e = out.at(-1)!.scan;
  assert.deepEqual({ hosts: e.distinctHosts, capped: e.hostsCapped, attempts: e.attempts }, { hosts: 8, capped: true, attempts: 12 });
  assert.equal(d.stats().dropped.hosts, 4);
});

test('keys with a running episode are never dropped for room', () => {
  const { d, out, feed } = detector({ maxKeys: 2 });
  for (let p = 1; p <= 20; p++) feed({ host: '10.99.0.2', port: p, ms: p, pid: 50, ppid: 1 });
  for (let k = 0; k < 5; k++) feed({ host: '10.0.0.1', port: 80, ms: 30 + k, pid: 100 + k, ppid: 1 });
  for (let p = 21; p <= 30; p++) feed({ host: '10.99.0.2', port: p, ms: 40 + p, pid: 50, ppid: 1 });
  d.flush();
  assert.deepEqual(phases(out), ['started', 'ended']);
  assert.equal(out[1]!.scan.distinctPorts, 30, 'the episode kept counting');
});

test('idle keys are forgotten after the slow window', () => {
  const { d, feed } = detector();
  feed({ host: '10.0.0.1', port: 80, ms: 0 });
  d.sweep(SCAN_DEFAULTS.slowWindowMs - 1);
  assert.equal(d.stats().keys, 1);
  d.sweep(SCAN_DEFAULTS.slowWindowMs + 1);
  assert.equal(d.stats().keys, 0);
});

test('a fast scan that crosses a slow threshold set below the fast one is not called slow', () => {
  const { d, out, feed } = detector({ slowPorts: 12 });
  for (let p = 1; p <= 30; p++) feed({ host: '10.99.0.2', port: p, ms: p });
  d.flush();
  assert.deepEqual(out.map((x) => [x.scan.phase, x.scan.slow, x.scan.distinctPorts]), [['started', false, 12], ['ended', false, 30]]);
});

test('calls other than connect, and non-IP connects, are ignored', () => {
  const { d } = detector({ ports: 2, slowPorts: 2 });
  const base = connect({ host: '10.0.0.1', port: 1, ms: 0 });
  d.observe({ ...base, syscall: 'bind' }, HOST, NODE, 0);
  d.observe({ ...base, remote: { family: 'unix', path: '/run/x.sock', abstract: false } }, HOST, NODE, 0);
  d.observe({ ...base, remote: null }, HOST, NODE, 0);
  d.observe({ ...base, type: 3 }, HOST, NODE, 0); // SOCK_RAW
  assert.equal(d.stats().keys, 0);
});

/** A target the kernel's gate held back: its counts, its first and latest attempt. */
function handover(host: string, port: number, ms: number, counts: { attempts: number; succeeded?: number; refused?: number; failed?: number }, firstMs = ms): NetworkEvent {
  return {
    ...connect({ host, port, ms }), phase: 'handover', fd: -1, ret: 0,
    gated: { attempts: counts.attempts, succeeded: counts.succeeded ?? 0, refused: counts.refused ?? 0, failed: counts.failed ?? 0, firstNs: at(firstMs) },
  };
}

test('the kernel gate hands over: targets held back count with their attempts and results, in any order, and the episode is what it would have been', () => {
  const cfg = { quietMs: 5000 };
  // Reference: every connect seen, as without the gate; the first 15 ports tried twice each.
  const ref = detector(cfg);
  for (let p = 1; p <= 15; p++) for (const ms of [p, p + 0.2]) ref.feed({ host: '10.99.0.2', port: p, ms, ret: p === 5 ? 0 : -ECONNREFUSED });
  for (let p = 16; p <= 40; p++) ref.feed({ host: '10.99.0.2', port: p, ms: 20 + p, ret: -ECONNREFUSED });
  ref.d.flush();
  // Gated: the kernel held the first 15 back, handed them over (hash order) when the 15th came, then streamed.
  const { d, out } = detector(cfg);
  const gateEv: NetworkEvent = { ...connect({ host: '10.99.0.2', port: 15, ms: 15.2 }), phase: 'gate' };
  d.observe(gateEv, HOST, NODE, 15.2);
  for (const p of [9, 3, 15, 1, 12, 7, 2, 14, 5, 11, 4, 13, 6, 10, 8]) {
    d.observe(handover('10.99.0.2', p, p + 0.2, { attempts: 2, succeeded: p === 5 ? 2 : 0, refused: p === 5 ? 0 : 2 }, p), HOST, NODE, 15.2);
  }
  for (let p = 16; p <= 40; p++) d.observe(connect({ host: '10.99.0.2', port: p, ms: 20 + p, ret: -ECONNREFUSED }), HOST, NODE, 20 + p);
  d.flush();
  const a = ref.out.at(-1)!.scan;
  const b = out.at(-1)!.scan;
  assert.deepEqual(phases(out), ['started', 'ended']);
  assert.deepEqual([b.attempts, b.distinctPorts, b.distinctHosts, b.succeeded, b.refused, b.openPorts, b.firstNs, b.lastNs],
    [a.attempts, a.distinctPorts, a.distinctHosts, a.succeeded, a.refused, a.openPorts, a.firstNs, a.lastNs]);
  assert.deepEqual([b.attempts, b.distinctPorts, b.succeeded, b.refused, b.openPorts], [55, 40, 2, 53, [5]]);
});

test('the gate\'s summary record is no attempt; an attempt record (call and result in one) counts its result', () => {
  const { d, out } = detector({ quietMs: 5000 });
  for (let p = 1; p <= 30; p++) {
    d.observe({ ...connect({ host: '10.99.0.2', port: p, ms: p }), phase: 'gate' }, HOST, NODE, p);
    d.observe({ ...connect({ host: '10.99.0.2', port: p, ms: p, ret: p === 22 ? 0 : -ECONNREFUSED }), phase: 'attempt' }, HOST, NODE, p);
  }
  d.flush();
  const e = out.at(-1)!.scan;
  assert.deepEqual([e.attempts, e.distinctPorts, e.succeeded, e.refused, e.openPorts], [30, 30, 1, 29, [22]]);
});

test('held-back targets older than the slow window do not count towards a scan', () => {
  const { d, out } = detector({ quietMs: 5000 });
  const now = 20 * 60_000;
  d.observe({ ...connect({ host: '10.99.0.2', port: 100, ms: now }), phase: 'gate' }, HOST, NODE, now);
  // 12 ports last tried 10 minutes ago (the kernel's two epochs can hold them), 10 just now.
  for (let p = 1; p <= 12; p++) d.observe(handover('10.99.0.2', p, now - 10 * 60_000, { attempts: 1, refused: 1 }), HOST, NODE, now);
  for (let p = 31; p <= 40; p++) d.observe(handover('10.99.0.2', p, now - 1000, { attempts: 1, refused: 1 }), HOST, NODE, now);
  d.sweep(now);
  assert.equal(out.length, 0, '10 recent ports are below every threshold');
  for (let p = 41; p <= 50; p++) d.observe(connect({ host: '10.99.0.2', port: p, ms: now + p, ret: -ECONNREFUSED }), HOST, NODE, now + p);
  assert.equal(out.length, 1, '10 more within the window are a scan');
});

test('a slow scan handed over whole when the gate opens at the slow threshold: reported slow, and the episode lasts from the gate on, not from its oldest target', () => {
  // 12 probes a second apart; the 12th reaches the slow threshold and opens the gate; 3 more stream.
  const { d, out } = detector({ quietMs: 2000, slowPorts: 12 });
  const host = '10.99.0.2';
  const msOf = (p: number): number => (p - 2000) * 1000;
  d.observe({ ...connect({ host, port: 2012, ms: msOf(2012) }), phase: 'gate' }, HOST, NODE, msOf(2012));
  for (const p of [2007, 2001, 2012, 2003, 2010, 2005, 2002, 2011, 2009, 2004, 2008, 2006]) {
    d.observe(handover(host, p, msOf(p), { attempts: 1, refused: 1 }), HOST, NODE, msOf(2012));
  }
  assert.deepEqual(phases(out), ['started']);
  assert.equal(out[0]!.scan.slow, true, '12 ports over 12 s: more than the fast window');
  for (let p = 2013; p <= 2015; p++) {
    d.sweep(msOf(p) - 1); // a second after the previous attempt: not quiet yet
    d.observe(connect({ host, port: p, ms: msOf(p), ret: -ECONNREFUSED }), HOST, NODE, msOf(p));
  }
  d.sweep(msOf(2015) + 2000);
  assert.deepEqual(phases(out), ['started', 'ended'], 'one episode');
  const e = out[1]!.scan;
  assert.deepEqual([e.distinctPorts, e.attempts, e.refused, e.slow], [15, 15, 15, true]);
  assert.equal(e.firstNs, at(msOf(2001)));
});
