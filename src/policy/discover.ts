// Finding policy files in a folder that may be hostile: the walk is bounded (depth, entries,
// directory loops), never leaves the folder through a link (except within it, which is how a
// ConfigMap mount's `..data` layout works), and only regular files are candidates. Everything it
// passes over for a reason is reported, never dropped silently. File names are kept as the bytes
// the kernel gave (a name that is not UTF-8 is opened by its bytes) and shown escaped, losslessly.
import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ArmorwatchError } from '../errors.ts';

/** A policy path given by the user does not exist or cannot be read. */
export class PolicyPathError extends ArmorwatchError {
  readonly path: string;
  constructor(path: string, why: string) {
    super('AW_POLICY_PATH', `policy path ${path}: ${why}`);
    this.name = 'PolicyPathError';
    this.path = path;
  }
}

export interface DiscoverLimits {
  /** Deepest directory level searched below a policy folder (the folder itself is level 0). */
  readonly maxDepth: number;
  /** Most directory entries looked at per walk, across all folders. */
  readonly maxEntries: number;
}

export const DEFAULT_DISCOVER_LIMITS: DiscoverLimits = { maxDepth: 16, maxEntries: 100_000 };

export interface PolicyFile {
  /** The path as shown in messages and used as the file's key: escaped, lossless (see escapeName). */
  readonly name: string;
  /** The path to open: a string, or the raw bytes when the name is not valid UTF-8. */
  readonly path: string | Buffer;
  /** The folder argument it was found under (its real path), or null for a file named directly. */
  readonly root: string | null;
}

/** Why an entry was passed over. */
export type SkipReason = 'loop' | 'outside' | 'depth' | 'limit' | 'not-regular' | 'unreadable' | 'broken-link';

export interface Skipped {
  /** Escaped path of the entry. */
  readonly name: string;
  readonly reason: SkipReason;
  /** One sentence for logs and `validate` (names the errno where there is one). */
  readonly message: string;
  /** The errno code (EACCES, ELOOP, ...), when the reason is an error. */
  readonly errno?: string;
  /** True when it is the folder itself that could not be read (nothing below it was seen). */
  readonly root?: boolean;
}

export interface Discovery {
  readonly files: readonly PolicyFile[];
  readonly skipped: readonly Skipped[];
  /** Folders (escaped) that were read and hold no policy file. */
  readonly empty: readonly string[];
}

const POLICY_NAME = /\.ya?ml$/;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\\]/g;

/** Control characters and the backslash escaped, so a name can neither forge output lines nor collide. */
export function escapeText(s: string): string {
  return s.replace(CONTROL, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** Control characters escaped (a backslash is left alone): for whole output lines. */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A path's bytes as text: valid UTF-8 kept (control characters and `\` escaped), every byte of an
 * invalid sequence as `\xNN`. Two different byte strings never give the same name.
 */
export function escapeName(bytes: Buffer): string {
  try {
    return escapeText(utf8.decode(bytes));
  } catch { /* not UTF-8: byte by byte below */ }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) { out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`; i++; continue; }
    out += escapeText(bytes.subarray(i, i + len).toString('utf8'));
    i += len;
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at i, or 0. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len <= 1 || i + len > b.length) return len === 1 ? 1 : 0;
  try { utf8.decode(b.subarray(i, i + len)); return len; } catch { return 0; }
}

function isValidUtf8(bytes: Buffer): boolean {
  try { utf8.decode(bytes); return true; } catch { return false; }
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

const SLASH = Buffer.from('/');

/** The real path as latin1 text: every byte kept, so names that are not UTF-8 stay distinct. */
async function realBytes(p: Buffer): Promise<string> {
  try {
    return (await realpath(p, { encoding: 'buffer' })).toString('latin1');
  } catch {
    return p.toString('latin1');
  }
}

/** Walks the given paths. Throws PolicyPathError only for a path that does not exist. */
export async function discoverPolicyFiles(paths: readonly string[], limits: DiscoverLimits = DEFAULT_DISCOVER_LIMITS): Promise<Discovery> {
  const files: PolicyFile[] = [];
  const skipped: Skipped[] = [];
  const empty: string[] = [];
  let entries = 0;
  let limitReported = false;
  const seenFiles = new Set<string>();

  /** `real` is the file's real path (latin1 of its bytes: never two paths the same). */
  const addFile = (bytes: Buffer, real: string, root: string | null): void => {
    // The same file reached twice (overlapping arguments, two links to one file) is loaded once.
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    files.push({ name: escapeName(bytes), path: isValidUtf8(bytes) ? bytes.toString('utf8') : bytes, root });
  };

  for (const p of paths) {
    const abs = resolve(p);
    let st: Stats;
    try {
      st = await stat(abs);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') throw new PolicyPathError(p, 'does not exist');
      skipped.push({ name: escapeText(abs), reason: 'unreadable', errno: code, root: true, message: `cannot read ${escapeText(abs)} (${code})` });
      continue;
    }
    if (!st.isDirectory()) {
      if (st.isFile()) addFile(Buffer.from(abs), await realBytes(Buffer.from(abs)), null);
      else skipped.push({ name: escapeText(abs), reason: 'not-regular', message: `${escapeText(abs)} is not a regular file; not read` });
      continue;
    }
    // Real paths compared as latin1 text of their bytes (lossless, whatever the encoding).
    const rootRealBytes = await realpath(abs, { encoding: 'buffer' });
    const rootReal = rootRealBytes.toString('latin1');
    const inside = (real: string): boolean => real === rootReal || real.startsWith(rootReal === '/' ? '/' : `${rootReal}/`);
    const visitedDirs = new Set<string>([`${st.dev}:${st.ino}`]);
    const before = files.length;

    /** `realDir` is the real path of `dir`, known as the walk goes: no realpath call per file. */
    const walk = async (dir: Buffer, realDir: Buffer, depth: number): Promise<void> => {
      let list: Dirent<Buffer>[];
      try {
        list = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
      } catch (err) {
        const code = errnoOf(err);
        skipped.push({ name: escapeName(dir), reason: 'unreadable', errno: code, ...(depth === 0 ? { root: true } : {}), message: `cannot read the directory ${escapeName(dir)} (${code})` });
        return;
      }
      list.sort((a, b) => Buffer.compare(a.name, b.name));
      for (const ent of list) {
        // Names starting with '.' are not searched: in a mounted ConfigMap the files appear at the
        // top level (symlinks through `..data`) and again inside `..data` and `..<timestamp>`.
        if (ent.name[0] === 0x2e) continue;
        if (++entries > limits.maxEntries) {
          if (!limitReported) {
            limitReported = true;
            skipped.push({ name: escapeName(dir), reason: 'limit', message: `more than ${limits.maxEntries} entries in the policy folders; the rest is not searched` });
          }
          return;
        }
        const full = Buffer.concat([dir, SLASH, ent.name]);
        const isYaml = POLICY_NAME.test(ent.name.toString('latin1'));
        let kind: 'file' | 'dir' | 'other';
        let real: Buffer;
        if (ent.isSymbolicLink()) {
          let target: Stats;
          try {
            real = await realpath(full, { encoding: 'buffer' });
            target = await stat(full);
          } catch (err) {
            const code = errnoOf(err);
            // A link whose target vanished mid-update of a ConfigMap is transient; a loop is not.
            skipped.push({ name: escapeName(full), reason: code === 'ELOOP' ? 'loop' : 'broken-link', errno: code,
              message: code === 'ELOOP' ? `${escapeName(full)}: symbolic link loop (ELOOP); not followed` : `${escapeName(full)}: broken symbolic link (${code}); not followed` });
            continue;
          }
          if (!target.isDirectory() && !isYaml) continue;
          if (!inside(real.toString('latin1'))) {
            skipped.push({ name: escapeName(full), reason: 'outside', message: `${escapeName(full)}: symbolic link leads outside the policy folder ${escapeText(abs)}; not followed` });
            continue;
          }
          kind = target.isDirectory() ? 'dir' : target.isFile() ? 'file' : 'other';
          if (kind === 'dir') {
            const id = `${target.dev}:${target.ino}`;
            if (visitedDirs.has(id)) {
              skipped.push({ name: escapeName(full), reason: 'loop', message: `${escapeName(full)}: symbolic link to a directory already searched (a loop); not followed` });
              continue;
            }
            visitedDirs.add(id);
          }
        } else {
          kind = ent.isDirectory() ? 'dir' : ent.isFile() ? 'file' : 'other';
          real = Buffer.concat([realDir, SLASH, ent.name]);
        }
        if (kind === 'dir') {
          if (depth + 1 > limits.maxDepth) {
            skipped.push({ name: escapeName(full), reason: 'depth', message: `${escapeName(full)}: deeper than ${limits.maxDepth} levels below the policy folder; not searched` });
            continue;
          }
          if (!ent.isSymbolicLink()) {
            try {
              const s = await stat(full);
              const id = `${s.dev}:${s.ino}`;
              if (visitedDirs.has(id)) continue; // cannot happen without links (bind mounts aside)
              visitedDirs.add(id);
            } catch (err) {
              skipped.push({ name: escapeName(full), reason: 'unreadable', errno: errnoOf(err), message: `cannot read the directory ${escapeName(full)} (${errnoOf(err)})` });
              continue;
            }
          }
          await walk(full, real, depth + 1);
          if (limitReported) return;
          continue;
        }
        if (!isYaml) continue;
        if (kind === 'other') {
          skipped.push({ name: escapeName(full), reason: 'not-regular', message: `${escapeName(full)} is not a regular file (a FIFO, socket or device); not read` });
          continue;
        }
        addFile(full, real.toString('latin1'), rootReal);
      }
    };
    await walk(Buffer.from(abs), rootRealBytes, 0);
    // Sorted by path within each folder argument, as a listing would show them.
    const mine = files.splice(before).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    files.push(...mine);
    if (files.length === before && !skipped.some((s) => s.root === true && s.name === escapeText(abs))) empty.push(escapeText(abs));
  }
  return { files, skipped, empty };
}
