// One row of docs/POLICY-SEMANTICS per case: the policy, the access, and the alert a user would see.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, FileEvent, NodeIdentity, Workload } from '../../src/types.ts';
import type { EngineOptions } from '../../src/policy/engine.ts';
import { alertFor, event, HOST, ksp, NODE, WEB, workload } from './helpers.ts';

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly ev?: Partial<FileEvent>;
  readonly w?: Workload;
  readonly node?: NodeIdentity;
  readonly opts?: EngineOptions;
  /** null: no alert. Otherwise the alert fields that must hold. */
  readonly expect: Partial<Alert> | null;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const alert = alertFor(c.yaml, event(c.ev), c.w ?? WEB, c.node ?? NODE, c.opts ?? {});
      if (c.expect === null) {
        assert.equal(alert, null, `expected no alert, got ${JSON.stringify(alert)}`);
        return;
      }
      assert.notEqual(alert, null, 'expected an alert');
      const picked = Object.fromEntries(Object.keys(c.expect).map((k) => [k, (alert as unknown as Record<string, unknown>)[k]]));
      assert.deepEqual(picked, c.expect);
    });
  }
}

const paths = ksp('p-paths', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow\n      - path: /proc/net/tcp');
const dirs = ksp('p-dirs', '  action: Audit\n  file:\n    matchDirectories:\n      - dir: /etc/ssh/');
const rdirs = ksp('p-rdirs', '  action: Audit\n  file:\n    matchDirectories:\n      - dir: /etc/ssh/\n        recursive: true');
const root = ksp('p-root', '  action: Audit\n  file:\n    matchDirectories:\n      - dir: /');
const pats = (p: string) => ksp('p-pat', `  action: Audit\n  file:\n    matchPatterns:\n      - pattern: "${p}"`);

describe('matchPaths', () => run([
  { name: 'the exact path alerts', yaml: paths, ev: { absPath: '/etc/shadow' }, expect: { PolicyName: 'p-paths', Resource: '/etc/shadow', Action: 'Audit' } },
  { name: 'another path does not', yaml: paths, ev: { absPath: '/etc/shadow-' }, expect: null },
  { name: 'a path below it does not', yaml: paths, ev: { absPath: '/etc/shadow/x' }, expect: null },
  { name: 'a prefix of it does not', yaml: paths, ev: { absPath: '/etc' }, expect: null },
]));

describe('matchDirectories', () => run([
  { name: 'the directory itself', yaml: dirs, ev: { absPath: '/etc/ssh' }, expect: { PolicyName: 'p-dirs' } },
  { name: 'an entry directly inside', yaml: dirs, ev: { absPath: '/etc/ssh/sshd_config' }, expect: { PolicyName: 'p-dirs' } },
  { name: 'deeper entries do not match without recursive', yaml: dirs, ev: { absPath: '/etc/ssh/ssh_config.d/x.conf' }, expect: null },
  { name: 'a sibling sharing the prefix does not', yaml: dirs, ev: { absPath: '/etc/sshx' }, expect: null },
  { name: 'the parent does not', yaml: dirs, ev: { absPath: '/etc' }, expect: null },
  { name: 'recursive: any depth', yaml: rdirs, ev: { absPath: '/etc/ssh/a/b/c/d' }, expect: { PolicyName: 'p-rdirs' } },
  { name: 'recursive: the directory itself', yaml: rdirs, ev: { absPath: '/etc/ssh' }, expect: { PolicyName: 'p-rdirs' } },
  { name: 'recursive: not a sibling sharing the prefix', yaml: rdirs, ev: { absPath: '/etc/ssh_keys/a' }, expect: null },
  { name: 'root directory: its entries', yaml: root, ev: { absPath: '/etc' }, expect: { PolicyName: 'p-root' } },
  { name: 'root directory: itself', yaml: root, ev: { absPath: '/' }, expect: { PolicyName: 'p-root' } },
  { name: 'root directory: not deeper', yaml: root, ev: { absPath: '/etc/passwd' }, expect: null },
]));

describe('matchPatterns', () => run([
  { name: '* within one segment', yaml: pats('/etc/*.conf'), ev: { absPath: '/etc/resolv.conf' }, expect: { PolicyName: 'p-pat' } },
  { name: '* does not cross /', yaml: pats('/etc/*.conf'), ev: { absPath: '/etc/a/resolv.conf' }, expect: null },
  { name: '? is one character', yaml: pats('/tmp/?.sh'), ev: { absPath: '/tmp/a.sh' }, expect: { PolicyName: 'p-pat' } },
  { name: '? is not two', yaml: pats('/tmp/?.sh'), ev: { absPath: '/tmp/ab.sh' }, expect: null },
  { name: '[...] class', yaml: pats('/dev/sd[a-c]'), ev: { absPath: '/dev/sdb' }, expect: { PolicyName: 'p-pat' } },
  { name: '[...] class excludes others', yaml: pats('/dev/sd[a-c]'), ev: { absPath: '/dev/sdd' }, expect: null },
  { name: '** spans segments (differs)', yaml: pats('/var/www/html/wp-content/uploads/**/*.php'), ev: { absPath: '/var/www/html/wp-content/uploads/2024/05/x.php' }, expect: { PolicyName: 'p-pat' } },
  { name: '/**/ also matches no segment (differs)', yaml: pats('/home/**/.bashrc'), ev: { absPath: '/home/.bashrc' }, expect: { PolicyName: 'p-pat' } },
  { name: '/home/**/.bashrc at depth', yaml: pats('/home/**/.bashrc'), ev: { absPath: '/home/a/b/.bashrc' }, expect: { PolicyName: 'p-pat' } },
  { name: 'a trailing ** matches everything below', yaml: pats('/opt/**'), ev: { absPath: '/opt/x/y/z' }, expect: { PolicyName: 'p-pat' } },
  {
    name: 'a pattern is matched against the accessed path only, not the process path (differs)',
    yaml: pats('/usr/bin/*'), ev: { absPath: '/etc/hostname', exePath: '/usr/bin/cat' }, expect: null,
  },
  { name: 'a pattern without glob characters is an exact path', yaml: pats('/etc/motd'), ev: { absPath: '/etc/motd' }, expect: { PolicyName: 'p-pat' } },
]));

const fromSource = ksp('p-src', '  action: Block\n  file:\n    matchPaths:\n      - path: /etc/shadow\n        fromSource:\n          - path: /usr/bin/passwd');
describe('fromSource', () => run([
  { name: 'the named executable alerts', yaml: fromSource, ev: { absPath: '/etc/shadow', exePath: '/usr/bin/passwd' }, expect: { PolicyName: 'p-src', Action: 'Audit (Block)' } },
  { name: 'a child of the named executable alerts (parent match)', yaml: fromSource, ev: { absPath: '/etc/shadow', exePath: '/bin/sh', parentExePath: '/usr/bin/passwd' }, expect: { PolicyName: 'p-src' } },
  { name: 'another executable does not', yaml: fromSource, ev: { absPath: '/etc/shadow', exePath: '/bin/cat' }, expect: null },
  { name: 'the path is still required', yaml: fromSource, ev: { absPath: '/etc/passwd', exePath: '/usr/bin/passwd' }, expect: null },
]));

const ro = ksp('p-ro', '  action: Audit\n  file:\n    matchDirectories:\n      - dir: /etc/\n        recursive: true\n        readOnly: true');
describe('readOnly', () => run([
  { name: 'reading is silent', yaml: ro, ev: { absPath: '/etc/hosts', flags: 0 }, expect: null },
  { name: 'O_WRONLY alerts', yaml: ro, ev: { absPath: '/etc/hosts', flags: 0o1 }, expect: { PolicyName: 'p-ro', Data: 'syscall=SYS_OPENAT fd=-100 flags=O_WRONLY' } },
  { name: 'O_RDWR alerts', yaml: ro, ev: { absPath: '/etc/hosts', flags: 0o2 }, expect: { PolicyName: 'p-ro' } },
  { name: 'O_CREAT alerts', yaml: ro, ev: { absPath: '/etc/new', flags: 0o100 }, expect: { PolicyName: 'p-ro' } },
  { name: 'O_TRUNC alerts', yaml: ro, ev: { absPath: '/etc/hosts', flags: 0o1000 }, expect: { PolicyName: 'p-ro' } },
  { name: 'O_APPEND alerts', yaml: ro, ev: { absPath: '/etc/hosts', flags: 0o2000 }, expect: { PolicyName: 'p-ro' } },
  { name: 'unlink alerts', yaml: ro, ev: { absPath: '/etc/hosts', syscall: 'unlinkat', flags: 0 }, expect: { Data: 'syscall=SYS_UNLINKAT fd=-100 flags=0' } },
  { name: 'rmdir alerts', yaml: ro, ev: { absPath: '/etc/x', syscall: 'unlinkat', flags: 0x200 }, expect: { Data: 'syscall=SYS_UNLINKAT fd=-100 flags=AT_REMOVEDIR' } },
  { name: 'rename alerts', yaml: ro, ev: { absPath: '/etc/hosts', syscall: 'rename', absPath2: '/tmp/h', path2: '/tmp/h' }, expect: { PolicyName: 'p-ro' } },
  { name: 'chmod alerts', yaml: ro, ev: { absPath: '/etc/hosts', syscall: 'fchmodat', mode: 0o777, flags: 0 }, expect: { PolicyName: 'p-ro' } },
  { name: 'chown alerts', yaml: ro, ev: { absPath: '/etc/hosts', syscall: 'fchownat', args: { uid: 0, gid: 0 }, flags: 0 }, expect: { Data: 'syscall=SYS_FCHOWNAT userid=0 group=0 mode=0' } },
  { name: 'truncate alerts', yaml: ro, ev: { absPath: '/etc/hosts', syscall: 'truncate', args: { length: 0 } }, expect: { PolicyName: 'p-ro' } },
]));

const owner = ksp('p-own', '  action: Block\n  file:\n    matchPaths:\n      - path: /home/u/.ssh/id_rsa\n        ownerOnly: true');
const both = ksp('p-both', '  action: Audit\n  file:\n    matchPaths:\n      - path: /data/f\n        ownerOnly: true\n        readOnly: true');
describe('ownerOnly', () => run([
  { name: 'the owner is silent', yaml: owner, ev: { absPath: '/home/u/.ssh/id_rsa', uid: 1000, ownerUid: 1000 }, expect: null },
  { name: 'another user alerts', yaml: owner, ev: { absPath: '/home/u/.ssh/id_rsa', uid: 0, ownerUid: 1000 }, expect: { PolicyName: 'p-own', Action: 'Audit (Block)' } },
  { name: 'both set: owner reading is silent', yaml: both, ev: { absPath: '/data/f', uid: 5, ownerUid: 5, flags: 0 }, expect: null },
  { name: 'both set: owner writing alerts', yaml: both, ev: { absPath: '/data/f', uid: 5, ownerUid: 5, flags: 1 }, expect: { PolicyName: 'p-both' } },
  { name: 'both set: another user reading alerts', yaml: both, ev: { absPath: '/data/f', uid: 6, ownerUid: 5, flags: 0 }, expect: { PolicyName: 'p-both' } },
]));

const inherit = ksp('p-inh', `  severity: 2
  tags: [spec-tag]
  message: from spec
  action: Audit
  file:
    severity: 5
    tags: [file-tag]
    matchPaths:
      - path: /a/rule
        severity: 9
        tags: [rule-tag, two]
        message: from rule
        action: Block
      - path: /a/file`);
const noAction = ksp('p-noact', '  file:\n    matchPaths:\n      - path: /a/x');
describe('severity, tags, message and action inheritance', () => run([
  { name: 'the rule\'s own values win', yaml: inherit, ev: { absPath: '/a/rule' }, expect: { Severity: '9', Tags: 'rule-tag,two', ATags: ['rule-tag', 'two'], Message: 'from rule', Action: 'Audit (Block)' } },
  { name: 'then the file section\'s, then the spec\'s', yaml: inherit, ev: { absPath: '/a/file' }, expect: { Severity: '5', Tags: 'file-tag', ATags: ['file-tag'], Message: 'from spec', Action: 'Audit' } },
  { name: 'no action anywhere: Block', yaml: noAction, ev: { absPath: '/a/x' }, expect: { Action: 'Audit (Block)', Severity: '1' } },
]));

const allow = ksp('p-allow', '  action: Allow\n  file:\n    matchDirectories:\n      - dir: /app/\n        recursive: true\n    matchPaths:\n      - path: /etc/app.conf\n        readOnly: true');
const allowFrom = ksp('p-allow-src', '  action: Allow\n  file:\n    matchPaths:\n      - path: /etc/hostname\n        fromSource:\n          - path: /bin/cat');
describe('Allow and the default posture', () => run([
  { name: 'an allowed access is silent', yaml: allow, ev: { absPath: '/app/x/y' }, expect: null },
  { name: 'any other access alerts as DefaultPosture (audit by default)', yaml: allow, ev: { absPath: '/etc/passwd' }, expect: { PolicyName: 'DefaultPosture', Action: 'Audit', PolicyKind: 'DefaultPosture', Type: 'MatchedPolicy' } },
  { name: 'namespace annotation block', yaml: allow, ev: { absPath: '/etc/passwd' }, w: workload({ namespaceFilePosture: 'block' }), expect: { PolicyName: 'DefaultPosture', Action: 'Audit (Block)' } },
  { name: 'agent default block', yaml: allow, ev: { absPath: '/etc/passwd' }, opts: { defaultFilePosture: 'block' }, expect: { Action: 'Audit (Block)' } },
  { name: 'the annotation wins over the agent default', yaml: allow, ev: { absPath: '/etc/passwd' }, w: workload({ namespaceFilePosture: 'audit' }), opts: { defaultFilePosture: 'block' }, expect: { Action: 'Audit' } },
  { name: 'Allow + readOnly: reading allowed', yaml: allow, ev: { absPath: '/etc/app.conf', flags: 0 }, expect: null },
  { name: 'Allow + readOnly: writing falls to the default posture', yaml: allow, ev: { absPath: '/etc/app.conf', flags: 1 }, expect: { PolicyName: 'DefaultPosture' } },
  { name: 'workloads the policy does not select are not in allow-list mode', yaml: allow, ev: { absPath: '/etc/passwd' }, w: workload({ labels: { app: 'db' } }), expect: null },
  { name: 'Allow with fromSource: the allowed access is silent', yaml: allowFrom, ev: { absPath: '/etc/hostname', exePath: '/bin/cat' }, expect: null },
  { name: 'Allow with fromSource: that executable elsewhere alerts', yaml: allowFrom, ev: { absPath: '/etc/shadow', exePath: '/bin/cat' }, expect: { PolicyName: 'DefaultPosture' } },
  { name: 'Allow with fromSource: the whole workload is in allow-list mode (as in KubeArmor)', yaml: allowFrom, ev: { absPath: '/etc/shadow', exePath: '/bin/ls' }, expect: { PolicyName: 'DefaultPosture' } },
  { name: 'Allow with fromSource: another executable on the allowed path alerts', yaml: allowFrom, ev: { absPath: '/etc/hostname', exePath: '/bin/ls' }, expect: { PolicyName: 'DefaultPosture' } },
]));

const many = [
  ksp('b-audit-9', '  action: Audit\n  severity: 9\n  file:\n    matchPaths:\n      - path: /etc/shadow'),
  ksp('c-block-2', '  action: Block\n  severity: 2\n  file:\n    matchDirectories:\n      - dir: /etc/'),
  ksp('a-block-2', '  action: Block\n  severity: 2\n  file:\n    matchPatterns:\n      - pattern: /etc/sha*'),
  ksp('d-block-7', '  action: Block\n  severity: 7\n  file:\n    matchPaths:\n      - path: /etc/gshadow'),
].join('');
const order = ksp('same', '  action: Audit\n  file:\n    matchPaths:\n      - path: /x/y\n        message: first\n    matchDirectories:\n      - dir: /x/\n        message: second');
describe('several matching rules → one alert (differs: the others are listed)', () => run([
  { name: 'Block before Audit even at lower severity; then policy name', yaml: many, ev: { absPath: '/etc/shadow' }, expect: { PolicyName: 'a-block-2', Action: 'Audit (Block)', OtherPolicies: ['b-audit-9', 'c-block-2'] } },
  { name: 'higher severity among Blocks', yaml: many, ev: { absPath: '/etc/gshadow' }, expect: { PolicyName: 'd-block-7', OtherPolicies: ['c-block-2'] } },
  { name: 'rule order within one policy', yaml: order, ev: { absPath: '/x/y' }, expect: { PolicyName: 'same', Message: 'first' } },
  { name: 'a single match lists no others', yaml: many, ev: { absPath: '/etc/hosts' }, expect: { PolicyName: 'c-block-2', OtherPolicies: undefined } },
]));

describe('which path is matched (differs)', () => run([
  { name: 'the resolved path of a symlink', yaml: paths, ev: { absPath: '/tmp/link', resolvedPath: '/etc/shadow' }, expect: { PolicyName: 'p-paths', Resource: '/tmp/link', ResolvedResource: '/etc/shadow' } },
  { name: 'the requested path when the call failed', yaml: paths, ev: { absPath: '/etc/shadow', resolvedPath: null, ret: -2 }, expect: { Resource: '/etc/shadow', Result: 'No such file or directory', ResolvedResource: undefined } },
  { name: 'a relative path made absolute by the monitor (cd /etc && cat shadow)', yaml: paths, ev: { path: 'shadow', cwd: '/etc', absPath: '/etc/shadow' }, expect: { Resource: '/etc/shadow', Cwd: '/etc' } },
  { name: '/proc/self/ spelling', yaml: paths, ev: { absPath: '/proc/self/net/tcp', resolvedPath: '/proc/4242/net/tcp' }, expect: { PolicyName: 'p-paths', Resource: '/proc/self/net/tcp' } },
  { name: '/proc/<pid>/ spelling', yaml: paths, ev: { absPath: '/proc/1/net/tcp', resolvedPath: '/proc/1/net/tcp' }, expect: { PolicyName: 'p-paths' } },
  { name: '/proc/thread-self/ spelling', yaml: paths, ev: { absPath: '/proc/thread-self/net/tcp', resolvedPath: null, ret: -13 }, expect: { PolicyName: 'p-paths', Result: 'Permission denied' } },
  { name: 'rename: the destination is matched too', yaml: paths, ev: { absPath: '/tmp/evil', resolvedPath: null, syscall: 'rename', path2: '/etc/shadow', absPath2: '/etc/shadow' }, expect: { PolicyName: 'p-paths', Data: 'syscall=SYS_RENAME newpath=/etc/shadow' } },
]));

const exprs = ksp('p-expr', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow', {
  selector: '    matchExpressions:\n      - key: label\n        operator: In\n        values: [app=web, app=api]\n      - key: label\n        operator: NotIn\n        values: [tier=back]',
});
const cname = ksp('p-cname', '  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow', {
  selector: '    matchLabels:\n      app: web\n      kubearmor.io/container.name: "[web, sidecar]"',
});
const cluster = (exprYaml: string) => `apiVersion: security.kubearmor.com/v1
kind: KubeArmorClusterPolicy
metadata:
  name: csp
spec:
  selector:
    matchExpressions:
${exprYaml}
  action: Audit
  file:
    matchPaths:
      - path: /etc/shadow
`;
const hsp = (nodeSel: string) => `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp
spec:
  nodeSelector:
${nodeSel}
  action: Audit
  file:
    matchPaths:
      - path: /etc/shadow
`;
const shadow = { absPath: '/etc/shadow' };
describe('selectors', () => run([
  { name: 'KubeArmorPolicy: another namespace', yaml: paths, ev: shadow, w: workload({ namespace: 'other' }), expect: null },
  { name: 'KubeArmorPolicy: a label missing', yaml: paths, ev: shadow, w: workload({ labels: { tier: 'front' } }), expect: null },
  { name: 'KubeArmorPolicy: extra labels are fine; Labels sorted', yaml: paths, ev: shadow, expect: { PolicyName: 'p-paths', Labels: 'app=web,tier=front', NamespaceName: 'shop', PodName: 'web-1', Owner: { Ref: 'Deployment', Name: 'web', Namespace: 'shop' } } },
  { name: 'KubeArmorPolicy: host processes are not selected', yaml: paths, ev: shadow, w: HOST, expect: null },
  { name: 'matchExpressions In holds, NotIn holds', yaml: exprs, ev: shadow, w: workload({ labels: { app: 'api', tier: 'front' } }), expect: { PolicyName: 'p-expr' } },
  { name: 'matchExpressions In fails', yaml: exprs, ev: shadow, w: workload({ labels: { app: 'db' } }), expect: null },
  { name: 'matchExpressions NotIn fails', yaml: exprs, ev: shadow, w: workload({ labels: { app: 'web', tier: 'back' } }), expect: null },
  { name: 'container.name narrows to listed containers', yaml: cname, ev: shadow, w: workload({ containerName: 'sidecar' }), expect: { PolicyName: 'p-cname', ContainerName: 'sidecar' } },
  { name: 'container.name excludes others', yaml: cname, ev: shadow, w: workload({ containerName: 'init' }), expect: null },
  { name: 'ClusterPolicy: namespace In', yaml: cluster('      - key: namespace\n        operator: In\n        values: [shop]'), ev: shadow, expect: { PolicyName: 'csp', PolicyKind: 'KubeArmorClusterPolicy' } },
  { name: 'ClusterPolicy: namespace not In', yaml: cluster('      - key: namespace\n        operator: In\n        values: [bank]'), ev: shadow, expect: null },
  { name: 'ClusterPolicy: NotIn only applies everywhere else', yaml: cluster('      - key: namespace\n        operator: NotIn\n        values: [kube-system]'), ev: shadow, expect: { PolicyName: 'csp' } },
  { name: 'ClusterPolicy: NotIn excludes', yaml: cluster('      - key: namespace\n        operator: NotIn\n        values: [shop]'), ev: shadow, expect: null },
  { name: 'ClusterPolicy: label and namespace together', yaml: cluster('      - key: namespace\n        operator: In\n        values: [shop]\n      - key: label\n        operator: In\n        values: [app=db]'), ev: shadow, expect: null },
  { name: 'HostPolicy: hostname *', yaml: hsp('    matchLabels:\n      kubearmor.io/hostname: "*"'), ev: shadow, w: HOST, expect: { PolicyName: 'hsp', Type: 'MatchedHostPolicy', PolicyKind: 'KubeArmorHostPolicy', NamespaceName: undefined } },
  { name: 'HostPolicy: hostname list', yaml: hsp('    matchLabels:\n      kubearmor.io/hostname: "node-b,node-a"'), ev: shadow, w: HOST, expect: { PolicyName: 'hsp' } },
  { name: 'HostPolicy: another host', yaml: hsp('    matchLabels:\n      kubearmor.io/hostname: node-b'), ev: shadow, w: HOST, expect: null },
  { name: 'HostPolicy: other node labels', yaml: hsp('    matchLabels:\n      zone: z1'), ev: shadow, w: HOST, expect: { PolicyName: 'hsp' } },
  { name: 'HostPolicy: empty nodeSelector matches no node', yaml: hsp('    matchLabels: {}'), ev: shadow, w: HOST, expect: null },
  { name: 'HostPolicy: containers are not selected', yaml: hsp('    matchLabels:\n      kubearmor.io/hostname: "*"'), ev: shadow, w: WEB, expect: null },
]));

test('a KubeArmorPolicy without namespace applies to the default namespace', () => {
  const yaml = 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: nons\nspec:\n  action: Audit\n  file:\n    matchPaths:\n      - path: /etc/shadow\n';
  assert.equal(alertFor(yaml, event(shadow), workload({ namespace: 'default' }))?.PolicyName, 'nons');
  assert.equal(alertFor(yaml, event(shadow), workload({ namespace: 'shop' })), null);
});

test('alert fields for the seed-like access, including time fields', () => {
  const a = alertFor(paths, event({ absPath: '/etc/shadow', flags: 0x98800 }));
  assert.ok(a);
  assert.equal(a.Timestamp, 1_764_350_978);
  assert.equal(a.UpdatedTime, '2025-11-28T17:29:38.123456789Z');
  assert.equal(a.TimestampNs, '1764350978123456789');
  assert.equal(a.Operation, 'File');
  assert.equal(a.Enforcer, 'eBPF Monitor');
  assert.equal(a.Source, '/bin/cat');
  assert.equal(a.ProcessName, '/bin/cat');
  assert.equal(a.ParentProcessName, '/bin/bash');
  assert.equal(a.HostPID, 1275441);
  assert.equal(a.PID, 342);
  assert.equal(a.Syscall, 'SYS_OPENAT');
  assert.equal(a.Flags, 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC');
  assert.equal(a.Dirfd, -100);
  assert.equal(a.ContainerID, 'c'.repeat(64));
  assert.equal(a.ContainerImage, 'nginx:1.27');
});

test('selections are cached per workload object until clearWorkloadCache()', async () => {
  const { compilePolicies } = await import('../../src/policy/engine.ts');
  const { policies } = await import('./helpers.ts');
  const engine = compilePolicies(policies(paths));
  const labels: Record<string, string> = { app: 'web' };
  const w: Workload = { kind: 'container', namespace: 'shop', labels };
  const input = { event: event({ absPath: '/etc/shadow' }), workload: w };
  assert.equal(engine.decide(input, NODE)?.policyName, 'p-paths');
  labels.app = 'db'; // an enricher updating a workload in place
  assert.equal(engine.decide(input, NODE)?.policyName, 'p-paths');
  engine.clearWorkloadCache();
  assert.equal(engine.decide(input, NODE), null);
});
