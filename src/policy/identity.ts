// Matching the file itself, not only its spelling (issue 14 part 5). The files and directories
// that policies' file rules name are resolved to their identities (device, inode); the kernel then
// lets through an open of that file, or of anything below that directory, whatever path it was
// opened by: a hard link, a bind mount of the file or of a directory above it, a chroot, a private
// mount namespace. The event names the match by the rule's path (FileEvent.identityPaths) and the
// engine matches it like any other path of the access.
//
// Whose path: a host policy's paths are the host's, resolved here. A container policy's
// /etc/shadow is each selected container's own file: it is resolved in that container's root
// (/proc/<pid>/root, with a process of the container, symlinks followed inside that root), and the
// identity is tagged with the container's id, so only that container's processes are matched by it.
// Identities change when a file is replaced (an editor's rename over it, a package upgrade) or
// created after the policy, and containers come and go: they are resolved again on every policy
// reload, when a container starts, soon after a link, rename, unlink or create the agent sees
// (`touched`), and every IDENTITY_REFRESH_MS as a backstop (see docs/POLICIES.md, "What is matched").
import { lstat, readlink, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { FileEvent, NodeIdentity, WatchedIdentity, Workload } from '../types.ts';
import type { CompiledRule } from './engine.ts';
import { literalPrefix } from './glob.ts';

/** How often the identities are resolved again while the policies stay the same. */
export const IDENTITY_REFRESH_MS = 10_000;

/**
 * The paths whose identities the file rules need: matchPaths' files, matchDirectories'
 * directories, and the literal directory of each pattern (the file itself for a pattern without
 * glob characters); `scope` picks host policies' rules or the other (container) policies'. Paths
 * under /proc are left out: procfs inodes are made per process and per look-up, and /proc
 * spellings are matched by path already.
 */
export function identityTargets(rules: readonly CompiledRule[], scope: 'host' | 'container' = 'host'): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    if (r.kind !== 'file' || (r.policy.kind === 'KubeArmorHostPolicy') !== (scope === 'host')) continue;
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

/**
 * stat(2) of `path` as a process whose root is `root` sees it: each symbolic link is followed
 * inside that root (an absolute target starts again at `root`, `..` stops at it), never out to
 * the host's files, as a plain stat of `/proc/<pid>/root/...` would for an absolute link.
 */
export async function statInRoot(root: string, path: string): Promise<BigIntStats> {
  let rest = path.split('/').filter((c) => c !== '' && c !== '.');
  let done: string[] = [];
  for (let links = 0; rest.length > 0;) {
    const name = rest.shift()!;
    if (name === '..') { done.pop(); continue; }
    const here = [...done, name];
    const st = await lstat(`${root}/${here.join('/')}`);
    if (!st.isSymbolicLink()) { done = here; continue; }
    if (++links > 40) throw Object.assign(new Error(`too many symbolic links in ${path}`), { code: 'ELOOP' });
    const target = await readlink(`${root}/${here.join('/')}`);
    if (target.startsWith('/')) done = [];
    rest = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...rest];
  }
  return stat(`${root}/${done.join('/')}`, { bigint: true });
}

/**
 * stat(2) of each path (symlinks followed: the rule means the file they lead to, as the kernel
 * opens it); with `where`, inside that container's root, the identities tagged with its id.
 */
export async function resolveIdentities(paths: readonly string[], where?: { readonly root: string; readonly containerId: string }): Promise<ResolvedIdentities> {
  const identities: WatchedIdentity[] = [];
  const unresolved: string[] = [];
  const seen = new Set<string>();
  await Promise.all(paths.map(async (path) => {
    try {
      const st = where === undefined ? await stat(path, { bigint: true }) : await statInRoot(where.root, path);
      const id: WatchedIdentity = where === undefined
        ? { dev: kernelDev(st.dev), ino: st.ino, path }
        : { dev: kernelDev(st.dev), ino: st.ino, path, containerId: where.containerId };
      const key = `${id.dev}:${id.ino}`;
      if (!seen.has(key)) { seen.add(key); identities.push(id); }
    } catch {
      unresolved.push(path);
    }
  }));
  identities.sort(byScopeAndPath);
  return { identities, unresolved: unresolved.sort() };
}

function byScopeAndPath(a: WatchedIdentity, b: WatchedIdentity): number {
  const ca = a.containerId ?? '', cb = b.containerId ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** True when both lists hold the same identities under the same paths. */
export function sameIdentities(a: readonly WatchedIdentity[], b: readonly WatchedIdentity[]): boolean {
  return a.length === b.length && a.every((x, i) => x.dev === b[i]!.dev && x.ino === b[i]!.ino && x.path === b[i]!.path && x.containerId === b[i]!.containerId);
}

/** A running container and the host pid of one of its processes (whose root is the container's). */
export interface RunningContainer {
  readonly workload: Workload;
  readonly pid: number;
}

/** Where containers' roots are found (src/enrich): the running containers, and this node for selectors. */
export interface ContainerSource {
  running(): Promise<readonly RunningContainer[]>;
  node(): NodeIdentity;
}

/** The rules of the policy set in force, and which of them a workload's selectors pick (PolicyEngine). */
export interface IdentityRules {
  readonly rules: readonly CompiledRule[];
  fileRulesFor(w: Workload, node: NodeIdentity): readonly CompiledRule[];
}

export interface IdentityWatchStatus {
  /** Host rule targets watched by identity. */
  readonly watched: number;
  readonly unresolved: readonly string[];
  /** Container rule targets watched by identity, over all containers, and in how many containers. */
  readonly containerWatched: number;
  readonly containers: number;
  /** Container rule targets that did not resolve in their container (absent there, unreadable). */
  readonly containerUnresolved: number;
  /** Files hard-linked out of a watched directory since, watched under their name inside it. */
  readonly linked: number;
  /** The last refusal of the kernel (capacity, a dead helper), null when the last update went through. */
  readonly error: string | null;
  /** Updates refused since start: each left the set in force before it whole, and is tried again at the next refresh. */
  readonly refused: number;
}

/** A hard link made to a file under a watched directory: the new name, watched under the old one. */
interface LinkedName {
  /** Where the new name is looked up: '' for the host, else the container's id. */
  readonly scope: string;
  readonly linkPath: string;
  readonly rulePath: string;
}

/** The targets and every directory above them: a change of any of these names may change what a target is. */
function namesAbove(targets: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of targets) for (let p = t; p.length > 1 && !out.has(p); p = p.slice(0, Math.max(p.lastIndexOf('/'), 1))) out.add(p);
  return out;
}

/** Calls after which a watched name may lead to another file, or a file to a watched one. */
const NAME_CHANGES: ReadonlySet<string> = new Set(['creat', 'unlink', 'unlinkat', 'rmdir', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat', 'mount', 'move_mount']);
const LINKS: ReadonlySet<string> = new Set(['link', 'linkat']);
const O_CREAT = 0o100;
/** At most this many hard-linked names are watched besides the rules' targets. */
export const MAX_LINKED_NAMES = 1024;
/** A name change is followed by a new resolution this soon (events of one change come in a burst). */
export const TOUCH_DELAY_MS = 50;

/**
 * Keeps the kernel's watched identities in step with the rules and the containers:
 * `update(engine)` on every policy (re)load, `refresh()` when a container starts, `touched(ev, w)`
 * for every file event (a name change of a watched name resolves again TOUCH_DELAY_MS later),
 * and every IDENTITY_REFRESH_MS; the sink (Monitor.setIdentities) is called only when the set
 * changed. One resolution at a time; a newer request runs after it.
 */
export class IdentityWatch {
  readonly #sink: (ids: readonly WatchedIdentity[]) => Promise<void>;
  readonly #onError: (err: unknown) => void;
  readonly #containers: ContainerSource | undefined;
  #engine: IdentityRules = { rules: [], fileRulesFor: () => [] };
  #targets: string[] = [];
  #anyContainerRule = false;
  /** Names whose change concerns a target, by scope (host, containers): the targets and every directory above them. */
  #hostNames = new Set<string>();
  #containerNames = new Set<string>();
  /** The containers of the last listing; a name change resolves again in them without listing /proc again. */
  #listed: readonly RunningContainer[] = [];
  #relist = true;
  #sent: readonly WatchedIdentity[] | null = null;
  #unresolved: readonly string[] = [];
  #hostWatched = 0;
  #containerWatched = 0;
  #containerCount = 0;
  #containerUnresolved = 0;
  /** Hard links out of watched directories, by `${scope}\0${linkPath}`. */
  readonly #linked = new Map<string, LinkedName>();
  #error: string | null = null;
  #refused = 0;
  #running: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  /** The roots of the containers of the last resolution, by id (for hard links made in them). */
  #roots = new Map<string, string>();

  constructor(sink: (ids: readonly WatchedIdentity[]) => Promise<void>, onError: (err: unknown) => void, refreshMs = IDENTITY_REFRESH_MS, containers?: ContainerSource) {
    this.#sink = sink;
    this.#onError = onError;
    this.#containers = containers;
    if (refreshMs > 0) this.#timer = setInterval(() => { void this.refresh(); }, refreshMs).unref();
  }

  /** The rules changed: resolves their targets and hands the kernel the result. A bare rule list means host rules only. */
  update(engine: IdentityRules | readonly CompiledRule[]): Promise<void> {
    this.#engine = Array.isArray(engine) ? { rules: engine as readonly CompiledRule[], fileRulesFor: () => [] } : engine as IdentityRules;
    this.#targets = identityTargets(this.#engine.rules, 'host');
    const inContainers = identityTargets(this.#engine.rules, 'container');
    this.#anyContainerRule = inContainers.length > 0;
    this.#hostNames = namesAbove(this.#targets);
    this.#containerNames = namesAbove(inContainers);
    return this.refresh();
  }

  /**
   * A file event of workload `w`: a name change (link, rename, unlink, create, mount) that
   * succeeded resolves the identities again shortly, so a watched file replaced or created is
   * matched by identity at once rather than at the next periodic refresh. A hard link made to a
   * file under a watched directory has its new name watched under the old one.
   */
  touched(ev: FileEvent, w: Workload): void {
    if (ev.ret < 0) return;
    const opensToCreate = (ev.syscall === 'open' || ev.syscall === 'openat' || ev.syscall === 'openat2') && (ev.flags & O_CREAT) !== 0;
    if (!opensToCreate && !NAME_CHANGES.has(ev.syscall)) return;
    const linked = LINKS.has(ev.syscall) && ev.absPath2 !== null && this.#linkedOut(ev.absPath, ev.absPath2, w);
    // Only a change of a target's name or of a directory's above one.
    const names = w.kind === 'host' ? this.#hostNames : this.#containerNames;
    if (!linked && !names.has(ev.absPath) && !(ev.absPath2 !== null && names.has(ev.absPath2))) return;
    if (this.#soon !== undefined) return;
    this.#soon = setTimeout(() => { this.#soon = undefined; void this.#refresh(false); }, TOUCH_DELAY_MS);
    this.#soon.unref();
  }

  /** Records a hard link made to a file under a watched directory; true when it was recorded. */
  #linkedOut(from: string, to: string, w: Workload): boolean {
    const scope = w.kind === 'host' ? '' : w.containerId;
    if (scope === undefined) return false;
    const dirs = scope === '' ? this.#targets : identityTargets(this.#containers === undefined ? [] : this.#engine.fileRulesFor(w, this.#containers.node()), 'container');
    if (!dirs.some((d) => from.startsWith(`${d}/`))) return false;
    const key = `${scope}\0${to}`;
    if (!this.#linked.has(key) && this.#linked.size >= MAX_LINKED_NAMES) return false;
    this.#linked.set(key, { scope, linkPath: to, rulePath: from });
    return true;
  }

  /** Resolves the current targets again (files replaced or created since, containers started or gone). */
  refresh(): Promise<void> {
    return this.#refresh(true);
  }

  /** `relist`: list the running containers again (else the last listing serves: a name changed). */
  #refresh(relist: boolean): Promise<void> {
    if (relist) this.#relist = true;
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        const r = await resolveIdentities(this.#targets);
        this.#unresolved = r.unresolved;
        this.#hostWatched = r.identities.length;
        const all = [...r.identities, ...await this.#inContainers(), ...await this.#linkedNames()];
        all.sort(byScopeAndPath);
        if (this.#sent !== null && sameIdentities(this.#sent, all)) continue;
        try {
          await this.#sink(all);
          this.#sent = all;
          this.#error = null;
        } catch (err) {
          this.#error = err instanceof Error ? err.message : String(err);
          this.#refused++;
          this.#onError(err);
        }
      } while (this.#again);
    })().finally(() => { this.#running = null; });
    return this.#running;
  }

  /** Each running container's targets, resolved in its root. */
  async #inContainers(): Promise<WatchedIdentity[]> {
    const out: WatchedIdentity[] = [];
    let watched = 0, unresolved = 0, count = 0;
    const roots = new Map<string, string>();
    if (this.#containers !== undefined && (this.#anyContainerRule || this.#linked.size > 0)) {
      const node = this.#containers.node();
      if (this.#relist) {
        this.#relist = false;
        this.#listed = await this.#containers.running();
      }
      for (const c of this.#listed) {
        const id = c.workload.containerId;
        if (id === undefined) continue;
        const root = `/proc/${c.pid}/root`;
        roots.set(id, root);
        const targets = identityTargets(this.#engine.fileRulesFor(c.workload, node), 'container');
        if (targets.length === 0) continue;
        const r = await resolveIdentities(targets, { root, containerId: id });
        count++;
        watched += r.identities.length;
        unresolved += r.unresolved.length;
        out.push(...r.identities);
      }
    }
    this.#roots = roots;
    this.#containerWatched = watched;
    this.#containerUnresolved = unresolved;
    this.#containerCount = count;
    return out;
  }

  /** The hard-linked names still there (a name gone, or whose container is gone, is dropped). */
  async #linkedNames(): Promise<WatchedIdentity[]> {
    const out: WatchedIdentity[] = [];
    await Promise.all([...this.#linked].map(async ([key, l]) => {
      const root = l.scope === '' ? '' : this.#roots.get(l.scope);
      try {
        if (root === undefined) throw new Error('container gone');
        const st = root === '' ? await stat(l.linkPath, { bigint: true }) : await statInRoot(root, l.linkPath);
        out.push(l.scope === '' ? { dev: kernelDev(st.dev), ino: st.ino, path: l.rulePath } : { dev: kernelDev(st.dev), ino: st.ino, path: l.rulePath, containerId: l.scope });
      } catch {
        this.#linked.delete(key);
      }
    }));
    return out;
  }

  status(): IdentityWatchStatus {
    return {
      watched: this.#sent === null ? 0 : this.#hostWatched, unresolved: this.#unresolved,
      containerWatched: this.#containerWatched, containers: this.#containerCount, containerUnresolved: this.#containerUnresolved,
      linked: this.#linked.size, error: this.#error, refused: this.#refused,
    };
  }

  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
  }
}
