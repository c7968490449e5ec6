// File patterns (matchPatterns) compiled once to a RegExp. `*`, `?` and `[...]` stay within one
// path segment, as in Go's filepath.Match; `**` spans any number of segments, and a whole `**/`
// segment may also match no segment at all (`/home/**/.bashrc` matches `/home/.bashrc`).
// An unclosed `[` is taken literally (Go would reject the pattern and never match).

const GLOB_CHARS = /[*?[\\]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Translates a glob into an anchored RegExp source. */
export function globToRegExpSource(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*') {
      let j = i;
      while (pattern[j] === '*') j++;
      if (j - i >= 2) { // `**` (and `***`...)
        const segmentStart = i === 0 || pattern[i - 1] === '/';
        if (segmentStart && pattern[j] === '/') {
          out += '(?:.*/)?';
          i = j + 1;
          // `**/**/` is `**/`: repeating it would only add backtracking.
          while (pattern.startsWith('**/', i)) i += 3;
        } else {
          out += '.*';
          i = j;
        }
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const cls = readClass(pattern, i);
      if (cls === null) { out += '\\['; i++; continue; }
      out += cls.source;
      i = cls.end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[i + 1]!);
      i += 2;
    } else {
      out += escapeRegExp(c);
      i++;
    }
  }
  return `^${out}$`;
}

/** `[...]` at `start`: the RegExp class (never matching '/'), or null when it is not closed. */
function readClass(pattern: string, start: number): { source: string; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '^' || pattern[i] === '!') { negate = true; i++; }
  let body = '';
  let first = true;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === ']' && !first) {
      if (body === '') return null;
      return { source: `(?!/)[${negate ? '^' : ''}${body}]`, end: i + 1 };
    }
    first = false;
    if (c === '\\' && i + 1 < pattern.length) { body += `\\${pattern[i + 1]}`; i += 2; continue; }
    if (c === '-' && body !== '' && pattern[i + 1] !== ']') { body += '-'; i++; continue; }
    body += /[\]\\^-]/.test(c) ? `\\${c}` : c;
    i++;
  }
  return null;
}

export function compileGlob(pattern: string): RegExp {
  return new RegExp(globToRegExpSource(pattern), 's');
}

/**
 * The literal directory a pattern starts with: everything up to the last '/' before the first
 * glob character (`/etc/ssh/*_key` → `/etc/ssh/`). '' when the pattern has no leading literal directory.
 */
export function literalPrefix(pattern: string): string {
  const m = GLOB_CHARS.exec(pattern);
  const literal = m === null ? pattern : pattern.slice(0, m.index);
  const slash = literal.lastIndexOf('/');
  return slash < 0 ? '' : literal.slice(0, slash + 1);
}

/** True when the pattern contains no glob character at all. */
export function isLiteralPattern(pattern: string): boolean {
  return !GLOB_CHARS.test(pattern);
}

/**
 * The longest run of literal characters every match must contain (`/**​/ssl/*.key` → `ssl/`), or ''
 * when the pattern has escapes. A cheap `includes` on it rejects most paths before the RegExp runs.
 */
export function requiredLiteral(pattern: string): string {
  if (pattern.includes('\\')) return '';
  let best = '';
  let run = '';
  const flush = (): void => { if (run.length > best.length) best = run; run = ''; };
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i]!;
    if (c === '*') {
      flush();
      let j = i;
      while (pattern[j] === '*') j++;
      // A whole `**/` segment may match nothing, so its '/' is not required.
      i = j - i >= 2 && (i === 0 || pattern[i - 1] === '/') && pattern[j] === '/' ? j + 1 : j;
    } else if (c === '?') {
      flush();
      i++;
    } else if (c === '[') {
      const cls = readClass(pattern, i);
      if (cls === null) { run += c; i++; continue; } // unclosed: literal, as globToRegExpSource takes it
      flush();
      i = cls.end;
    } else {
      run += c;
      i++;
    }
  }
  flush();
  return best;
}
