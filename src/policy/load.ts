// Loading policy files: find them (directories recursively, ConfigMap mounts included), read them
// with size and encoding checks, split them into documents and validate each one.
import { createHash } from 'node:crypto';
import { constants, open } from 'node:fs/promises';
import { LineCounter, parseAllDocuments } from 'yaml';
import { discoverPolicyFiles, PolicyPathError, type PolicyFile, type Skipped } from './discover.ts';
import { CODES, DEFAULT_LIMITS, validateDocument, type DocumentResult, type ValidateLimits } from './validate.ts';
import type { PolicyDocument, Problem } from './types.ts';

export { PolicyPathError };

export interface ParseLimits extends ValidateLimits {
  /** Largest policy file read; bigger files are rejected unread. */
  readonly maxFileBytes: number;
}

export interface LoadLimits extends ParseLimits {
  /** Longest time reading one file may take before it is given up. */
  readonly readTimeoutMs: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = { ...DEFAULT_LIMITS, maxFileBytes: 1 << 20, readTimeoutMs: 10_000 };

/**
 * Files read at once. Each read's timeout starts when its turn comes: with hundreds of files
 * started together, waiting for the 4 libuv worker threads would count against the timeout.
 */
export const READ_CONCURRENCY = 8;

/** fn over items with at most `limit` calls in flight; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Reads and validates files, a few at a time (see READ_CONCURRENCY). */
export function loadPolicyFiles(files: readonly (string | PolicyFile)[], limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<FileResult[]> {
  return mapLimit(files, READ_CONCURRENCY, (f) => loadPolicyFile(f, limits));
}

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
  /** Entries the search passed over (links leaving the folder, loops, FIFOs, unreadable directories). */
  readonly skippedEntries: readonly Skipped[];
  /** Policy folders that hold no policy file. */
  readonly emptyFolders: readonly string[];
}

function fileProblem(file: string, message: string, line = 1, col = 1): Problem {
  return { file, doc: 0, line, col, path: '', message, code: CODES.file };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits text into documents and validates each. Pure: no file system access. */
export function parsePolicyText(file: string, bytes: Uint8Array | string, limits: ParseLimits = DEFAULT_LOAD_LIMITS): FileResult {
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

export type ReadOutcome =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly message: string; readonly contentHash: string; readonly errno?: string };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Reads a policy file without trusting it: only a regular file is read (opened non-blocking, so a
 * FIFO can neither hang the open nor be read), its size is checked before reading, at most
 * maxFileBytes + 1 bytes are ever read (a file growing meanwhile included), and the whole read
 * gives up after readTimeoutMs (a read stuck in the kernel keeps one worker thread, not the agent).
 */
export async function readPolicyBytes(path: string | Buffer, limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<ReadOutcome> {
  const max = limits.maxFileBytes;
  const work = (async (): Promise<ReadOutcome> => {
    const fh = await open(path, OPEN_FLAGS);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { ok: false, message: 'not a regular file (a FIFO, socket or device); not read', contentHash: 'not-regular' };
      if (st.size > max) return { ok: false, message: `file too large (${st.size} bytes; the limit is ${max})`, contentHash: `size:${st.size}` };
      let buf = Buffer.allocUnsafe(Math.min(max + 1, st.size + 1));
      let total = 0;
      for (;;) {
        if (total === buf.length) {
          if (buf.length > max) break;
          const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
          buf.copy(bigger, 0, 0, total);
          buf = bigger;
        }
        const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      if (total > max) return { ok: false, message: `file too large (more than ${max} bytes)`, contentHash: `size:>${max}` };
      return { ok: true, bytes: buf.subarray(0, total) };
    } finally {
      await fh.close().catch(() => undefined);
    }
  })().catch((err: unknown): ReadOutcome => {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { ok: false, message: `cannot read the file (${code})`, contentHash: `error:${code}`, errno: code };
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadOutcome>((res) => {
    timer = setTimeout(() => res({ ok: false, message: `reading the file did not finish within ${limits.readTimeoutMs} ms; not read`, contentHash: 'timeout', errno: 'ETIMEDOUT' }), limits.readTimeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads and validates one file. */
export async function loadPolicyFile(file: string | PolicyFile, limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<FileResult> {
  const { name, path } = typeof file === 'string' ? { name: file, path: file } : file;
  const read = await readPolicyBytes(path, limits);
  if (!read.ok) return { file: name, documents: [], problems: [fileProblem(name, read.message)], contentHash: read.contentHash };
  return parsePolicyText(name, read.bytes, limits);
}

/**
 * The policy files under the given paths, by name (see discoverPolicyFiles for what is searched
 * and what is passed over).
 */
export async function findPolicyFiles(paths: readonly string[]): Promise<string[]> {
  return (await discoverPolicyFiles(paths)).files.map((f) => f.name);
}

/** Sums the outcome of several files. */
export function summarize(files: readonly FileResult[], discovery: { skipped: readonly Skipped[]; empty: readonly string[] } = { skipped: [], empty: [] }): LoadResult {
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
  return { files, policies, problems, documents, invalidDocuments, skippedDocuments, skippedEntries: discovery.skipped, emptyFolders: discovery.empty };
}

/** Finds, reads and validates every policy under the paths. */
export async function loadPolicies(paths: readonly string[], limits: LoadLimits = DEFAULT_LOAD_LIMITS): Promise<LoadResult> {
  const found = await discoverPolicyFiles(paths);
  const results = await loadPolicyFiles(found.files, limits);
  return summarize(results, found);
}
