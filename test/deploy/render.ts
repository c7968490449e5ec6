// Renders a kustomization with the real kubectl and returns its documents.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const root = join(import.meta.dirname, '..', '..');

// deploy/ uses directories under `resources:` and `patches:`, which kustomize understands from v4
// (kubectl >= 1.21). Debian's kubernetes-client 1.20 bundles kustomize v2.0.3 and cannot render it.
const MIN_KUSTOMIZE_MAJOR = 4;

/** kustomize as kubectl bundles it, or the standalone kustomize that setup.sh installs where kubectl is missing. */
function kustomizeCommand(): [string, string[]] {
  try {
    execFileSync('kubectl', ['version', '--client', '-o', 'json'], { stdio: 'ignore' });
    return ['kubectl', ['kustomize']];
  } catch {
    const cached = join(process.env.ARMORWATCH_CACHE_DIR ?? join(homedir(), '.cache', 'armorwatch'), 'bin', 'kustomize');
    return [cached, ['build']];
  }
}

/** Fails with a clear message when neither kubectl nor kustomize is there, or kustomize is too old. */
export function requireKubectl(): void {
  const [cmd] = kustomizeCommand();
  let version: string;
  try {
    version = cmd === 'kubectl'
      ? (JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as { kustomizeVersion?: string }).kustomizeVersion ?? ''
      : execFileSync(cmd, ['version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    assert.fail(`kubectl or kustomize is needed to render deploy/ (bash scripts/setup.sh --with-test-deps installs kustomize when kubectl is missing): ${(err as Error).message}`);
  }
  const major = Number(/v?(\d+)\./.exec(version)?.[1] ?? 0);
  assert.ok(major >= MIN_KUSTOMIZE_MAJOR,
    `${cmd} has kustomize ${version || '(unknown)'}; deploy/ needs v${MIN_KUSTOMIZE_MAJOR} or later (kubectl >= 1.21)`);
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
  const [cmd, args] = kustomizeCommand();
  const out = execFileSync(cmd, [...args, join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
