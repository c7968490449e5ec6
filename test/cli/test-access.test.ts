// `armorwatch test`: the seed's policy and access give the seed's Expected Alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../policy/shared-dir.ts';
import { SEED_ALERT } from '../export/fixtures.ts';

const SEED_POLICIES = join(REPO_ROOT, 'test/fixtures/seed');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'test', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const seedAccess = [
  '--policies', SEED_POLICIES, '--path', 'if-up.d', '--cwd', '/etc/network', '--exe', '/bin/ls', '--parent-exe', '/bin/bash',
  '--namespace', 'wordpress-mysql', '--labels', 'app=wordpress', '--container', 'wordpress',
  '--flags', 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC',
];

test('the seed scenario yields the seed\'s Expected Alert', () => {
  const r = run(seedAccess);
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout) as Record<string, unknown>;
  // The seed's Expected Alert, as transcribed once for every test (test/export/fixtures.ts);
  // host-specific fields (pids, host name, container id, time) are not this offline command's.
  const keys = ['PolicyName', 'Severity', 'Tags', 'ATags', 'Message', 'Type', 'Source', 'Resource', 'Operation', 'Action',
    'Data', 'Enforcer', 'Result', 'NamespaceName', 'Labels', 'ContainerName', 'ProcessName', 'ParentProcessName', 'ClusterName'] as const;
  const pick = (o: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  assert.deepEqual(pick(a), pick(SEED_ALERT as unknown as Record<string, unknown>));
});

test('no alert prints null; failed calls carry the error text', () => {
  const other = run(['--policies', SEED_POLICIES, '--path', '/etc/network', '--namespace', 'wordpress-mysql', '--labels', 'app=wordpress']);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, 'null\n');
  const wrongPod = run([...seedAccess.filter((x) => x !== 'app=wordpress' && x !== '--labels'), '--labels', 'app=mysql']);
  assert.equal(wrongPod.stdout, 'null\n');
  const failed = run([...seedAccess, '--result', 'EACCES', '--path', '/proc/self/net/tcp']);
  const a = JSON.parse(failed.stdout) as Record<string, unknown>;
  assert.equal(a.Result, 'Permission denied');
  assert.equal(a.Resource, '/proc/self/net/tcp');
});

test('host processes and host policies', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hsp.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: hsp-shadow\nspec:\n  nodeSelector:\n    matchLabels:\n      kubearmor.io/hostname: node-a\n  action: Block\n  file:\n    matchPaths:\n      - path: /etc/shadow\n');
  const hit = run(['--policies', dir, '--host', '--hostname', 'node-a', '--path', '/etc/shadow', '--exe', '/usr/bin/cat', '--syscall', 'open', '--flags', 'O_RDONLY']);
  const a = JSON.parse(hit.stdout) as Record<string, unknown>;
  assert.equal(a.Type, 'MatchedHostPolicy');
  assert.equal(a.Action, 'Audit (Block)');
  assert.equal(a.Data, 'syscall=SYS_OPEN flags=O_RDONLY');
  assert.equal(a.HostName, 'node-a');
  const miss = run(['--policies', dir, '--host', '--hostname', 'node-b', '--path', '/etc/shadow']);
  assert.equal(miss.stdout, 'null\n');
});

test('invalid policies exit 1 with the problems on stderr; usage errors exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: bad\nspec:\n  action: audit\n');
  const bad = run(['--policies', dir, '--path', '/x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.yaml:6:11: spec\.action: must be one of Allow\|Audit\|Block \(got "audit"\)/);
  assert.equal(bad.stdout, '');
  for (const args of [
    ['--path', '/x'],
    ['--policies', SEED_POLICIES],
    ['--policies', SEED_POLICIES, '--path', 'relative', '--cwd', 'also-relative'],
    ['--policies', SEED_POLICIES, '--path', '/x', '--flags', 'O_NOPE'],
    ['--policies', SEED_POLICIES, '--path', '/x', '--result', 'ENOTANERRNO'],
    ['--policies', SEED_POLICIES, '--path', '/x', '--syscall', 'execve'],
    ['--policies', SEED_POLICIES, '--path', '/x', '--labels', 'novalue'],
    ['--policies', SEED_POLICIES, '--path', '/x', '--bogus'],
    ['--policies', '/nonexistent', '--path', '/x'],
  ]) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^armorwatch: test: /);
  }
  assert.equal(run(['--help']).code, 0);
});

test('network calls: protocol rules, allow-list mode with the network posture, host policies, usage errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-test-net-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ksp = (name: string, body: string) => `apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: web\n${body}`;
  writeFileSync(join(dir, 'allow.yaml'), ksp('ksp-allow-wget', '  network:\n    matchProtocols:\n      - protocol: tcp\n        fromSource:\n          - path: /usr/bin/wget\n  action: Allow\n'));
  writeFileSync(join(dir, 'icmp.yaml'), ksp('ksp-icmp', '  severity: 8\n  network:\n    matchProtocols:\n      - protocol: ICMP\n  action: Audit\n'));
  writeFileSync(join(dir, 'hsp.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: hsp-raw\nspec:\n  nodeSelector:\n    matchLabels:\n      kubearmor.io/hostname: node-a\n  network:\n    matchProtocols:\n      - protocol: raw\n        fromSource:\n          - path: /usr/bin/tcpdump\n  action: Block\n');
  const pod = ['--policies', dir, '--kind', 'network', '--namespace', 'shop', '--labels', 'app=web'];
  const alert = (args: string[]): Record<string, unknown> | null => {
    const r = run([...pod, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown> | null;
  };
  assert.equal(alert(['--syscall', 'connect', '--remote', '10.0.0.7:80', '--exe', '/usr/bin/wget']), null, 'the allowed program');
  const curl = alert(['--syscall', 'connect', '--remote', '10.0.0.7:80', '--exe', '/usr/bin/curl', '--fd', '5', '--result', 'ECONNREFUSED']);
  assert.deepEqual([curl?.PolicyName, curl?.Action, curl?.Operation, curl?.Resource, curl?.Data, curl?.Result],
    ['DefaultPosture', 'Audit', 'Network', 'remoteip=10.0.0.7 port=80 protocol=TCP', 'syscall=SYS_CONNECT fd=5', 'Connection refused']);
  assert.equal(alert(['--syscall', 'connect', '--remote', '10.0.0.7:80', '--exe', '/usr/bin/curl', '--default-network-posture', 'block'])?.Action, 'Audit (Block)');
  assert.equal(alert(['--syscall', 'connect', '--remote', '10.0.0.7:80', '--exe', '/usr/bin/curl', '--default-posture', 'block'])?.Action, 'Audit', 'the file posture is not the network one');
  const dns = alert(['--protocol', 'udp', '--syscall', 'connect', '--remote', '[2001:db8::53]:53', '--exe', '/usr/bin/wget']);
  assert.deepEqual([dns?.PolicyName, dns?.Resource], ['DefaultPosture', 'remoteip=2001:db8::53 port=53 protocol=UDP']);
  assert.equal(alert(['--protocol', 'tcp', '--domain', 'unix', '--syscall', 'connect', '--remote', '/run/nscd/socket', '--exe', '/usr/bin/curl']), null, 'a unix socket is no network access');
  const ping = alert(['--protocol', 'icmp', '--type', 'dgram', '--exe', '/usr/bin/ping', '--tty', 'pts0']);
  assert.deepEqual([ping?.PolicyName, ping?.Severity, ping?.Resource, ping?.Data, ping?.TTY], ['ksp-icmp', '8', 'domain=AF_INET type=SOCK_DGRAM protocol=ICMP', 'syscall=SYS_SOCKET', 'pts0']);
  const bind = alert(['--protocol', 'tcp', '--syscall', 'bind', '--local', '0.0.0.0:8080', '--exe', '/usr/bin/wget']);
  assert.equal(bind, null, 'bind on an allowed TCP socket');
  const host = run(['--policies', dir, '--kind', 'network', '--host', '--hostname', 'node-a', '--protocol', '3', '--domain', 'packet', '--type', 'raw', '--exe', '/usr/bin/tcpdump']);
  const h = JSON.parse(host.stdout) as Record<string, unknown>;
  assert.deepEqual([h.PolicyName, h.Type, h.Action, h.Resource], ['hsp-raw', 'MatchedHostPolicy', 'Audit (Block)', 'domain=AF_PACKET type=SOCK_RAW protocol=3']);
  for (const args of [
    ['--path', '/x'],
    ['--protocol', 'carrier-pigeon'],
    ['--syscall', 'openat'],
    ['--syscall', 'listen', '--remote', '10.0.0.7:80'],
    ['--syscall', 'connect', '--remote', '10.0.0.7'],
    ['--syscall', 'connect', '--remote', '10.0.0.7:70000'],
    ['--domain', 'AF_NOPE'],
    ['--flags', 'O_RDONLY'],
    ['--default-network-posture', 'deny'],
  ]) {
    const r = run([...pod, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^armorwatch: test: /);
  }
  assert.equal(run(['--policies', dir, '--path', '/x', '--remote', '10.0.0.7:80']).code, 2, '--remote is for --kind network');
});

test('--kind syscall judges a network call by the syscall rules', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-test-sysnet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sys.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: ksp-bind\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: web\n  syscalls:\n    matchSyscalls:\n      - syscall: [bind]\n');
  const sys = ['--policies', dir, '--kind', 'syscall', '--namespace', 'shop', '--labels', 'app=web', '--exe', '/usr/sbin/nginx'];
  const r = run([...sys, '--syscall', 'bind', '--local', '0.0.0.0:8080']);
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual([a.PolicyName, a.Operation, a.Syscall, a.Action], ['ksp-bind', 'Syscall', 'SYS_BIND', 'Audit']);
  assert.equal(JSON.parse(run([...sys, '--syscall', 'listen', '--local', '0.0.0.0:8080']).stdout), null, 'listen is not listed');
  assert.equal(run([...sys, '--syscall', 'bind', '--path', '/x']).code, 2, 'a network call has no --path');
  assert.equal(run([...sys, '--syscall', 'ptrace']).code, 2, 'not a call armorwatch observes');
});
