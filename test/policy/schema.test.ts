// The hand-written schema must agree with KubeArmor's CRDs, field by field. The CRDs are read here
// only, as the reference to compare against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DOCUMENT_SCHEMAS, type Schema } from '../../src/policy/schema.ts';
import { sharedDir } from './shared-dir.ts';

type Json = Record<string, unknown>;

/** One line per field: path, type and constraints, in a shape both sides can produce. */
function flattenCrd(node: Json, path: string, out: string[]): void {
  const type = node.type as string;
  const attrs: string[] = [type === 'object' && node.additionalProperties ? 'map' : type];
  if (node.pattern !== undefined) attrs.push(`pattern=${node.pattern as string}`);
  if (node.enum !== undefined) attrs.push(`enum=${(node.enum as string[]).join('|')}`);
  for (const k of ['minimum', 'maximum', 'maxLength', 'maxItems'] as const) if (node[k] !== undefined) attrs.push(`${k}=${String(node[k])}`);
  if (node.required !== undefined) attrs.push(`required=${[...(node.required as string[])].sort().join(',')}`);
  out.push(`${path} ${attrs.join(' ')}`);
  const props = node.properties as Record<string, Json> | undefined;
  if (props) for (const k of Object.keys(props)) flattenCrd(props[k]!, `${path}.${k}`, out);
  if (node.items) flattenCrd(node.items as Json, `${path}[]`, out);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') flattenCrd(node.additionalProperties as Json, `${path}{}`, out);
}

function flattenOurs(s: Schema, path: string, out: string[]): void {
  const attrs: string[] = [];
  switch (s.t) {
    case 'string':
      attrs.push('string');
      if (s.pattern !== undefined) attrs.push(`pattern=${s.pattern}`);
      if (s.enum !== undefined) attrs.push(`enum=${s.enum.join('|')}`);
      if (s.maxLength !== undefined) attrs.push(`maxLength=${s.maxLength}`);
      break;
    case 'integer':
      attrs.push('integer');
      if (s.min !== undefined) attrs.push(`minimum=${s.min}`);
      if (s.max !== undefined) attrs.push(`maximum=${s.max}`);
      break;
    case 'boolean': attrs.push('boolean'); break;
    case 'array': attrs.push('array'); if (s.maxItems !== undefined) attrs.push(`maxItems=${s.maxItems}`); break;
    case 'map': attrs.push('map'); break;
    case 'object':
      attrs.push('object');
      if (s.required !== undefined) attrs.push(`required=${[...s.required].sort().join(',')}`);
      break;
    case 'any': attrs.push('any'); break;
  }
  out.push(`${path} ${attrs.join(' ')}`);
  if (s.t === 'object') for (const k of Object.keys(s.props)) flattenOurs(s.props[k]!, `${path}.${k}`, out);
  if (s.t === 'array') flattenOurs(s.items, `${path}[]`, out);
  if (s.t === 'map') flattenOurs(s.values, `${path}{}`, out);
}

for (const kind of Object.keys(DOCUMENT_SCHEMAS) as Array<keyof typeof DOCUMENT_SCHEMAS>) {
  test(`schema of ${kind} agrees with its CRD under spec`, () => {
    const crd = parse(readFileSync(join(sharedDir(), 'policies', 'crd', `${kind}.yaml`), 'utf8')) as Json;
    const versions = (crd.spec as Json).versions as Json[];
    const root = (versions[0]!.schema as Json).openAPIV3Schema as Json;
    const expected: string[] = [];
    flattenCrd((root.properties as Record<string, Json>).spec!, 'spec', expected);
    const ours: string[] = [];
    const doc = DOCUMENT_SCHEMAS[kind];
    assert.equal(doc.t, 'object');
    if (doc.t === 'object') flattenOurs(doc.props.spec!, 'spec', ours);
    assert.deepEqual([...ours].sort(), [...expected].sort());
  });
}
