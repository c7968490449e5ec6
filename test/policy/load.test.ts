// Finding and loading policy files: directories, ConfigMap mounts, several paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPolicyFiles, loadPolicies, PolicyPathError } from '../../src/policy/load.ts';
import { writeConfigMap } from './configmap.ts';
import { ksp } from './helpers.ts';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const body = '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow';

test('a ConfigMap mount is loaded once, by its top-level names', async (t) => {
  const root = join(tmp(t), 'policies');
  writeConfigMap(root, { 'a.yaml': ksp('a', body), 'b.yml': ksp('b', body) + ksp('c', body), 'notes.txt': 'not yaml' });
  writeConfigMap(root, { 'a.yaml': ksp('a', body), 'b.yml': ksp('b', body) + ksp('c', body), 'notes.txt': 'not yaml' });
  const files = await findPolicyFiles([root]);
  assert.deepEqual(files, [join(root, 'a.yaml'), join(root, 'b.yml')]);
  const r = await loadPolicies([root]);
  assert.deepEqual(r.policies.map((p) => p.name).sort(), ['a', 'b', 'c']);
  assert.equal(r.documents, 3);
});

test('directories are searched recursively; files may be given directly; each file once', async (t) => {
  const dir = tmp(t);
  mkdirSync(join(dir, 'x', 'y'), { recursive: true });
  writeFileSync(join(dir, 'x', 'y', 'deep.yaml'), ksp('deep', body));
  writeFileSync(join(dir, 'top.yaml'), ksp('top', body));
  writeFileSync(join(dir, 'ignored.json'), '{}');
  symlinkSync(join(dir, 'top.yaml'), join(dir, 'x', 'alias.yaml'));
  const files = await findPolicyFiles([dir, join(dir, 'top.yaml')]);
  assert.deepEqual(files, [join(dir, 'top.yaml'), join(dir, 'x', 'y', 'deep.yaml')]);
});

test('a missing path is an error naming it', async () => {
  await assert.rejects(findPolicyFiles(['/nonexistent/policies']), (e: unknown) => e instanceof PolicyPathError && /\/nonexistent\/policies: does not exist/.test(e.message) && e.code === 'AW_POLICY_PATH');
});
