// Process rules, syscall rules and the two refinements (an Allow naming the process's own
// executable wins; pts) on synthetic events, as POLICY-SEMANTICS.md states them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compilePolicies } from '../../src/policy/engine.ts';
import { alertFor, event, execEvent, HOST, ksp, NODE, policies, syscallAlertFor, WEB, workload } from './helpers.ts';

const apt = ksp('ksp-apt', `  process:
    matchPaths:
      - execname: apt
    severity: 5
    tags: [MITRE, T1072]
    message: package manager
  action: Block`);

test('an execname rule matches the base name wherever it lies; the alert is KubeArmor\'s process alert', () => {
  const a = alertFor(apt, execEvent({ absPath: '/usr/local/bin/apt', resolvedPath: '/usr/local/bin/apt', argv: ['apt', 'update', '-y'] }));
  assert.ok(a);
  assert.equal(a.Operation, 'Process');
  assert.equal(a.Resource, '/usr/local/bin/apt update -y');
  assert.equal(a.ProcessName, '/usr/local/bin/apt');
  assert.equal(a.Source, '/bin/bash');
  assert.equal(a.Data, 'syscall=SYS_EXECVE');
  assert.equal(a.TTY, 'pts0');
  assert.equal(a.Action, 'Audit (Block)');
  assert.equal(a.Severity, '5', 'severity from the process section');
  assert.deepEqual(a.ATags, ['MITRE', 'T1072']);
  assert.equal(a.Message, 'package manager');
  assert.equal(alertFor(apt, execEvent({ absPath: '/usr/bin/apt-get', argv: ['apt-get'] })), null, 'apt-get is another name');
  assert.equal(alertFor(apt, event({ absPath: '/usr/bin/apt' })), null, 'opening the file is no execution');
});

test('a path rule matches the requested or the resolved path (merged /usr); a failed exec reports its error', () => {
  const y = ksp('ksp-bash', '  process:\n    matchPaths:\n      - path: /usr/bin/bash\n  action: Audit');
  const viaLink = alertFor(y, execEvent({ absPath: '/bin/bash', resolvedPath: '/usr/bin/bash', argv: ['bash'] }));
  assert.ok(viaLink);
  assert.equal(viaLink.Resource, '/bin/bash');
  assert.equal(viaLink.ResolvedResource, '/usr/bin/bash');
  const failed = alertFor(y, execEvent({ absPath: '/usr/bin/bash', resolvedPath: null, ret: -13, argv: ['bash'] }));
  assert.equal(failed?.Result, 'Permission denied');
  assert.equal(alertFor(y, execEvent({ absPath: '/bin/sh', resolvedPath: '/bin/dash', argv: ['sh'] })), null);
  const at = alertFor(y, execEvent({ absPath: '/usr/bin/bash', syscall: 'execveat', dirfd: 5, argv: ['bash'] }));
  assert.equal(at?.Data, 'syscall=SYS_EXECVEAT');
});

test('directories (direct or recursive) and patterns', () => {
  const y = ksp('ksp-dirs', `  process:
    matchDirectories:
      - dir: /tmp/
      - dir: /opt/
        recursive: true
    matchPatterns:
      - pattern: /home/*/bin/*
  action: Audit`);
  const hit = (absPath: string): boolean => alertFor(y, execEvent({ absPath, resolvedPath: absPath })) !== null;
  assert.ok(hit('/tmp/x'));
  assert.ok(!hit('/tmp/a/x'), 'not recursive');
  assert.ok(hit('/opt/a/b/c'));
  assert.ok(hit('/home/u/bin/tool'));
  assert.ok(!hit('/home/u/lib/tool'));
  assert.ok(!hit('/usr/bin/ls'));
});

test('fromSource: the caller or the new program; ownerOnly: the owner of the executed file', () => {
  const y = ksp('ksp-src', `  process:
    matchPaths:
      - path: /usr/bin/curl
        fromSource:
          - path: /usr/bin/python3
      - path: /usr/local/bin/tool
        ownerOnly: true
  action: Audit`);
  const curl = (caller: string) => alertFor(y, execEvent({ absPath: '/usr/bin/curl', callerExePath: caller, argv: ['curl'] }));
  assert.ok(curl('/usr/bin/python3'));
  assert.equal(curl('/bin/bash'), null);
  const tool = (uid: number, ownerUid: number | null) => alertFor(y, execEvent({ absPath: '/usr/local/bin/tool', uid, ownerUid, argv: ['tool'] }));
  assert.ok(tool(1000, 0), 'uid 1000 runs root\'s file');
  assert.equal(tool(0, 0), null);
  assert.equal(tool(1000, null), null, 'owner unknown: no violation can be shown');
});

test('Allow-list mode: allowedArgs, the default posture (the file posture), and file and process modes kept apart', () => {
  const y = ksp('ksp-allow', `  process:
    matchPaths:
      - path: /usr/bin/git
        allowedArgs: [status, log]
      - path: /bin/ls
  action: Allow`);
  assert.equal(alertFor(y, execEvent({ absPath: '/usr/bin/git', argv: ['git', 'status'] })), null);
  assert.equal(alertFor(y, execEvent({ absPath: '/bin/ls', argv: ['ls', '-la'] })), null, 'no allowedArgs: any arguments');
  const refused = alertFor(y, execEvent({ absPath: '/usr/bin/git', argv: ['git', 'push'] }));
  assert.equal(refused?.PolicyName, 'DefaultPosture');
  assert.equal(refused?.Action, 'Audit');
  assert.equal(refused?.Operation, 'Process');
  const cut = alertFor(y, execEvent({ absPath: '/usr/bin/git', argv: ['git', 'status'], argvTruncated: true }));
  assert.equal(cut?.PolicyName, 'DefaultPosture', 'arguments that were cut cannot be shown to be allowed');
  const other = alertFor(y, execEvent({ absPath: '/usr/bin/wget', argv: ['wget'] }), workload({ namespaceFilePosture: 'block' }));
  assert.equal(other?.Action, 'Audit (Block)', 'the namespace file posture is the process default');
  assert.equal(alertFor(y, event({ absPath: '/etc/passwd' })), null, 'a process Allow puts no file access in allow-list mode');
  const fileAllow = ksp('ksp-fallow', '  file:\n    matchPaths:\n      - path: /etc/hostname\n  action: Allow');
  assert.equal(alertFor(fileAllow, execEvent()), null, 'a file Allow puts no execution in allow-list mode');
  assert.equal(alertFor(y, execEvent({ absPath: '/usr/bin/wget', argv: ['wget'] }), HOST), null, 'the host is not selected');
});

test('allowedArgs on Audit/Block: only executions with other arguments alert', () => {
  const y = ksp('ksp-args', '  process:\n    matchPaths:\n      - path: /usr/bin/git\n        allowedArgs: [status]\n  action: Audit');
  assert.equal(alertFor(y, execEvent({ absPath: '/usr/bin/git', argv: ['git', 'status'] })), null);
  assert.ok(alertFor(y, execEvent({ absPath: '/usr/bin/git', argv: ['git', 'push'] })));
});

test('an Allow whose fromSource names the process\'s own executable wins over a rule without fromSource (file and process)', () => {
  const token = '/run/secrets/kubernetes.io/serviceaccount/token';
  const y = ksp('ksp-token', `  file:
    matchPaths:
      - path: ${token}
        action: Block
      - path: ${token}
        fromSource:
          - path: /bin/cat
        action: Allow`);
  assert.equal(alertFor(y, event({ absPath: token, exePath: '/bin/cat' })), null, 'cat is allowed');
  assert.equal(alertFor(y, event({ absPath: token, exePath: '/bin/sh', parentExePath: '/bin/cat' }))?.Action, 'Audit (Block)', 'the parent being cat is not the process itself');
  assert.equal(alertFor(y, event({ absPath: token, exePath: '/usr/bin/head' }))?.Action, 'Audit (Block)');
  // A rule that also names the process's executable keeps its place against the Allow.
  const both = `${y}${ksp('ksp-token-audit', `  file:\n    matchPaths:\n      - path: ${token}\n        fromSource:\n          - path: /bin/cat\n  action: Audit`)}`;
  assert.equal(alertFor(both, event({ absPath: token, exePath: '/bin/cat' }))?.PolicyName, 'ksp-token-audit');

  const p = ksp('ksp-curl', `  process:
    matchPaths:
      - path: /usr/bin/curl
        action: Block
      - path: /usr/bin/curl
        fromSource:
          - path: /usr/bin/python3
        action: Allow`);
  assert.equal(alertFor(p, execEvent({ absPath: '/usr/bin/curl', callerExePath: '/usr/bin/python3', argv: ['curl'] })), null);
  assert.ok(alertFor(p, execEvent({ absPath: '/usr/bin/curl', callerExePath: '/bin/bash', argv: ['curl'] })));
});

test('pts: false applies only to processes with a terminal; pts: true or absent to every process (file and process rules)', () => {
  const y = ksp('ksp-pts', `  process:
    matchPaths:
      - execname: apt
        pts: false
  file:
    matchPaths:
      - path: /etc/shadow
        pts: false
      - path: /etc/gshadow
        pts: true
  action: Audit`);
  assert.ok(alertFor(y, execEvent({ tty: 'pts0' })));
  assert.equal(alertFor(y, execEvent({ tty: null })), null);
  assert.ok(alertFor(y, event({ absPath: '/etc/shadow', tty: 'pts1' })));
  assert.equal(alertFor(y, event({ absPath: '/etc/shadow', tty: null })), null);
  assert.ok(alertFor(y, event({ absPath: '/etc/gshadow', tty: null })));
  assert.equal(alertFor(y, event({ absPath: '/etc/shadow', tty: 'pts1' }))?.TTY, 'pts1', 'the alert carries the terminal');
});

test('rule fields fall back to the section, then the spec (severity, tags, message, action)', () => {
  const y = ksp('ksp-inherit', `  severity: 7
  tags: [spec-tag]
  message: from spec
  process:
    message: from section
    matchPaths:
      - path: /bin/a
      - path: /bin/b
        severity: 2
        action: Audit`);
  const a = alertFor(y, execEvent({ absPath: '/bin/a', argv: ['a'] }));
  assert.deepEqual([a?.Severity, a?.ATags, a?.Message, a?.Action], ['7', ['spec-tag'], 'from section', 'Audit (Block)']);
  const b = alertFor(y, execEvent({ absPath: '/bin/b', argv: ['b'] }));
  assert.deepEqual([b?.Severity, b?.Action], ['2', 'Audit']);
});

const sys = ksp('ksp-sys', `  severity: 4
  syscalls:
    matchSyscalls:
      - syscall: [unlink, unlinkat, ptrace]
        fromSource:
          - dir: /usr/bin/
    matchPaths:
      - syscall: [chmod, fchmodat]
        path: /etc/
        recursive: true`);

test('syscall rules: listed calls (narrowed by fromSource directory), and calls on a path; Operation Syscall, Audit only', () => {
  const rm = syscallAlertFor(sys, event({ syscall: 'unlinkat', absPath: '/tmp/x', exePath: '/usr/bin/rm', flags: 0 }));
  assert.ok(rm);
  assert.equal(rm.Operation, 'Syscall');
  assert.equal(rm.Action, 'Audit');
  assert.equal(rm.Data, 'syscall=SYS_UNLINKAT fd=-100 flags=0');
  assert.equal(rm.Resource, '/tmp/x');
  assert.equal(rm.Severity, '4');
  assert.equal(syscallAlertFor(sys, event({ syscall: 'unlinkat', absPath: '/tmp/x', exePath: '/bin/rm' })), null, '/bin/ is not /usr/bin/');
  assert.equal(syscallAlertFor(sys, event({ syscall: 'unlink', absPath: '/tmp/x', exePath: '/usr/bin/sub/rm' })), null, 'not recursive');
  assert.equal(syscallAlertFor(sys, event({ syscall: 'openat', absPath: '/tmp/x', exePath: '/usr/bin/rm' })), null, 'openat is not listed');
  assert.ok(syscallAlertFor(sys, event({ syscall: 'chmod', absPath: '/etc/ssh/sshd_config', exePath: '/bin/chmod', mode: 0o777 })));
  assert.equal(syscallAlertFor(sys, event({ syscall: 'chmod', absPath: '/var/x', exePath: '/bin/chmod' })), null);
  // A file rule and a syscall rule on the same event give one alert each.
  const both = `${sys}${ksp('ksp-file', '  file:\n    matchDirectories:\n      - dir: /etc/\n        recursive: true\n  action: Audit')}`;
  const engine = compilePolicies(policies(both));
  const ops = engine.decideAll({ event: event({ syscall: 'chmod', absPath: '/etc/hosts' }), workload: WEB }, NODE).map((d) => d.operation);
  assert.deepEqual(ops, ['File', 'Syscall']);
});

test('the kernel filters and the hooks the policies need follow the rules', () => {
  const f = (yaml: string) => compilePolicies(policies(yaml));
  assert.deepEqual(f(sys).kernelFilter(), { passAll: false, exactPaths: [], dirPrefixes: ['/etc/'], passCalls: ['unlink', 'unlinkat'], pathCalls: { '/etc/': ['chmod', 'fchmodat'] } },
    'a listed file call without a path needs every event of that call, and only of that call; a call on a path, that call on that path');
  const onPath = f(ksp('p', '  syscalls:\n    matchPaths:\n      - syscall: [chmod]\n        path: /etc/shadow'));
  assert.deepEqual(onPath.kernelFilter(), { passAll: false, exactPaths: ['/etc/shadow'], dirPrefixes: [], pathCalls: { '/etc/shadow': ['chmod'] } });
  // A file rule on the same path needs every call there; a prefix covers an entry only for the calls it lets through.
  const mixed = f(`${ksp('p', '  syscalls:\n    matchPaths:\n      - syscall: [chmod]\n        path: /etc/shadow\n      - syscall: [unlink]\n        path: /etc/\n        recursive: true')}${ksp('q', '  file:\n    matchPaths:\n      - path: /etc/shadow\n      - path: /etc/passwd\n  action: Audit')}`);
  assert.deepEqual(mixed.kernelFilter(), { passAll: false, exactPaths: ['/etc/passwd', '/etc/shadow'], dirPrefixes: ['/etc/'], pathCalls: { '/etc/': ['unlink'] } });
  const narrower = f(ksp('p', '  syscalls:\n    matchPaths:\n      - syscall: [chmod, unlink]\n        path: /etc/\n        recursive: true\n      - syscall: [unlink]\n        path: /etc/x'));
  assert.deepEqual(narrower.kernelFilter(), { passAll: false, exactPaths: [], dirPrefixes: ['/etc/'], pathCalls: { '/etc/': ['chmod', 'unlink'] } }, 'covered by the directory for its calls');
  assert.deepEqual([...onPath.requiredSyscalls()], ['chmod']);
  const e = f(`${apt}${ksp('q', '  process:\n    matchDirectories:\n      - dir: /tmp/\n    matchPaths:\n      - path: /bin/nc')}`);
  assert.deepEqual(e.execFilter(), { passAll: false, paths: ['/bin/nc'], dirs: ['/tmp/'], names: ['apt'] });
  assert.deepEqual(e.kernelFilter(), { passAll: false, exactPaths: [], dirPrefixes: [], exec: e.execFilter() }, 'process rules pass no file event, and their executions');
  assert.equal(onPath.kernelFilter().exec, undefined, 'no process rule: no execution passes');
  assert.deepEqual([...e.requiredSyscalls()].sort(), ['execve', 'execveat']);
  assert.equal(f(ksp('a', '  process:\n    matchPaths:\n      - path: /bin/ls\n  action: Allow')).execFilter().passAll, true, 'allow-list mode sees every execution');
});

test('property: the exec filter never holds back an execution that a process rule matches', () => {
  const seg = fc.constantFrom('bin', 'usr', 'opt', 'tmp', 'a', 'b');
  const path = fc.array(seg, { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`);
  const rule = fc.oneof(
    path.map((p) => `      - path: ${p}`),
    seg.map((n) => `      - execname: ${n}`),
  );
  const dir = fc.record({ d: fc.array(seg, { minLength: 1, maxLength: 3 }), r: fc.boolean() }).map(({ d, r }) => `      - dir: /${d.join('/')}/\n        recursive: ${r}`);
  fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 4 }), fc.array(dir, { maxLength: 3 }), path, path, (paths, dirs, requested, resolved) => {
    const y = ksp('prop', `  process:\n    matchPaths:\n${paths.join('\n')}${dirs.length ? `\n    matchDirectories:\n${dirs.join('\n')}` : ''}\n  action: Audit`);
    const engine = compilePolicies(policies(y));
    const ev = execEvent({ absPath: requested, resolvedPath: resolved, argv: ['x'] });
    if (engine.decide({ event: ev, workload: WEB }, NODE) === null) return;
    const f = engine.execFilter();
    const passes = (p: string): boolean => f.passAll || f.paths.includes(p) || f.dirs.some((d) => p.startsWith(d) || `${p}/` === d)
      || f.names.includes(p.slice(p.lastIndexOf('/') + 1));
    assert.ok(passes(requested) || passes(resolved), `${requested} / ${resolved} held back by ${JSON.stringify(f)}`);
  }), { numRuns: 300 });
});
