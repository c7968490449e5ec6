// Real eBPF: the process-rule filter in the kernel. An execution no rule could match stays in the
// kernel and is counted; one matching a path, a directory or a base name (requested or resolved)
// passes; a filter change applies while attached. Absence is shown by ordering, as for files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import type { ExecFilterSpec } from '../../src/types.ts';
import { collect, type Collected } from './harness.ts';

let c: Collected | null = null;
let dir = '';
const p = (name: string): string => join(dir, name);
// 100 rules that match none of the programs run here, and the ones the tests aim at.
const NOISE = Array.from({ length: 100 }, (_, i) => `/opt/aw-none/rule-${i}`);
let spec: ExecFilterSpec;
// Programs run one after the other (the kernel remembers several dropped executions per CPU).
const ALT = ['alt-0', 'alt-1', 'alt-2', 'alt-3'];

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-xfilter-')));
  mkdirSync(p('bin'));
  for (const f of ['marker', 'other', 'bin/inner', 'named-aw', ...ALT]) copyFileSync('/bin/true', p(f));
  symlinkSync(p('alt-2'), p('alt-2-alias'));
  symlinkSync(p('marker'), p('link-to-marker'));
  symlinkSync(p('other'), p('named-aw-link'));
  symlinkSync(p('other'), p('other-alias'));
  spec = { passAll: false, paths: [...NOISE, p('marker')], dirs: [`${p('bin')}/`], names: ['named-aw'] };
  c = await collect({ pathFilter: { passAll: false, exactPaths: [], dirPrefixes: [], exec: spec } });
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function exec(path: string, tag: string): number {
  return spawnSync(path, [tag], { stdio: 'ignore' }).pid!;
}

test('an execution no rule could match stays in the kernel and is counted as filtered', async (t) => {
  if (!needsBpf(t)) return;
  const before = (await c!.monitor.refreshStats()).filteredExecInKernel;
  const tag = `miss-${process.pid}`;
  for (let i = 0; i < 5; i++) exec(p('other'), tag);
  const marker = exec(p('marker'), tag);
  await c!.waitForExec((e) => e.hostPid === marker && e.argv[1] === tag, 'the marker');
  assert.deepEqual(c!.execs.filter((e) => e.absPath === p('other')), []);
  const after = (await c!.monitor.refreshStats()).filteredExecInKernel;
  assert.ok(after - before >= 5, `filtered executions rose by ${after - before}, expected at least 5`);
});

test('an exact path, a directory and a base name pass, by the requested or the resolved path', async (t) => {
  if (!needsBpf(t)) return;
  const tag = `hit-${process.pid}`;
  for (const [path, why] of [[p('bin/inner'), 'a directory rule'], [p('named-aw'), 'a base-name rule'],
    [p('link-to-marker'), 'an exact rule on the resolved path'], [p('named-aw-link'), 'nothing: the link\'s name is not named-aw']] as const) {
    const pid = exec(path, tag);
    if (why.startsWith('nothing')) {
      const marker = exec(p('marker'), `${tag}-after`);
      await c!.waitForExec((e) => e.hostPid === marker, 'the marker after the unmatched link');
      assert.equal(c!.execs.some((e) => e.hostPid === pid), false, `${path} passed although ${why}`);
    } else {
      await c!.waitForExec((e) => e.hostPid === pid && e.argv[1] === tag, `${path} through ${why}`);
    }
  }
});

test('the filter changes while attached: a new rule passes, a removed one stops passing', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { ...spec, paths: [...NOISE, p('other')] } });
  const tag = `update-${process.pid}`;
  const first = exec(p('marker'), tag);
  const second = exec(p('other'), tag);
  await c!.waitForExec((e) => e.hostPid === second && e.argv[1] === tag, 'the newly listed program');
  assert.equal(c!.execs.some((e) => e.hostPid === first && e.argv[1] === tag), false, 'the unlisted marker stayed in the kernel');
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: spec });
});

// The kernel remembers the last dropped execution per CPU (its requested path and its file), so
// the same program run again is dropped cheaply: a new spelling or a new filter must still be judged.
test('a program dropped many times in a row passes once run by a listed name, or once the filter lists it', async (t) => {
  if (!needsBpf(t)) return;
  const tag = `again-${process.pid}`;
  const alias = p('other-alias');
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { ...spec, paths: [...NOISE, p('marker'), alias] } });
  const dropped = Array.from({ length: 8 }, () => exec(p('other'), tag));
  const byAlias = exec(alias, tag);
  await c!.waitForExec((e) => e.hostPid === byAlias && e.argv[1] === tag, 'the program run by its listed alias');
  assert.equal(c!.execs.some((e) => dropped.includes(e.hostPid)), false, 'runs by the unlisted name stayed in the kernel');
  const more = Array.from({ length: 8 }, () => exec(p('other'), `${tag}-more`));
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { ...spec, paths: [...NOISE, p('marker'), p('other')] } });
  const listed = exec(p('other'), `${tag}-listed`);
  await c!.waitForExec((e) => e.hostPid === listed && e.argv[1] === `${tag}-listed`, 'the program once listed');
  assert.equal(c!.execs.some((e) => more.includes(e.hostPid)), false, 'runs before the change stayed in the kernel');
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: spec });
});

test('programs run in turn, each dropped many times: one passes by a listed alias, and once listed; the others stay in the kernel', async (t) => {
  if (!needsBpf(t)) return;
  const tag = `turns-${process.pid}`;
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { ...spec, paths: [...NOISE, p('marker'), p('alt-2-alias')] } });
  const filteredBefore = (await c!.monitor.refreshStats()).filteredExecInKernel;
  const dropped: number[] = [];
  for (let round = 0; round < 6; round++) for (const f of ALT) dropped.push(exec(p(f), tag));
  const byAlias = exec(p('alt-2-alias'), `${tag}-alias`);
  await c!.waitForExec((e) => e.hostPid === byAlias && e.argv[1] === `${tag}-alias`, 'alt-2 run by its listed alias');
  assert.equal(c!.execs.some((e) => dropped.includes(e.hostPid)), false, 'runs by unlisted names stayed in the kernel');
  assert.ok((await c!.monitor.refreshStats()).filteredExecInKernel - filteredBefore >= dropped.length, 'every run by an unlisted name counted as filtered');

  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { ...spec, paths: [...NOISE, p('marker'), p('alt-1')] } });
  const after: number[] = [];
  for (let round = 0; round < 3; round++) for (const f of ALT) after.push(exec(p(f), `${tag}-after-${f}`));
  await c!.waitForExec((e) => e.argv[1] === `${tag}-after-alt-1`, 'alt-1 once listed');
  const marker = exec(p('marker'), `${tag}-marker`);
  await c!.waitForExec((e) => e.hostPid === marker, 'the marker after the others');
  const passed = c!.execs.filter((e) => after.includes(e.hostPid)).map((e) => e.argv[1]);
  assert.deepEqual([...new Set(passed)], [`${tag}-after-alt-1`], 'only the listed program passed');
  assert.equal(passed.length, 3, 'each run of the listed program passed');
  await c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: spec });
});

test('a filter entry that is not absolute is refused and the filter in force stays', async (t) => {
  if (!needsBpf(t)) return;
  await assert.rejects(c!.monitor.setPathFilter({ passAll: false, exactPaths: [], dirPrefixes: [], exec: { passAll: false, paths: ['bin'], dirs: [], names: [] } }),
    /executed-file path "bin" is not absolute/);
  const pid = exec(p('marker'), `still-${process.pid}`);
  await c!.waitForExec((e) => e.hostPid === pid, 'the marker under the filter in force');
});
