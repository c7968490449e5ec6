// Fault suite: `armorwatch validate` on folders an unlucky operator or an attacker prepared:
// forged output lines through file and key names, unreadable folders and files, empty folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../policy/shared-dir.ts';

const NOBODY = 65534;

function run(args: string[], opts: { cwd?: string; uid?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'validate', ...args], {
    cwd: opts.cwd ?? REPO_ROOT, encoding: 'utf8', timeout: 30_000,
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-fault-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const POLICY = (spec: string) => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: p\nspec:\n${spec}`;

test('control characters in file and key names are escaped: no forged lines, no terminal codes', (t) => {
  const dir = tmp(t);
  const name = 'x\nforged.yaml:1:1: all good\u001b[2K.yaml';
  writeFileSync(join(dir, name), POLICY('  "sev\\rerity\\u001b[31m": 1\n'));
  const r = run(['.'], { cwd: dir });
  assert.equal(r.code, 1);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, r.stdout);
  assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(r.stdout), JSON.stringify(r.stdout));
  assert.equal(lines[0], 'x\\x0aforged.yaml:1:1: all good\\x1b[2K.yaml:6:3: spec: unknown field "sev\\x0derity\\x1b[31m"');
});

test('an unreadable folder: exit 1 naming the path and the errno', (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to run validate as another user'); return; }
  const dir = tmp(t);
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o700 });
  writeFileSync(join(locked, 'a.yaml'), POLICY('  severity: 1\n'));
  const r = run([locked], { uid: NOBODY });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, `${locked}: cannot read the directory (EACCES)\nchecked 0 files, 0 documents: 0 invalid; 1 directory unreadable\n`);
  // A folder below a readable one, too.
  const outer = join(dir, 'outer');
  mkdirSync(join(outer, 'inner'), { recursive: true, mode: 0o755 });
  chmodSync(join(outer, 'inner'), 0o700);
  writeFileSync(join(outer, 'ok.yaml'), POLICY('  severity: 1\n'));
  const r2 = run([outer], { uid: NOBODY });
  assert.equal(r2.code, 1);
  assert.match(r2.stdout, new RegExp(`^${join(outer, 'inner')}: cannot read the directory \\(EACCES\\)$`, 'm'));
});

test('an unreadable file in a readable folder: exit 1 naming the file and the errno', (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to run validate as another user'); return; }
  const dir = tmp(t);
  writeFileSync(join(dir, 'ok.yaml'), POLICY('  severity: 1\n'));
  writeFileSync(join(dir, 'secret.yaml'), POLICY('  severity: 1\n'), { mode: 0o600 });
  const r = run([dir], { uid: NOBODY });
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`^${join(dir, 'secret.yaml')}:1:1: cannot read the file \\(EACCES\\)$`, 'm'));
});

test('an empty folder: a warning naming it, exit 0', (t) => {
  const dir = tmp(t);
  const r = run([dir]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, `warning: ${dir}: no policy files (*.yaml, *.yml) in this folder\n`);
  assert.equal(r.stdout, 'checked 0 files, 0 documents: 0 invalid\n');
});

test('links out of the folder and FIFOs: warnings on stderr, the rest checked', { timeout: 30_000 }, (t) => {
  const dir = tmp(t);
  const root = join(dir, 'p');
  mkdirSync(root);
  writeFileSync(join(root, 'ok.yaml'), POLICY('  severity: 1\n'));
  spawnSync('mkfifo', [join(root, 'pipe.yaml')]);
  spawnSync('ln', ['-s', '/', join(root, 'slash')]);
  spawnSync('ln', ['-s', '.', join(root, 'self')]);
  const r = run([root]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'checked 1 file, 1 document: 0 invalid\n');
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('warning: ')).length, 3, r.stderr);
  assert.match(r.stderr, /pipe\.yaml is not a regular file/);
  assert.match(r.stderr, /slash: symbolic link leads outside the policy folder/);
});
