// Real eBPF: the kernel path filter at its edges — path lengths around the 256-byte boundary where
// the entry scan changes loops, a prefix entry that long, spellings that are not the folded path,
// the /proc/<pid|self|thread-self>/ aliases, and an exact entry that is a string prefix of another
// path. The filter may pass more than the rules need, never less; absence is shown by ordering
// (the file that must not arrive is opened before a marker that must, by the same process).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, type Collected } from './harness.ts';

let c: Collected | null = null;
let dir = '';
const p = (name: string): string => join(dir, name);

/** A path under `base` exactly `len` bytes long, ending in a component that starts with `tag`. */
function pathOfLength(base: string, tag: string, len: number): string {
  let out = base;
  while (len - out.length > 200) out = join(out, 'd'.repeat(150));
  const last = len - out.length - 1;
  assert.ok(last >= tag.length, `no room for ${tag} in ${len} bytes`);
  return join(out, tag + 'x'.repeat(last - tag.length));
}

function touch(file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, 'x');
  return file;
}

const long: Record<number, { listed: string; other: string }> = {};
let longPrefix = '';

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-fedge-')));
  for (const f of ['marker', 'pass', 'passwd', 'x', 'y', 'sub/keep']) touch(p(f));
  for (const len of [255, 256, 257, 300]) {
    long[len] = { listed: touch(pathOfLength(p(`l${len}`), 'a', len)), other: touch(pathOfLength(p(`l${len}`), 'b', len)) };
    assert.equal(long[len]!.listed.length, len);
  }
  // A directory prefix of exactly 256 bytes, its trailing '/' included.
  longPrefix = `${pathOfLength(p('pfx'), 'w', 255)}/`;
  assert.equal(longPrefix.length, 256);
  touch(`${longPrefix}inner`);
  touch(`${pathOfLength(p('pfx'), 'v', 255)}/inner`);
  c = await collect({
    pathFilter: {
      passAll: false,
      exactPaths: [p('marker'), p('pass'), p('x'), p('sub'), '/proc/net/dev', ...Object.values(long).map((l) => l.listed)],
      dirPrefixes: [longPrefix],
    },
  });
});
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, ...args: string[]): number {
  return spawnSync(cmd, args, { stdio: 'ignore' }).pid!;
}

async function absentBeforeMarker(pid: number, path: string): Promise<void> {
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('marker'), 'the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === pid && e.path === path).length, 0, `${path} must be filtered`);
}

for (const len of [255, 256, 257, 300]) {
  test(`an exact path of ${len} bytes passes and its unlisted sibling of the same length does not`, async (t) => {
    if (!needsBpf(t)) return;
    const { listed, other } = long[len]!;
    const pid = run('/bin/cat', other, listed, p('marker'));
    await c!.waitFor((e) => e.hostPid === pid && e.path === listed, `the ${len}-byte path`);
    await absentBeforeMarker(pid, other);
  });
}

test('a directory prefix entry of 256 bytes passes the paths under it, not those beside it', async (t) => {
  if (!needsBpf(t)) return;
  const inside = `${longPrefix}inner`;
  const beside = `${pathOfLength(p('pfx'), 'v', 255)}/inner`;
  const pid = run('/bin/cat', beside, inside, p('marker'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === inside, 'the path under the long prefix');
  await absentBeforeMarker(pid, beside);
});

test('an exact entry that is a string prefix of another path does not pass that path', async (t) => {
  if (!needsBpf(t)) return;
  // The exact entry is .../pass: .../passwd is neither it nor under it, and is not let through.
  const pid = run('/bin/cat', p('passwd'), p('pass'), p('marker'));
  await c!.waitFor((e) => e.hostPid === pid && e.path === p('pass'), 'the exact entry');
  await absentBeforeMarker(pid, p('passwd'));
});

test('spellings that are not the folded path pass at entry (chmod has no opened file to judge later)', async (t) => {
  if (!needsBpf(t)) return;
  const spellings = [`${dir}/./x`, `${dir}//x`, `${dir}/sub/../x`, `${dir}/sub/.`];
  const pid = run('/bin/chmod', '0644', ...spellings);
  for (const s of spellings) {
    await c!.waitFor((e) => e.hostPid === pid && e.syscall.includes('chmod') && e.path === s, `chmod ${s}`);
  }
  const clean = run('/bin/chmod', '0644', p('y'), p('marker'));
  await c!.waitFor((e) => e.hostPid === clean && e.path === p('marker'), 'chmod of the marker');
  assert.equal(c!.events.filter((e) => e.hostPid === clean && e.path === p('y')).length, 0, 'a clean unlisted path is filtered');
});

test('/proc/thread-self/, /proc/self/ and /proc/<pid>/ spellings pass an entry /proc/net/dev', async (t) => {
  if (!needsBpf(t)) return;
  const spellings = ['/proc/thread-self/net/dev', '/proc/self/net/dev', `/proc/${process.pid}/net/dev`];
  const pid = run('/bin/cat', ...spellings);
  for (const s of spellings) await c!.waitFor((e) => e.hostPid === pid && e.path === s, s);
});
