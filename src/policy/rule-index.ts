// Rules on paths (file and process rules alike) indexed so that finding the rules a path matches
// costs a handful of map lookups (exact paths, one lookup per directory level, patterns grouped by
// literal directory or literal last segment), never a scan over all rules.
import { isLiteralPattern, literalPrefix } from './glob.ts';

/** What the index needs of a rule. */
export interface PathRule {
  readonly section: 'matchPaths' | 'matchDirectories' | 'matchPatterns';
  /** The path, directory (ending in '/') or pattern as written. */
  readonly target: string;
  readonly recursive: boolean;
  readonly regexp: RegExp | null;
  /** For patterns: a substring every match contains ('' when none), checked before the RegExp. */
  readonly literal: string;
}

function pushTo<K, R>(map: Map<K, R[]>, key: K, rule: R): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

function matchesPattern(r: PathRule, path: string): boolean {
  return (r.literal === '' || path.includes(r.literal)) && r.regexp!.test(path);
}

export class RuleIndex<R extends PathRule> {
  /** Exact paths → rules. */
  private readonly exact = new Map<string, R[]>();
  /** Non-recursive directories (key ends in '/') → rules. */
  private readonly dirs = new Map<string, R[]>();
  /** Recursive directories → rules. */
  private readonly recDirs = new Map<string, R[]>();
  /** Patterns whose last segment is literal, by that segment (a pattern ending in `/id_rsa` → `id_rsa`). */
  private readonly patternsByName = new Map<string, R[]>();
  /** Other patterns by their literal directory ('' when none). */
  private readonly patterns = new Map<string, R[]>();
  /** Longest key of recDirs and patterns: shorter path prefixes are all that need looking up. */
  private maxPrefix = 0;
  /** prefixLengths[n] is 1 when some key of recDirs or patterns has length n: other prefixes are not even sliced. */
  private prefixLengths = new Uint8Array(1);
  size = 0;

  add(r: R): void {
    this.size++;
    switch (r.section) {
      case 'matchPaths': pushTo(this.exact, r.target, r); break;
      case 'matchDirectories':
        pushTo(r.recursive ? this.recDirs : this.dirs, r.target, r);
        if (r.recursive) this.notePrefix(r.target.length);
        break;
      case 'matchPatterns': {
        // A pattern without glob characters is an exact path.
        if (r.regexp === null) { pushTo(this.exact, r.target, r); break; }
        const slash = r.target.lastIndexOf('/');
        const name = r.target.slice(slash + 1);
        if (slash >= 0 && isLiteralPattern(name)) { pushTo(this.patternsByName, name, r); break; }
        const prefix = literalPrefix(r.target);
        pushTo(this.patterns, prefix, r);
        this.notePrefix(prefix.length);
        break;
      }
    }
  }

  private notePrefix(length: number): void {
    if (length >= this.prefixLengths.length) {
      const grown = new Uint8Array(Math.max(length + 1, this.prefixLengths.length * 2));
      grown.set(this.prefixLengths);
      this.prefixLengths = grown;
    }
    this.prefixLengths[length] = 1;
    this.maxPrefix = Math.max(this.maxPrefix, length);
  }

  /** The rules whose path part matches `path`, appended to `out`. */
  collect(path: string, out: R[]): void {
    const exact = this.exact.get(path);
    if (exact !== undefined) for (const r of exact) out.push(r);
    const last = path.lastIndexOf('/');
    const selfKey = this.dirs.size > 0 || this.recDirs.size > 0 ? (path === '/' ? '/' : `${path}/`) : '';
    if (this.dirs.size > 0) {
      if (path !== '/') {
        const inside = this.dirs.get(path.slice(0, last + 1));
        if (inside !== undefined) for (const r of inside) out.push(r);
      }
      const self = this.dirs.get(selfKey);
      if (self !== undefined) for (const r of self) out.push(r);
    }
    if (this.recDirs.size > 0) {
      const self = this.recDirs.get(selfKey);
      if (self !== undefined) for (const r of self) out.push(r);
    }
    if (this.maxPrefix > 0) {
      // Every directory prefix of the path (`/`, `/a/`, `/a/b/` for `/a/b/c`), up to the longest key.
      const end = Math.min(path.length - 1, this.maxPrefix);
      const lengths = this.prefixLengths;
      for (let i = path.indexOf('/'); i >= 0 && i < end; i = path.indexOf('/', i + 1)) {
        if (lengths[i + 1] !== 1) continue;
        const prefix = path.slice(0, i + 1);
        const rec = this.recDirs.get(prefix);
        if (rec !== undefined) for (const r of rec) out.push(r);
        const pats = this.patterns.get(prefix);
        if (pats !== undefined) for (const r of pats) if (matchesPattern(r, path)) out.push(r);
      }
    }
    if (this.patterns.size > 0) {
      const any = this.patterns.get('');
      if (any !== undefined) for (const r of any) if (matchesPattern(r, path)) out.push(r);
      if (path === '/') { // the root has no proper directory prefix
        const root = this.patterns.get('/');
        if (root !== undefined) for (const r of root) if (matchesPattern(r, path)) out.push(r);
      }
    }
    if (this.patternsByName.size > 0) {
      const named = this.patternsByName.get(path.slice(last + 1));
      if (named !== undefined) for (const r of named) if (matchesPattern(r, path)) out.push(r);
    }
  }
}
