// Identity matching's user-space side: which rule targets are resolved, how stat's device becomes
// the kernel's, how a match is named, and that only host processes are matched by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicies } from '../../src/policy/engine.ts';
import { IdentityWatch, identityTargets, kernelDev, resolveIdentities } from '../../src/policy/identity.ts';
import type { WatchedIdentity } from '../../src/types.ts';
import { candidatePaths } from '../../src/policy/paths.ts';
import { identityPathOf } from '../../src/monitor/decode.ts';
import { alertFor, event, HOST, ksp, NODE, policies, WEB } from './helpers.ts';

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

test('host and identity paths are candidates for host processes only', () => {
  const ev = { absPath: '/x/inner', resolvedPath: '/x/inner', absPath2: null, hostPath: '/jail/x/inner', identityPath: '/etc/ssh/inner' };
  assert.deepEqual(candidatePaths(ev, [], true), ['/x/inner', '/jail/x/inner', '/etc/ssh/inner']);
  assert.deepEqual(candidatePaths(ev, [], false), ['/x/inner']);
});

test('the engine: a host policy matches by identity path; a container policy on the same path does not', () => {
  const read = event({ absPath: '/tmp/link', path: '/tmp/link', resolvedPath: '/tmp/link', hostPath: '/tmp/link', identityPath: '/etc/shadow' });
  const hostAlert = alertFor(HSP, read, HOST, NODE);
  assert.equal(hostAlert?.PolicyName, 'hsp-ids');
  assert.equal(hostAlert?.Resource, '/tmp/link', 'Resource stays the path the process used');
  const kspShadow = ksp('ksp-shadow', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow');
  assert.equal(alertFor(kspShadow, read, WEB, NODE), null, 'a container\'s /etc/shadow is not the host\'s');
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
    await w.update(compilePolicies(policies(yaml)).rules);
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
