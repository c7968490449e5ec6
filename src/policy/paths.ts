// Which paths of an access are matched: the requested path made absolute, the resolved path, and
// (for procfs) the `/proc/self/`, `/proc/thread-self/`, `/proc/<pid>/` spellings folded to `/proc/`.
import type { FileEvent } from '../types.ts';

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
 * The distinct paths an access is matched under, requested path first; written into `out` when given.
 * `host`: the access is a host process's, whose policies name host paths: the opened file's path
 * from the root of its mount namespace (not only from its own root, which a chroot moves) and the
 * rule path its identity matched (a hard link, a bind mount, another mount namespace) count too.
 */
export function candidatePaths(ev: Pick<FileEvent, 'absPath' | 'resolvedPath' | 'absPath2' | 'hostPath' | 'identityPath'>, out: string[] = [], host = false): string[] {
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
  if (host) {
    add(ev.hostPath ?? null);
    add(ev.identityPath ?? null);
  }
  return out;
}
