// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* The file monitor: on sys_enter a cheap decision (syscall, process filter, requested path against
 * the filter maps) and the arguments kept per thread; on sys_exit the full event — paths walked from
 * dentries, ids, namespaces — for the calls that can matter, sent through one ring buffer. Opens,
 * by far the most frequent calls, are decided at sys_exit alone (open_at_exit). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "armorwatch_event.h"
#include "armorwatch_filter.h"
#include "path_walk.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

/* x86_64 numbers of the calls covered */
#define NR_open 2
#define NR_truncate 76
#define NR_rename 82
#define NR_rmdir 84
#define NR_creat 85
#define NR_unlink 87
#define NR_chmod 90
#define NR_chown 92
#define NR_openat 257
#define NR_fchownat 260
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_fchmodat 268
#define NR_renameat2 316
#define NR_openat2 437
#define NR_open_by_handle_at 304
/* calls that give a file another name: reported, matched on both names */
#define NR_link 86
#define NR_symlink 88
#define NR_linkat 265
#define NR_symlinkat 266
/* executions */
#define NR_execve 59
#define NR_execveat 322
/* calls that change which path names a dentry (they bump aw_path_gen) */
#define NR_pivot_root 155
#define NR_mount 165
#define NR_umount2 166
#define NR_move_mount 429
#define NR_mount_setattr 442
#define NR_open_tree 428
/* network calls (net.bpf.h) */
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_bind 49
#define NR_listen 50
#define NR_accept4 288

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define H_PROC 0xf51debb7de530372ULL /* fnv1a("/proc"); the filter test covers it */

/* Arguments of a call in flight, from sys_enter to sys_exit of the same thread. */
struct pending {
	__u64 ts;
	__u64 args[6];
	__u32 nr;
	__u16 candidate; /* 1: emit at exit; 0 (opens): emit only if the opened file's path passes */
	__u16 live;      /* set at entry, cleared at exit */
};

/* The last opened file on this CPU whose resolved path did not pass: the same file opened again
 * (the common case of a filtered open) is judged from these few words, without a map lookup. A
 * per-CPU copy, not per-thread: per-thread storage costs a helper call to reach. */
struct last_filtered {
	__u64 dentry, mnt, root_d, root_m; /* as in struct verdict_key */
	__u64 inode, parent, gen;          /* as in struct verdict */
};

#define AW_FAST_SCAN_MEMO 256 /* = AW_FAST_SCAN: requested paths shorter than this are memoized */
#define AW_XMEMO 8            /* dropped executions remembered per CPU */

/* One of the last executions on this CPU that the process-rule filter dropped: its requested path
 * (as the caller spelt it) and its file, as in struct last_filtered. The same program run again the
 * same way, the usual case of a filtered exec, is then judged by comparing a few words, without
 * hashing the path or looking up the file's cached verdict. */
struct exec_memo {
	__u64 dentry, mnt, root_d, root_m; /* as in struct verdict_key */
	__u64 inode, parent, gen;          /* as in struct verdict */
	__u32 len;                         /* bytes of req, its NUL included; 0: no memo */
	__u32 slot;                        /* the filter's side that judged it */
	__u8 req[AW_FAST_SCAN_MEMO];
};

/* All a dropped execution touches besides the task and its file: the requested path as read, and
 * the last AW_XMEMO dropped executions (several programs that alternate, as a shell script calling
 * a few tools, each keep their entry), replaced in turn. A few KiB per CPU, apart from `heap`.
 * key[i] (exec_memo_key of entry i, 0 while it is being written) sits in one cache line: only the
 * entry whose key matches is read (each line read costs on the exec path, where little is cached). */
struct xhot {
	__u64 key[AW_XMEMO];
	__u8 req[AW_FAST_SCAN_MEMO];
	struct exec_memo ent[AW_XMEMO];
	__u32 next;
};

/* ---- path filter ---------------------------------------------------------------------------- */

#define AW_FAST_SCAN 256 /* paths up to this long, outside /proc, take the plain loop */
_Static_assert(AW_FAST_SCAN_MEMO == AW_FAST_SCAN, "the exec memo holds a path the plain loop takes");

/* State of one scan over a NUL-free string in heap.tmp[start..end). It lives in the map value,
 * not on the stack, so the verifier does not track it as constants and checks the callback once. */
struct scan {
	__u32 start, end;
	__u64 h;       /* fnv1a of the path so far */
	__u64 alt;     /* fnv1a of the /proc/<pid|self|thread-self>/... path spelled /proc/... */
	__u64 comp;    /* fnv1a of the current component */
	__u32 comp_len;
	__u32 comp_idx; /* components finished so far */
	__u32 digits;   /* current component is all digits so far */
	__u32 proc;     /* first component was "proc" */
	__u32 alt_on;
	__u32 hit;
	__u32 unclean;  /* empty, "." or ".." component: the hash would not be of the folded path */
	__u32 slot;     /* the filter's side in force when the scan began (aw_slot) */
};

/* An execution's arguments being copied (put_argv): in the map value, like the scan state. */
struct argv_state {
	__u64 uargv; /* user address of the argv pointer array */
	__u32 off;   /* where the next argument goes in ev */
	__u32 flags; /* AW_EVF_ARGV_TRUNCATED */
};

/* Per-CPU scratch: the event being built, a buffer for one walked path, the last filtered file. */
struct heap {
	__u8 ev[AW_EVENT_MAX];
	__u8 tmp[AW_TMP_SIZE];
	struct scan sc;
	struct aw_walk_state wk;
	struct argv_state av;
};

/* All a filtered open writes: the start of the requested path and the last filtered file, in a
 * per-CPU value of a few hundred bytes. `heap` (tens of KiB, vmalloc'ed) is reached only when the
 * call may pass: fewer pages touched per open (BENCHMARKS.md, "fileperf"). */
struct hot {
	__u8 path[AW_FAST_SCAN];
	struct last_filtered last;
	struct last_filtered query; /* the opened file asked of verdicts (aw_verdict_holds) */
	struct aw_chain chain;      /* a cached verdict's chain being checked (aw_chain_walk) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* a placeholder: the helper sets the agent's size (--ringbuf-bytes) before load */
} events SEC(".maps");                /* every emitted event */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} inflight SEC(".maps");             /* thread -> call in flight (task-local: no hash, freed with the thread) */

/* What an execve/execveat entry keeps for the exec hook: the call and the caller's executable. By
 * tgid, not thread: a thread that execs becomes the group leader and takes the tgid as its id.
 * The hook or the failed call's exit clears it; a record left by an exec that never returned is
 * overwritten by the next exec of that tgid. Array slots, not hash entries: a fork+exec then costs
 * a few plain stores and loads instead of a hash insert and delete (those were most of a filtered
 * exec's time). Each tgid has a set of two slots in one cache line (tgid modulo AW_EXEC_SLOTS / 2):
 * an entry claims a free one (compare-and-swap of `tgid` from 0) or its own, so two execs in flight
 * at once whose tgids share a set each keep their record. A third at the same moment takes the
 * first slot over; `check` (over every field) keeps a record torn between two writers from being
 * read, and the exec that lost its record is reported without its caller, as one the entry program
 * did not see. */
struct exec_start {
	__u64 dentry, mnt; /* f_path of the caller's mm->exe_file */
	__u64 check;       /* exec_start_check() of the fields below and above */
	__u32 tgid;        /* 0: the slot is free; tgid and nr are one 8-byte word (exec_slot_claim) */
	__u32 nr;
};

_Static_assert(__builtin_offsetof(struct exec_start, tgid) % 8 == 0 &&
	       __builtin_offsetof(struct exec_start, nr) == __builtin_offsetof(struct exec_start, tgid) + 4,
	       "tgid and nr make one aligned 8-byte word");

#define AW_EXEC_SLOTS 32768 /* a power of two: the default pid_max */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AW_EXEC_SLOTS);
	__type(key, __u32);
	__type(value, struct exec_start);
} exec_starts SEC(".maps");          /* tgid % AW_EXEC_SLOTS -> exec in progress */

/* 1 when the free slot st (tgid and nr 0) is now this tgid's: tgid and nr as one word (the BPF
 * compare-and-swap of this toolchain is 64-bit). */
static __always_inline int exec_slot_claim(struct exec_start *st, __u32 tgid)
{
	return !st->tgid && !__sync_val_compare_and_swap((__u64 *)&st->tgid, 0, (__u64)tgid);
}

static __always_inline __u64 exec_start_check(__u64 dentry, __u64 mnt, __u32 tgid, __u32 nr)
{
	return (dentry ^ (mnt * 0x9e3779b97f4a7c15ULL) ^ (((__u64)tgid << 32) | nr)) * 0xff51afd7ed558ccdULL;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the helper */
	__type(key, __u32);
	__type(value, struct heap);
} heap SEC(".maps");                 /* cpu -> scratch */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hot);
} hot SEC(".maps");                  /* the filtered open's own state */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xhot);
} xhot SEC(".maps");                 /* the dropped execution's own state */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AW_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");                /* AW_STAT_* counters */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aw_config);
} aw_config SEC(".maps");            /* filter switches, written by the helper */

/* The filter maps hold two sides, the one in force (aw_slot) and the one the helper builds for the
 * next switch: a key is the entry's fnv1a hash xor aw_slot_salt(side) (armorwatch_filter.h), its
 * value the side. The helper sets max_entries to twice --kernel-filter-capacity before load, so a
 * full new side fits beside a full old one; entries are allocated as inserted (no prealloc), so an
 * idle side costs nothing. */
#define AW_FILTER_MAP(name)                                                                      \
	struct {                                                                                 \
		__uint(type, BPF_MAP_TYPE_HASH);                                                 \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                            \
		__uint(max_entries, 2 * 65536);                                                  \
		__type(key, __u64);                                                              \
		__type(value, __u32);                                                            \
	} name SEC(".maps")

/* The path maps hold struct aw_path_entry: the side, and the calls the entry lets through. */
#define AW_PATH_MAP(name)                                                                        \
	struct {                                                                                 \
		__uint(type, BPF_MAP_TYPE_HASH);                                                 \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                            \
		__uint(max_entries, 2 * 65536);                                                  \
		__type(key, __u64);                                                              \
		__type(value, struct aw_path_entry);                                             \
	} name SEC(".maps")

AW_PATH_MAP(exact_paths);  /* fnv1a(path) */
AW_PATH_MAP(dir_prefixes); /* fnv1a(prefix ending in '/') */
/* The process-rule filter (executions): the same hashes as the path filter, in maps of their own. */
AW_FILTER_MAP(exec_exact);   /* fnv1a(executed file's path) */
AW_FILTER_MAP(exec_prefix);  /* fnv1a(directory ending in '/') */
AW_FILTER_MAP(exec_names);   /* fnv1a(base name) (matchPaths execname) */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} pid_allow SEC(".maps");            /* tgids that pass when config.pid_filter */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[AW_COMM_LEN]);
	__type(value, __u32);
} comm_allow SEC(".maps");           /* comms that pass when config.comm_filter */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} pid_deny SEC(".maps");             /* tgids that never pass (the agent and the helper) */

/* Per side of the filter: one bit per (hash & 0xffff) of every entry of that side in exact_paths /
 * dir_prefixes (unsalted hash). A clear bit answers "not in the map" with one load instead of a
 * hash-table lookup, which is what keeps non-matching paths cheap. */
__u64 aw_exact_bits[2][AW_BITMAP_WORDS];
__u64 aw_prefix_bits[2][AW_BITMAP_WORDS];
__u64 aw_xexact_bits[2][AW_BITMAP_WORDS];  /* the same for exec_exact, exec_prefix, exec_names */
__u64 aw_xprefix_bits[2][AW_BITMAP_WORDS];
__u64 aw_xname_bits[2][AW_BITMAP_WORDS];
/* One bit per aw_first_bit() of the first component of every entry (armorwatch_filter.h); all
 * bits set when an entry is "/" itself. */
__u64 aw_first_bits[2][AW_BITMAP_WORDS];
__u64 aw_deny_bits[AW_BITMAP_WORDS]; /* the same as aw_exact_bits for pid_deny, by tgid */

/* The switches of each side (struct aw_filter_side) and the side in force. The helper fills the
 * other side in full, then stores its index here: every program reads aw_slot once and judges its
 * call by that side alone, so at each instant the old filter or the new one applies, never a mix.
 * A program reads aw_path_gen before aw_slot; the helper stores aw_slot before bumping
 * aw_path_gen, so a verdict cached under the new generation was judged by the new side. */
struct aw_filter_side aw_sides[2];
__u32 aw_slot;

/* Paths can change under a file only through rename, the mount calls, or another root (part of the
 * key). Every successful one of those calls, and every filter update, bumps this generation. A
 * rename adds 1; a mount call, a filter update and hooks re-attached add AW_GEN_TOPO
 * (armorwatch_filter.h), changing the high half. An execution's cached verdict holds while the
 * whole value is unchanged. An opened file's holds while the high half is unchanged and its
 * path's chain (aw_chain_hash) is the one it was judged with: renames of other files leave it. */
__u64 aw_path_gen;

struct verdict_key {
	__u64 dentry, mnt;       /* the opened file's f_path */
	__u64 root_d, root_m;    /* the task's root: the same file has another path in a container */
};

struct verdict {
	__u64 inode, parent;     /* checked on use, so a reused dentry address is not trusted */
	__u64 gen;
	__u32 pass;
	__u32 _pad0;
	__u64 chain;             /* opened files: aw_chain_hash() when judged; 0: not kept */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct verdict_key);
	__type(value, struct verdict);
} verdicts SEC(".maps");             /* opened file -> did its resolved path pass the filter */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct verdict_key);
	__type(value, struct verdict);
} exec_verdicts SEC(".maps");        /* executed file -> did its path pass the process-rule filter */

/* v & mask, in a form the compiler cannot drop when it already knows the bound: the verifier
 * does not, and needs to see the mask to accept a variable offset into a map value. */
static __always_inline __u64 bounded(__u64 v, const __u64 mask)
{
	asm volatile("%0 &= %1" : "+r"(v) : "i"(mask));
	return v;
}

/* min(v, max), computed on the register that is then used: the compiler may otherwise compare
 * one copy and use another, which the verifier cannot follow. */
static __always_inline __u64 at_most(__u64 v, const __u64 max)
{
	asm volatile("if %0 <= %1 goto +1\n\t%0 = %1" : "+r"(v) : "i"(max));
	return v;
}

/* Where the next string slot may start: no slot starts past the start of the last one. */
#define AW_LAST_SLOT (sizeof(struct aw_event) + (AW_STR_COUNT - 1) * AW_PATH_MAX)

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

static __always_inline struct heap *scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&heap, &cpu);
}

static __always_inline struct hot *hot_state(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&hot, &zero);
}

#define FNV_STEP(h, c) (((h) ^ (__u64)(c)) * FNV_PRIME)
#define H_COMP_PROC 0x85729b0e3537bc61ULL        /* fnv1a("proc") */
#define H_COMP_SELF 0x2d19e518d40792b7ULL        /* fnv1a("self") */
#define H_COMP_THREAD_SELF 0xd31e6280a0119e26ULL /* fnv1a("thread-self") */
#define H_DOT 0xaf63a34c86018bb1ULL              /* fnv1a(".") */
#define H_DOTDOT 0x07da1a07b4a03f2dULL           /* fnv1a("..") */

static __always_inline int probe(void *map, __u64 *bits, __u64 h, __u32 slot)
{
	__u32 b = h & 0xffff;
	if (!(bits[(b >> 6) & (AW_BITMAP_WORDS - 1)] & (1ULL << (b & 63))))
		return 0;
	__u64 k = h ^ aw_slot_salt(slot);
	return bpf_map_lookup_elem(map, &k) != NULL;
}
/* The path maps: the entry must also name the call of the view (aw_view). */
static __always_inline int probe_calls(void *map, __u64 *bits, __u64 h, __u32 view)
{
	__u32 b = h & 0xffff;
	if (!(bits[(b >> 6) & (AW_BITMAP_WORDS - 1)] & (1ULL << (b & 63))))
		return 0;
	__u64 k = h ^ aw_slot_salt(view);
	struct aw_path_entry *e = bpf_map_lookup_elem(map, &k);
	return e && aw_entry_passes(e, view);
}
#define IN_EXACT(h, v) probe_calls(&exact_paths, aw_exact_bits[(v) & 1], (h), (v))
#define IN_PREFIX(h, v) probe_calls(&dir_prefixes, aw_prefix_bits[(v) & 1], (h), (v))
#define IN_XEXACT(h, s) probe(&exec_exact, aw_xexact_bits[(s) & 1], (h), (s))
#define IN_XPREFIX(h, s) probe(&exec_prefix, aw_xprefix_bits[(s) & 1], (h), (s))
#define IN_XNAME(h, s) probe(&exec_names, aw_xname_bits[(s) & 1], (h), (s))

/* The side in force; see aw_slot. */
static __always_inline __u32 filter_slot(void)
{
	__u32 slot = *(volatile __u32 *)&aw_slot;
	return slot & 1;
}

/* 1 when every file event of call `nr` passes on side `slot`, whatever its path (trace mode, or a
 * syscall rule without a path on that call). The bit's test is a global function: the verifier
 * checks it once, and its callers do not fork into one state per call's bit. */
__noinline int aw_call_bit_passes(__u32 slot, long nr)
{
	return (aw_sides[slot & 1].pass_calls & aw_call_bit(nr)) != 0;
}

/* The view of side `slot` for judging the path of call `nr` (aw_view): a global function, like
 * aw_call_bit_passes, so that the call's bit does not fork the verifier's states. */
__noinline __u32 aw_call_view(__u32 slot, long nr)
{
	return aw_view(slot, aw_call_bit(nr));
}

/* The common cases (no syscall rule without a path) without the call. */
static __always_inline int aw_call_passes(__u32 slot, long nr)
{
	struct aw_filter_side *side = &aw_sides[slot & 1];
	if (side->pass_all)
		return 1;
	return side->pass_calls && aw_call_bit_passes(slot, nr);
}

/* Ends the component that precedes a '/' (or the end of the string). */
static __always_inline void end_component(struct scan *s)
{
	if (s->comp_idx > 0 &&
	    (s->comp_len == 0 || (s->comp_len == 1 && s->comp == H_DOT) ||
	     (s->comp_len == 2 && s->comp == H_DOTDOT)))
		s->unclean = 1;
	if (s->comp_idx == 1)
		s->proc = s->comp_len == 4 && s->comp == H_COMP_PROC;
	if (s->comp_idx == 2 && s->proc &&
	    ((s->digits && s->comp_len > 0) || s->comp == H_COMP_SELF || s->comp == H_COMP_THREAD_SELF)) {
		s->alt_on = 1;
		s->alt = H_PROC;
	}
	s->comp_idx++;
	s->comp = FNV_OFFSET;
	s->comp_len = 0;
	s->digits = 1;
}

/* Feeds one byte; returns 1 when a directory prefix ending here matched. */
static __always_inline int scan_char(struct scan *s, __u8 c)
{
	if (c == '/') {
		end_component(s);
		s->h = FNV_STEP(s->h, '/');
		if (IN_PREFIX(s->h, s->slot))
			return 1;
		if (s->alt_on) {
			s->alt = FNV_STEP(s->alt, '/');
			if (IN_PREFIX(s->alt, s->slot))
				return 1;
		}
		return 0;
	}
	s->h = FNV_STEP(s->h, c);
	s->comp = FNV_STEP(s->comp, c);
	s->comp_len++;
	if (c < '0' || c > '9')
		s->digits = 0;
	if (s->alt_on)
		s->alt = FNV_STEP(s->alt, c);
	return 0;
}

/* After the last byte: the exact and "prefix without its slash" forms of the whole path. */
static __always_inline int scan_end(struct scan *s)
{
	end_component(s);
	if (s->unclean)
		return 1;
	if (IN_EXACT(s->h, s->slot) || IN_PREFIX(FNV_STEP(s->h, '/'), s->slot))
		return 1;
	if (s->alt_on && (IN_EXACT(s->alt, s->slot) || IN_PREFIX(FNV_STEP(s->alt, '/'), s->slot)))
		return 1;
	return 0;
}

static __always_inline void scan_init(struct scan *s, __u32 start, __u32 end, __u32 slot)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->start = start;
	s->end = end;
	s->h = FNV_OFFSET;
	s->comp = FNV_OFFSET;
	s->digits = 1;
}

struct scan_ctx {
	struct heap *hp;
};

static long scan_step(__u32 i, void *ctx)
{
	struct heap *hp = ((struct scan_ctx *)ctx)->hp;
	struct scan *s = &hp->sc;
	__u32 idx = s->start + i;
	if (idx >= s->end)
		return 1;
	s->hit = scan_char(s, hp->tmp[bounded(idx, AW_PATH_MAX - 1)]); /* end <= AW_PATH_MAX */
	return s->hit ? 1 : 0;
}

#define W2(a, b) (((__u32)(a) << 8) | (b))
#define W3(a, b, c) (((__u32)(a) << 16) | W2(b, c))
#define W4(a, b, c, d) (((__u32)(a) << 24) | W3(b, c, d))

/* The last bytes before a '/' (or the end) say whether the component just ended was empty, "."
 * or "..": then the spelling is not the folded path and its hash proves nothing. */
static __always_inline int unclean_tail(__u32 w)
{
	return (w & 0xffff) == W2('/', '/') || (w & 0xffffff) == W3('/', '.', '/') || w == W4('/', '.', '.', '/');
}

/* The common case in a plain loop whose state is two numbers. A global function: the verifier
 * checks it once, apart from its callers, instead of once per call site. */
__noinline int aw_path_passes_fast(struct heap *hp, __u32 start, __u32 end, __u32 slot)
{
	__u64 h = FNV_OFFSET;
	__u32 w = 0;

	if (!hp)
		return 1;
	for (__u32 i = 0; i < AW_FAST_SCAN; i++) {
		__u32 idx = start + i;
		if (idx >= end)
			break;
		__u8 c = hp->tmp[bounded(idx, AW_PATH_MAX - 1)];
		w = (w << 8) | c;
		h = FNV_STEP(h, c);
		if (c == '/') {
			if (i > 0 && unclean_tail(w))
				return 1;
			if (IN_PREFIX(h, slot))
				return 1;
		}
	}
	if (unclean_tail((w << 8) | '/') && end - start > 1)
		return 1;
	return IN_EXACT(h, slot) || IN_PREFIX(FNV_STEP(h, '/'), slot);
}

static __always_inline int starts_with_proc(struct heap *hp, __u32 start, __u32 end)
{
	if (end - start < 6)
		return 0;
	__u8 *p = hp->tmp + bounded(start, AW_PATH_MAX - 1);
	return p[1] == 'p' && p[2] == 'r' && p[3] == 'o' && p[4] == 'c' && p[5] == '/';
}

/* The process-rule filter on one absolute path in hp->tmp[start..end): 1 when it equals an
 * executed-file entry, lies under a directory entry, or its base name is a name entry, or when
 * it cannot be judged from its spelling (relative, unfolded, longer than AW_FAST_SCAN, /proc).
 * A global function, verified once. */
__noinline int aw_exec_path_passes(struct heap *hp, __u32 start, __u32 end, __u32 slot)
{
	__u64 h = FNV_OFFSET, name = FNV_OFFSET;
	__u32 w = 0;

	if (!hp || start >= end || end > AW_PATH_MAX || end - start > AW_FAST_SCAN)
		return 1;
	if (hp->tmp[bounded(start, AW_PATH_MAX - 1)] != '/' || starts_with_proc(hp, start, end))
		return 1;
	for (__u32 i = 0; i < AW_FAST_SCAN; i++) {
		__u32 idx = start + i;
		if (idx >= end)
			break;
		__u8 c = hp->tmp[bounded(idx, AW_PATH_MAX - 1)];
		w = (w << 8) | c;
		h = FNV_STEP(h, c);
		if (c == '/') {
			if (i > 0 && unclean_tail(w))
				return 1;
			if (IN_XPREFIX(h, slot))
				return 1;
			name = FNV_OFFSET;
		} else {
			name = FNV_STEP(name, c);
		}
	}
	if (unclean_tail((w << 8) | '/') && end - start > 1)
		return 1;
	return IN_XEXACT(h, slot) || IN_XPREFIX(FNV_STEP(h, '/'), slot) || IN_XNAME(name, slot);
}

/* 0 when the first component of the absolute path p[0..len) (p[0] is '/') is one that no filter
 * entry starts with: then nothing after it can make the path pass. Reads at most 9 bytes. */
static __always_inline int first_may_pass(const __u8 *p, __u32 len, __u32 slot)
{
	__u64 k = 0;
#pragma unroll
	for (int i = 1; i <= 8; i++) {
		if ((__u32)i >= len || p[i] == '/')
			break;
		k |= (__u64)p[i] << (8 * (i - 1));
	}
	if (k == 0 || k == AW_FIRST_KEY_DOT || k == AW_FIRST_KEY_DOTDOT)
		return 1; /* "/", "//x", "/./x", "/../x": the full scan passes them as unclean or exact */
	__u32 b = aw_first_bit(k);
	return (aw_first_bits[slot & 1][(b >> 6) & (AW_BITMAP_WORDS - 1)] >> (b & 63)) & 1;
}

/* 1 when the absolute path in hp->tmp[start..end) passes the path filter, or cannot be judged
 * from its spelling (relative, unfolded) and so must pass. /proc paths and long ones go through
 * bpf_loop with the state in the map value, which also tries the /proc/<pid|self>/ aliases. */
static __always_inline int path_passes(struct heap *hp, __u32 start, __u32 end, __u32 slot)
{
	if (start >= end || end > AW_PATH_MAX || hp->tmp[bounded(start, AW_PATH_MAX - 1)] != '/')
		return 1;
	if (end - start <= AW_FAST_SCAN && !starts_with_proc(hp, start, end))
		return aw_path_passes_fast(hp, start, end, slot);
	struct scan_ctx ctx = { .hp = hp };
	scan_init(&hp->sc, start, end, slot);
	bpf_loop(AW_PATH_MAX, scan_step, &ctx, 0);
	if (hp->sc.hit)
		return 1;
	return scan_end(&hp->sc);
}

/* 0x80 in each byte of w that equals the byte b repeated in `rep`, 0 in the others (exact: no
 * false hits from borrows, unlike the shorter has-zero-byte idiom). */
static __always_inline __u64 bytes_eq(__u64 w, __u64 rep)
{
	__u64 x = w ^ rep;
	return ~(((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | x | 0x7f7f7f7f7f7f7f7fULL);
}

#define AW_SCREEN_WORDS (AW_FAST_SCAN / 8)

/* 1 unless the path in tmp[0..len) (len < AW_FAST_SCAN) is certainly in folded form: no '/'
 * followed by '.', '/' or the end. The screen judges only folded paths; every other spelling
 * takes the full scan, which passes it as before. ("/etc/../tmp/x" is "/tmp/x": a ".." can lead
 * to another first component.) Eight bytes at a time; hidden files ("/.x") count too, which only
 * costs them the full scan. */
static __always_inline int maybe_unfolded(const __u8 *buf, __u32 len)
{
	__u64 carry = 0;
	for (__u32 i = 0; i < AW_SCREEN_WORDS; i++) {
		if (i * 8 > len) /* the word holding the NUL at tmp[len] was the last */
			break;
		__u64 w = *(const __u64 *)(buf + bounded(i * 8, AW_FAST_SCAN - 8));
		if (i * 8 + 8 > len + 1) /* bytes after the NUL are stale: read them as NULs */
			w &= ~0ULL >> (8 * (i * 8 + 8 - (len + 1)));
		__u64 slash = bytes_eq(w, 0x2f2f2f2f2f2f2f2fULL);
		__u64 after = slash | bytes_eq(w, 0x2e2e2e2e2e2e2e2eULL) | bytes_eq(w, 0);
		if ((slash & (after >> 8)) || (carry & after & 0x80))
			return 1;
		carry = slash >> 56;
	}
	return 0;
}

/* Checks a user path; any doubt (fault, relative, no scratch) passes. A short absolute path in
 * folded form is screened by its first component before it is hashed: one outside every rule's
 * first component is rejected without the per-byte scan. */
static __always_inline int user_path_passes(const char *upath, __u32 slot)
{
	struct hot *ht = hot_state();
	if (!ht)
		return 1;
	/* A read sized for the common case, into the small per-CPU buffer (see struct hot); the
	 * helper's cost also grows with the size asked (measured, BENCHMARKS.md). */
	long n = bpf_probe_read_user_str(ht->path, AW_FAST_SCAN, upath);
	if (n <= 1 || ht->path[0] != '/')
		return 1;
	__u32 len = (__u32)(n - 1);
	if (len < AW_FAST_SCAN - 1 && !maybe_unfolded(ht->path, len) && !first_may_pass(ht->path, len, slot))
		return 0;
	/* The full scan works in heap.tmp: the path read again there, in full when it was cut. */
	struct heap *hp = scratch();
	if (!hp)
		return 1;
	n = bpf_probe_read_user_str(hp->tmp, AW_PATH_MAX, upath);
	if (n <= 1 || hp->tmp[0] != '/')
		return 1;
	return path_passes(hp, 0, (__u32)(n - 1), slot);
}

/* ---- sys_enter ------------------------------------------------------------------------------- */

/* Which argument holds the path(s) and the dirfd(s); -1 when absent. */
struct shape {
	int path, path2, dirfd, dirfd2;
	int is_open;
};

/* The calls of issue 14 part 5: other names for a file (link*, symlink*), mounts, and the open that
 * takes no path (open_by_handle_at: judged by the file it opened alone). */
static __always_inline int evasion_shape(__u32 nr, struct shape *sh)
{
	switch (nr) {
	case NR_open_by_handle_at: sh->is_open = 1; return 1;
	case NR_link: case NR_symlink: case NR_mount: sh->path = 0; sh->path2 = 1; return 1;
	case NR_linkat: case NR_move_mount:
		sh->dirfd = 0; sh->path = 1; sh->dirfd2 = 2; sh->path2 = 3; return 1;
	case NR_symlinkat: sh->path = 0; sh->dirfd2 = 1; sh->path2 = 2; return 1;
	/* The rest of the mount family with paths: a detached copy of a tree (open_tree, made a mount
	 * by move_mount), a mount's attributes changed (mount_setattr), the root swapped (pivot_root). */
	case NR_open_tree: case NR_mount_setattr: sh->dirfd = 0; sh->path = 1; return 1;
	case NR_pivot_root: sh->path = 0; sh->path2 = 1; return 1;
	}
	return 0;
}

static __always_inline int syscall_shape(__u32 nr, struct shape *sh)
{
	sh->path = -1; sh->path2 = -1; sh->dirfd = -1; sh->dirfd2 = -1; sh->is_open = 0;
	switch (nr) {
	case NR_open: case NR_creat: sh->path = 0; sh->is_open = 1; return 1;
	case NR_openat: case NR_openat2: sh->dirfd = 0; sh->path = 1; sh->is_open = 1; return 1;
	case NR_unlink: case NR_rmdir: case NR_truncate: case NR_chmod: case NR_chown:
		sh->path = 0; return 1;
	case NR_unlinkat: case NR_fchmodat: case NR_fchownat: sh->dirfd = 0; sh->path = 1; return 1;
	case NR_rename: sh->path = 0; sh->path2 = 1; return 1;
	case NR_renameat: case NR_renameat2:
		sh->dirfd = 0; sh->path = 1; sh->dirfd2 = 2; sh->path2 = 3; return 1;
	}
	return evasion_shape(nr, sh);
}

static __always_inline int on_enter(long id, const __u64 *args);
__noinline int aw_net_connect_enter(int fd, __u64 uaddr, __u64 ulen, int any); /* net.bpf.h */
/* Whether socket() and connect() have hooks of their own on the root cgroup (net.bpf.h, aw_cg_*)
 * under the side in force (net_cg, set by the helper): the per-syscall hooks then leave those two
 * calls alone. */
static __always_inline __u32 aw_net_cg_on(void)
{
	return aw_sides[filter_slot()].net_cg;
}

/* Entry of execve/execveat: keeps where the caller's executable is (its f_path), because once the
 * exec succeeds the old program is gone; the exec hook walks it only if it emits the event. Kept
 * in exec_starts by tgid: a preallocated map, so an exec costs no allocation (task-local
 * storage would allocate for every new process, which is what a fork+exec is). */
static __always_inline int exec_enter(long id)
{
	__u32 zero = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!cfg || !cfg->armed || !aw_sides[filter_slot()].execs)
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	struct file *exe = bt->mm->exe_file;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 idx = (tgid & (AW_EXEC_SLOTS / 2 - 1)) * 2;
	struct exec_start *st = bpf_map_lookup_elem(&exec_starts, &idx);
	if (!st)
		return 0;
	if (st->tgid != tgid && !exec_slot_claim(st, tgid)) {
		/* the first slot is another's: the second if it is free or ours, else the first */
		__u32 idx2 = idx + 1;
		struct exec_start *st2 = bpf_map_lookup_elem(&exec_starts, &idx2);
		if (st2 && (st2->tgid == tgid || exec_slot_claim(st2, tgid)))
			st = st2;
	}
	st->dentry = (__u64)exe->f_path.dentry;
	st->mnt = (__u64)exe->f_path.mnt;
	st->nr = (__u32)id;
	st->tgid = tgid;
	/* from the stored words: pointers themselves take no arithmetic */
	st->check = exec_start_check(*(volatile __u64 *)&st->dentry, *(volatile __u64 *)&st->mnt, tgid, (__u32)id);
	return 0;
}

/* sys_enter hands over pt_regs: the x86_64 syscall arguments are di, si, dx, r10, r8, r9. */
static __always_inline int on_enter_regs(struct pt_regs *regs, long id)
{
	__u64 args[6];
	struct shape sh;

	if (id < 0)
		return 0;
	if (!syscall_shape((__u32)id, &sh)) { /* most calls: leave before reading anything */
		if (id == NR_execve || id == NR_execveat)
			return exec_enter(id);
		if (id == NR_connect && !aw_net_cg_on())
			return aw_net_connect_enter((int)BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
						    BPF_CORE_READ(regs, dx), 0);
		return 0;
	}
	if (sh.is_open)
		return 0;
	args[0] = BPF_CORE_READ(regs, di);
	args[1] = BPF_CORE_READ(regs, si);
	args[2] = BPF_CORE_READ(regs, dx);
	args[3] = BPF_CORE_READ(regs, r10);
	args[4] = BPF_CORE_READ(regs, r8);
	args[5] = BPF_CORE_READ(regs, r9);
	return on_enter(id, args);
}

static __always_inline int process_passes(struct aw_config *cfg, __u32 tgid)
{
	__u32 b = tgid & 0xffff;
	if ((aw_deny_bits[(b >> 6) & (AW_BITMAP_WORDS - 1)] & (1ULL << (b & 63))) &&
	    bpf_map_lookup_elem(&pid_deny, &tgid))
		return 0;
	if (cfg->pid_filter && !bpf_map_lookup_elem(&pid_allow, &tgid))
		return 0;
	if (cfg->comm_filter) {
		char comm[AW_COMM_LEN] = {};
		bpf_get_current_comm(comm, sizeof(comm));
		if (!bpf_map_lookup_elem(&comm_allow, comm))
			return 0;
	}
	return 1;
}

/* Entry of every hook: the syscall number and its six raw arguments. */
static __always_inline int on_enter(long id, const __u64 *args)
{
	struct shape sh;
	__u32 zero = 0;

#ifdef AW_FLOOR /* the benchmark's floor build: hooks attached, nothing done (native/Makefile) */
	return 0;
#endif
	if (id < 0 || !syscall_shape((__u32)id, &sh) || sh.is_open) /* opens: all at exit */
		return 0;
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!cfg)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!process_passes(cfg, pid_tgid >> 32))
		return 0;

	struct pending p = { .ts = bpf_ktime_get_boot_ns(), .nr = (__u32)id, .candidate = 1 };
	p.args[0] = args[0]; p.args[1] = args[1]; p.args[2] = args[2];
	p.args[3] = args[3]; p.args[4] = args[4]; p.args[5] = args[5];

	__u32 slot = filter_slot();
	if (!aw_call_passes(slot, id)) {
		__u32 view = aw_call_view(slot, id);
		int dir_rel = sh.dirfd >= 0 && (int)p.args[sh.dirfd] != AT_FDCWD;
		int pass = dir_rel || user_path_passes((const char *)p.args[sh.path & 7], view);
		if (!pass && sh.path2 >= 0)
			pass = (int)p.args[sh.dirfd2 & 7] != AT_FDCWD ||
			       user_path_passes((const char *)p.args[sh.path2 & 7], view);
		if (!pass) {
			count(AW_STAT_FILTERED);
			return 0;
		}
	}
	struct pending *ps = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ps) {
		count(AW_STAT_LOST_PENDING);
		return 0;
	}
	p.live = 1;
	*ps = p;
	return 0;
}

/* ---- sys_exit -------------------------------------------------------------------------------- */

#include "identity.bpf.h"

/* Appends the path walked into tmp[pos..AW_PATH_MAX) as string slot `slot`. */
static __always_inline __u32 put_walked(struct heap *hp, __u32 off, int pos, int slot)
{
	struct aw_event *e = (void *)hp->ev;
	__u32 len = AW_PATH_MAX - (pos & (AW_PATH_MAX - 1));
	if (pos <= 0 || pos >= AW_PATH_MAX)
		return off;
	if (off > AW_LAST_SLOT || len > AW_PATH_MAX)
		return off;
	bpf_probe_read_kernel(hp->ev + at_most(off, AW_LAST_SLOT), len, hp->tmp + (pos & (AW_PATH_MAX - 1)));
	e->str_len[slot & 15] = len;
	return off + len;
}

static __always_inline __u32 put_user(struct heap *hp, __u32 off, __u64 uptr, int slot)
{
	struct aw_event *e = (void *)hp->ev;
	if (off > AW_LAST_SLOT)
		return off;
	long n = bpf_probe_read_user_str(hp->ev + at_most(off, AW_LAST_SLOT), AW_PATH_MAX, (const void *)uptr);
	if (n <= 0) {
		e->ev_flags |= AW_EVF_PATH_FAULT;
		return off;
	}
	n -= 1;
	if (n > AW_PATH_MAX)
		n = AW_PATH_MAX;
	e->str_len[slot & 15] = n;
	return off + n;
}

static __always_inline __u32 put_path(struct heap *hp, __u32 off, struct path *p, struct path *root, int slot)
{
	struct aw_event *e = (void *)hp->ev;
	int pos = aw_walk(&hp->wk, hp->tmp, p, root, &e->ev_flags);
	return put_walked(hp, off, pos, slot);
}

static __always_inline __u32 put_fd_dir(struct heap *hp, __u32 off, struct task_struct *task, int fd,
					struct path *root, int slot)
{
	struct file *f = aw_fd_file(task, fd);
	if (!f)
		return off;
	struct path fp = BPF_CORE_READ(f, f_path);
	return put_path(hp, off, &fp, root, slot);
}

static __always_inline __u32 ns_tgid(struct task_struct *t, __u32 level, struct pid_namespace *ns)
{
	struct pid *pid = BPF_CORE_READ(t, group_leader, thread_pid);
	struct upid up = {};
	if (!pid || BPF_CORE_READ(pid, level) < level)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up), (void *)pid + bpf_core_field_offset(struct pid, numbers) +
							   level * bpf_core_type_size(struct upid));
	return up.ns == ns ? up.nr : 0;
}

/* The process identity every event carries: ids, namespaces, credentials, comm, the call and its
 * result. The caller sets the timestamp and the call's own fields. */
static __always_inline void put_identity(struct aw_event *e, struct task_struct *task, long nr, long ret)
{
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	struct pid *tpid = BPF_CORE_READ(task, thread_pid);
	__u32 level = BPF_CORE_READ(tpid, level);
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), (void *)tpid + bpf_core_field_offset(struct pid, numbers) +
							    level * bpf_core_type_size(struct upid));

	e->cgroup_id = bpf_get_current_cgroup_id();
	e->host_pid = bpf_get_current_pid_tgid() >> 32;
	e->host_tid = (__u32)bpf_get_current_pid_tgid();
	e->host_ppid = BPF_CORE_READ(parent, tgid);
	e->ns_pid = ns_tgid(task, level, up.ns);
	e->ns_ppid = ns_tgid(parent, level, up.ns);
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->euid = BPF_CORE_READ(task, cred, euid.val);
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->pid_ns = BPF_CORE_READ(up.ns, ns.inum);
	e->net_ns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	e->syscall_nr = (__u32)nr;
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* The last strings of every event, in slot order: the parent's executable and the controlling
 * terminal (its name as the kernel gives it: "pts0"). */
static __always_inline __u32 put_parent_tty(struct heap *hp, __u32 off, struct task_struct *task,
					    struct path *root)
{
	struct aw_event *e = (void *)hp->ev;
	struct path pexe = BPF_CORE_READ(task, real_parent, mm, exe_file, f_path);
	off = put_path(hp, off, &pexe, root, AW_STR_PEXE);
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (tty && off <= AW_LAST_SLOT) {
		long n = bpf_probe_read_kernel_str(hp->ev + at_most(off, AW_LAST_SLOT), AW_TTY_MAX, &tty->name);
		if (n > 1) {
			e->str_len[AW_STR_TTY] = n - 1;
			off += n - 1;
		}
	}
	return off;
}

static __always_inline void send(struct heap *hp, __u32 off)
{
	if (bpf_ringbuf_output(&events, hp->ev, at_most(off, AW_EVENT_MAX), 0))
		count(AW_STAT_LOST_RINGBUF);
	else
		count(AW_STAT_EMITTED);
}

/* What a successful call `nr` adds to aw_path_gen: 1 for a rename, AW_GEN_TOPO for a mount call. */
static __always_inline __u64 renames_paths(long nr)
{
	switch (nr) {
	case NR_rename: case NR_renameat: case NR_renameat2:
		return 1;
	case NR_pivot_root: case NR_mount: case NR_umount2: case NR_move_mount: case NR_mount_setattr:
		return AW_GEN_TOPO;
	}
	return 0;
}

/* A kernel type whose first member is a `struct file *`: the element of the descriptor array is
 * read through it. The array itself (a pointer to pointers) has no type the verifier follows. */
#define AW_FILE_SLOT readahead_control
_Static_assert(__builtin_offsetof(struct AW_FILE_SLOT, file) == 0, "the slot type starts with its file");

/* The struct file behind fd in the current task's table, with plain loads only (a helper call to
 * read the array's element cost about as much as the rest of the lookup). */
static __always_inline struct file *aw_fd_file_btf(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	struct AW_FILE_SLOT *slot = AW_CAST((void *)((__u64)fdt->fd + (__u64)fd * sizeof(void *)), struct AW_FILE_SLOT);
	return (struct file *)(__u64)slot->file;
}

/* 1 when verdicts holds "filtered" for the opened file in ht->query, still valid: judged under
 * this generation, or under one changed by renames alone (the high half the same) and with the
 * file's chain unchanged since (then it is refreshed to this generation). A global function: the
 * verifier checks it once, and the caller forks on its answer alone. */
__noinline int aw_verdict_holds(struct hot *ht)
{
	if (!ht)
		return 0;
	struct verdict *v = bpf_map_lookup_elem(&verdicts, &ht->query); /* its first words are the key */
	__u64 gen = ht->query.gen;
	if (!v || v->inode != ht->query.inode || v->parent != ht->query.parent || v->pass)
		return 0;
	if (v->gen == gen)
		return 1;
	if ((v->gen ^ gen) >= AW_GEN_TOPO || !v->chain)
		return 0;
	ht->chain.dentry = ht->query.dentry;
	ht->chain.mnt = ht->query.mnt - bpf_core_field_offset(struct mount, mnt);
	ht->chain.root_d = ht->query.root_d;
	ht->chain.root_m = ht->query.root_m;
	if (aw_chain_walk(&ht->chain) != v->chain)
		return 0;
	v->gen = gen; /* checked under this generation: the next open takes the fast way */
	return 1;
}

/* The resolved-path verdict for an opened file that did not pass at entry: from the cache when
 * nothing could have moved it since, else by walking its dentries. 1 = passes, 0 = filtered,
 * -1 = no scratch space (the caller drops the call as before). A cached "filtered" judged under
 * another generation still holds when only renames happened since (no mount call, no filter
 * update: the high half of the generation) and the file's chain is unchanged: a rename elsewhere
 * costs the file a chain check (plain loads per level), not a walk (see aw_chain_hash). */
static __always_inline int resolved_passes(struct path *fp, struct path *root, int *pos,
					   __u32 *walk_flags, __u64 gen, __u32 slot)
{
	struct verdict_key k = { (__u64)fp->dentry, (__u64)fp->mnt, (__u64)root->dentry, (__u64)root->mnt };
	struct dentry *d = AW_CAST(fp->dentry, struct dentry);
	__u64 inode = (__u64)d->d_inode;
	__u64 parent = (__u64)d->d_parent;
	struct hot *ht = hot_state();
	if (!ht)
		return -1;
	struct last_filtered *last = &ht->last;

	if (last->gen == gen && last->dentry == k.dentry && last->mnt == k.mnt &&
	    last->inode == inode && last->parent == parent && last->root_d == k.root_d &&
	    last->root_m == k.root_m)
		return 0;
	ht->query = (struct last_filtered){ k.dentry, k.mnt, k.root_d, k.root_m, inode, parent, gen };
	struct verdict nv = { .inode = inode, .parent = parent, .gen = gen };
	int held = aw_verdict_holds(ht);
	if (!held) {
		struct heap *hp = scratch();
		if (!hp)
			return -1;
		/* a cached pass still needs the walk: the event carries the path */
		*pos = aw_walk(&hp->wk, hp->tmp, fp, root, walk_flags);
		/* a walked path is in folded form: the first-component screen applies, unless the
		 * walk was cut and the path starts somewhere below its real first component */
		nv.pass = (((*walk_flags & AW_EVF_TRUNCATED) ||
			    first_may_pass(hp->tmp + bounded(*pos, AW_PATH_MAX - 1), AW_PATH_MAX - *pos, slot)) &&
			   path_passes(hp, *pos, AW_PATH_MAX, slot)) ||
			  aw_ident_passes(fp, slot);
		nv.chain = aw_chain_hash(&ht->chain, fp, root); /* only a "filtered" uses it */
		if (aw_path_gen != gen) /* something moved during the walk: cache nothing */
			return nv.pass;
		bpf_map_update_elem(&verdicts, &k, &nv, BPF_ANY);
		if (nv.pass)
			return 1;
	}
	*last = (struct last_filtered){ k.dentry, k.mnt, k.root_d, k.root_m, inode, parent, gen };
	return 0;
}

/* An open needs no entry program: at exit its arguments are still in the registers the task
 * entered the kernel with, and the path it asked for is read from user memory here, as the entry
 * program would have. Skipping the entry hook and the per-thread hand-over is most of what a
 * filtered open used to cost. Fills `p` (ts 0: the event takes its time at exit) and decides from
 * the requested path whether it is a candidate, or can pass only by the path of the file it
 * opened. The process filter is left to open_process_passes, once the path has not dropped the
 * call: it only ever drops more, and a filtered open then never reads it. */
static __always_inline int open_at_exit(long nr, struct shape *sh, struct task_struct *bt,
					struct pending *p, __u32 slot)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bt);
	if (!regs)
		return 0;
	__builtin_memset(p, 0, sizeof(*p));
	p->nr = (__u32)nr;
	p->candidate = 1;
	p->args[0] = regs->di; p->args[1] = regs->si; p->args[2] = regs->dx;
	p->args[3] = regs->r10; p->args[4] = regs->r8; p->args[5] = regs->r9;
	if (sh->path < 0) /* open_by_handle_at: no path asked for, only the file opened can pass */
		p->candidate = aw_call_passes(slot, nr);
	else if (!aw_call_passes(slot, nr) &&
	    !(sh->dirfd >= 0 && (int)p->args[sh->dirfd & 7] != AT_FDCWD) &&
	    !user_path_passes((const char *)p->args[sh->path & 7], slot))
		p->candidate = 0; /* the opened file may still pass under its resolved path */
	return 1;
}

/* The process filter for an open the path filter let through. */
static __always_inline int open_process_passes(void)
{
	__u32 zero = 0;
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	return cfg && process_passes(cfg, bpf_get_current_pid_tgid() >> 32);
}

/* ---- executions ------------------------------------------------------------------------------ */

struct argv_ctx {
	struct heap *hp;
};

/* One argument: pointer i of the user argv array, its string cut to AW_ARG_MAX bytes and
 * NUL-terminated. argv[0] and AW_ARGS_MAX more are kept; a further one sets the flag. */
static long argv_step(__u32 i, void *ctx)
{
	struct heap *hp = ((struct argv_ctx *)ctx)->hp;
	struct argv_state *a = &hp->av;
	__u64 p = 0;

	if (bpf_probe_read_user(&p, sizeof(p), (void *)(a->uargv + 8 * (__u64)i))) {
		a->flags |= AW_EVF_ARGV_TRUNCATED;
		return 1;
	}
	if (!p)
		return 1;
	if (i > AW_ARGS_MAX) {
		a->flags |= AW_EVF_ARGV_TRUNCATED;
		return 1;
	}
	__u32 off = a->off;
	if (off > AW_EVENT_MAX - (AW_ARG_MAX + 2))
		return 1;
	__u8 *dst = hp->ev + at_most(off, AW_EVENT_MAX - (AW_ARG_MAX + 2));
	long n = bpf_probe_read_user_str(dst, AW_ARG_MAX + 2, (void *)p);
	if (n <= 0) { /* unreadable: an empty argument, and say so */
		dst[0] = 0;
		n = 1;
		a->flags |= AW_EVF_ARGV_TRUNCATED;
	} else if (n == AW_ARG_MAX + 2) { /* longer than AW_ARG_MAX: cut */
		dst[AW_ARG_MAX] = 0;
		n = AW_ARG_MAX + 1;
		a->flags |= AW_EVF_ARGV_TRUNCATED;
	}
	a->off = off + (__u32)n;
	return 0;
}

/* The AW_STR_ARGV slot from a user array of string pointers. */
static __always_inline __u32 put_argv(struct heap *hp, __u32 off, __u64 uargv)
{
	struct aw_event *e = (void *)hp->ev;
	struct argv_ctx ctx = { .hp = hp };

	if (off > AW_LAST_SLOT)
		return off;
	hp->av.uargv = uargv;
	hp->av.off = off;
	hp->av.flags = 0;
	bpf_loop(AW_ARGS_MAX + 2, argv_step, &ctx, 0);
	e->ev_flags |= hp->av.flags;
	__u32 end = hp->av.off;
	if (end < off || end - off > AW_PATH_MAX)
		return off;
	e->str_len[AW_STR_ARGV] = end - off;
	return end;
}

static __always_inline __u32 put_kstr(struct heap *hp, __u32 off, const char *kstr, int slot)
{
	struct aw_event *e = (void *)hp->ev;
	if (off > AW_LAST_SLOT)
		return off;
	long n = bpf_probe_read_kernel_str(hp->ev + at_most(off, AW_LAST_SLOT), AW_PATH_MAX, kstr);
	if (n <= 1)
		return off;
	e->str_len[slot & 15] = n - 1;
	return off + n - 1;
}

/* execveat with a dirfd and a relative name runs "/dev/fd/<dirfd>/<name>" (just "/dev/fd/<dirfd>"
 * for AT_EMPTY_PATH): the dirfd, or AT_FDCWD when the name is not of that form. */
static __always_inline int fd_of_devfd(const __u8 *p, long n)
{
	if (n < 10 || p[0] != '/' || p[1] != 'd' || p[2] != 'e' || p[3] != 'v' || p[4] != '/' ||
	    p[5] != 'f' || p[6] != 'd' || p[7] != '/')
		return AT_FDCWD;
	int fd = 0, digits = 0;
#pragma unroll
	for (int i = 8; i < 18; i++) {
		if (i >= n - 1)
			break;
		__u8 c = p[i];
		if (c == '/')
			break;
		if (c < '0' || c > '9')
			return AT_FDCWD;
		fd = fd * 10 + (c - '0');
		digits++;
	}
	return digits ? fd : AT_FDCWD;
}

/* What exec_enter kept in this process's slot: the call's number (0 when nothing was kept) and the
 * caller's executable. The slot is freed. */
static __always_inline long take_caller(struct path *caller)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 idx = (tgid & (AW_EXEC_SLOTS / 2 - 1)) * 2;
	struct exec_start *st = bpf_map_lookup_elem(&exec_starts, &idx);
	if (!st)
		return 0;
	if (st->tgid != tgid) { /* the set's second slot */
		idx++;
		st = bpf_map_lookup_elem(&exec_starts, &idx);
		if (!st || st->tgid != tgid)
			return 0;
	}
	__u64 dentry = st->dentry, mnt = st->mnt;
	__u32 nr = st->nr;
	int whole = st->check == exec_start_check(dentry, mnt, tgid, nr);
	*(volatile __u64 *)&st->tgid = 0; /* tgid and nr: free (exec_slot_claim) */
	if (!whole)
		return 0;
	caller->dentry = (struct dentry *)dentry;
	caller->mnt = (struct vfsmount *)mnt;
	return nr;
}

/* 1 when memo entry xm is of this requested path (len bytes in p, its NUL included; len <
 * AW_FAST_SCAN), this file, this side and this generation. */
static __always_inline int exec_memo_holds(struct exec_memo *xm, const __u8 *p, __u32 len,
					   struct verdict_key *k, struct verdict *v, __u32 slot)
{
	if (xm->len != len || xm->gen != v->gen || xm->slot != slot || xm->dentry != k->dentry ||
	    xm->mnt != k->mnt || xm->root_d != k->root_d || xm->root_m != k->root_m ||
	    xm->inode != v->inode || xm->parent != v->parent)
		return 0;
	/* word by word; the last word's bytes past the NUL are not the path's */
	for (__u32 i = 0; i < AW_FAST_SCAN / 8; i++) {
		__u32 at = i * 8;
		if (at >= len)
			break;
		__u64 a = *(__u64 *)(p + at), b = *(__u64 *)(xm->req + at);
		__u32 rest = len - at;
		if (rest < 8)
			a = (a ^ b) & ((1ULL << (8 * rest)) - 1);
		else
			a ^= b;
		if (a)
			return 0;
	}
	return 1;
}

/* A digest of the requested path (its length, first and last words), the side and the generation:
 * never 0, equal for the same execution; the entry it points at is then compared in full (the
 * file's words are pointers, which the verifier lets be compared but not mixed into a digest). */
static __always_inline __u64 exec_memo_key(struct xhot *xh, __u32 len, __u64 gen, __u32 slot)
{
	__u64 first = *(__u64 *)xh->req, last = 0;
	if (len < 8)
		first &= (1ULL << (8 * len)) - 1;
	else
		last = *(__u64 *)(xh->req + bounded(len - 8, AW_FAST_SCAN - 1));
	__u64 h = first ^ (last * 0x9e3779b97f4a7c15ULL) ^ (gen * 0x165667b19e3779f9ULL) ^ (((__u64)slot << 32) | len);
	return (h * 0xff51afd7ed558ccdULL) | 1;
}

/* 1 when one of the dropped executions this CPU remembers is this one (its requested path in xh->req). */
static __always_inline int exec_memo_find(struct xhot *xh, __u32 len, struct verdict_key *k, struct verdict *v,
					  __u32 slot)
{
	__u64 key = exec_memo_key(xh, len, v->gen, slot);
	for (__u32 i = 0; i < AW_XMEMO; i++)
		if (xh->key[i] == key && exec_memo_holds(&xh->ent[i], xh->req, len, k, v, slot))
			return 1;
	return 0;
}

/* Remembers a dropped execution (its requested path, len bytes, is in xh->req) in place of the
 * oldest one. */
static __always_inline void exec_memo_add(struct xhot *xh, __u32 len, struct verdict_key *k, struct verdict *v,
					  __u32 slot)
{
	__u32 i = xh->next & (AW_XMEMO - 1);
	struct exec_memo *xm = &xh->ent[i];
	xh->next = i + 1;
	xh->key[i] = 0;
	xm->len = 0;
	bpf_probe_read_kernel(xm->req, at_most(len, AW_FAST_SCAN - 1) + 1, xh->req);
	xm->dentry = k->dentry; xm->mnt = k->mnt; xm->root_d = k->root_d; xm->root_m = k->root_m;
	xm->inode = v->inode; xm->parent = v->parent; xm->gen = v->gen; xm->slot = slot;
	xm->len = len;
	xh->key[i] = exec_memo_key(xh, len, v->gen, slot);
}

#define AW_KNAME_BULK 128 /* bytes of the requested path copied at once (a multiple of 8) */

/* The requested path of an execution, its first AW_FAST_SCAN bytes into dst: its length, NUL
 * included, as bpf_probe_read_kernel_str, or AW_FAST_SCAN when it is longer (then not whole in
 * dst). A string read goes byte by byte and was most of a filtered exec's time: a fixed-size copy
 * goes a word at a time, and the NUL is then found in it. The bytes past the NUL are another part
 * of the same buffer (bprm->filename is a names_cache buffer, or a kmalloc'd "/dev/fd/N/name") and
 * are never used; should the copy fault, or the path be longer, the string read does it as before. */
static __always_inline long read_kname_short(__u8 *dst, const char *k)
{
	if (!bpf_probe_read_kernel(dst, AW_KNAME_BULK, k)) {
		for (__u32 i = 0; i < AW_KNAME_BULK / 8; i++) {
			__u64 w = *(__u64 *)(dst + 8 * i);
			if (!((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
				continue; /* no zero byte in this word */
			for (__u32 j = 0; j < 8; j++)
				if (!((w >> (8 * j)) & 0xff))
					return 8 * i + j + 1;
		}
	}
	/* Sized for the common case, as for user paths: the read costs by the size asked. */
	return bpf_probe_read_kernel_str(dst, AW_FAST_SCAN, k);
}

/* The whole requested path into tmp, as read_kname_short. */
static __always_inline long read_kname(struct heap *hp, const char *k)
{
	long n = read_kname_short(hp->tmp, k);
	if (n == AW_FAST_SCAN)
		n = bpf_probe_read_kernel_str(hp->tmp, AW_PATH_MAX, k);
	return n;
}

/* A successful execution, from sched_process_exec: the task already runs the new program.
 * `kfilename` is bprm->filename, the path as the caller asked for it. The executed file is the
 * task's new mm->exe_file (bprm->file: for a script, its interpreter). The filter judges the
 * requested path, then the file's path walked from the task's root. */
static __always_inline int on_exec(const char *kfilename)
{
	__u32 zero = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!cfg || !cfg->armed)
		return 0;
	__u64 gen = aw_path_gen;
	asm volatile("" ::: "memory"); /* the generation before the side: see aw_slot */
	__u32 slot = filter_slot();
	struct aw_filter_side *side = &aw_sides[slot];
	if (!side->execs)
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	struct path caller = {};
	/* The call is known from its entry (the registers are the new program's by now). Without
	 * an entry record (an exec the kernel started itself, or one begun before the hook was
	 * armed) it is reported as execve, and without a caller. */
	long nr = take_caller(&caller);
	int have_caller = nr != 0;
	if (nr != NR_execveat)
		nr = NR_execve;
	if (!process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct xhot *xh = bpf_map_lookup_elem(&xhot, &zero);
	if (!xh)
		return 0;

	long n = read_kname_short(xh->req, kfilename);
	int dirfd = nr == NR_execveat ? fd_of_devfd(xh->req, n) : AT_FDCWD;
	/* The requested path is judged, and may be memoized, unless it passes whatever it is. */
	int judged = !side->exec_pass_all && dirfd == AT_FDCWD && n > 1;

	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	struct file *exe = bt->mm->exe_file;
	struct path fp = { .dentry = exe->f_path.dentry, .mnt = exe->f_path.mnt };
	/* The file's own verdict, cached as for opens (same key, same checks, same generation): the
	 * same program run again, the usual case, is judged without walking its path. */
	struct verdict_key vk = { (__u64)fp.dentry, (__u64)fp.mnt, (__u64)root.dentry, (__u64)root.mnt };
	struct dentry *d = fp.dentry;
	struct verdict nv = { .inode = (__u64)d->d_inode, .parent = (__u64)d->d_parent, .gen = gen };
	if (judged && n < AW_FAST_SCAN && exec_memo_find(xh, (__u32)n, &vk, &nv, slot)) {
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_EXEC);
		return 0;
	}
	struct heap *hp = scratch();
	if (!hp)
		return 0;
	long short_n = n;
	n = read_kname(hp, kfilename);
	judged = !side->exec_pass_all && dirfd == AT_FDCWD && n > 1;
	/* remembered if dropped: the path whole in xh->req, as read in full */
	int memo = judged && n < AW_FAST_SCAN && n == short_n;
	int pass = !judged || aw_exec_path_passes(hp, 0, (__u32)(n - 1), slot);
	if (!pass) {
		struct verdict *v = bpf_map_lookup_elem(&exec_verdicts, &vk);
		if (v && v->gen == nv.gen && v->inode == nv.inode && v->parent == nv.parent && !v->pass) {
			if (memo)
				exec_memo_add(xh, (__u32)n, &vk, &nv, slot);
			count(AW_STAT_FILTERED);
			count(AW_STAT_FILTERED_EXEC);
			return 0;
		}
	}
	__u32 walk_flags = 0;
	int pos = aw_walk(&hp->wk, hp->tmp, &fp, &root, &walk_flags);
	if (!pass) {
		nv.pass = (walk_flags & AW_EVF_TRUNCATED) || aw_exec_path_passes(hp, (__u32)pos, AW_PATH_MAX, slot);
		if (aw_path_gen == nv.gen) /* nothing moved during the walk */
			bpf_map_update_elem(&exec_verdicts, &vk, &nv, BPF_ANY);
		if (!nv.pass) {
			if (memo && aw_path_gen == nv.gen)
				exec_memo_add(xh, (__u32)n, &vk, &nv, slot);
			count(AW_STAT_FILTERED);
			count(AW_STAT_FILTERED_EXEC);
			return 0;
		}
	}

	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = sizeof(struct aw_event);
	__builtin_memset(e, 0, sizeof(*e));
	put_identity(e, task, nr, 0);
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->ev_flags = walk_flags;
	e->dirfd = dirfd;
	e->dirfd2 = AT_FDCWD;
	e->owner_uid = BPF_CORE_READ(exe, f_inode, i_uid.val);
	e->ev_flags |= AW_EVF_OWNER_VALID;
	off = put_walked(hp, off, pos, AW_STR_RESOLVED);
	off = put_kstr(hp, off, kfilename, AW_STR_PATH);
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	off = put_path(hp, off, &pwd, &root, AW_STR_CWD);
	if (dirfd != AT_FDCWD) {
		__u32 before = off;
		off = put_fd_dir(hp, off, task, dirfd, &root, AW_STR_DIR);
		if (off == before) /* closed on exec (O_CLOEXEC): its directory is gone with it */
			e->ev_flags |= AW_EVF_DIR_GONE;
	}
	off = put_parent_tty(hp, off, task, &root);
	/* The new program's stack starts with argc, then the argv pointers. */
	__u64 sp = BPF_CORE_READ(task, mm, start_stack);
	off = put_argv(hp, off, sp + 8);
	if (have_caller)
		off = put_path(hp, off, &caller, &root, AW_STR_CALLER);
	send(hp, off);
	return 0;
}

/* A failed execve/execveat, at its exit: the caller still runs its own program, and its
 * arguments are still in the registers it entered with. */
static __always_inline int exec_exit(long nr, long ret)
{
	__u32 zero = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	if (ret >= 0)
		return 0; /* a success is reported by the exec hook, which took the entry's record */
	struct task_struct *bt = bpf_get_current_task_btf();
	struct path caller;
	take_caller(&caller); /* drops the entry's record; the caller is the task itself */
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	__u32 slot = filter_slot();
	struct aw_filter_side *side = &aw_sides[slot];
	if (!cfg || !cfg->armed || !side->execs || !process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bt);
	if (!regs)
		return 0;
	int at = nr == NR_execveat;
	__u64 upath = at ? regs->si : regs->di;
	__u64 uargv = at ? regs->dx : regs->si;
	int dirfd = at ? (int)regs->di : AT_FDCWD;
	__u32 flags = at ? (__u32)regs->r8 : 0;
	struct heap *hp = scratch();
	if (!hp)
		return 0;
	if (!side->exec_pass_all) {
		long n = bpf_probe_read_user_str(hp->tmp, AW_PATH_MAX, (const void *)upath);
		int judged = n > 1 && !(dirfd != AT_FDCWD && hp->tmp[0] != '/');
		if (judged && !aw_exec_path_passes(hp, 0, (__u32)(n - 1), slot)) {
			count(AW_STAT_FILTERED);
			count(AW_STAT_FILTERED_EXEC);
			return 0;
		}
	}

	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	__u32 off = sizeof(struct aw_event);
	__builtin_memset(e, 0, sizeof(*e));
	put_identity(e, task, nr, ret);
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->dirfd = dirfd;
	e->dirfd2 = AT_FDCWD;
	e->flags = flags;
	off = put_user(hp, off, upath, AW_STR_PATH);
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	off = put_path(hp, off, &pwd, &root, AW_STR_CWD);
	if (dirfd != AT_FDCWD)
		off = put_fd_dir(hp, off, task, dirfd, &root, AW_STR_DIR);
	struct path exe = BPF_CORE_READ(task, mm, exe_file, f_path);
	off = put_path(hp, off, &exe, &root, AW_STR_EXE);
	off = put_parent_tty(hp, off, task, &root);
	off = put_argv(hp, off, uargv);
	send(hp, off);
	return 0;
}

#include "net.bpf.h"

/* Exit of every hook. `with_exec`: this program also sees execve/execveat (the tp_btf and raw
 * families; the per-syscall tracepoints have exec programs of their own). */
static __always_inline int on_exit(long nr, long ret, const int with_exec)
{
	struct shape sh;

#ifdef AW_FLOOR
	return 0;
#endif
	__u64 moved = ret == 0 ? renames_paths(nr) : 0; /* whoever made the call: filters do not apply */
	if (moved)
		__sync_fetch_and_add(&aw_path_gen, moved);
	if (nr < 0 || !syscall_shape((__u32)nr, &sh)) {
		if (with_exec && (nr == NR_execve || nr == NR_execveat))
			return exec_exit(nr, ret);
		if (net_bit(nr) && !(aw_net_cg_on() && (nr == NR_socket || nr == NR_connect)))
			aw_net_call(nr | AW_NET_REGS_ARGS, ret, 0, 0, 0);
		return 0;
	}
	struct task_struct *bt = bpf_get_current_task_btf();
	struct pending p;
	__u64 gen = aw_path_gen;
	asm volatile("" ::: "memory"); /* the generation before the side: see aw_slot */
	__u32 slot = aw_view(filter_slot(), AW_OPEN_CALLS); /* only opens judge paths here */
	if (sh.is_open) {
		if (!open_at_exit(nr, &sh, bt, &p, slot))
			return 0;
	} else {
		struct pending *pp = bpf_task_storage_get(&inflight, bt, 0, 0);
		if (!pp || !pp->live)
			return 0;
		p = *pp;
		pp->live = 0;
		if (p.nr != (__u32)nr)
			return 0;
	}

	/* Up to the verdict only plain loads through typed pointers: the filtered open, the common
	 * case, pays for no helper call it can avoid. */
	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	struct file *opened = NULL;
	__u32 walk_flags = 0;
	int pos = AW_PATH_MAX;
	if (sh.is_open && ret >= 0)
		opened = aw_fd_file_btf(bt, (int)ret);
	if (opened) {
		struct file *of = AW_CAST(opened, struct file);
		struct path fp = { .dentry = (struct dentry *)(__u64)of->f_path.dentry,
				   .mnt = (struct vfsmount *)(__u64)of->f_path.mnt };
		if (!p.candidate) {
			int r = resolved_passes(&fp, &root, &pos, &walk_flags, gen, slot);
			if (r <= 0) {
				if (r == 0)
					count(AW_STAT_FILTERED);
				return 0;
			}
		}
	} else if (!p.candidate) {
		count(AW_STAT_FILTERED);
		return 0;
	}
	if (sh.is_open && !open_process_passes())
		return 0;

	struct heap *hp = scratch();
	if (!hp)
		return 0;
	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = sizeof(struct aw_event);
	if (opened && p.candidate) {
		struct path fp = BPF_CORE_READ(opened, f_path);
		pos = aw_walk(&hp->wk, hp->tmp, &fp, &root, &walk_flags);
	}

	/* From here on the event is emitted: build it in full. */
	__builtin_memset(e, 0, sizeof(*e));
	e->ev_flags = walk_flags;
	if (opened) {
		off = put_walked(hp, off, pos, AW_STR_RESOLVED);
		e->owner_uid = BPF_CORE_READ(opened, f_inode, i_uid.val);
		e->ev_flags |= AW_EVF_OWNER_VALID;
	}

	put_identity(e, task, nr, ret);
	e->ts_boot_ns = p.ts ? p.ts : bpf_ktime_get_boot_ns(); /* opens: taken at exit */
	e->dirfd = sh.dirfd >= 0 ? (__s32)p.args[sh.dirfd & 7] : AT_FDCWD;
	e->dirfd2 = sh.dirfd2 >= 0 ? (__s32)p.args[sh.dirfd2 & 7] : AT_FDCWD;

	switch (nr) {
	case NR_open: e->flags = p.args[1]; e->mode = p.args[2]; break;
	case NR_creat: e->flags = O_WRONLY | O_CREAT | O_TRUNC; e->mode = p.args[1]; break;
	case NR_openat: e->flags = p.args[2]; e->mode = p.args[3]; break;
	case NR_openat2: {
		struct { __u64 flags, mode, resolve; } how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)p.args[2]);
		e->flags = how.flags; e->mode = how.mode; e->arg_a = how.resolve;
		break;
	}
	case NR_unlinkat: e->flags = p.args[2]; break;
	case NR_chmod: e->mode = p.args[1]; break;
	case NR_fchmodat: e->mode = p.args[2]; break;
	case NR_chown: e->arg_a = (__u32)p.args[1]; e->arg_b = (__u32)p.args[2]; break;
	case NR_fchownat: e->arg_a = (__u32)p.args[2]; e->arg_b = (__u32)p.args[3]; e->flags = p.args[4]; break;
	case NR_renameat2: e->flags = p.args[4]; break;
	case NR_truncate: e->arg_a = p.args[1]; break;
	case NR_open_by_handle_at: e->flags = p.args[2]; break;
	case NR_linkat: e->flags = p.args[4]; break;
	case NR_mount: e->flags = p.args[3]; break;
	case NR_move_mount: e->flags = p.args[4]; break;
	case NR_open_tree: case NR_mount_setattr: e->flags = p.args[2]; break;
	}

	if (sh.path >= 0)
		off = put_user(hp, off, p.args[sh.path & 7], AW_STR_PATH);
	if (sh.path2 >= 0) {
		e->ev_flags |= AW_EVF_HAS_PATH2;
		off = put_user(hp, off, p.args[sh.path2 & 7], AW_STR_PATH2);
	}
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	off = put_path(hp, off, &pwd, &root, AW_STR_CWD);
	if (e->dirfd != AT_FDCWD)
		off = put_fd_dir(hp, off, task, e->dirfd, &root, AW_STR_DIR);
	if (e->dirfd2 != AT_FDCWD)
		off = put_fd_dir(hp, off, task, e->dirfd2, &root, AW_STR_DIR2);
	struct path exe = BPF_CORE_READ(task, mm, exe_file, f_path);
	off = put_path(hp, off, &exe, &root, AW_STR_EXE);
	off = put_parent_tty(hp, off, task, &root);
	if (opened) {
		struct path fp = BPF_CORE_READ(opened, f_path);
		off = put_host(hp, off, task, &fp, &root);
	}
	send(hp, off);
	return 0;
}

/* ---- attach points: the same handlers behind each hook the kernel may offer -------------------
 * The helper loads one family, by program name prefix, best first:
 *   aw_tp_*   per-syscall tracepoints (need tracefs): run only for the covered calls, cheapest
 *             (with aw_tpb_exit, loaded with them and reached by tail call, never attached);
 *   aw_btf_*  tp_btf on sys_enter/sys_exit: every syscall, BTF-typed arguments;
 *   aw_raw_*  raw tracepoints on sys_enter/sys_exit: every syscall, the portable baseline. */

/* One program builds every per-syscall exit event; the 15 exit programs tail-call it, so the
 * verifier checks the builder once instead of 15 times (it was most of the load time). Every
 * sys_exit_* record has the same layout: header, syscall number, return value. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} aw_exit_builder SEC(".maps");      /* [0] = aw_tpb_exit, [1] = aw_tpb_exec, set by the helper before attach */

SEC("tracepoint")
int aw_tpb_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit((int)ctx->id, ctx->ret, 0);
}

SEC("tracepoint")
int aw_tpb_exec(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit((int)ctx->id, ctx->ret);
}

/* A per-syscall record holds only that call's `nargs` arguments: reading past them makes the
 * kernel refuse the attach (EACCES). The number field is an int followed by padding. */
#define AW_ARG(ctx, i, nargs) ((i) < (nargs) ? (ctx)->args[(i) < (nargs) ? (i) : 0] : 0)
#define AW_SYSCALL_TP_EXIT(name)                                                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                               \
	int aw_tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                        \
		bpf_tail_call(ctx, &aw_exit_builder, 0);                                         \
		return 0;                                                                        \
	}
#define AW_SYSCALL_TP(name, nargs)                                                               \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                              \
	int aw_tp_enter_##name(struct trace_event_raw_sys_enter *ctx)                            \
	{                                                                                        \
		__u64 args[6] = { AW_ARG(ctx, 0, nargs), AW_ARG(ctx, 1, nargs),                  \
				  AW_ARG(ctx, 2, nargs), AW_ARG(ctx, 3, nargs),                  \
				  AW_ARG(ctx, 4, nargs), AW_ARG(ctx, 5, nargs) };                \
		return on_enter((int)ctx->id, args);                                             \
	}                                                                                        \
	AW_SYSCALL_TP_EXIT(name)

/* Opens are handled at exit alone (open_at_exit): no entry program. */
AW_SYSCALL_TP_EXIT(open)
AW_SYSCALL_TP_EXIT(openat)
AW_SYSCALL_TP_EXIT(openat2)
AW_SYSCALL_TP_EXIT(creat)
AW_SYSCALL_TP(unlink, 1)
AW_SYSCALL_TP(unlinkat, 3)
AW_SYSCALL_TP(rmdir, 1)
AW_SYSCALL_TP(rename, 2)
AW_SYSCALL_TP(renameat, 4)
AW_SYSCALL_TP(renameat2, 5)
AW_SYSCALL_TP(truncate, 2)
AW_SYSCALL_TP(chmod, 2)
AW_SYSCALL_TP(fchmodat, 3)
AW_SYSCALL_TP(chown, 3)
AW_SYSCALL_TP(fchownat, 5)
AW_SYSCALL_TP_EXIT(open_by_handle_at)
AW_SYSCALL_TP(link, 2)
AW_SYSCALL_TP(linkat, 5)
AW_SYSCALL_TP(symlink, 2)
AW_SYSCALL_TP(symlinkat, 3)
/* Reported, and they void cached verdicts (on_exit bumps aw_path_gen for them). */
AW_SYSCALL_TP(mount, 5)
AW_SYSCALL_TP(move_mount, 5)
AW_SYSCALL_TP(open_tree, 3)
AW_SYSCALL_TP(mount_setattr, 5)
AW_SYSCALL_TP(pivot_root, 2)

/* Exit only: these calls (mount calls) are not reported, they only void cached verdicts (aw_path_gen). */
#define AW_GEN_TP(name)                                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                               \
	int aw_tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                        \
		if (ctx->ret == 0)                                                               \
			__sync_fetch_and_add(&aw_path_gen, AW_GEN_TOPO);                         \
		return 0;                                                                        \
	}

/* execve/execveat: entry keeps the caller's executable; exit reports failures (successes are
 * reported by the exec hook, below). */
#define AW_EXEC_TP(name)                                                                         \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                              \
	int aw_tp_enter_##name(struct trace_event_raw_sys_enter *ctx)                            \
	{                                                                                        \
		return exec_enter((int)ctx->id);                                                 \
	}                                                                                        \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                               \
	int aw_tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                        \
		if (ctx->ret < 0) /* successes: the exec hook */                                 \
			bpf_tail_call(ctx, &aw_exit_builder, 1);                                 \
		return 0;                                                                        \
	}

AW_EXEC_TP(execve)
AW_EXEC_TP(execveat)

/* Network calls: handled at exit alone (net.bpf.h), but connect, whose entry remembers a
 * non-blocking socket for its outcome. */
AW_SYSCALL_TP_EXIT(socket)
AW_SYSCALL_TP_EXIT(accept)
AW_SYSCALL_TP_EXIT(accept4)
AW_SYSCALL_TP_EXIT(bind)
AW_SYSCALL_TP_EXIT(listen)
AW_SYSCALL_TP_EXIT(connect)
SEC("tracepoint/syscalls/sys_enter_connect")
int aw_tp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return aw_net_connect_enter((int)ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

/* socket() and connect() at the root cgroup (net.bpf.h cg_call), when the helper can attach
 * there; then the per-syscall hooks leave those two calls alone (aw_net_cg_on()). */
SEC("cgroup/sock_create")
int aw_cg_socket(struct bpf_sock *ctx)
{
	return cg_call(NR_socket, ctx->protocol, 0, NULL);
}

SEC("cgroup/connect4")
int aw_cg_connect4(struct bpf_sock_addr *ctx)
{
	return cg_call(NR_connect, ctx->protocol, ctx->protocol == AW_IPPROTO_UDP ? 0 : -AW_EINPROGRESS, ctx);
}

SEC("cgroup/connect6")
int aw_cg_connect6(struct bpf_sock_addr *ctx)
{
	return cg_call(NR_connect, ctx->protocol, ctx->protocol == AW_IPPROTO_UDP ? 0 : -AW_EINPROGRESS, ctx);
}

SEC("cgroup/sock_release")
int aw_cg_release(struct bpf_sock *ctx)
{
	return cg_release((__u64)ctx);
}

AW_GEN_TP(umount)

SEC("tp_btf/sys_enter")
int BPF_PROG(aw_btf_enter, struct pt_regs *regs, long id)
{
	return on_enter_regs(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(aw_btf_exit, struct pt_regs *regs, long ret)
{
	return on_exit(BPF_CORE_READ(regs, orig_ax), ret, 1);
}

SEC("raw_tracepoint/sys_enter")
int aw_raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return on_enter_regs((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

SEC("raw_tracepoint/sys_exit")
int aw_raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	return on_exit(BPF_CORE_READ(regs, orig_ax), (long)ctx->args[1], 1);
}

/* ---- the exec hook: probed on its own, best first (aw_x<kind>_exec) -------------------------
 *   tp_btf/sched_process_exec       BTF-typed arguments, no tracefs;
 *   raw_tracepoint/sched_process_exec   the same arguments untyped;
 *   tracepoint/sched/sched_process_exec  the classic tracepoint (needs tracefs): no bprm, the
 *                                        requested path comes from the record. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(aw_xbtf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(bprm->filename);
}

SEC("raw_tracepoint/sched_process_exec")
int aw_xraw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	return on_exec(BPF_CORE_READ(bprm, filename));
}

SEC("tracepoint/sched/sched_process_exec")
int aw_xtp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	return on_exec((const char *)ctx + (ctx->__data_loc_filename & 0xffff));
}

/* ---- the outcome of non-blocking connects: sock:inet_sock_set_state (aw_n<kind>_state) ---------
 * Loaded in the kind of the exec hook that loaded (the same kernel support), attached by the
 * helper only once network events are asked for: it runs on every TCP state change. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(aw_nbtf_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_sock_state((struct sock *)sk, oldstate, newstate);
}

SEC("raw_tracepoint/inet_sock_set_state")
int aw_nraw_state(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sock_state((struct sock *)ctx->args[0], (int)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/sock/inet_sock_set_state")
int aw_ntp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return on_sock_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate);
}

/* ---- io_uring opens: a hook of their own (bpf/uring.bpf.h, probed by the helper) -------------- */
#include "uring.bpf.h"
