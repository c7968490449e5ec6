// The kernel filters for a compiled rule set. They may pass more than the rules need, never less:
// exact paths from matchPaths, directory prefixes from matchDirectories and from the literal
// directory of each pattern; anything the monitor cannot express as a path or prefix passes all.
// File events and executions are filtered apart (KernelFilterSpec, ExecFilterSpec).
import { SYSCALLS } from '../syscalls.ts';
import type { ExecFilterSpec, KernelFilterSpec } from '../types.ts';
import type { CompiledRule } from './engine.ts';
import { literalPrefix } from './glob.ts';
import type { CompiledSyscallRule } from './syscall-rules.ts';

/** The empty filter: nothing passes (no file rules at all). */
export const EMPTY_FILTER: KernelFilterSpec = Object.freeze({ passAll: false, exactPaths: [], dirPrefixes: [] });
export const PASS_ALL_FILTER: KernelFilterSpec = Object.freeze({ passAll: true, exactPaths: [], dirPrefixes: [] });
export const EMPTY_EXEC_FILTER: ExecFilterSpec = Object.freeze({ passAll: false, paths: [], dirs: [], names: [] });
const PASS_ALL_EXEC: ExecFilterSpec = Object.freeze({ passAll: true, paths: [], dirs: [], names: [] });

/**
 * Rules on procfs also match `/proc/self/...`, `/proc/thread-self/...` and `/proc/<pid>/...`
 * spellings; pids cannot be listed ahead, so any rule under /proc/ passes the whole of /proc/.
 */
const PROC = '/proc/';

/** A path part of a rule: an exact path, a directory prefix (ending in '/'), or a pattern. */
type Target = { readonly exact: string } | { readonly prefix: string } | { readonly pattern: string };

/** Exact paths and prefixes for these targets, or null when everything must pass. */
function pathsFor(targets: Iterable<Target>): { exactPaths: string[]; dirPrefixes: string[] } | null {
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const t of targets) {
    let target: string;
    if ('prefix' in t) { prefixes.add(t.prefix); target = t.prefix; }
    else if ('pattern' in t) {
      const prefix = literalPrefix(t.pattern);
      if (prefix === '' || prefix === '/') return null;
      prefixes.add(prefix);
      target = t.pattern;
    } else { exact.add(t.exact); target = t.exact; }
    if (target === '/proc' || target.startsWith(PROC)) prefixes.add(PROC);
  }
  if (prefixes.has('/')) return null;
  // Drop what a shorter prefix already covers.
  const sorted = [...prefixes].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const kept: string[] = [];
  for (const p of sorted) if (!kept.some((k) => p.startsWith(k))) kept.push(p);
  const covered = (path: string): boolean => kept.some((k) => path.startsWith(k) || `${path}/` === k);
  return { exactPaths: [...exact].filter((p) => !covered(p)).sort(), dirPrefixes: kept.sort() };
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
    else targets.push(r.target.endsWith('/') ? { prefix: r.target } : { exact: r.target });
  }
  return { targets, anyPath };
}

/** The file-event filter (file rules, and syscall rules on file calls), with the execution filter when executions are needed. */
export function buildKernelFilter(rules: readonly CompiledRule[], syscallRules: readonly CompiledSyscallRule[] = [], processRules: readonly CompiledRule[] = []): KernelFilterSpec {
  const files = fileFilter(rules, syscallRules);
  const exec = buildExecFilter(processRules, syscallRules);
  return exec === EMPTY_EXEC_FILTER ? files : Object.freeze({ ...files, exec });
}

/** The file-event filter; a syscall rule without a path passes every event of its calls, and only of those (passCalls). */
function fileFilter(rules: readonly CompiledRule[], syscallRules: readonly CompiledSyscallRule[]): KernelFilterSpec {
  const { targets, anyPath } = syscallTargets(syscallRules, 'File');
  if (rules.length === 0 && targets.length === 0 && anyPath.size === 0) return EMPTY_FILTER;
  // Allow-list mode must see every access of the workloads it selects.
  if (rules.some((r) => r.action === 'Allow')) return PASS_ALL_FILTER;
  const paths = pathsFor([...rules.map(ruleTarget), ...targets]);
  if (paths === null) return PASS_ALL_FILTER;
  return Object.freeze({ passAll: false, ...paths, ...(anyPath.size === 0 ? {} : { passCalls: [...anyPath].sort() }) });
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
