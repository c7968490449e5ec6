// The real API server as an oracle for the validator: every document of the public corpus is sent,
// as its own YAML text, to a kube-apiserver with KubeArmor's CRDs installed (server-side dry run,
// strict field validation: `kubectl apply --dry-run=server --validate=strict`), and the server's
// accept/reject is compared with armorwatch's (loadPolicyFile, the code path of `armorwatch
// validate`). Every document where they differ must be listed, with its reason, in the table of
// docs/POLICIES.md ("Compared with the Kubernetes API server"); the differences found are printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadPolicyFile } from '../../src/policy/load.ts';
import { controlPlaneUnavailableReason, needsControlPlane, startControlPlane, type ControlPlane } from '../helpers/kube-apiserver.ts';
import { installKubeArmorCrds } from '../helpers/kube-objects.ts';
import { REPO_ROOT, corpusDir, sharedDir } from './shared-dir.ts';

let cp: ControlPlane | null = null;
before(async () => {
  if (controlPlaneUnavailableReason() !== null) return;
  cp = await startControlPlane();
  await installKubeArmorCrds(cp, join(sharedDir(), 'policies', 'crd'));
});
after(async () => { await cp?.stop(); });

const PLURALS: Record<string, string> = {
  KubeArmorPolicy: 'kubearmorpolicies', KubeArmorClusterPolicy: 'kubearmorclusterpolicies', KubeArmorHostPolicy: 'kubearmorhostpolicies',
};

interface Verdict { readonly accepted: boolean; readonly why: string }

/** The server's verdict on one document's text. Namespaces a KubeArmorPolicy names are created first. */
async function serverVerdict(api: ControlPlane, text: string, kind: string, namespace: string | undefined, namespaces: Set<string>): Promise<Verdict> {
  const plural = PLURALS[kind];
  if (plural === undefined) return { accepted: false, why: `not a KubeArmor kind: ${kind}` };
  let path = `/apis/security.kubearmor.com/v1/${plural}`;
  if (kind === 'KubeArmorPolicy') {
    const ns = namespace ?? 'default';
    if (!namespaces.has(ns)) {
      const r = await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
      if (r.status === 201 || r.status === 409) namespaces.add(ns);
    }
    path = `/apis/security.kubearmor.com/v1/namespaces/${encodeURIComponent(ns)}/${plural}`;
  }
  const res = await api.request<{ message?: string }>('POST', `${path}?dryRun=All&fieldValidation=Strict`, { body: text, contentType: 'application/yaml' });
  return { accepted: res.status === 201 || res.status === 200, why: res.status === 201 || res.status === 200 ? '' : `${res.status} ${res.body.message ?? ''}` };
}

/** `file#doc` → reason, from the table under "Compared with the Kubernetes API server" in docs/POLICIES.md. */
function documentedDifferences(): Map<string, string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs/POLICIES.md'), 'utf8');
  const section = /^## Compared with the Kubernetes API server\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(doc);
  assert.ok(section, 'docs/POLICIES.md has no "## Compared with the Kubernetes API server" section');
  const rows = new Map<string, string>();
  for (const m of section[1]!.matchAll(/^\| `([^`]+)` \| (\d+) \| (server|armorwatch) \| (.+?) \|$/gm)) rows.set(`${m[1]}#${m[2]} ${m[3]}`, m[4]!);
  return rows;
}

test('the corpus through the real API server (strict dry run) and through armorwatch: every difference is documented', { timeout: 600_000 }, async (t) => {
  if (!needsControlPlane(t) || cp === null) return;
  const api = cp;
  const dir = corpusDir();
  const namespaces = new Set<string>();
  const differences: Array<{ key: string; file: string; doc: number; accepts: 'server' | 'armorwatch'; server: string; armorwatch: string }> = [];
  let documents = 0;
  let serverRejects = 0;
  for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    for (const name of readdirSync(join(dir, sub)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(dir, sub, name);
      const text = readFileSync(file, 'utf8');
      const ours = await loadPolicyFile(file);
      const docs = parseAllDocuments(text, { uniqueKeys: false });
      for (const [i, d] of (Array.isArray(docs) ? docs : [docs]).entries()) {
        const js = (() => { try { return d.toJS() as { kind?: string; metadata?: { namespace?: string } } | null; } catch { return null; } })();
        const ownResult = ours.documents.find((r) => (r.status === 'policy' ? r.policy.source.doc : r.status === 'invalid' ? r.problems[0]?.doc : r.status === 'skipped' ? r.doc : -1) === i);
        if (ownResult === undefined && js === null) continue; // an empty document
        documents++;
        const awAccepts = ownResult?.status === 'policy';
        const awWhy = ownResult?.status === 'invalid' ? ownResult.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : '';
        const kind = typeof js?.kind === 'string' ? js.kind : '';
        const docText = text.slice(d.range[0], d.range[2]);
        const server = await serverVerdict(api, docText, kind, js?.metadata?.namespace, namespaces);
        if (!server.accepted) serverRejects++;
        if (server.accepted !== awAccepts) {
          const rel = `${sub}/${name}`;
          differences.push({ key: `${rel}#${i} ${server.accepted ? 'server' : 'armorwatch'}`, file: rel, doc: i, accepts: server.accepted ? 'server' : 'armorwatch', server: server.why, armorwatch: awWhy });
        }
      }
    }
  }
  assert.ok(documents >= 537, `all corpus documents compared (${documents})`);
  // Not a degenerate oracle: the server both accepts and rejects.
  assert.ok(serverRejects > 0 && serverRejects < documents, `the server rejected ${serverRejects} of ${documents}`);
  const table = ['| file | doc | accepted only by | server says | armorwatch says |', '|---|---|---|---|---|',
    ...differences.map((d) => `| \`${d.file}\` | ${d.doc} | ${d.accepts} | ${d.server.replace(/\|/g, '\\|').slice(0, 300)} | ${d.armorwatch.replace(/\|/g, '\\|').slice(0, 300)} |`)];
  t.diagnostic(`${documents} documents, the server rejects ${serverRejects}; ${differences.length} differences:\n${table.join('\n')}`);
  const documented = documentedDifferences();
  assert.deepEqual(differences.map((d) => d.key).sort(), [...documented.keys()].sort(), 'differences found vs. documented in docs/POLICIES.md');
});
