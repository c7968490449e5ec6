// Fault suite (#12): what `run` says about an unreadable policy folder, an unreadable file in a
// readable folder, and an empty folder: a log line naming the path and errno, and the readiness
// verdict and detail. The store runs as `nobody`, so that files root owns are really unreadable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./store-child.ts', import.meta.url));

interface Out { logs: Array<Record<string, unknown>>; ready: string | null; detail: string[]; status: Record<string, unknown> }

function runAsNobody(paths: string[]): Out {
  const r = spawnSync(process.execPath, [CHILD, ...paths], { encoding: 'utf8', uid: 65534, gid: 65534, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Out;
}

const POLICY = 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: h\nspec:\n  nodeSelector:\n    matchLabels:\n      a: b\n  file:\n    matchPaths:\n      - path: /etc/x\n';

test('run: an unreadable folder, an unreadable file, an empty folder each logged with path and errno; readiness says why', (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to run the store as another user'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'aw-fault-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o700 });
  writeFileSync(join(locked, 'a.yaml'), POLICY);
  const empty = join(dir, 'empty');
  mkdirSync(empty, { mode: 0o755 });

  // Nothing readable: not ready, and the reason names the folder and the errno.
  const none = runAsNobody([locked, empty]);
  const warn = (o: Out) => o.logs.filter((l) => (l.level as number) >= 40);
  assert.ok(warn(none).some((l) => l.path === locked && l.errno === 'EACCES' && String(l.msg) === `cannot read the directory ${locked} (EACCES)`), JSON.stringify(warn(none)));
  assert.ok(warn(none).some((l) => l.path === empty && /holds no policy file/.test(String(l.msg))));
  assert.equal(none.ready, `no policy in force: cannot read the directory ${locked} (EACCES)`);
  assert.match(none.detail[1]!, new RegExp(`^policy folders: 1 unreadable \\(cannot read the directory ${locked} \\(EACCES\\)\\); 1 empty \\(${empty}\\)$`));

  // One readable policy and one unreadable file beside it: ready, the file warned about, counted.
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed, { mode: 0o755 });
  writeFileSync(join(mixed, 'ok.yaml'), POLICY);
  writeFileSync(join(mixed, 'secret.yaml'), POLICY.replace('name: h', 'name: s'), { mode: 0o600 });
  const some = runAsNobody([mixed]);
  assert.equal(some.ready, null);
  assert.ok(warn(some).some((l) => l.file === join(mixed, 'secret.yaml') && /cannot read the file \(EACCES\)/.test(String(l.msg))), JSON.stringify(warn(some)));
  assert.equal(some.status.unreadableFiles, 1);
  assert.match(some.detail[0]!, /^policies: 1 in force from 2 file\(s\); 1 document\(s\) rejected; 1 file\(s\) unreadable$/);
});
