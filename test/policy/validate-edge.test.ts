// The generated edge documents (edge-documents.ts) through the validator: every verdict as expected,
// and where armorwatch is stricter than the cluster on purpose, the message says what the cluster
// would do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyText } from '../../src/policy/load.ts';
import { edgeDocuments } from './edge-documents.ts';

test('generated edge documents: armorwatch gives the expected verdict to each', () => {
  const docs = edgeDocuments();
  assert.ok(docs.length > 1000, `${docs.length} documents`);
  const wrong: string[] = [];
  let stricter = 0;
  for (const d of docs) {
    const r = parsePolicyText(`${d.id}.yaml`, d.yaml);
    assert.deepEqual(r.problems, [], d.id);
    assert.equal(r.documents.length, 1, d.id);
    const got = r.documents[0]!;
    const verdict = got.status === 'policy' ? 'valid' : 'invalid';
    if (verdict !== d.armorwatch) {
      wrong.push(`${d.id} (${d.why}): expected ${d.armorwatch}, got ${verdict}${got.status === 'invalid' ? `: ${got.problems.map((p) => `${p.path}: ${p.message}`).join(' | ')}` : ''}`);
      continue;
    }
    if (got.status === 'invalid') {
      for (const p of got.problems) assert.ok(p.line >= 1 && p.col >= 1 && p.file === `${d.id}.yaml`, d.id);
    }
    if (d.armorwatch !== d.cluster) {
      stricter++;
      assert.ok(got.status === 'invalid');
      assert.ok(got.problems.some((p) => /the cluster (would|reads)/.test(p.message)), `${d.id}: ${got.problems.map((p) => p.message).join(' | ')}`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(stricter > 50, `${stricter} documents where armorwatch is stricter on purpose`);
});
