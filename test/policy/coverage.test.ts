// Nothing of a policy is accepted and then silently ignored: every field of the three CRD schemas
// is either acted on by the engine (setting it changes the compiled rules), used to select
// workloads, or reported as unobserved by validate and at load. Plus the public corpus's count.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { FIELDS, unobservedFields, unobservedSections, UNOBSERVED_PARTS, UNOBSERVED_SECTIONS, type FieldUse } from '../../src/policy/coverage.ts';
import { compilePolicies } from '../../src/policy/engine.ts';
import { loadPolicies, parsePolicyText } from '../../src/policy/load.ts';
import type { PolicyDocument } from '../../src/policy/types.ts';
import type { PolicyKind } from '../../src/types.ts';
import { sharedDir } from './shared-dir.ts';

const KINDS: readonly PolicyKind[] = ['KubeArmorPolicy', 'KubeArmorClusterPolicy', 'KubeArmorHostPolicy'];

interface SchemaNode { type?: string; properties?: Record<string, SchemaNode>; items?: SchemaNode }

/** Leaf field paths of a CRD's spec, `[]` for list items. */
function crdFields(kind: PolicyKind): string[] {
  const crd = parse(readFileSync(join(sharedDir(), 'policies', 'crd', `${kind}.yaml`), 'utf8')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: SchemaNode } }> } };
  const out: string[] = [];
  const walk = (s: SchemaNode, path: string): void => {
    if (s.type === 'object' && s.properties !== undefined) { for (const [k, v] of Object.entries(s.properties)) walk(v, `${path}.${k}`); return; }
    if (s.type === 'array') { walk(s.items ?? {}, `${path}[]`); return; }
    out.push(path);
  };
  walk(crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!, 'spec');
  return out;
}

function doc(kind: PolicyKind, spec: Record<string, unknown>): PolicyDocument {
  const base: Record<string, unknown> = kind === 'KubeArmorHostPolicy'
    ? { nodeSelector: { matchLabels: { 'kubearmor.io/hostname': '*' } } }
    : { selector: kind === 'KubeArmorPolicy' ? { matchLabels: { app: 'web' } } : { matchExpressions: [{ key: 'namespace', operator: 'In', values: ['shop'] }] } };
  const text = stringify({ apiVersion: 'security.kubearmor.com/v1', kind, metadata: { name: 'cov', ...(kind === 'KubeArmorPolicy' ? { namespace: 'shop' } : {}) }, spec: { ...base, ...spec } });
  const r = parsePolicyText('cov.yaml', text);
  const d = r.documents[0];
  assert.ok(d !== undefined && d.status === 'policy', `valid: ${text}\n${d?.status === 'invalid' ? d.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : ''}`);
  return d.policy;
}

/** A value the schema accepts for a leaf, different from the default the engine assumes. */
function valueFor(path: string): unknown {
  const leaf = path.slice(path.lastIndexOf('.') + 1).replace('[]', '');
  const values: Record<string, unknown> = {
    path: path.includes('fromSource') ? '/bin/src' : path.startsWith('spec.syscalls') ? '/etc/y' : '/bin/y',
    dir: '/d/', pattern: '/p/*/q', execname: 'tool', recursive: true, ownerOnly: true, readOnly: true, pts: false,
    allowedArgs: 'arg', action: 'Audit', severity: 9, tags: 'tag', message: 'msg', syscall: 'unlinkat', protocol: 'udp',
  };
  assert.ok(leaf in values, `a test value for ${path}`);
  return values[leaf];
}

/** The minimal rule each list needs to be valid, so that one field can be set on it. */
const BASE_RULE: Record<string, Record<string, unknown>> = {
  'spec.file.matchPaths[]': { path: '/bin/x' },
  'spec.file.matchDirectories[]': { dir: '/x/' },
  'spec.file.matchPatterns[]': { pattern: '/x/*' },
  'spec.process.matchPaths[]': { path: '/bin/x' },
  'spec.process.matchDirectories[]': { dir: '/x/' },
  'spec.process.matchPatterns[]': { pattern: '/x/*' },
  'spec.syscalls.matchSyscalls[]': { syscall: ['unlink'] },
  'spec.syscalls.matchPaths[]': { syscall: ['chmod'], path: '/etc/x' },
  'spec.network.matchProtocols[]': { protocol: 'tcp' },
};

/** The list a section-level field is inherited by. */
const SECTION_LIST: Record<string, string> = { syscalls: 'matchSyscalls', network: 'matchProtocols' };

/** A spec with one rule of the field's list, and the field set (or not). */
function specWith(path: string, set: boolean): Record<string, unknown> {
  const list = Object.keys(BASE_RULE).find((l) => path.startsWith(`${l}.`));
  const spec: Record<string, unknown> = {};
  const section = (list ?? path).split('.')[1] as string;
  const rule = list === undefined ? { ...BASE_RULE[`spec.${section}.${SECTION_LIST[section] ?? 'matchPaths'}[]`] } : { ...BASE_RULE[list] };
  const sectionObj: Record<string, unknown> = {};
  const listName = list === undefined ? (SECTION_LIST[section] ?? 'matchPaths') : list.split('.')[2]!.replace('[]', '');
  sectionObj[listName] = [rule];
  if (section !== 'file' && section !== 'process' && section !== 'syscalls' && section !== 'network') {
    // spec-level fields: inherited by a file rule.
    spec.file = { matchPaths: [{ path: '/bin/x' }] };
    if (set) spec[path.slice(5).replace('[]', '')] = path.endsWith('[]') ? [valueFor(path)] : valueFor(path);
    return spec;
  }
  spec[section] = sectionObj;
  if (!set) return spec;
  const rest = list === undefined ? path.slice(`spec.${section}.`.length) : path.slice(list.length + 1);
  const target = list === undefined ? sectionObj : rule;
  const parts = rest.split('.');
  if (parts.length === 2 && parts[0] === 'fromSource[]') {
    const src: Record<string, unknown> = { [parts[1]!]: valueFor(path) };
    if (parts[1] === 'recursive') src.dir = '/d/';
    target.fromSource = [src];
  } else {
    const key = parts[0]!.replace('[]', '');
    target[key] = parts[0]!.endsWith('[]') ? [valueFor(path)] : valueFor(path);
  }
  return spec;
}

function compiled(d: PolicyDocument): string {
  const e = compilePolicies([d]);
  const plain = (v: unknown): unknown => (v instanceof Set ? [...v] : v instanceof RegExp ? String(v) : v);
  return JSON.stringify([e.rules, e.processRules, e.syscallRules, e.networkRules], (_k, v: unknown) => plain(v));
}

test('every field of the three CRD schemas is in the coverage table, and the table names no field the CRDs lack', () => {
  const all = new Set<string>();
  for (const kind of KINDS) {
    for (const f of crdFields(kind)) {
      all.add(f);
      assert.ok(f in FIELDS, `${kind}: ${f} is acted on, selects, or is reported as unobserved (add it to FIELDS in src/policy/coverage.ts)`);
    }
  }
  for (const f of Object.keys(FIELDS)) assert.ok(all.has(f), `${f} is a CRD field`);
  assert.ok(all.size > 100, `walked ${all.size} fields`);
});

test('each field the engine claims changes the compiled rules when set (pts and allowedArgs included)', () => {
  const engineFields = Object.entries(FIELDS).filter(([, use]) => use === 'engine').map(([f]) => f);
  assert.ok(engineFields.includes('spec.file.matchPaths[].pts') && engineFields.includes('spec.process.matchPaths[].allowedArgs[]'));
  assert.ok(engineFields.includes('spec.network.matchProtocols[].pts') && engineFields.includes('spec.network.matchProtocols[].fromSource[].path'));
  for (const f of engineFields) {
    const without = compiled(doc('KubeArmorPolicy', specWith(f, false)));
    const withField = compiled(doc('KubeArmorPolicy', specWith(f, true)));
    assert.notEqual(withField, without, `${f} changes what the engine compiled`);
  }
});

test('each unobserved field is reported, for every kind that has it', () => {
  const samples: Record<Exclude<FieldUse, 'engine' | 'selector'>, Record<string, unknown>> = {
    dns: { network: { matchDNSQueries: [{ domain: 'example.com' }] } },
    capabilities: { capabilities: { matchCapabilities: [{ capability: 'net_raw' }] } },
    device: { device: { matchDevice: [{ class: 'MASS-STORAGE' }] } },
    presets: { presets: [{ name: 'filelessExec' }] },
    apparmor: { apparmor: 'profile' },
  };
  for (const kind of KINDS) {
    const fieldsOfKind = new Set(crdFields(kind));
    for (const [section, spec] of Object.entries(samples)) {
      const part = section in UNOBSERVED_PARTS ? UNOBSERVED_PARTS[section as keyof typeof UNOBSERVED_PARTS] : undefined;
      const path = part?.path ?? `spec.${section}`;
      if (![...fieldsOfKind].some((f) => f.startsWith(path))) continue;
      const withSource = kind === 'KubeArmorHostPolicy' && section === 'capabilities'
        ? { capabilities: { matchCapabilities: [{ capability: 'net_raw', fromSource: [{ path: '/bin/x' }] }] } }
        : spec;
      const u = unobservedFields(doc(kind, withSource));
      assert.deepEqual(u.map((x) => x.path), [path], `${kind} ${section}`);
      assert.equal(u[0]!.message, part?.message ?? UNOBSERVED_SECTIONS[section as keyof typeof UNOBSERVED_SECTIONS]);
    }
  }
  const sys = unobservedFields(doc('KubeArmorPolicy', { syscalls: { matchSyscalls: [{ syscall: ['unlink', 'ptrace'] }], matchPaths: [{ path: '/etc/x' }] } }));
  assert.deepEqual(sys.map((x) => x.path), ['spec.syscalls.matchSyscalls[0].syscall[1]', 'spec.syscalls.matchPaths[0]']);
  // The network calls are observed through their events; a call outside the table is still reported, naming the observed ones.
  const net = unobservedFields(doc('KubeArmorPolicy', { syscalls: { matchSyscalls: [{ syscall: ['connect', 'bind', 'setuid', 'accept4'] }] } }));
  assert.deepEqual(net.map((x) => x.path), ['spec.syscalls.matchSyscalls[0].syscall[2]']);
  assert.match(net[0]!.message, /^setuid is not observed: armorwatch sees .*\bconnect\b.*\blisten\b/);
  assert.deepEqual(unobservedFields(doc('KubeArmorPolicy', { file: { matchPaths: [{ path: '/etc/x', pts: false }] }, process: { matchPaths: [{ execname: 'apt' }] } })), []);
  assert.deepEqual(unobservedFields(doc('KubeArmorPolicy', { network: { matchProtocols: [{ protocol: 'TCP', pts: false }, { protocol: 'icmpv6' }, { protocol: 'all' }] } })), [], 'network protocol rules are observed, in either case');
  // The CRD's pattern is anchored only at the end, so a name ending in a known one passes the schema: the rule matches nothing, and says so.
  const odd = unobservedFields(doc('KubeArmorPolicy', { network: { matchProtocols: [{ protocol: 'tcp' }, { protocol: 'xtcp' }] } }));
  assert.deepEqual(odd.map((x) => x.path), ['spec.network.matchProtocols[1].protocol']);
  assert.match(odd[0]!.message, /"xtcp" is not a protocol armorwatch knows, so the rule matches nothing/);
});

test('validate prints one warning per document with unobserved parts and keeps its exit status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-cov-'));
  writeFileSync(join(dir, 'caps.yaml'), stringify({ apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy', metadata: { name: 'caps', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, capabilities: { matchCapabilities: [{ capability: 'net_raw' }] }, network: { matchProtocols: [{ protocol: 'icmp' }], matchDNSQueries: [{ domain: 'example.com' }] } } }));
  writeFileSync(join(dir, 'file.yaml'), stringify({ apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy', metadata: { name: 'plain', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, file: { matchPaths: [{ path: '/etc/shadow' }] } } }));
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'validate', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stdout.split('\n').filter((l) => l.includes('warning:'));
  assert.equal(warnings.length, 1, r.stdout);
  assert.match(warnings[0]!, /caps\.yaml:1: warning: KubeArmorPolicy\/shop\/caps: not observed on this node: spec\.capabilities \(capability rules are not observed on this node.*\); spec\.network\.matchDNSQueries \(DNS query rules are not observed/);
  assert.doesNotMatch(warnings[0]!, /matchProtocols\[/, 'the protocol rule is observed');
});

test('the public corpus: documents whose every section is observed, and those with parts reported unobserved', async (t) => {
  const loaded = await loadPolicies([join(sharedDir(), 'policies', 'corpus')]);
  const bySection = new Map<string, number>();
  let clean = 0;
  let process = 0;
  for (const d of loaded.policies) {
    const u = unobservedFields(d);
    if (u.length === 0) clean++;
    for (const s of new Set(u.map((x) => x.path.replace(/\[.*$/, '').replace(/^spec\.syscalls\..*/, 'spec.syscalls (unobserved calls)')))) bySection.set(s, (bySection.get(s) ?? 0) + 1);
    if (d.spec.process !== undefined) process++;
  }
  const summary = `${loaded.policies.length} valid documents: ${clean} observed in full, ${loaded.policies.length - clean} with parts reported unobserved (${[...bySection].map(([s, n]) => `${s}: ${n}`).join(', ')}); ${process} with process rules now decided`;
  t.diagnostic(summary);
  assert.equal(clean + (loaded.policies.length - clean), loaded.policies.length);
  assert.ok(process > 0, summary);
  // Every process section compiles to rules the engine decides on (none is loaded and dropped).
  for (const d of loaded.policies) {
    if (d.spec.process !== undefined) assert.ok(compilePolicies([d]).processRules.length > 0, `${d.key}: its process rules are compiled`);
  }
  // Every document is either observed in full or says what is not.
  for (const d of loaded.policies) {
    const hasUnobservedSection = Object.keys(UNOBSERVED_SECTIONS).some((s) => d.spec[s] !== undefined && d.spec[s] !== null);
    if (hasUnobservedSection) assert.ok(unobservedFields(d).length > 0, d.key);
  }
});

test('the public corpus network policies: every matchProtocols rule is compiled and observed, and validate says nothing about them', async (t) => {
  const corpus = join(sharedDir(), 'policies', 'corpus');
  // Counted from the files' text, apart from the loader: documents in files with matchProtocols, less those the corpus marks invalid.
  const files = (readdirSync(corpus, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml') && readFileSync(join(corpus, f), 'utf8').includes('matchProtocols:'));
  const documents = files.reduce((n, f) => n + (readFileSync(join(corpus, f), 'utf8').match(/^kind:/gm)?.length ?? 0), 0);
  const invalid = readFileSync(join(corpus, 'expected-invalid.tsv'), 'utf8').split('\n').filter((l) => l.includes('matchProtocols')).length;
  const loaded = await loadPolicies([corpus]);
  const network = loaded.policies.filter((d) => (d.spec.network?.matchProtocols?.length ?? 0) > 0);
  t.diagnostic(`${network.length} corpus documents with network protocol rules (${files.length} files, ${invalid} document marked invalid)`);
  assert.equal(network.length, documents - invalid);
  assert.ok(network.length >= 30, `${network.length}`);
  for (const d of network) {
    assert.equal(compilePolicies([d]).networkRules.length, d.spec.network!.matchProtocols!.length, `${d.key}: every rule compiled`);
    assert.deepEqual(unobservedFields(d).filter((u) => u.path.startsWith('spec.network')).map((u) => u.path), [], `${d.key}: observed`);
  }
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'validate', corpus], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const warnings = r.stdout.split('\n').filter((l) => l.includes('warning:'));
  assert.deepEqual(warnings.filter((l) => /spec\.network(?!\.matchDNSQueries)/.test(l)), [], 'no network protocol rule is reported unobserved');
  assert.equal(warnings.filter((l) => l.includes('spec.network.matchDNSQueries (DNS query rules are not observed')).length, 1, 'the one DNS policy says its DNS rules are not observed');
});

test('unobserved sections by name, for metrics and health: a DNS rule is `network.matchDNSQueries`, protocol rules are no section', () => {
  const dns = doc('KubeArmorPolicy', { network: { matchProtocols: [{ protocol: 'tcp' }], matchDNSQueries: [{ domain: 'example.com' }] } });
  const odd = { ...doc('KubeArmorPolicy', { network: { matchProtocols: [{ protocol: 'xtcp' }] } }), key: 'KubeArmorPolicy/shop/odd' };
  const tcp = { ...doc('KubeArmorPolicy', { network: { matchProtocols: [{ protocol: 'udp' }] } }), key: 'KubeArmorPolicy/shop/udp' };
  assert.deepEqual(unobservedSections([dns, odd, tcp]), { 'network.matchDNSQueries': ['KubeArmorPolicy/shop/cov'], 'network.matchProtocols': ['KubeArmorPolicy/shop/odd'] });
});
