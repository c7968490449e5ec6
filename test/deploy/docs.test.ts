// The operations docs name error codes, settings and attributes; each must exist in the code, so
// that a reader who copies a query or a variable from them gets something that works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_OPTIONS } from '../../src/config/options.ts';
import { MAPPING } from '../../src/export/attributes.ts';
import { POLICY_TAG_KEY } from '../../src/export/datadog.ts';
import { root } from './render.ts';

const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const OPS_DOCS = ['docs/OPERATIONS.md', 'docs/TROUBLESHOOTING.md', 'deploy/README.md'];

function sources(dir: string, ext: RegExp): string {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f)).map((f) => read(join(dir, f))).join('\n');
}

test('every error code the operations docs mention is raised somewhere in the code', () => {
  const code = `${sources('src', /\.ts$/)}\n${sources('native', /\.c$/)}`;
  for (const doc of OPS_DOCS) {
    for (const [c] of read(doc).matchAll(/\bAW_[A-Z_]+\b/g)) {
      assert.ok(code.includes(`'${c}'`) || code.includes(`"${c}"`), `${doc} mentions ${c}, which no source raises`);
    }
  }
});

test('every agent setting the operations docs mention is one armorwatch run reads', () => {
  const env = new Set(RUN_OPTIONS.flatMap((o) => o.env));
  const flags = new Set(RUN_OPTIONS.map((o) => `--${o.name}`));
  for (const doc of OPS_DOCS) {
    const text = read(doc);
    for (const [v] of text.matchAll(/\b(?:ARMORWATCH_[A-Z_]+|OTEL_EXPORTER_OTLP_[A-Z_]+|NODE_NAME)\b/g)) {
      assert.ok(env.has(v), `${doc} mentions ${v}, which armorwatch run does not read`);
    }
    // Flags written as `--flag` in running text (not commands of other tools).
    for (const [, f] of text.matchAll(/`(--[a-z-]+)[ `]/g)) {
      assert.ok(flags.has(f!) || ['--policies'].includes(f!), `${doc} mentions ${f}, which armorwatch run does not take`);
    }
  }
});

test('every attribute the query cookbook uses is one armorwatch exports', () => {
  // kubearmor_tag is the Datadog tag key armorwatch puts in `ddtags` (--datadog-attributes).
  const otel = new Set([...MAPPING.map((r) => r.name), POLICY_TAG_KEY]);
  const loki = new Set([...otel].map((n) => n.replaceAll('.', '_')));
  const text = read('docs/QUERIES.md');
  const used = text.matchAll(/\b(?:kubearmor|security_rule|file|process|k8s|container|event|service)[._][a-z][a-z_.]*[a-z]\b/g);
  let n = 0;
  for (const [name] of used) {
    n++;
    assert.ok(otel.has(name) || loki.has(name), `docs/QUERIES.md uses ${name}, which is no exported attribute (src/export/attributes.ts)`);
  }
  assert.ok(n > 20, 'the cookbook should use the exported attribute names');
});

test('every LogQL stream selector in the cookbook uses only labels Loki indexes both by default and with the Loki example\'s per-tenant list', () => {
  const example = read('otel-collector/examples/loki/README.md');
  const dotted = (s: string): string[] => [...s.matchAll(/`([a-z0-9_]+(?:\.[a-z0-9_]+)+)`/g)].map((m) => m[1]!);
  const defaults = example.match(/By default it turns these resource attributes into index labels([\s\S]*?)Every other/)?.[1];
  assert.ok(defaults, "the Loki example lists Loki's default index labels");
  const tenant = example.match(/action: index_label\s+attributes:\n((?:\s+- [a-z0-9_.]+\n)+)/)?.[1];
  assert.ok(tenant, 'the Loki example shows its per-tenant index_label list');
  const tenantNames = new Set([...tenant.matchAll(/- ([a-z0-9_.]+)/g)].map((m) => m[1]!));
  const both = new Set(dotted(defaults).filter((n) => tenantNames.has(n)).map((n) => n.replaceAll('.', '_')));
  assert.ok(both.has('service_name') && !both.has('k8s_pod_name'), `labels under both settings: ${[...both].join(', ')}`);

  const blocks = [...read('docs/QUERIES.md').matchAll(/```logql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length > 5, 'the cookbook has LogQL queries');
  let selectors = 0;
  for (const q of blocks) {
    for (const [, inner] of q.matchAll(/(?<!\{)\{([a-z0-9_]+\s*(?:=|!=|=~|!~)[^{}]*)\}/g)) {
      selectors++;
      for (const [, label] of inner!.matchAll(/\b([a-z0-9_]+)\s*(?:=|!=|=~|!~)\s*"/g)) {
        assert.ok(both.has(label!), `docs/QUERIES.md selects streams on ${label}, which is structured metadata under one of the two settings: filter it after the selector (| ${label}="...")\n${q}`);
      }
    }
  }
  assert.ok(selectors >= blocks.length, 'every query has a stream selector');
});
