// Where the shared folder (corpus, CRDs, seed) is: ../shared beside the repository, or $ARMORWATCH_SHARED_DIR.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedDir(): string {
  const dir = process.env.ARMORWATCH_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');
  if (!existsSync(join(dir, 'policies', 'corpus'))) {
    throw new Error(`shared folder not found at ${dir} (set ARMORWATCH_SHARED_DIR to the folder holding policies/corpus)`);
  }
  return dir;
}

export function corpusDir(): string {
  return join(sharedDir(), 'policies', 'corpus');
}
