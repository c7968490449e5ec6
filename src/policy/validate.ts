// Validation of one YAML document against the schema in schema.ts. Walks the YAML syntax tree
// (not a converted object) so that every problem has its line and column, duplicate keys are
// seen, and aliases are expanded under a budget (an alias bomb costs a bounded amount of work).
import { createHash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, visit, type Document, type LineCounter, type Node } from 'yaml';
import type { PolicyKind } from '../types.ts';
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

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `name` is not a DNS-1123 subdomain, or null when it is one. */
export function dns1123SubdomainError(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 253) return `must be at most 253 characters (got ${name.length})`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return null;
}

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

  /** Returns the value, or ABSENT for null/missing and for values with problems. */
  walk(raw: Node | null | undefined, schema: Schema, path: string, depth: number): unknown {
    if (raw === null || raw === undefined) return ABSENT;
    const node = this.deref(raw, depth);
    if (isScalar(node) && node.value === null) return ABSENT; // null = absent, as the API server treats it
    switch (schema.t) {
      case 'any':
        return this.plain(node, depth);
      case 'object':
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
          else if (item === null || (isScalar(item) && item.value === null)) this.report((item as Node | null) ?? raw, p, CODES.schema, 'list item must not be null');
        });
        return out;
      }
      case 'string': {
        if (!isScalar(node) || typeof node.value !== 'string') {
          this.report(raw, path, CODES.schema, `must be a string (got ${describeNode(node)})`);
          return ABSENT;
        }
        const s = node.value;
        if (schema.enum !== undefined && !schema.enum.includes(s)) {
          const list = schema.enum.length > 10 ? `a known value${suggest(s, schema.enum)}` : `one of ${schema.enum.join('|')}`;
          this.report(raw, path, CODES.schema, `must be ${list} (got ${JSON.stringify(s)})`);
          return ABSENT;
        }
        if (schema.maxLength !== undefined && s.length > schema.maxLength) {
          this.report(raw, path, CODES.schema, `must be at most ${schema.maxLength} characters (got ${s.length})`);
          return ABSENT;
        }
        if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(s)) {
          this.report(raw, path, CODES.schema, `must match ${schema.pattern} (got ${JSON.stringify(s)})`);
          return ABSENT;
        }
        return s;
      }
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
          this.report(raw, path, CODES.schema, `must be an integer (got ${describeNode(node)})`);
          return ABSENT;
        }
        const n = node.value;
        if (schema.min !== undefined && n < schema.min) { this.report(raw, path, CODES.schema, `must be at least ${schema.min} (got ${n})`); return ABSENT; }
        if (schema.max !== undefined && n > schema.max) { this.report(raw, path, CODES.schema, `must be at most ${schema.max} (got ${n})`); return ABSENT; }
        return n;
      }
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean') {
          this.report(raw, path, CODES.schema, `must be true or false (got ${describeNode(node)})`);
          return ABSENT;
        }
        return node.value;
    }
  }

  private walkMap(raw: Node, node: Node, schema: Schema & { t: 'object' | 'map' }, path: string, depth: number): unknown {
    if (!isMap(node)) { this.report(raw, path, CODES.schema, `must be a mapping (got ${describeNode(node)})`); return ABSENT; }
    const out: Record<string, unknown> = {};
    const seen = new Map<string, Node>();
    const present = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = keyNode !== null && isScalar(keyNode) && (typeof keyNode.value === 'string' || typeof keyNode.value === 'number' || typeof keyNode.value === 'boolean')
        ? String(keyNode.value) : undefined;
      if (key === undefined) { this.report(keyNode ?? raw, path, CODES.schema, 'keys must be plain strings'); continue; }
      const first = seen.get(key);
      if (first !== undefined) {
        const at = this.pos(first);
        this.report(keyNode, path, CODES.duplicateKey, `duplicate key "${key}" (first at line ${at.line}, column ${at.col})`);
        continue;
      }
      seen.set(key, keyNode as Node);
      const childPath = path === '' ? key : `${path}.${key}`;
      let child: Schema | undefined;
      if (schema.t === 'map') child = schema.values;
      else if (Object.hasOwn(schema.props, key)) child = schema.props[key];
      if (child === undefined) {
        const known = schema.t === 'object' ? Object.keys(schema.props) : [];
        this.report(keyNode, path, CODES.unknownField, `unknown field "${key}"${suggest(key, known)}`);
        continue;
      }
      const valueNode = pair.value as Node | null;
      if (!(valueNode === null || (isScalar(valueNode) && valueNode.value === null))) present.add(key);
      const v = this.walk(valueNode, child, childPath, depth + 1);
      if (v !== ABSENT) out[key] = v;
    }
    if (schema.t === 'object') {
      for (const r of schema.required ?? []) {
        if (!present.has(r)) this.report(raw, path, CODES.schema, `missing required "${r}"`);
      }
    }
    return out;
  }

  /** Plain value of a free-form node, under the same budget. */
  private plain(node: Node, depth: number): unknown {
    const n = this.deref(node, depth);
    if (isScalar(n)) return n.value;
    if (isSeq(n)) return n.items.map((i) => this.plain(i as Node, depth + 1));
    if (isMap(n)) {
      const o: Record<string, unknown> = {};
      for (const p of n.items) {
        const k = isScalar(p.key) ? String(p.key.value) : '?';
        o[k] = p.value === null ? null : this.plain(p.value as Node, depth + 1);
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
        kind === undefined ? 'missing required "kind"' : `unknown kind "${kind}"${suggest(kind, POLICY_KINDS)}`);
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
    w.report(doc.contents.get('apiVersion', true) as Node, 'apiVersion', CODES.apiVersion, `must be ${API_VERSION} (got ${JSON.stringify(apiVersion)})`);
  }
  if (nameStr !== undefined) {
    const why = dns1123SubdomainError(nameStr);
    const meta = doc.contents.get('metadata', true);
    if (why !== null) w.report(isMap(meta) ? meta.get('name', true) as Node : doc.contents, 'metadata.name', CODES.name, why);
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
