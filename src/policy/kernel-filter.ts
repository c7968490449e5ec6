// The kernel filter for a compiled rule set. It may pass more than the rules need, never less:
// exact paths from matchPaths, directory prefixes from matchDirectories and from the literal
// directory of each pattern; anything the monitor cannot express as a path or prefix passes all.
import type { KernelFilterSpec } from '../types.ts';
import type { CompiledRule } from './engine.ts';
import { literalPrefix } from './glob.ts';

/** The empty filter: nothing passes (no file rules at all). */
export const EMPTY_FILTER: KernelFilterSpec = Object.freeze({ passAll: false, exactPaths: [], dirPrefixes: [] });
export const PASS_ALL_FILTER: KernelFilterSpec = Object.freeze({ passAll: true, exactPaths: [], dirPrefixes: [] });

/**
 * Rules on procfs also match `/proc/self/...`, `/proc/thread-self/...` and `/proc/<pid>/...`
 * spellings; pids cannot be listed ahead, so any rule under /proc/ passes the whole of /proc/.
 */
const PROC = '/proc/';

export function buildKernelFilter(rules: readonly CompiledRule[]): KernelFilterSpec {
  if (rules.length === 0) return EMPTY_FILTER;
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const r of rules) {
    // Allow-list mode must see every access of the workloads it selects.
    if (r.action === 'Allow') return PASS_ALL_FILTER;
    let prefix: string | null = null;
    if (r.section === 'matchDirectories') prefix = r.target;
    else if (r.section === 'matchPatterns' && r.regexp !== null) {
      prefix = literalPrefix(r.target);
      if (prefix === '' || prefix === '/') return PASS_ALL_FILTER;
    } else exact.add(r.target);
    if (prefix !== null) prefixes.add(prefix);
    if (r.target === '/proc' || r.target.startsWith(PROC)) prefixes.add(PROC);
  }
  if (prefixes.has('/')) return PASS_ALL_FILTER;
  // Drop what a shorter prefix already covers.
  const sorted = [...prefixes].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const kept: string[] = [];
  for (const p of sorted) if (!kept.some((k) => p.startsWith(k))) kept.push(p);
  const covered = (path: string): boolean => kept.some((k) => path.startsWith(k) || `${path}/` === k);
  const exactPaths = [...exact].filter((p) => !covered(p)).sort();
  return Object.freeze({ passAll: false, exactPaths, dirPrefixes: kept.sort() });
}
