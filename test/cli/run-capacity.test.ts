// `armorwatch run` and the kernel filter's capacity (--kernel-filter-capacity): a policy set needing
// more entries is refused at start naming its biggest policies; on a reload it is refused as a whole
// and the set in force keeps raising alerts from the real eBPF monitor, the refusal counted in
// /metrics and told in the readiness detail, and a later valid change is taken. The detail and
// /metrics also list the policies whose sections this node does not observe. An update of the
// watched identities over the capacity is refused as loudly, and the identities in force stay.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needsBpf } from '../helpers/privileges.ts';
import { hostAuditPolicy as hostPolicy, hostPolicy as fullHostPolicy } from '../helpers/policies.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));


interface Alert { Resource?: string; PolicyName?: string; HostPID?: number }

test('a policy set over the capacity: run refuses to start, naming the file and the policy', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-cap-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'small.yaml'), hostPolicy('hsp-small', ['/etc/hostname']));
  writeFileSync(join(dir, 'big.yaml'), hostPolicy('hsp-big', ['/a/1', '/a/2', '/a/3', '/a/4']));
  const r = spawnSync(process.execPath, [MAIN, 'run', '--policies', dir, '--kernel-filter-capacity', '3', '--health-addr', 'off'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('armorwatch: '));
  assert.ok(line !== undefined, r.stderr);
  assert.match(line, /need 5 exact paths .* capacity of 3 each \(--kernel-filter-capacity\)/);
  assert.match(line, new RegExp(`${join(dir, 'big.yaml')}: KubeArmorHostPolicy/[^ ]*hsp-big \\(4\\); ${join(dir, 'small.yaml')}: KubeArmorHostPolicy/[^ ]*hsp-small \\(1\\)`));
  assert.match(line, /\[AW_POLICY_FILTER_CAPACITY\]$/);
  assert.doesNotMatch(r.stderr, /eBPF programs loaded/, 'refused before anything is loaded');
});

test('a reload over the capacity is refused as a whole: the old filter and rules stay and still alert', async (t) => {
  if (!needsBpf(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'aw-cap-reload-'));
  const policies = join(dir, 'policies');
  const files = join(dir, 'files');
  mkdirSync(policies);
  mkdirSync(files);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => join(files, n)) as [string, string, string, string];
  for (const f of [a, b, c, d]) writeFileSync(f, 'x');
  // Three exact paths: exactly the capacity, so the kernel map must really hold three.
  writeFileSync(join(policies, 'old.yaml'), hostPolicy('hsp-old', [a, b, c]));
  // No kernel filter entry; a section this node does not observe.
  writeFileSync(join(policies, 'caps.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-caps
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  capabilities:
    matchCapabilities:
      - capability: net_raw
        fromSource:
          - path: /bin/ping
  action: Audit
`);
  let agent: ChildProcess | undefined;
  let stderr = '';
  let stdout = '';
  const { freePort } = await import('../helpers/collector.ts');
  const healthPort = await freePort();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    agent = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--exporter', 'stdout', '--health-addr', `127.0.0.1:${healthPort}`, '--shutdown-deadline', '5s'], {
      env: { ...process.env, ARMORWATCH_KERNEL_FILTER_CAPACITY: '3', ARMORWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    agent.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    const alerts = (): Alert[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Alert);
    const alertFor = (pid: number, path: string): Alert | undefined => alerts().find((x) => x.HostPID === pid && x.Resource === path);
    await waitFor('/readyz', 60_000, async () => {
      try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
    });
    for (const f of [a, b, c]) {
      const r = spawnSync('/bin/cat', [f]);
      await waitFor(`the alert for ${f}`, 20_000, () => alertFor(r.pid as number, f));
    }

    // The new set needs four entries: refused, loudly, and nothing of it is taken.
    writeFileSync(join(policies, 'new.yaml'), hostPolicy('hsp-new', [d]));
    const refused = await waitFor('the refusal in the log', 30_000, () => stderr.split('\n').find((l) => l.includes('policy change refused')));
    assert.match(refused, /need 4 exact paths/);
    assert.match(refused, /old\.yaml: KubeArmorHostPolicy\/[^ ]*hsp-old \(3\)/);
    assert.match(refused, /new\.yaml: KubeArmorHostPolicy\/[^ ]*hsp-new \(1\)/);
    const detail = await (await fetch(`http://127.0.0.1:${healthPort}/readyz?verbose`)).text();
    assert.match(detail, /policy change refused, the previous policies stay in force: .*hsp-new/);
    assert.match(detail, /^policy changes refused: 1 over the kernel filter capacity; 0 kernel filter switch\(es\) failed$/m);
    assert.match(detail, /^unobserved policy sections: capabilities \(1: KubeArmorHostPolicy\/[^ ]*hsp-caps\)$/m);
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    assert.match(metrics, /^armorwatch_policy_changes_refused_total\{reason="capacity",[^}]*\} 1$/m);
    assert.match(metrics, /^armorwatch_policy_changes_refused_total\{reason="kernel_filter",[^}]*\} 0$/m);
    assert.match(metrics, /^armorwatch_policy_unobserved_sections\{section="capabilities",[^}]*\} 1$/m);

    const old = spawnSync('/bin/cat', [a]);
    const seen = await waitFor('an alert of the old rules after the refusal', 20_000, () => alertFor(old.pid as number, a));
    assert.match(String(seen.PolicyName), /hsp-old/);
    const refusedOpen = spawnSync('/bin/cat', [d]);
    const marker = spawnSync('/bin/cat', [b]);
    await waitFor('the alert opened after the refused path', 20_000, () => alertFor(marker.pid as number, b));
    assert.equal(alertFor(refusedOpen.pid as number, d), undefined, 'the refused policy raised no alert');
    assert.doesNotMatch(stderr, /could not be switched/, 'no kernel switch was attempted');

    // A later valid change: the new rule alerts, the old ones no longer.
    rmSync(join(policies, 'new.yaml'));
    writeFileSync(join(policies, 'old.yaml'), hostPolicy('hsp-old', [d]));
    await waitFor('the valid change in force', 30_000, async () => {
      const t = await (await fetch(`http://127.0.0.1:${healthPort}/readyz?verbose`)).text();
      return /previous policies stay in force/.test(t) ? undefined : true;
    });
    const gone = spawnSync('/bin/cat', [a]);
    const now = spawnSync('/bin/cat', [d]);
    const taken = await waitFor('the alert of the new rule', 20_000, () => alertFor(now.pid as number, d));
    assert.match(String(taken.PolicyName), /hsp-old/);
    assert.equal(alertFor(gone.pid as number, a), undefined, 'a rule no longer in force raised an alert');
  } finally {
    if (agent !== undefined && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
  }
});

test('an update of the watched identities over the capacity (hard links made out of a watched directory while the agent runs) is refused loudly; the identities in force stay whole', async (t) => {
  if (!needsBpf(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'aw-cap-ident-'));
  const policies = join(dir, 'policies');
  const watched = join(dir, 'd');
  const other = join(dir, 'other');
  for (const d of [policies, watched, other]) mkdirSync(d);
  const secret = join(dir, 'secret');
  for (const f of [secret, join(watched, 'x'), join(watched, 'y')]) writeFileSync(f, 'x');
  // One exact path, one prefix, two identities (the file, the directory): each map fits 3.
  writeFileSync(join(policies, 'ids.yaml'), fullHostPolicy('hsp-ids', `  file:
    matchPaths:
      - path: ${secret}
    matchDirectories:
      - dir: ${watched}/
        recursive: true
  action: Audit
`));
  let agent: ChildProcess | undefined;
  let stderr = '';
  let stdout = '';
  const { freePort } = await import('../helpers/collector.ts');
  const healthPort = await freePort();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    agent = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--exporter', 'stdout', '--health-addr', `127.0.0.1:${healthPort}`, '--shutdown-deadline', '5s', '--kernel-filter-capacity', '3'], {
      env: { ...process.env, ARMORWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    agent.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    const alerts = (): Alert[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Alert);
    const alertFor = (pid: number, path: string): Alert | undefined => alerts().find((x) => x.HostPID === pid && x.Resource === path);
    await waitFor('/readyz', 60_000, async () => {
      try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
    });
    // A first link out of the directory: three identities, taken.
    const l1 = join(other, 'l1');
    spawnSync('/bin/ln', [join(watched, 'x'), l1]);
    await waitFor('a read through the first link alerting', 20_000, () => {
      const r = spawnSync('/bin/cat', [l1]);
      return waitFor('its alert', 2_000, () => alertFor(r.pid as number, l1)).catch(() => undefined);
    });
    // A second one: four identities, over the capacity of 3.
    const l2 = join(other, 'l2');
    spawnSync('/bin/ln', [join(watched, 'y'), l2]);
    const logged = await waitFor('the refusal in the log', 20_000, () => stderr.split('\n').find((l) => l.includes('could not update the watched identities')));
    assert.match(logged, /the set in force before stays whole/);
    assert.match(logged, /needs 4 watched identities, more than its capacity of 3 \(--kernel-filter-capacity\); most come from: the host \(4\)/);
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    assert.match(metrics, /^armorwatch_policy_changes_refused_total\{reason="identities",[^}]*\} [1-9]\d*$/m);
    const detail = await (await fetch(`http://127.0.0.1:${healthPort}/readyz?verbose`)).text();
    assert.match(detail, /host rule targets watched by identity: 2; hard links out of watched directories: 2; last update refused: .*needs 4 watched identities/);
    // The set in force is the one before, whole: the first link still alerts, the second does not.
    const refused = spawnSync('/bin/cat', [l2]);
    const r1 = spawnSync('/bin/cat', [l1]);
    await waitFor('the first link still alerting after the refusal', 20_000, () => alertFor(r1.pid as number, l1));
    assert.equal(alertFor(refused.pid as number, l2), undefined, 'the refused identity passed');
  } finally {
    if (agent !== undefined && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
  }
});
