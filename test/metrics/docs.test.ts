// docs/METRICS.md's table is the one the instruments are made from: rendering it again changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS, prometheusNames } from '../../src/metrics/definitions.ts';
import { DOC_PATH, renderDoc } from '../../src/metrics/docs.ts';

test('docs/METRICS.md lists every metric under both names (regenerate: node src/metrics/docs.ts)', () => {
  const text = readFileSync(DOC_PATH, 'utf8');
  assert.equal(text, renderDoc(text));
  for (const m of Object.values(METRICS)) {
    assert.ok(text.includes(`\`${m.name}\``), m.name);
    assert.ok(text.includes(prometheusNames(m)[0]!.replace(/_bucket$/, '')), m.name);
  }
});

test('names follow the conventions: armorwatch.<stage>.…, Prometheus units as suffixes, _total on counters only', () => {
  const seen = new Set<string>();
  for (const m of Object.values(METRICS)) {
    assert.match(m.name, /^armorwatch\.(monitor|enrich|policy|detect|export)\.[a-z_.]+[a-z]$/, m.name);
    assert.ok(!/(seconds|bytes|total)$/.test(m.name), `${m.name}: the unit belongs in unit, not the OTel name`);
    const [first] = prometheusNames(m);
    assert.ok(!seen.has(first!), `${first} twice`);
    seen.add(first!);
    assert.equal(first!.endsWith('_total'), m.kind === 'counter', first);
    if (m.unit === 's') assert.match(first!, /_seconds_bucket$/);
    if (m.unit === 'By') assert.match(first!, /_bytes$/);
    assert.ok(m.unit === 's' || m.unit === 'By' || /^\{[a-z]+\}$/.test(m.unit), `${m.name}: unit ${m.unit}`);
  }
});
