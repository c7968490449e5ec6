// Renders a kustomization with the real kubectl and returns its documents.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const root = join(import.meta.dirname, '..', '..');

// deploy/ uses directories under `resources:` and `patches:`, which kustomize understands from v4
// (kubectl >= 1.21). Debian's kubernetes-client 1.20 bundles kustomize v2.0.3 and cannot render it.
const MIN_KUSTOMIZE_MAJOR = 4;

/** Fails with a clear message when kubectl is missing or its kustomize is too old. */
export function requireKubectl(): void {
  let out: string;
  try {
    out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    assert.fail(`kubectl is needed to render deploy/ (bash scripts/setup.sh --with-test-deps installs it): ${(err as Error).message}`);
  }
  const v = JSON.parse(out) as { kustomizeVersion?: string };
  const major = Number(/^v?(\d+)/.exec(v.kustomizeVersion ?? '')?.[1] ?? 0);
  assert.ok(major >= MIN_KUSTOMIZE_MAJOR,
    `kubectl bundles kustomize ${v.kustomizeVersion ?? '(unknown)'}; deploy/ needs v${MIN_KUSTOMIZE_MAJOR} or later (kubectl >= 1.21)`);
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  // Manifests are checked field by field; their shape is what the assertions say.
  [k: string]: any;
}

/** `kubectl kustomize <dir>` → parsed documents. A YAML error in the output fails the test. */
export function render(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d, i) => {
    assert.deepEqual(d.errors, [], `${dir}: document ${i} of the rendered output does not parse`);
    return d.toJS() as K8sObject;
  }).filter((o) => o !== null);
}

export function one(objs: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}
