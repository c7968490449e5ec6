// The validator reads every scalar as the API server does (YAML 1.1 through go-yaml v2): words the
// cluster takes for booleans or numbers are refused in string fields, numbers mean what they mean in
// the cluster, and YAML 1.1-only booleans stay refused in boolean fields with a message saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyText } from '../../src/policy/load.ts';
import { DOCUMENT_SCHEMAS, type Schema } from '../../src/policy/schema.ts';
import type { Problem } from '../../src/policy/types.ts';
import type { PolicyKind } from '../../src/types.ts';
import { alertFor, event, ksp } from './helpers.ts';

function check(text: string): { problems: readonly Problem[]; severity?: number } {
  const r = parsePolicyText('edge.yaml', text);
  const d = r.documents[0]!;
  if (d.status === 'invalid') return { problems: d.problems };
  assert.equal(d.status, 'policy');
  return { problems: [], ...(d.status === 'policy' && d.policy.spec.severity !== undefined ? { severity: d.policy.spec.severity } : {}) };
}

const FILE_RULE = '  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit';

test('the issue\'s examples: app: yes, app: y, message: off, tags: [yes, on, no] are refused, with line, column, path and how to quote', () => {
  const cases: Array<[string, string, number, number, string]> = [
    [ksp('a', FILE_RULE, { selector: '    matchLabels:\n      app: yes' }), 'spec.selector.matchLabels.app', 10, 12, 'yes'],
    [ksp('a', FILE_RULE, { selector: '    matchLabels:\n      app: y' }), 'spec.selector.matchLabels.app', 10, 12, 'y'],
    [ksp('a', `  message: off\n${FILE_RULE}`), 'spec.message', 11, 12, 'off'],
    [ksp('a', `  tags: [yes, on, no]\n${FILE_RULE}`), 'spec.tags[0]', 11, 10, 'yes'],
  ];
  for (const [text, path, line, col, word] of cases) {
    const { problems } = check(text);
    const p = problems.find((x) => x.path === path);
    assert.ok(p, `${path}: got ${problems.map((x) => `${x.path}: ${x.message}`).join(' | ')}`);
    assert.equal(p.file, 'edge.yaml');
    assert.deepEqual([p.line, p.col], [line, col], path);
    const bool = /^(yes|y|on)$/.test(word) ? 'true' : 'false';
    assert.equal(p.message, `must be a string, but the cluster reads unquoted ${word} as the boolean ${bool} (YAML 1.1, as the API server reads it); quote it, "${word}", to mean the text`);
  }
  const tags = check(ksp('a', `  tags: [yes, on, no]\n${FILE_RULE}`)).problems.map((p) => p.path);
  assert.deepEqual(tags, ['spec.tags[0]', 'spec.tags[1]', 'spec.tags[2]']);
  // Quoted, the same words are strings for every reader.
  assert.deepEqual(check(ksp('a', `  tags: ["yes", 'on', !!str no]\n  message: "off"\n${FILE_RULE}`, { selector: '    matchLabels:\n      app: "y"' })).problems, []);
});

/** Every path of the schema whose type is `type`, with a document builder putting a value there. */
function fieldsOfType(schema: Schema, type: Schema['t'], path: string[] = []): string[][] {
  const out: string[][] = [];
  if (schema.t === type) out.push(path);
  if (schema.t === 'object' && schema.discarded !== true) for (const [k, v] of Object.entries(schema.props)) out.push(...fieldsOfType(v, type, [...path, k]));
  if (schema.t === 'array') out.push(...fieldsOfType(schema.items, type, [...path, '[]']));
  if (schema.t === 'map') out.push(...fieldsOfType(schema.values, type, [...path, '{}']));
  return out;
}

const HEADS: Record<PolicyKind, string> = {
  KubeArmorPolicy: 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\n',
  KubeArmorClusterPolicy: 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorClusterPolicy\n',
  KubeArmorHostPolicy: 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\n',
};

/** A document holding `value` at `path` (lists of one item, maps with the key `k`), and the problem path. */
function docWith(kind: PolicyKind, path: string[], value: string): { text: string; at: string } {
  let yaml = value;
  let at = '';
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i]!;
    const indented = yaml.split('\n').map((l) => `  ${l}`).join('\n');
    yaml = seg === '[]' ? `-\n${indented}` : seg === '{}' ? `k:\n${indented}` : `${seg}:\n${indented}`;
  }
  for (const seg of path) at += seg === '[]' ? '[0]' : seg === '{}' ? (at === '' ? 'k' : '.k') : (at === '' ? seg : `.${seg}`);
  // metadata.name is needed by every document; give it unless the path is under metadata.
  const meta = path[0] === 'metadata' ? '' : 'metadata:\n  name: edge\n';
  return { text: `${HEADS[kind]}${meta}${yaml}\n`, at };
}

for (const kind of Object.keys(DOCUMENT_SCHEMAS) as PolicyKind[]) {
  const schema = DOCUMENT_SCHEMAS[kind];

  test(`${kind}: every string field refuses what YAML 1.1 reads as another type, and takes it quoted`, () => {
    const paths = fieldsOfType(schema, 'string').filter((p) => p[0] !== 'apiVersion' && p[0] !== 'kind');
    assert.ok(paths.length > 40, `${paths.length} string fields`);
    for (const path of paths) {
      for (const [word, reading] of [['yes', 'the boolean true'], ['Off', 'the boolean false'], ['0x1F', 'the number 31'], ['1_000', 'the number 1000']] as const) {
        const { text, at } = docWith(kind, path, word);
        const p = check(text).problems.find((x) => x.path === at);
        assert.ok(p, `${at} = ${word}: no problem`);
        assert.match(p.message, new RegExp(`^must be a string, but the cluster reads unquoted ${word} as ${reading}`), at);
        const quoted = check(docWith(kind, path, `"${word}"`).text).problems.filter((x) => x.path === at);
        assert.ok(quoted.every((x) => !x.message.startsWith('must be a string')), `${at} = "${word}": ${quoted.map((x) => x.message).join(' | ')}`);
      }
    }
  });

  test(`${kind}: every boolean field refuses YAML 1.1-only booleans, saying the cluster would accept them`, () => {
    const paths = fieldsOfType(schema, 'boolean');
    assert.ok(paths.length >= 10, `${paths.length} boolean fields`);
    for (const path of paths) {
      for (const [word, value] of [['yes', true], ['on', true], ['Y', true], ['no', false], ['OFF', false]] as const) {
        const { text, at } = docWith(kind, path, word);
        const p = check(text).problems.find((x) => x.path === at);
        assert.ok(p, `${at} = ${word}: no problem`);
        assert.match(p.message, new RegExp(`^must be true or false: the cluster would accept ${word} as ${String(value)} \\(YAML 1\\.1\\), but armorwatch does not, because in YAML 1\\.2 .* ${word} is the string "${word}"; write ${String(value)}$`), at);
      }
      for (const word of ['true', 'True', 'FALSE']) {
        const { text, at } = docWith(kind, path, word);
        assert.deepEqual(check(text).problems.filter((x) => x.path === at), [], `${at} = ${word}`);
      }
    }
  });

  test(`${kind}: every integer field reads numbers as YAML 1.1 does and refuses booleans`, () => {
    const paths = fieldsOfType(schema, 'integer');
    assert.ok(paths.length >= 5, `${paths.length} integer fields`);
    for (const path of paths) {
      const { text, at } = docWith(kind, path, 'yes');
      const p = check(text).problems.find((x) => x.path === at);
      assert.ok(p, `${at} = yes`);
      assert.match(p.message, /^must be an integer \(the cluster reads unquoted yes as the boolean true \(YAML 1\.1\)\)$/);
      for (const word of ['010', '0x0A', '1_0', '+3', '3.0', '1e1', '08']) {
        const q = check(docWith(kind, path, word).text).problems.filter((x) => x.path === at);
        assert.deepEqual(q, [], `${at} = ${word}`);
      }
    }
  });
}

test('severity as the cluster reads it: 010 is 8, 0x0A and 1_0 are 10, +3 is 3, 3.0 is 3, 1e1 is 10; the alert shows it', () => {
  const cases: Array<[string, number]> = [['010', 8], ['0x0A', 10], ['0o7', 7], ['0b101', 5], ['1_0', 10], ['+3', 3], ['3.0', 3], ['1e1', 10], ['08', 8], ['6', 6]];
  for (const [written, value] of cases) {
    const text = ksp('sev', `  severity: ${written}\n${FILE_RULE}`);
    assert.equal(check(text).severity, value, written);
    const alert = alertFor(text, event({ absPath: '/etc/shadow' }));
    assert.equal(alert?.Severity, String(value), written);
  }
});

test('numbers the cluster refuses or reads out of range are refused, saying how they were read', () => {
  const cases: Array<[string, string]> = [
    ['013', 'must be at most 10 (got 11) (the cluster reads unquoted 013 as 11, YAML 1.1)'],
    ['00', 'must be at least 1 (got 0)'],
    ['3.5', 'must be an integer (the cluster reads unquoted 3.5 as the number 3.5)'],
    ['"5"', 'must be an integer (got string "5"); write the number without quotes'],
    ['"five"', 'must be an integer (got string "five")'],
    ['.inf', 'the cluster reads unquoted .inf as Infinity, which JSON cannot hold, and refuses the document'],
    ['0x8000000000000000', 'must be an integer (the cluster reads unquoted 0x8000000000000000 as the number 9223372036854775808, outside the 64-bit range of an integer)'],
    ['1:30', 'must be an integer (got string "1:30")'],
    ['on', 'must be an integer (the cluster reads unquoted on as the boolean true (YAML 1.1))'],
  ];
  for (const [written, message] of cases) {
    const { problems } = check(ksp('sev', `  severity: ${written}\n${FILE_RULE}`));
    assert.deepEqual(problems.map((p) => [p.path, p.line, p.col, p.message]), [['spec.severity', 11, 13, message]], written);
  }
});

test('map keys: the cluster turns on: into "true" and 010: into "8", so those keys are refused; quoted or unchanged keys pass', () => {
  const sel = (key: string) => ksp('k', FILE_RULE, { selector: `    matchLabels:\n      ${key}: web` });
  for (const [key, becomes] of [['on', 'true'], ['Yes', 'true'], ['010', '8'], ['1_0', '10'], ['0x1F', '31'], ['3.0', '3']] as const) {
    const { problems } = check(sel(key));
    assert.equal(problems.length, 1, key);
    assert.equal(problems[0]!.path, 'spec.selector.matchLabels');
    assert.deepEqual([problems[0]!.line, problems[0]!.col], [10, 7]);
    assert.match(problems[0]!.message, new RegExp(`^key ${key}: the cluster reads the unquoted ${key} as .*, so the key becomes "${becomes}"; quote it, "${key}", to keep the text$`));
  }
  for (const key of ['"on"', "'010'", '8', 'true', '3.5', 'app']) assert.deepEqual(check(sel(key)).problems, [], key);
  const nul = check(sel('~')).problems;
  assert.match(nul[0]!.message, /null key/);
  // In a field position a renamed key is an unknown field.
  const field = check(ksp('k', `${FILE_RULE}\n  y: 1`)).problems;
  assert.deepEqual(field.map((p) => [p.path, p.code, p.message]), [['spec', 'AW_POLICY_UNKNOWN_FIELD', 'unknown field "y": the cluster reads the unquoted y as the boolean true, so the key becomes "true"']]);
  // yes and true are the same key to the cluster: a duplicate.
  const dup = check(ksp('k', FILE_RULE, { selector: '    matchLabels:\n      "true": a\n      "false": b\n      8: c\n      "8": d' })).problems;
  assert.deepEqual(dup.map((p) => p.code), ['AW_POLICY_DUPLICATE_KEY']);
});

test('explicit tags: !!str keeps the text, !!int "10" is a number, a tag that does not fit is refused', () => {
  assert.deepEqual(check(ksp('t', `  message: !!str yes\n${FILE_RULE}`)).problems, []);
  assert.equal(check(ksp('t', `  severity: !!int "7"\n${FILE_RULE}`)).severity, 7);
  const bad = check(ksp('t', `  severity: !!int abc\n${FILE_RULE}`)).problems;
  assert.equal(bad[0]!.message, 'the cluster cannot decode !!int "abc": cannot decode !!str `abc` as a !!int');
  assert.deepEqual(check(ksp('t', `  message: !!binary eWVz\n${FILE_RULE}`)).problems, []);
});
