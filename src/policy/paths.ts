// Which paths of an access are matched: the requested path made absolute, the resolved path, and
// (for procfs) the `/proc/self/`, `/proc/thread-self/`, `/proc/<pid>/` spellings folded to `/proc/`.
import type { FileEvent, Workload } from '../types.ts';

const PROC_ALIAS = /^\/proc\/(?:self|thread-self|[0-9]+)(?=\/|$)/;

/** `/proc/self/net/tcp` → `/proc/net/tcp`; other paths unchanged. */
export function foldProcPath(path: string): string {
  if (!path.startsWith('/proc/')) return path;
  const m = PROC_ALIAS.exec(path);
  if (m === null) return path;
  const rest = path.slice(m[0].length);
  return rest === '' ? '/proc' : `/proc${rest}`;
}

/**
 * Whose identity matches count for a workload (candidatePaths' `scope`): null for the host, the
 * container's id for a known container, undefined for a container the enricher could not name
 * (no identity of any scope is its own).
 */
export function scopeOf(w: Workload): string | null | undefined {
  return w.kind === 'host' ? null : w.containerId;
}

/**
 * The distinct paths an access is matched under, requested path first; written into `out` when given.
 * `scope` (scopeOf): null for a host process, whose policies name host paths: the opened file's
 * path from the root of its mount namespace (not only from its own root, which a chroot moves)
 * counts too. The rule paths its identity matched (a hard link, a bind mount, another mount
 * namespace) count when they were resolved for the same scope: the host's for a host process, the
 * process's own container's for a container process, so a file of one container never stands for
 * another container's file of the same name.
 */
export function candidatePaths(ev: Pick<FileEvent, 'absPath' | 'resolvedPath' | 'absPath2' | 'hostPath' | 'identityPaths'>, out: string[] = [], scope?: string | null): string[] {
  out.length = 0;
  const add = (p: string | null): void => {
    if (p === null || p === '') return;
    if (!out.includes(p)) out.push(p);
    const folded = foldProcPath(p);
    if (folded !== p && !out.includes(folded)) out.push(folded);
  };
  add(ev.absPath);
  add(ev.resolvedPath);
  add(ev.absPath2);
  if (scope === null) add(ev.hostPath ?? null);
  const ids = ev.identityPaths;
  if (ids !== undefined && ids !== null && scope !== undefined) for (const id of ids) if (id.containerId === scope) add(id.path);
  return out;
}
