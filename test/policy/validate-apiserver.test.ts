// The generated edge documents (edge-documents.ts) against a real kube-apiserver with the KubeArmor
// CRDs installed: each posted as raw YAML with strict field validation, as a server-side dry run.
// Each must get the cluster verdict it expects, and armorwatch its own; the two differ only where
// armorwatch is stricter on purpose (docs/POLICIES.md). The public corpus is compared with the
// server by apiserver-oracle.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parsePolicyText } from '../../src/policy/load.ts';
import { needsControlPlane, startControlPlane, type ControlPlane } from '../helpers/kube-apiserver.ts';
import { installKubeArmorCrds } from '../helpers/kube-objects.ts';
import { edgeDocuments, type Verdict } from './edge-documents.ts';
import { sharedDir } from './shared-dir.ts';

const namespaces = new Map<string, Promise<void>>();
/** Creates the namespace once (concurrent callers wait for the same request). */
function ensureNamespace(cp: ControlPlane, ns: string): Promise<void> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) return Promise.resolve();
  let p = namespaces.get(ns);
  if (p === undefined) {
    p = cp.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } })
      .then((r) => { assert.ok(r.status === 201 || r.status === 409, `namespace ${ns}: ${r.status}`); });
    namespaces.set(ns, p);
  }
  return p;
}

/** The API server's verdict on one raw YAML document, with its message when it refuses it. */
async function serverVerdict(cp: ControlPlane, kind: string, namespace: string | undefined, yaml: string): Promise<{ verdict: Verdict; message: string }> {
  const ns = kind === 'KubeArmorPolicy' ? (namespace ?? 'default') : undefined;
  if (ns !== undefined) await ensureNamespace(cp, ns);
  const path = ns === undefined || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)
    ? await cp.collectionPath('security.kubearmor.com/v1', kind, ns)
    : `/apis/security.kubearmor.com/v1/namespaces/${encodeURIComponent(ns)}/kubearmorpolicies`;
  const r = await cp.request<{ message?: string }>('POST', `${path}?dryRun=All&fieldValidation=Strict`, { body: yaml, contentType: 'application/yaml' });
  return { verdict: r.status >= 200 && r.status < 300 ? 'valid' : 'invalid', message: `${r.status} ${r.body?.message ?? ''}` };
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

test('a real kube-apiserver gives each generated edge document the verdict expected of it, and armorwatch its own', { timeout: 600_000 }, async (t) => {
  if (!needsControlPlane(t)) return;
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  await installKubeArmorCrds(cp, join(sharedDir(), 'policies', 'crd'));

  const wrong: string[] = [];
  const docs = edgeDocuments();
  let compared = 0;
  await pool(docs, 6, async (d) => {
    const server = await serverVerdict(cp, d.kind, d.namespace, d.yaml);
    const ours = parsePolicyText(`${d.id}.yaml`, d.yaml).documents[0]!;
    const verdict: Verdict = ours.status === 'policy' ? 'valid' : 'invalid';
    if (server.verdict !== d.cluster) wrong.push(`${d.id} (${d.why}): the API server says ${server.verdict} (${server.message}), expected ${d.cluster}`);
    if (verdict !== d.armorwatch) wrong.push(`${d.id} (${d.why}): armorwatch says ${verdict}, expected ${d.armorwatch}`);
    compared++;
  });
  assert.equal(compared, docs.length);
  t.diagnostic(`${docs.length} edge documents compared (${docs.filter((d) => d.armorwatch !== d.cluster).length} where armorwatch is stricter on purpose)`);
  assert.deepEqual(wrong, []);
});
