// The policies deploy/ ships must load in the agent, read the way the kubelet mounts a ConfigMap:
// each key is a symlink to ..data/<key>, ..data is a symlink to a timestamped folder.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { one, render, requireKubectl, root, type K8sObject } from './render.ts';

/** Writes a ConfigMap's data as the kubelet's atomic writer lays out a configMap volume. */
function mountLikeKubelet(data: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-policies-'));
  const stamp = '..2026_01_01_00_00_00.000000001';
  mkdirSync(join(dir, stamp));
  for (const [key, text] of Object.entries(data)) writeFileSync(join(dir, stamp, key), text);
  symlinkSync(stamp, join(dir, '..data'));
  for (const key of Object.keys(data)) symlinkSync(join('..data', key), join(dir, key));
  return dir;
}

let objs: K8sObject[];
before(() => { requireKubectl(); objs = render('deploy'); });

test('armorwatch validate accepts the mounted policies ConfigMap and reads each policy once', (t) => {
  const ds = one(objs, 'DaemonSet', 'armorwatch');
  const volume = (ds.spec.template.spec.volumes as K8sObject[]).find((v) => v.name === 'policies')!;
  const data = one(objs, 'ConfigMap', volume.configMap.name).data as Record<string, string>;
  const keys = Object.keys(data);
  assert.ok(keys.length > 0);
  const dir = mountLikeKubelet(data);
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const r = spawnSync(join(root, 'bin/armorwatch'), ['validate', dir], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `armorwatch validate failed:\n${r.stdout}${r.stderr}`);
  // One file per key: the ..data and timestamped copies are not read a second time.
  assert.match(r.stdout, new RegExp(`checked ${keys.length} files?, ${keys.length} documents?: 0 invalid`));
});

test('the shipped policy raises the seed scenario\'s alert, and only in its namespace', (t) => {
  const ds = one(objs, 'DaemonSet', 'armorwatch');
  const volume = (ds.spec.template.spec.volumes as K8sObject[]).find((v) => v.name === 'policies')!;
  const dir = mountLikeKubelet(one(objs, 'ConfigMap', volume.configMap.name).data as Record<string, string>);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The seed: `ls` in a shell of the wordpress pod, opening /etc/network/if-up.d.
  const decide = (namespace: string): unknown => {
    const r = spawnSync(join(root, 'bin/armorwatch'), ['test', '--policies', dir,
      '--namespace', namespace, '--labels', 'app=wordpress', '--container', 'wordpress',
      '--exe', '/bin/ls', '--parent-exe', '/bin/bash', '--syscall', 'openat',
      '--flags', 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC', '--path', '/etc/network/if-up.d'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `armorwatch test failed:\n${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const alert = decide('wordpress-mysql') as Record<string, unknown>;
  assert.ok(alert !== null, 'no alert for the seed scenario');
  assert.equal(alert.PolicyName, 'ksp-nist-ac-18-1-network-audit');
  assert.equal(alert.Severity, '3');
  assert.equal(alert.Action, 'Audit');
  assert.equal(alert.Message, 'Access to network files detected. Possible violation of NIST Controls');
  assert.equal(alert.Resource, '/etc/network/if-up.d');
  assert.equal(alert.Data, 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC');
  assert.equal(decide('default'), null, 'the policy is namespaced: other namespaces raise nothing');
});
