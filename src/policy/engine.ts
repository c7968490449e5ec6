// The compiled policy set: file rules indexed by path so that one decision costs a handful of map
// lookups (exact paths, one lookup per directory level, patterns grouped by literal directory),
// never a scan over all rules. Built once per (re)load; immutable afterwards.
import type { EnrichedEvent, FileEvent, KernelFilterSpec, MatchDecision, NodeIdentity, PolicyKind, Workload } from '../types.ts';
import { openFlagsWrite } from '../format/index.ts';
import { SYSCALLS } from '../syscalls.ts';
import { compileGlob, isLiteralPattern, literalPrefix, requiredLiteral } from './glob.ts';
import { buildKernelFilter } from './kernel-filter.ts';
import { candidatePaths } from './paths.ts';
import { compileSelector, type AppliesTo } from './selector.ts';
import type { Action, FileSection, FromSource, PolicyDocument, RuleCommon, SourceRef } from './types.ts';

export type FilePosture = 'audit' | 'block';

export interface EngineOptions {
  /** The file posture of namespaces without a `kubearmor-file-posture` annotation (and of the host). */
  readonly defaultFilePosture?: FilePosture;
}

export type RuleSection = 'matchPaths' | 'matchDirectories' | 'matchPatterns';

/** The policy a rule came from. */
export interface PolicyRef {
  readonly name: string;
  readonly kind: PolicyKind;
  readonly namespace: string | undefined;
  readonly source: SourceRef;
}

/** One file rule with its inherited fields resolved. */
export interface CompiledRule {
  readonly policy: PolicyRef;
  /** Index of the policy in the set: the selector cache is an array indexed by it. */
  readonly policyIndex: number;
  readonly section: RuleSection;
  readonly index: number;
  /** Position in the whole set (policy order, then matchPaths, matchDirectories, matchPatterns): the last tie-break. */
  readonly order: number;
  readonly action: Action;
  readonly severity: number;
  readonly tags: readonly string[];
  readonly message: string | undefined;
  readonly fromSource: ReadonlySet<string> | null;
  readonly readOnly: boolean;
  readonly ownerOnly: boolean;
  /** The path, directory (ending in '/') or pattern as written. */
  readonly target: string;
  readonly recursive: boolean;
  readonly regexp: RegExp | null;
  /** For patterns: a substring every match contains ('' when none), checked before the RegExp. */
  readonly literal: string;
}

/** What the engine decided for one event: the match's decision, and the rule behind it. */
export interface Decision extends MatchDecision {
  /** The chosen rule; null for DefaultPosture. */
  readonly rule: CompiledRule | null;
}

/** Default severity when neither the rule, the file section nor the spec sets one (KubeArmor's). */
export const DEFAULT_SEVERITY = 1;

const DEFAULT_POSTURE: FilePosture = 'audit';

/** True when the access can change the file (what `readOnly` forbids). */
export function isWriteAccess(ev: Pick<FileEvent, 'syscall' | 'flags'>): boolean {
  if (SYSCALLS[ev.syscall].writes) return true;
  return openFlagsWrite(ev.flags);
}

function pick<T>(...values: Array<T | undefined>): T | undefined {
  for (const v of values) {
    if (v === undefined) continue;
    if (typeof v === 'string' && v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    return v;
  }
  return undefined;
}

function sources(list: readonly FromSource[] | undefined): ReadonlySet<string> | null {
  const paths = (list ?? []).map((s) => s.path).filter((p): p is string => typeof p === 'string' && p !== '');
  return paths.length === 0 ? null : new Set(paths);
}

/** Per-workload facts, computed once per workload and policy set. */
interface Applicability {
  readonly node: NodeIdentity;
  /** applies[i] is 1 when policy i selects the workload. */
  readonly applies: Uint8Array;
  /** Allow-list mode: some selecting policy has a file Allow rule (with or without fromSource, as in KubeArmor). */
  readonly allowMode: boolean;
}

function pushTo<K>(map: Map<K, CompiledRule[]>, key: K, rule: CompiledRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

export class PolicyEngine {
  readonly policies: readonly PolicyDocument[];
  readonly rules: readonly CompiledRule[];
  private readonly options: Required<EngineOptions>;
  private readonly selectors: readonly AppliesTo[];
  /** Exact paths → rules. */
  private readonly exact = new Map<string, CompiledRule[]>();
  /** Non-recursive directories (key ends in '/') → rules. */
  private readonly dirs = new Map<string, CompiledRule[]>();
  /** Recursive directories → rules. */
  private readonly recDirs = new Map<string, CompiledRule[]>();
  /** Patterns whose last segment is literal, by that segment (a pattern ending in `/id_rsa` → `id_rsa`). */
  private readonly patternsByName = new Map<string, CompiledRule[]>();
  /** Other patterns by their literal directory ('' when none). */
  private readonly patterns = new Map<string, CompiledRule[]>();
  /** Longest key of recDirs and patterns: shorter path prefixes are all that need looking up. */
  private maxPrefix = 0;
  /** prefixLengths[n] is 1 when some key of recDirs or patterns has length n: other prefixes are not even sliced. */
  private prefixLengths = new Uint8Array(1);
  /** Scratch space reused by decide() (single-threaded, not re-entrant). */
  private readonly found: CompiledRule[] = [];
  private readonly paths: string[] = [];
  /** hasAllow[i] is true when policy i has a file Allow rule: it puts the workloads it selects in allow-list mode. */
  private readonly hasAllow: readonly boolean[];
  private cache = new WeakMap<Workload, Applicability>();
  private filter: KernelFilterSpec | undefined;

  constructor(policies: readonly PolicyDocument[], options: EngineOptions = {}) {
    this.options = { defaultFilePosture: options.defaultFilePosture ?? DEFAULT_POSTURE };
    // A stable order makes the last tie-break (rule order) independent of file discovery order.
    this.policies = [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.selectors = this.policies.map(compileSelector);
    const rules: CompiledRule[] = [];
    const hasAllow = this.policies.map(() => false);
    this.policies.forEach((p, policyIndex) => {
      for (const r of compilePolicyRules(p, policyIndex, rules.length)) {
        rules.push(r);
        if (r.action === 'Allow') hasAllow[policyIndex] = true;
        this.index(r);
      }
    });
    this.rules = rules;
    this.hasAllow = hasAllow;
  }

  private index(r: CompiledRule): void {
    switch (r.section) {
      case 'matchPaths': pushTo(this.exact, r.target, r); break;
      case 'matchDirectories':
        pushTo(r.recursive ? this.recDirs : this.dirs, r.target, r);
        if (r.recursive) this.notePrefix(r.target.length);
        break;
      case 'matchPatterns': {
        // A pattern without glob characters is an exact path.
        if (r.regexp === null) { pushTo(this.exact, r.target, r); break; }
        const slash = r.target.lastIndexOf('/');
        const name = r.target.slice(slash + 1);
        if (slash >= 0 && isLiteralPattern(name)) { pushTo(this.patternsByName, name, r); break; }
        const prefix = literalPrefix(r.target);
        pushTo(this.patterns, prefix, r);
        this.notePrefix(prefix.length);
        break;
      }
    }
  }

  private notePrefix(length: number): void {
    if (length >= this.prefixLengths.length) {
      const grown = new Uint8Array(Math.max(length + 1, this.prefixLengths.length * 2));
      grown.set(this.prefixLengths);
      this.prefixLengths = grown;
    }
    this.prefixLengths[length] = 1;
    this.maxPrefix = Math.max(this.maxPrefix, length);
  }

  /** Forget cached selections (workload labels changed); a reload builds a new engine instead. */
  clearWorkloadCache(): void {
    this.cache = new WeakMap();
  }

  private applicability(w: Workload, node: NodeIdentity): Applicability {
    const hit = this.cache.get(w);
    if (hit !== undefined && hit.node === node) return hit;
    const applies = new Uint8Array(this.policies.length);
    let allowMode = false;
    for (let i = 0; i < this.policies.length; i++) {
      if (!this.selectors[i]!(w, node)) continue;
      applies[i] = 1;
      if (this.hasAllow[i]) allowMode = true;
    }
    const a: Applicability = { node, applies, allowMode };
    this.cache.set(w, a);
    return a;
  }

  /** The rules whose path part matches `path`, appended to `out`. */
  private collect(path: string, out: CompiledRule[]): void {
    const exact = this.exact.get(path);
    if (exact !== undefined) for (const r of exact) out.push(r);
    const last = path.lastIndexOf('/');
    const selfKey = this.dirs.size > 0 || this.recDirs.size > 0 ? (path === '/' ? '/' : `${path}/`) : '';
    if (this.dirs.size > 0) {
      if (path !== '/') {
        const inside = this.dirs.get(path.slice(0, last + 1));
        if (inside !== undefined) for (const r of inside) out.push(r);
      }
      const self = this.dirs.get(selfKey);
      if (self !== undefined) for (const r of self) out.push(r);
    }
    if (this.recDirs.size > 0) {
      const self = this.recDirs.get(selfKey);
      if (self !== undefined) for (const r of self) out.push(r);
    }
    if (this.maxPrefix > 0) {
      // Every directory prefix of the path (`/`, `/a/`, `/a/b/` for `/a/b/c`), up to the longest key.
      const end = Math.min(path.length - 1, this.maxPrefix);
      const lengths = this.prefixLengths;
      for (let i = path.indexOf('/'); i >= 0 && i < end; i = path.indexOf('/', i + 1)) {
        if (lengths[i + 1] !== 1) continue;
        const prefix = path.slice(0, i + 1);
        const rec = this.recDirs.get(prefix);
        if (rec !== undefined) for (const r of rec) out.push(r);
        const pats = this.patterns.get(prefix);
        if (pats !== undefined) for (const r of pats) if (matchesPattern(r, path)) out.push(r);
      }
    }
    if (this.patterns.size > 0) {
      const any = this.patterns.get('');
      if (any !== undefined) for (const r of any) if (matchesPattern(r, path)) out.push(r);
      if (path === '/') { // the root has no proper directory prefix
        const root = this.patterns.get('/');
        if (root !== undefined) for (const r of root) if (matchesPattern(r, path)) out.push(r);
      }
    }
    if (this.patternsByName.size > 0) {
      const named = this.patternsByName.get(path.slice(last + 1));
      if (named !== undefined) for (const r of named) if (matchesPattern(r, path)) out.push(r);
    }
  }

  /** Decides one access: the alert to raise, or null when none. */
  decide(input: EnrichedEvent, node: NodeIdentity): Decision | null {
    const { event: ev, workload } = input;
    if (ev.kind === 'process') return null;
    const app = this.applicability(workload, node);
    const paths = candidatePaths(ev, this.paths);
    let best: CompiledRule | null = null;
    let bestPath = '';
    let matchedPolicies: string[] | null = null;
    let allowed = false;
    const found = this.found;
    for (const path of paths) {
      found.length = 0;
      this.collect(path, found);
      for (const r of found) {
        if (app.applies[r.policyIndex] !== 1) continue;
        if (r.fromSource !== null && !r.fromSource.has(ev.exePath) && !r.fromSource.has(ev.parentExePath)) continue;
        const violates = (r.readOnly || r.ownerOnly)
          ? (r.readOnly && isWriteAccess(ev)) || (r.ownerOnly && ev.ownerUid !== null && ev.uid !== ev.ownerUid)
          : true;
        if (r.action === 'Allow') {
          if (!violates || !(r.readOnly || r.ownerOnly)) allowed = true;
          continue;
        }
        if (!violates) continue;
        matchedPolicies ??= [];
        if (!matchedPolicies.includes(r.policy.name)) matchedPolicies.push(r.policy.name);
        if (best === null || better(r, best)) { best = r; bestPath = path; }
      }
    }
    if (best !== null) {
      return {
        operation: 'File',
        policyName: best.policy.name,
        policyKind: best.policy.kind,
        action: best.action === 'Block' ? 'Block' : 'Audit',
        severity: best.severity,
        tags: best.tags,
        message: best.message,
        matchedPath: bestPath,
        rule: best,
        otherPolicies: (matchedPolicies ?? []).filter((n) => n !== best.policy.name).sort(),
      };
    }
    if (!app.allowMode || allowed) return null;
    const posture = workload.namespaceFilePosture ?? this.options.defaultFilePosture;
    return {
      operation: 'File',
      policyName: 'DefaultPosture',
      policyKind: 'DefaultPosture',
      action: posture === 'block' ? 'Block' : 'Audit',
      severity: undefined,
      tags: [],
      message: undefined,
      matchedPath: ev.absPath,
      rule: null,
      otherPolicies: [],
    };
  }

  /** What the kernel must let through for these policies (see KernelFilterSpec's invariant). */
  kernelFilter(): KernelFilterSpec {
    this.filter ??= buildKernelFilter(this.rules);
    return this.filter;
  }
}

function matchesPattern(r: CompiledRule, path: string): boolean {
  return (r.literal === '' || path.includes(r.literal)) && r.regexp!.test(path);
}

/** Block before Audit, then higher severity, then policy name, then rule order. */
function better(a: CompiledRule, b: CompiledRule): boolean {
  if (a.action !== b.action) return a.action === 'Block';
  if (a.severity !== b.severity) return a.severity > b.severity;
  if (a.policy.name !== b.policy.name) return a.policy.name < b.policy.name;
  return a.order < b.order;
}

function compilePolicyRules(p: PolicyDocument, policyIndex: number, firstOrder: number): CompiledRule[] {
  const file: FileSection | undefined = p.spec.file;
  if (file === undefined) return [];
  const policy: PolicyRef = { name: p.name, kind: p.kind, namespace: p.namespace, source: p.source };
  const out: CompiledRule[] = [];
  const base = (r: RuleCommon, section: RuleSection, index: number) => ({
    policy, policyIndex, section, index, order: firstOrder + out.length,
    action: pick<Action>(r.action, file.action, p.spec.action) ?? 'Block',
    severity: pick(r.severity, file.severity, p.spec.severity) ?? DEFAULT_SEVERITY,
    tags: pick<readonly string[]>(r.tags, file.tags, p.spec.tags) ?? [],
    message: pick(r.message, file.message, p.spec.message),
  });
  (file.matchPaths ?? []).forEach((r, i) => out.push({
    ...base(r, 'matchPaths', i), fromSource: sources(r.fromSource), readOnly: r.readOnly === true, ownerOnly: r.ownerOnly === true,
    target: r.path, recursive: false, regexp: null, literal: '',
  }));
  (file.matchDirectories ?? []).forEach((r, i) => out.push({
    ...base(r, 'matchDirectories', i), fromSource: sources(r.fromSource), readOnly: r.readOnly === true, ownerOnly: r.ownerOnly === true,
    target: r.dir, recursive: r.recursive === true, regexp: null, literal: '',
  }));
  (file.matchPatterns ?? []).forEach((r, i) => out.push({
    ...base(r, 'matchPatterns', i), fromSource: null, readOnly: r.readOnly === true, ownerOnly: r.ownerOnly === true,
    target: r.pattern, recursive: false, regexp: isLiteralPattern(r.pattern) ? null : compileGlob(r.pattern),
    literal: requiredLiteral(r.pattern),
  }));
  return out;
}

export function compilePolicies(policies: readonly PolicyDocument[], options: EngineOptions = {}): PolicyEngine {
  return new PolicyEngine(policies, options);
}
