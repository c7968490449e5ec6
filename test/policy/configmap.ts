// A directory written exactly the way kubelet's atomic writer updates a ConfigMap volume: the
// files go into a fresh `..<timestamp>` directory, a `..data_tmp` symlink to it is renamed over
// `..data` (one atomic step), top-level names are symlinks `name -> ..data/name`, then the old
// timestamped directory and the links of removed keys are deleted.
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

let counter = 0;

function timestampDir(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  counter++;
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.${pad(counter, 9)}`;
}

/** Replaces the whole content of the mount with `files` (name → text), as one ConfigMap update. */
export function writeConfigMap(root: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(root, { recursive: true });
  const dataLink = join(root, '..data');
  const old = existsSync(dataLink) ? readlinkSync(dataLink) : null;
  const ts = timestampDir();
  mkdirSync(join(root, ts));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, ts, name), text);
  const tmp = join(root, '..data_tmp');
  rmSync(tmp, { force: true });
  symlinkSync(ts, tmp);
  renameSync(tmp, dataLink);
  for (const name of Object.keys(files)) {
    const link = join(root, name);
    if (!existsSync(link) && !isLink(link)) symlinkSync(join('..data', name), link);
  }
  for (const entry of readdirSync(root)) {
    if (entry.startsWith('..')) continue;
    if (!Object.hasOwn(files, entry)) rmSync(join(root, entry), { force: true });
  }
  if (old !== null) rmSync(join(root, old), { recursive: true, force: true });
}

function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}
