// The kernel filters for a compiled rule set. They may pass more than the rules need, never less:
// exact paths from matchPaths, directory prefixes from matchDirectories and from the literal
// directory of each pattern; anything the monitor cannot express as a path or prefix passes all.
// File events and executions are filtered apart (KernelFilterSpec, ExecFilterSpec).
import { SYSCALLS } from '../syscalls.ts';
import { NETWORK_SYSCALLS, type ExecFilterSpec, type KernelFilterSpec, type NetworkFilterSpec } from '../types.ts';
import type { CompiledRule } from './engine.ts';
import { literalPrefix } from './glob.ts';
import { KERNEL_PROTOCOLS, PROTOCOL_BITS, type CompiledNetworkRule } from './network-rules.ts';
import { syscallRuleNetworkCalls, type CompiledSyscallRule } from './syscall-rules.ts';

/** The empty filter: nothing passes (no file rules at all). */
export const EMPTY_FILTER: KernelFilterSpec = Object.freeze({ passAll: false, exactPaths: [], dirPrefixes: [] });
export const PASS_ALL_FILTER: KernelFilterSpec = Object.freeze({ passAll: true, exactPaths: [], dirPrefixes: [] });
export const EMPTY_EXEC_FILTER: ExecFilterSpec = Object.freeze({ passAll: false, paths: [], dirs: [], names: [] });
const PASS_ALL_EXEC: ExecFilterSpec = Object.freeze({ passAll: true, paths: [], dirs: [], names: [] });
/** No network call passes (no network rule, no detector). */
export const EMPTY_NETWORK_FILTER: NetworkFilterSpec = Object.freeze({ passAll: false, calls: [], protocols: [] });

/**
 * Rules on procfs also match `/proc/self/...`, `/proc/thread-self/...` and `/proc/<pid>/...`
 * spellings; pids cannot be listed ahead, so any rule under /proc/ passes the whole of /proc/.
 */
const PROC = '/proc/';

/** A path part of a rule: an exact path, a directory prefix (ending in '/'), or a pattern; with the calls it is for (absent: every call). */
type Target = ({ readonly exact: string } | { readonly prefix: string } | { readonly pattern: string }) & { readonly calls?: readonly string[] };

/** The calls of an entry: null for every call. */
type Calls = ReadonlySet<string> | null;

function mergeCalls(a: Calls | undefined, b: Calls): Calls {
  if (a === undefined) return b;
  if (a === null || b === null) return null;
  return new Set([...a, ...b]);
}

/** An entry for calls `inner` is covered by one for `outer` when outer lets through all of them. */
function coversCalls(outer: Calls, inner: Calls): boolean {
  return outer === null || (inner !== null && [...inner].every((c) => outer.has(c)));
}

/** Exact paths and prefixes for these targets (and the calls of those only some calls need), or null when everything must pass. */
function pathsFor(targets: Iterable<Target>): { exactPaths: string[]; dirPrefixes: string[]; pathCalls: Record<string, string[]> } | null {
  const exact = new Map<string, Calls>();
  const prefixes = new Map<string, Calls>();
  for (const t of targets) {
    const calls: Calls = t.calls === undefined ? null : new Set(t.calls);
    let target: string;
    if ('prefix' in t) { prefixes.set(t.prefix, mergeCalls(prefixes.get(t.prefix), calls)); target = t.prefix; }
    else if ('pattern' in t) {
      const prefix = literalPrefix(t.pattern);
      if (prefix === '' || prefix === '/') return null;
      prefixes.set(prefix, mergeCalls(prefixes.get(prefix), calls));
      target = t.pattern;
    } else { exact.set(t.exact, mergeCalls(exact.get(t.exact), calls)); target = t.exact; }
    if (target === '/proc' || target.startsWith(PROC)) prefixes.set(PROC, mergeCalls(prefixes.get(PROC), calls));
  }
  if (prefixes.has('/') && prefixes.get('/') === null) return null;
  // Drop what a shorter prefix already covers (for every call the longer one is for).
  const sorted = [...prefixes.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const kept: string[] = [];
  for (const p of sorted) if (!kept.some((k) => p.startsWith(k) && coversCalls(prefixes.get(k)!, prefixes.get(p)!))) kept.push(p);
  const covered = (path: string, calls: Calls): boolean => kept.some((k) => (path.startsWith(k) || `${path}/` === k) && coversCalls(prefixes.get(k)!, calls));
  const exactPaths = [...exact.keys()].filter((p) => !covered(p, exact.get(p)!)).sort();
  const dirPrefixes = kept.sort();
  const pathCalls: Record<string, string[]> = {};
  for (const [list, from] of [[exactPaths, exact], [dirPrefixes, prefixes]] as const) {
    for (const p of list) {
      const calls = from.get(p)!;
      if (calls !== null) pathCalls[p] = [...calls].sort();
    }
  }
  return { exactPaths, dirPrefixes, pathCalls };
}

function ruleTarget(r: CompiledRule): Target {
  if (r.section === 'matchDirectories') return { prefix: r.target };
  if (r.section === 'matchPatterns' && r.regexp !== null) return { pattern: r.target };
  return { exact: r.target };
}

/**
 * Syscall rules on calls of this Operation: the paths of those with one (matchPaths), and the calls
 * of those without (matchSyscalls), which need every event of those calls.
 */
function syscallTargets(rules: readonly CompiledSyscallRule[], operation: 'File' | 'Process'): { targets: Target[]; anyPath: Set<string> } {
  const targets: Target[] = [];
  const anyPath = new Set<string>();
  for (const r of rules) {
    const calls = r.calls.filter((c) => SYSCALLS[c as keyof typeof SYSCALLS]?.operation === operation);
    if (calls.length === 0) continue;
    if (r.target === null) for (const c of calls) anyPath.add(c);
    else if (operation === 'File') targets.push(r.target.endsWith('/') ? { prefix: r.target, calls } : { exact: r.target, calls });
    else targets.push(r.target.endsWith('/') ? { prefix: r.target } : { exact: r.target });
  }
  return { targets, anyPath };
}

/**
 * The file-event filter (file rules, and syscall rules on file calls), with the execution filter
 * when executions are needed and the network filter when network calls are.
 */
export function buildKernelFilter(rules: readonly CompiledRule[], syscallRules: readonly CompiledSyscallRule[] = [], processRules: readonly CompiledRule[] = [],
  network: NetworkFilterSpec = EMPTY_NETWORK_FILTER): KernelFilterSpec {
  const files = fileFilter(rules, syscallRules);
  const exec = buildExecFilter(processRules, syscallRules);
  const wantsNetwork = network.passAll || network.calls.length > 0;
  if (exec === EMPTY_EXEC_FILTER && !wantsNetwork) return files;
  return Object.freeze({ ...files, ...(exec === EMPTY_EXEC_FILTER ? {} : { exec }), ...(wantsNetwork ? { network } : {}) });
}

/** The file-event filter; a syscall rule without a path passes every event of its calls, and only of those (passCalls). */
function fileFilter(rules: readonly CompiledRule[], syscallRules: readonly CompiledSyscallRule[]): KernelFilterSpec {
  const { targets, anyPath } = syscallTargets(syscallRules, 'File');
  if (rules.length === 0 && targets.length === 0 && anyPath.size === 0) return EMPTY_FILTER;
  // Allow-list mode must see every access of the workloads it selects.
  if (rules.some((r) => r.action === 'Allow')) return PASS_ALL_FILTER;
  const found = pathsFor([...rules.map(ruleTarget), ...targets]);
  if (found === null) return PASS_ALL_FILTER;
  const { pathCalls, ...paths } = found;
  return Object.freeze({
    passAll: false, ...paths,
    ...(anyPath.size === 0 ? {} : { passCalls: [...anyPath].sort() }),
    ...(Object.keys(pathCalls).length === 0 ? {} : { pathCalls }),
  });
}

/** The execution filter: process rules (paths, directories, patterns, base names), and syscall rules on execve/execveat. */
export function buildExecFilter(rules: readonly CompiledRule[], syscallRules: readonly CompiledSyscallRule[] = []): ExecFilterSpec {
  const { targets: fromSyscalls, anyPath } = syscallTargets(syscallRules, 'Process');
  if (anyPath.size > 0) return PASS_ALL_EXEC; // execve/execveat are the only Process calls: every execution
  if (rules.length === 0 && fromSyscalls.length === 0) return EMPTY_EXEC_FILTER;
  if (rules.some((r) => r.action === 'Allow')) return PASS_ALL_EXEC;
  const names = [...new Set(rules.filter((r) => r.execname).map((r) => r.target))].sort();
  const paths = pathsFor([...rules.filter((r) => !r.execname).map(ruleTarget), ...fromSyscalls]);
  return paths === null ? PASS_ALL_EXEC : Object.freeze({ passAll: false, paths: paths.exactPaths, dirs: paths.dirPrefixes, names });
}

/**
 * The network filter for these network rules: every network call (a rule matches socket, connect,
 * accept, bind and listen alike) on a socket of the protocols the rules name; any protocol when a
 * rule names a family or a type (raw, packet, stream, all, ...) or when an Allow rule puts
 * workloads in allow-list mode (then every network call of theirs must be judged), or when a
 * syscall rule names a network call (then that call passes on any protocol).
 */
export function buildNetworkFilter(rules: readonly CompiledNetworkRule[], syscallRules: readonly CompiledSyscallRule[] = []): NetworkFilterSpec {
  const known = rules.filter((r) => r.bits !== 0);
  // Syscall rules on network calls need every event of those calls, on any protocol.
  const bySyscall = syscallRuleNetworkCalls(syscallRules);
  if (known.length === 0 && !rules.some((r) => r.action === 'Allow')) {
    return bySyscall.length === 0 ? EMPTY_NETWORK_FILTER : Object.freeze({ passAll: false, calls: NETWORK_SYSCALLS.filter((c) => bySyscall.includes(c)), protocols: [] });
  }
  const protocols = new Set<number>();
  let any = rules.some((r) => r.action === 'Allow') || bySyscall.length > 0;
  for (const r of known) {
    for (const [name, bit] of Object.entries(PROTOCOL_BITS) as [keyof typeof PROTOCOL_BITS, number][]) {
      if ((r.bits & bit) === 0) continue;
      const list = KERNEL_PROTOCOLS[name];
      if (list === 'any') any = true;
      else for (const p of list) protocols.add(p);
    }
  }
  return Object.freeze({ passAll: false, calls: [...NETWORK_SYSCALLS], protocols: any ? [] : [...protocols].sort((a, b) => a - b) });
}
