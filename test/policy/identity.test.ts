// Identity matching's user-space side: which rule targets are resolved (on the host, in a
// container's root), how stat's device becomes the kernel's, how a match is named, and that a match
// counts only for its own scope: host identities for host processes, a container's for its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicies } from '../../src/policy/engine.ts';
import { IdentityWatch, identityTargets, kernelDev, resolveIdentities, statInRoot, TOUCH_DELAY_MS } from '../../src/policy/identity.ts';
import type { WatchedIdentity } from '../../src/types.ts';
import { candidatePaths } from '../../src/policy/paths.ts';
import { identityPathOf } from '../../src/monitor/decode.ts';
import { alertFor, event, HOST, ksp, NODE, policies, WEB, workload } from './helpers.ts';

const HSP = `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-ids
spec:
  nodeSelector:
    matchLabels:
      kubearmor.io/hostname: "*"
  action: Audit
  file:
    matchPaths:
      - path: /etc/shadow
      - path: /proc/net/tcp
    matchDirectories:
      - dir: /etc/ssh/
        recursive: true
    matchPatterns:
      - pattern: /var/www/**/*.php
      - pattern: /srv/exact.txt
      - pattern: /*.key
`;

test('host policies\' file targets are resolved: files, directories, the literal directory of patterns; not /proc, not "/", not container policies', () => {
  const engine = compilePolicies([...policies(HSP), ...policies(ksp('ksp-ids', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/passwd'))]);
  assert.deepEqual(identityTargets(engine.rules), ['/etc/shadow', '/etc/ssh', '/srv/exact.txt', '/var/www']);
});

test('the kernel\'s device number is MKDEV of the one stat reports (checked against /proc/self/mountinfo)', () => {
  const st = statSync('/', { bigint: true });
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  assert.ok(line);
  const [major, minor] = line.split(' ')[2]!.split(':').map(Number) as [number, number];
  assert.equal(kernelDev(st.dev), ((major << 20) | minor) >>> 0);
  assert.equal(kernelDev(0x0803n), (8 << 20) | 3, 'sda3');
  assert.equal(kernelDev(0x1_0000_0105n), (0x1001 << 20) | 5, 'a major above 4095');
});

test('resolution: a path that exists has its identity; one that does not is listed as unresolved; two paths to one file count once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-ids-'));
  try {
    const f = join(dir, 'f');
    writeFileSync(f, 'x');
    const r = await resolveIdentities([f, join(dir, 'missing'), `${dir}/./f`]);
    assert.deepEqual(r.unresolved, [join(dir, 'missing')]);
    assert.equal(r.identities.length, 1);
    assert.equal(r.identities[0]!.ino, statSync(f, { bigint: true }).ino);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a match is named by the rule path and the components of the host path below it', () => {
  assert.equal(identityPathOf('/etc/shadow', 0, '/tmp/hardlink'), '/etc/shadow');
  assert.equal(identityPathOf('/etc/ssh', 1, '/mnt/x/sshd_config'), '/etc/ssh/sshd_config');
  assert.equal(identityPathOf('/etc/ssh', 2, '/jail/x/keys/host_key'), '/etc/ssh/keys/host_key');
  assert.equal(identityPathOf('/etc/ssh/', 1, '/m/a'), '/etc/ssh/a');
});

test('host paths are candidates for host processes; identity paths for the scope they were resolved in', () => {
  const ev = { absPath: '/x/inner', resolvedPath: '/x/inner', absPath2: null, hostPath: '/jail/x/inner',
    identityPaths: [{ path: '/etc/ssh/inner', containerId: null }, { path: '/srv/inner', containerId: 'a' }] };
  assert.deepEqual(candidatePaths(ev, [], null), ['/x/inner', '/jail/x/inner', '/etc/ssh/inner']);
  assert.deepEqual(candidatePaths(ev, [], 'a'), ['/x/inner', '/srv/inner']);
  assert.deepEqual(candidatePaths(ev, [], 'b'), ['/x/inner'], 'another container');
  assert.deepEqual(candidatePaths(ev, [], undefined), ['/x/inner'], 'a container the enricher could not name');
});

test('the engine: a host policy matches by its identity path; a container policy only by an identity resolved in that container', () => {
  const hostHit = event({ absPath: '/tmp/link', path: '/tmp/link', resolvedPath: '/tmp/link', hostPath: '/tmp/link', identityPaths: [{ path: '/etc/shadow', containerId: null }] });
  const hostAlert = alertFor(HSP, hostHit, HOST, NODE);
  assert.equal(hostAlert?.PolicyName, 'hsp-ids');
  assert.equal(hostAlert?.Resource, '/tmp/link', 'Resource stays the path the process used');
  const kspShadow = ksp('ksp-shadow', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow');
  assert.equal(alertFor(kspShadow, hostHit, WEB, NODE), null, 'the host\'s /etc/shadow is not a container\'s');
  const inWeb = event({ absPath: '/tmp/link', path: '/tmp/link', resolvedPath: '/tmp/link', hostPath: '/tmp/link', identityPaths: [{ path: '/etc/shadow', containerId: WEB.containerId! }] });
  assert.equal(alertFor(kspShadow, inWeb, WEB, NODE)?.PolicyName, 'ksp-shadow', 'its own container\'s /etc/shadow');
  const other = workload({ containerId: 'd'.repeat(64) });
  assert.equal(alertFor(kspShadow, inWeb, other, NODE), null, 'the same selector, another container: not its file');
  assert.equal(alertFor(HSP, inWeb, HOST, NODE), null, 'a container\'s identity is not the host\'s');
});

test('container policies\' targets are listed apart from host policies\'', () => {
  const engine = compilePolicies([...policies(HSP), ...policies(ksp('ksp-ids', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/passwd\n    matchDirectories:\n      - dir: /srv/app/'))]);
  assert.deepEqual(identityTargets(engine.rules, 'container'), ['/etc/passwd', '/srv/app']);
  assert.deepEqual(engine.fileRulesFor(WEB, NODE).map((r) => r.target), ['/etc/passwd', '/srv/app/']);
  assert.deepEqual(engine.fileRulesFor(workload({ labels: { app: 'db' } }), NODE).map((r) => r.target), [], 'a container the selector does not pick');
});

test('a path is resolved inside a root: an absolute symlink and ".." stay in it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'aw-root-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/target'), 'in the root');
    symlinkSync('/etc/target', join(root, 'abs'));
    symlinkSync('../../../etc/target', join(root, 'etc/up'));
    const want = statSync(join(root, 'etc/target'), { bigint: true }).ino;
    assert.equal((await statInRoot(root, '/abs')).ino, want, 'an absolute link starts again at the root');
    assert.equal((await statInRoot(root, '/etc/up')).ino, want, '".." stops at the root');
    await assert.rejects(statInRoot(root, '/etc/missing'));
    const r = await resolveIdentities(['/abs', '/etc/missing'], { root, containerId: 'c1' });
    assert.deepEqual(r.identities.map((i) => [i.path, i.ino, i.containerId]), [['/abs', want, 'c1']]);
    assert.deepEqual(r.unresolved, ['/etc/missing']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the watch resolves container policies\' targets in each selected container\'s root, tagged with its id; a container the selector does not pick gets none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-idc-'));
  try {
    const f = join(dir, 'conf');
    writeFileSync(f, 'x');
    const engine = compilePolicies(policies(ksp('ksp-conf', `  action: Audit\n  file:\n    matchPaths:\n      - path: ${f}`)));
    const db = workload({ containerId: 'e'.repeat(64), labels: { app: 'db' } });
    // The "containers" are this process: its root is the host's, so the target resolves to the file above.
    const source = { running: async () => [{ workload: WEB, pid: process.pid }, { workload: db, pid: process.pid }], node: () => NODE };
    const sent: Array<readonly WatchedIdentity[]> = [];
    const w = new IdentityWatch(async (ids) => { sent.push(ids); }, (err) => { throw err; }, 0, source);
    await w.update(engine);
    assert.deepEqual(sent.at(-1)!.map((i) => [i.path, i.ino, i.containerId]), [[f, statSync(f, { bigint: true }).ino, WEB.containerId]]);
    assert.equal(w.status().containerWatched, 1);
    assert.equal(w.status().containers, 1);
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a name change resolves again at once: a file renamed over a watched one is watched within TOUCH_DELAY_MS, with no periodic refresh; reads, failed calls and other names do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-idt-'));
  try {
    const f = join(dir, 'secret');
    writeFileSync(f, 'x');
    const sent: Array<readonly WatchedIdentity[]> = [];
    const w = new IdentityWatch(async (ids) => { sent.push(ids); }, (err) => { throw err; }, 0);
    await w.update(compilePolicies(policies(HSP.replace('- path: /etc/shadow', `- path: ${f}`))));
    writeFileSync(`${f}.new`, 'y');
    renameSync(`${f}.new`, f);
    const ino = statSync(f, { bigint: true }).ino;
    const before = sent.length;
    w.touched(event({ syscall: 'openat', absPath: f, flags: 0, ret: 3 }), HOST); // a plain read changes nothing
    w.touched(event({ syscall: 'rename', path: `${dir}/a`, absPath: `${dir}/a`, path2: `${dir}/b`, absPath2: `${dir}/b`, ret: 0 }), HOST); // nor a rename of other names
    w.touched(event({ syscall: 'rename', path: `${f}.new`, absPath: `${f}.new`, path2: f, absPath2: f, ret: -2 }), HOST); // nor a failed one
    await new Promise((r) => setTimeout(r, TOUCH_DELAY_MS + 200));
    assert.equal(sent.length, before, 'nothing resolved again');
    w.touched(event({ syscall: 'rename', path: `${f}.new`, absPath: `${f}.new`, path2: f, absPath2: f, ret: 0 }), HOST);
    await new Promise((r) => setTimeout(r, TOUCH_DELAY_MS + 200));
    assert.equal(sent.at(-1)!.find((i) => i.path === f)?.ino, ino, 'the new inode is watched');
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hard link made to a file under a watched directory is watched under the file\'s name there; dropped once the link is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-idl-'));
  try {
    const watched = join(dir, 'keys');
    mkdirSync(watched);
    writeFileSync(join(watched, 'k1'), 'x');
    const link = join(dir, 'elsewhere');
    const sent: Array<readonly WatchedIdentity[]> = [];
    const w = new IdentityWatch(async (ids) => { sent.push(ids); }, (err) => { throw err; }, 0);
    await w.update(compilePolicies(policies(HSP.replace('- dir: /etc/ssh/', `- dir: ${watched}/`))));
    linkSync(join(watched, 'k1'), link);
    w.touched(event({ syscall: 'linkat', path: join(watched, 'k1'), absPath: join(watched, 'k1'), path2: link, absPath2: link, ret: 0 }), HOST);
    await new Promise((r) => setTimeout(r, TOUCH_DELAY_MS + 200));
    const ino = statSync(link, { bigint: true }).ino;
    assert.deepEqual(sent.at(-1)!.filter((i) => i.ino === ino).map((i) => i.path), [join(watched, 'k1')]);
    assert.equal(w.status().linked, 1);
    rmSync(link);
    await w.refresh();
    assert.equal(sent.at(-1)!.some((i) => i.ino === ino), false, 'the link is gone: its inode is no longer watched');
    assert.equal(w.status().linked, 0);
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the watch hands the kernel the identities on update, again only when they change (a file replaced, a file created), and reports what it cannot resolve', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-idwatch-'));
  try {
    const f = join(dir, 'secret');
    const later = join(dir, 'later');
    writeFileSync(f, 'x');
    const yaml = HSP.replace('- path: /etc/shadow', `- path: ${f}\n      - path: ${later}`);
    const sent: Array<readonly WatchedIdentity[]> = [];
    const w = new IdentityWatch(async (ids) => { sent.push(ids); }, (err) => { throw err; }, 0);
    await w.update(compilePolicies(policies(yaml)));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.filter((i) => i.path.startsWith(dir)).map((i) => i.path), [f]);
    assert.ok(w.status().unresolved.includes(later));
    await w.refresh();
    assert.equal(sent.length, 1, 'nothing changed: nothing sent');
    // An editor's save: a new file renamed over the old one (a new inode), and the file created later.
    writeFileSync(`${f}.new`, 'y');
    renameSync(`${f}.new`, f);
    writeFileSync(later, 'z');
    await w.refresh();
    assert.equal(sent.length, 2);
    const now = sent[1]!.filter((i) => i.path.startsWith(dir));
    assert.deepEqual(now.map((i) => [i.path, i.ino]), [[later, statSync(later, { bigint: true }).ino], [f, statSync(f, { bigint: true }).ino]]);
    assert.ok(!w.status().unresolved.includes(later));
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an update the kernel refuses is counted and named, the same set is offered again at the next refresh, and its success clears the refusal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-idwatch-'));
  try {
    const f = join(dir, 'secret');
    writeFileSync(f, 'x');
    let refuse = true;
    const sent: Array<readonly WatchedIdentity[]> = [];
    const errors: unknown[] = [];
    const w = new IdentityWatch(async (ids) => {
      if (refuse) throw new Error('the kernel filter needs 2 watched identities, more than its capacity of 1');
      sent.push(ids);
    }, (err) => { errors.push(err); }, 0);
    await w.update(compilePolicies(policies(HSP.replace('- path: /etc/shadow', `- path: ${f}`))));
    assert.equal(errors.length, 1);
    assert.deepEqual([w.status().refused, w.status().error], [1, 'the kernel filter needs 2 watched identities, more than its capacity of 1']);
    refuse = false;
    await w.refresh();
    assert.equal(sent.length, 1, 'the refused set was not offered again');
    assert.ok(sent[0]!.some((i) => i.path === f));
    assert.deepEqual([w.status().refused, w.status().error], [1, null]);
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
