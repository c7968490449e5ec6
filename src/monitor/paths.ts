// Making a requested path absolute without touching the filesystem: join it to the directory the
// kernel reported (cwd or the dirfd's directory) and fold `.`, `..` and repeated slashes.

/** Folds `.`/`..`/empty components of an absolute path; `..` at the root stays at the root. */
export function foldPath(path: string): string {
  // Most paths are already folded: say so without splitting them.
  if (path.startsWith('/') && !path.includes('//') && !path.includes('/.') && (path.length === 1 || !path.endsWith('/'))) {
    return path;
  }
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** `path` made absolute against `base` (an absolute directory) and folded. */
export function absolutize(path: string, base: string): string {
  if (path.startsWith('/')) return foldPath(path);
  return foldPath(`${base === '' ? '/' : base}/${path}`);
}
