// Real eBPF: a non-blocking connect still in its handshake when a filter switch takes the network
// hooks away. Its outcome can no longer be seen, so the entry kept for it is dropped and counted
// (lostNetPending); left behind it would stay in the kernel's map for good, and the outcome hook,
// once attached again, would report it as if the process were still asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import type { KernelFilterSpec, NetworkEvent } from '../../src/types.ts';
import { collect, type Collected } from './harness.ts';
import { NETOPS, TestNamespaces } from './netns.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const NS = `aw-sw-${process.pid % 100000}`;
const spaces = new TestNamespaces();
// The namespace drops every SYN to this port as it comes in: the connect stays in SYN_SENT until the
// process gives up (netops nb-connect polls 10 s).
const SILENT_PORT = '7399';
let mon: Collected | null = null;

const TCP_CONNECT: KernelFilterSpec = {
  passAll: false, exactPaths: [], dirPrefixes: [],
  network: { passAll: false, calls: ['socket', 'connect'], protocols: [6] },
};
const NO_NETWORK: KernelFilterSpec = { passAll: false, exactPaths: ['/nonexistent/armorwatch-switch-test'], dirPrefixes: [] };

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  spaces.add(NS);
  execFileSync('ip', ['netns', 'exec', NS, 'iptables', '-I', 'INPUT', '-p', 'tcp', '--syn', '--dport', SILENT_PORT, '-j', 'DROP']);
  mon = await collect({ pathFilter: TCP_CONNECT, processFilter: { pids: [], comms: ['netops'], excludePids: [] } });
});
after(async () => {
  await mon?.monitor.close();
  spaces.removeAll();
});

test('a connect in its handshake when the network hooks go: dropped and counted, never reported later', async (t) => {
  if (!needsBpf(t)) return;
  const child = spawn('ip', ['netns', 'exec', NS, NETOPS, 'nb-connect', '127.0.0.1', SILENT_PORT], { stdio: 'ignore' });
  defer(t, 'stop netops', () => { child.kill('SIGKILL'); });
  const pid = child.pid!;
  const mine = (phase: NetworkEvent['phase']) => (e: NetworkEvent): boolean => e.hostPid === pid && e.syscall === 'connect' && e.phase === phase;
  const call = await mon!.waitForNet(mine('call'), 'the non-blocking connect');
  assert.equal(call.ret, -115, 'EINPROGRESS: the handshake is under way');
  const before = (await mon!.monitor.refreshStats()).lostNetPending;

  await mon!.monitor.setPathFilter(NO_NETWORK);
  const narrowed = await mon!.monitor.refreshStats();
  assert.equal(narrowed.hooks.outcome, false, 'no outcome hook without a network need');
  assert.equal(narrowed.lostNetPending - before, 1, 'the connect whose outcome no hook can see any more is counted');

  // The hooks come back while the process still waits, then it gives up (its socket closes in
  // SYN_SENT): nothing is reported for a connect made while they were there before.
  await mon!.monitor.setPathFilter(TCP_CONNECT);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  await sleep(1500);
  await mon!.monitor.refreshStats();
  assert.deepEqual(mon!.nets.filter(mine('outcome')), [], 'no outcome for the dropped connect');
});
