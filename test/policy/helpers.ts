// Builders for policy tests: policies from YAML text, events, workloads and a node.
import assert from 'node:assert/strict';
import { parsePolicyText } from '../../src/policy/load.ts';
import { renderAlert } from '../../src/export/kubearmor.ts';
import { compilePolicies, type EngineOptions } from '../../src/policy/engine.ts';
import type { PolicyDocument } from '../../src/policy/types.ts';
import type { Alert, ExecEvent, FileEvent, MonitorEvent, NetworkEvent, NodeIdentity, Workload } from '../../src/types.ts';

/** Validated policies from YAML text; fails the test on any problem. */
export function policies(yaml: string): PolicyDocument[] {
  const r = parsePolicyText('inline.yaml', yaml);
  const out: PolicyDocument[] = [];
  for (const d of r.documents) {
    if (d.status === 'invalid') assert.fail(`test policy invalid: ${d.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join('; ')}`);
    if (d.status === 'policy') out.push(d.policy);
  }
  return out;
}

/** A KubeArmorPolicy in namespace `ns` selecting app=web, with the given spec body (YAML lines under `spec:`). */
export function ksp(name: string, specBody: string, opts: { ns?: string; selector?: string } = {}): string {
  return `---
apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: ${name}
  namespace: ${opts.ns ?? 'shop'}
spec:
  selector:
${opts.selector ?? '    matchLabels:\n      app: web'}
${specBody}
`;
}

export function event(over: Partial<FileEvent> = {}): FileEvent {
  const absPath = over.absPath ?? '/etc/passwd';
  return {
    timestampNs: 1_764_350_978_123_456_789n,
    hostPid: 1275441, hostTid: 1275441, hostPpid: 1275298, pid: 342, ppid: 336, uid: 0, gid: 0, euid: 0, comm: 'cat', tty: null,
    exePath: '/bin/cat', parentExePath: '/bin/bash', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1,
    syscall: 'openat', dirfd: -100, flags: 0o2000000, mode: 0, args: {}, ret: 3,
    path: absPath, absPath, resolvedPath: absPath, path2: null, absPath2: null, cwd: '/', ownerUid: 0,
    ...over,
  };
}

export const WEB: Workload = Object.freeze({
  kind: 'container', containerId: 'c'.repeat(64), containerName: 'web', containerImage: 'nginx:1.27',
  namespace: 'shop', podName: 'web-1', labels: { app: 'web', tier: 'front' },
  owner: { ref: 'Deployment', name: 'web', namespace: 'shop' },
});

export function workload(over: Partial<Workload> = {}): Workload {
  return { ...WEB, ...over };
}

export const HOST: Workload = Object.freeze({ kind: 'host', labels: {} });

export const NODE: NodeIdentity = Object.freeze({
  clusterName: 'default', hostName: 'node-a',
  labels: { 'kubearmor.io/hostname': 'node-a', 'kubernetes.io/hostname': 'node-a', zone: 'z1' },
});

/** Decides one access and returns its alert in KubeArmor's shape, or null. */
export function alertFor(yaml: string, ev: MonitorEvent, w: Workload = WEB, node: NodeIdentity = NODE, opts: EngineOptions = {}): Alert | null {
  const engine = compilePolicies(policies(yaml), opts);
  const d = engine.decide({ event: ev, workload: w }, node);
  return d === null ? null : renderAlert({ event: ev, workload: w, node, decision: d });
}

/** An execution: `bash` (the caller) running `apt update` in the web pod, with a terminal. */
export function execEvent(over: Partial<ExecEvent> = {}): ExecEvent {
  const absPath = over.absPath ?? '/usr/bin/apt';
  return {
    kind: 'process',
    timestampNs: 1_764_350_978_123_456_789n,
    hostPid: 1275500, hostTid: 1275500, hostPpid: 1275441, pid: 350, ppid: 342, uid: 0, gid: 0, euid: 0, comm: 'apt',
    exePath: absPath, callerExePath: '/bin/bash', parentExePath: '/bin/bash', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1,
    syscall: 'execve', dirfd: -100, flags: 0, ret: 0, path: absPath, absPath, resolvedPath: absPath, ownerUid: 0,
    argv: ['apt', 'update'], argvTruncated: false, tty: 'pts0', cwd: '/',
    ...over,
  };
}

/** Decides one event by the syscall rules and returns the alert, or null. */
export function syscallAlertFor(yaml: string, ev: MonitorEvent, w: Workload = WEB, node: NodeIdentity = NODE): Alert | null {
  const engine = compilePolicies(policies(yaml));
  const d = engine.decideSyscall({ event: ev, workload: w }, node);
  return d === null ? null : renderAlert({ event: ev, workload: w, node, decision: d });
}

/** A network call: `curl` in the web pod connecting over TCP/IPv4 to 10.0.0.7:5432 on fd 3, no terminal. */
export function netEvent(over: Partial<NetworkEvent> = {}): NetworkEvent {
  return {
    kind: 'network',
    timestampNs: 1_764_350_978_123_456_789n,
    hostPid: 1275600, hostTid: 1275600, hostPpid: 1275441, pid: 360, ppid: 342, uid: 0, gid: 0, euid: 0, comm: 'curl', tty: null,
    exePath: '/usr/bin/curl', parentExePath: '/bin/bash', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1, cwd: '/',
    syscall: 'connect', phase: 'call', fd: 3, ret: 0, domain: 2, type: 1, protocol: 6,
    remote: { family: 'inet', address: '10.0.0.7', port: 5432 }, local: null,
    ...over,
  };
}
