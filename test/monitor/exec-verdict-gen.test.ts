// Real eBPF: a cached "dropped" verdict for an executable does not outlive a rename, even when only
// process rules are loaded (the file hooks detached). The kernel caches an execution's verdict by
// the file it ran; a rename that moves that file under a watched directory must void it. Run on the
// per-syscall tracepoints, where each call has its own program and detaching the file calls' ones
// must not take the renames' with them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, type Collected } from './harness.ts';

let c: Collected | null = null;
let dir = '';
const p = (name: string): string => join(dir, name);

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-xgen-')));
  mkdirSync(p('plain'));
  copyFileSync('/bin/true', p('plain/prog'));
  copyFileSync('/bin/true', p('marker'));
  // The program is run through names that never match a rule: `alias` -> `current/prog`, where
  // `current` is a link to the directory the program is in.
  symlinkSync(p('plain'), p('current'));
  symlinkSync(p('current/prog'), p('alias'));
  c = await collect({
    hook: 'syscall_tracepoints',
    pathFilter: { passAll: false, exactPaths: [], dirPrefixes: [], exec: { passAll: false, paths: [p('marker')], dirs: [`${p('watched')}/`], names: [] } },
  });
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('a program dropped by the process filter passes once a rename puts it under a watched directory', async (t) => {
  if (!needsBpf(t)) return;
  const hooks = (await c!.monitor.refreshStats()).hooks;
  assert.deepEqual([hooks.file, hooks.exec], [false, true], 'only process rules: the file hooks are detached');
  const tag = `gen-${process.pid}`;
  for (let i = 0; i < 3; i++) spawnSync(p('alias'), [tag], { stdio: 'ignore' });
  const m1 = spawnSync(p('marker'), [tag], { stdio: 'ignore' }).pid!;
  await c!.waitForExec((e) => e.hostPid === m1, 'the marker');
  assert.equal(c!.execs.some((e) => e.argv[1] === tag && e.absPath === p('alias')), false, 'the unwatched program passed');
  // The same file, now under the watched directory; the alias reaches it by the same spelling.
  renameSync(p('plain'), p('watched'));
  symlinkSync(p('watched'), p('current.new'));
  renameSync(p('current.new'), p('current'));
  const pid = spawnSync(p('alias'), [tag], { stdio: 'ignore' }).pid!;
  await c!.waitForExec((e) => e.hostPid === pid && e.argv[1] === tag, 'the renamed program, now under the watched directory');
});
