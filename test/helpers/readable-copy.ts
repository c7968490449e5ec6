// A copy of what bin/armorwatch runs, in a folder every user can read, for tests that run the CLI
// as an unprivileged user: the checkout may lie where that user cannot go (/root is mode 0700 on
// Debian), and then `setpriv --reuid=65534 bin/armorwatch` fails with "Permission denied".
import type { TestContext } from 'node:test';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The production dependencies' folders (package-lock.json entries not marked dev). */
function runtimeModules(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev !== true).map(([path]) => path);
}

/**
 * Copies bin/, src/, dist/, build/, package.json, the runtime node_modules and the pinned Node.js
 * into a new folder under the system temp dir, readable and searchable by all; removed when `t`
 * ends. Returns the copy's root: run `<root>/bin/armorwatch`.
 */
export function readableCopy(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-readable-'));
  defer(t, `remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const parts = ['bin', 'src', 'dist', 'build', 'package.json', 'tools/node/node_modules/node/bin/node', ...runtimeModules()];
  for (const part of parts) {
    const from = join(ROOT, part);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(dir, part)), { recursive: true });
    cpSync(from, join(dir, part), { recursive: true, dereference: true });
  }
  chmodTree(dir);
  return dir;
}

/** a+rX on everything: readable by all; folders and executables searchable and runnable by all. */
function chmodTree(root: string): void {
  for (const entry of ['.', ...readdirSync(root, { recursive: true, encoding: 'utf8' })]) {
    const p = join(root, entry);
    const st = statSync(p);
    const mode = st.mode & 0o7777;
    chmodSync(p, st.isDirectory() || (mode & 0o111) !== 0 ? mode | 0o555 : mode | 0o444);
  }
}
