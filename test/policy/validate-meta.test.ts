// metadata is checked as the API server checks ObjectMeta on create: label keys and values, annotation
// keys and total size, finalizers, name, generateName, namespace, owner references, timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyText } from '../../src/policy/load.ts';
import type { Problem } from '../../src/policy/types.ts';

const SPEC = 'spec:\n  selector:\n    matchLabels:\n      app: web\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit\n';

const SELECTORS: Record<string, string> = {
  KubeArmorPolicy: '  selector:\n    matchLabels:\n      app: web\n',
  KubeArmorClusterPolicy: '  selector:\n    matchExpressions:\n      - key: namespace\n        operator: In\n        values: [web]\n',
  KubeArmorHostPolicy: '  nodeSelector:\n    matchLabels:\n      kubernetes.io/hostname: a\n',
};

function problems(meta: string, kind = 'KubeArmorPolicy'): Problem[] {
  const spec = SPEC.replace('  selector:\n    matchLabels:\n      app: web\n', SELECTORS[kind]!);
  const text = `apiVersion: security.kubearmor.com/v1\nkind: ${kind}\nmetadata:\n  name: m\n${meta}${spec}`;
  const d = parsePolicyText('meta.yaml', text).documents[0]!;
  return d.status === 'invalid' ? [...d.problems] : [];
}

function one(meta: string, kind?: string): Problem {
  const ps = problems(meta, kind);
  assert.equal(ps.length, 1, `${meta}: ${ps.map((p) => `${p.path}: ${p.message}`).join(' | ')}`);
  return ps[0]!;
}

test('label keys are qualified names: NAME (at most 63) or a DNS subdomain PREFIX (at most 253) / NAME', () => {
  for (const ok of ['app', 'App.Name_1-x', 'example.com/Team', `${'k'.repeat(63)}`, `${'p'.repeat(253)}/k`, 'a.b.c/d']) {
    assert.deepEqual(problems(`  labels:\n    ${ok}: v\n`), [], ok);
  }
  const cases: Array<[string, RegExp]> = [
    ['"my key"', /"my key": the name part may hold only letters, digits/],
    ['a/b/c', /"a\/b\/c" has more than one '\/'/],
    ['Example.com/a', /"Example.com\/a": prefix is not a DNS subdomain/],
    ['/a', /the prefix before '\/' must not be empty/],
    ['a/', /the name part must not be empty/],
    ['-a', /the name part may hold only/],
    [`${'k'.repeat(64)}`, /the name part must be at most 63 characters \(got 64\)/],
    [`${'p'.repeat(254)}/k`, /prefix must be at most 253 characters \(got 254\)/],
  ];
  for (const [key, message] of cases) {
    const p = one(`  labels:\n    ${key}: v\n`);
    assert.equal(p.path, `metadata.labels.${key.replace(/"/g, '')}`);
    assert.deepEqual([p.file, p.line, p.col, p.code], ['meta.yaml', 6, 5, 'AW_POLICY_SCHEMA']);
    assert.match(p.message, /^key must be a qualified name: /);
    assert.match(p.message, message);
  }
});

test('label values: empty, or at most 63 letters, digits, -, _ and . starting and ending alphanumeric', () => {
  for (const ok of ['""', 'v', 'A-1_b.c', 'v'.repeat(63), '"8"']) assert.deepEqual(problems(`  labels:\n    a: ${ok}\n`), [], ok);
  for (const [value, message] of [['b-', /"b-" is not a valid label value/], ['b/c', /is not a valid label value/], ['v'.repeat(64), /at most 63 characters \(got 64\)/], ['"a b"', /not a valid label value/]] as const) {
    const p = one(`  labels:\n    a: ${value}\n`);
    assert.deepEqual([p.path, p.line, p.col], ['metadata.labels.a', 6, 8]);
    assert.match(p.message, /^must be a label value: /);
    assert.match(p.message, message);
  }
});

test('annotation keys are qualified names compared in lower case; keys and values together at most 256 KiB', () => {
  assert.deepEqual(problems('  annotations:\n    Example.COM/Note: "any text: / ! é"\n'), []);
  const bad = one('  annotations:\n    "note!": x\n');
  assert.deepEqual([bad.path, bad.line, bad.col], ['metadata.annotations.note!', 6, 5]);
  assert.match(bad.message, /"note!": the name part may hold only/);
  // 1 (key) + value bytes: 262144 in all is the limit. Bytes, not characters: é is two.
  assert.deepEqual(problems(`  annotations:\n    a: ${'x'.repeat(256 * 1024 - 1)}\n`), []);
  const big = one(`  annotations:\n    a: ${'x'.repeat(256 * 1024)}\n`);
  assert.deepEqual([big.path, big.line, big.col], ['metadata.annotations', 6, 5]);
  assert.equal(big.message, 'annotations take 262145 bytes (keys and values together); the limit is 262144 (256 KiB)');
  const wide = one(`  annotations:\n    a: ${'é'.repeat(128 * 1024)}\n`);
  assert.match(wide.message, /^annotations take 262145 bytes/);
});

test('finalizers are qualified names, and orphan with foregroundDeletion is refused', () => {
  assert.deepEqual(problems('  finalizers:\n    - example.com/cleanup\n    - orphan\n'), []);
  const bad = one('  finalizers:\n    - "clean up"\n');
  assert.deepEqual([bad.path, bad.line, bad.col], ['metadata.finalizers[0]', 6, 7]);
  assert.match(bad.message, /^must be a qualified name: "clean up": the name part may hold only/);
  const both = one('  finalizers:\n    - orphan\n    - foregroundDeletion\n');
  assert.deepEqual([both.path, both.message], ['metadata.finalizers', 'the finalizers orphan and foregroundDeletion cannot both be set']);
  assert.equal(one('  finalizers:\n    - ~\n').message, 'list item must not be null');
});

test('namespace is a DNS-1123 label for KubeArmorPolicy; cluster-scoped kinds have it cleared by the API server', () => {
  const p = one('  namespace: Bad_NS\n');
  assert.deepEqual([p.path, p.line, p.col, p.code], ['metadata.namespace', 5, 14, 'AW_POLICY_NAME']);
  assert.match(p.message, /"Bad_NS" is not a valid namespace/);
  assert.match(one(`  namespace: ${'n'.repeat(64)}\n`).message, /at most 63 characters \(got 64\)/);
  assert.match(one('  namespace: a.b\n').message, /not a valid namespace/); // a subdomain, but not a label
  assert.deepEqual(problems('  namespace: Bad_NS\n', 'KubeArmorClusterPolicy'), []);
  assert.deepEqual(problems('  namespace: Bad_NS\n', 'KubeArmorHostPolicy'), []);
});

test('generateName is a name prefix (may end in -); owner references need apiVersion, kind, name, uid and one controller', () => {
  assert.deepEqual(problems('  generateName: web-\n'), []);
  assert.match(one('  generateName: Web-\n').message, /^must be a DNS-1123 subdomain prefix: /);
  const ref = (extra: string) => `  ownerReferences:\n    - apiVersion: v1\n      kind: ConfigMap\n      name: c\n${extra}`;
  assert.deepEqual(problems(ref('      uid: 0b8a3c52\n')), []);
  const noUid = one(ref(''));
  assert.deepEqual([noUid.path, noUid.message], ['metadata.ownerReferences[0].uid', 'must not be empty']);
  const two = problems('  ownerReferences:\n    - {apiVersion: v1, kind: A, name: a, uid: "1", controller: true}\n    - {apiVersion: v1, kind: B, name: b, uid: "2", controller: true}\n');
  assert.deepEqual(two.map((p) => [p.path, p.message]), [['metadata.ownerReferences[1]', 'only one owner reference may have controller: true (A/a and B/b)']]);
  assert.match(one('  ownerReferences:\n    - {apiVersion: a/b/c, kind: A, name: a, uid: "1"}\n').message, /must name a version/);
  assert.match(one('  ownerReferences:\n    - {apiVersion: v1, kind: Event, name: a, uid: "1"}\n').message, /an Event cannot be an owner/);
  assert.match(one('  ownerReferences:\n    - {apiVersion: v1, kind: A, name: a, uid: "1", color: red}\n').message, /unknown field "color"/);
});

test('timestamps are RFC 3339; generation is an integer', () => {
  assert.deepEqual(problems('  creationTimestamp: 2025-01-31T12:00:00Z\n  deletionTimestamp: "2024-02-29T23:59:59.5+05:30"\n'), []);
  assert.deepEqual(problems('  creationTimestamp: null\n'), []);
  for (const bad of ['2025-01-31', '2025-02-30T00:00:00Z', '2025-01-31T24:00:00Z', '2025-01-31 12:00:00Z', 'yesterday']) {
    const p = one(`  creationTimestamp: ${bad}\n`);
    assert.equal(p.path, 'metadata.creationTimestamp');
    assert.match(p.message, /^must be a time in RFC 3339 form: .* is not an RFC 3339 time/);
  }
  assert.match(one('  generation: 1.5\n').message, /^must be an integer/);
});

test('status: the API server drops it on create, so only its field names are checked', () => {
  const text = (status: string) => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: m\n${SPEC}${status}`;
  const valid = parsePolicyText('s.yaml', text('status:\n  status: yes\n')).documents[0]!;
  assert.equal(valid.status, 'policy');
  const bad = parsePolicyText('s.yaml', text('status:\n  phase: x\n')).documents[0]!;
  assert.ok(bad.status === 'invalid');
  assert.deepEqual(bad.problems.map((p) => [p.path, p.line, p.col, p.message]), [['status', 14, 3, 'unknown field "phase"']]);
});
