/* SPDX-License-Identifier: Apache-2.0 */
/* The one event layout shared by the kernel program, the helper and (by hand) src/monitor/decode.ts.
 * Fixed-width fields with explicit padding so every compiler lays it out the same way; the layout
 * test compares `armorwatch-monitor --print-layout` with the decoder's table. */
#ifndef ARMORWATCH_EVENT_H
#define ARMORWATCH_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AW_PATH_MAX 4096 /* PATH_MAX: longest string carried per slot, NUL excluded */
#define AW_COMM_LEN 16

/* String slots follow the fixed header in this order, each str_len[i] bytes, no NUL.
 * RESOLVED comes first because the kernel walks it before deciding whether to emit at all. */
#define AW_STR_RESOLVED 0 /* file at the returned fd (successful opens), from the task's root */
#define AW_STR_PATH 1     /* first path argument as the process passed it */
#define AW_STR_PATH2 2    /* second path argument (rename*: the new name) */
#define AW_STR_CWD 3      /* fs->pwd, from the task's root */
#define AW_STR_DIR 4      /* directory of dirfd when it is not AT_FDCWD */
#define AW_STR_DIR2 5     /* directory of newdirfd (renameat*) */
#define AW_STR_EXE 6      /* mm->exe_file of the task */
#define AW_STR_PEXE 7     /* mm->exe_file of the real parent */
#define AW_STR_TTY 8      /* name of the controlling terminal (signal->tty->name: "pts0"), empty if none */
#define AW_STR_ARGV 9     /* executions: argv, each argument cut to AW_ARG_MAX bytes and NUL-terminated */
#define AW_STR_CALLER 10  /* executions: the executable of the process before it called exec */
#define AW_STR_HOST 11    /* opens: the opened file walked to the root of the task's mount namespace
			   * (not the task's root: a chroot does not hide it), when that walk was made */
#define AW_STR_COUNT 12
/* Network events reuse the two path slots for socket addresses, as the kernel's struct sockaddr
 * bytes (family first; at most AW_SOCKADDR_MAX bytes): */
#define AW_STR_REMOTE AW_STR_PATH  /* connect: the address asked for; accept: the peer */
#define AW_STR_LOCAL AW_STR_PATH2  /* bind: the address bound; listen: its address; accept: the connection's own end */
#define AW_SOCKADDR_MAX 112        /* sizeof(struct sockaddr_un) rounded up to 8 */

/* Caps on the arguments an execution carries (KubeArmor's): argv[0] and AW_ARGS_MAX more, each cut
 * to AW_ARG_MAX bytes. Anything dropped or cut sets AW_EVF_ARGV_TRUNCATED. */
#define AW_ARGS_MAX 20
#define AW_ARG_MAX 104
#define AW_TTY_MAX 64 /* sizeof(tty_struct.name) */

/* ev_flags bits */
#define AW_EVF_OWNER_VALID (1u << 0)  /* owner_uid was read from the opened inode */
#define AW_EVF_PATH_FAULT (1u << 1)   /* a user path could not be read (paged out or bad pointer) */
#define AW_EVF_TRUNCATED (1u << 2)    /* a walked path hit the depth or length limit */
#define AW_EVF_HAS_PATH2 (1u << 3)    /* the call has a second path (rename*) */
#define AW_EVF_ARGV_TRUNCATED (1u << 4) /* executions: arguments were dropped or cut to the caps */
#define AW_EVF_DIR_GONE (1u << 5)     /* execveat: the dirfd was closed on exec, its directory is unknown */
#define AW_EVF_NET_OUTCOME (1u << 6)  /* network: the later result of a connect that returned EINPROGRESS */
#define AW_EVF_IDENT (1u << 7)        /* opens: the file or an ancestor is a watched identity (ident_*) */
#define AW_EVF_URING (1u << 8)        /* opens: made by io_uring (IORING_OP_OPENAT*): the name asked for only when it could pass */
/* The port-scan gate (bpf/net.bpf.h, docs/DETECTION.md): */
#define AW_EVF_NET_GATE_OPEN (1u << 9) /* connect: it opened its key's gate; not an attempt by itself (it is
					* in the AW_EVF_NET_HANDOVER records that follow) */
#define AW_EVF_NET_HANDOVER (1u << 10) /* connect: a target the gate held back, with its counts: flags =
					* attempts, owner_uid = succeeded, dirfd = refused, dirfd2 = failed,
					* ident_ino = first attempt (boot ns), ts_boot_ns = latest; no process strings */
#define AW_EVF_NET_ATTEMPT (1u << 11)  /* with AW_EVF_NET_OUTCOME: an open gate did not send the call; this
					* record is the attempt and its result */

/* Network calls, one bit each in aw_config.net_calls (the order of src/syscalls.ts' Network rows). */
#define AW_NET_SOCKET (1u << 0)
#define AW_NET_CONNECT (1u << 1)
#define AW_NET_ACCEPT (1u << 2)
#define AW_NET_ACCEPT4 (1u << 3)
#define AW_NET_BIND (1u << 4)
#define AW_NET_LISTEN (1u << 5)

/* Network events (socket, connect, accept, accept4, bind, listen) use the same header too: dirfd is
 * the socket's fd (socket/accept: the listening or new one as documented in src/types.ts); arg_a the
 * domain (AF_*), arg_b the type (SOCK_*, without SOCK_NONBLOCK/SOCK_CLOEXEC), mode the protocol
 * (IPPROTO_*, from the socket itself where it exists); ret the call's result, or with
 * AW_EVF_NET_OUTCOME the connection's (0 or -errno); addresses in AW_STR_REMOTE / AW_STR_LOCAL.
 *
 * Executions use the same header: syscall_nr is execve (59) or execveat (322); dirfd is execveat's;
 * flags its AT_* flags (failed calls only: a successful exec has replaced the registers); ret 0 or
 * -errno; owner_uid the owner of the executed file; the resolved path of a successful exec is the
 * EXE slot (the new program). */
struct aw_event {
	__u64 ts_boot_ns;   /* bpf_ktime_get_boot_ns() at sys_enter (opens and executions: at exit) */
	__u64 cgroup_id;    /* cgroup v2 id of the task */
	__u32 host_pid;     /* tgid in the initial pid namespace */
	__u32 host_tid;
	__u32 host_ppid;    /* real_parent's tgid */
	__u32 ns_pid;       /* tgid in the task's own pid namespace */
	__u32 ns_ppid;      /* parent's tgid in the task's pid namespace; 0 when the parent is outside it */
	__u32 uid;
	__u32 gid;
	__u32 euid;         /* effective uid */
	__u32 mnt_ns;
	__u32 pid_ns;
	__u32 net_ns;
	__u32 syscall_nr;   /* x86_64 number */
	__s32 dirfd;        /* AT_FDCWD (-100) when the call takes no dirfd */
	__s32 dirfd2;       /* newdirfd of renameat*, else AT_FDCWD */
	__u32 flags;        /* open flags / AT_* flags / RENAME_* flags */
	__u32 mode;
	__u32 owner_uid;    /* valid when AW_EVF_OWNER_VALID */
	__u32 ev_flags;     /* AW_EVF_* */
	__s64 ret;          /* return value: >= 0 success, -errno on failure */
	__u64 arg_a;        /* chown uid, openat2 resolve, truncate length */
	__u64 arg_b;        /* chown gid */
	__u16 str_len[AW_STR_COUNT];
	char comm[AW_COMM_LEN];
	__u32 ident_dev;    /* AW_EVF_IDENT: the watched identity's device (the kernel's s_dev) ... */
	__u32 ident_depth;  /* ... how many components of the HOST path lie below it (0: the file itself) */
	__u64 ident_ino;    /* ... and its inode number */
};

/* Largest record the kernel can emit: header plus every slot full. */
#define AW_EVENT_MAX (sizeof(struct aw_event) + AW_STR_COUNT * AW_PATH_MAX)

/* Per-CPU counters in the `stats` map, summed by the helper into its stats frames. */
#define AW_STAT_EMITTED 0      /* records written to the ring buffer */
#define AW_STAT_LOST_RINGBUF 1 /* records that did not fit in the ring buffer (reader too slow) */
#define AW_STAT_LOST_PENDING 2 /* calls whose entry state could not be stored (no per-thread slot) */
#define AW_STAT_FILTERED 3     /* calls the kernel filters decided not to emit (not a loss) */
#define AW_STAT_FILTERED_EXEC 4 /* of those, executions */
#define AW_STAT_FILTERED_NET 5 /* of those, network calls */
#define AW_STAT_LOST_NET_PENDING 6 /* non-blocking connects whose outcome could not be tracked (map full) */
#define AW_STAT_GATED_NET 7    /* connects the scan gate counted in the kernel instead of emitting (not a loss) */
#define AW_STAT_LOST_GATE 8    /* targets held back by the gate and pushed out of its map before the handover */
#define AW_STAT_COUNT 9

/* Key of the `ident_inodes` map: a watched file or directory (bpf/identity.bpf.h). */
struct aw_ident_key {
	__u64 ino;
	__u32 dev; /* MKDEV(major, minor) as the kernel keeps it in super_block.s_dev */
	__u32 side; /* the filter side the entry belongs to (aw_slot) */
};

/* Layout of the `config` map's single value; written by the helper on every filter change. */
struct aw_config {
	__u32 pid_filter;  /* 1: only tgids in `pid_allow` pass */
	__u32 comm_filter; /* 1: only comms in `comm_allow` pass */
	__u32 armed;       /* 0 until the helper's attach command: the exec hook is attached at load */
};
/* The path, execution and network filters and the watched identities are double-buffered in the
 * program's globals (aw_sides, aw_slot: bpf/armorwatch.bpf.c, armorwatch_filter.h). */

#endif
