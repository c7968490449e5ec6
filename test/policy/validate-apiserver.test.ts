// armorwatch's verdicts against a real kube-apiserver with the KubeArmor CRDs installed: each
// document posted as raw YAML with strict field validation, as a server-side dry run. The generated
// edge documents must get the cluster verdict they expect (and armorwatch its own; the two differ
// only where armorwatch is stricter on purpose), and every policy of the public corpus the same
// verdict from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findPolicyFiles, parsePolicyText } from '../../src/policy/load.ts';
import { POLICY_KINDS } from '../../src/policy/schema.ts';
import { needsControlPlane, startControlPlane, type ControlPlane } from '../helpers/kube-apiserver.ts';
import { edgeDocuments, type Verdict } from './edge-documents.ts';
import { corpusDir, sharedDir } from './shared-dir.ts';

async function installCrds(cp: ControlPlane): Promise<void> {
  const base = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const kind of POLICY_KINDS) {
    const text = readFileSync(join(sharedDir(), 'policies', 'crd', `${kind}.yaml`), 'utf8');
    await cp.ok('POST', base, { body: text, contentType: 'application/yaml' });
  }
  // Established, and served by discovery.
  for (const end = Date.now() + 60_000; ;) {
    try {
      for (const kind of POLICY_KINDS) await cp.collectionPath('security.kubearmor.com/v1', kind, 'default');
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

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

test('a real kube-apiserver gives the generated edge documents and the corpus the verdicts armorwatch expects', { timeout: 600_000 }, async (t) => {
  if (!needsControlPlane(t)) return;
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  await installCrds(cp);

  const wrong: string[] = [];
  const docs = edgeDocuments();
  let compared = 0;
  await pool(docs, 6, async (d) => {
    const server = await serverVerdict(cp, d.kind, d.namespace, d.yaml);
    const ours = parsePolicyText(`${d.id}.yaml`, d.yaml).documents[0]!;
    const verdict: Verdict = ours.status === 'policy' ? 'valid' : 'invalid';
    if (server.verdict !== d.cluster) wrong.push(`${d.id} (${d.why}): the API server says ${server.verdict} (${server.message}), expected ${d.cluster}`);
    if (verdict !== d.armorwatch) wrong.push(`${d.id} (${d.why}): armorwatch says ${verdict}, expected ${d.armorwatch}`);
    if (d.cluster === d.armorwatch && verdict !== server.verdict) wrong.push(`${d.id}: armorwatch ${verdict}, API server ${server.verdict} (${server.message})`);
    compared++;
  });
  assert.equal(compared, docs.length);
  t.diagnostic(`${docs.length} edge documents compared (${docs.filter((d) => d.armorwatch !== d.cluster).length} where armorwatch is stricter on purpose)`);

  // The public corpus: every policy document gets the same verdict from both.
  const dir = corpusDir();
  const files = await findPolicyFiles([dir]);
  const corpusDocs: Array<{ id: string; kind: string; namespace?: string; yaml: string; ours: Verdict }> = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const ours = parsePolicyText(f, text).documents;
    const raw = parseAllDocuments(text, { uniqueKeys: false });
    const list = Array.isArray(raw) ? raw : [];
    let i = 0;
    for (const doc of list) {
      const yaml = text.slice(doc.range[0], doc.range[2]);
      const kind = (doc.contents as { get?: (k: string) => unknown } | null)?.get?.('kind');
      const r = ours[i];
      if (doc.contents === null) continue;
      i++;
      if (r === undefined || r.status === 'skipped' || typeof kind !== 'string' || !(POLICY_KINDS as readonly string[]).includes(kind)) continue;
      const meta = (doc.contents as { getIn: (p: string[]) => unknown }).getIn(['metadata', 'namespace']);
      corpusDocs.push({ id: `${relative(dir, f)}#${i - 1}`, kind, ...(typeof meta === 'string' ? { namespace: meta } : {}), yaml, ours: r.status === 'policy' ? 'valid' : 'invalid' });
    }
  }
  assert.ok(corpusDocs.length > 500, `${corpusDocs.length} corpus documents`);
  await pool(corpusDocs, 6, async (d) => {
    const server = await serverVerdict(cp, d.kind, d.namespace, d.yaml);
    if (server.verdict !== d.ours) wrong.push(`corpus ${d.id}: armorwatch ${d.ours}, API server ${server.verdict} (${server.message})`);
  });
  t.diagnostic(`${corpusDocs.length} corpus policy documents compared`);
  assert.deepEqual(wrong, []);
});
