// `armorwatch run` end to end: real eBPF monitor, a host policy, the real Collector. A child
// process opens matching files; the Collector's file output must hold the records.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, startCollector, type CollectedRecord, type Collector } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function hostPolicy(name: string, dir: string, severity: number): string {
  return `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ${name}
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  severity: ${severity}
  tags: ["e2e", "MITRE"]
  message: "e2e file access"
  file:
    matchDirectories:
      - dir: ${dir}/
        recursive: true
  action: Audit
`;
}

function recordFor(c: Collector, pid: number, path: string): CollectedRecord | undefined {
  return c.records().find((r) => r.attributes['process.pid'] === pid && r.attributes['file.path'] === path);
}

test('--help lists the flags; a bad value exits 2 naming the flag', () => {
  const help = spawnSync(process.execPath, [MAIN, 'run', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--otlp-endpoint URL/);
  assert.match(help.stdout, /env: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT/);
  const bad = spawnSync(process.execPath, [MAIN, 'run', '--policies', '/x', '--queue-size', 'many'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--queue-size: invalid value "many"/);
  assert.equal(bad.stdout, '', 'nothing on stdout');
});

test('host policy → eBPF → Collector: records with the right fields; reloads reach the kernel filter; SIGTERM exits 0', async (t) => {
  if (!needsBpf(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-e2e-'));
  const policies = join(dir, 'policies');
  const target = join(dir, 'target');
  const later = join(dir, 'later');
  for (const d of [policies, target, later]) spawnSync('mkdir', ['-p', d]);
  writeFileSync(join(target, 'secret'), 'x');
  writeFileSync(join(later, 'file'), 'y');
  writeFileSync(join(policies, 'a.yaml'), hostPolicy('hsp-e2e-target', target, 7));
  const collector = await startCollector();
  const healthPort = await freePort();
  let agent: ChildProcess | undefined;
  let stderr = '';
  try {
    agent = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--cluster-name', 'e2e', '--health-addr', `127.0.0.1:${healthPort}`,
      '--stats-interval', '1s', '--shutdown-deadline', '5s'], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://${collector.grpcAddress}`, ARMORWATCH_LOG_LEVEL: 'info', ARMORWATCH_RING_BUFFER_SIZE: '700KiB' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    let stdout = '';
    agent.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });

    await waitFor('/readyz', 60_000, async () => {
      try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
    });
    assert.equal((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
    const loaded = stderr.split('\n').find((l) => l.includes('"eBPF programs loaded"'));
    assert.equal((JSON.parse(loaded ?? '{}') as { ringBufferBytes?: number }).ringBufferBytes, 1 << 20, 'the ring buffer size asked for, rounded up, is the one the kernel map got');

    const before = BigInt(Date.now()) * 1_000_000n;
    const ok = spawnSync('/bin/cat', [join(target, 'secret')]);
    const missing = spawnSync('/bin/cat', [join(target, 'nope')]);
    const after = BigInt(Date.now()) * 1_000_000n;
    assert.equal(ok.status, 0);

    const rec = await waitFor('the record of the successful open', 20_000, () => recordFor(collector, ok.pid as number, join(target, 'secret')));
    assert.equal(rec.resource['k8s.cluster.name'], 'e2e');
    assert.equal(rec.resource['k8s.node.name'], hostname());
    assert.equal(rec.resource['service.name'], 'armorwatch');
    assert.equal(rec.resource['k8s.pod.name'], undefined, 'a host process has no pod');
    assert.equal(rec.attributes['security_rule.name'], 'hsp-e2e-target');
    assert.equal(rec.attributes['security_rule.ruleset.name'], 'KubeArmorHostPolicy');
    assert.equal(rec.attributes['kubearmor.type'], 'MatchedHostPolicy');
    assert.match(String(rec.attributes['process.executable.path']), /\/cat$/);
    assert.equal(rec.attributes['kubearmor.result'], 'Passed');
    assert.equal(rec.attributes['kubearmor.syscall'], 'SYS_OPENAT');
    assert.deepEqual(rec.attributes['kubearmor.tags'], ['e2e', 'MITRE']);
    assert.equal(rec.severityNumber, 18, 'severity 7 → ERROR2');
    assert.equal(rec.severityText, 'ERROR2');
    assert.equal(rec.attributes['kubearmor.severity'], 7);
    const ts = BigInt(rec.timeUnixNano);
    assert.ok(ts >= before && ts <= after, `kernel time ${ts} within the child's run [${before}, ${after}]`);

    const miss = await waitFor('the record of the failed open', 20_000, () => recordFor(collector, missing.pid as number, join(target, 'nope')));
    assert.equal(miss.attributes['kubearmor.result'], 'No such file or directory');
    assert.match(String(miss.body), /tried to open .*nope \(No such file or directory\)/);

    // A policy added while running: the kernel filter learns the new directory without a restart.
    writeFileSync(join(policies, 'b.yaml'), hostPolicy('hsp-e2e-later', later, 2));
    const reloaded = await waitFor('the reloaded policy to match', 30_000, () => {
      spawnSync('/bin/cat', [join(later, 'file')]);
      return collector.records().find((r) => r.attributes['file.path'] === join(later, 'file'));
    });
    assert.equal(reloaded.attributes['security_rule.name'], 'hsp-e2e-later');
    assert.equal(stdout, '', 'OTLP mode writes nothing on stdout');

    // While it runs, the kernel and enricher counters are logged every --stats-interval.
    const counted = await waitFor('a pipeline counters line with the matches so far', 10_000, () => {
      const line = stderr.split('\n').filter((l) => l.includes('"pipeline counters"')).pop();
      const c = line === undefined ? undefined : JSON.parse(line) as { matched: number; monitor: { delivered: number; lostInKernel: number } };
      return c !== undefined && c.matched >= 3 ? c : undefined;
    });
    assert.ok(counted.monitor.delivered >= counted.matched, 'every match was an event the monitor delivered');
    assert.equal(typeof counted.monitor.lostInKernel, 'number');

    // The same counters at /metrics on the health port, from the live pipeline.
    const scrape = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    const sample = (re: RegExp): number => Number(re.exec(scrape)?.[1] ?? NaN);
    const targetMatches = sample(/^armorwatch_policy_matches_total\{policy="hsp-e2e-target",action="Audit"[^}]*\} (\d+)$/m);
    assert.ok(targetMatches >= 2, `both opens under ${target} counted as matches of hsp-e2e-target:\n${scrape}`);
    assert.ok(sample(/^armorwatch_monitor_events_delivered_total\{[^}]*\} (\d+)$/m) >= targetMatches);
    assert.ok(sample(/^armorwatch_monitor_events_filtered_total\{[^}]*\} (\d+)$/m) > 0, 'the kernel filter skipped calls no rule can match');
    assert.equal(sample(/^armorwatch_policy_loaded\{[^}]*\} (\d+)$/m), 2, 'both policies in force');
    assert.ok(sample(/^armorwatch_policy_reloads_total\{result="ok"[^}]*\} (\d+)$/m) >= 2, 'the first load and the reload');
    assert.ok(sample(/^armorwatch_export_records_exported_total\{exporter="otlp"[^}]*\} (\d+)$/m) >= 3);
    assert.ok(sample(/^armorwatch_export_duration_seconds_count\{exporter="otlp",outcome="success"[^}]*\} (\d+)$/m) >= 1);

    const exitCode = await new Promise<number | null>((resolve) => { agent?.once('exit', (code) => resolve(code)); agent?.kill('SIGTERM'); });
    agent = undefined;
    assert.equal(exitCode, 0, stderr.slice(-2000));
    const final = stderr.split('\n').filter((l) => l.includes('"export: final counters"')).pop();
    assert.ok(final, 'final counters logged');
    const counters = (JSON.parse(final) as { export: { otlp: { exported: number; dropped: Record<string, number> } } }).export.otlp;
    assert.ok(counters.exported >= 3);
    assert.deepEqual(counters.dropped, { queue_full: 0, rejected: 0, retry_exhausted: 0, shutdown: 0 });
  } finally {
    agent?.kill('SIGKILL');
    await collector.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert throttling: a burst of matching opens gives at most N alerts a second, one notice, then the counts in the closing notice and /metrics', async (t) => {
  if (!needsBpf(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-throttle-'));
  const policies = join(dir, 'policies');
  const target = join(dir, 'target');
  for (const d of [policies, target]) spawnSync('mkdir', ['-p', d]);
  writeFileSync(join(target, 'probe'), 'x');
  writeFileSync(join(policies, 'a.yaml'), hostPolicy('hsp-throttle', target, 5));
  const healthPort = await freePort();
  const N = 5;
  const BURST = 60;
  let agent: ChildProcess | undefined;
  let stderr = '';
  let stdout = '';
  try {
    agent = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--exporter', 'stdout', '--health-addr', `127.0.0.1:${healthPort}`,
      '--max-alerts-per-sec', String(N), '--shutdown-deadline', '5s'], {
      env: { ...process.env, ARMORWATCH_THROTTLE_SEC: '2', ARMORWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    agent.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    await waitFor('/readyz', 60_000, async () => {
      try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
    });
    type Line = { PolicyName: string; Type: string; Resource: string; Throttle?: { Phase: string; SuppressedTotal?: number; Suppressed?: Record<string, number> } };
    const ours = (): Line[] => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line).filter((a) => a.PolicyName === 'hsp-throttle');
    // One shell opening the file BURST times, well inside a second.
    const burst = spawnSync('/bin/sh', ['-c', `i=0; while [ $i -lt ${BURST} ]; do : < ${join(target, 'probe')}; i=$((i+1)); done`]);
    assert.equal(burst.status, 0);
    const ended = await waitFor('the notice that ends the quiet period', 20_000, () => ours().find((a) => a.Throttle?.Phase === 'ended'));
    const lines = ours();
    const alerts = lines.filter((a) => a.Type === 'MatchedHostPolicy');
    const notices = lines.filter((a) => a.Type === 'AlertThreshold');
    assert.deepEqual(notices.map((a) => a.Throttle?.Phase), ['started', 'ended'], 'one notice when it starts, one when it ends');
    // The burst may straddle a second boundary: at most N in each of the (at most two) windows.
    assert.ok(alerts.length >= N && alerts.length <= 2 * N, `${alerts.length} alerts sent, limit ${N}/s`);
    assert.equal(alerts.length + (ended.Throttle?.SuppressedTotal ?? 0), BURST, 'alerts sent + suppressed = matches');
    assert.deepEqual(ended.Throttle?.Suppressed, { 'hsp-throttle': BURST - alerts.length });

    const scrape = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    const sample = (re: RegExp): number => Number(re.exec(scrape)?.[1] ?? NaN);
    assert.equal(sample(/^armorwatch_policy_matches_total\{policy="hsp-throttle",action="Audit"[^}]*\} (\d+)$/m), BURST, scrape);
    assert.equal(sample(/^armorwatch_policy_alerts_suppressed_total\{namespace="",workload="host",policy="hsp-throttle"[^}]*\} (\d+)$/m), BURST - alerts.length, scrape);
    assert.equal(sample(/^armorwatch_policy_throttle_periods_total\{[^}]*\} (\d+)$/m), 1);
    // After the quiet period, alerts flow again.
    spawnSync('/bin/sh', ['-c', `: < ${join(target, 'probe')}`]);
    await waitFor('an alert after the quiet period', 20_000, () => (ours().filter((a) => a.Type === 'MatchedHostPolicy').length > alerts.length ? true : undefined));

    const exitCode = await new Promise<number | null>((resolve) => { agent?.once('exit', (code) => resolve(code)); agent?.kill('SIGTERM'); });
    agent = undefined;
    assert.equal(exitCode, 0, stderr.slice(-2000));
  } finally {
    agent?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
