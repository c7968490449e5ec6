// Real eBPF: socket() and connect() seen at the root of the cgroup v2 hierarchy (cgroup/sock_create,
// connect4/6) while the network filter names protocols, beside a monitor forced onto the
// per-syscall hooks (--net-hook syscalls): the same calls, made in a network namespace, give the
// same records (identity, fd, addresses, results), but socket()'s fd, which the cgroup hook runs
// too early to know. Filters that pass any protocol keep the per-syscall hooks (unix sockets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import type { NetworkEvent } from '../../src/types.ts';
import type { KernelFilterSpec } from '../../src/types.ts';
import { collect, type Collected } from './harness.ts';
import { NETOPS, nsInode, runNetops, TestNamespaces } from './netns.ts';

const tag = `${process.pid % 100000}`;
const LOCAL = `aw-cl-${tag}`;
const CLIENT = `aw-cc-${tag}`;
const SERVER = `aw-cs-${tag}`;
const CLIENT_IP = '10.214.0.1';
const SERVER_IP = '10.214.0.2';
let cg: Collected | null = null;
let sys: Collected | null = null;
let dir = '';
let mark = '';
const spaces = new TestNamespaces();

function netops(ns: string, ...args: string[]): number {
  return runNetops(ns, dir, mark, ...args);
}

// TCP and UDP rules: every network call, on those protocols. Files too: a process's file events
// carry the identity its network records must repeat.
const TCP_UDP: KernelFilterSpec = {
  passAll: true, exactPaths: [], dirPrefixes: [],
  network: { passAll: false, calls: ['socket', 'connect', 'accept', 'accept4', 'bind', 'listen'], protocols: [6, 17] },
};

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-netcg-')));
  mark = join(dir, 'mark');
  writeFileSync(mark, 'x');
  spaces.add(LOCAL);
  spaces.add(CLIENT);
  spaces.add(SERVER);
  spaces.veth(`awg${tag}`, CLIENT, CLIENT_IP, SERVER, SERVER_IP);
  const processFilter = { pids: [], comms: ['netops'], excludePids: [] };
  cg = await collect({ pathFilter: TCP_UDP, processFilter, netHook: 'cgroup' });
  sys = await collect({ pathFilter: TCP_UDP, processFilter, netHook: 'syscalls' });
});
after(async () => {
  await cg?.monitor.close();
  await sys?.monitor.close();
  spaces.removeAll();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const of = (pid: number, syscall: NetworkEvent['syscall'], phase: NetworkEvent['phase'] = 'call') =>
  (e: NetworkEvent): boolean => e.hostPid === pid && e.syscall === syscall && e.phase === phase;

const IDENTITY = ['hostPid', 'hostTid', 'hostPpid', 'pid', 'ppid', 'uid', 'gid', 'euid', 'comm', 'tty', 'exePath', 'parentExePath', 'cgroupId', 'mntNs', 'pidNs', 'netNs', 'cwd'] as const;
/** What a call record says, apart from its time. */
const said = (e: NetworkEvent): unknown[] => [e.syscall, e.phase, e.fd, e.ret, e.domain, e.type, e.protocol, e.remote, e.local, ...IDENTITY.map((k) => e[k])];

test('the hooks in use: cgroup for socket and connect under a protocol filter, per-syscall when forced', async (t) => {
  if (!needsBpf(t)) return;
  const a = await cg!.monitor.refreshStats();
  assert.equal(a.netHook, 'cgroup');
  assert.equal(a.netHookProblem, '');
  assert.equal(a.hooks.network, true);
  const b = await sys!.monitor.refreshStats();
  assert.equal(b.netHook, 'syscalls');
  assert.ok(a.programIds !== undefined && a.programIds.length > 0 && b.programIds !== undefined, 'the helpers list their programs');
  assert.equal(a.programIds.filter((id) => b.programIds!.includes(id)).length, 0, 'each its own');
});

test('TCP over IPv4 in a namespace: the same connect record from the cgroup hook as from the syscall exit, with the process identity of its file events', async (t) => {
  if (!needsBpf(t)) return;
  const pid = netops(LOCAL, 'pair', 'v4', '7201');
  const viaCg = await cg!.waitForNet(of(pid, 'connect'), 'connect (cgroup)');
  const viaSys = await sys!.waitForNet(of(pid, 'connect'), 'connect (syscalls)');
  assert.deepEqual(said(viaCg), said(viaSys));
  assert.deepEqual([viaCg.ret, viaCg.remote], [0, { family: 'inet', address: '127.0.0.1', port: 7201 }]);
  const sockets = sys!.nets.filter(of(pid, 'socket'));
  assert.equal(viaCg.fd, sockets[1]!.fd, 'the fd the connect was called on');
  assert.ok(viaCg.fd > 2);
  const file = await cg!.waitFor((e) => e.hostPid === pid && e.absPath === mark, 'open of the marker file');
  for (const k of IDENTITY) assert.deepEqual(viaCg[k], file[k], k);
  assert.equal(viaCg.netNs, nsInode(LOCAL));
  // socket(): the same call, identity and triple; made before its fd exists, so no fd and result 0.
  const cgSockets = cg!.nets.filter(of(pid, 'socket'));
  assert.equal(cgSockets.length, 2);
  for (const [i, s] of cgSockets.entries()) {
    assert.deepEqual([s.domain, s.type, s.protocol, s.fd, s.ret], [2, 1, 6, -1, 0]);
    for (const k of IDENTITY) assert.deepEqual(s[k], sockets[i]![k], k);
  }
  // The calls no cgroup hook sees still come, from their per-syscall hooks.
  for (const call of ['bind', 'listen', 'accept4'] as const) {
    assert.deepEqual(said(await cg!.waitForNet(of(pid, call), call)), said(await sys!.waitForNet(of(pid, call), call)), call);
  }
  assert.equal(cg!.nets.filter(of(pid, 'connect', 'outcome')).length, 0, 'a blocking connect is one record');
});

test('IPv6, refused blocking, non-blocking over a veth and UDP connects: the same records on both hooks', async (t) => {
  if (!needsBpf(t)) return;
  const v6 = netops(LOCAL, 'pair', 'v6', '7202');
  assert.deepEqual(said(await cg!.waitForNet(of(v6, 'connect'), 'IPv6 connect')), said(await sys!.waitForNet(of(v6, 'connect'), 'IPv6 connect')));
  const refused = netops(LOCAL, 'connect', '127.0.0.1', '9');
  const r = await cg!.waitForNet(of(refused, 'connect'), 'refused connect');
  assert.equal(r.ret, -111, 'the blocking call\'s own result');
  assert.deepEqual(said(r), said(await sys!.waitForNet(of(refused, 'connect'), 'refused connect')));
  assert.equal(cg!.nets.filter(of(refused, 'connect', 'outcome')).length, 0);

  const srv = spawn('ip', ['netns', 'exec', SERVER, NETOPS, 'serve', SERVER_IP, '7205', '8'], { stdio: 'ignore' });
  defer(t, 'stop the server', () => { srv.kill('SIGKILL'); });
  await cg!.waitForNet((e) => e.hostPid === srv.pid && e.syscall === 'listen', 'server listening', 15_000);
  const nb = netops(CLIENT, 'nb-connect', SERVER_IP, '7205');
  const call = await cg!.waitForNet(of(nb, 'connect'), 'non-blocking connect');
  const out = await cg!.waitForNet(of(nb, 'connect', 'outcome'), 'its outcome');
  assert.deepEqual([call.ret, out.ret, out.fd, out.hostTid, out.netNs], [-115, 0, call.fd, call.hostTid, nsInode(CLIENT)]);
  assert.deepEqual(said(call), said(await sys!.waitForNet(of(nb, 'connect'), 'non-blocking connect')));
  assert.deepEqual(said(out), said(await sys!.waitForNet(of(nb, 'connect', 'outcome'), 'its outcome')));

  const udp = netops(LOCAL, 'udp', '127.0.0.1', '5353');
  const u = await cg!.waitForNet(of(udp, 'connect'), 'UDP connect');
  assert.deepEqual([u.ret, u.type, u.protocol, u.remote], [0, 2, 17, { family: 'inet', address: '127.0.0.1', port: 5353 }]);
  assert.deepEqual(said(u), said(await sys!.waitForNet(of(udp, 'connect'), 'UDP connect')));
});

test('a filter that passes any protocol keeps socket and connect on the per-syscall hooks: unix sockets are seen', async (t) => {
  if (!needsBpf(t)) return;
  const any = await collect({
    pathFilter: { passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['socket', 'connect'], protocols: [] } },
    processFilter: { pids: [], comms: ['netops'], excludePids: [] },
  });
  defer(t, 'close the monitor', () => any.monitor.close());
  assert.equal((await any.monitor.refreshStats()).netHook, 'cgroup', 'the cgroup hooks are there, unused for this filter');
  const path = join(dir, 'cg.sock');
  const up = netops(LOCAL, 'unix', path);
  const cp = await any.waitForNet(of(up, 'connect'), 'unix connect by path');
  assert.deepEqual([cp.ret, cp.domain, cp.remote], [0, 1, { family: 'unix', path, abstract: false }]);
  const tcp = netops(LOCAL, 'connect', '127.0.0.1', '9');
  assert.equal((await any.waitForNet(of(tcp, 'connect'), 'TCP connect')).ret, -111);
  assert.equal(any.nets.filter(of(tcp, 'connect')).length, 1, 'once');
  // Which hook made it: socket() at its syscall exit returns the new descriptor; at
  // cgroup/sock_create the call is still being made (no descriptor yet, result 0).
  assert.ok((await any.waitForNet(of(tcp, 'socket'), 'TCP socket')).ret > 2, 'socket() seen at its exit (per-syscall hooks)');
  // Narrowed to TCP, the same monitor moves them to the cgroup hooks: unix connects are filtered.
  await any.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['socket', 'connect'], protocols: [6] } });
  const up2 = netops(LOCAL, 'unix', join(dir, 'cg2.sock'));
  const tcp2 = netops(LOCAL, 'connect', '127.0.0.1', '9');
  assert.equal((await any.waitForNet(of(tcp2, 'connect'), 'TCP connect on the cgroup hook')).ret, -111);
  assert.equal(any.nets.filter(of(tcp2, 'connect')).length, 1, 'once');
  const s2 = await any.waitForNet(of(tcp2, 'socket'), 'TCP socket on the cgroup hook');
  assert.deepEqual([s2.fd, s2.ret], [-1, 0], 'socket() seen at cgroup/sock_create');
  assert.equal(any.nets.filter((e) => e.hostPid === up2).length, 0, 'no unix call passes a TCP filter');
});

/** The port a connect asked for (inet and inet6 addresses), else -1. */
const portOf = (e: NetworkEvent): number => (e.remote !== null && 'port' in e.remote ? e.remote.port : -1);

/** A netops burst (non-blocking connects to ports first..last at once) in a namespace: its pid, the fd
 * of each port's socket once all are sent, and its end. */
function burst(ns: string, addr: string, first: number, last: number, mode: 'wait' | 'close') {
  const p = spawn('ip', ['netns', 'exec', ns, NETOPS, 'burst', addr, `${first}`, `${last}`, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AW_MARK: mark } });
  const fds = new Map<number, number>();
  let out = '';
  const sent = new Promise<Map<number, number>>((resolve, reject) => {
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!out.includes('sent\n')) return;
      for (const line of out.slice(0, out.indexOf('sent\n')).trim().split('\n')) {
        const [port, fd] = line.split(' ').map(Number);
        fds.set(port!, fd!);
      }
      resolve(fds);
    });
    p.on('error', reject);
  });
  const done = new Promise<void>((resolve) => { p.on('exit', () => { resolve(); }); });
  return { pid: p.pid!, sent, done };
}

test('the port-scan gate at the cgroup hook: connects held back while their handshakes are in flight are counted on their targets while it is closed (also when closed before the handshake ends), and once it opens their outcomes come once each, with their port, fd and process, as from the syscall exit', async (t) => {
  if (!needsBpf(t)) return;
  const scanGate = { tcp: true, udp: true, windowMs: 60_000, quietMs: 30_000, ports: 10, hosts: 64, hostNetNs: statSync('/proc/self/ns/net').ino };
  const filter: KernelFilterSpec = { passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['socket', 'connect'], protocols: [1], scanGate } };
  const processFilter = { pids: [], comms: ['netops'], excludePids: [] };
  const gc = await collect({ pathFilter: filter, processFilter, netHook: 'cgroup' });
  defer(t, 'close the gated monitor (cgroup)', () => gc.monitor.close());
  const gs = await collect({ pathFilter: filter, processFilter, netHook: 'syscalls' });
  defer(t, 'close the gated monitor (syscalls)', () => gs.monitor.close());
  assert.deepEqual([(await gc.monitor.refreshStats()).netHook, (await gs.monitor.refreshStats()).netHook], ['cgroup', 'syscalls']);
  const srv = spawn('ip', ['netns', 'exec', SERVER, NETOPS, 'serve', SERVER_IP, '7300', '60'], { stdio: 'ignore' });
  defer(t, 'stop the server', () => { srv.kill('SIGKILL'); });
  await cg!.waitForNet((e) => e.hostPid === srv.pid && e.syscall === 'listen', 'server listening', 15_000);
  // The server drops every SYN to these ports until the test lets them through: each connect stays
  // in SYN_SENT (its outcome to come) until its SYN is sent again, a second later.
  const drop = ['-p', 'tcp', '--syn', '--dport', '7300:7399', '-j', 'DROP'];
  const iptables = (...args: string[]): void => { execFileSync('ip', ['netns', 'exec', SERVER, 'iptables', ...args]); };
  iptables('-I', 'INPUT', ...drop);
  defer(t, 'let SYNs through', () => { try { iptables('-D', 'INPUT', ...drop); } catch { /* already */ } });
  const stats = async () => Promise.all([gc.monitor.refreshStats(), gs.monitor.refreshStats()]);
  const before0 = await stats();

  // Below the thresholds: 5 connects whose handshakes end (refused) while the gate is closed, and 2
  // whose sockets are closed while they still connect. Nothing comes up; their results are counted.
  const a = burst(CLIENT, SERVER_IP, 7301, 7305, 'wait');
  await a.sent;
  const c = burst(CLIENT, SERVER_IP, 7320, 7321, 'close');
  await c.done;
  iptables('-D', 'INPUT', ...drop);
  await a.done;
  await new Promise((r) => setTimeout(r, 300));
  for (const [i, m] of [gc, gs].entries()) {
    assert.equal(m.nets.filter((e) => e.hostPid === a.pid || e.hostPid === c.pid).length, 0, 'no record below the thresholds');
    assert.equal((await m.monitor.refreshStats()).gatedNetInKernel - before0[i]!.gatedNetInKernel, 7, 'every connect held back');
  }

  // Then, over IPv4-mapped IPv6 (the connect6 hook), 10 more connects at once, all in flight: the
  // 10th distinct port (7307) opens the gate while the 8 before it (7300..7306, the open port
  // among them) still wait for their handshakes, the last two stream.
  iptables('-I', 'INPUT', ...drop);
  const b = burst(CLIENT, `::ffff:${SERVER_IP}`, 7300, 7309, 'wait');
  const fds = await b.sent;
  iptables('-D', 'INPUT', ...drop);
  await b.done;
  for (const m of [gc, gs]) await m.waitForNet((e) => e.hostPid === b.pid && portOf(e) === 7309 && e.phase === 'attempt', 'the last streamed connect', 10_000);
  await new Promise((r) => setTimeout(r, 300));
  /** The host of an inet or inet6 address, an IPv4-mapped one as `mapped <IPv4>`. */
  const hostOf = (e: NetworkEvent): string => (e.remote === null || !('address' in e.remote) ? '' : 'mappedV4' in e.remote ? `mapped ${e.remote.mappedV4}` : e.remote.address);
  const seen = (m: Collected) => m.nets.filter((e) => e.hostPid === b.pid && e.syscall === 'connect')
    .map((e) => [e.phase, portOf(e), e.fd, e.ret, e.hostTid, e.netNs, e.domain, e.type, e.protocol, e.remote, e.exePath, e.cwd] as const)
    .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]) || x[6] - y[6]);
  const viaCg = seen(gc);
  assert.deepEqual(viaCg, seen(gs), 'the same records from both hooks');
  const netNs = nsInode(CLIENT);
  const outcomes = gc.nets.filter((e) => e.hostPid === b.pid && e.phase === 'outcome');
  assert.deepEqual(outcomes.map((e) => portOf(e)).sort(), [7300, 7301, 7302, 7303, 7304, 7305, 7306, 7307], 'one outcome per connect held back, the gate-opening one too');
  for (const e of outcomes) {
    assert.deepEqual([e.fd, e.ret, e.hostTid, e.netNs, e.domain, hostOf(e)], [fds.get(portOf(e)), portOf(e) === 7300 ? 0 : -111, b.pid, netNs, 10, `mapped ${SERVER_IP}`], `outcome of ${portOf(e)}`);
  }
  assert.deepEqual(gc.nets.filter((e) => e.hostPid === b.pid && e.phase === 'attempt').map((e) => [portOf(e), e.fd, e.ret]).sort(), [[7308, fds.get(7308), -111], [7309, fds.get(7309), -111]]);
  const opened = gc.nets.filter((e) => e.hostPid === b.pid && e.phase === 'gate');
  assert.deepEqual(opened.map((e) => [portOf(e), e.ret, e.fd]), [[7307, -115, fds.get(7307)]]);
  // The handover: the 7 targets below the thresholds with their results, the 8 of the burst with none yet.
  const hand = (m: Collected) => m.nets.filter((e) => e.phase === 'handover' && e.netNs === netNs)
    .map((e) => [hostOf(e), portOf(e), e.gated!.attempts, e.gated!.succeeded, e.gated!.refused, e.gated!.failed] as const)
    .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  const want = [
    ...[7301, 7302, 7303, 7304, 7305].map((p) => [SERVER_IP, p, 1, 0, 1, 0]),
    ...[7300, 7301, 7302, 7303, 7304, 7305, 7306, 7307].map((p) => [`mapped ${SERVER_IP}`, p, 1, 0, 0, 0]),
    ...[7320, 7321].map((p) => [SERVER_IP, p, 1, 0, 0, 1]),
  ].sort((x, y) => (x[1] as number) - (y[1] as number) || (x[0] as string).localeCompare(y[0] as string));
  assert.deepEqual(hand(gc), want);
  assert.deepEqual(hand(gs), want);
  const [cgEnd, sysEnd] = await stats();
  for (const [i, s] of [cgEnd, sysEnd].entries()) {
    assert.equal(s.gatedNetInKernel - before0[i]!.gatedNetInKernel, 14, 'the 7 before and the 7 of the burst before the 10th port');
    assert.equal(s.lostNetPending - before0[i]!.lostNetPending, 0);
    assert.equal(s.lostGateTargets ?? 0, 0);
  }
});

test('the port-scan gate at the cgroup hook: 400 connects held back in flight at once (more than fit their slots without sharing one: the rest in net_held) each have their result counted on their target, none lost', async (t) => {
  if (!needsBpf(t)) return;
  const scanGate = { tcp: true, udp: true, windowMs: 60_000, quietMs: 30_000, ports: 401, hosts: 64, hostNetNs: statSync('/proc/self/ns/net').ino };
  const filter: KernelFilterSpec = { passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['socket', 'connect'], protocols: [1], scanGate } };
  const gc = await collect({ pathFilter: filter, processFilter: { pids: [], comms: ['netops'], excludePids: [] }, netHook: 'cgroup' });
  defer(t, 'close the gated monitor', () => gc.monitor.close());
  assert.equal((await gc.monitor.refreshStats()).netHook, 'cgroup');
  // No listener on these ports: once SYNs get through, every connect is refused.
  const drop = ['-p', 'tcp', '--syn', '--dport', '7400:7799', '-j', 'DROP'];
  const iptables = (...args: string[]): void => { execFileSync('ip', ['netns', 'exec', SERVER, 'iptables', ...args]); };
  iptables('-I', 'INPUT', ...drop);
  defer(t, 'let SYNs through', () => { try { iptables('-D', 'INPUT', ...drop); } catch { /* already */ } });
  const before0 = await gc.monitor.refreshStats();
  const a = burst(CLIENT, SERVER_IP, 7400, 7599, 'wait');
  const b = burst(CLIENT, SERVER_IP, 7600, 7799, 'wait');
  await Promise.all([a.sent, b.sent]);
  iptables('-D', 'INPUT', ...drop);
  await Promise.all([a.done, b.done]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(gc.nets.filter((e) => e.hostPid === a.pid || e.hostPid === b.pid).length, 0, 'all held back');
  // The 401st port opens the gate: the handover says what was counted.
  const c = burst(CLIENT, SERVER_IP, 7800, 7800, 'wait');
  await c.done;
  await gc.waitForNet((e) => e.hostPid === c.pid && e.phase === 'gate', 'the gate opening', 10_000);
  const netNs = statSync(`/run/netns/${CLIENT}`).ino;
  await new Promise((r) => setTimeout(r, 500));
  const hand = gc.nets.filter((e) => e.phase === 'handover' && e.netNs === netNs)
    .map((e) => [portOf(e), e.gated!.attempts, e.gated!.succeeded, e.gated!.refused, e.gated!.failed]).sort((x, y) => x[0]! - y[0]!);
  const want = [...Array.from({ length: 400 }, (_, i) => [7400 + i, 1, 0, 1, 0]), [7800, 1, 0, 0, 0]];
  assert.deepEqual(hand, want);
  const end = await gc.monitor.refreshStats();
  assert.equal(end.gatedNetInKernel - before0.gatedNetInKernel, 400);
  assert.equal(end.lostNetPending - before0.lostNetPending, 0);
  assert.equal(end.lostGateTargets ?? 0, 0);
});
