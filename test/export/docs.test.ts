// docs/OTEL.md's tables are the code's: rendering them again changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DOC_PATH, renderDoc } from '../../src/export/docs.ts';
import { MAPPING } from '../../src/export/attributes.ts';

test('docs/OTEL.md lists exactly the attributes and severity table of the code (regenerate: node src/export/docs.ts)', () => {
  const text = readFileSync(DOC_PATH, 'utf8');
  assert.equal(text, renderDoc(text));
  for (const m of MAPPING) assert.ok(text.includes(`| \`${m.name}\` |`), m.name);
});
