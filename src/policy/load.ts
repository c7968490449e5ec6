// Loading policy files: find them (directories recursively, ConfigMap mounts included), read them
// with size and encoding checks, split them into documents and validate each one.
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import fg from 'fast-glob';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ArmorwatchError } from '../errors.ts';
import { CODES, DEFAULT_LIMITS, validateDocument, type DocumentResult, type ValidateLimits } from './validate.ts';
import type { PolicyDocument, Problem } from './types.ts';

/** A policy path given by the user does not exist or cannot be read. */
export class PolicyPathError extends ArmorwatchError {
  readonly path: string;
  constructor(path: string, why: string) {
    super('AW_POLICY_PATH', `policy path ${path}: ${why}`);
    this.name = 'PolicyPathError';
    this.path = path;
  }
}

export interface LoadLimits extends ValidateLimits {
  /** Largest policy file read; bigger files are rejected unread. */
  readonly maxFileBytes: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = { ...DEFAULT_LIMITS, maxFileBytes: 1 << 20 };

export interface FileResult {
  readonly file: string;
  /** Documents that are not empty, in file order, with their outcome. */
  readonly documents: readonly DocumentResult[];
  /** Problems of the file as a whole (unreadable, too large, not UTF-8), besides those of its documents. */
  readonly problems: readonly Problem[];
  /** sha256 of the raw bytes, to recognise unchanged files. */
  readonly contentHash: string;
}

export interface LoadResult {
  readonly files: readonly FileResult[];
  readonly policies: readonly PolicyDocument[];
  readonly problems: readonly Problem[];
  readonly documents: number;
  readonly invalidDocuments: number;
  readonly skippedDocuments: number;
}

function fileProblem(file: string, message: string, line = 1, col = 1): Problem {
  return { file, doc: 0, line, col, path: '', message, code: CODES.file };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits text into documents and validates each. Pure: no file system access. */
export function parsePolicyText(file: string, bytes: Uint8Array | string, limits: LoadLimits = DEFAULT_LOAD_LIMITS): FileResult {
  const contentHash = hashBytes(bytes);
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > limits.maxFileBytes) {
    return { file, documents: [], problems: [fileProblem(file, `file too large (${size} bytes; the limit is ${limits.maxFileBytes})`)], contentHash };
  }
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes as Uint8Array);
    return { file, documents: [], problems: [fileProblem(file, `not UTF-8 text (invalid byte 0x${(bytes as Uint8Array)[at]!.toString(16)} at offset ${at})`)], contentHash };
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const lines = text.slice(0, nul).split('\n');
    return { file, documents: [], problems: [fileProblem(file, 'binary data: the file contains a NUL byte', lines.length, lines.at(-1)!.length + 1)], contentHash };
  }
  const lc = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  } catch (err) {
    // The parser recurses on nesting; absurd nesting exhausts the stack rather than the limits.
    const why = err instanceof RangeError ? 'YAML nested too deeply to parse' : `YAML parse failure: ${String(err)}`;
    return { file, documents: [], problems: [fileProblem(file, why)], contentHash };
  }
  const list = Array.isArray(docs) ? docs : [];
  const documents: DocumentResult[] = [];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e): Problem => {
        const { line, col } = lc.linePos(e.pos[0]);
        const first = e.message.split('\n')[0]!;
        // The library catches its own stack overflow on absurd nesting; say what it means.
        const why = first.includes('Maximum call stack size exceeded') ? 'nested too deeply to parse' : first;
        return { file, doc: i, line, col, path: '', message: `YAML parse error: ${why}`, code: CODES.yaml };
      });
      documents.push({ status: 'invalid', problems });
      return;
    }
    let r: DocumentResult;
    try {
      r = validateDocument(file, i, doc, lc, limits);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      r = { status: 'invalid', problems: [{ ...fileProblem(file, 'document nested too deeply'), doc: i }] };
    }
    if (r.status !== 'empty') documents.push(r);
  });
  return { file, documents, problems: [], contentHash };
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  // Binary search on the longest prefix that decodes; exact enough to point at the bad byte.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    // stream mode: a sequence cut short at the end of the prefix is not an error
    try { new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true }); lo = mid; } catch { hi = mid - 1; }
  }
  return Math.min(lo, bytes.length - 1);
}

function hashBytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads and validates one file. */
export async function loadPolicyFile(file: string, limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<FileResult> {
  try {
    const st = await stat(file);
    if (st.size > limits.maxFileBytes) {
      return { file, documents: [], problems: [fileProblem(file, `file too large (${st.size} bytes; the limit is ${limits.maxFileBytes})`)], contentHash: `size:${st.size}` };
    }
    return parsePolicyText(file, await readFile(file), limits);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { file, documents: [], problems: [fileProblem(file, `cannot read the file (${code})`)], contentHash: `error:${code}` };
  }
}

/**
 * The policy files under the given paths, sorted, each once. A file path is taken as is; a
 * directory is searched for *.yaml and *.yml at any depth. Entries whose name starts with '.' are
 * not searched: in a mounted ConfigMap the files appear at the top level (symlinks through `..data`)
 * and again inside `..data` and `..<timestamp>`, and only the top-level names are loaded.
 */
export async function findPolicyFiles(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new PolicyPathError(p, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`);
    }
    if (st.isDirectory()) {
      const entries = await fg(['**/*.yaml', '**/*.yml'], {
        cwd: abs, absolute: true, dot: false, onlyFiles: true, followSymbolicLinks: true, suppressErrors: true,
      });
      found.push(...entries.sort());
    } else {
      found.push(abs);
    }
  }
  // The same file reached twice (overlapping arguments, two links to one file) is loaded once.
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of found) {
    let real: string;
    try { real = await realpath(f); } catch { real = f; }
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(f);
  }
  return out;
}

/** Sums the outcome of several files. */
export function summarize(files: readonly FileResult[]): LoadResult {
  const policies: PolicyDocument[] = [];
  const problems: Problem[] = [];
  let documents = 0;
  let invalidDocuments = 0;
  let skippedDocuments = 0;
  for (const f of files) {
    problems.push(...f.problems);
    if (f.problems.length > 0) invalidDocuments++;
    for (const d of f.documents) {
      documents++;
      if (d.status === 'policy') policies.push(d.policy);
      else if (d.status === 'invalid') { invalidDocuments++; problems.push(...d.problems); }
      else if (d.status === 'skipped') skippedDocuments++;
    }
  }
  return { files, policies, problems, documents, invalidDocuments, skippedDocuments };
}

/** Finds, reads and validates every policy under the paths. */
export async function loadPolicies(paths: readonly string[], limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<LoadResult> {
  const files = await findPolicyFiles(paths);
  const results = await Promise.all(files.map((f) => loadPolicyFile(f, limits)));
  return summarize(results);
}
