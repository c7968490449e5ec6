// A generated set of edge documents: YAML scalars that YAML 1.1 (the API server) and YAML 1.2 read
// differently, in each quoting style, in string, integer, boolean and key positions of a policy;
// plus metadata syntax cases. Each document carries the verdict expected from armorwatch and from a
// real kube-apiserver (strict field validation, dry-run). They differ only where armorwatch is
// stricter on purpose (docs/POLICIES.md): YAML 1.1-only booleans (`recursive: yes`) and map keys
// the cluster would rename (`on: web` becomes the label "true").
//
// The expectations come from the table SCALARS below, written from the YAML 1.1 type definitions
// and go-yaml v2's resolver, not from armorwatch's code.
//
// validate-apiserver.test.ts posts them to a real kube-apiserver. To feed them to another server:
// node test/policy/edge-documents.ts DIR
// writes DIR/<id>.yaml and DIR/expected.tsv (id, kind, namespace, armorwatch verdict, cluster verdict, why).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyKind } from '../../src/types.ts';

export type Verdict = 'valid' | 'invalid';

export interface EdgeDocument {
  readonly id: string;
  readonly kind: PolicyKind;
  readonly name: string;
  /** For KubeArmorPolicy: the namespace it is posted to. */
  readonly namespace?: string;
  readonly yaml: string;
  readonly armorwatch: Verdict;
  readonly cluster: Verdict;
  readonly why: string;
}

/**
 * How the cluster (YAML 1.1, go-yaml v2) reads a plain scalar. Numbers: `int` is the value of those
 * without a fraction; `key` the JSON key sigs.k8s.io/yaml makes of it (floats as Go's %g of a float32).
 */
type Reading =
  | { t: 'bool'; yaml12: boolean }
  | { t: 'null' }
  | { t: 'number'; int?: number; key: string }
  | { t: 'string' };

const bool11: Reading = { t: 'bool', yaml12: false };
const bool12: Reading = { t: 'bool', yaml12: true };
const num = (int: number | undefined, key = String(int)): Reading => ({ t: 'number', key, ...(int === undefined ? {} : { int }) });
const text: Reading = { t: 'string' };

/** Plain scalars and how YAML 1.1 reads them. */
export const SCALARS: ReadonlyArray<readonly [string, Reading]> = [
  ['yes', bool11], ['Yes', bool11], ['YES', bool11], ['y', bool11], ['Y', bool11],
  ['no', bool11], ['No', bool11], ['NO', bool11], ['n', bool11], ['N', bool11],
  ['on', bool11], ['On', bool11], ['ON', bool11], ['off', bool11], ['Off', bool11], ['OFF', bool11],
  ['true', bool12], ['True', bool12], ['TRUE', bool12], ['false', bool12], ['False', bool12], ['FALSE', bool12],
  ['yEs', text], ['oN', text], ['nO', text], ['tRUE', text], ['yes please', text], ['ye', text],
  ['~', { t: 'null' }], ['null', { t: 'null' }], ['Null', { t: 'null' }], ['NULL', { t: 'null' }],
  ['010', num(8)], ['012', num(10)], ['013', num(11)], ['0x0A', num(10)], ['0X0a', num(10)], ['0o12', num(10)],
  ['0b1010', num(10)], ['1_0', num(10)], ['+3', num(3)], ['-3', num(-3)], ['3', num(3)], ['0', num(0)],
  ['3.0', num(3)], ['1e1', num(10)], ['1.', num(1)], ['08', num(8)], ['09.0', num(9)], ['3.5', num(undefined, '3.5')],
  ['.5', num(undefined, '0.5')], ['1_000.5', num(undefined, '1000.5')], ['.inf', num(undefined, '.inf')],
  ['-.Inf', num(undefined, '-.inf')], ['.nan', num(undefined, '.nan')],
  ['1:30', text], ['2024-01-01', text], ['0x', text], ['e5', text], ['1e400', text], ['0b2', text], ['_1', text],
  ['.', text], ['0o8', text], ['1.2.3', text], ['--1', text],
];

/** How a scalar is written in the document. */
interface Quoting { readonly id: string; readonly render: (s: string) => string; readonly plain: boolean }
const QUOTINGS: readonly Quoting[] = [
  { id: 'plain', render: (s) => s, plain: true },
  { id: 'double', render: (s) => JSON.stringify(s), plain: false },
  { id: 'single', render: (s) => `'${s.replaceAll("'", "''")}'`, plain: false },
  { id: 'str-tag', render: (s) => `!!str ${s}`, plain: false },
];

type SlotType = 'string' | 'string-item' | 'severity' | 'boolean' | 'label-key';
interface Slot { readonly id: string; readonly type: SlotType; readonly spec: (v: string) => string }

const SELECT = 'selector:\n    matchLabels:\n      app: web';
const SLOTS: readonly Slot[] = [
  { id: 'message', type: 'string', spec: (v) => `  ${SELECT}\n  message: ${v}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit` },
  { id: 'tags-item', type: 'string-item', spec: (v) => `  ${SELECT}\n  tags: [${v}, nist]\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit` },
  { id: 'label-value', type: 'string', spec: (v) => `  selector:\n    matchLabels:\n      app: ${v}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit` },
  { id: 'severity', type: 'severity', spec: (v) => `  ${SELECT}\n  severity: ${v}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit` },
  { id: 'rule-severity', type: 'severity', spec: (v) => `  ${SELECT}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n        severity: ${v}\n  action: Audit` },
  { id: 'recursive', type: 'boolean', spec: (v) => `  ${SELECT}\n  file:\n    matchDirectories:\n      - dir: /etc/\n        recursive: ${v}\n  action: Audit` },
  { id: 'readOnly', type: 'boolean', spec: (v) => `  ${SELECT}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n        readOnly: ${v}\n  action: Audit` },
  { id: 'label-key', type: 'label-key', spec: (v) => `  selector:\n    matchLabels:\n      ${v}: web\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit` },
];

function ksp(name: string, spec: string, meta = ''): string {
  return `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: ${name}\n  namespace: edge\n${meta}spec:\n${spec}\n`;
}

/** The JSON key the cluster makes of a plain key scalar, or null when it cannot make one. */
function keyText(s: string, r: Reading): string | null {
  if (r.t === 'null') return null;
  if (r.t === 'bool') return /^(y|yes|true|on)$/i.test(s) ? 'true' : 'false';
  if (r.t === 'number') return r.key;
  return s;
}

function expect(slot: SlotType, q: Quoting, s: string, r: Reading): { armorwatch: Verdict; cluster: Verdict; why: string } {
  const same = (v: Verdict, why: string) => ({ armorwatch: v, cluster: v, why });
  if (!q.plain) {
    if (slot === 'severity') return same('invalid', 'a quoted number is a string');
    if (slot === 'boolean') return same('invalid', 'a quoted word is a string');
    return same('valid', 'quoted: a string for both');
  }
  switch (slot) {
    case 'string':
    case 'string-item':
      if (r.t === 'string') return same('valid', 'a string in YAML 1.1 too');
      if (r.t === 'null') return slot === 'string-item' ? same('invalid', 'a null list item') : same('valid', 'null: the field is absent');
      return same('invalid', `YAML 1.1 reads it as a ${r.t}`);
    case 'severity':
      if (r.t === 'null') return same('valid', 'null: the field is absent');
      if (r.t === 'number' && r.int !== undefined) {
        return r.int >= 1 && r.int <= 10 ? same('valid', `YAML 1.1 reads ${r.int}`) : same('invalid', `YAML 1.1 reads ${r.int}, outside 1..10`);
      }
      return same('invalid', `YAML 1.1 reads it as a ${r.t === 'number' ? 'fractional or non-finite number' : r.t}`);
    case 'boolean':
      if (r.t === 'null') return same('valid', 'null: the field is absent');
      if (r.t === 'bool') return r.yaml12 ? same('valid', 'a boolean in YAML 1.1 and 1.2') : { armorwatch: 'invalid', cluster: 'valid', why: 'a boolean only in YAML 1.1: armorwatch refuses on purpose' };
      return same('invalid', `YAML 1.1 reads it as a ${r.t}`);
    case 'label-key': {
      const k = keyText(s, r);
      if (k === null) return same('invalid', 'a null key');
      if (k === s) return same('valid', 'the key keeps its text');
      return { armorwatch: 'invalid', cluster: 'valid', why: `the cluster renames the key (YAML 1.1): armorwatch refuses on purpose` };
    }
  }
}

function slug(s: string): string {
  return Buffer.from(s).toString('hex');
}

/** Metadata syntax cases (kind, metadata lines, expected verdict for both). */
const META_CASES: ReadonlyArray<{ id: string; kind?: PolicyKind; name?: string; meta: string; verdict: Verdict; cluster?: Verdict; why: string }> = [
  { id: 'label-key-ok', meta: '  labels:\n    example.com/Team_1: a\n', verdict: 'valid', why: 'prefix/name' },
  { id: 'label-key-space', meta: '  labels:\n    "my key": a\n', verdict: 'invalid', why: 'space in a label key' },
  { id: 'label-key-two-slashes', meta: '  labels:\n    a/b/c: a\n', verdict: 'invalid', why: 'two slashes' },
  { id: 'label-key-upper-prefix', meta: '  labels:\n    Example.com/a: a\n', verdict: 'invalid', why: 'prefix must be lower case' },
  { id: 'label-key-empty-prefix', meta: '  labels:\n    /a: a\n', verdict: 'invalid', why: 'empty prefix' },
  { id: 'label-key-64', meta: `  labels:\n    ${'k'.repeat(64)}: a\n`, verdict: 'invalid', why: 'name part over 63' },
  { id: 'label-key-63', meta: `  labels:\n    ${'k'.repeat(63)}: a\n`, verdict: 'valid', why: 'name part of 63' },
  { id: 'label-key-prefix-254', meta: `  labels:\n    ${'p'.repeat(254)}/a: a\n`, verdict: 'invalid', why: 'prefix over 253' },
  { id: 'label-value-dash-end', meta: '  labels:\n    a: b-\n', verdict: 'invalid', why: 'value ends with -' },
  { id: 'label-value-empty', meta: '  labels:\n    a: ""\n', verdict: 'valid', why: 'empty value' },
  { id: 'label-value-64', meta: `  labels:\n    a: ${'v'.repeat(64)}\n`, verdict: 'invalid', why: 'value over 63' },
  { id: 'label-value-slash', meta: '  labels:\n    a: b/c\n', verdict: 'invalid', why: 'slash in value' },
  { id: 'annotation-key-upper-prefix', meta: '  annotations:\n    Example.COM/Note: x\n', verdict: 'valid', why: 'annotation keys are checked in lower case' },
  { id: 'annotation-key-bad', meta: '  annotations:\n    "note!": x\n', verdict: 'invalid', why: '! in key' },
  { id: 'annotation-value-free', meta: '  annotations:\n    note: "any text: / ! é"\n', verdict: 'valid', why: 'values are free text' },
  { id: 'annotations-too-large', meta: `  annotations:\n    a: ${'x'.repeat(256 * 1024)}\n`, verdict: 'invalid', why: 'over 256 KiB' },
  { id: 'annotations-at-limit', meta: `  annotations:\n    a: ${'x'.repeat(256 * 1024 - 1)}\n`, verdict: 'valid', why: 'exactly 256 KiB' },
  { id: 'finalizer-ok', meta: '  finalizers:\n    - example.com/cleanup\n', verdict: 'valid', why: 'qualified' },
  { id: 'finalizer-bad', meta: '  finalizers:\n    - "clean up"\n', verdict: 'invalid', why: 'space' },
  { id: 'finalizers-orphan-foreground', meta: '  finalizers:\n    - orphan\n    - foregroundDeletion\n', verdict: 'invalid', why: 'both deletion modes' },
  { id: 'namespace-bad', meta: '', name: 'ok', verdict: 'invalid', why: 'namespace with capitals (posted to namespace Bad_NS)' },
  { id: 'cluster-policy-namespace-ignored', kind: 'KubeArmorClusterPolicy', meta: '  namespace: Bad_NS\n', verdict: 'valid', why: 'cleared for cluster-scoped kinds' },
  { id: 'owner-ref-no-uid', meta: '  ownerReferences:\n    - apiVersion: v1\n      kind: ConfigMap\n      name: c\n', verdict: 'invalid', why: 'uid missing' },
  { id: 'owner-ref-ok', meta: '  ownerReferences:\n    - apiVersion: v1\n      kind: ConfigMap\n      name: c\n      uid: 0b8a3c52-5e4d-4a8c-9c1e-1f3b8d2e4a51\n', verdict: 'valid', why: 'complete' },
  { id: 'owner-ref-two-controllers', meta: '  ownerReferences:\n    - {apiVersion: v1, kind: ConfigMap, name: a, uid: "1", controller: true}\n    - {apiVersion: v1, kind: ConfigMap, name: b, uid: "2", controller: true}\n', verdict: 'invalid', why: 'two controllers' },
  { id: 'creation-timestamp-ok', meta: '  creationTimestamp: 2025-01-31T12:00:00Z\n', verdict: 'valid', why: 'RFC 3339' },
  { id: 'creation-timestamp-null', meta: '  creationTimestamp: null\n', verdict: 'valid', why: 'null' },
  { id: 'creation-timestamp-date', meta: '  creationTimestamp: 2025-01-31\n', verdict: 'invalid', why: 'a date only' },
  { id: 'generation-float', meta: '  generation: 1.5\n', verdict: 'invalid', why: 'not an integer' },
  { id: 'creation-timestamp-space', meta: '  creationTimestamp: 2025-01-31 12:00:00\n', verdict: 'invalid', why: 'not RFC 3339' },
  { id: 'label-value-null', meta: '  labels:\n    app: ~\n', verdict: 'valid', why: 'a null label value' },
  { id: 'annotation-value-number', meta: '  annotations:\n    a: 5\n', verdict: 'invalid', why: 'a number where ObjectMeta has a string' },
  { id: 'managed-fields-scalar', meta: '  managedFields: [5]\n', verdict: 'invalid', why: 'a managedFields entry must be a mapping' },
  { id: 'managed-fields-unknown', meta: '  managedFields:\n    - manager: x\n      color: red\n', verdict: 'invalid', why: 'unknown field in a managedFields entry' },
  { id: 'managed-fields-ok', meta: '  managedFields:\n    - manager: kubectl\n      operation: Update\n      time: "2025-01-31T12:00:00Z"\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:spec:\n          .: {}\n', verdict: 'valid', why: 'as kubectl writes it' },
  { id: 'owner-ref-unknown-field', meta: '  ownerReferences:\n    - {apiVersion: v1, kind: A, name: a, uid: "1", color: red}\n', verdict: 'invalid', why: 'unknown field' },
  { id: 'metadata-unknown-field', meta: '  color: red\n', verdict: 'invalid', why: 'unknown field' },
  { id: 'resource-version-uid', meta: '  resourceVersion: "5"\n  uid: x\n  generation: -1\n', verdict: 'valid', why: 'set by the server on create' },
  { id: 'name-254', name: 'a'.repeat(254), meta: '', verdict: 'invalid', why: 'name over 253' },
  { id: 'name-253', name: 'a'.repeat(253), meta: '', verdict: 'valid', why: 'name of 253' },
  { id: 'generate-name-only', name: '', meta: '  generateName: a-\n', verdict: 'invalid', cluster: 'valid', why: 'armorwatch needs a name; the cluster generates one' },
];

export function edgeDocuments(): EdgeDocument[] {
  const out: EdgeDocument[] = [];
  for (const slot of SLOTS) {
    for (const q of QUOTINGS) {
      for (const [s, r] of SCALARS) {
        if (!q.plain && r.t === 'null' && s !== '~') continue; // one quoted null word is enough
        if (slot.type === 'label-key' && q.id === 'str-tag') continue; // `!!str x: y` is the same as quoted
        const e = expect(slot.type, q, s, r);
        const id = `${slot.id}-${q.id}-${slug(s)}`;
        const name = `edge-${out.length}`;
        out.push({ id, kind: 'KubeArmorPolicy', name, namespace: 'edge', yaml: ksp(name, slot.spec(q.render(s))), ...e, why: `${slot.id} = ${q.render(s)}: ${e.why}` });
      }
    }
  }
  for (const c of META_CASES) {
    const kind = c.kind ?? 'KubeArmorPolicy';
    const name = `edge-${out.length}`;
    const spec = kind === 'KubeArmorClusterPolicy'
      ? '  selector:\n    matchExpressions:\n      - key: namespace\n        operator: In\n        values: [edge]\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit'
      : `  ${SELECT}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit`;
    let yaml = ksp(c.name ?? name, spec, c.meta);
    if (c.name === '') yaml = yaml.replace('  name: \n', '');
    let namespace: string | undefined = 'edge';
    if (kind !== 'KubeArmorPolicy') {
      yaml = yaml.replace('kind: KubeArmorPolicy', `kind: ${kind}`).replace('  namespace: edge\n', '');
      namespace = undefined;
    }
    if (c.id === 'namespace-bad') { yaml = yaml.replace('namespace: edge', 'namespace: Bad_NS'); namespace = 'Bad_NS'; }
    out.push({ id: `meta-${c.id}`, kind, name: c.name ?? name, ...(namespace ? { namespace } : {}), yaml, armorwatch: c.verdict, cluster: c.cluster ?? c.verdict, why: c.why });
  }
  // The status subresource: the API server drops status on create, after checking field names only.
  const statusDoc = (name: string, status: string) => ksp(name, `  ${SELECT}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit`) + status;
  out.push({ id: 'status-value-ignored', kind: 'KubeArmorPolicy', name: 'edge-status-a', namespace: 'edge', yaml: statusDoc('edge-status-a', 'status:\n  status: yes\n'), armorwatch: 'valid', cluster: 'valid', why: 'status is dropped on create' });
  out.push({ id: 'status-scalar', kind: 'KubeArmorPolicy', name: 'edge-status-c', namespace: 'edge', yaml: statusDoc('edge-status-c', 'status: 5\n'), armorwatch: 'valid', cluster: 'valid', why: 'status is dropped on create' });
  out.push({
    id: 'merge-key', kind: 'KubeArmorPolicy', name: 'edge-merge', namespace: 'edge', armorwatch: 'invalid', cluster: 'valid', why: 'a YAML 1.1 merge key: armorwatch does not merge',
    yaml: ksp('edge-merge', `  ${SELECT}\n  file:\n    matchPaths:\n      - path: /etc/shadow\n        <<: {action: Audit}`),
  });
  out.push({ id: 'status-unknown-field', kind: 'KubeArmorPolicy', name: 'edge-status-b', namespace: 'edge', yaml: statusDoc('edge-status-b', 'status:\n  phase: x\n'), armorwatch: 'invalid', cluster: 'invalid', why: 'unknown field under status' });
  return out;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (dir === undefined) { process.stderr.write('usage: node test/policy/edge-documents.ts DIR\n'); process.exit(2); }
  mkdirSync(dir, { recursive: true });
  const rows = ['# id\tkind\tnamespace\tarmorwatch\tcluster\twhy'];
  for (const d of edgeDocuments()) {
    writeFileSync(join(dir, `${d.id}.yaml`), d.yaml);
    rows.push([d.id, d.kind, d.namespace ?? '', d.armorwatch, d.cluster, d.why.replace(/\s+/g, ' ')].join('\t'));
  }
  writeFileSync(join(dir, 'expected.tsv'), `${rows.join('\n')}\n`);
  process.stdout.write(`${rows.length - 1} documents written to ${dir}\n`);
}
