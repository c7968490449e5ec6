// The compiled policy set: file and process rules indexed by path (rule-index.ts) so that one
// decision costs a handful of map lookups, never a scan over all rules; syscall rules indexed by
// call; network rules by protocol. Built once per (re)load; immutable afterwards.
import type {
  EnrichedEvent, ExecEvent, ExecFilterSpec, FileEvent, KernelFilterSpec, MatchDecision, NetworkEvent, NetworkFilterSpec, NodeIdentity, Operation,
  PolicyKind, Workload,
} from '../types.ts';
import { NETWORK_SYSCALLS } from '../types.ts';
import { openFlagsWrite } from '../format/index.ts';
import { SYSCALLS } from '../syscalls.ts';
import { compileGlob, isLiteralPattern, requiredLiteral } from './glob.ts';
import { buildExecFilter, buildKernelFilter, buildNetworkFilter } from './kernel-filter.ts';
import { DEFAULT_SEVERITY, pick, sources } from './inherit.ts';
import { classify, compileNetworkRules, PROTOCOL_BITS, type CompiledNetworkRule } from './network-rules.ts';
import { candidatePaths, scopeOf } from './paths.ts';
import { RuleIndex } from './rule-index.ts';
import { compileSelector, type AppliesTo } from './selector.ts';
import { compileSyscallRules, networkPaths, syscallRuleMatches, type CompiledSyscallRule } from './syscall-rules.ts';
import type { Action, FromSource, PolicyDocument, RuleCommon, SourceRef } from './types.ts';

export type FilePosture = 'audit' | 'block';
export type NetworkPosture = 'audit' | 'block';

export interface EngineOptions {
  /** The file posture of namespaces without a `kubearmor-file-posture` annotation (and of the host). */
  readonly defaultFilePosture?: FilePosture;
  /** The network posture of namespaces without a `kubearmor-network-posture` annotation (and of the host). */
  readonly defaultNetworkPosture?: NetworkPosture;
}

export type RuleSection = 'matchPaths' | 'matchDirectories' | 'matchPatterns';

/** The policy a rule came from. */
export interface PolicyRef {
  readonly name: string;
  readonly kind: PolicyKind;
  readonly namespace: string | undefined;
  readonly source: SourceRef;
}

/** One file or process rule with its inherited fields resolved. */
export interface CompiledRule {
  readonly policy: PolicyRef;
  /** Index of the policy in the set: the selector cache is an array indexed by it. */
  readonly policyIndex: number;
  /** `file:` or `process:`. */
  readonly kind: 'file' | 'process';
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
  /** `pts: false`: the rule applies only to processes with a controlling terminal. */
  readonly ttyOnly: boolean;
  /** The path, directory (ending in '/') or pattern as written; for an execname rule, the name. */
  readonly target: string;
  /** Process matchPaths by base name (`execname`): `target` is the name. */
  readonly execname: boolean;
  /** Process rules' allowedArgs: the arguments after the program name that are allowed; null when unset. */
  readonly allowedArgs: ReadonlySet<string> | null;
  readonly recursive: boolean;
  readonly regexp: RegExp | null;
  /** For patterns: a substring every match contains ('' when none), checked before the RegExp. */
  readonly literal: string;
}

/** A rule that can be chosen among others (file, process or network): what "which rule wins" reads. */
type RankedRule = CompiledRule | CompiledNetworkRule;

/** What the engine decided for one event: the match's decision, and the rule behind it. */
export interface Decision extends MatchDecision {
  /** The chosen file, process or network rule; null for DefaultPosture and syscall rules. */
  readonly rule: RankedRule | null;
}

export { DEFAULT_SEVERITY };

const DEFAULT_POSTURE: FilePosture = 'audit';

/** True when the access can change the file (what `readOnly` forbids). */
export function isWriteAccess(ev: Pick<FileEvent, 'syscall' | 'flags'>): boolean {
  if (SYSCALLS[ev.syscall].writes) return true;
  return openFlagsWrite(ev.flags);
}

/** Per-workload facts, computed once per workload and policy set. */
interface Applicability {
  readonly node: NodeIdentity;
  /** applies[i] is 1 when policy i selects the workload. */
  readonly applies: Uint8Array;
  /** Allow-list mode for file access: some selecting policy has a file Allow rule (with or without fromSource, as in KubeArmor). */
  readonly fileAllowMode: boolean;
  /** Allow-list mode for executions: some selecting policy has a process Allow rule. */
  readonly processAllowMode: boolean;
  /** Allow-list mode for network access: some selecting policy has a network Allow rule. */
  readonly networkAllowMode: boolean;
}

/** True when every argument after the program name is allowed (a cut argument list never is). */
function argsAllowed(ev: ExecEvent, allowed: ReadonlySet<string>): boolean {
  if (ev.argvTruncated) return false;
  for (let i = 1; i < ev.argv.length; i++) if (!allowed.has(ev.argv[i]!)) return false;
  return true;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The choice among the rules that matched one event (scratch space, reused; not re-entrant): Block
 * before Audit, then severity, name, order; and an Allow whose fromSource names the process's own
 * executable wins over every rule that does not name it (POLICY-SEMANTICS.md, "Which rule wins").
 */
class Selection {
  best: RankedRule | null = null;
  bestPath = '';
  /** The best among rules whose fromSource names the process's own executable. */
  bestOwn: RankedRule | null = null;
  bestOwnPath = '';
  policies: string[] = [];
  ownPolicies: string[] = [];
  allowed = false;
  ownAllowed = false;

  reset(): this {
    this.best = null; this.bestOwn = null; this.allowed = false; this.ownAllowed = false;
    this.policies.length = 0; this.ownPolicies.length = 0;
    return this;
  }

  allow(own: boolean): void {
    this.allowed = true;
    if (own) this.ownAllowed = true;
  }

  offer(r: RankedRule, path: string, own: boolean): void {
    if (!this.policies.includes(r.policy.name)) this.policies.push(r.policy.name);
    if (this.best === null || better(r, this.best)) { this.best = r; this.bestPath = path; }
    if (own) {
      if (!this.ownPolicies.includes(r.policy.name)) this.ownPolicies.push(r.policy.name);
      if (this.bestOwn === null || better(r, this.bestOwn)) { this.bestOwn = r; this.bestOwnPath = path; }
    }
  }

  /** The decision for the chosen rule, null when none was chosen. */
  decision(operation: Operation): Decision | null {
    const best = this.ownAllowed ? this.bestOwn : this.best;
    if (best === null) return null;
    return decisionOf(operation, best, this.ownAllowed ? this.bestOwnPath : this.bestPath, this.ownAllowed ? this.ownPolicies : this.policies);
  }
}

export class PolicyEngine {
  readonly policies: readonly PolicyDocument[];
  /** File rules. */
  readonly rules: readonly CompiledRule[];
  readonly processRules: readonly CompiledRule[];
  readonly syscallRules: readonly CompiledSyscallRule[];
  readonly networkRules: readonly CompiledNetworkRule[];
  private readonly options: Required<EngineOptions>;
  private readonly selectors: readonly AppliesTo[];
  private readonly fileIndex = new RuleIndex<CompiledRule>();
  private readonly processIndex = new RuleIndex<CompiledRule>();
  /** Process matchPaths by execname. */
  private readonly execnames = new Map<string, CompiledRule[]>();
  /** Syscall rules by call name. */
  private readonly syscallsByCall = new Map<string, CompiledSyscallRule[]>();
  /** Network rules by protocol bit (networkByBit[i]: rules naming the protocol of bit i), and the rules naming `all`. */
  private readonly networkByBit: CompiledNetworkRule[][] = Object.values(PROTOCOL_BITS).map(() => []);
  private readonly networkAll: CompiledNetworkRule[] = [];
  /** Scratch space reused by decide() (single-threaded, not re-entrant). */
  private readonly found: CompiledRule[] = [];
  private readonly paths: string[] = [];
  private readonly selection = new Selection();
  private readonly netSelection = new Selection();
  /** hasFileAllow[i] / hasProcessAllow[i]: policy i has an Allow rule of that kind, putting the workloads it selects in allow-list mode. */
  private readonly hasFileAllow: readonly boolean[];
  private readonly hasProcessAllow: readonly boolean[];
  private readonly hasNetworkAllow: readonly boolean[];
  private cache = new WeakMap<Workload, Applicability>();
  private filter: KernelFilterSpec | undefined;

  constructor(policies: readonly PolicyDocument[], options: EngineOptions = {}) {
    this.options = {
      defaultFilePosture: options.defaultFilePosture ?? DEFAULT_POSTURE,
      defaultNetworkPosture: options.defaultNetworkPosture ?? DEFAULT_POSTURE,
    };
    // A stable order makes the last tie-break (rule order) independent of file discovery order.
    this.policies = [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.selectors = this.policies.map(compileSelector);
    const rules: CompiledRule[] = [];
    const processRules: CompiledRule[] = [];
    const syscallRules: CompiledSyscallRule[] = [];
    const networkRules: CompiledNetworkRule[] = [];
    const hasFileAllow = this.policies.map(() => false);
    const hasProcessAllow = this.policies.map(() => false);
    const hasNetworkAllow = this.policies.map(() => false);
    let order = 0;
    this.policies.forEach((p, policyIndex) => {
      const policy: PolicyRef = { name: p.name, kind: p.kind, namespace: p.namespace, source: p.source };
      for (const r of compilePathRules(p, policy, policyIndex, 'file', order)) {
        rules.push(r);
        order++;
        if (r.action === 'Allow') hasFileAllow[policyIndex] = true;
        this.fileIndex.add(r);
      }
      for (const r of compilePathRules(p, policy, policyIndex, 'process', order)) {
        processRules.push(r);
        order++;
        if (r.action === 'Allow') hasProcessAllow[policyIndex] = true;
        if (r.execname) pushTo(this.execnames, r.target, r);
        else this.processIndex.add(r);
      }
      for (const r of compileSyscallRules(p, policy, policyIndex, order)) {
        syscallRules.push(r);
        order++;
        for (const call of r.calls) pushTo(this.syscallsByCall, call, r);
      }
      for (const r of compileNetworkRules(p, policy, policyIndex, order)) {
        networkRules.push(r);
        order++;
        if (r.action === 'Allow') hasNetworkAllow[policyIndex] = true;
        this.indexNetworkRule(r);
      }
    });
    this.rules = rules;
    this.processRules = processRules;
    this.syscallRules = syscallRules;
    this.hasFileAllow = hasFileAllow;
    this.hasProcessAllow = hasProcessAllow;
    this.networkRules = networkRules;
    this.hasNetworkAllow = hasNetworkAllow;
  }

  /** A rule names one protocol (one bit), `all`, or a name armorwatch does not know (indexed nowhere: it matches nothing). */
  private indexNetworkRule(r: CompiledNetworkRule): void {
    if (r.bits === 0) return;
    const bit = Math.log2(r.bits);
    if (Number.isInteger(bit)) this.networkByBit[bit]!.push(r);
    else this.networkAll.push(r);
  }

  /** The file rules of the policies whose selectors hold for `w` on `node` (identities are resolved per container by them). */
  fileRulesFor(w: Workload, node: NodeIdentity): CompiledRule[] {
    const app = this.applicability(w, node);
    return this.rules.filter((r) => app.applies[r.policyIndex] === 1);
  }

  /** Forget cached selections (workload labels changed); a reload builds a new engine instead. */
  clearWorkloadCache(): void {
    this.cache = new WeakMap();
  }

  private applicability(w: Workload, node: NodeIdentity): Applicability {
    const hit = this.cache.get(w);
    if (hit !== undefined && hit.node === node) return hit;
    const applies = new Uint8Array(this.policies.length);
    let fileAllowMode = false;
    let processAllowMode = false;
    let networkAllowMode = false;
    for (let i = 0; i < this.policies.length; i++) {
      if (!this.selectors[i]!(w, node)) continue;
      applies[i] = 1;
      if (this.hasFileAllow[i]) fileAllowMode = true;
      if (this.hasProcessAllow[i]) processAllowMode = true;
      if (this.hasNetworkAllow[i]) networkAllowMode = true;
    }
    const a: Applicability = { node, applies, fileAllowMode, processAllowMode, networkAllowMode };
    this.cache.set(w, a);
    return a;
  }

  /** Decides one event by its file, process or network rules: the alert to raise, or null when none. Syscall rules: decideSyscall. */
  decide(input: EnrichedEvent, node: NodeIdentity): Decision | null {
    const { event: ev, workload } = input;
    if (ev.kind === 'network') return this.decideNetwork(ev, workload, node);
    if (ev.kind === 'process') return this.decideProcess(ev, workload, node);
    const app = this.applicability(workload, node);
    const paths = candidatePaths(ev, this.paths, scopeOf(workload));
    // The file path is the hot one: the choice is kept in locals (the Selection object serves executions).
    let best: CompiledRule | null = null;
    let bestPath = '';
    let matchedPolicies: string[] | null = null;
    let allowed = false;
    // An Allow naming the process's own executable, and the best rule that also names it.
    let ownAllowed = false;
    let bestOwn: CompiledRule | null = null;
    let bestOwnPath = '';
    let ownPolicies: string[] | null = null;
    const found = this.found;
    for (const path of paths) {
      found.length = 0;
      this.fileIndex.collect(path, found);
      for (const r of found) {
        if (app.applies[r.policyIndex] !== 1) continue;
        if (r.ttyOnly && (ev.tty === null || ev.tty === undefined)) continue;
        let own = false;
        if (r.fromSource !== null) {
          own = r.fromSource.has(ev.exePath);
          if (!own && !r.fromSource.has(ev.parentExePath)) continue;
        }
        const violates = (r.readOnly || r.ownerOnly)
          ? (r.readOnly && isWriteAccess(ev)) || (r.ownerOnly && ev.ownerUid !== null && ev.uid !== ev.ownerUid)
          : true;
        if (r.action === 'Allow') {
          if (!violates || !(r.readOnly || r.ownerOnly)) { allowed = true; if (own) ownAllowed = true; }
          continue;
        }
        if (!violates) continue;
        matchedPolicies ??= [];
        if (!matchedPolicies.includes(r.policy.name)) matchedPolicies.push(r.policy.name);
        if (best === null || better(r, best)) { best = r; bestPath = path; }
        if (own) {
          ownPolicies ??= [];
          if (!ownPolicies.includes(r.policy.name)) ownPolicies.push(r.policy.name);
          if (bestOwn === null || better(r, bestOwn)) { bestOwn = r; bestOwnPath = path; }
        }
      }
    }
    if (ownAllowed) {
      // Only the rules that name the process's executable too stand against its Allow.
      return bestOwn === null ? null : decisionOf('File', bestOwn, bestOwnPath, ownPolicies ?? []);
    }
    if (best !== null) return decisionOf('File', best, bestPath, matchedPolicies ?? []);
    if (!app.fileAllowMode || allowed) return null;
    return posture('File', workload.namespaceFilePosture ?? this.options.defaultFilePosture, ev.absPath);
  }

  /** An execution, by the process rules (POLICY-SEMANTICS.md, "Process rules"). */
  private decideProcess(ev: ExecEvent, workload: Workload, node: NodeIdentity): Decision | null {
    if (this.processRules.length === 0) return null;
    const app = this.applicability(workload, node);
    const sel = this.selection.reset();
    const found = this.found;
    const tty = ev.tty !== null;
    const requested = ev.absPath;
    const resolved = ev.resolvedPath !== null && ev.resolvedPath !== requested ? ev.resolvedPath : null;
    for (let k = 0; k < 2; k++) {
      const path = k === 0 ? requested : resolved;
      if (path === null) continue;
      found.length = 0;
      this.processIndex.collect(path, found);
      const named = this.execnames.get(basename(path));
      if (named !== undefined) for (const r of named) found.push(r);
      for (const r of found) {
        if (app.applies[r.policyIndex] !== 1) continue;
        if (r.ttyOnly && !tty) continue;
        let own = false;
        if (r.fromSource !== null) {
          own = r.fromSource.has(ev.callerExePath);
          if (!own && !r.fromSource.has(ev.exePath)) continue;
        }
        const ownerViolated = r.ownerOnly && ev.ownerUid !== null && ev.uid !== ev.ownerUid;
        const argsViolated = r.allowedArgs !== null && !argsAllowed(ev, r.allowedArgs);
        if (r.action === 'Allow') {
          if (!ownerViolated && !argsViolated) sel.allow(own);
          continue;
        }
        if ((r.ownerOnly || r.allowedArgs !== null) && !ownerViolated && !argsViolated) continue;
        sel.offer(r, path, own);
      }
    }
    const d = sel.decision('Process');
    if (d !== null || sel.ownAllowed) return d;
    if (!app.processAllowMode || sel.allowed) return null;
    return posture('Process', workload.namespaceFilePosture ?? this.options.defaultFilePosture, requested);
  }

  /**
   * A network call (socket, connect, accept, bind, listen), by the network rules (POLICY-SEMANTICS.md,
   * "Network rules"): a rule matches the calls on sockets of its protocol. The later outcome of a
   * connect (phase 'outcome') is not matched again, and unix/netlink sockets are not network access.
   */
  decideNetwork(ev: NetworkEvent, workload: Workload, node: NodeIdentity): Decision | null {
    if (this.networkRules.length === 0 || ev.phase !== 'call') return null;
    const bits = classify(ev.domain, ev.type, ev.protocol);
    if (bits === 0) return null;
    const app = this.applicability(workload, node);
    const sel = this.netSelection.reset();
    const tty = ev.tty !== null;
    for (let b = 0, rest = bits; rest !== 0; b++, rest >>>= 1) {
      if ((rest & 1) !== 0) this.offerNetwork(this.networkByBit[b]!, ev, app, tty, sel);
    }
    this.offerNetwork(this.networkAll, ev, app, tty, sel);
    const d = sel.decision('Network');
    if (d !== null || sel.ownAllowed) return d;
    if (!app.networkAllowMode || sel.allowed) return null;
    return posture('Network', workload.namespaceNetworkPosture ?? this.options.defaultNetworkPosture, '');
  }

  private offerNetwork(rules: readonly CompiledNetworkRule[], ev: NetworkEvent, app: Applicability, tty: boolean, sel: Selection): void {
    for (const r of rules) {
      if (app.applies[r.policyIndex] !== 1) continue;
      if (r.ttyOnly && !tty) continue;
      // fromSource names the process's own executable (the only one a network rule can name).
      if (r.fromSource !== null && !r.fromSource.has(ev.exePath)) continue;
      const own = r.fromSource !== null;
      if (r.action === 'Allow') sel.allow(own);
      else sel.offer(r, r.protocol.toLowerCase(), own);
    }
  }

  /**
   * Decides one event by the syscall rules (Operation `Syscall`, Audit only): a rule matches when it
   * lists the event's call, its fromSource (if any) names the process, and its path (if any) the
   * accessed file. Independent of decide(): an event can raise both a File and a Syscall alert.
   */
  decideSyscall(input: EnrichedEvent, node: NodeIdentity): Decision | null {
    if (this.syscallRules.length === 0) return null;
    const { event: ev, workload } = input;
    if (ev.kind === 'network' && ev.phase !== 'call') return null; // a connect's outcome is not a call of its own
    const rules = this.syscallsByCall.get(ev.syscall);
    if (rules === undefined) return null;
    const app = this.applicability(workload, node);
    const paths = ev.kind === 'process' ? [ev.absPath, ...(ev.resolvedPath === null ? [] : [ev.resolvedPath])]
      : ev.kind === 'network' ? networkPaths(ev) : candidatePaths(ev, this.paths, scopeOf(workload));
    const exe = ev.kind === 'process' ? ev.callerExePath : ev.exePath;
    let best: CompiledSyscallRule | null = null;
    let bestPath = ev.kind === 'network' ? '' : ev.absPath;
    const names: string[] = [];
    for (const r of rules) {
      if (app.applies[r.policyIndex] !== 1) continue;
      const path = syscallRuleMatches(r, exe, paths);
      if (path === null) continue;
      if (!names.includes(r.policy.name)) names.push(r.policy.name);
      if (best === null || r.severity > best.severity || (r.severity === best.severity && (r.policy.name < best.policy.name || (r.policy.name === best.policy.name && r.order < best.order)))) {
        best = r;
        bestPath = path;
      }
    }
    if (best === null) return null;
    const chosen = best;
    return {
      operation: 'Syscall',
      policyName: chosen.policy.name,
      policyKind: chosen.policy.kind,
      action: 'Audit',
      severity: chosen.severity,
      tags: chosen.tags,
      message: chosen.message,
      matchedPath: bestPath,
      rule: null,
      otherPolicies: names.filter((n) => n !== chosen.policy.name).sort(),
    };
  }

  /** Every decision for one event: its file or process decision, then its syscall decision. */
  decideAll(input: EnrichedEvent, node: NodeIdentity): Decision[] {
    const out: Decision[] = [];
    const d = this.decide(input, node);
    if (d !== null) out.push(d);
    const s = this.decideSyscall(input, node);
    if (s !== null) out.push(s);
    return out;
  }

  /** What the kernel must let through for these policies (see KernelFilterSpec's invariant); `exec` when executions are needed. */
  kernelFilter(): KernelFilterSpec {
    this.filter ??= buildKernelFilter(this.rules, this.syscallRules, this.processRules, this.networkFilter());
    return this.filter;
  }

  /** What the kernel must let through of network calls for the network rules (the `network` part of kernelFilter()). */
  networkFilter(): NetworkFilterSpec {
    return buildNetworkFilter(this.networkRules, this.syscallRules);
  }

  /** What the kernel must let through of executions (the `exec` part of kernelFilter(), empty when none). */
  execFilter(): ExecFilterSpec {
    return buildExecFilter(this.processRules, this.syscallRules);
  }

  /** The system calls the loaded policies need observed (file, process, network and syscall rules), for attaching only the hooks needed. */
  requiredSyscalls(): ReadonlySet<string> {
    const out = new Set<string>();
    if (this.rules.length > 0) for (const s of Object.values(SYSCALLS)) if (s.operation === 'File') out.add(s.name);
    if (this.processRules.length > 0) for (const s of Object.values(SYSCALLS)) if (s.operation === 'Process') out.add(s.name);
    if (this.networkRules.length > 0) for (const c of NETWORK_SYSCALLS) out.add(c);
    for (const r of this.syscallRules) for (const c of r.calls) out.add(c);
    return out;
  }
}

function pushTo<K, R>(map: Map<K, R[]>, key: K, rule: R): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

/** DefaultPosture: the workload is in allow-list mode and nothing allowed the event. */
function posture(operation: Operation, value: FilePosture | NetworkPosture, path: string): Decision {
  return {
    operation,
    policyName: 'DefaultPosture',
    policyKind: 'DefaultPosture',
    action: value === 'block' ? 'Block' : 'Audit',
    severity: undefined,
    tags: [],
    message: undefined,
    matchedPath: path,
    rule: null,
    otherPolicies: [],
  };
}

/** The decision for a chosen rule; `names`: every policy that matched (the chosen one's included). */
function decisionOf(operation: Operation, best: RankedRule, path: string, names: readonly string[]): Decision {
  return {
    operation,
    policyName: best.policy.name,
    policyKind: best.policy.kind,
    action: best.action === 'Block' ? 'Block' : 'Audit',
    severity: best.severity,
    tags: best.tags,
    message: best.message,
    matchedPath: path,
    rule: best,
    otherPolicies: names.length <= 1 ? [] : names.filter((n) => n !== best.policy.name).sort(),
  };
}

/** Block before Audit, then higher severity, then policy name, then rule order. */
function better(a: RankedRule, b: RankedRule): boolean {
  if (a.action !== b.action) return a.action === 'Block';
  if (a.severity !== b.severity) return a.severity > b.severity;
  if (a.policy.name !== b.policy.name) return a.policy.name < b.policy.name;
  return a.order < b.order;
}

interface AnyPathRule extends RuleCommon {
  readonly path?: string;
  readonly execname?: string;
  readonly dir?: string;
  readonly pattern?: string;
  readonly recursive?: boolean;
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly readOnly?: boolean;
  readonly pts?: boolean;
  readonly allowedArgs?: readonly string[];
}

/** The `file:` or `process:` rules of a policy, inherited fields resolved. */
function compilePathRules(p: PolicyDocument, policy: PolicyRef, policyIndex: number, kind: 'file' | 'process', firstOrder: number): CompiledRule[] {
  const section = kind === 'file' ? p.spec.file : p.spec.process;
  if (section === undefined) return [];
  const out: CompiledRule[] = [];
  const add = (r: AnyPathRule, name: RuleSection, index: number, target: string, execname: boolean): void => {
    const pattern = name === 'matchPatterns';
    out.push({
      policy, policyIndex, kind, section: name, index, order: firstOrder + out.length,
      action: pick<Action>(r.action, section.action, p.spec.action) ?? 'Block',
      severity: pick(r.severity, section.severity, p.spec.severity) ?? DEFAULT_SEVERITY,
      tags: pick<readonly string[]>(r.tags, section.tags, p.spec.tags) ?? [],
      message: pick(r.message, section.message, p.spec.message),
      fromSource: pattern ? null : sources(r.fromSource),
      readOnly: r.readOnly === true,
      ownerOnly: r.ownerOnly === true,
      ttyOnly: r.pts === false,
      target,
      execname,
      allowedArgs: r.allowedArgs !== undefined && r.allowedArgs !== null ? new Set(r.allowedArgs) : null,
      recursive: r.recursive === true,
      regexp: pattern && !isLiteralPattern(target) ? compileGlob(target) : null,
      literal: pattern ? requiredLiteral(target) : '',
    });
  };
  const paths: readonly AnyPathRule[] = section.matchPaths ?? [];
  paths.forEach((r, i) => {
    // A process matchPaths entry names a path, an execname, or both (each matches on its own).
    if (typeof r.path === 'string' && r.path !== '') add(r, 'matchPaths', i, r.path, false);
    if (kind === 'process' && typeof r.execname === 'string' && r.execname !== '') add(r, 'matchPaths', i, r.execname, true);
  });
  const dirs: readonly AnyPathRule[] = section.matchDirectories ?? [];
  dirs.forEach((r, i) => add(r, 'matchDirectories', i, r.dir as string, false));
  const patterns: readonly AnyPathRule[] = section.matchPatterns ?? [];
  patterns.forEach((r, i) => add(r, 'matchPatterns', i, r.pattern as string, false));
  return out;
}

export function compilePolicies(policies: readonly PolicyDocument[], options: EngineOptions = {}): PolicyEngine {
  return new PolicyEngine(policies, options);
}

