// A hostile policy folder: link loops, links to `/` and out of the folder, FIFOs named *.yaml,
// huge files, names with control characters or bytes that are not UTF-8. Discovery and loading
// stay bounded, never read outside the folder, and report what they pass over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverPolicyFiles } from '../../src/policy/discover.ts';
import { DEFAULT_LOAD_LIMITS, loadPolicies, loadPolicyFile } from '../../src/policy/load.ts';
import { writeConfigMap } from './configmap.ts';
import { ksp } from './helpers.ts';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const body = (p: string) => `  action: Audit\n  file:\n    matchPaths:\n      - path: ${p}`;

// Without bounds, fast-glob following these links walked the whole file system until out of memory.
test('links to `.`, to `/` and to a parent are passed over and reported; discovery ends', { timeout: 20_000 }, async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'policies');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a')));
  writeFileSync(join(root, 'sub', 'b.yaml'), ksp('b', body('/etc/b')));
  symlinkSync('.', join(root, 'self1'));
  symlinkSync('.', join(root, 'self2'));
  symlinkSync('/', join(root, 'slash'));
  symlinkSync('..', join(root, 'sub', 'up'));
  symlinkSync('../..', join(root, 'sub', 'upup'));
  symlinkSync('missing.yaml', join(root, 'broken.yaml'));
  symlinkSync('loop2.yaml', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2.yaml'));
  const found = await discoverPolicyFiles([root]);
  assert.deepEqual(found.files.map((f) => f.name), [join(root, 'a.yaml'), join(root, 'sub', 'b.yaml')]);
  const why = Object.fromEntries(found.skipped.map((s) => [s.name, s.reason]));
  assert.deepEqual(why, {
    [join(root, 'self1')]: 'loop', [join(root, 'self2')]: 'loop', [join(root, 'slash')]: 'outside',
    [join(root, 'sub', 'up')]: 'loop', [join(root, 'sub', 'upup')]: 'outside', [join(root, 'loop1')]: 'loop', [join(root, 'loop2.yaml')]: 'loop',
    [join(root, 'broken.yaml')]: 'broken-link',
  });
  for (const s of found.skipped) assert.ok(s.message.includes(s.name), s.message);
});

test('a ConfigMap mount keeps working: links through `..data` stay inside the folder', async (t) => {
  const root = join(tmp(t), 'policies');
  writeConfigMap(root, { 'a.yaml': ksp('a', body('/etc/a')) });
  const r = await loadPolicies([root]);
  assert.deepEqual(r.policies.map((p) => p.name), ['a']);
  assert.deepEqual(r.skippedEntries, []);
});

test('depth is bounded and the cut is reported', async (t) => {
  const root = tmp(t);
  let d = root;
  for (let i = 0; i < 20; i++) d = join(d, `d${i}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'deep.yaml'), ksp('deep', body('/etc/deep')));
  const found = await discoverPolicyFiles([root]);
  assert.equal(found.files.length, 0);
  assert.equal(found.skipped.length, 1);
  assert.equal(found.skipped[0]!.reason, 'depth');
  assert.match(found.skipped[0]!.message, /deeper than 16 levels/);
});

test('a FIFO named *.yaml is not opened: load ends, the FIFO is reported (in the folder or linked from outside)', { timeout: 20_000 }, async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'policies');
  mkdirSync(root);
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a')));
  execFileSync('mkfifo', [join(root, 'fifo.yaml')]);
  execFileSync('mkfifo', [join(dir, 'outside-fifo')]);
  symlinkSync(join(dir, 'outside-fifo'), join(root, 'linked.yaml'));
  const r = await loadPolicies([root]);
  assert.deepEqual(r.policies.map((p) => p.name), ['a']);
  assert.deepEqual(r.skippedEntries.map((s) => [s.name, s.reason]).sort(), [[join(root, 'fifo.yaml'), 'not-regular'], [join(root, 'linked.yaml'), 'outside']]);
  // Named directly, a FIFO is refused without blocking too.
  const direct = await loadPolicyFile(join(root, 'fifo.yaml'));
  assert.match(direct.problems[0]!.message, /not a regular file/);
});

test('trace_pipe (a regular file whose read blocks) linked into the folder is not followed; named directly, the read gives up', { timeout: 20_000 }, async (t) => {
  const tracePipe = '/sys/kernel/tracing/trace_pipe';
  if (!existsSync(tracePipe)) { t.skip(`no ${tracePipe}`); return; }
  const root = tmp(t);
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a')));
  symlinkSync(tracePipe, join(root, 'tp.yaml'));
  const r = await loadPolicies([root]);
  assert.deepEqual(r.policies.map((p) => p.name), ['a']);
  assert.deepEqual(r.skippedEntries.map((s) => [s.name, s.reason]), [[join(root, 'tp.yaml'), 'outside']]);
  const direct = await loadPolicyFile(tracePipe, { ...DEFAULT_LOAD_LIMITS, readTimeoutMs: 1000 });
  assert.equal(direct.documents.length, 0);
  assert.match(direct.problems[0]!.message, /cannot read the file \(EAGAIN\)|did not finish within 1000 ms/);
});

test('a 400 MB file is refused from its size, unread', async (t) => {
  const root = tmp(t);
  const big = join(root, 'big.yaml');
  // Sparse: takes no disk, but reading it would need 400 MB of memory.
  const fd = openSync(big, 'w');
  closeSync(fd);
  execFileSync('truncate', ['-s', '400M', big]);
  const before = process.resourceUsage().maxRSS;
  const r = await loadPolicies([root]);
  const grew = (process.resourceUsage().maxRSS - before) / 1024;
  assert.match(r.problems[0]!.message, /file too large \(419430400 bytes; the limit is 1048576\)/);
  assert.ok(grew < 64, `peak RSS grew by ${grew.toFixed(0)} MiB`);
});

test('a file outside the folder is never read, and its content never shows in a message', async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'policies');
  mkdirSync(root);
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
  writeFileSync(join(dir, 'id_ed25519'), key);
  symlinkSync(join(dir, 'id_ed25519'), join(root, 'key.yaml'));
  // The same content inside the folder is read (the operator put it there), but not echoed.
  writeFileSync(join(root, 'pasted.yaml'), key);
  const r = await loadPolicies([root]);
  assert.deepEqual(r.skippedEntries.map((s) => [s.name, s.reason]), [[join(root, 'key.yaml'), 'outside']]);
  assert.equal(r.files.length, 1);
  const text = JSON.stringify(r);
  assert.ok(!text.includes('b3BlbnNzaC1rZXkt'), text);
  assert.ok(!text.includes('BEGIN OPENSSH'), text);
  assert.match(r.problems[0]!.message, /a policy document must be a mapping \(got a string of \d+ characters\)/);
});

test('names that are not UTF-8 are kept apart, shown escaped, and their files are read', async (t) => {
  const root = tmp(t);
  const enc = (s: string, b: number) => Buffer.concat([Buffer.from(`${root}/${s}`), Buffer.from([b]), Buffer.from('.yaml')]);
  writeFileSync(enc('p', 0xff), ksp('one', body('/etc/one')));
  writeFileSync(enc('p', 0xfe), ksp('two', body('/etc/two')));
  const r = await loadPolicies([root]);
  assert.deepEqual(r.files.map((f) => f.file), [`${root}/p\\xfe.yaml`, `${root}/p\\xff.yaml`]);
  assert.deepEqual(r.policies.map((p) => [p.name, p.source.file]), [['two', `${root}/p\\xfe.yaml`], ['one', `${root}/p\\xff.yaml`]]);
});
