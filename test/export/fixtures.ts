// Alerts for the export tests: the seed's Expected Alert (shared/seed/000_f4fcaa6aaeb4368b.txt)
// and variations of it for other workloads.
import type { Alert, Workload } from '../../src/types.ts';

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

/** The seed alert as if it happened in pod number `i` (a different workload), with its own sequence number in HostPID. */
export function podAlert(i: number, seq: number): Alert {
  return {
    ...SEED_ALERT,
    PodName: `wordpress-7c966b5d85-pod${i}`,
    ContainerID: `${String(i).padStart(4, '0')}${SEED_ALERT.ContainerID?.slice(4)}`,
    HostPID: 100_000 + seq,
    TimestampNs: (BigInt(SEED_NS) + BigInt(seq)).toString(),
  };
}

export const HOST_ALERT: Alert = {
  ...SEED_ALERT,
  NamespaceName: undefined, Owner: undefined, PodName: undefined, Labels: undefined,
  ContainerID: undefined, ContainerName: undefined, ContainerImage: undefined,
  Type: 'MatchedHostPolicy', PolicyKind: 'KubeArmorHostPolicy', PolicyName: 'hsp-shadow',
  Resource: '/etc/shadow', ProcessName: '/usr/bin/cat', Source: '/usr/bin/cat', Severity: '10',
};
