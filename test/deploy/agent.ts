// The real agent (`bin/armorwatch run`) for end-to-end tests of what ships: a host policy for this
// machine, the process with captured output, and polling helpers.
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { root } from './render.ts';
import { defer, killOnExit } from '../helpers/cleanup.ts';

export const HOST_POLICY = 'hsp-socket-tables';

/** A folder with one host policy for this machine: reading the kernel's TCP socket table. */
export function writeHostPolicy(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-policy-'));
  defer(t, `remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'host.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ${HOST_POLICY}
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

export interface RunningAgent {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
}

/**
 * Starts `bin/armorwatch run --policies <policies>` as uid 0, with a clean environment plus `env`.
 * With `capabilities`, the process holds only those (bounding set; nothing inheritable), as in the pod.
 */
export function startAgent(t: TestContext, opts: { policies: string; healthPort: number; env?: Record<string, string>; capabilities?: readonly string[] }): RunningAgent {
  const agent = [join(root, 'bin/armorwatch'), 'run', '--policies', opts.policies, '--health-addr', `127.0.0.1:${opts.healthPort}`];
  const argv = opts.capabilities === undefined ? agent
    : ['setpriv', '--bounding-set', ['-all', ...opts.capabilities.map((c) => `+${c}`)].join(','), '--inh-caps', '-all', '--', ...agent];
  const child = killOnExit(spawn(argv[0]!, argv.slice(1), {
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', NODE_NAME: hostname(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  defer(t, 'kill the agent if it still runs', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { child, out: () => out, err: () => err };
}

export const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

/** Polls until `cond` holds or `ms` pass: a deadline for a slow machine, not a speed check. */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await cond()) return true;
  return false;
}

/** Waits until /readyz answers 200, or the agent exits. True when ready. */
export async function waitReady(agent: RunningAgent, port: number): Promise<boolean> {
  await waitFor(async () => {
    if (agent.child.exitCode !== null) return true;
    try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200; } catch { return false; }
  }, 60_000);
  return agent.child.exitCode === null;
}
