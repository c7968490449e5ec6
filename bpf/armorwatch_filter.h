/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the kernel program and the helper: the bitmaps that sit in front of the filter maps,
 * and the first-component screen, so both sides compute the same bit for the same key. */
#ifndef ARMORWATCH_FILTER_H
#define ARMORWATCH_FILTER_H

#define AW_BITMAP_WORDS 1024 /* 64 Ki bits per bitmap */

/* The first component of an absolute path, as a number: its first 8 bytes, byte i at bits 8i,
 * zero from the first '/' or NUL on. A path whose key has a clear bit in aw_first_bits starts
 * with a component no filter entry starts with, and so cannot pass: it is rejected after reading
 * a few bytes. Keys 0, "." and ".." never reject (the path is not in folded form). */
#define AW_FIRST_KEY_DOT 0x2eULL
#define AW_FIRST_KEY_DOTDOT 0x2e2eULL

/* Bit of a key: the top 16 bits of a multiplicative (Fibonacci) hash. */
static inline __u32 aw_first_bit(__u64 key)
{
	return (__u32)((key * 0x9e3779b97f4a7c15ULL) >> 48);
}

/* aw_path_gen: what a mount call, a filter update or hooks re-attached add (its high half); a
 * rename adds 1. Cached verdicts of opened files survive renames (their path's chain is checked),
 * not a change of the high half. */
#define AW_GEN_TOPO (1ULL << 32)

/* Bit of a watched identity (struct aw_ident_key) in aw_ident_bits. */
static inline __u32 aw_ident_bit(__u64 ino, __u32 dev)
{
	return (__u32)(((ino ^ ((__u64)dev << 32)) * 0x9e3779b97f4a7c15ULL) >> 48);
}

/* The filter is double-buffered: two sides in the same maps, one in force (aw_slot), the other
 * built for the next switch. An entry's key is its hash xor the salt of its side (the watched
 * identities' key carries its side instead). Everything the kernel judges by -- paths, executions,
 * network calls, watched identities -- is part of a side, so one store switches all of it. */
static inline __u64 aw_slot_salt(__u32 slot)
{
	return slot & 1 ? 0x5bd1e9955bd1e995ULL : 0;
}

/* The switches of one side of the filter. */
struct aw_filter_side {
	__u32 pass_all;      /* every file event passes (trace mode, a rule on "/") */
	__u32 pass_calls;    /* file calls (aw_call_bit) whose events pass whatever their path: syscall rules without a path */
	__u32 exec_pass_all; /* every execution passes */
	__u32 execs;         /* any execution can pass: the execution hooks run only then */
	__u32 files;         /* any file event can pass by its path or call: the file hooks run only then (helper only) */
	__u32 idents;        /* watched identities of this side in ident_inodes (bpf/identity.bpf.h); 0: no identity walk */
	__u32 net_pass_all;  /* every network call passes (trace mode) */
	__u32 net_calls;     /* AW_NET_* bits of the network calls that pass when their protocol does */
	__u32 net_any_protocol; /* any protocol passes; else only those in net_protos */
	__u32 net_gate_protos;  /* the port-scan gate's connects (bpf/net.bpf.h): bit 0 TCP, bit 1 UDP */
	__u32 net_cg;           /* socket() and connect() are served by the root cgroup's hooks (aw_cg_*), not the per-syscall ones */
	__u32 _pad0;
	__u64 net_protos[4];    /* one bit per (protocol & 0xff) */
};

/* The value of an entry in the path maps (exact_paths, dir_prefixes): the side it belongs to, and
 * the file calls (aw_call_bit) whose events it lets through: AW_CALLS_ALL for a file rule's entry,
 * the rule's calls for a syscall rule with a path (matchPaths). */
struct aw_path_entry {
	__u32 side;
	__u32 calls;
};
#define AW_CALLS_ALL 0xffffffffu

/* The path checks get a "view" of the filter: the side in bit 0, the bits of the call being
 * judged above it, so that an entry lets through only the calls it names. Every open-like call is
 * judged with the bits of all of them (AW_OPEN_CALLS): an entry naming one open passes every
 * open, so that an opened file's cached verdict holds whichever call opened it. */
static inline __u32 aw_view(__u32 side, __u32 call_bits)
{
	return (side & 1) | (call_bits << 1);
}

static inline int aw_entry_passes(const struct aw_path_entry *e, __u32 view)
{
	return (e->calls & (view >> 1)) != 0;
}

/* A file call's bit in pass_calls, by its x86_64 number (the table is src/syscalls.ts; the helper
 * receives numbers); 0 for a call that has none. */
static inline __u32 aw_call_bit(long nr)
{
	switch (nr) {
	case 2: return 1u << 0;    /* open */
	case 257: return 1u << 1;  /* openat */
	case 437: return 1u << 2;  /* openat2 */
	case 85: return 1u << 3;   /* creat */
	case 87: return 1u << 4;   /* unlink */
	case 263: return 1u << 5;  /* unlinkat */
	case 84: return 1u << 6;   /* rmdir */
	case 82: return 1u << 7;   /* rename */
	case 264: return 1u << 8;  /* renameat */
	case 316: return 1u << 9;  /* renameat2 */
	case 76: return 1u << 10;  /* truncate */
	case 90: return 1u << 11;  /* chmod */
	case 268: return 1u << 12; /* fchmodat */
	case 92: return 1u << 13;  /* chown */
	case 260: return 1u << 14; /* fchownat */
	case 304: return 1u << 15; /* open_by_handle_at */
	case 86: return 1u << 16;  /* link */
	case 265: return 1u << 17; /* linkat */
	case 88: return 1u << 18;  /* symlink */
	case 266: return 1u << 19; /* symlinkat */
	case 165: return 1u << 20; /* mount */
	case 429: return 1u << 21; /* move_mount */
	case 426: return 1u << 22; /* io_uring_enter: io_uring opens (bpf/uring.bpf.h) */
	case 428: return 1u << 23; /* open_tree */
	case 442: return 1u << 24; /* mount_setattr */
	case 155: return 1u << 25; /* pivot_root */
	}
	return 0;
}

/* open, openat, openat2, creat, open_by_handle_at, io_uring opens */
#define AW_OPEN_CALLS ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 15) | (1u << 22))

#endif
