// Real eBPF: network calls made in network namespaces this test creates (`ip netns`, a veth pair),
// decoded with their addresses, results and process identity; the outcome of non-blocking
// connects; and the kernel filter that passes no network call unless asked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import type { NetworkEvent } from '../../src/types.ts';
import { collect, type Collected } from './harness.ts';
import { NETOPS, nsInode, runNetops, TestNamespaces } from './netns.ts';

const tag = `${process.pid % 100000}`;
// One namespace with only lo (the local scenarios), and a client/server pair joined by a veth.
const LOCAL = `aw-nl-${tag}`;
const CLIENT = `aw-nc-${tag}`;
const SERVER = `aw-ns-${tag}`;
const CLIENT_IP = '10.213.0.1';
const SERVER_IP = '10.213.0.2';
let c: Collected | null = null;
let dir = '';
let mark = '';
const spaces = new TestNamespaces();

/** Runs netops in a namespace; its pid (ip netns exec execs it in place). */
function netops(ns: string, ...args: string[]): number {
  return runNetops(ns, dir, mark, ...args);
}


before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-net-')));
  mark = join(dir, 'mark');
  writeFileSync(mark, 'x');
  spaces.add(LOCAL);
  spaces.add(CLIENT);
  spaces.add(SERVER);
  spaces.veth(`awv${tag}`, CLIENT, CLIENT_IP, SERVER, SERVER_IP);
  // The server drops every other SYN: a connect's first SYN is lost and its retransmission (1 s
  // later) answered, so the handshake ends after the call has returned EINPROGRESS.
  execFileSync('ip', ['netns', 'exec', SERVER, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--syn', '-m', 'statistic', '--mode', 'nth', '--every', '2', '--packet', '0', '-j', 'DROP']);
  c = await collect({
    pathFilter: { passAll: true, exactPaths: [], dirPrefixes: [], network: { passAll: true, calls: [], protocols: [] } },
    processFilter: { pids: [], comms: ['netops'], excludePids: [] },
  });
});
after(async () => {
  await c?.monitor.close();
  spaces.removeAll();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const of = (pid: number, syscall: NetworkEvent['syscall'], phase: NetworkEvent['phase'] = 'call') =>
  (e: NetworkEvent): boolean => e.hostPid === pid && e.syscall === syscall && e.phase === phase;

test('TCP over IPv4: socket, bind, listen, connect, accept4 with addresses, results, namespace and the process of its file events', async (t) => {
  if (!needsBpf(t)) return;
  const pid = netops(LOCAL, 'pair', 'v4', '7001');
  const connect = await c!.waitForNet(of(pid, 'connect'), 'connect to 127.0.0.1:7001');
  assert.deepEqual(connect.remote, { family: 'inet', address: '127.0.0.1', port: 7001 });
  assert.deepEqual([connect.ret, connect.domain, connect.type, connect.protocol, connect.local], [0, 2, 1, 6, null]);
  const bind = await c!.waitForNet(of(pid, 'bind'), 'bind');
  assert.deepEqual(bind.local, { family: 'inet', address: '127.0.0.1', port: 7001 });
  const listen = await c!.waitForNet(of(pid, 'listen'), 'listen');
  assert.equal(listen.fd, bind.fd);
  assert.deepEqual(listen.local, { family: 'inet', address: '127.0.0.1', port: 7001 });
  const accept = await c!.waitForNet(of(pid, 'accept4'), 'accept4');
  assert.equal(accept.fd, listen.fd, 'accept names the listening socket');
  assert.ok(accept.ret > accept.fd, 'and returns the new one');
  assert.equal(accept.remote?.family, 'inet');
  assert.equal(accept.remote?.family === 'inet' ? accept.remote.address : '', '127.0.0.1');
  assert.deepEqual(accept.local, { family: 'inet', address: '127.0.0.1', port: 7001 });
  const sockets = c!.nets.filter(of(pid, 'socket'));
  assert.equal(sockets.length, 2, 'two sockets made');
  assert.deepEqual(sockets.map((s) => [s.domain, s.type, s.protocol, s.ret === s.fd]), [[2, 1, 6, true], [2, 1, 6, true]]);
  assert.equal(connect.fd, sockets[1]!.fd);
  // The same process identity as its file events (the marker file it opened first).
  const file = await c!.waitFor((e) => e.hostPid === pid && e.absPath === mark, 'open of the marker file');
  for (const k of ['hostPid', 'hostTid', 'hostPpid', 'pid', 'ppid', 'uid', 'gid', 'euid', 'comm', 'tty', 'exePath', 'parentExePath', 'cgroupId', 'mntNs', 'pidNs', 'netNs', 'cwd'] as const) {
    assert.deepEqual(connect[k], file[k], k);
  }
  assert.equal(connect.exePath, NETOPS);
  assert.equal(connect.netNs, nsInode(LOCAL), 'the namespace the call was made in');
});

test('TCP over IPv6 and to an IPv4-mapped IPv6 address', async (t) => {
  if (!needsBpf(t)) return;
  const v6 = netops(LOCAL, 'pair', 'v6', '7002');
  const c6 = await c!.waitForNet(of(v6, 'connect'), 'connect to [::1]:7002');
  assert.deepEqual(c6.remote, { family: 'inet6', address: '::1', port: 7002 });
  assert.deepEqual([c6.ret, c6.domain, c6.protocol], [0, 10, 6]);
  const a6 = await c!.waitForNet(of(v6, 'accept4'), 'accept4 over IPv6');
  assert.equal(a6.remote?.family === 'inet6' ? a6.remote.address : '', '::1');
  assert.deepEqual(a6.local, { family: 'inet6', address: '::1', port: 7002 }, 'the connection\'s own end, not the wildcard listened on');
  const l6 = await c!.waitForNet(of(v6, 'listen'), 'listen on [::]:7002');
  assert.deepEqual(l6.local, { family: 'inet6', address: '::', port: 7002 });
  const mapped = netops(LOCAL, 'pair', 'mapped', '7003');
  const cm = await c!.waitForNet(of(mapped, 'connect'), 'connect to [::ffff:127.0.0.1]:7003');
  assert.deepEqual(cm.remote, { family: 'inet6', address: '::ffff:127.0.0.1', port: 7003, mappedV4: '127.0.0.1' });
  const am = await c!.waitForNet(of(mapped, 'accept4'), 'accept4 of a mapped peer');
  assert.equal(am.remote?.family === 'inet6' ? am.remote.mappedV4 : '', '127.0.0.1');
});

test('UDP connect and unix sockets, by path and abstract', async (t) => {
  if (!needsBpf(t)) return;
  const udp = netops(LOCAL, 'udp', '127.0.0.1', '5353');
  const u = await c!.waitForNet(of(udp, 'connect'), 'UDP connect');
  assert.deepEqual([u.ret, u.type, u.protocol], [0, 2, 17]);
  assert.deepEqual(u.remote, { family: 'inet', address: '127.0.0.1', port: 5353 });
  const path = join(dir, 'app.sock');
  const up = netops(LOCAL, 'unix', path);
  const cp = await c!.waitForNet(of(up, 'connect'), 'unix connect by path');
  assert.deepEqual([cp.ret, cp.domain, cp.type], [0, 1, 1]);
  assert.deepEqual(cp.remote, { family: 'unix', path, abstract: false });
  const bp = await c!.waitForNet(of(up, 'bind'), 'unix bind by path');
  assert.deepEqual(bp.local, { family: 'unix', path, abstract: false });
  const lp = await c!.waitForNet(of(up, 'listen'), 'unix listen');
  assert.deepEqual(lp.local, { family: 'unix', path, abstract: false });
  const ua = netops(LOCAL, 'unix-abstract', `aw-test-${tag}`);
  const ca = await c!.waitForNet(of(ua, 'connect'), 'unix connect to an abstract name');
  assert.deepEqual(ca.remote, { family: 'unix', path: `aw-test-${tag}`, abstract: true });
});

test('a refused blocking connect fails with ECONNREFUSED itself, and has no outcome', async (t) => {
  if (!needsBpf(t)) return;
  const pid = netops(LOCAL, 'connect', '127.0.0.1', '9');
  const ev = await c!.waitForNet(of(pid, 'connect'), 'refused connect');
  assert.equal(ev.ret, -111);
  assert.equal(c!.nets.filter(of(pid, 'connect', 'outcome')).length, 0);
});

test('non-blocking connects: EINPROGRESS, then an outcome event — refused, or connected', async (t) => {
  if (!needsBpf(t)) return;
  // Loopback: the handshake ends inside the call; the exit reports the outcome after the call.
  const refused = netops(LOCAL, 'nb-connect', '127.0.0.1', '9');
  const call = await c!.waitForNet(of(refused, 'connect'), 'non-blocking connect');
  assert.equal(call.ret, -115);
  const out = await c!.waitForNet(of(refused, 'connect', 'outcome'), 'its refused outcome');
  assert.equal(out.ret, -111);
  assert.deepEqual([out.fd, out.remote, out.protocol, out.exePath], [call.fd, call.remote, 6, NETOPS]);

  // Over the veth, the first SYN dropped: the outcome comes after the call, in softirq.
  const srv = spawn('ip', ['netns', 'exec', SERVER, NETOPS, 'serve', SERVER_IP, '7005', '8'], { stdio: 'ignore' });
  defer(t, 'stop the server', () => { srv.kill('SIGKILL'); });
  await c!.waitForNet((e) => e.hostPid === srv.pid && e.syscall === 'listen', 'server listening', 15_000);
  const ok = netops(CLIENT, 'nb-connect', SERVER_IP, '7005');
  const okCall = await c!.waitForNet(of(ok, 'connect'), 'connect over the veth');
  assert.equal(okCall.ret, -115);
  const okOut = await c!.waitForNet(of(ok, 'connect', 'outcome'), 'its outcome');
  assert.equal(okOut.ret, 0, 'connected');
  assert.ok(okOut.timestampNs - okCall.timestampNs > 500_000_000n, 'after the retransmitted SYN, well after the call');
  assert.deepEqual(okOut.remote, { family: 'inet', address: SERVER_IP, port: 7005 });
  // Reported away from the process: its identity still is the connecting process's.
  assert.deepEqual([okOut.exePath, okOut.cwd, okOut.netNs, okOut.hostTid], [NETOPS, dir, nsInode(CLIENT), okCall.hostTid]);

  const no = netops(CLIENT, 'nb-connect', SERVER_IP, '7006');
  const noOut = await c!.waitForNet(of(no, 'connect', 'outcome'), 'refused outcome over the veth');
  assert.equal(noOut.ret, -111);
});

test('the kernel filter: no network need passes nothing (no network hook attached); a protocol filter passes only that protocol (counted)', async (t) => {
  if (!needsBpf(t)) return;
  const f = await collect({ pathFilter: { passAll: false, exactPaths: [], dirPrefixes: [] }, processFilter: { pids: [], comms: ['netops'], excludePids: [] } });
  defer(t, 'close the second monitor', () => f.monitor.close());
  const before = await f.monitor.refreshStats();
  assert.equal(before.hooks.network, false, 'no network need: the network hooks are detached');
  const tcp = netops(LOCAL, 'pair', 'v4', '7007');
  await c!.waitForNet(of(tcp, 'accept4'), 'the first monitor sees the pair');
  const after = await f.monitor.refreshStats();
  assert.equal(after.filteredNetInKernel, before.filteredNetInKernel, 'network calls were judged with no network hook attached');
  assert.equal(f.nets.length, 0, 'no network event without a need');

  await f.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['connect'], protocols: [17] } });
  const judged = (await f.monitor.refreshStats()).filteredNetInKernel;
  const tcp2 = netops(LOCAL, 'connect', '127.0.0.1', '9');
  const udp = netops(LOCAL, 'udp', '127.0.0.1', '53');
  await f.waitForNet(of(udp, 'connect'), 'UDP connect passes');
  await c!.waitForNet(of(tcp2, 'connect'), 'the first monitor sees the TCP connect');
  assert.equal(f.nets.filter((e) => e.hostPid === tcp2).length, 0, 'the TCP connect did not pass');
  const filtered = (await f.monitor.refreshStats()).filteredNetInKernel - judged;
  assert.ok(filtered >= 2, `the TCP socket and connect were judged and held back (${filtered})`);
  assert.equal(f.nets.filter((e) => e.hostPid === udp && e.syscall === 'socket').length, 0, 'socket() is not among the calls asked for');
});

/** The port a connect asked for (inet and inet6 addresses), else -1. */
const portOf = (e: NetworkEvent): number => (e.remote !== null && 'port' in e.remote ? e.remote.port : -1);

test('the port-scan gate: connects below its thresholds stay in the kernel, counted (one port short of it too); the connect that reaches one hands every target over with its counts, then the scan streams; quiet closes it', async (t) => {
  if (!needsBpf(t)) return;
  // Its own namespace: the gate keys a namespace other than the host's by the namespace itself.
  const GATE = `aw-ng-${tag}`;
  spaces.add(GATE);
  const server = spawn('ip', ['netns', 'exec', GATE, NETOPS, 'serve', '127.0.0.1', '7100', '60'], { stdio: 'ignore' });
  defer(t, 'stop the server', () => { server.kill(); });
  await new Promise((r) => setTimeout(r, 300));
  const scanGate = { tcp: true, udp: true, windowMs: 60_000, quietMs: 3_000, ports: 10, hosts: 64, hostNetNs: statSync('/proc/self/ns/net').ino };
  const g = await collect({
    // Beside a rule on ICMP sockets: the gate's TCP connects pass by the gate, not by the protocol list.
    pathFilter: { passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['socket', 'connect'], protocols: [1], scanGate } },
    processFilter: { pids: [], comms: ['netops'], excludePids: [] },
  });
  defer(t, 'close the gated monitor', () => g.monitor.close());
  const inGate = (pid: number) => (e: NetworkEvent): boolean => e.hostPid === pid && e.syscall === 'connect';
  const gated0 = (await g.monitor.refreshStats()).gatedNetInKernel;

  // 9 ports (one open) 3 times each: one distinct port short of 10, nothing comes up.
  const first = netops(GATE, 'ports', '127.0.0.1', '7100', '7108', '3');
  await c!.waitForNet((e) => e.hostPid === first && e.syscall === 'connect' && portOf(e) === 7108 && e.phase === 'outcome', 'the ungated monitor sees the last connect');
  const held = (await g.monitor.refreshStats()).gatedNetInKernel - gated0;
  assert.equal(held, 27, 'every connect held back and counted');
  assert.equal(g.nets.filter(inGate(first)).length, 0, 'no record below the thresholds');

  // 7 more ports: the gate opens at the 10th distinct port exactly (the kernel counts them exactly); the rest stream.
  const second = netops(GATE, 'ports', '127.0.0.1', '7109', '7115', '1');
  const opened = await g.waitForNet((e) => e.hostPid === second && e.phase === 'gate', 'the gate opens');
  await g.waitForNet((e) => e.hostPid === second && portOf(e) === 7115, 'the last connect streams');
  const hand = g.nets.filter((e) => e.phase === 'handover');
  const after = g.nets.filter((e) => e.hostPid === second && (e.phase === 'attempt' || e.phase === 'call'));
  assert.equal(g.nets.filter((e) => e.phase === 'gate').length, 1, 'one summary');
  assert.ok(hand.every((e) => e.netNs === nsInode(GATE) && e.gated !== undefined && e.timestampNs >= e.gated.firstNs && e.timestampNs <= opened.timestampNs));
  const sum = (k: 'attempts' | 'succeeded' | 'refused' | 'failed'): number => hand.reduce((s, e) => s + e.gated![k], 0);
  // The connect that opened the gate: its result is in its target's handover when it came during
  // the call (the per-syscall exit sees it), else it follows as its outcome (the root cgroup's hook
  // runs before the call, as for any target whose handshake ends after the call).
  const openedOut = g.nets.filter((e) => e.hostPid === second && e.phase === 'outcome');
  assert.ok(openedOut.length <= 1 && openedOut.every((e) => portOf(e) === portOf(opened)), 'only the gate-opening connect has an outcome of its own');
  const ports = new Set([...hand, ...after].map((e) => portOf(e)));
  assert.equal(ports.size, 16, 'every distinct target is there once: held back or streamed');
  assert.equal(new Set(hand.map((e) => portOf(e))).size, hand.length, 'one handover per target');
  assert.equal(sum('attempts') + after.length, 34, 'the repeats held back count as attempts');
  const results = [...after, ...openedOut];
  assert.equal(sum('succeeded') + results.filter((e) => e.ret === 0).length, 3, 'the open port, three times');
  assert.equal(sum('refused') + results.filter((e) => e.ret === -111).length, 31);
  assert.equal(hand.length, 10, 'the gate opened at the 10th distinct port: the 9 held back and the one that reached it');
  assert.equal(portOf(opened), 7109, 'the summary is the 10th distinct port');
  assert.equal(hand.find((e) => portOf(e) === 7100)!.gated!.attempts, 3);
  assert.equal(g.nets.filter((e) => e.hostPid === second && e.phase === 'outcome' && portOf(e) !== portOf(opened)).length, 0, 'streamed non-blocking connects are one record each');
  assert.equal((await g.monitor.refreshStats()).lostGateTargets, 0);
  assert.equal(g.nets.filter((e) => e.syscall === 'socket').length, 0, 'the TCP sockets stayed in the kernel');

  // After the quiet time the gate closes: counting starts afresh, nothing comes up.
  await new Promise((r) => setTimeout(r, 3_500));
  const third = netops(GATE, 'ports', '127.0.0.1', '7120', '7122', '1');
  await c!.waitForNet((e) => e.hostPid === third && portOf(e) === 7122 && e.phase === 'outcome', 'the ungated monitor sees the third run');
  assert.equal(g.nets.filter(inGate(third)).length, 0, 'closed again');
});
