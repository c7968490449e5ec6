// Matching the file itself, not only its spelling (issue 14 part 5). The files and directories
// that host policies' file rules name are resolved to their identities (device, inode); the kernel
// then lets through an open of that file, or of anything below that directory, whatever path it
// was opened by: a hard link, a bind mount of the file or of a directory above it, a chroot, a
// private mount namespace. The event names the match by the rule's path (FileEvent.identityPath)
// and the engine matches it like any other path of the access.
//
// Only host policies: their paths are the host's, the namespace the agent resolves them in. A
// container policy's /etc/shadow is the container's own file, which the agent cannot name by
// resolving /etc/shadow here. Identities change when a file is replaced (an editor's rename over
// it, a package upgrade) or created after the policy: they are resolved again on every policy
// reload and every IDENTITY_REFRESH_MS (see docs/POLICIES.md, "What is matched").
import { stat } from 'node:fs/promises';
import type { WatchedIdentity } from '../types.ts';
import type { CompiledRule } from './engine.ts';
import { literalPrefix } from './glob.ts';

/** How often the identities are resolved again while the policies stay the same. */
export const IDENTITY_REFRESH_MS = 10_000;

/**
 * The paths whose identities host policies' file rules need: matchPaths' files, matchDirectories'
 * directories, and the literal directory of each pattern (the file itself for a pattern without
 * glob characters). Paths under /proc are left out: procfs inodes are made per process and per
 * look-up, and /proc spellings are matched by path already.
 */
export function identityTargets(rules: readonly CompiledRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    if (r.kind !== 'file' || r.policy.kind !== 'KubeArmorHostPolicy') continue;
    let p: string;
    if (r.section === 'matchDirectories') p = r.target;
    else if (r.section === 'matchPatterns' && r.regexp !== null) p = literalPrefix(r.target);
    else p = r.target;
    p = p.length > 1 ? p.replace(/\/+$/, '') : p;
    if (!p.startsWith('/') || p === '/' || p === '/proc' || p.startsWith('/proc/')) continue;
    out.add(p);
  }
  return [...out].sort();
}

/** The kernel's dev_t (MKDEV: major << 20 | minor) of the dev_t stat(2) reports (glibc's encoding). */
export function kernelDev(dev: bigint): number {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return Number(((major << 20n) | minor) & 0xffffffffn);
}

export interface ResolvedIdentities {
  readonly identities: readonly WatchedIdentity[];
  /** Paths that could not be resolved (absent, unreadable): matched by path alone until they can. */
  readonly unresolved: readonly string[];
}

/** stat(2) of each path (symlinks followed: the rule means the file they lead to, as the kernel opens it). */
export async function resolveIdentities(paths: readonly string[]): Promise<ResolvedIdentities> {
  const identities: WatchedIdentity[] = [];
  const unresolved: string[] = [];
  const seen = new Set<string>();
  await Promise.all(paths.map(async (path) => {
    try {
      const st = await stat(path, { bigint: true });
      const id: WatchedIdentity = { dev: kernelDev(st.dev), ino: st.ino, path };
      const key = `${id.dev}:${id.ino}`;
      if (!seen.has(key)) { seen.add(key); identities.push(id); }
    } catch {
      unresolved.push(path);
    }
  }));
  identities.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { identities, unresolved: unresolved.sort() };
}

/** True when both lists hold the same identities under the same paths. */
export function sameIdentities(a: readonly WatchedIdentity[], b: readonly WatchedIdentity[]): boolean {
  return a.length === b.length && a.every((x, i) => x.dev === b[i]!.dev && x.ino === b[i]!.ino && x.path === b[i]!.path);
}

export interface IdentityWatchStatus {
  readonly watched: number;
  readonly unresolved: readonly string[];
  /** The last refusal of the kernel (capacity, a dead helper), null when the last update went through. */
  readonly error: string | null;
}

/**
 * Keeps the kernel's watched identities in step with the rules: `update(rules)` on every policy
 * (re)load, and again every IDENTITY_REFRESH_MS; the sink (Monitor.setIdentities) is called only
 * when the set changed. One resolution at a time; a newer request runs after it.
 */
export class IdentityWatch {
  readonly #sink: (ids: readonly WatchedIdentity[]) => Promise<void>;
  readonly #onError: (err: unknown) => void;
  #targets: string[] = [];
  #sent: readonly WatchedIdentity[] | null = null;
  #unresolved: readonly string[] = [];
  #error: string | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: (ids: readonly WatchedIdentity[]) => Promise<void>, onError: (err: unknown) => void, refreshMs = IDENTITY_REFRESH_MS) {
    this.#sink = sink;
    this.#onError = onError;
    if (refreshMs > 0) this.#timer = setInterval(() => { void this.refresh(); }, refreshMs).unref();
  }

  /** The rules changed: resolves their targets and hands the kernel the result. */
  update(rules: readonly CompiledRule[]): Promise<void> {
    this.#targets = identityTargets(rules);
    return this.refresh();
  }

  /** Resolves the current targets again (files replaced or created since). */
  refresh(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        const r = await resolveIdentities(this.#targets);
        this.#unresolved = r.unresolved;
        if (this.#sent !== null && sameIdentities(this.#sent, r.identities)) continue;
        try {
          await this.#sink(r.identities);
          this.#sent = r.identities;
          this.#error = null;
        } catch (err) {
          this.#error = err instanceof Error ? err.message : String(err);
          this.#onError(err);
        }
      } while (this.#again);
    })().finally(() => { this.#running = null; });
    return this.#running;
  }

  status(): IdentityWatchStatus {
    return { watched: this.#sent?.length ?? 0, unresolved: this.#unresolved, error: this.#error };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
