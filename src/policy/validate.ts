// Validation of one YAML document against the schema in schema.ts. Walks the YAML syntax tree
// (not a converted object) so that every problem has its line and column, duplicate keys are
// seen, and aliases are expanded under a budget (an alias bomb costs a bounded amount of work).
import { createHash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, visit, type Document, type LineCounter, type Node, type Scalar } from 'yaml';
import type { PolicyKind } from '../types.ts';
import { clusterInteger, clusterKey, clusterPlainValue, clusterScalar, describeCluster, resolvePlain, type ClusterScalar } from './cluster-yaml.ts';
import { checkObjectMeta, dns1123SubdomainError, FORMATS } from './object-meta.ts';
import { API_VERSION, DOCUMENT_SCHEMAS, POLICY_KINDS, type Schema } from './schema.ts';
import { policyKey, type PolicyDocument, type PolicySpec, type Problem } from './types.ts';

/** Stable problem codes (documented in docs/POLICIES.md). */
export const CODES = {
  yaml: 'AW_POLICY_YAML',
  duplicateKey: 'AW_POLICY_DUPLICATE_KEY',
  unknownField: 'AW_POLICY_UNKNOWN_FIELD',
  schema: 'AW_POLICY_SCHEMA',
  apiVersion: 'AW_POLICY_API_VERSION',
  name: 'AW_POLICY_NAME',
  kind: 'AW_POLICY_KIND',
  limit: 'AW_POLICY_LIMIT',
  file: 'AW_POLICY_FILE',
} as const;

export interface ValidateLimits {
  /** Nodes visited per document, counting every expansion of an alias. */
  readonly maxNodes: number;
  /** Nesting depth of mappings and lists. */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: ValidateLimits = { maxNodes: 200_000, maxDepth: 64 };

export type DocumentResult =
  | { readonly status: 'policy'; readonly policy: PolicyDocument }
  | { readonly status: 'invalid'; readonly kind?: string; readonly name?: string; readonly key?: string; readonly problems: readonly Problem[] }
  | { readonly status: 'skipped'; readonly doc: number; readonly kind: string; readonly apiVersion: string }
  | { readonly status: 'empty' };

class LimitExceeded extends Error {}

export { dns1123SubdomainError };

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestD) { bestD = d; best = k; }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

/** A value from the file, quoted for a message: at most 60 characters of it (a message is no copy of the file). */
function quoted(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

function describeNode(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describe(node.value);
  return 'an alias';
}

/** The scalar as written, for messages. */
function sourceText(node: Scalar): string {
  const s = typeof node.source === 'string' ? node.source : String(node.value);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** Written without quotes or tag: read by the YAML 1.1 rules of the cluster. */
function isPlain(node: Scalar): boolean {
  return (node.type === 'PLAIN' || node.type === undefined) && (node.tag === undefined || node.tag === '');
}

/** `unquoted yes` / `!!int "10"`: how the value was written. */
function written(node: Scalar): string {
  return isPlain(node) ? `unquoted ${sourceText(node)}` : `${node.tag ? `${node.tag.replace('tag:yaml.org,2002:', '!!')} ` : ''}${JSON.stringify(sourceText(node))}`;
}

const ABSENT = Symbol('absent');

/** Walks one document; collects problems and builds the plain value (nulls dropped). */
class Walker {
  readonly problems: Problem[] = [];
  private nodes = 0;
  private readonly file: string;
  private readonly docIndex: number;
  private readonly doc: Document.Parsed;
  private readonly lc: LineCounter;
  private readonly limits: ValidateLimits;

  constructor(file: string, docIndex: number, doc: Document.Parsed, lc: LineCounter, limits: ValidateLimits) {
    this.file = file;
    this.docIndex = docIndex;
    this.doc = doc;
    this.lc = lc;
    this.limits = limits;
  }

  pos(node: Node | null | undefined): { line: number; col: number } {
    const offset = node?.range?.[0] ?? this.doc.range[0];
    const { line, col } = this.lc.linePos(offset);
    return { line, col };
  }

  report(node: Node | null | undefined, path: string, code: string, message: string): void {
    this.problems.push({ file: this.file, doc: this.docIndex, ...this.pos(node), path, message, code });
  }

  /** Anchors by name, in document order. Built once: the library's Alias.resolve searches the whole document each time. */
  private anchors: Map<string, Array<{ offset: number; node: Node }>> | undefined;

  private resolveAlias(name: string, offset: number): Node | undefined {
    if (this.anchors === undefined) {
      const anchors = new Map<string, Array<{ offset: number; node: Node }>>();
      visit(this.doc, {
        Node: (_key, n) => {
          if (n.anchor !== undefined && !isAlias(n)) {
            const list = anchors.get(n.anchor) ?? [];
            list.push({ offset: n.range?.[0] ?? 0, node: n });
            anchors.set(n.anchor, list);
          }
        },
      });
      this.anchors = anchors;
    }
    // An alias refers to the nearest anchor of that name before it.
    let found: Node | undefined;
    for (const a of this.anchors.get(name) ?? []) if (a.offset < offset) found = a.node;
    return found;
  }

  private deref(node: Node, depth: number): Node {
    let n: Node = node;
    for (let hops = 0; isAlias(n); hops++) {
      const target = this.resolveAlias(n.source, n.range?.[0] ?? Infinity);
      if (target === undefined || hops > 100) throw new LimitExceeded(`unresolvable alias *${n.source}`);
      n = target;
    }
    if (++this.nodes > this.limits.maxNodes) {
      throw new LimitExceeded(`document too large: more than ${this.limits.maxNodes} nodes after expanding aliases`);
    }
    if (depth > this.limits.maxDepth) throw new LimitExceeded(`document nested deeper than ${this.limits.maxDepth} levels`);
    return n;
  }

  /** The cluster's reading of a scalar (go-yaml v2, YAML 1.1), once per node. */
  private readonly readings = new WeakMap<Scalar, ClusterScalar>();
  read(node: Scalar): ClusterScalar {
    let r = this.readings.get(node);
    if (r === undefined) { r = clusterScalar(node); this.readings.set(node, r); }
    return r;
  }

  private isNull(node: Node | null | undefined): boolean {
    return node === null || node === undefined || (isScalar(node) && this.read(node).t === 'null');
  }

  /** A scalar the cluster cannot decode at all (a tag that does not fit, a NaN in JSON). */
  private undecodable(raw: Node, node: Scalar, path: string): boolean {
    const r = this.read(node);
    if (r.t === 'error') { this.report(raw, path, CODES.schema, `the cluster cannot decode ${written(node)}: ${r.message}`); return true; }
    if (r.t === 'float' && !Number.isFinite(r.value)) {
      this.report(raw, path, CODES.schema, `the cluster reads ${written(node)} as ${String(r.value)}, which JSON cannot hold, and refuses the document`);
      return true;
    }
    return false;
  }

  /** Returns the value, or ABSENT for null/missing and for values with problems. */
  walk(raw: Node | null | undefined, schema: Schema, path: string, depth: number): unknown {
    if (raw === null || raw === undefined) return ABSENT;
    const node = this.deref(raw, depth);
    if (this.isNull(node)) return ABSENT; // null = absent, as the API server treats it
    if (isScalar(node) && this.undecodable(raw, node, path)) return ABSENT;
    switch (schema.t) {
      case 'any':
        return this.plain(node, path, depth);
      case 'object':
        if (schema.discarded === true) { this.prune(node, schema, path, depth); return ABSENT; }
        return this.walkMap(raw, node, schema, path, depth);
      case 'map':
        return this.walkMap(raw, node, schema, path, depth);
      case 'array': {
        if (!isSeq(node)) { this.report(raw, path, CODES.schema, `must be a list (got ${describeNode(node)})`); return ABSENT; }
        if (schema.maxItems !== undefined && node.items.length > schema.maxItems) {
          this.report(raw, path, CODES.schema, `must have at most ${schema.maxItems} items (got ${node.items.length})`);
        }
        const out: unknown[] = [];
        node.items.forEach((item, i) => {
          const p = `${path}[${i}]`;
          const v = this.walk(item as Node, schema.items, p, depth + 1);
          if (v !== ABSENT) out.push(v);
          else if (this.isNull(item as Node | null)) this.report((item as Node | null) ?? raw, p, CODES.schema, 'list item must not be null');
        });
        return out;
      }
      case 'string': {
        if (!isScalar(node)) { this.report(raw, path, CODES.schema, `must be a string (got ${describeNode(node)})`); return ABSENT; }
        const r = this.read(node);
        if (r.t !== 'string') {
          const fix = isPlain(node) ? `; quote it, "${sourceText(node)}", to mean the text` : '';
          const yaml11 = isPlain(node) && typeof node.value === 'string' ? ' (YAML 1.1, as the API server reads it)' : '';
          this.report(raw, path, CODES.schema, `must be a string, but the cluster reads ${written(node)} as ${describeCluster(r)}${yaml11}${fix}`);
          return ABSENT;
        }
        const s = r.value;
        if (schema.enum !== undefined && !schema.enum.includes(s)) {
          const list = schema.enum.length > 10 ? `a known value${suggest(s, schema.enum)}` : `one of ${schema.enum.join('|')}`;
          this.report(raw, path, CODES.schema, `must be ${list} (got ${quoted(s)})`);
          return ABSENT;
        }
        if (schema.maxLength !== undefined && s.length > schema.maxLength) {
          this.report(raw, path, CODES.schema, `must be at most ${schema.maxLength} characters (got ${s.length})`);
          return ABSENT;
        }
        if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(s)) {
          this.report(raw, path, CODES.schema, `must match ${schema.pattern} (got ${quoted(s)})`);
          return ABSENT;
        }
        if (schema.format !== undefined) {
          const why = schema.format.check(s);
          for (const m of why) this.report(raw, path, CODES.schema, `must be a ${schema.format.name}: ${m}`);
          if (why.length > 0) return ABSENT;
        }
        return s;
      }
      case 'integer': {
        if (!isScalar(node)) { this.report(raw, path, CODES.schema, `must be an integer (got ${describeNode(node)})`); return ABSENT; }
        const r = this.read(node);
        const big = clusterInteger(r);
        if (big === undefined) {
          let why: string;
          let hint = '';
          if (r.t === 'string') { why = `got string ${JSON.stringify(r.value)}`; if (!isPlain(node) && clusterInteger(resolvePlain(r.value)) !== undefined) hint = '; write the number without quotes'; }
          else if (r.t === 'int' || (r.t === 'float' && Number.isInteger(r.value))) why = `the cluster reads ${written(node)} as ${describeCluster(r)}, outside the 64-bit range of an integer`;
          else why = `the cluster reads ${written(node)} as ${describeCluster(r)}${isPlain(node) && typeof node.value === 'string' ? ' (YAML 1.1)' : ''}`;
          this.report(raw, path, CODES.schema, `must be an integer (${why})${hint}`);
          return ABSENT;
        }
        // Written in a form whose YAML 1.1 value is not what it looks like (010 is 8): say so in range errors.
        const naive = typeof node.value === 'number' ? node.value : undefined;
        const note = naive !== Number(big) ? ` (the cluster reads ${written(node)} as ${big.toString()}, YAML 1.1)` : '';
        if (schema.min !== undefined && big < BigInt(schema.min)) { this.report(raw, path, CODES.schema, `must be at least ${schema.min} (got ${big.toString()})${note}`); return ABSENT; }
        if (schema.max !== undefined && big > BigInt(schema.max)) { this.report(raw, path, CODES.schema, `must be at most ${schema.max} (got ${big.toString()})${note}`); return ABSENT; }
        return Number(big);
      }
      case 'boolean': {
        if (!isScalar(node)) { this.report(raw, path, CODES.schema, `must be true or false (got ${describeNode(node)})`); return ABSENT; }
        const r = this.read(node);
        if (r.t === 'bool' && isPlain(node) && typeof node.value === 'string') {
          // yes/no/on/off/y/n: booleans only in YAML 1.1. A documented choice (docs/POLICIES.md).
          this.report(raw, path, CODES.schema,
            `must be true or false: the cluster would accept ${sourceText(node)} as ${String(r.value)} (YAML 1.1), but armorwatch does not, ` +
            `because in YAML 1.2 and to most other tools ${sourceText(node)} is the string ${JSON.stringify(sourceText(node))}; write ${String(r.value)}`);
          return ABSENT;
        }
        if (r.t !== 'bool') {
          this.report(raw, path, CODES.schema, `must be true or false (${r.t === 'string' ? `got string ${JSON.stringify(r.value)}` : `the cluster reads ${written(node)} as ${describeCluster(r)}`})`);
          return ABSENT;
        }
        return r.value;
      }
    }
  }

  /**
   * The JSON key the cluster makes of a mapping key, or undefined (reported) when it cannot make
   * one or makes one that differs from the text (`on:` becomes "true", `010:` becomes "8").
   */
  private key(keyNode: Node | null, raw: Node, path: string, inObject: boolean): string | undefined {
    if (keyNode === null || !isScalar(keyNode)) { this.report(keyNode ?? raw, path, CODES.schema, 'keys must be plain strings'); return undefined; }
    if (this.read(keyNode).t === 'null') { this.report(keyNode, path, CODES.schema, 'keys must be plain strings (the cluster cannot use a null key)'); return undefined; }
    const r = this.read(keyNode);
    const k = clusterKey(r);
    if ('error' in k) { this.report(keyNode, path, CODES.schema, `the cluster cannot use ${written(keyNode)} as a key: ${k.error}`); return undefined; }
    const text = typeof keyNode.source === 'string' ? keyNode.source : String(keyNode.value);
    if (text === '<<' && isPlain(keyNode)) {
      // A YAML 1.1 merge key to go-yaml; armorwatch does not merge (docs/POLICIES.md).
      this.report(keyNode, path, inObject ? CODES.unknownField : CODES.schema, `${inObject ? 'unknown field "<<"' : 'key <<'}: the cluster would merge the mapping it names (a YAML 1.1 merge key), but armorwatch does not support merge keys; write the fields out`);
      return undefined;
    }
    if (k.key !== text) {
      const why = `the cluster reads the ${written(keyNode)} as ${describeCluster(r)}, so the key becomes ${JSON.stringify(k.key)}`;
      if (inObject) this.report(keyNode, path, CODES.unknownField, `unknown field ${JSON.stringify(text)}: ${why}`);
      else this.report(keyNode, path, CODES.schema, `key ${text}: ${why}; quote it, "${text}", to keep the text`);
      return undefined;
    }
    return k.key;
  }

  private walkMap(raw: Node, node: Node, schema: Schema & { t: 'object' | 'map' }, path: string, depth: number): unknown {
    if (!isMap(node)) { this.report(raw, path, CODES.schema, `must be a mapping (got ${describeNode(node)})`); return ABSENT; }
    const out: Record<string, unknown> = {};
    const seen = new Map<string, Node>();
    const present = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = this.key(keyNode, raw, path, schema.t === 'object');
      if (key === undefined) continue;
      const first = seen.get(key);
      if (first !== undefined) {
        const at = this.pos(first);
        this.report(keyNode, path, CODES.duplicateKey, `duplicate key "${key}" (first at line ${at.line}, column ${at.col})`);
        continue;
      }
      seen.set(key, keyNode as Node);
      const childPath = path === '' ? key : `${path}.${key}`;
      let child: Schema | undefined;
      if (schema.t === 'map') {
        child = schema.values;
        const why = schema.keyFormat?.check(key) ?? [];
        for (const m of why) this.report(keyNode, childPath, CODES.schema, `key must be a ${schema.keyFormat!.name}: ${m}`);
        if (why.length > 0) continue;
      } else if (Object.hasOwn(schema.props, key)) child = schema.props[key];
      if (child === undefined) {
        const known = schema.t === 'object' ? Object.keys(schema.props) : [];
        this.report(keyNode, path, CODES.unknownField, `unknown field "${key}"${suggest(key, known)}`);
        continue;
      }
      const valueNode = pair.value as Node | null;
      if (!this.isNull(valueNode)) present.add(key);
      const v = this.walk(valueNode, child, childPath, depth + 1);
      if (v !== ABSENT) out[key] = v;
    }
    if (schema.t === 'object') {
      for (const r of schema.required ?? []) {
        if (present.has(r)) continue;
        const generated = path === 'metadata' && r === 'name' && present.has('generateName')
          ? ' (the cluster would generate one from generateName, but armorwatch needs the stable name a policy file is known by)' : '';
        this.report(raw, path, CODES.schema, `missing required "${r}"${generated}`);
      }
    }
    return out;
  }

  /**
   * A field the API server drops on create (status): what it checks is only that every field name
   * is known (strict field validation runs before the drop), not the values.
   */
  private prune(raw: Node, schema: Schema | undefined, path: string, depth: number): void {
    const node = this.deref(raw, depth);
    if (isSeq(node)) {
      node.items.forEach((item, i) => { if (item !== null) this.prune(item as Node, schema?.t === 'array' ? schema.items : undefined, `${path}[${i}]`, depth + 1); });
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = this.key(pair.key as Node | null, raw, path, true);
      if (key === undefined) continue;
      if (seen.has(key)) { this.report(pair.key as Node, path, CODES.duplicateKey, `duplicate key "${key}"`); continue; }
      seen.add(key);
      const child = schema?.t === 'object' ? (Object.hasOwn(schema.props, key) ? schema.props[key] : undefined) : schema?.t === 'map' ? schema.values : undefined;
      if (child === undefined) { this.report(pair.key as Node, path, CODES.unknownField, `unknown field "${key}"`); continue; }
      if (pair.value !== null) this.prune(pair.value as Node, child, path === '' ? key : `${path}.${key}`, depth + 1);
    }
  }

  /** Plain value of a free-form node as the cluster reads it, under the same budget. */
  private plain(node: Node, path: string, depth: number): unknown {
    const n = this.deref(node, depth);
    if (isScalar(n)) return this.undecodable(n, n, path) ? null : clusterPlainValue(this.read(n));
    if (isSeq(n)) return n.items.map((i, idx) => (i === null ? null : this.plain(i as Node, `${path}[${idx}]`, depth + 1)));
    if (isMap(n)) {
      const o: Record<string, unknown> = {};
      for (const p of n.items) {
        const k = this.key(p.key as Node | null, n, path, false);
        if (k === undefined) continue;
        o[k] = p.value === null ? null : this.plain(p.value as Node, path === '' ? k : `${path}.${k}`, depth + 1);
      }
      return o;
    }
    return null;
  }
}

function topScalar(doc: Document.Parsed, key: string): string | undefined {
  const contents = doc.contents;
  if (!isMap(contents)) return undefined;
  for (const pair of contents.items) {
    if (isScalar(pair.key) && pair.key.value === key) {
      const v = pair.value;
      return isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
    }
  }
  return undefined;
}

/** Validates one parsed document (its YAML syntax errors already handled by the caller). */
export function validateDocument(
  file: string, docIndex: number, doc: Document.Parsed, lc: LineCounter, limits: ValidateLimits = DEFAULT_LIMITS,
): DocumentResult {
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { status: 'empty' };
  const w = new Walker(file, docIndex, doc, lc, limits);
  const kind = topScalar(doc, 'kind');
  const apiVersion = topScalar(doc, 'apiVersion');
  const name = isMap(doc.contents) ? (() => {
    const meta = doc.contents.get('metadata', true);
    return isMap(meta) ? (meta.get('name') as unknown) : undefined;
  })() : undefined;
  const nameStr = typeof name === 'string' ? name : undefined;
  // The key of an invalid document lets a reload keep that policy's last valid version in force.
  const key = (): string | undefined => {
    if (kind === undefined || nameStr === undefined || !(POLICY_KINDS as readonly string[]).includes(kind)) return undefined;
    const meta = isMap(doc.contents) ? doc.contents.get('metadata', true) : undefined;
    const ns = isMap(meta) ? meta.get('namespace') : undefined;
    return policyKey(kind, kind === 'KubeArmorPolicy' ? (typeof ns === 'string' ? ns : 'default') : undefined, nameStr);
  };
  const invalid = (): DocumentResult => {
    const k = key();
    return { status: 'invalid', ...(kind ? { kind } : {}), ...(nameStr ? { name: nameStr } : {}), ...(k ? { key: k } : {}), problems: w.problems };
  };

  if (!isMap(doc.contents)) {
    // Not echoed: a file that is not a policy at all (a key pasted by mistake) must not show in logs.
    const c = doc.contents as Node;
    const got = isScalar(c) && typeof c.value === 'string' ? `a string of ${c.value.length} characters` : isScalar(c) ? typeof c.value : describeNode(c);
    w.report(c, '', CODES.schema, `a policy document must be a mapping (got ${got})`);
    return invalid();
  }
  if (kind === undefined || !(POLICY_KINDS as readonly string[]).includes(kind)) {
    // Other kinds (a ConfigMap, a Deployment) may share the folder: skipped, not errors. A misspelt
    // kind in KubeArmor's own group is an error, since the author clearly meant a policy.
    const group = apiVersion?.split('/')[0];
    if (group === 'security.kubearmor.com') {
      w.report(doc.contents.get('kind', true) as Node ?? doc.contents, 'kind', CODES.kind,
        kind === undefined ? 'missing required "kind"' : `unknown kind ${quoted(kind)}${suggest(kind, POLICY_KINDS)}`);
      return invalid();
    }
    if (kind === undefined) {
      w.report(doc.contents, '', CODES.kind, 'missing required "kind"');
      return invalid();
    }
    return { status: 'skipped', doc: docIndex, kind, apiVersion: apiVersion ?? '' };
  }
  const policyKind = kind as PolicyKind;
  let value: Record<string, unknown>;
  try {
    value = w.walk(doc.contents, DOCUMENT_SCHEMAS[policyKind], '', 0) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof LimitExceeded)) throw err;
    w.report(doc.contents, '', CODES.limit, err.message);
    return invalid();
  }
  if (apiVersion !== undefined && apiVersion !== API_VERSION) {
    w.report(doc.contents.get('apiVersion', true) as Node, 'apiVersion', CODES.apiVersion, `must be ${API_VERSION} (got ${quoted(apiVersion)})`);
  }
  const metaNode = doc.contents.get('metadata', true);
  const metaField = (f: string): Node => {
    const n = isMap(metaNode) ? metaNode.get(f.split(/[.[]/)[0], true) as Node | undefined : undefined;
    return n ?? (metaNode as Node | undefined) ?? doc.contents as Node;
  };
  if (nameStr !== undefined) {
    const why = dns1123SubdomainError(nameStr);
    if (why !== null) w.report(metaField('name'), 'metadata.name', CODES.name, why);
  }
  const metaValue = (value as { metadata?: Record<string, unknown> } | typeof ABSENT) === ABSENT ? undefined : value.metadata as Record<string, unknown> | undefined;
  if (metaValue !== undefined) {
    // A cluster-scoped kind's namespace is cleared by the API server, whatever it holds.
    if (policyKind === 'KubeArmorPolicy' && typeof metaValue.namespace === 'string') {
      for (const m of FORMATS.dnsLabel.check(metaValue.namespace)) w.report(metaField('namespace'), 'metadata.namespace', CODES.name, m);
    }
    for (const p of checkObjectMeta(metaValue)) w.report(metaField(p.field), `metadata.${p.field}`, CODES.schema, p.message);
  }
  if (w.problems.length > 0 || value === ABSENT as unknown) return invalid();
  const meta = value.metadata as { name: string; namespace?: string };
  const namespace = policyKind === 'KubeArmorPolicy' ? (meta.namespace ?? 'default') : undefined;
  const spec = (value.spec ?? {}) as PolicySpec;
  const hash = createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
  return {
    status: 'policy',
    policy: {
      kind: policyKind, name: meta.name, namespace, key: policyKey(policyKind, namespace, meta.name),
      source: { file, doc: docIndex, line: w.pos(doc.contents).line }, spec, hash,
    },
  };
}
