// Identity matching for container policies (issue 14), end to end: the real agent, real containerd
// containers and the real Collector. A container policy names a file of the image; inside a
// selected container a hard link of it (made by the container's own `ln`) and a bind mount of it
// (made in the container's mount namespace with nsenter) are read, and each read must arrive as the
// policy's alert, naming the path the process used and the rule's path. One selected container
// runs before the agent starts (resolved at load), one starts after (resolved when its task
// starts). A container the policy does not select, holding the same file at the same path, reads it
// through a hard link too: its own policy, on another file, must not be satisfied by it. And a
// container policy on a directory: a hard link made out of it inside the container is read through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defer } from '../helpers/cleanup.ts';
import { buildBusyboxRootfs, needsContainerd } from '../helpers/containerd.ts';
import type { CollectedRecord } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { ContainerShell, eventually, runAgent, SEED_DIR, startPod, startStack, type Access, type Stack } from './cluster.ts';

const NAMESPACE = 'ident';
const WATCHED = `${SEED_DIR}/mountnfs`;
const POLICY_A = 'ksp-ident-a';
const POLICY_B = 'ksp-ident-b';
const POLICY_C = 'ksp-ident-c';

const policy = (name: string, app: string, path: string): string => stringify({
  apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy', metadata: { name, namespace: NAMESPACE },
  spec: { selector: { matchLabels: { app } }, severity: 7, file: { matchPaths: [{ path }] }, action: 'Audit' },
});

let stack: Stack | null = null;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-e2e-ident-'));
  stack = await startStack();
});
after(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The record of `policyName` for one access (by host pid), once it has arrived. */
function recordOf(s: Stack, policyName: string, a: Access): CollectedRecord | undefined {
  return s.collector.records().find((r) => r.attributes['security_rule.name'] === policyName && r.attributes['process.pid'] === a.hostPid);
}

/** Reads `path` in the container until a read of it raises `policyName`'s alert (the agent resolves asynchronously), or fails after 30 s. */
async function alertedRead(s: Stack, shell: ContainerShell, path: string, policyName: string): Promise<CollectedRecord> {
  return eventually(`${policyName}'s alert for a read of ${path}`, 30_000, async () => {
    const a = await shell.access(`/bin/cat ${path}`);
    assert.equal(a.output, '#!/bin/sh\n', `the read of ${path} returned the watched file`);
    return eventually(`the record of the read of ${path}`, 5_000, () => recordOf(s, policyName, a)).catch(() => undefined);
  });
}

test('container policy by identity: a hard link and a bind mount inside the selected containers alert; another container\'s file of the same path does not', async (t) => {
  if (!needsContainerd(t) || !needsBpf(t) || stack === null) return;
  const s = stack;
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  writeFileSync(join(policies, 'a.yaml'), policy(POLICY_A, 'ident-a', WATCHED));
  writeFileSync(join(policies, 'b.yaml'), policy(POLICY_B, 'ident-b', '/etc/hostname'));
  const sandbox = buildBusyboxRootfs(join(dir, 'sandbox'));

  const early = await startPod(t, sandbox, { name: 'ident-a-0', namespace: NAMESPACE, labels: { app: 'ident-a' } }, 'app');
  const other = await startPod(t, sandbox, { name: 'ident-b-0', namespace: NAMESPACE, labels: { app: 'ident-b' } }, 'app');
  const agent = await runAgent(t, s, policies);
  defer(t, 'agent.stop', () => agent.stop());
  const late = await startPod(t, sandbox, { name: 'ident-a-1', namespace: NAMESPACE, labels: { app: 'ident-a' } }, 'app');

  // The container the policy does not select: a hard link of its own copy of the file.
  const otherSh = await ContainerShell.open(other.id);
  defer(t, 'otherSh.close', () => otherSh.close());
  await otherSh.run(`/bin/busybox ln ${WATCHED} /tmp/l`);

  // Selected, running before the agent started: a hard link made by the container's own ln.
  const earlySh = await ContainerShell.open(early.id);
  defer(t, 'earlySh.close', () => earlySh.close());
  await earlySh.run(`/bin/busybox ln ${WATCHED} /tmp/l`);
  const viaLink = await alertedRead(s, earlySh, '/tmp/l', POLICY_A);
  assert.equal(viaLink.attributes['file.path'], '/tmp/l', 'the path as the process sees it');
  assert.equal(viaLink.attributes['kubearmor.matched_resource'], WATCHED, 'the path the rule names');
  assert.equal(viaLink.resource['container.id'], early.id);

  // Selected, started after the agent: a bind mount made in its mount namespace.
  const lateSh = await ContainerShell.open(late.id);
  defer(t, 'lateSh.close', () => lateSh.close());
  await lateSh.run('/bin/busybox touch /tmp/b');
  const mount = spawnSync('nsenter', ['-t', String(lateSh.hostPid), '-m', '/bin/busybox', 'mount', '--bind', WATCHED, '/tmp/b'], { encoding: 'utf8' });
  assert.equal(mount.status, 0, mount.stderr);
  const viaMount = await alertedRead(s, lateSh, '/tmp/b', POLICY_A);
  assert.equal(viaMount.attributes['file.path'], '/tmp/b');
  assert.equal(viaMount.attributes['kubearmor.matched_resource'], WATCHED);
  assert.equal(viaMount.resource['container.id'], late.id);

  // The unselected container's reads through its link: its own policy names another file, and the
  // selected containers' identities are not its own. Its /etc/hostname through a link does alert
  // (its own policy, resolved in its own root), which shows its reads are seen and judged.
  const mine = await eventually('ident-b\'s own alert for a read of its /etc/hostname through a link', 30_000, async () => {
    await otherSh.run('/bin/busybox ln -f /etc/hostname /tmp/h');
    const a = await otherSh.access('/bin/cat /tmp/h');
    return eventually('the record', 5_000, () => recordOf(s, POLICY_B, a)).catch(() => undefined);
  });
  assert.equal(mine.attributes['kubearmor.matched_resource'], '/etc/hostname');
  const confused = await otherSh.access('/bin/cat /tmp/l');
  assert.equal(confused.output, '#!/bin/sh\n');
  // Records of one container arrive in the order of its accesses: a later alerted read marks the point.
  await eventually('a later alert of ident-b', 30_000, async () => {
    const a = await otherSh.access('/bin/cat /tmp/h');
    return eventually('the record', 5_000, () => recordOf(s, POLICY_B, a)).catch(() => undefined);
  });
  const wrong = s.collector.records().filter((r) => r.attributes['process.pid'] === confused.hostPid);
  assert.deepEqual(wrong.map((r) => r.attributes['security_rule.name']), [], 'no policy matched the other container\'s read of its own copy');
});

test('container policy on a directory: a hard link made out of it by the container\'s own ln alerts when read through, naming the file inside', async (t) => {
  if (!needsContainerd(t) || !needsBpf(t) || stack === null) return;
  const s = stack;
  const policies = join(dir, 'policies-dir');
  mkdirSync(policies);
  writeFileSync(join(policies, 'c.yaml'), stringify({
    apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy', metadata: { name: POLICY_C, namespace: NAMESPACE },
    spec: { selector: { matchLabels: { app: 'ident-c' } }, severity: 7, file: { matchDirectories: [{ dir: `${SEED_DIR}/` }] }, action: 'Audit' },
  }));
  const sandbox = buildBusyboxRootfs(join(dir, 'sandbox-dir'));
  const pod = await startPod(t, sandbox, { name: 'ident-c-0', namespace: NAMESPACE, labels: { app: 'ident-c' } }, 'app');
  const agent = await runAgent(t, s, policies);
  defer(t, 'agent.stop', () => agent.stop());
  const sh = await ContainerShell.open(pod.id);
  defer(t, 'sh.close', () => sh.close());
  // The link's own name is outside the directory: neither its path nor its parent's identity is
  // watched; the agent learns of it from the ln (an event: its first name is in the directory).
  const ln = await eventually('the record of ln out of the watched directory', 30_000, async () => {
    const a = await sh.access(`/bin/busybox ln -f ${WATCHED} /tmp/dl`);
    return eventually('the record', 5_000, () => recordOf(s, POLICY_C, a)).catch(() => undefined);
  });
  assert.match(String(ln.attributes['kubearmor.data']), /^syscall=SYS_LINK(AT)? .*newpath=\/tmp\/dl/);
  const viaLink = await alertedRead(s, sh, '/tmp/dl', POLICY_C);
  assert.equal(viaLink.attributes['file.path'], '/tmp/dl', 'the path as the process sees it');
  assert.equal(viaLink.attributes['kubearmor.matched_resource'], WATCHED, 'the file inside the directory the rule names');
  assert.equal(viaLink.resource['container.id'], pod.id);
});
