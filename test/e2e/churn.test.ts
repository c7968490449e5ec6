// 200 containers started and stopped while the real agent runs (issue 5, "Also tested"): every
// container's first access, made the moment it starts, reaches the Collector attributed to its pod,
// and afterwards the agent's caches are back at their baseline with no lookups or timers left.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildBusyboxRootfs, runAppContainer, runSandbox } from '../helpers/containerd.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import { IMAGE, eventually, podCgroupsLeft, runAgent, startStack } from './cluster.ts';

const CONTAINERS = 200;
const PARALLEL = 4;
// A path only this run's containers touch (it does not exist: the failed open is still an access
// the policy audits), so every event, cache entry and counter the agent reports is the test's own,
// and the baseline comparisons hold on a machine where other containers and services run.
// (A shared path once counted another workload's cgroup: "cgroup cache back at its baseline: 2 !== 1".)
const FILE = `/churn-${randomUUID()}`;

interface EnrichStats { containers: number; cgroups: number; workloads: number; pendingLookups: number; timers: number; unattributed: number; forgotten: number }
interface Counters { matched: number; enrich: EnrichStats }

/** The newest `pipeline counters` line of the agent's log. */
function lastCounters(err: string): Counters | undefined {
  const line = err.split('\n').filter((l) => l.includes('"pipeline counters"')).pop();
  return line === undefined ? undefined : JSON.parse(line) as Counters;
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `VmRSS of ${pid}`);
  return Number(m[1]);
}

test(`churn: ${CONTAINERS} containers started and stopped under the agent, each attributed, caches back to baseline`, { timeout: 600_000 }, async (t) => {
  if (!needsBpf(t)) return;
  // Cleanup runs last-registered first, every step whatever fails: the agent stops, then the pod
  // goes while containerd still runs, then the folder, then containerd and the Collector.
  const stack = await startStack();
  assert.ok(stack, 'containerd and the Collector are available');
  defer(t, 'stop containerd and the Collector', () => stack.dispose());
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-churn-'));
  defer(t, `remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const policies = join(dir, 'policies');
  const rootfs = buildBusyboxRootfs(join(dir, 'sandbox-rootfs'));
  mkdirSync(policies);
  writeFileSync(join(policies, 'churn.yaml'), stringify({
    apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy',
    metadata: { name: 'ksp-churn-audit', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'churn' } }, file: { matchPaths: [{ path: FILE }] }, action: 'Audit', severity: 2 },
  }));

  const uid = randomUUID();
  const spec = { name: 'churn', namespace: 'default', uid, labels: { app: 'churn' }, rootfs };
  const sandbox = await runSandbox(spec);
  defer(t, 'remove the pod sandbox, leaving no cgroup', async () => {
    await sandbox.remove();
    assert.deepEqual(podCgroupsLeft(uid), [], 'no cgroup of the pod left behind');
  });
  const sandboxId = sandbox.id;
  // No kubeconfig: the pod's identity comes from containerd alone, as on a node whose API server is away.
  const agent = await runAgent(t, stack, policies, { ARMORWATCH_STATS_INTERVAL: '1s' });
  const pid = agent.running.child.pid as number;

  const baseline = await eventually('a first pipeline counters line', 10_000, () => lastCounters(agent.running.err()));
  const rssBefore = rssKiB(pid);

  const started: string[] = [];
  const one = async (): Promise<void> => {
    // The access is the container's first act: the agent meets a cgroup it has never seen. The
    // short sleep after it only lets the test helper read the container's cgroup before it exits.
    const c = await runAppContainer(spec, sandboxId, 'worker', IMAGE, ['/bin/sh', '-c', `cat ${FILE} 2>/dev/null; sleep 0.5`]);
    started.push(c.id);
    try {
      await eventually(`container ${c.id.slice(0, 12)} to finish`, 30_000, () => (existsSync(`/proc/${c.pid}`) ? undefined : true));
    } finally {
      await c.remove();
    }
  };
  for (let i = 0; i < CONTAINERS; i += PARALLEL) await Promise.all(Array.from({ length: PARALLEL }, one));
  assert.equal(started.length, CONTAINERS);

  const records = await eventually(`${CONTAINERS} records at the Collector`, 60_000, () => {
    const rs = stack.collector.records().filter((r) => r.attributes['security_rule.name'] === 'ksp-churn-audit');
    return rs.length >= CONTAINERS ? rs : undefined;
  });
  assert.equal(records.length, CONTAINERS, 'exactly one record per container');
  for (const r of records) {
    assert.equal(r.resource['k8s.pod.name'], 'churn', 'attributed to its pod');
    assert.equal(r.resource['k8s.container.name'], 'worker');
  }
  assert.deepEqual(records.map((r) => r.resource['container.id']).sort(), [...started].sort(), 'each container\'s own id, none missing');

  // The agent forgets containers that are gone. Its counters are the whole agent's: whatever else
  // runs on the machine also passes through its caches (processes in other cgroups, other
  // containers), and once made this check fail ("cgroup cache back at its baseline: 2 !== 1"). So
  // it asserts what this test owns: the matches are exactly its own (FILE is unique to this run),
  // every container it removed was forgotten, and its containers' entries are gone. A leak would
  // leave one entry per container (CONTAINERS of them); the little that other workloads may add
  // meanwhile stays far below a tenth of that.
  const quiet = await eventually('no lookup or timer pending, every container forgotten', 30_000, () => {
    const c = lastCounters(agent.running.err());
    return c !== undefined && c.matched >= CONTAINERS && c.enrich.forgotten - baseline.enrich.forgotten >= CONTAINERS
      && c.enrich.pendingLookups === 0 && c.enrich.timers === 0 ? c : undefined;
  });
  assert.equal(quiet.matched - baseline.matched, CONTAINERS, 'one match per container, no other');
  const left = { cgroups: quiet.enrich.cgroups - baseline.enrich.cgroups, containers: quiet.enrich.containers - baseline.enrich.containers };
  assert.ok(left.cgroups < CONTAINERS / 10 && left.containers < CONTAINERS / 10,
    `the caches forgot the removed containers: ${JSON.stringify(left)} entries more than at the start (baseline ${JSON.stringify(baseline.enrich)}, now ${JSON.stringify(quiet.enrich)})`);
  // Resident memory is the V8 heap's business and moves with garbage collection; a leak of 200
  // containers' worth of watches or metadata would show as steady growth, a whole heap's worth is not.
  const rssAfter = rssKiB(pid);
  assert.ok(rssAfter - rssBefore < 64 * 1024, `agent RSS grew from ${rssBefore} to ${rssAfter} KiB`);
  await agent.stop();
});
