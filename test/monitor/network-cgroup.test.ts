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
import { collect, run, type Collected } from './harness.ts';

const NETOPS = new URL('../../build/netops', import.meta.url).pathname;
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
const created: string[] = [];

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function netns(name: string): void {
  ip('netns', 'add', name);
  created.push(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

function netops(ns: string, ...args: string[]): number {
  return run('ip', ['netns', 'exec', ns, NETOPS, ...args], dir, { ...process.env, AW_MARK: mark });
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
  netns(LOCAL);
  netns(CLIENT);
  netns(SERVER);
  const veth = `awg${tag}`;
  ip('link', 'add', `${veth}c`, 'netns', CLIENT, 'type', 'veth', 'peer', 'name', `${veth}s`, 'netns', SERVER);
  ip('-n', CLIENT, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', `${veth}c`);
  ip('-n', SERVER, 'addr', 'add', `${SERVER_IP}/24`, 'dev', `${veth}s`);
  ip('-n', CLIENT, 'link', 'set', `${veth}c`, 'up');
  ip('-n', SERVER, 'link', 'set', `${veth}s`, 'up');
  const processFilter = { pids: [], comms: ['netops'], excludePids: [] };
  cg = await collect({ pathFilter: TCP_UDP, processFilter, netHook: 'cgroup' });
  sys = await collect({ pathFilter: TCP_UDP, processFilter, netHook: 'syscalls' });
});
after(async () => {
  await cg?.monitor.close();
  await sys?.monitor.close();
  for (const ns of created) {
    try { ip('netns', 'del', ns); } catch { /* already gone */ }
  }
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
  assert.equal(viaCg.netNs, statSync(`/run/netns/${LOCAL}`).ino);
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
  assert.deepEqual([call.ret, out.ret, out.fd, out.hostTid, out.netNs], [-115, 0, call.fd, call.hostTid, statSync(`/run/netns/${CLIENT}`).ino]);
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
