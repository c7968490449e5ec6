// The DaemonSet's capability list is enough, and needed: the real agent, confined to exactly those
// capabilities (as uid 0, like the pod), attaches its eBPF programs, becomes ready and raises an
// alert; without CAP_BPF it refuses to start with a clear error.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { HOST_POLICY, exited, startAgent, waitFor, waitReady, writeHostPolicy } from './agent.ts';
import { one, render, requireKubectl } from './render.ts';

let caps: string[];
before(() => {
  requireKubectl();
  const c = one(render('deploy'), 'DaemonSet', 'armorwatch').spec.template.spec.containers[0];
  caps = (c.securityContext.capabilities.add as string[]).map((x) => x.replace(/^CAP_/, '').toLowerCase());
});

test('with only the DaemonSet\'s capabilities the agent attaches, becomes ready and alerts', async (t) => {
  if (!needsBpf(t)) return;
  assert.equal(spawnSync('setpriv', ['--version']).status, 0, 'setpriv (util-linux) is needed');
  const port = await freePort();
  const agent = startAgent(t, { policies: writeHostPolicy(t), healthPort: port, capabilities: caps });
  assert.ok(await waitReady(agent, port), `the agent did not become ready:\n${agent.err()}`);
  const loaded = agent.err().split('\n').find((l) => l.includes('eBPF programs loaded'));
  assert.ok(loaded !== undefined, `no 'eBPF programs loaded' line:\n${agent.err()}`);
  const hooks = JSON.parse(loaded) as { hook?: unknown; netHook?: unknown };
  t.diagnostic(`hook: ${String(hooks.hook)}, socket/connect hook: ${String(hooks.netHook)}`);
  // The cgroup programs (sock_create, connect4/6) load only with CAP_NET_ADMIN: without it the
  // agent falls back to the per-syscall hooks, slower for every process of the node.
  assert.equal(hooks.netHook, 'cgroup', `socket() and connect() are not on the cgroup hooks:\n${agent.err()}`);

  readFileSync('/proc/net/tcp');
  const alerted = await waitFor(() => agent.out().includes(`"PolicyName":"${HOST_POLICY}"`), 20_000);
  assert.ok(alerted, `no alert for reading /proc/net/tcp:\n${agent.out()}\n${agent.err()}`);
  const alert = JSON.parse(agent.out().split('\n').find((l) => l.includes(HOST_POLICY))!) as Record<string, unknown>;
  assert.equal(alert.Resource, '/proc/net/tcp');
  assert.equal(alert.HostPID, process.pid);

  agent.child.kill('SIGTERM');
  assert.equal(await exited(agent.child), 0, agent.err());
});

test('without CAP_BPF the agent refuses to start and says what is missing', async (t) => {
  if (!needsBpf(t)) return;
  const agent = startAgent(t, { policies: writeHostPolicy(t), healthPort: await freePort(), capabilities: caps.filter((c) => c !== 'bpf') });
  const code = await exited(agent.child);
  assert.notEqual(code, 0);
  assert.match(agent.err(), /AW_MONITOR_PRIVILEGES|CAP_BPF/);
});
