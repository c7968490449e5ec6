// The policy schema of armorwatch, written out by hand so that it can be read and reviewed here.
// It agrees with the KubeArmor CRDs (shared/policies/crd): same fields, types, enums, required
// fields, patterns and bounds. Unknown fields are errors, as with `kubectl apply --validate=strict`.
import type { PolicyKind } from '../types.ts';
import { FORMATS, type StringFormat } from './object-meta.ts';

export type Schema =
  | { readonly t: 'string'; readonly pattern?: string; readonly enum?: readonly string[]; readonly maxLength?: number; readonly format?: StringFormat }
  | { readonly t: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly t: 'boolean' }
  | { readonly t: 'array'; readonly items: Schema; readonly maxItems?: number }
  | {
    readonly t: 'object'; readonly props: Readonly<Record<string, Schema>>; readonly required?: readonly string[];
    /** The API server drops the field on create (status): only its field names are checked. */
    readonly discarded?: boolean;
  }
  | { readonly t: 'map'; readonly values: Schema; readonly keyFormat?: StringFormat }
  /** Free-form: anything goes (annotations' values are strings, but managedFields is arbitrary). */
  | { readonly t: 'any' };

const str = (o: { pattern?: string; enum?: readonly string[]; maxLength?: number; format?: StringFormat } = {}): Schema => ({ t: 'string', ...o });
const int = (min?: number, max?: number): Schema => ({ t: 'integer', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) });
const bool: Schema = { t: 'boolean' };
const arr = (items: Schema, maxItems?: number): Schema => ({ t: 'array', items, ...(maxItems === undefined ? {} : { maxItems }) });
const obj = (props: Record<string, Schema>, required?: string[]): Schema => ({ t: 'object', props, ...(required ? { required } : {}) });
const map = (values: Schema, keyFormat?: StringFormat): Schema => ({ t: 'map', values, ...(keyFormat ? { keyFormat } : {}) });
const any: Schema = { t: 'any' };

/** Patterns exactly as the CRDs state them (Kubernetes applies them unanchored, like RegExp.test). */
export const PATTERNS = {
  path: '^\\/+.*[^\\/]$',
  dir: '^\\/$|^\\/.*\\/$',
  execname: '^[^\\/]+$',
  syscallPath: '(^\\/+.*[^\\/]$)|(^\\/$|^\\/.*\\/$)',
  capability:
    '(chown|dac_override|dac_read_search|fowner|fsetid|kill|setgid|setuid|setpcap|linux_immutable|net_bind_service|net_broadcast|net_admin|net_raw|ipc_lock|ipc_owner|sys_module|sys_rawio|sys_chroot|sys_ptrace|sys_pacct|sys_admin|sys_boot|sys_nice|sys_resource|sys_time|sys_tty_config|mknod|lease|audit_write|audit_control|setfcap|mac_override|mac_admin)$',
  protocol:
    '(tcp|TCP|udp|UDP|raw|RAW|icmp|ICMP|icmpv6|ICMPV6|sctp|SCTP|stream|STREAM|dgram|DGRAM|rdm|RDM|seqpacket|SEQPACKET|dccp|DCCP|packet|PACKET|all|ALL)$',
} as const;

export const ACTIONS = ['Allow', 'Audit', 'Block'] as const;
const action = str({ enum: ACTIONS });
const severity = int(1, 10);
const tags = arr(str());
const message = str();
const pathStr = str({ pattern: PATTERNS.path, maxLength: 200 });
const fromSource = arr(obj({ path: pathStr }));
/** Fields every rule and every section carries. */
const common = { action, severity, tags, message };

/** x86_64 system call names the `syscalls` section accepts (the CRD's enum). */
export const SYSCALL_NAMES: readonly string[] = (
  'read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask ' +
  'rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise ' +
  'shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept ' +
  'sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt ' +
  'clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock ' +
  'fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink ' +
  'readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace getuid ' +
  'syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups ' +
  'setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending ' +
  'rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib personality ustat statfs fstatfs ' +
  'sysfs getpriority setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler ' +
  'sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall vhangup ' +
  'modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2 ' +
  'swapon swapoff reboot sethostname setdomainname iopl ioperm create_module init_module delete_module ' +
  'get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead ' +
  'setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr ' +
  'lremovexattr fremovexattr tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup ' +
  'io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old ' +
  'epoll_wait_old remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create ' +
  'timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres ' +
  'clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open ' +
  'mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ' +
  'ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat ' +
  'fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll ' +
  'unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait ' +
  'signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 ' +
  'epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init ' +
  'fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu ' +
  'process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom ' +
  'memfd_create kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 ' +
  'pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq'
).split(' ');

/** Differences between the three CRDs, as switches. */
interface Variant {
  readonly host: boolean;
  readonly cluster: boolean;
}

function specSchema(v: Variant): Schema {
  const fileSection = obj({
    ...common,
    matchPaths: arr(obj({ ...common, path: pathStr, fromSource, ownerOnly: bool, readOnly: bool, pts: bool }, ['path'])),
    matchDirectories: arr(obj({
      ...common, dir: str({ pattern: PATTERNS.dir }), fromSource, ownerOnly: bool, readOnly: bool, recursive: bool, pts: bool,
    }, ['dir'])),
    matchPatterns: arr(obj({ ...common, pattern: str(), ownerOnly: bool, readOnly: bool }, ['pattern'])),
  });
  const processSection = obj({
    ...common,
    matchPaths: arr(obj({
      ...common, path: pathStr, execname: str({ pattern: PATTERNS.execname }), allowedArgs: arr(str(), 20),
      fromSource, ownerOnly: bool, pts: bool,
    })),
    matchDirectories: arr(obj({
      ...common, dir: str({ pattern: PATTERNS.dir }), fromSource, ownerOnly: bool, recursive: bool, pts: bool,
    }, ['dir'])),
    matchPatterns: arr(obj({ ...common, pattern: str(), ownerOnly: bool }, ['pattern'])),
  });
  const networkSection = obj({
    ...common,
    matchProtocols: arr(obj(
      { ...common, protocol: str({ pattern: PATTERNS.protocol }), fromSource, ...(v.host ? {} : { pts: bool }) },
      v.host ? ['fromSource', 'protocol'] : ['protocol'],
    )),
    matchDNSQueries: arr(obj({ ...common, domain: str(), fromSource }, ['domain'])),
  });
  const capabilitiesSection = obj({
    ...common,
    matchCapabilities: arr(obj(
      { ...common, capability: str({ pattern: PATTERNS.capability }), fromSource },
      v.host ? ['capability', 'fromSource'] : ['capability'],
    )),
  });
  const syscallFromSource = arr(obj({ path: pathStr, dir: str(), recursive: bool }));
  const syscallList = arr(str({ enum: SYSCALL_NAMES }));
  const syscallsSection = obj({
    severity, tags, message,
    matchSyscalls: arr(obj({ syscall: syscallList, fromSource: syscallFromSource })),
    matchPaths: arr(obj({
      syscall: syscallList, path: str({ pattern: PATTERNS.syscallPath }), recursive: bool, fromSource: syscallFromSource,
    })),
  });
  const labels = map(str());
  const props: Record<string, Schema> = {
    action, severity, tags, message, apparmor: str(),
    file: fileSection, process: processSection, network: networkSection, capabilities: capabilitiesSection,
    syscalls: syscallsSection,
  };
  if (v.host) {
    props.nodeSelector = obj({ matchLabels: labels });
    props.device = obj({
      ...common,
      matchDevice: arr(obj({
        ...common, class: str(), level: int(1), protocol: int(), subClass: int(),
      }, ['class'])),
    });
    return obj(props, ['nodeSelector']);
  }
  const expression = obj({
    key: str({ enum: v.cluster ? ['namespace', 'label'] : ['label'] }),
    operator: str({ enum: ['In', 'NotIn'] }),
    values: arr(str()),
  });
  props.selector = v.cluster ? obj({ matchExpressions: arr(expression) }) : obj({ matchLabels: labels, matchExpressions: arr(expression) });
  props.presets = arr(obj({ name: str(), action }));
  return obj(props);
}

/**
 * Kubernetes ObjectMeta as the API server decodes and checks it on create. metadata.name (a DNS-1123
 * subdomain) and metadata.namespace (a DNS-1123 label, namespaced kinds only) are checked in
 * validate.ts, since their rule depends on the kind; whole-metadata rules are in object-meta.ts.
 */
const time = str({ format: FORMATS.rfc3339 });
const metadata = obj({
  name: str(), generateName: str({ format: FORMATS.generateName }), namespace: str(), uid: str(), resourceVersion: str(),
  generation: int(), creationTimestamp: time, deletionTimestamp: time, deletionGracePeriodSeconds: int(),
  labels: map(str({ format: FORMATS.labelValue }), FORMATS.qualifiedName),
  annotations: map(str(), FORMATS.annotationKey),
  ownerReferences: arr(obj({ apiVersion: str(), kind: str(), name: str(), uid: str(), controller: bool, blockOwnerDeletion: bool })),
  finalizers: arr(str({ format: FORMATS.qualifiedName })), selfLink: str(),
  managedFields: arr(obj({
    manager: str(), operation: str(), apiVersion: str(), time, fieldsType: str(), fieldsV1: any, subresource: str(),
  })),
}, ['name']);

function documentSchema(v: Variant): Schema {
  return obj({
    apiVersion: str(), kind: str(), metadata, spec: specSchema(v),
    status: { t: 'object', props: { status: str() }, discarded: true },
  }, ['apiVersion', 'kind', 'metadata']);
}

export const DOCUMENT_SCHEMAS: Readonly<Record<PolicyKind, Schema>> = {
  KubeArmorPolicy: documentSchema({ host: false, cluster: false }),
  KubeArmorClusterPolicy: documentSchema({ host: false, cluster: true }),
  KubeArmorHostPolicy: documentSchema({ host: true, cluster: false }),
};

export const API_VERSION = 'security.kubearmor.com/v1';
export const POLICY_KINDS: readonly PolicyKind[] = ['KubeArmorPolicy', 'KubeArmorClusterPolicy', 'KubeArmorHostPolicy'];
