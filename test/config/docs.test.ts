// docs/CONFIGURATION.md's option table is the parser's: rendering it again changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DOC_PATH, renderDoc } from '../../src/config/docs.ts';
import { RUN_OPTIONS } from '../../src/config/options.ts';

test('docs/CONFIGURATION.md lists every option of armorwatch run (regenerate: node src/config/docs.ts)', () => {
  const text = readFileSync(DOC_PATH, 'utf8');
  assert.equal(text, renderDoc(text));
  for (const o of RUN_OPTIONS) {
    assert.ok(text.includes(`\`--${o.name}`), `--${o.name}`);
    for (const e of o.env) assert.ok(text.includes(`\`${e}\``), e);
  }
});
