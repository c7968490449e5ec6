// What armorwatch does with every field of a policy: acted on by the engine, used to select
// workloads, or not observed on this node — and, per loaded document, the list of its sections and
// values that are not observed, so that validate, run and health can say so loudly. Nothing of a
// policy is accepted and then silently ignored: test/policy/coverage.test.ts walks every field of
// the three CRD schemas against FIELDS.
import type { PolicyDocument } from './types.ts';
import { PROTOCOL_NAMES, protocolBits } from './network-rules.ts';
import { OBSERVED_SYSCALLS } from './syscall-rules.ts';

/** Stable code of an unobserved-field warning. */
export const UNOBSERVED_CODE = 'AW_POLICY_UNOBSERVED';

/** Why a whole section is not observed. */
export const UNOBSERVED_SECTIONS = {
  capabilities: 'capability rules are not observed on this node: the kernel offers no hook for capability checks (no kprobes; fentry and BPF LSM refused)',
  apparmor: 'an AppArmor profile is enforcement; armorwatch only observes and does not load it',
  device: 'device rules are not observed: armorwatch has no device (USB) monitor',
  presets: 'presets are not observed: armorwatch implements no preset rules',
} as const;
export type UnobservedSection = keyof typeof UNOBSERVED_SECTIONS;

/** Parts of an observed section that are not observed: where they are, and why. */
export const UNOBSERVED_PARTS = {
  dns: {
    path: 'spec.network.matchDNSQueries',
    message: 'DNS query rules are not observed: armorwatch sees sockets and connections (matchProtocols), not the names queried over them',
  },
} as const;
export type UnobservedPart = keyof typeof UNOBSERVED_PARTS;

/**
 * Every field of the CRDs' spec (paths as in the schema, `[]` for list items), and what armorwatch
 * does with it: `engine` (decides alerts), `selector` (decides which workloads a policy applies
 * to), or the unobserved section it belongs to.
 */
export type FieldUse = 'engine' | 'selector' | UnobservedSection | UnobservedPart;

const COMMON = ['action', 'severity', 'message', 'tags[]'] as const;

function fields(): Record<string, FieldUse> {
  const out: Record<string, FieldUse> = {};
  const set = (use: FieldUse, prefix: string, names: readonly string[]): void => { for (const n of names) out[`${prefix}.${n}`] = use; };
  set('engine', 'spec', COMMON);
  set('selector', 'spec', ['selector.matchLabels', 'selector.matchExpressions[].key', 'selector.matchExpressions[].operator', 'selector.matchExpressions[].values[]', 'nodeSelector.matchLabels']);
  for (const kind of ['file', 'process'] as const) {
    set('engine', `spec.${kind}`, COMMON);
    const extra = kind === 'file' ? ['readOnly'] : [];
    set('engine', `spec.${kind}.matchPaths[]`, [...COMMON, 'path', 'fromSource[].path', 'ownerOnly', 'pts', ...extra, ...(kind === 'process' ? ['execname', 'allowedArgs[]'] : [])]);
    set('engine', `spec.${kind}.matchDirectories[]`, [...COMMON, 'dir', 'recursive', 'fromSource[].path', 'ownerOnly', 'pts', ...extra]);
    set('engine', `spec.${kind}.matchPatterns[]`, [...COMMON, 'pattern', 'ownerOnly', ...extra]);
  }
  set('engine', 'spec.syscalls', ['severity', 'message', 'tags[]']);
  for (const m of ['matchSyscalls', 'matchPaths']) {
    set('engine', `spec.syscalls.${m}[]`, ['syscall[]', 'fromSource[].path', 'fromSource[].dir', 'fromSource[].recursive', ...(m === 'matchPaths' ? ['path', 'recursive'] : [])]);
  }
  set('engine', 'spec.network', COMMON);
  set('engine', 'spec.network.matchProtocols[]', [...COMMON, 'protocol', 'fromSource[].path', 'pts']);
  set('dns', 'spec.network.matchDNSQueries[]', [...COMMON, 'domain', 'fromSource[].path']);
  set('capabilities', 'spec.capabilities', COMMON);
  set('capabilities', 'spec.capabilities.matchCapabilities[]', [...COMMON, 'capability', 'fromSource[].path']);
  set('device', 'spec.device', COMMON);
  set('device', 'spec.device.matchDevice[]', [...COMMON, 'class', 'level', 'protocol', 'subClass']);
  set('presets', 'spec.presets[]', ['name', 'action']);
  out['spec.apparmor'] = 'apparmor';
  return out;
}

export const FIELDS: Readonly<Record<string, FieldUse>> = Object.freeze(fields());

/** One part of a loaded document that armorwatch does not observe. */
export interface Unobserved {
  /** Field path in the document (`spec.capabilities`, `spec.syscalls.matchSyscalls[0].syscall[1]`). */
  readonly path: string;
  readonly message: string;
  readonly code: typeof UNOBSERVED_CODE;
}

function present(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return v !== '';
}

/** The sections and values of a document that armorwatch does not observe (empty when it observes all of it). */
export function unobservedFields(doc: PolicyDocument): Unobserved[] {
  const out: Unobserved[] = [];
  const spec = doc.spec as Readonly<Record<string, unknown>>;
  for (const section of Object.keys(UNOBSERVED_SECTIONS) as UnobservedSection[]) {
    if (present(spec[section])) out.push({ path: `spec.${section}`, message: UNOBSERVED_SECTIONS[section], code: UNOBSERVED_CODE });
  }
  for (const part of Object.values(UNOBSERVED_PARTS)) {
    const [section, field] = part.path.slice('spec.'.length).split('.') as [string, string];
    const value = (spec[section] as Readonly<Record<string, unknown>> | null | undefined)?.[field];
    if (present(value)) out.push({ path: part.path, message: part.message, code: UNOBSERVED_CODE });
  }
  (doc.spec.network?.matchProtocols ?? []).forEach((rule, i) => {
    if (protocolBits(rule.protocol) === undefined) {
      out.push({
        path: `spec.network.matchProtocols[${i}].protocol`,
        message: `"${rule.protocol}" is not a protocol armorwatch knows, so the rule matches nothing (known: ${PROTOCOL_NAMES.join(', ')}, any case)`,
        code: UNOBSERVED_CODE,
      });
    }
  });
  const sys = doc.spec.syscalls;
  for (const m of ['matchSyscalls', 'matchPaths'] as const) {
    (sys?.[m] ?? []).forEach((rule, i) => {
      const calls = rule.syscall ?? [];
      if (calls.length === 0) {
        out.push({ path: `spec.syscalls.${m}[${i}]`, message: 'lists no syscall, so it matches nothing', code: UNOBSERVED_CODE });
      }
      calls.forEach((call, j) => {
        if (!OBSERVED_SYSCALLS.has(call)) {
          out.push({
            path: `spec.syscalls.${m}[${i}].syscall[${j}]`,
            message: `${call} is not observed: armorwatch sees ${[...OBSERVED_SYSCALLS].join(', ')}`,
            code: UNOBSERVED_CODE,
          });
        }
      });
    });
  }
  return out;
}

/**
 * The policies (keys, sorted) with each unobserved part, by section of the spec (`capabilities`,
 * `network`, `apparmor`, `device`, `presets`, `syscalls`): what health and metrics report.
 */
export function unobservedSections(docs: Iterable<PolicyDocument>): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const doc of docs) {
    for (const u of unobservedFields(doc)) {
      // The network section is observed; only its parts can be unobserved (`network.matchDNSQueries`).
      const section = /^spec\.(network\.[A-Za-z]+|[A-Za-z]+)/.exec(u.path)?.[1] ?? u.path;
      (out[section] ??= new Set()).add(doc.key);
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
}

/**
 * The one warning line of a document with unobserved parts, as validate prints it (the line is the
 * document's first): `file:line: warning: kind/namespace/name: not observed: path (why); path (why)`.
 */
export function formatUnobserved(doc: PolicyDocument, list: readonly Unobserved[], file: string = doc.source.file): string {
  return `${file}:${doc.source.line}: warning: ${doc.key}: not observed on this node: ${list.map((u) => `${u.path} (${u.message})`).join('; ')}`;
}

/** Stable code of the warning for one policy name given by more than one document. */
export const SAME_NAME_CODE = 'AW_POLICY_SAME_NAME';

/**
 * Policies named (kind, namespace, name) by more than one document, each with its documents in load
 * order. Every one of them is in force here, where a cluster keeps one object per name (the last one
 * applied), so the difference is said out loud (validate and run), never left silent.
 */
export function sameNamed(policies: readonly PolicyDocument[]): Array<{ key: string; docs: PolicyDocument[] }> {
  const byKey = new Map<string, PolicyDocument[]>();
  for (const p of policies) {
    const list = byKey.get(p.key);
    if (list === undefined) byKey.set(p.key, [p]); else list.push(p);
  }
  return [...byKey].filter(([, docs]) => docs.length > 1).map(([key, docs]) => ({ key, docs }));
}

/**
 * The warning for one name given by several documents, on the first one's line, as validate prints
 * it: `file:line: warning: kind/namespace/name: defined again by file:line, ...: ...`.
 */
export function formatSameNamed(key: string, docs: readonly PolicyDocument[], file: (d: PolicyDocument) => string = (d) => d.source.file): string {
  return `${file(docs[0]!)}:${docs[0]!.source.line}: warning: ${sameNamedMessage(key, docs, file)}`;
}

/** The same warning without its place (the agent's log line carries the files as a field). */
export function sameNamedMessage(key: string, docs: readonly PolicyDocument[], file: (d: PolicyDocument) => string = (d) => d.source.file): string {
  return `${key}: defined again by ${docs.slice(1).map((d) => `${file(d)}:${d.source.line}`).join(', ')}: ` +
    'all of them are in force here; a cluster keeps one object per name, the last one applied';
}
