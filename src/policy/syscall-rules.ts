// Syscall rules (`spec.syscalls`, POLICY-SEMANTICS.md "Syscall rules"): matchSyscalls lists calls,
// matchPaths lists calls on a path (a file, or a directory ending in '/' with `recursive`); both
// optionally narrowed by fromSource (an executable path, or a directory with `recursive`). Only
// Audit applies. Network calls are matched on their call events (not on a connect's later
// outcome); a matchPaths path on them is the file of a unix socket. Calls the monitor does not observe are left out here and reported by coverage.ts.
import { SYSCALLS } from '../syscalls.ts';
import type { NetworkEvent, NetworkSyscall } from '../types.ts';
import type { PolicyRef } from './engine.ts';
import type { PolicyDocument, SyscallSource } from './types.ts';

/**
 * Calls whose events reach the policy stage: the file calls, executions and the network calls
 * (socket, connect, accept, accept4, bind, listen). Any other call a rule names is reported as
 * unobserved (coverage.ts).
 */
export const OBSERVED_SYSCALLS: ReadonlySet<string> = new Set(
  Object.values(SYSCALLS).filter((s) => s.operation === 'File' || s.operation === 'Process' || s.operation === 'Network').map((s) => s.name),
);

/** The observed network calls a syscall rule names: the kernel must pass them, on any protocol. */
export function syscallRuleNetworkCalls(rules: readonly CompiledSyscallRule[]): NetworkSyscall[] {
  const out = new Set<NetworkSyscall>();
  for (const r of rules) for (const c of r.calls) if (SYSCALLS[c as keyof typeof SYSCALLS]?.operation === 'Network') out.add(c as NetworkSyscall);
  return [...out];
}

/**
 * The paths of a network call for matchPaths: the file of a unix socket (not an abstract name),
 * the one asked for or bound, then the peer's.
 */
export function networkPaths(ev: NetworkEvent): string[] {
  const out: string[] = [];
  for (const a of [ev.remote, ev.local]) if (a !== null && a.family === 'unix' && !a.abstract && a.path !== '' && !out.includes(a.path)) out.push(a.path);
  return out;
}

export interface CompiledSyscallRule {
  readonly policy: PolicyRef;
  readonly policyIndex: number;
  readonly section: 'matchSyscalls' | 'matchPaths';
  readonly index: number;
  readonly order: number;
  /** The listed calls that are observed. */
  readonly calls: readonly string[];
  readonly severity: number;
  readonly tags: readonly string[];
  readonly message: string | undefined;
  /** Empty: any process. */
  readonly sources: readonly SyscallSource[];
  /** matchPaths: the file, or directory ending in '/'; null for matchSyscalls. */
  readonly target: string | null;
  readonly recursive: boolean;
}

/** `path` is `dir` (ending in '/') itself or inside it (directly, or at any depth when recursive). */
export function inDirectory(path: string, dir: string, recursive: boolean): boolean {
  if (path === dir || `${path}/` === dir) return true;
  if (!path.startsWith(dir)) return false;
  return recursive || !path.slice(dir.length).includes('/');
}

function sourceMatches(s: SyscallSource, exe: string): boolean {
  if (typeof s.path === 'string' && s.path !== '' && s.path === exe) return true;
  if (typeof s.dir === 'string' && s.dir !== '') return inDirectory(exe, s.dir.endsWith('/') ? s.dir : `${s.dir}/`, s.recursive === true);
  return false;
}

/** The path a rule matched for a call by `exe` on `paths` (the first path, or '' when none, for matchSyscalls), or null. */
export function syscallRuleMatches(r: CompiledSyscallRule, exe: string, paths: readonly string[]): string | null {
  if (r.sources.length > 0 && !r.sources.some((s) => sourceMatches(s, exe))) return null;
  if (r.target === null) return paths[0] ?? '';
  for (const p of paths) {
    if (r.target.endsWith('/') ? inDirectory(p, r.target, r.recursive) : p === r.target) return p;
  }
  return null;
}

export function compileSyscallRules(p: PolicyDocument, policy: PolicyRef, policyIndex: number, firstOrder: number): CompiledSyscallRule[] {
  const section = p.spec.syscalls;
  if (section === undefined) return [];
  const out: CompiledSyscallRule[] = [];
  const common = {
    policy, policyIndex,
    severity: section.severity ?? p.spec.severity ?? 1,
    tags: section.tags !== undefined && section.tags.length > 0 ? section.tags : p.spec.tags ?? [],
    message: section.message !== undefined && section.message !== '' ? section.message : p.spec.message,
  };
  (section.matchSyscalls ?? []).forEach((m, index) => {
    const calls = (m.syscall ?? []).filter((c) => OBSERVED_SYSCALLS.has(c));
    if (calls.length === 0) return;
    out.push({ ...common, section: 'matchSyscalls', index, order: firstOrder + out.length, calls, sources: m.fromSource ?? [], target: null, recursive: false });
  });
  (section.matchPaths ?? []).forEach((m, index) => {
    const calls = (m.syscall ?? []).filter((c) => OBSERVED_SYSCALLS.has(c));
    if (calls.length === 0 || typeof m.path !== 'string') return;
    out.push({ ...common, section: 'matchPaths', index, order: firstOrder + out.length, calls, sources: m.fromSource ?? [], target: m.path, recursive: m.recursive === true });
  });
  return out;
}
