// Every document of the public corpus through the validator: the rejected set must be exactly the
// documents listed in expected-invalid.tsv, for the same reasons (field paths and messages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadPolicies } from '../../src/policy/load.ts';
import type { Problem } from '../../src/policy/types.ts';
import { corpusDir } from './shared-dir.ts';

interface Expected { file: string; doc: number; kind: string; name: string; reasons: string[] }

function readExpected(dir: string): Map<string, Expected> {
  const rows = new Map<string, Expected>();
  for (const line of readFileSync(join(dir, 'expected-invalid.tsv'), 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [file, doc, kind, name, why] = line.split('\t');
    rows.set(`${file}#${doc}`, { file: file!, doc: Number(doc), kind: kind!, name: name!, reasons: why!.split('; ') });
  }
  return rows;
}

test('the corpus: exactly the documents of expected-invalid.tsv are rejected, for the listed reasons', async () => {
  const dir = corpusDir();
  const expected = readExpected(dir);
  const result = await loadPolicies([dir]);
  assert.equal(result.files.length, 536);

  const rejected = new Map<string, { kind?: string; name?: string; problems: readonly Problem[] }>();
  for (const f of result.files) {
    assert.deepEqual(f.problems, [], `file-level problems in ${f.file}`);
    f.documents.forEach((d) => {
      if (d.status === 'invalid') rejected.set(`${relative(dir, f.file)}#${d.problems[0]!.doc}`, d);
    });
  }
  assert.deepEqual([...rejected.keys()].sort(), [...expected.keys()].sort());

  for (const [key, exp] of expected) {
    const got = rejected.get(key)!;
    assert.equal(got.kind, exp.kind, key);
    if (got.name !== undefined) assert.equal(got.name, exp.name, key);
    const yamlReasons = exp.reasons.filter((r) => r.startsWith('YAML parse error'));
    if (yamlReasons.length > 0) {
      // The YAML library reports a duplicate key where its collection starts; we report the key itself.
      for (const r of yamlReasons) {
        const m = /at line (\d+), column (\d+)/.exec(r);
        assert.ok(m, r);
        const dup = got.problems.filter((p) => p.code === 'AW_POLICY_DUPLICATE_KEY');
        assert.ok(dup.some((p) => Math.abs(p.line - Number(m[1])) <= 1), `${key}: a duplicate key near line ${m[1]}, got ${JSON.stringify(dup)}`);
      }
      continue;
    }
    const want = exp.reasons.map((r) => {
      const i = r.indexOf(': ');
      return { path: r.slice(0, i), message: r.slice(i + 2) };
    });
    assert.deepEqual(new Set(got.problems.map((p) => p.path)), new Set(want.map((w) => w.path)), key);
    for (const w of want) {
      assert.ok(got.problems.some((p) => p.path === w.path && p.message.startsWith(w.message)),
        `${key}: expected "${w.path}: ${w.message}", got ${got.problems.map((p) => `${p.path}: ${p.message}`).join(' | ')}`);
    }
    assert.equal(got.problems.length, want.length, key);
  }
  assert.equal(result.policies.length, result.documents - expected.size);
});
