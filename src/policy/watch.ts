// Hot reload: a PolicyStore keeps the policies of some directories in force and rebuilds the
// engine when they change. One non-recursive watch per directory searched (a directory's watch
// reports changes to the files in it, and a ConfigMap's `..data` swap in its top folder) gives quick
// notice and names the file, so only that file is looked at again; a slow periodic rescan (every
// 60 s) of everything is the safety net for what watches miss. Files are compared by stat
// signature, then by content hash, so a rescan that finds nothing new costs no reload. Changes are
// debounced, but continuous churn postpones a reload by at most maxWaitMs.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { KernelFilterSpec } from '../types.ts';
import { silentLogger, type Logger } from '../log.ts';
import { KERNEL_FILTER_CAPACITY_DEFAULT } from '../monitor/filter.ts';
import { checkFilterCapacity } from './capacity.ts';
import { unobservedSections } from './coverage.ts';
import { discoverPolicyFiles, type Discovery, type PolicyFile } from './discover.ts';
import { compilePolicies, type EngineOptions, type PolicyEngine } from './engine.ts';
import { DEFAULT_LOAD_LIMITS, mapLimit, parsePolicyText, readPolicyBytes, type FileResult, type LoadLimits } from './load.ts';
import type { PolicySource } from './crd-source.ts';
import { formatProblem, type PolicyDocument, type Problem } from './types.ts';

export interface PolicyStoreOptions {
  /** Directories or files to load. */
  readonly paths: readonly string[];
  readonly engine?: EngineOptions;
  readonly logger?: Logger;
  /** Quiet time after the last change before reloading (a burst of changes gives one reload). */
  readonly debounceMs?: number;
  /** Longest a reload waits after the first change it will pick up, however long changes go on. */
  readonly maxWaitMs?: number;
  /** Period of the safety-net rescan. */
  readonly rescanMs?: number;
  readonly limits?: LoadLimits;
  /** Documents from elsewhere (KubeArmor's custom resources), validated and kept like files' documents. */
  readonly sources?: readonly PolicySource[];
  /** Entries each kernel filter map holds for one policy set (--kernel-filter-capacity): a set needing more is refused. */
  readonly kernelFilterCapacity?: number;
}

/**
 * What the policy folders look like now, for the health detail, logs and metrics: a plain object
 * refreshed after every scan (read it, do not keep it).
 */
export interface PolicyStoreStatus {
  /** Policies in force. */
  readonly policies: number;
  /** Policy files found. */
  readonly files: number;
  /** Files that could not be read (unreadable, too large, not a regular file, timed out). */
  readonly unreadableFiles: number;
  /** Documents rejected at the last change (their previous version may stay in force). */
  readonly rejectedDocuments: number;
  /** Entries the last search passed over, by reason (links out of the folder, loops, FIFOs, ...). */
  readonly skippedEntries: Readonly<Record<string, number>>;
  /** Folders that could not be read at all (escaped path and errno). */
  readonly unreadableFolders: readonly string[];
  /** Folders that hold no policy file. */
  readonly emptyFolders: readonly string[];
  /** Reloads committed since start (the first load included). */
  readonly reloads: number;
  /** Scans that failed as a whole (policies in force kept). */
  readonly failedScans: number;
  /** Milliseconds the scan in progress has been running, 0 when none is. */
  readonly scanRunningMs: number;
  /** Why the last change was refused as a whole (the kernel filter's capacity, or its switch failed), null when the last change was taken. */
  readonly refusedChange: string | null;
  /** Changes refused as a whole since start, by reason. */
  readonly refusedChanges: { readonly capacity: number; readonly kernelFilter: number };
  /** When a change the kernel filter switch refused is tried again (ms from now), null when no retry is due. */
  readonly refusedRetryInMs: number | null;
  /** The policies in force with parts this node does not observe, by section (src/policy/coverage.ts). */
  readonly unobservedSections: Readonly<Record<string, readonly string[]>>;
}

/**
 * Puts a new state's kernel filter in force before the store takes it (src/monitor's switch). When
 * it rejects, the store keeps the state in force, engine and filter alike.
 */
/** The first retry of a change the kernel filter switch refused, in ms (then doubled, up to the rescan period). */
export const RETRY_FIRST_MS = 1000;

export type FilterSwitch = (next: ReloadEvent) => Promise<void>;

export interface RejectedDocument {
  readonly key: string | undefined;
  readonly file: string;
  /** True when an earlier valid version of this policy stays in force. */
  readonly keptPrevious: boolean;
  readonly problems: readonly Problem[];
}

export interface ReloadEvent {
  readonly generation: number;
  readonly engine: PolicyEngine;
  readonly filter: KernelFilterSpec;
  readonly policies: number;
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  readonly rejected: readonly RejectedDocument[];
}

/** What is in force from one file. */
interface FileState {
  readonly signature: string;
  readonly contentHash: string;
  /** Policies in force, by document index (an invalid document keeps its last valid version). */
  readonly byIndex: ReadonlyMap<number, PolicyDocument>;
  /** The file itself could not be read (its previous policies are dropped, the problem reported). */
  readonly unreadable: boolean;
}

/** The directories to watch: each folder given and every directory holding a policy file found. */
function watchedDirs(paths: readonly string[], files: readonly PolicyFile[]): Set<string> {
  const dirs = new Set<string>();
  for (const p of paths) dirs.add(p);
  for (const f of files) if (typeof f.path === 'string') dirs.add(dirname(f.path));
  // A file given directly may be replaced by a rename: its folder's watch sees that.
  for (const f of files) if (f.root === null && typeof f.path === 'string') dirs.delete(f.path);
  return dirs;
}

async function signature(file: string | Buffer): Promise<string> {
  try {
    const st = await stat(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}

export class PolicyStore {
  private readonly opts: Required<Omit<PolicyStoreOptions, 'engine'>> & { engine: EngineOptions };
  private readonly log: Logger;
  private files = new Map<string, FileState>();
  private current: ReloadEvent | undefined;
  private readonly listeners: Array<(ev: ReloadEvent) => void> = [];
  private watchers = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | undefined;
  /** When the oldest change not yet picked up by a reload was noticed (0: none pending). */
  private pendingSince = 0;
  private scanStartedAt = 0;
  private reloads = 0;
  private failedScans = 0;
  private lastDiscovery: Discovery = { files: [], skipped: [], empty: [] };
  private lastRejected = 0;
  private reported = new Set<string>();
  private rescan: NodeJS.Timeout | undefined;
  private running: Promise<ReloadEvent | null> | undefined;
  private again = false;
  /** Files a watch reported changed since the last scan, or 'all' (rescan, unknown change, `..data` swap). */
  private dirty: Set<string> | 'all' = 'all';
  private closed = false;
  private generation = 0;
  private refused: string | null = null;
  private readonly refusedBy = { capacity: 0, kernelFilter: 0 };
  /** A refused kernel filter switch is tried again after 1 s, 2 s, 4 s, ... up to the rescan period. */
  private retry: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private retries = 0;
  private unobserved: Record<string, string[]> = {};
  private switcher: FilterSwitch | undefined;

  constructor(options: PolicyStoreOptions) {
    this.opts = {
      paths: options.paths.map((p) => resolve(p)),
      engine: options.engine ?? {},
      logger: options.logger ?? silentLogger,
      debounceMs: options.debounceMs ?? 250,
      maxWaitMs: options.maxWaitMs ?? 1000,
      rescanMs: options.rescanMs ?? 60_000,
      limits: options.limits ?? DEFAULT_LOAD_LIMITS,
      sources: options.sources ?? [],
      kernelFilterCapacity: options.kernelFilterCapacity ?? KERNEL_FILTER_CAPACITY_DEFAULT,
    };
    this.log = this.opts.logger;
  }

  /** The engine in force (after start()). */
  get engine(): PolicyEngine {
    if (this.current === undefined) throw new Error('PolicyStore: call start() first');
    return this.current.engine;
  }

  get state(): ReloadEvent | undefined {
    return this.current;
  }

  onReload(listener: (ev: ReloadEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * From now on every change is put in force through `fn` first: the engine switches only when the
   * kernel filter did, so the two never disagree for longer than the switch takes.
   */
  useSwitch(fn: FilterSwitch): void {
    this.switcher = fn;
  }

  /** Loads the policies once and starts watching. Throws PolicyPathError when a path does not exist. */
  async start(): Promise<ReloadEvent> {
    for (const src of this.opts.sources) src.onChange(() => { this.schedule(this.opts.debounceMs); });
    await Promise.all(this.opts.sources.map((src) => src.start()));
    const first = await this.reload();
    this.rescan = setInterval(() => { this.dirty = 'all'; this.schedule(0); }, this.opts.rescanMs);
    this.rescan.unref();
    return first ?? this.current!;
  }

  /** The state of the policy folders (see PolicyStoreStatus). */
  status(): PolicyStoreStatus {
    const d = this.lastDiscovery;
    const byReason: Record<string, number> = {};
    for (const s of d.skipped) if (s.root !== true) byReason[s.reason] = (byReason[s.reason] ?? 0) + 1;
    let unreadableFiles = 0;
    for (const st of this.files.values()) if (st.unreadable) unreadableFiles++;
    return {
      policies: this.current?.policies ?? 0,
      files: d.files.length,
      unreadableFiles,
      rejectedDocuments: this.lastRejected,
      skippedEntries: byReason,
      unreadableFolders: d.skipped.filter((s) => s.root === true).map((s) => s.message),
      emptyFolders: d.empty,
      reloads: this.reloads,
      failedScans: this.failedScans,
      scanRunningMs: this.scanStartedAt === 0 ? 0 : Date.now() - this.scanStartedAt,
      refusedChange: this.refused,
      refusedChanges: { ...this.refusedBy },
      refusedRetryInMs: this.retryAt === 0 ? null : Math.max(0, this.retryAt - Date.now()),
      unobservedSections: this.unobserved,
    };
  }

  /**
   * Watches every directory the last search went through, and the folder of each path: a
   * directory's watch sees its files change, appear and vanish, which is all a reload needs.
   * Watches of directories no longer searched are closed.
   */
  private syncWatches(dirs: ReadonlySet<string>): void {
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) { w.close(); this.watchers.delete(dir); }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // A named file: only it is checked again. A dot name (a ConfigMap's `..data` swap) or no
          // name: everything is.
          if (name === null || name.startsWith('.')) this.dirty = 'all';
          else if (this.dirty !== 'all') this.dirty.add(join(dir, name));
          this.schedule(this.opts.debounceMs);
        });
        w.on('error', (err) => {
          this.log.warn({ path: dir, err: String(err) }, 'policy watcher failed; the periodic rescan still applies');
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch (err) {
        this.log.warn({ path: dir, err: String(err) }, 'cannot watch policy directory; relying on the periodic rescan');
      }
    }
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.debounce !== undefined) {
      if (delay === 0) return; // a rescan while a debounced reload is pending: the reload will do
      clearTimeout(this.debounce);
    } else {
      this.pendingSince = now;
    }
    // Debounced, but never past maxWaitMs after the first change noticed: churn cannot starve reloads.
    const wait = Math.max(0, Math.min(delay, this.pendingSince + this.opts.maxWaitMs - now));
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.reloadNow().catch((err: unknown) => { this.log.error({ err: String(err) }, 'policy reload failed'); });
    }, wait);
    this.debounce.unref();
  }

  /** Rescans everything now. Resolves to the new state, or null when nothing changed. Reloads never overlap. */
  async reload(): Promise<ReloadEvent | null> {
    this.dirty = 'all';
    return this.reloadNow();
  }

  private async reloadNow(): Promise<ReloadEvent | null> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.scanStartedAt = Date.now();
    this.running = this.doReload();
    try {
      return await this.running;
    } finally {
      this.scanStartedAt = 0;
      this.running = undefined;
      if (this.again && !this.closed) { this.again = false; this.schedule(0); }
    }
  }

  private async doReload(): Promise<ReloadEvent | null> {
    let found: Discovery;
    try {
      found = await discoverPolicyFiles(this.opts.paths);
    } catch (err) {
      // The first load of a missing path fails start(); later, a watched directory vanished: keep
      // what is in force rather than dropping every policy.
      if (this.current === undefined) throw err;
      this.failedScans++;
      this.log.error({ err: String(err) }, 'cannot list policy files; keeping the policies in force');
      return null;
    }
    if (this.closed) return null;
    this.lastDiscovery = found;
    this.syncWatches(watchedDirs(this.opts.paths, found.files));
    this.reportDiscovery(found);
    const next = new Map<string, FileState>();
    const rejected: RejectedDocument[] = [];
    // A source's document is read like a file: its version stands for the file's stat signature.
    const virtual = new Map<string, { version: string; text: string }>();
    for (const src of this.opts.sources) for (const [name, d] of src.documents()) virtual.set(name, d);
    let changed = found.files.length + virtual.size !== this.files.size;
    // Only files a watch named are looked at again (all of them on a rescan), and their stat
    // signatures are taken in parallel (bounded): thousands of unchanged files stay cheap.
    const dirty = this.dirty;
    this.dirty = new Set();
    const recheck = (pf: PolicyFile): boolean => dirty === 'all' || !this.files.has(pf.name) || typeof pf.path !== 'string' || dirty.has(pf.path);
    const sigs = await mapLimit(found.files, 32, (pf) => (recheck(pf) ? signature(pf.path) : Promise.resolve(undefined)));
    for (const [i, pf] of found.files.entries()) {
      const file = pf.name;
      const prev = this.files.get(file);
      // Not looked at again: its old signature, so it counts as unchanged.
      const sig = sigs[i] ?? prev?.signature ?? 'unknown';
      if (prev !== undefined && prev.signature === sig) { next.set(file, prev); continue; }
      const read = await readPolicyBytes(pf.path, this.opts.limits);
      if (!read.ok && read.errno === 'ENOENT') {
        // Gone between listing and reading (a ConfigMap swap in progress): the next rescan sees the end state.
        this.log.debug({ file }, 'policy file vanished while reading');
        changed = true;
        continue;
      }
      const parsed = read.ok
        ? parsePolicyText(file, read.bytes, this.opts.limits)
        : { file, documents: [], problems: [{ file, doc: 0, line: 1, col: 1, path: '', message: read.message, code: 'AW_POLICY_FILE' }], contentHash: read.contentHash };
      if (this.absorb(file, sig, parsed, !read.ok, next, rejected)) changed = true;
    }
    for (const [file, doc] of virtual) {
      const prev = this.files.get(file);
      const sig = `source:${doc.version}`;
      if (prev !== undefined && prev.signature === sig) { next.set(file, prev); continue; }
      if (this.absorb(file, sig, parsePolicyText(file, doc.text, this.opts.limits), false, next, rejected)) changed = true;
    }
    for (const file of this.files.keys()) if (!next.has(file)) changed = true;
    if (this.closed) return null;
    if (!changed && this.current !== undefined) { this.files = next; return null; }
    this.lastRejected = rejected.length;
    return await this.commit(next, rejected);
  }

  /**
   * Puts what one file (or source document) holds into `next`: its valid documents, and for an invalid
   * one its last valid version. A problem with the file as a whole (unreadable, too large, not UTF-8)
   * keeps everything the file had in force. Returns false when the content is unchanged.
   */
  private absorb(file: string, sig: string, parsed: FileResult, unreadable: boolean, next: Map<string, FileState>, rejected: RejectedDocument[]): boolean {
    const prev = this.files.get(file);
    if (prev !== undefined && prev.contentHash === parsed.contentHash) {
      next.set(file, { ...prev, signature: sig });
      return false;
    }
    if (parsed.problems.length > 0) {
      const kept = prev !== undefined && prev.byIndex.size > 0;
      for (const p of parsed.problems) rejected.push({ key: undefined, file, keptPrevious: kept, problems: [p] });
      next.set(file, { signature: sig, contentHash: parsed.contentHash, byIndex: prev?.byIndex ?? new Map(), unreadable });
      return true;
    }
    const byIndex = new Map<number, PolicyDocument>();
    const prevByKey = new Map<string, PolicyDocument>();
    for (const d of prev?.byIndex.values() ?? []) prevByKey.set(d.key, d);
    parsed.documents.forEach((d) => {
      if (d.status === 'skipped') {
        this.log.debug({ file, doc: d.doc, kind: d.kind, apiVersion: d.apiVersion }, 'not a policy document; skipped');
      } else if (d.status === 'policy') {
        byIndex.set(d.policy.source.doc, d.policy);
      } else if (d.status === 'invalid') {
        const index = d.problems[0]?.doc ?? -1;
        // Keep the last valid version: found by key, else (YAML too broken to read a key) by position.
        const keep = (d.key !== undefined ? prevByKey.get(d.key) : undefined) ?? (d.key === undefined ? prev?.byIndex.get(index) : undefined);
        if (keep !== undefined) byIndex.set(index, keep);
        rejected.push({ key: d.key ?? keep?.key, file, keptPrevious: keep !== undefined, problems: d.problems });
      }
    });
    next.set(file, { signature: sig, contentHash: parsed.contentHash, byIndex, unreadable });
    return true;
  }

  /** Logs what the search passed over, each entry once while it stays (a rescan repeats nothing). */
  private reportDiscovery(found: Discovery): void {
    const now = new Set<string>();
    const report = (key: string, fn: () => void): void => {
      now.add(key);
      if (!this.reported.has(key)) fn();
    };
    for (const s of found.skipped) {
      report(`skip:${s.reason}:${s.name}`, () => {
        // A link of a removed ConfigMap key dangles for a moment during every update: not worth a warning.
        (s.reason === 'broken-link' ? this.log.debug.bind(this.log) : this.log.warn.bind(this.log))({ path: s.name, reason: s.reason, ...(s.errno === undefined ? {} : { errno: s.errno }) }, s.message);
      });
    }
    for (const dir of found.empty) {
      report(`empty:${dir}`, () => { this.log.warn({ path: dir }, `policy folder ${dir} holds no policy file (*.yaml, *.yml)`); });
    }
    this.reported = now;
  }

  /**
   * Refuses a change as a whole: the state in force stays. A change over the capacity is tried
   * again at the next full scan (the same files give the same answer); one the kernel filter
   * switch refused (a helper busy or failing) is tried again with backoff: RETRY_FIRST_MS, doubled
   * each time, at most the rescan period.
   */
  private refuse(reason: keyof PolicyStore['refusedBy'], message: string, fields: Record<string, unknown>): null {
    this.refused = message;
    this.refusedBy[reason]++;
    this.failedScans++;
    let retry = '';
    if (reason === 'kernelFilter' && !this.closed) {
      const delay = Math.min(RETRY_FIRST_MS * 2 ** Math.min(this.retries, 16), this.opts.rescanMs);
      this.retries++;
      clearTimeout(this.retry);
      this.retryAt = Date.now() + delay;
      this.retry = setTimeout(() => { this.retry = undefined; this.retryAt = 0; this.dirty = 'all'; this.schedule(0); }, delay);
      this.retry.unref();
      retry = `; tried again in ${delay} ms`;
    }
    this.log.error(fields, `policy change refused, the policies in force stay: ${message}${retry}`);
    return null;
  }

  private async commit(next: Map<string, FileState>, rejected: RejectedDocument[]): Promise<ReloadEvent | null> {
    const before = new Map<string, string>();
    for (const st of this.files.values()) for (const d of st.byIndex.values()) before.set(d.key, d.hash);
    const policies: PolicyDocument[] = [];
    const after = new Map<string, string>();
    for (const st of next.values()) for (const d of st.byIndex.values()) { policies.push(d); after.set(d.key, d.hash); }
    const added = [...after.keys()].filter((k) => !before.has(k)).sort();
    const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
    const updated = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
    const engine = compilePolicies(policies, this.opts.engine);
    const filter = engine.kernelFilter();
    const overflow = checkFilterCapacity(filter, engine.rules, policies, this.opts.kernelFilterCapacity, { engine: this.opts.engine });
    if (overflow !== null) {
      // Refused as a whole: the first load fails start(); later, the set in force stays, engine and
      // kernel filter alike, and the change is tried again at the next scan.
      if (this.current === undefined) throw overflow;
      return this.refuse('capacity', overflow.message, { code: overflow.code, needed: overflow.needed, capacity: overflow.capacity, contributors: overflow.contributors.slice(0, 5) });
    }
    const ev: ReloadEvent = {
      generation: this.generation + 1, engine, filter, policies: policies.length,
      added, updated, removed, rejected,
    };
    if (this.switcher !== undefined && this.current !== undefined) {
      try {
        await this.switcher(ev);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return this.refuse('kernelFilter', `the kernel filter could not be switched: ${err instanceof Error ? err.message : String(err)}`,
          { code: typeof code === 'string' ? code : 'AW_MONITOR_FILTER', err: String(err) });
      }
      if (this.closed) return null;
    }
    this.refused = null;
    this.retries = 0;
    this.retryAt = 0;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.files = next;
    this.reloads++;
    this.generation = ev.generation;
    this.current = ev;
    this.unobserved = unobservedSections(policies);
    for (const r of rejected) {
      for (const p of r.problems) this.log.warn({ file: p.file, line: p.line, col: p.col, field: p.path, code: p.code }, formatProblem(p));
    }
    this.log.info({
      generation: ev.generation, policies: ev.policies, rules: engine.rules.length, added, updated, removed,
      rejected: rejected.map((r) => (r.keptPrevious ? `${r.key ?? r.file} (previous version kept)` : (r.key ?? r.file))),
    }, 'policies loaded');
    for (const l of this.listeners) {
      try { l(ev); } catch (err) { this.log.error({ err: String(err) }, 'policy reload listener failed'); }
    }
    return ev;
  }

  /** Stops watching. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    if (this.rescan !== undefined) clearInterval(this.rescan);
    clearTimeout(this.retry);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await Promise.all(this.opts.sources.map((src) => src.close()));
    await this.running?.catch(() => undefined);
  }
}
