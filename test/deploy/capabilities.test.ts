// The DaemonSet's capability list is enough, and needed: the real agent, confined to exactly those
// capabilities (as uid 0, like the pod), attaches its eBPF programs, becomes ready and raises an
// alert; without CAP_BPF it refuses to start with a clear error.
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { needsBpf } from '../helpers/privileges.ts';
import { one, render, requireKubectl, root } from './render.ts';

let caps: string[];
before(() => {
  requireKubectl();
  const c = one(render('deploy'), 'DaemonSet', 'armorwatch').spec.template.spec.containers[0];
  caps = (c.securityContext.capabilities.add as string[]).map((x) => x.replace(/^CAP_/, '').toLowerCase());
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** A host policy for this machine: reading the kernel's TCP socket table. */
function writePolicy(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-caps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'host.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-socket-tables
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  severity: 5
  message: socket table read
  file:
    matchPaths:
      - path: /proc/net/tcp
  action: Audit
`);
  return dir;
}

/** `bin/armorwatch run` as uid 0 holding only `keep` (bounding set; nothing inheritable). */
function startAgent(keep: readonly string[], policies: string, port: number): { child: ChildProcess; out: () => string; err: () => string } {
  const bounding = ['-all', ...keep.map((c) => `+${c}`)].join(',');
  const child = spawn('setpriv', ['--bounding-set', bounding, '--inh-caps', '-all', '--',
    join(root, 'bin/armorwatch'), 'run', '--policies', policies, '--health-addr', `127.0.0.1:${port}`], {
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', NODE_NAME: hostname() }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return { child, out: () => out, err: () => err };
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

/** Polls until `cond` holds or `ms` pass (a deadline for a slow machine, not a speed check). */
async function waitFor(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await cond()) return true;
  return false;
}

test('with only the DaemonSet\'s capabilities the agent attaches, becomes ready and alerts', async (t) => {
  if (!needsBpf(t)) return;
  assert.equal(spawnSync('setpriv', ['--version']).status, 0, 'setpriv (util-linux) is needed');
  const port = await freePort();
  const agent = startAgent(caps, writePolicy(t), port);
  t.after(() => { if (agent.child.exitCode === null) agent.child.kill('SIGKILL'); });

  const ready = await waitFor(async () => {
    if (agent.child.exitCode !== null) return true;
    try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200; } catch { return false; }
  }, 60_000);
  assert.ok(ready && agent.child.exitCode === null, `the agent did not become ready:\n${agent.err()}`);

  readFileSync('/proc/net/tcp');
  const alerted = await waitFor(() => agent.out().includes('"PolicyName":"hsp-socket-tables"'), 20_000);
  assert.ok(alerted, `no alert for reading /proc/net/tcp:\n${agent.out()}\n${agent.err()}`);
  const alert = JSON.parse(agent.out().split('\n').find((l) => l.includes('hsp-socket-tables'))!) as Record<string, unknown>;
  assert.equal(alert.Resource, '/proc/net/tcp');
  assert.equal(alert.HostPID, process.pid);

  agent.child.kill('SIGTERM');
  assert.equal(await exited(agent.child), 0, agent.err());
});

test('without CAP_BPF the agent refuses to start and says what is missing', async (t) => {
  if (!needsBpf(t)) return;
  const agent = startAgent(caps.filter((c) => c !== 'bpf'), writePolicy(t), await freePort());
  t.after(() => { if (agent.child.exitCode === null) agent.child.kill('SIGKILL'); });
  const code = await exited(agent.child);
  assert.notEqual(code, 0);
  assert.match(agent.err(), /AW_MONITOR_PRIVILEGES|CAP_BPF/);
});
