// Malformed and hostile input: every case ends in a clear problem (file, line, column, message),
// within bounded work, and never in a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { parsePolicyText } from '../../src/policy/load.ts';
import type { Problem } from '../../src/policy/types.ts';

function problemsOf(text: string | Uint8Array): Problem[] {
  const r = parsePolicyText('hostile.yaml', text);
  const out = [...r.problems];
  for (const d of r.documents) if (d.status === 'invalid') out.push(...d.problems);
  return out;
}

function expectProblem(text: string | Uint8Array, pattern: RegExp): Problem {
  const problems = problemsOf(text);
  assert.ok(problems.length > 0, 'expected a problem');
  const p = problems.find((x) => pattern.test(x.message));
  assert.ok(p, `no problem matching ${pattern}: ${problems.map((x) => x.message).join(' | ')}`);
  assert.equal(p.file, 'hostile.yaml');
  assert.ok(p.line >= 1 && p.col >= 1);
  return p;
}

const HEAD = 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: x\n  namespace: ns\n';

test('billion laughs: alias expansion is bounded and reported', () => {
  // 10 levels of 10 aliases each: 10^9 strings if expanded naively.
  const laughs = ['x0: &l0 "lol"'];
  for (let i = 1; i < 10; i++) laughs.push(`x${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(',')}]`);
  const billion = `${HEAD}  managedFields:\n    - fieldsV1:\n        ${laughs.join('\n        ')}\n        x10: *l9\nspec: {}\n`;
  // The work is bounded by the node budget, which the message shows was hit (no timing in tests).
  expectProblem(billion, /more than 200000 nodes after expanding aliases/);
  // The same shape where the schema expects strings: type errors, no expansion blow-up.
  const typed = `${HEAD}spec:\n  tags: &t0 [a, a, a, a, a, a, a, a, a, a]\n  file:\n    tags: &t1 [${Array(10).fill('*t0').join(', ')}]\n` +
    `    matchPaths:\n      - path: /x\n        tags: [${Array(10).fill('*t1').join(', ')}]\n`;
  expectProblem(typed, /must be a string \(got a list\)/);
});

test('deep nesting is reported, not a stack overflow', () => {
  const deepFlow = `${HEAD}spec:\n  tags: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
  expectProblem(deepFlow, /^YAML parse error: nested too deeply to parse$/);
  const deepBlock = `${HEAD}spec:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} v\n`;
  expectProblem(deepBlock, /unknown field "k0"|nested deeper/);
  const deepAny = `${HEAD}  managedFields:\n    - fieldsV1: ${'['.repeat(100)}${']'.repeat(100)}\nspec: {}\n`;
  expectProblem(deepAny, /nested deeper than 64 levels/);
});

test('huge strings and files are bounded', () => {
  expectProblem(`${HEAD}spec:\n  message: "${'x'.repeat(2 << 20)}"\n`, /file too large \(\d+ bytes; the limit is 1048576\)/);
  const long = `${HEAD}spec:\n  file:\n    matchPaths:\n      - path: /${'a'.repeat(300)}\n`;
  const p = expectProblem(long, /must be at most 200 characters \(got 301\)/);
  assert.equal(p.path, 'spec.file.matchPaths[0].path');
  assert.equal(p.line, 9);
  assert.equal(p.col, 15);
});

test('binary garbage and non-UTF-8', () => {
  expectProblem(new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), /not UTF-8 text \(invalid byte 0xff at offset 3\)/);
  expectProblem(new Uint8Array([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x00, 0x01]), /NUL byte/);
  for (let i = 0; i < 200; i++) {
    const bytes = randomBytes(64 + (i % 200));
    const r = parsePolicyText('hostile.yaml', bytes); // must not throw
    assert.ok(r.documents.every((d) => d.status !== 'policy'));
  }
});

test('random text never crashes the loader', () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => {
    const r = parsePolicyText('hostile.yaml', `${HEAD}${s}`);
    for (const d of r.documents) if (d.status === 'invalid') for (const p of d.problems) assert.ok(p.line >= 1 && p.message.length > 0);
    return true;
  }), { numRuns: 1000 });
});

test('clear messages for common mistakes, with line and column', () => {
  const cases: Array<[string, string, string, number]> = [
    [`${HEAD}spec:\n  file:\n    matchDirectories:\n      - dir: /etc/\n        recurive: true\n`, 'spec.file.matchDirectories[0]', 'unknown field "recurive" (did you mean "recursive"?)', 10],
    [`${HEAD}spec:\n  file:\n    matchDirectories:\n      - dir: /etc\n`, 'spec.file.matchDirectories[0].dir', 'must match ^\\/$|^\\/.*\\/$ (got "/etc")', 9],
    [`${HEAD}spec:\n  severity: 11\n`, 'spec.severity', 'must be at most 10 (got 11)', 7],
    [`${HEAD}spec:\n  severity: "3"\n`, 'spec.severity', 'must be an integer (got string "3")', 7],
    [`${HEAD}spec:\n  action: block\n`, 'spec.action', 'must be one of Allow|Audit|Block (got "block")', 7],
    [`${HEAD}spec:\n  file:\n    matchPaths:\n      - path: /x\n        readOnly: yes\n`, 'spec.file.matchPaths[0].readOnly', 'must be true or false: the cluster would accept yes as true (YAML 1.1), but armorwatch does not', 10],
    [`${HEAD}spec:\n  file:\n    matchPaths:\n      - fromSource: []\n`, 'spec.file.matchPaths[0]', 'missing required "path"', 9],
    [`${HEAD}spec:\n  file:\n    matchPaths: /x\n`, 'spec.file.matchPaths', 'must be a list (got string "/x")', 8],
    [`apiVersion: security.kubearmor.com/v2\nkind: KubeArmorPolicy\nmetadata:\n  name: x\n`, 'apiVersion', 'must be security.kubearmor.com/v1 (got "security.kubearmor.com/v2")', 1],
    [`apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: Bad_Name\n`, 'metadata.name', '"Bad_Name" is not a valid name', 4],
    [`apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  namespace: x\n`, 'metadata', 'missing required "name"', 4],
    [`apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolcy\nmetadata:\n  name: x\n`, 'kind', 'unknown kind "KubeArmorPolcy" (did you mean "KubeArmorPolicy"?)', 2],
    [`${HEAD}spec:\n  action: Audit\n  action: Block\n`, 'spec', 'duplicate key "action" (first at line 7, column 3)', 8],
    [`${HEAD}spec:\n  file:\n    matchPaths:\n      - path: /x\n        fromSource:\n          - path: relative\n`, 'spec.file.matchPaths[0].fromSource[0].path', 'must match ^\\/+.*[^\\/]$ (got "relative")', 11],
  ];
  for (const [text, path, message, line] of cases) {
    const problems = problemsOf(text);
    const p = problems.find((x) => x.path === path && x.message.startsWith(message));
    assert.ok(p, `${path}: ${message} — got ${problems.map((x) => `${x.line}:${x.col} ${x.path}: ${x.message}`).join(' | ')}`);
    assert.equal(p.line, line, `${path}: line`);
  }
});

test('YAML syntax errors name the line', () => {
  const p = expectProblem(`${HEAD}spec:\n  file:\n   matchPaths:\n  - path: /x\n    bad: [\n`, /^YAML parse error/);
  assert.ok(p.line >= 7, `line ${p.line}`);
});

test('null is absent; other kinds are skipped; several documents per file', () => {
  const r = parsePolicyText('multi.yaml', `${HEAD}spec:\n  severity: null\n  file: ~\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n---\n${HEAD.replace('name: x', 'name: z')}spec: {}\n`);
  assert.deepEqual(r.documents.map((d) => d.status), ['policy', 'skipped', 'policy']);
  const first = r.documents[0]!;
  assert.ok(first.status === 'policy' && first.policy.spec.severity === undefined && first.policy.key === 'KubeArmorPolicy/ns/x');
  const last = r.documents[2]!;
  assert.ok(last.status === 'policy' && last.policy.source.doc === 3 && last.policy.source.line === 16);
});

test('a message quotes at most 60 characters of a value from the file', () => {
  const secret = `AKIA${'Q'.repeat(200)}`;
  for (const text of [
    `apiVersion: ${secret}\nkind: KubeArmorPolicy\nmetadata:\n  name: x\nspec: {}\n`,
    `apiVersion: security.kubearmor.com/v1\nkind: ${secret}\nmetadata:\n  name: x\n`,
    `${HEAD}spec:\n  action: ${secret}\n`,
  ]) {
    const msgs = problemsOf(text).map((p) => p.message).join(' | ');
    assert.ok(msgs.length > 0);
    assert.ok(!msgs.includes('Q'.repeat(61)), msgs);
    assert.match(msgs, /AKIAQ+…/);
  }
});
