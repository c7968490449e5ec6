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
import { IMAGE, SEED_DIR, eventually, podCgroupsLeft, runAgent, startStack } from './cluster.ts';

const CONTAINERS = 200;
const PARALLEL = 4;
const FILE = `${SEED_DIR}/mountnfs`;

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
  const stack = await startStack();
  assert.ok(stack, 'containerd and the Collector are available');
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-churn-'));
  let sandbox: Awaited<ReturnType<typeof runSandbox>> | undefined;
  let uid = '';
  // One hook, in this order: the pod goes while containerd still runs, then containerd and the Collector.
  t.after(async () => {
    await sandbox?.remove();
    await stack.dispose();
    rmSync(dir, { recursive: true, force: true });
    if (uid !== '') assert.deepEqual(podCgroupsLeft(uid), [], 'no cgroup of the pod left behind');
  });
  const policies = join(dir, 'policies');
  const rootfs = buildBusyboxRootfs(join(dir, 'sandbox-rootfs'));
  mkdirSync(policies);
  writeFileSync(join(policies, 'churn.yaml'), stringify({
    apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy',
    metadata: { name: 'ksp-churn-audit', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'churn' } }, file: { matchPaths: [{ path: FILE }] }, action: 'Audit', severity: 2 },
  }));

  // No kubeconfig: the pod's identity comes from containerd alone, as on a node whose API server is away.
  const agent = await runAgent(t, stack, policies, { ARMORWATCH_STATS_INTERVAL: '1s' });
  const pid = agent.running.child.pid as number;
  uid = randomUUID();
  const spec = { name: 'churn', namespace: 'default', uid, labels: { app: 'churn' }, rootfs };
  sandbox = await runSandbox(spec);
  const sandboxId = sandbox.id;

  const baseline = await eventually('a first pipeline counters line', 10_000, () => lastCounters(agent.running.err()));
  const rssBefore = rssKiB(pid);

  const started: string[] = [];
  const one = async (): Promise<void> => {
    // The access is the container's first act: the agent meets a cgroup it has never seen. The
    // short sleep after it only lets the test helper read the container's cgroup before it exits.
    const c = await runAppContainer(spec, sandboxId, 'worker', IMAGE, ['/bin/sh', '-c', `cat ${FILE} >/dev/null; sleep 0.5`]);
    started.push(c.id);
    await eventually(`container ${c.id.slice(0, 12)} to finish`, 30_000, () => (existsSync(`/proc/${c.pid}`) ? undefined : true));
    await c.remove();
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

  // The agent forgets containers that are gone: its caches return to where they were.
  const after = await eventually('caches back at their baseline', 30_000, () => {
    const c = lastCounters(agent.running.err());
    return c !== undefined && c.matched >= CONTAINERS && c.enrich.containers === baseline.enrich.containers
      && c.enrich.pendingLookups === 0 && c.enrich.timers === 0 ? c : undefined;
  });
  assert.equal(after.enrich.unattributed, 0, 'no event went out unattributed');
  assert.ok(after.enrich.forgotten >= CONTAINERS, `forgot the containers that were removed (${after.enrich.forgotten})`);
  assert.equal(after.enrich.cgroups, baseline.enrich.cgroups, 'cgroup cache back at its baseline');
  // Resident memory is the V8 heap's business and moves with garbage collection; a leak of 200
  // containers' worth of watches or metadata would show as steady growth, a whole heap's worth is not.
  const rssAfter = rssKiB(pid);
  assert.ok(rssAfter - rssBefore < 64 * 1024, `agent RSS grew from ${rssBefore} to ${rssAfter} KiB`);
  await agent.stop();
});
