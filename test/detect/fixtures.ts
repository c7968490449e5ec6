// Network events and workloads for the detection tests: connect calls as the monitor decodes them.
import { constants } from 'node:os';
import type { NetworkEvent, NodeIdentity, Workload } from '../../src/types.ts';

export const { ECONNREFUSED, EINPROGRESS, ETIMEDOUT, EHOSTUNREACH } = constants.errno;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;

/** 2026-11-28T17:00:00Z in ns; `at(ms)` is that plus ms. */
export const T0_MS = 1_795_885_200_000;
export const at = (ms: number): bigint => BigInt(T0_MS) * 1_000_000n + BigInt(Math.round(ms * 1e6));

export const NODE: NodeIdentity = { clusterName: 'default', hostName: 'node-1', labels: {} };
export const HOST: Workload = { kind: 'host', labels: {} };
export const POD: Workload = {
  kind: 'container', containerId: 'c'.repeat(64), containerName: 'web', namespace: 'shop', podName: 'web-1', podUid: 'uid-1', labels: { app: 'web' },
};

export interface Connect {
  readonly host: string;
  readonly port: number;
  readonly ms: number;
  readonly ret?: number;
  readonly udp?: boolean;
  readonly v6?: boolean;
  readonly pid?: number;
  readonly ppid?: number;
  readonly phase?: 'call' | 'outcome' | 'attempt';
  /** Network namespace inode: HOST_NETNS unless given. */
  readonly netNs?: number;
}

/** The host's network namespace in these tests (the detector is told it); a pod's is another. */
export const HOST_NETNS = 1;
export const POD_NETNS = 2;

export function connect(c: Connect): NetworkEvent {
  return {
    kind: 'network', syscall: 'connect', phase: c.phase ?? 'call', fd: c.phase === 'outcome' ? -1 : 3, ret: c.ret ?? -EINPROGRESS,
    domain: c.v6 === true ? 10 : 2, type: c.udp === true ? SOCK_DGRAM : SOCK_STREAM, protocol: c.udp === true ? 17 : 6,
    remote: c.v6 === true ? { family: 'inet6', address: c.host, port: c.port } : { family: 'inet', address: c.host, port: c.port },
    local: null,
    timestampNs: at(c.ms), hostPid: c.pid ?? 4242, hostTid: c.pid ?? 4242, hostPpid: c.ppid ?? 4000, pid: c.pid ?? 4242, ppid: c.ppid ?? 4000,
    uid: 1000, gid: 1000, euid: 1000, comm: 'nmap', tty: 'pts0', exePath: '/usr/bin/nmap', parentExePath: '/bin/bash',
    cgroupId: 77n, mntNs: 1, pidNs: 1, netNs: c.netNs ?? HOST_NETNS, cwd: '/home/u',
  };
}

/** The outcome of a non-blocking connect (the kernel reports it later, fd unknown). */
export const outcome = (c: Connect): NetworkEvent => connect({ ...c, phase: 'outcome', ret: c.ret ?? 0 });
