// `armorwatch validate` as a user runs it: output lines, summary and exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusDir, REPO_ROOT } from '../policy/shared-dir.ts';

function run(args: string[], cwd = REPO_ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'validate', ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the corpus: one line per problem, the summary, exit 1', () => {
  const r = run([corpusDir()]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'checked 536 files, 537 documents: 43 invalid');
  assert.ok(lines.includes(`${join(corpusDir(), 'policy-templates/cis__system__ksp-audit-cis-apache-tomcat-4.6.yaml')}:20:7: spec.file.matchDirectories[0]: unknown field "recurive" (did you mean "recursive"?)`));
  // Errors name line:column and field; documents with sections armorwatch cannot observe get one
  // warning line each (line of the document, no column), which does not change the exit status.
  const warnings = lines.filter((l) => / warning: /.test(l));
  for (const l of lines.slice(0, -1)) {
    if (warnings.includes(l)) assert.match(l, /^\/.+\.ya?ml:\d+: warning: Kube\w+\/[^:]+: (not observed on this node: spec\.\w+|defined again by \/.+\.ya?ml:\d+)/);
    else assert.match(l, /^\/.+\.ya?ml:\d+:\d+: .+/);
  }
  assert.ok(warnings.some((l) => l.includes('spec.capabilities (capability rules are not observed on this node')), 'capability policies are reported');
  // Two of the corpus's test fixtures give one name two different network sections (one allows
  // /bin/bash as well): both would be in force here, one in a cluster.
  assert.ok(warnings.some((l) => /warning: KubeArmorPolicy\/wordpress-mysql\/ksp-wordpress-net-tcp-allow-curl: defined again by \/.+ksp-wordpress-allow-tcp\.yaml:1: all of them are in force here/.test(l)),
    'one name given by two documents is reported');
});

test('one policy name in two documents: one warning on the first, naming the other; exit 0', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (sources: string): string => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: net\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: web\n  network:\n    matchProtocols:\n      - protocol: tcp\n        fromSource:\n${sources}  action: Allow\n`;
  writeFileSync(join(dir, 'a.yaml'), doc('          - path: /usr/bin/curl\n'));
  writeFileSync(join(dir, 'b.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n${doc('          - path: /usr/bin/curl\n          - path: /bin/bash\n')}`);
  const r = run(['.'], dir);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'a.yaml:1: warning: KubeArmorPolicy/shop/net: defined again by b.yaml:6: all of them are in force here; a cluster keeps one object per name, the last one applied\n' +
    'checked 2 files, 3 documents: 0 invalid, 1 skipped (not policies)\n');
});

test('valid files: exit 0, paths shown relative to the working directory', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ok.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: ok\nspec:\n  file:\n    matchPaths:\n      - path: /x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n');
  const ok = run(['.'], dir);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'checked 1 file, 2 documents: 0 invalid, 1 skipped (not policies)\n');
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: bad\nspec:\n  severity: 0\n');
  const bad = run(['.'], dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, 'bad.yaml:6:13: spec.severity: must be at least 1 (got 0)\nchecked 2 files, 3 documents: 1 invalid, 1 skipped (not policies)\n');
});

test('usage errors exit 2', () => {
  const none = run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give at least one policy file or directory/);
  const missing = run(['/nonexistent/dir']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/dir: does not exist/);
  const flag = run(['--bogus', '.']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--bogus'/);
  const help = run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: armorwatch validate/);
});

test('files and directories watched by identity count against the same capacity: each map fits, the identities do not', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-validate-cap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const host = (name: string, file: string, dirs: string[]): string => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: ${name}\nspec:\n  nodeSelector:\n    matchLabels:\n      kubernetes.io/hostname: n1\n  file:\n    matchPaths:\n      - path: ${file}\n    matchDirectories:\n${dirs.map((d) => `      - dir: ${d}\n`).join('')}  action: Audit\n`;
  writeFileSync(join(dir, 'h1.yaml'), host('h1', '/etc/h1', ['/srv/a/', '/srv/b/']));
  writeFileSync(join(dir, 'h2.yaml'), host('h2', '/etc/h2', ['/srv/c/']));
  assert.equal(run(['--kernel-filter-capacity', '5', '.'], dir).code, 0);
  const over = run(['--kernel-filter-capacity', '4', '.'], dir);
  assert.equal(over.code, 1, over.stdout);
  assert.match(over.stdout, /^the policies need 2 exact paths and 3 directory prefixes and 5 files and directories watched by identity in the kernel filter, more than its capacity of 4 each \(--kernel-filter-capacity\); most entries come from: h1\.yaml: KubeArmorHostPolicy\/\/h1 \(3\); h2\.yaml: KubeArmorHostPolicy\/\/h2 \(2\)\n/);
});

test('valid policies needing more kernel filter entries than the capacity: exit 1, the biggest policies named', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-validate-cap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = (name: string, paths: string[]): string => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: ${name}\n  namespace: ns\nspec:\n  file:\n    matchPaths:\n${paths.map((p) => `      - path: ${p}\n`).join('')}  action: Block\n`;
  writeFileSync(join(dir, 'one.yaml'), policy('one', ['/etc/a']));
  writeFileSync(join(dir, 'two.yaml'), policy('two', ['/run/x', '/run/y', '/proc/1/environ']));
  const fits = run(['--kernel-filter-capacity', '3', '.'], dir);
  assert.equal(fits.code, 0, fits.stdout);
  const over = run(['--kernel-filter-capacity', '2', '.'], dir);
  assert.equal(over.code, 1);
  assert.equal(over.stdout, 'the policies need 3 exact paths and 1 directory prefixes and 3 files and directories watched by identity in the kernel filter, more than its capacity of 2 each (--kernel-filter-capacity); '
    + 'most entries come from: two.yaml: KubeArmorPolicy/ns/two (2); one.yaml: KubeArmorPolicy/ns/one (1)\nchecked 2 files, 2 documents: 0 invalid\n');
  const env = spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'validate', '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ARMORWATCH_KERNEL_FILTER_CAPACITY: '2' } });
  assert.equal(env.status, 1, 'the variable sets it too');
  const bad = run(['--kernel-filter-capacity', '0', '.'], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--kernel-filter-capacity: invalid value "0"/);
});
