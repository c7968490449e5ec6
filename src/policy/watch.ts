// Hot reload: a PolicyStore keeps the policies of some directories in force and rebuilds the
// engine when they change. fs.watch gives quick notice; a periodic rescan is the safety net, since
// watchers miss events when a ConfigMap mount swaps its `..data` symlink. Files are compared by
// stat signature, then by content hash, so a rescan that finds nothing new costs no reload.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { KernelFilterSpec } from '../types.ts';
import { silentLogger, type Logger } from '../log.ts';
import { compilePolicies, type EngineOptions, type PolicyEngine } from './engine.ts';
import { DEFAULT_LOAD_LIMITS, findPolicyFiles, parsePolicyText, type LoadLimits } from './load.ts';
import type { PolicySource } from './crd-source.ts';
import { formatProblem, type PolicyDocument, type Problem } from './types.ts';

export interface PolicyStoreOptions {
  /** Directories or files to load. */
  readonly paths: readonly string[];
  readonly engine?: EngineOptions;
  readonly logger?: Logger;
  /** Quiet time after the last change before reloading (a burst of changes gives one reload). */
  readonly debounceMs?: number;
  /** Period of the safety-net rescan. */
  readonly rescanMs?: number;
  readonly limits?: LoadLimits;
  /** Documents from elsewhere (KubeArmor's custom resources), validated and kept like files' documents. */
  readonly sources?: readonly PolicySource[];
}

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
}

async function signature(file: string): Promise<string> {
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
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private running: Promise<ReloadEvent | null> | undefined;
  private again = false;
  private closed = false;
  private generation = 0;

  constructor(options: PolicyStoreOptions) {
    this.opts = {
      paths: options.paths.map((p) => resolve(p)),
      engine: options.engine ?? {},
      logger: options.logger ?? silentLogger,
      debounceMs: options.debounceMs ?? 250,
      rescanMs: options.rescanMs ?? 1000,
      limits: options.limits ?? DEFAULT_LOAD_LIMITS,
      sources: options.sources ?? [],
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

  /** Loads the policies once and starts watching. Throws PolicyPathError when a path does not exist. */
  async start(): Promise<ReloadEvent> {
    await findPolicyFiles(this.opts.paths); // fail early on a missing path
    for (const src of this.opts.sources) src.onChange(() => { this.schedule(this.opts.debounceMs); });
    await Promise.all(this.opts.sources.map((src) => src.start()));
    const first = await this.reload();
    for (const p of this.opts.paths) this.watchPath(p);
    this.rescan = setInterval(() => { this.schedule(0); }, this.opts.rescanMs);
    this.rescan.unref();
    return first ?? this.current!;
  }

  private watchPath(p: string): void {
    const onEvent = (): void => { this.schedule(this.opts.debounceMs); };
    const target = p;
    const open = (recursive: boolean): FSWatcher => watch(target, { recursive, persistent: false }, onEvent);
    try {
      let w: FSWatcher;
      try { w = open(true); } catch { w = open(false); }
      w.on('error', (err) => {
        this.log.warn({ path: target, err: String(err) }, 'policy watcher failed; the periodic rescan still applies');
      });
      this.watchers.push(w);
    } catch (err) {
      // A single file being replaced: watch its directory instead.
      try {
        const w = watch(dirname(target), { persistent: false }, onEvent);
        this.watchers.push(w);
      } catch {
        this.log.warn({ path: target, err: String(err) }, 'cannot watch policy path; relying on the periodic rescan');
      }
    }
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    if (this.debounce !== undefined) {
      if (delay === 0) return; // a rescan while a debounced reload is pending: the reload will do
      clearTimeout(this.debounce);
    }
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.reload().catch((err: unknown) => { this.log.error({ err: String(err) }, 'policy reload failed'); });
    }, delay);
    this.debounce.unref();
  }

  /** Rescans now. Resolves to the new state, or null when nothing changed. Reloads never overlap. */
  async reload(): Promise<ReloadEvent | null> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.doReload();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
      if (this.again && !this.closed) { this.again = false; this.schedule(0); }
    }
  }

  private async doReload(): Promise<ReloadEvent | null> {
    let list: string[];
    try {
      list = await findPolicyFiles(this.opts.paths);
    } catch (err) {
      // A watched directory vanished: keep what is in force rather than dropping every policy.
      this.log.error({ err: String(err) }, 'cannot list policy files; keeping the policies in force');
      return null;
    }
    const next = new Map<string, FileState>();
    const rejected: RejectedDocument[] = [];
    // A source's document is read like a file: its version stands for the file's stat signature.
    const virtual = new Map<string, { version: string; text: string }>();
    for (const src of this.opts.sources) for (const [name, d] of src.documents()) virtual.set(name, d);
    let changed = list.length + virtual.size !== this.files.size;
    for (const file of [...list, ...virtual.keys()]) {
      const prev = this.files.get(file);
      const doc = virtual.get(file);
      const sig = doc === undefined ? await signature(file) : `source:${doc.version}`;
      if (prev !== undefined && prev.signature === sig) { next.set(file, prev); continue; }
      let bytes: Buffer;
      try {
        bytes = doc === undefined ? await readFile(file) : Buffer.from(doc.text);
      } catch (err) {
        // Gone between listing and reading (a ConfigMap swap in progress): the next rescan sees the end state.
        this.log.debug({ file, err: String(err) }, 'policy file vanished while reading');
        changed = true;
        continue;
      }
      const parsed = parsePolicyText(file, bytes, this.opts.limits);
      if (prev !== undefined && prev.contentHash === parsed.contentHash) {
        next.set(file, { ...prev, signature: sig });
        continue;
      }
      changed = true;
      const byIndex = new Map<number, PolicyDocument>();
      const prevByKey = new Map<string, PolicyDocument>();
      for (const d of prev?.byIndex.values() ?? []) prevByKey.set(d.key, d);
      if (parsed.problems.length > 0) {
        // The file as a whole is unusable (too large, not UTF-8): what it had in force stays.
        const kept = prev !== undefined && prev.byIndex.size > 0;
        for (const p of parsed.problems) rejected.push({ key: undefined, file, keptPrevious: kept, problems: [p] });
        next.set(file, { signature: sig, contentHash: parsed.contentHash, byIndex: prev?.byIndex ?? new Map() });
        continue;
      }
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
      next.set(file, { signature: sig, contentHash: parsed.contentHash, byIndex });
    }
    for (const file of this.files.keys()) if (!next.has(file)) changed = true;
    if (!changed && this.current !== undefined) { this.files = next; return null; }
    return this.commit(next, rejected);
  }

  private commit(next: Map<string, FileState>, rejected: RejectedDocument[]): ReloadEvent {
    const before = new Map<string, string>();
    for (const st of this.files.values()) for (const d of st.byIndex.values()) before.set(d.key, d.hash);
    const policies: PolicyDocument[] = [];
    const after = new Map<string, string>();
    for (const st of next.values()) for (const d of st.byIndex.values()) { policies.push(d); after.set(d.key, d.hash); }
    const added = [...after.keys()].filter((k) => !before.has(k)).sort();
    const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
    const updated = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
    const engine = compilePolicies(policies, this.opts.engine);
    this.files = next;
    const ev: ReloadEvent = {
      generation: ++this.generation, engine, filter: engine.kernelFilter(), policies: policies.length,
      added, updated, removed, rejected,
    };
    this.current = ev;
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
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await Promise.all(this.opts.sources.map((src) => src.close()));
    await this.running?.catch(() => undefined);
  }
}
