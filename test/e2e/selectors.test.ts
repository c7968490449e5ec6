// Policy selectors through the real agent, following a real kube-apiserver: a cluster policy that
// excludes a namespace, a pod relabelled out of (and back into) a policy's selector, and a host
// policy whose nodeSelector names a node label only the API server knows. Several policies cover
// the same path, so each access yields one record whose matching policies (the one it names plus
// kubearmor.other_policies) show which selectors held — no waiting for an absence.
import { defer } from '../helpers/cleanup.ts';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildBusyboxRootfs, needsContainerd } from '../helpers/containerd.ts';
import type { CollectedRecord } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { needsControlPlane, startControlPlane } from '../helpers/kube-apiserver.ts';
import { agentIdentity, putObjects } from '../helpers/kube-objects.ts';
import {
  ContainerShell, eventually, matchedPolicies, recordsOf, runAgent, SEED_COMMAND, SEED_DIR, seedOwners, servedNode, servePod, startStack, warmUp,
  type Stack,
} from './cluster.ts';

const SEED = 'ksp-nist-ac-18-1-network-audit';
const CANARY = 'ksp-e2e-canary';
const OUTSIDE = 'csp-e2e-outside-wordpress';
const EDGE = 'hsp-e2e-edge';
const CORE = 'hsp-e2e-core';
const ZONE = 'armorwatch.test/zone';
const WORDPRESS = { name: 'wordpress-7c966b5d85-wvtln', namespace: 'wordpress-mysql', labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85' } };
const SHOP = { name: 'shop-0', namespace: 'shop', labels: { app: 'shop' } };

const policy = (kind: string, name: string, spec: Record<string, unknown>, namespace?: string): string =>
  stringify({ apiVersion: 'security.kubearmor.com/v1', kind, metadata: namespace === undefined ? { name } : { name, namespace }, spec });
const auditPath = (path: string) => ({ file: { matchPaths: [{ path }] }, action: 'Audit' });

/** Besides the seed's: who else audits the seed's directory, and two host policies for two zones. */
const filePolicies = (hostFile: string): Record<string, string> => ({
  'canary.yaml': policy('KubeArmorPolicy', CANARY, { selector: { matchLabels: { app: 'wordpress-canary' } }, ...auditPath(SEED_DIR) }, 'wordpress-mysql'),
  'outside.yaml': policy('KubeArmorClusterPolicy', OUTSIDE, {
    selector: { matchExpressions: [{ key: 'namespace', operator: 'NotIn', values: ['wordpress-mysql'] }] }, ...auditPath(SEED_DIR),
  }),
  'edge.yaml': policy('KubeArmorHostPolicy', EDGE, { nodeSelector: { matchLabels: { [ZONE]: 'edge' } }, ...auditPath(hostFile) }),
  'core.yaml': policy('KubeArmorHostPolicy', CORE, { nodeSelector: { matchLabels: { [ZONE]: 'core' } }, ...auditPath(hostFile) }),
});

let stack: Stack | null = null;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-e2e-selectors-'));
  stack = await startStack();
});
after(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('selectors follow the API server: namespace NotIn, a relabelled pod, a host policy on a node label', async (t) => {
  if (!needsContainerd(t) || !needsBpf(t) || !needsControlPlane(t) || stack === null) return;
  const s = stack;
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  copyFileSync(fileURLToPath(new URL('../fixtures/seed/ksp-nist-ac-18-1-network-audit.yaml', import.meta.url)), join(policies, 'seed.yaml'));
  const hostFile = join(dir, 'host-secret');
  writeFileSync(hostFile, 'x');
  for (const [name, text] of Object.entries(filePolicies(hostFile))) writeFileSync(join(policies, name), text);

  const sandbox = buildBusyboxRootfs(join(dir, 'sandbox'));
  const api = await startControlPlane();
  defer(t, 'api.stop', () => api.stop());
  const created = await putObjects(api, [servedNode({ [ZONE]: 'edge' }), ...seedOwners(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }]);
  const wp = await servePod(t, api, s, sandbox, created, WORDPRESS, 'wordpress', true);
  const shop = await servePod(t, api, s, sandbox, created, SHOP, 'shop', false);
  const { kubeconfig } = await agentIdentity(api);

  const agent = await runAgent(t, s, policies, { KUBECONFIG: kubeconfig });
  const wpShell = await ContainerShell.open(wp.id);
  defer(t, 'wpShell.close', () => wpShell.close());
  const shopShell = await ContainerShell.open(shop.id);
  defer(t, 'shopShell.close', () => shopShell.close());
  // Until a container is known, its events carry no namespace: wait until both are.
  await warmUp(s.collector, wpShell, 'k8s.namespace.name');
  await warmUp(s.collector, shopShell, 'k8s.namespace.name');

  /** One access in the container and the policies its one record says matched. */
  const policiesOf = async (shell: ContainerShell): Promise<string[]> => {
    const a = await shell.access(SEED_COMMAND);
    const r = await eventually('the record of the access', 20_000, () => recordsOf(s.collector, a, SEED_DIR)[0]);
    return matchedPolicies(r);
  };
  const untilPolicies = (shell: ContainerShell, want: string[]) =>
    eventually(`an access matching exactly ${want.join(', ')}`, 30_000, async () => {
      const got = await policiesOf(shell);
      return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
    });

  await t.test('KubeArmorClusterPolicy with namespace NotIn: nothing in the excluded namespace, a record elsewhere', async () => {
    assert.deepEqual(await policiesOf(wpShell), [SEED], `${OUTSIDE} must not match in wordpress-mysql`);
    assert.deepEqual(await policiesOf(shopShell), [OUTSIDE]);
  });

  await t.test('a pod relabelled out of a selector stops matching it, and matches again when relabelled back', async () => {
    await api.patch(wp.object, { metadata: { labels: { app: 'wordpress-canary' } } });
    await untilPolicies(wpShell, [CANARY]);
    assert.deepEqual(await policiesOf(wpShell), [CANARY], `${SEED} no longer selects the pod`);
    await api.patch(wp.object, { metadata: { labels: { app: 'wordpress' } } });
    await untilPolicies(wpShell, [SEED]);
    assert.deepEqual(await policiesOf(wpShell), [SEED]);
  });

  await t.test('KubeArmorHostPolicy nodeSelector on a node label from the API server', async () => {
    const hostRecord = (zone: string) => eventually(`a host record under ${ZONE}=${zone}`, 30_000, () => {
      const cat = spawnSync('/bin/cat', [hostFile]);
      assert.equal(cat.status, 0);
      return s.collector.records().find((r) => r.attributes['file.path'] === hostFile && r.attributes['security_rule.name'] === (zone === 'edge' ? EDGE : CORE));
    });
    const edge: CollectedRecord = await hostRecord('edge');
    assert.deepEqual(matchedPolicies(edge), [EDGE], `${CORE} wants another zone`);
    assert.equal(edge.attributes['kubearmor.type'], 'MatchedHostPolicy');
    assert.equal(edge.attributes['security_rule.ruleset.name'], 'KubeArmorHostPolicy');
    assert.equal(edge.resource['k8s.pod.name'], undefined);
    await api.patch(servedNode(), { metadata: { labels: { [ZONE]: 'core' } } });
    assert.deepEqual(matchedPolicies(await hostRecord('core')), [CORE], `${EDGE} no longer selects the node`);
  });

  await agent.stop();
});
