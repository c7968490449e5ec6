// Matches for the export tests: the seed's access (shared/seed/000_f4fcaa6aaeb4368b.txt) as the
// policy stage hands it on, its Expected Alert as KubeArmor prints it, and variations of it for
// other workloads.
import type { Alert, ExecEvent, FileEvent, Match, MatchDecision, NetworkEvent, NodeIdentity, Workload } from '../../src/types.ts';

/** 2026-11-28T17:00:00.123456789Z: the trailing nanoseconds show whether ns precision survives. */
export const SEED_NS = '1795885200123456789';

export const SEED_ALERT: Alert = {
  Timestamp: 1795885200,
  UpdatedTime: '2026-11-28T17:00:00.123456789Z',
  ClusterName: 'default',
  HostName: 'gke-cluster-1-default-pool-37f4c896-8cn6',
  NamespaceName: 'wordpress-mysql',
  Owner: { Ref: 'Deployment', Name: 'wordpress', Namespace: 'wordpress-mysql' },
  PodName: 'wordpress-7c966b5d85-wvtln',
  Labels: 'app=wordpress',
  ContainerID: '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44',
  ContainerName: 'wordpress',
  ContainerImage: 'docker.io/library/wordpress:4.8-apache@sha256:6216f64ab88fc51d311e38c7f69ca3f9aaba621492b4f1fa93ddf63093768845',
  HostPPID: 1275298,
  HostPID: 1275441,
  PPID: 336,
  PID: 342,
  UID: 0,
  ParentProcessName: '/bin/bash',
  ProcessName: '/bin/ls',
  PolicyName: 'ksp-nist-ac-18-1-network-audit',
  Severity: '3',
  Tags: 'NIST-800,AC-18(1),Networking,Access,NIST_SA,NIST_SA-20,NIST_SA-20-Customized Development of Critical Components,SA',
  ATags: ['NIST-800', 'AC-18(1)', 'Networking', 'Access', 'NIST_SA', 'NIST_SA-20', 'NIST_SA-20-Customized Development of Critical Components', 'SA'],
  Message: 'Access to network files detected. Possible violation of NIST Controls',
  Type: 'MatchedPolicy',
  Source: '/bin/ls',
  Resource: '/etc/network/if-up.d',
  Operation: 'File',
  Action: 'Audit',
  Data: 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC',
  Enforcer: 'eBPF Monitor',
  Result: 'Passed',
  Cwd: '/var/www/html',
  PolicyKind: 'KubeArmorPolicy',
  ResolvedResource: '/etc/network/if-up.d.real',
  OtherPolicies: ['ksp-other-1', 'ksp-other-2'],
  Syscall: 'SYS_OPENAT',
  Dirfd: -100,
  Flags: 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC',
  TimestampNs: SEED_NS,
};

export const SEED_WORKLOAD: Workload = {
  kind: 'container',
  containerId: SEED_ALERT.ContainerID as string,
  containerName: 'wordpress',
  containerImage: SEED_ALERT.ContainerImage as string,
  namespace: 'wordpress-mysql',
  podName: 'wordpress-7c966b5d85-wvtln',
  podUid: '5f0c3c9e-8f3a-4f0e-9a57-2b8d1c7d9e11',
  labels: { app: 'wordpress' },
  owner: { ref: 'Deployment', name: 'wordpress', namespace: 'wordpress-mysql' },
};

export const SEED_NODE: NodeIdentity = { clusterName: 'default', hostName: 'gke-cluster-1-default-pool-37f4c896-8cn6', labels: {} };

/** `ls` in /var/www/html opening /etc/network/if-up.d (the kernel opened a `.real` symlink target). */
export const SEED_EVENT: FileEvent = {
  kind: 'file',
  timestampNs: BigInt(SEED_NS), hostPid: 1275441, hostTid: 1275441, hostPpid: 1275298, pid: 342, ppid: 336, uid: 0, gid: 0, euid: 0,
  comm: 'ls', exePath: '/bin/ls', parentExePath: '/bin/bash', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1,
  syscall: 'openat', dirfd: -100, flags: 0x98800, mode: 0, args: {}, ret: 3,
  path: '/etc/network/if-up.d', absPath: '/etc/network/if-up.d', resolvedPath: '/etc/network/if-up.d.real',
  path2: null, absPath2: null, cwd: '/var/www/html', ownerUid: 0, tty: null,
};

export const SEED_DECISION: MatchDecision = {
  operation: 'File',
  policyName: 'ksp-nist-ac-18-1-network-audit',
  policyKind: 'KubeArmorPolicy',
  action: 'Audit',
  severity: 3,
  tags: ['NIST-800', 'AC-18(1)', 'Networking', 'Access', 'NIST_SA', 'NIST_SA-20', 'NIST_SA-20-Customized Development of Critical Components', 'SA'],
  message: 'Access to network files detected. Possible violation of NIST Controls',
  otherPolicies: ['ksp-other-1', 'ksp-other-2'],
  matchedPath: '/etc/network/if-up.d',
};

/** The match that renders as SEED_ALERT. */
export const SEED_MATCH: Match = { event: SEED_EVENT, workload: SEED_WORKLOAD, node: SEED_NODE, decision: SEED_DECISION };

// One Workload object per pod, as the enricher hands them out.
const pods = new Map<number, Workload>();

/** The seed match as if it happened in pod number `i` (a different workload), with its own sequence number in HostPID. */
export function podMatch(i: number, seq: number): Match {
  let workload = pods.get(i);
  if (workload === undefined) {
    const { podUid: _, ...rest } = SEED_WORKLOAD;
    workload = Object.freeze({ ...rest, podName: `wordpress-7c966b5d85-pod${i}`, containerId: `${String(i).padStart(4, '0')}${SEED_WORKLOAD.containerId?.slice(4)}` });
    pods.set(i, workload);
  }
  return { ...SEED_MATCH, workload, event: { ...SEED_EVENT, hostPid: 100_000 + seq, timestampNs: BigInt(SEED_NS) + BigInt(seq) } };
}

export const HOST_WORKLOAD: Workload = Object.freeze({ kind: 'host', labels: {} });

export const HOST_MATCH: Match = {
  event: { ...SEED_EVENT, absPath: '/etc/shadow', path: '/etc/shadow', resolvedPath: '/etc/shadow', exePath: '/usr/bin/cat' },
  workload: HOST_WORKLOAD,
  node: SEED_NODE,
  decision: { ...SEED_DECISION, policyKind: 'KubeArmorHostPolicy', policyName: 'hsp-shadow', severity: 10, matchedPath: '/etc/shadow' },
};

/** `bash` in a pod, with a terminal, running `/usr/bin/apt update` (resolved through merged /usr). */
export const EXEC_EVENT: ExecEvent = {
  kind: 'process',
  timestampNs: BigInt(SEED_NS) + 7n, hostPid: 1275500, hostTid: 1275500, hostPpid: 1275441, pid: 350, ppid: 342, uid: 0, gid: 0, euid: 0,
  comm: 'apt', exePath: '/usr/bin/apt', callerExePath: '/bin/bash', parentExePath: '/bin/bash', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1,
  syscall: 'execve', dirfd: -100, flags: 0, ret: 0, path: '/bin/apt', absPath: '/bin/apt', resolvedPath: '/usr/bin/apt', ownerUid: 0,
  argv: ['apt', 'update'], argvTruncated: false, tty: 'pts0', cwd: '/var/www/html',
};

export const EXEC_MATCH: Match = {
  event: EXEC_EVENT,
  workload: SEED_WORKLOAD,
  node: SEED_NODE,
  decision: {
    operation: 'Process', policyName: 'ksp-block-apt', policyKind: 'KubeArmorPolicy', action: 'Block', severity: 5,
    tags: ['MITRE'], message: 'package manager run', otherPolicies: [], matchedPath: '/usr/bin/apt',
  },
};

/** curl in the seed's pod connecting to 10.0.0.7:5432 over TCP (fd 3): the event a network rule matched. */
export const NET_EVENT: NetworkEvent = {
  kind: 'network', timestampNs: BigInt(SEED_NS), hostPid: 1275600, hostTid: 1275600, hostPpid: 1275441, pid: 360, ppid: 342,
  uid: 33, gid: 33, euid: 33, comm: 'curl', tty: null, exePath: '/usr/bin/curl', parentExePath: '/bin/bash',
  cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1, cwd: '/var/www/html',
  syscall: 'connect', phase: 'call', fd: 3, ret: 0, domain: 2, type: 1, protocol: 6,
  remote: { family: 'inet', address: '10.0.0.7', port: 5432 }, local: null,
};

export const NET_DECISION: MatchDecision = {
  operation: 'Network', policyName: 'ksp-audit-tcp', policyKind: 'KubeArmorPolicy', action: 'Audit', severity: 4,
  tags: ['NETWORK'], message: 'TCP from the web tier', otherPolicies: [], matchedPath: 'tcp',
};

/** A network match of the seed's pod, the event changed by `over`. */
export function netMatch(over: Partial<NetworkEvent> = {}, decision: Partial<MatchDecision> = {}): Match {
  return { event: { ...NET_EVENT, ...over }, workload: SEED_WORKLOAD, node: SEED_NODE, decision: { ...NET_DECISION, ...decision } };
}
