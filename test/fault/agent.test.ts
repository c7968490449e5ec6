// Fault suite: the real agent (real eBPF) under faults an operator meets: a stalled helper, a
// SIGTERM while the collector is down, a policy folder with nothing in force.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const hostPolicy = (dir: string): string => `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: fault-target
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  file:
    matchDirectories:
      - dir: ${dir}/
        recursive: true
  action: Audit
`;

interface Agent { child: ChildProcess; err(): string; port: number; dir: string; policies: string; target: string }

async function startAgent(t: TestContext, opts: { args?: string[]; env?: Record<string, string>; withPolicy?: boolean } = {}): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), 'aw-fault-agent-'));
  const policies = join(dir, 'policies');
  const target = join(dir, 'target');
  mkdirSync(policies);
  mkdirSync(target);
  writeFileSync(join(target, 'file'), 'x');
  if (opts.withPolicy !== false) writeFileSync(join(policies, 'p.yaml'), hostPolicy(target));
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--health-addr', `127.0.0.1:${port}`, '--stats-interval', '0', ...(opts.args ?? [])], {
    env: { ...process.env, ARMORWATCH_LOG_LEVEL: 'info', ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return { child, err: () => err, port, dir, policies, target };
}

async function probe(a: Agent, path: string): Promise<[number, string] | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${a.port}${path}`);
    return [r.status, await r.text()];
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined> | T | undefined, a?: Agent): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const v = await f();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}${a === undefined ? '' : `\n${a.err().slice(-3000)}`}`);
}

const exited = (c: ChildProcess): Promise<number | null> => new Promise((r) => {
  if (c.exitCode !== null || c.signalCode !== null) r(c.exitCode);
  else c.once('exit', (code) => r(code));
});

test('a stopped helper (SIGSTOP) fails liveness; SIGCONT brings it back', { timeout: 120_000 }, async (t) => {
  if (!needsBpf(t)) return;
  const a = await startAgent(t);
  await until('ready', 60_000, async () => ((await probe(a, '/readyz'))?.[0] === 200 ? true : undefined), a);
  const loaded = a.err().split('\n').find((l) => l.includes('"file monitor attached"'));
  const helperPid = (JSON.parse(loaded ?? '{}') as { helperPid?: number }).helperPid;
  assert.ok(typeof helperPid === 'number', 'helper pid logged');
  process.kill(helperPid, 'SIGSTOP');
  try {
    const [status, body] = await until('liveness to fail', 30_000, async () => {
      const r = await probe(a, '/healthz');
      return r !== undefined && r[0] === 503 ? r : undefined;
    }, a);
    assert.equal(status, 503);
    assert.match(body, /^file monitor helper silent for \d+ s \(stopped or stuck\)\n$/);
  } finally {
    process.kill(helperPid, 'SIGCONT');
  }
  await until('liveness to recover', 20_000, async () => ((await probe(a, '/healthz'))?.[0] === 200 ? true : undefined), a);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});

test('SIGTERM with the collector down: the whole shutdown fits the deadline counted from the signal', { timeout: 120_000 }, async (t) => {
  if (!needsBpf(t)) return;
  const deadlineMs = 4000;
  const down = await freePort(); // nothing listens there
  const a = await startAgent(t, { args: ['--shutdown-deadline', `${deadlineMs}ms`, '--otlp-endpoint', `http://127.0.0.1:${down}`] });
  await until('ready', 60_000, async () => ((await probe(a, '/readyz'))?.[0] === 200 ? true : undefined), a);
  for (let i = 0; i < 5; i++) spawnSync('/bin/cat', [join(a.target, 'file')]);
  await until('an export failure', 20_000, () => (a.err().includes('export failed; retrying with backoff') ? true : undefined), a);
  const signalled = Date.now();
  a.child.kill('SIGTERM');
  const code = await exited(a.child);
  const took = Date.now() - signalled;
  assert.equal(code, 0, a.err().slice(-3000));
  // The agent's own measure, from the signal to its last line, within the deadline...
  const stopped = a.err().split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
  const s = JSON.parse(stopped ?? '{}') as { tookMs?: number; export?: { otlp?: { exported: number; dropped: Record<string, number>; accepted: number } } };
  assert.ok(s.tookMs !== undefined && s.tookMs <= deadlineMs, `stopped after ${s.tookMs} ms`);
  // ...and the process gone soon after (the kubelet's grace period is the deadline plus a little).
  assert.ok(took <= deadlineMs + 1500, `exited ${took} ms after SIGTERM`);
  // Nothing lost silently: what was not delivered is counted as dropped at shutdown.
  const otlp = s.export!.otlp!;
  assert.equal(otlp.exported, 0);
  assert.ok(otlp.dropped.shutdown >= 5 && otlp.dropped.shutdown === otlp.accepted, JSON.stringify(otlp));
});

test('no policy in force: not ready, with the reason and the detail; a valid policy makes it ready', { timeout: 120_000 }, async (t) => {
  if (!needsBpf(t)) return;
  const a = await startAgent(t, { withPolicy: false });
  const [status, body] = await until('the monitor attached while not ready', 60_000, async () => {
    const r = await probe(a, '/readyz?verbose');
    return r !== undefined && r[1].includes('monitor: attached') ? r : undefined;
  }, a);
  assert.equal(status, 503);
  assert.match(body, new RegExp(`^no policy in force: no policy files \\(\\*\\.yaml, \\*\\.yml\\) in ${a.policies}\\n`));
  assert.match(body, /^policies: 0 in force from 0 file\(s\)/m);
  assert.match(a.err(), /holds no policy file/);
  // Every policy invalid: still not ready, and the reason says so.
  writeFileSync(join(a.policies, 'bad.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: bad\nspec:\n  severity: 99\n');
  const invalid = await until('the invalid policy seen', 20_000, async () => {
    const r = await probe(a, '/readyz');
    return r !== undefined && r[1].includes('none valid') ? r : undefined;
  }, a);
  assert.equal(invalid[0], 503);
  writeFileSync(join(a.policies, 'p.yaml'), hostPolicy(a.target));
  await until('ready', 20_000, async () => ((await probe(a, '/readyz'))?.[0] === 200 ? true : undefined), a);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});
