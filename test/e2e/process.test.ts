// A process rule end to end: a pod run through containerd, a real kube-apiserver serving it, the
// real agent (`bin/armorwatch run`, real eBPF exec hooks) and the real Collector. `uname -s` (a
// link to busybox) run in the pod must arrive as one Process record (and one KubeArmor line on stdout) with the
// command line, the executed file, the caller and the execution's own pids; an execution the rule
// does not name raises nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { buildBusyboxRootfs, needsContainerd } from '../helpers/containerd.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import { needsControlPlane, startControlPlane } from '../helpers/kube-apiserver.ts';
import { agentIdentity, putObjects } from '../helpers/kube-objects.ts';
import { ContainerShell, eventually, runAgent, SEED_DIR, seedOwners, servedNode, servePod, startStack, warmUp, type Stack } from './cluster.ts';

const POD = { name: 'wordpress-7c966b5d85-proc1', namespace: 'wordpress-mysql', labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85' } };

let stack: Stack | null = null;
let dir = '';
let sandboxRootfs = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-e2e-proc-'));
  sandboxRootfs = buildBusyboxRootfs(join(dir, 'sandbox'));
  stack = await startStack();
});
after(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('process rule: uname run in the pod → one Process record and one KubeArmor line; other executions raise nothing', async (t) => {
  const s = needsContainerd(t) && needsBpf(t) && needsControlPlane(t) ? stack : null;
  if (s === null) return;
  const policy = join(dir, 'process.yaml');
  writeFileSync(policy, stringify({
    apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy',
    metadata: { name: 'ksp-uname', namespace: POD.namespace },
    spec: {
      selector: { matchLabels: { app: 'wordpress' } },
      severity: 6,
      message: 'system probe',
      action: 'Block',
      // The file rule warms the agent's caches (warmUp), the process rule is the one under test.
      file: { matchPaths: [{ path: SEED_DIR }], action: 'Audit' },
      process: { matchPaths: [{ execname: 'uname' }] },
    },
  }));
  const cp = await startControlPlane();
  defer(t, 'cp.stop', () => cp.stop());
  const created = await putObjects(cp, [servedNode(), ...seedOwners()]);
  const pod = await servePod(t, cp, s, sandboxRootfs, created, POD, 'wordpress', true);
  const { kubeconfig } = await agentIdentity(cp);

  const agent = await runAgent(t, s, policy, { KUBECONFIG: kubeconfig, ARMORWATCH_EXPORTER: 'both' });
  const shell = await ContainerShell.open(pod.id);
  t.after(() => shell.close());
  await warmUp(s.collector, shell, 'k8s.container.name');
  // The image holds busybox and few links: the test makes its own `uname`, a link to busybox.
  await shell.run('/bin/busybox ln -sf /bin/busybox /tmp/uname');
  const other = await shell.access('/bin/busybox true');
  const a = await shell.access('/tmp/uname -s');
  assert.equal(a.output, 'Linux\n', 'the command ran in the container');
  const isExec = (hostPid: number) => s.collector.records().filter((r) => r.attributes['process.pid'] === hostPid && r.attributes['kubearmor.operation'] === 'Process');
  await eventually('the process record', 20_000, () => isExec(a.hostPid)[0]);
  await agent.stop();

  const recs = isExec(a.hostPid);
  assert.equal(recs.length, 1, 'exactly one record for the execution');
  const r = recs[0]!;
  const busybox = shell.realpath('/tmp/uname');
  assert.deepEqual({
    exe: r.attributes['process.executable.path'], args: r.attributes['process.command_args'], count: r.attributes['process.args_count'],
    vpid: r.attributes['process.vpid'], source: r.attributes['kubearmor.source'], data: r.attributes['kubearmor.data'],
    action: r.attributes['kubearmor.action'], result: r.attributes['kubearmor.result'], rule: r.attributes['security_rule.name'],
    severity: r.attributes['kubearmor.severity'], resolved: r.attributes['kubearmor.resolved_resource'], tty: r.attributes['kubearmor.tty'],
    file: r.attributes['file.path'],
  }, {
    exe: '/tmp/uname', args: ['/tmp/uname', '-s'], count: 2, vpid: a.pid, source: shell.exe(), data: 'syscall=SYS_EXECVE',
    action: 'Audit (Block)', result: 'Passed', rule: 'ksp-uname', severity: 6, resolved: busybox,
    tty: undefined, file: undefined,
  });
  assert.equal(r.body, `Audit (Block): ${shell.exe()} executed /tmp/uname -s — system probe [ksp-uname]`);
  assert.equal(r.resource['k8s.pod.name'], POD.name);
  assert.equal(isExec(other.hostPid).length, 0, 'busybox true is no uname: no record');

  const lines = agent.running.out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((x) => x.HostPID === a.hostPid && x.Operation === 'Process');
  assert.equal(lines.length, 1, 'one KubeArmor line for the execution');
  const line = lines[0]!;
  assert.deepEqual([line.Resource, line.ProcessName, line.Source, line.Data, line.PodName, line.Type], ['/tmp/uname -s', '/tmp/uname', shell.exe(), 'syscall=SYS_EXECVE', POD.name, 'MatchedPolicy']);
});
