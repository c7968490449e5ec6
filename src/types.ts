// The seams of the pipeline: monitor → enrich → policy → export.
// Each stage owns its folder; these are the only shapes that cross between them.

import { EXEC_SYSCALL_NAMES, FILE_SYSCALL_NAMES, NETWORK_SYSCALL_NAMES } from './syscalls.ts';

/** System calls the file monitor covers (Operation `File`), from the one table in src/syscalls.ts. */
export const FILE_SYSCALLS = FILE_SYSCALL_NAMES;
export type FileSyscall = (typeof FILE_SYSCALLS)[number];

/**
 * One file access as the kernel saw it, decoded by src/monitor.
 * Invariant: `absPath` is absolute with `.`/`..` folded; `resolvedPath` is null when the call
 * failed or returned no file (the kernel opened nothing).
 */
/**
 * Who made a call, as the kernel saw it: the same fields, with the same meaning, on every kind of
 * event (so enrich and the policy stage join every kind to its workload the same way).
 */
export interface TaskIdentity {
  /** Wall-clock time of the call in nanoseconds since the Unix epoch (converted from the kernel clock). */
  readonly timestampNs: bigint;
  readonly hostPid: number;
  readonly hostTid: number;
  readonly hostPpid: number;
  /** pid/ppid as seen inside the task's own pid namespace. */
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly gid: number;
  /** Effective uid of the process (differs from uid after a setuid program or seteuid; for an exec, the uid it runs with after it). */
  readonly euid: number;
  readonly comm: string;
  /** Controlling terminal as KubeArmor writes it (`pts0`), null when there is none. */
  readonly tty: string | null;
  /** Executable of the process and of its parent, seen from the process's own root. */
  readonly exePath: string;
  readonly parentExePath: string;
  readonly cgroupId: bigint;
  readonly mntNs: number;
  readonly pidNs: number;
  readonly netNs: number;
  readonly cwd: string;
}

export interface FileEvent extends TaskIdentity {
  /**
   * The event's kind (ExecEvent has 'process'). Optional until the decoder sets it: an event
   * without `kind` is a file event.
   */
  readonly kind?: 'file';
  readonly syscall: FileSyscall;
  /** AT_FDCWD (-100) when the call had no dirfd or used the cwd. */
  readonly dirfd: number;
  readonly flags: number;
  readonly mode: number;
  /** Extra numeric arguments by name (e.g. `uid`/`gid` for chown, `newdirfd`, `resolve` for openat2). */
  readonly args: Readonly<Record<string, number>>;
  /** Return value of the call: >= 0 success, negative errno on failure. */
  readonly ret: number;
  /** Path exactly as the process passed it. */
  readonly path: string;
  /** `path` made absolute against cwd or dirfd, with `.` and `..` folded. */
  readonly absPath: string;
  /** Path of the file the kernel actually opened (symlinks resolved), from the process's root; null if none. */
  readonly resolvedPath: string | null;
  /**
   * The opened file as the host sees it: its path from the root of the process's mount namespace
   * rather than from the process's own root (they differ under chroot); null when nothing was
   * opened. Optional: absent where the event did not come from the kernel (test-access).
   */
  readonly hostPath?: string | null;
  /**
   * When the opened file, or a directory above it, is a file or directory a policy names (matched
   * by device and inode, src/policy/identity.ts): that rule path with the components below it,
   * e.g. `/etc/secret/key` opened through a hard link, a bind mount, a chroot or a private mount
   * namespace; one entry per scope that watches the identity (the host's, or a container's, where
   * the rule path was resolved in that container's root). null or absent otherwise.
   */
  readonly identityPaths?: readonly IdentityPath[] | null;
  /** Second path of two-path calls (rename*: the new name), as requested / made absolute; null otherwise. */
  readonly path2: string | null;
  readonly absPath2: string | null;
  /** uid of the file's owner where it could be read, else null. */
  readonly ownerUid: number | null;
}

/**
 * A file or directory a policy's rule names, by identity (src/policy/identity.ts): the device as
 * the kernel keeps it (MKDEV(major, minor), super_block.s_dev), the inode number, the rule's path
 * for it, and whose path it is: the host's (containerId absent), or a container's (the path was
 * resolved in that container's root). The monitor hands the kernel these, and names matches by `path`.
 */
export interface WatchedIdentity {
  readonly dev: number;
  readonly ino: bigint;
  readonly path: string;
  readonly containerId?: string;
}

/** A rule path an opened file was matched under by identity, and for whom: null for the host, else the container's id. */
export interface IdentityPath {
  readonly path: string;
  readonly containerId: string | null;
}

export const EXEC_SYSCALLS = EXEC_SYSCALL_NAMES;
export type ExecSyscall = (typeof EXEC_SYSCALLS)[number];

/** KubeArmor's caps on the arguments it reports: at most 20 arguments of at most 104 bytes each. */
export const EXEC_MAX_ARGS = 20;
export const EXEC_MAX_ARG_LEN = 104;

/**
 * One execution (execve/execveat) as the kernel saw it, decoded by src/monitor. The process identity
 * fields mean the same as in FileEvent; for a successful exec `exePath` is the new program (the
 * resolved executed file) and `parentExePath` the executable of the process that called exec's parent.
 * Invariant: `absPath` is the requested path made absolute (against cwd or dirfd) with `.`/`..`
 * folded; `resolvedPath` is the file the kernel ran, seen from the process's root, null when the
 * exec failed.
 */
export interface ExecEvent extends TaskIdentity {
  readonly kind: 'process';
  /** Executable of the process that called exec (what KubeArmor shows as Source for a process alert). */
  readonly callerExePath: string;
  readonly syscall: ExecSyscall;
  readonly dirfd: number;
  readonly flags: number;
  /** 0 on success, negative errno on failure. */
  readonly ret: number;
  /** Path exactly as the process passed it. */
  readonly path: string;
  readonly absPath: string;
  readonly resolvedPath: string | null;
  /** uid of the executed file's owner where it could be read, else null. */
  readonly ownerUid: number | null;
  /** argv as passed (argv[0] included), each capped at EXEC_MAX_ARG_LEN bytes, at most EXEC_MAX_ARGS + 1 entries. */
  readonly argv: readonly string[];
  /** True when arguments were dropped or cut to fit the caps. */
  readonly argvTruncated: boolean;
}

/** Network system calls (Operation `Network`), from the one table in src/syscalls.ts. */
export const NETWORK_SYSCALLS = NETWORK_SYSCALL_NAMES;
export type NetworkSyscall = (typeof NETWORK_SYSCALLS)[number];

/** A socket address as decoded from the call's sockaddr (IPv4-mapped IPv6 stays 'inet6' with `mappedV4`). */
export type SocketAddress =
  | { readonly family: 'inet'; readonly address: string; readonly port: number }
  | { readonly family: 'inet6'; readonly address: string; readonly port: number; readonly mappedV4?: string }
  | { readonly family: 'unix'; readonly path: string; readonly abstract: boolean }
  | { readonly family: 'other'; readonly af: number };

/**
 * One network call as the kernel saw it, decoded by src/monitor. Process identity as in FileEvent.
 * `phase` 'call' is the system call's own return; 'outcome' is the later result of a connect that
 * returned EINPROGRESS (ret 0 when it connected, -ECONNREFUSED / -ETIMEDOUT / ... when it failed),
 * so refused connects are countable whether the socket blocked or not.
 */
export interface NetworkEvent extends TaskIdentity {
  readonly kind: 'network';
  readonly syscall: NetworkSyscall;
  /**
   * `call`: the call at its exit; `outcome`: the later result of a connect that returned EINPROGRESS.
   * From the port-scan gate (connects no rule needs, src/detect only): `gate` the connect that opened
   * its key's gate (not an attempt by itself: it is in the `handover` records that follow, which carry
   * no process strings); `handover` a target held back, its counts in `gated`; `attempt` a
   * non-blocking connect and its result in one record (`ret` is the result).
   */
  readonly phase: 'call' | 'outcome' | 'gate' | 'handover' | 'attempt';
  /** The socket's fd: connect/bind/listen/accept's argument, socket()'s return; -1 when unknown (outcomes). */
  readonly fd: number;
  /** >= 0 success (socket/accept: the new fd), negative errno on failure. */
  readonly ret: number;
  /** Of the socket: AF_*, SOCK_* (type without SOCK_NONBLOCK/SOCK_CLOEXEC), IPPROTO_* (0 resolved to the default where known). */
  readonly domain: number;
  readonly type: number;
  readonly protocol: number;
  /** connect: the address asked for; accept: the peer; else null. */
  readonly remote: SocketAddress | null;
  /** bind: the address bound; listen: the address listened on; accept: the accepted connection's own end; else null. */
  readonly local: SocketAddress | null;
  /** Phase `handover`: what the gate counted for this target (timestampNs is its latest attempt). */
  readonly gated?: GatedTarget;
}

/** A target the port-scan gate held back, as the kernel counted it. */
export interface GatedTarget {
  readonly attempts: number;
  readonly succeeded: number;
  readonly refused: number;
  readonly failed: number;
  /** Wall-clock ns of its first attempt. */
  readonly firstNs: bigint;
}

/** Who owns a pod, as KubeArmor's `Owner` field prints it. */
export interface Owner {
  readonly ref: string; // Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod
  readonly name: string;
  readonly namespace: string;
}

/** Where an event happened, as src/enrich knows it. Host processes have kind 'host'. */
export interface Workload {
  readonly kind: 'host' | 'container';
  readonly containerId?: string;
  readonly containerName?: string;
  readonly containerImage?: string;
  readonly namespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly owner?: Owner;
  /** Value of the namespace's `kubearmor-file-posture` annotation, if known. */
  readonly namespaceFilePosture?: 'audit' | 'block';
  /** Value of the namespace's `kubearmor-network-posture` annotation, if known. */
  readonly namespaceNetworkPosture?: 'audit' | 'block';
}

/** Node facts every alert carries. */
export interface NodeIdentity {
  readonly clusterName: string;
  readonly hostName: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Every kind of event the monitor hands on. */
export type MonitorEvent = FileEvent | ExecEvent | NetworkEvent;

export interface EnrichedEvent<E extends MonitorEvent = MonitorEvent> {
  readonly event: E;
  readonly workload: Workload;
}

/** KubeArmor's Operation of an alert: which kind of rule matched. */
export type Operation = 'File' | 'Process' | 'Network' | 'Syscall';

export type PolicyKind = 'KubeArmorPolicy' | 'KubeArmorClusterPolicy' | 'KubeArmorHostPolicy';

/** What the policy stage decided for one event: the rule that won and what it says. */
export interface MatchDecision {
  readonly operation: Operation;
  readonly policyName: string;
  readonly policyKind: PolicyKind | 'DefaultPosture';
  /** Audit or Block (the KubeArmor line's Action reads `Audit (Block)` for Block). */
  readonly action: 'Audit' | 'Block';
  /** Policy severity 1–10; undefined for DefaultPosture, which has none. */
  readonly severity: number | undefined;
  readonly tags: readonly string[];
  readonly message: string | undefined;
  /** Names of the other policies whose rules matched the same event, sorted. */
  readonly otherPolicies: readonly string[];
  /** The candidate path that matched (requested, resolved or /proc-folded); for a network rule, its protocol in lower case; '' for a network DefaultPosture. */
  readonly matchedPath: string;
}

/**
 * One match, travelling typed from the policy stage to the export stage: the event of its kind,
 * where it happened, on which node, and the decision. The KubeArmor JSON line and the OTLP record
 * are two renderers of it (src/export); nothing is flattened to text and parsed back.
 */
export interface Match {
  readonly event: MonitorEvent;
  readonly workload: Workload;
  readonly node: NodeIdentity;
  readonly decision: MatchDecision;
  /** Set on the notice records of alert throttling (src/policy/throttle.ts), absent on alerts. */
  readonly throttle?: ThrottleNote;
}

/**
 * A throttling notice, carried by a Match of the alert it concerns: `started` on the alert that
 * went past --max-alerts-per-sec (that alert is not sent otherwise), `ended` on the last alert the
 * quiet period suppressed, with the counts per policy.
 */
export type ThrottleNote =
  | { readonly phase: 'started'; readonly maxAlertsPerSec: number; readonly throttleSec: number }
  | { readonly phase: 'ended'; readonly quietMs: number; readonly total: number;
      readonly suppressed: readonly { readonly policy: string; readonly count: number }[] };

/** The leading fields of every KubeArmor-shaped line: when, where, and which process (ids). */
export interface AlertWhere {
  readonly Timestamp: number; // seconds
  readonly UpdatedTime: string; // RFC 3339 with nanoseconds
  readonly ClusterName: string;
  readonly HostName: string;
  readonly NamespaceName?: string;
  readonly Owner?: { readonly Ref: string; readonly Name: string; readonly Namespace: string };
  readonly PodName?: string;
  readonly Labels?: string; // k=v,k=v
  readonly ContainerID?: string;
  readonly ContainerName?: string;
  readonly ContainerImage?: string;
  readonly HostPPID: number;
  readonly HostPID: number;
  readonly PPID: number;
  readonly PID: number;
  readonly UID: number;
}

/**
 * An alert in KubeArmor's shape (field names as in the seed's Expected Alert), plus armorwatch's
 * extras: what stdout mode prints, rendered from a Match by src/export/kubearmor.ts.
 */
export interface Alert extends AlertWhere {
  readonly ParentProcessName: string;
  readonly ProcessName: string;
  readonly PolicyName: string;
  readonly Severity: string;
  readonly Tags?: string;
  readonly ATags?: readonly string[];
  readonly Message?: string;
  /** `AlertThreshold` on the notice records of alert throttling. */
  readonly Type: 'MatchedPolicy' | 'MatchedHostPolicy' | 'AlertThreshold';
  readonly Source: string;
  readonly Resource: string;
  readonly Operation: Operation;
  readonly Action: string; // Audit | Audit (Block)
  readonly Data: string;
  readonly Enforcer: 'eBPF Monitor';
  readonly Result: string;
  readonly Cwd: string;
  /** Controlling terminal (`pts0`), when the process has one. */
  readonly TTY?: string;
  // armorwatch extras (documented in docs/ATTRIBUTES.md)
  readonly PolicyKind: PolicyKind | 'DefaultPosture';
  readonly ResolvedResource?: string; // set when it differs from Resource
  readonly OtherPolicies?: readonly string[];
  readonly Syscall: string; // SYS_OPENAT
  readonly Dirfd?: number;
  readonly Flags?: string; // O_RDONLY|O_CLOEXEC
  /** Process alerts whose arguments were cut to KubeArmor's caps. */
  readonly ArgsTruncated?: true;
  readonly TimestampNs: string; // decimal nanoseconds since epoch
  /** Throttling notices only: `started` (with the limits) or `ended` (with the suppressed counts). */
  readonly Throttle?: {
    readonly Phase: 'started' | 'ended';
    readonly MaxAlertsPerSec?: number;
    readonly ThrottleSec?: number;
    readonly QuietSec?: number;
    readonly SuppressedTotal?: number;
    readonly Suppressed?: Readonly<Record<string, number>>;
  };
}

/**
 * What the kernel filter lets through, produced by src/policy from the compiled policy set and
 * applied by src/monitor to its BPF maps (updated in place, without detaching).
 * Invariant: the filter may pass more than the policies need (false positives are decided in user
 * space) but never less: an access that some rule could match must always pass.
 */
export interface KernelFilterSpec {
  /** Pass every file event (trace mode, or a pattern with no literal prefix). */
  readonly passAll: boolean;
  /** Absolute paths that pass when the accessed path equals one of them. */
  readonly exactPaths: readonly string[];
  /** Directory prefixes ending in '/': a path passes when it starts with one (or equals it without the slash). */
  readonly dirPrefixes: readonly string[];
  /**
   * File calls (syscall names, src/syscalls.ts) whose events pass whatever their path: the calls of
   * syscall rules without a path (matchSyscalls). Absent or empty: none.
   */
  readonly passCalls?: readonly string[];
  /**
   * Entries of exactPaths or dirPrefixes that let only these file calls through (syscall rules with
   * a path: matchPaths path + syscall). An entry not named here lets every call through. The kernel
   * judges every open-like call alike: an entry naming one open passes them all.
   */
  readonly pathCalls?: Readonly<Record<string, readonly string[]>>;
  /** What the kernel lets through of executions (process rules). Absent: no execution passes. */
  readonly exec?: ExecFilterSpec;
  /** What the kernel lets through of network calls (network rules, the scan detector). Absent: none passes. */
  readonly network?: NetworkFilterSpec;
}

/**
 * The kernel filter for network calls (src/policy fills it, src/monitor applies it). A call passes
 * when `passAll`, or when it is one of `calls` and its socket's protocol is one of `protocols`
 * (IPPROTO_* numbers; an empty list: any protocol). Same invariant as KernelFilterSpec: it may pass
 * more than the rules need (the kernel keys protocols by their low 8 bits), never less. A connect's
 * outcome (EINPROGRESS, then connected or refused) passes with the connect.
 */
export interface NetworkFilterSpec {
  readonly passAll: boolean;
  readonly calls: readonly NetworkSyscall[];
  readonly protocols: readonly number[];
  /**
   * The port-scan gate (src/detect/filter.ts sets it for connects no rule needs). Absent: off. A
   * connect of a protocol it takes (TCP, UDP) passes whatever `protocols` says.
   */
  readonly scanGate?: ScanGateSpec;
}

/**
 * The port-scan gate in the kernel (bpf/net.bpf.h, docs/DETECTION.md). Per key (ScanGateSpec.hostNetNs)
 * the kernel counts distinct ports and hosts attempted within `windowMs` and reports nothing while
 * both stay below `ports` and `hosts`; crossing one hands the held-back targets over with their
 * counts (NetworkEvent phases `gate` and `handover`), then the key's connects stream until `quietMs`
 * pass without one.
 */
export interface ScanGateSpec {
  /** Which connects the gate may hold back: those of no network rule. */
  readonly tcp: boolean;
  readonly udp: boolean;
  readonly windowMs: number;
  readonly quietMs: number;
  readonly ports: number;
  readonly hosts: number;
  /** Inode of the host's network namespace: processes there are keyed by process tree, others by namespace (a pod). 0: all by process tree. */
  readonly hostNetNs: number;
}

/**
 * The kernel filter for executions, from the process rules (src/policy fills it, src/monitor applies
 * it). An execution passes when its requested path made absolute, or the path of the file it ran,
 * equals one of `paths`, lies under one of `dirs`, or has one of `names` as its last component.
 * Same invariant as KernelFilterSpec: it may pass more than the rules need, never less. The kernel
 * also passes what it cannot judge from the spelling (a relative requested path, execveat on a
 * dirfd, `.`/`..` components, paths over 256 bytes, /proc).
 */
export interface ExecFilterSpec {
  /** Pass every execution (trace mode, an Allow process rule, a pattern with no literal directory). */
  readonly passAll: boolean;
  /** Absolute paths of executed files (matchPaths path). */
  readonly paths: readonly string[];
  /** Directory prefixes ending in '/' (matchDirectories dir, the literal directory of a matchPatterns glob). */
  readonly dirs: readonly string[];
  /** Base names (matchPaths execname), no '/'. */
  readonly names: readonly string[];
}

/** Process filters of the monitor itself (trace's --pid/--comm, and the agent excluding its own pid). */
export interface ProcessFilterSpec {
  /** When non-empty, only these host tgids pass. */
  readonly pids: readonly number[];
  /** When non-empty, only these comms (first 15 bytes) pass. */
  readonly comms: readonly string[];
  /** These host tgids never pass (the agent and its helper). */
  readonly excludePids: readonly number[];
}

/**
 * The enrich stage: who did it. Implemented in src/enrich (cgroup → container → pod → owner).
 * `resolve` may hold an event briefly (returns a promise) while an unknown cgroup is looked up,
 * so that the first accesses of a fresh container are still attributed to its pod.
 */
export interface Enricher {
  resolve(ev: MonitorEvent): Workload | Promise<Workload>;
  /** This node, for host policies and every alert. */
  node(): NodeIdentity;
  /** Called with no arguments whenever workload metadata changed (labels, pods), so cached policy selections can be redone. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

/** The shape of a port scan (src/detect): many ports of one host, or one port of many hosts. */
export type ScanKind = 'vertical' | 'horizontal';

/**
 * One port-scan episode as the detector (src/detect/portscan.ts) reports it: counts since the
 * episode began, as of this record. `phase`: `started` when a threshold was crossed, `updated` at
 * most every --scan-update-interval while attempts go on, `ended` after --scan-quiet without any.
 * Invariant: attempts >= succeeded + refused + failed (the rest had no result yet: non-blocking
 * connects whose outcome never came, e.g. to filtered ports).
 */
export interface ScanEpisode {
  /** The same on every record of the episode. */
  readonly id: string;
  readonly phase: 'started' | 'updated' | 'ended';
  /** Which thresholds started it (both: many ports of one host and one port of many hosts). */
  readonly kinds: readonly ScanKind[];
  /** Started by the slow window's thresholds (--scan-slow-window) with targets spread over more than --scan-window. */
  readonly slow: boolean;
  /** Transports and address families of the attempts (network.transport, network.type). */
  readonly transports: readonly ('tcp' | 'udp')[];
  readonly families: readonly ('ipv4' | 'ipv6')[];
  /** Kernel times (wall clock, ns) of the first and the latest attempt counted. */
  readonly firstNs: bigint;
  readonly lastNs: bigint;
  /** connect() calls counted (repeated status checks — EALREADY, EISCONN — are not attempts). */
  readonly attempts: number;
  readonly distinctPorts: number;
  /** A lower bound when `hostsCapped`. */
  readonly distinctHosts: number;
  readonly hostsCapped: boolean;
  /** Connected (at the call or, non-blocking, at the outcome). */
  readonly succeeded: number;
  /** ECONNREFUSED: nothing listened (a closed port). */
  readonly refused: number;
  /** Any other error (unreachable, timed out, ...). */
  readonly failed: number;
  /** The first hosts attempted (at most 16) and the lowest ports attempted (at most 32). */
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  /** Ports a connect succeeded to, lowest first (at most 32): what the scan found open. */
  readonly openPorts: readonly number[];
}

/**
 * A detection travelling to the export stage beside the matches: who (the process of the latest
 * attempt counted), where, and the episode. Rendered by src/export/scan.ts as a KubeArmor-shaped
 * line (Type `PortScan`) and as an OTLP record (EventName `armorwatch.scan.episode`).
 */
export interface ScanDetection {
  readonly kind: 'scan';
  readonly event: NetworkEvent;
  readonly workload: Workload;
  readonly node: NodeIdentity;
  readonly scan: ScanEpisode;
}

/** Everything the export stage renders: policy matches (and throttling notices), and detections. */
export type Exportable = Match | ScanDetection;

/**
 * A port-scan record in KubeArmor's alert shape (the fields a KubeArmor consumer reads, with the
 * same meaning), plus the episode under `Scan`. Rendered from a ScanDetection by src/export/scan.ts.
 */
export interface ScanAlert extends AlertWhere {
  readonly ParentProcessName: string;
  readonly ProcessName: string;
  readonly PolicyName: 'armorwatch-port-scan';
  readonly Severity: string;
  readonly Tags: string;
  readonly ATags: readonly string[];
  readonly Message: string;
  readonly Type: 'PortScan';
  readonly Source: string;
  readonly Resource: string;
  readonly Operation: 'Network';
  readonly Action: 'Audit';
  readonly Data: string;
  readonly Enforcer: 'eBPF Monitor';
  readonly Result: 'Passed';
  readonly Cwd: string;
  readonly TTY?: string;
  readonly TimestampNs: string;
  readonly Scan: {
    readonly Id: string;
    readonly Phase: ScanEpisode['phase'];
    readonly Kinds: readonly ScanKind[];
    readonly Slow: boolean;
    readonly Transports: readonly string[];
    readonly Attempts: number;
    readonly DistinctPorts: number;
    readonly DistinctHosts: number;
    readonly HostsCapped?: true;
    readonly Succeeded: number;
    readonly Refused: number;
    readonly Failed: number;
    readonly Hosts: readonly string[];
    readonly Ports: readonly number[];
    readonly OpenPorts: readonly number[];
    readonly FirstTime: string;
    readonly LastTime: string;
  };
}
