/* SPDX-License-Identifier: Apache-2.0 */
/* Matching the file itself, not only its spelling (issue 14, part 5). User space resolves the files
 * and directories that host policies name to their identities (device, inode) and keeps them in
 * ident_inodes. An opened file passes when it, or a directory above it, is one of them: the walk
 * goes up d_parent and across mounts to the root of the task's mount namespace, ignoring the task's
 * own root, so a hard link, a bind mount (of the file or of a directory above it), a chroot or a
 * private mount namespace leads to the same inode and passes. The same walk, when an event is
 * emitted, writes the path as seen from that root (the HOST slot) and which identity matched, how
 * many components above the file: user space turns that into the rule's own path.
 * Included by armorwatch.bpf.c after its scratch and helpers; kept apart so the open path stays
 * readable and the cost is visible: nothing runs while the side in force has no identity, and a filtered open
 * pays for it only when its verdict is not cached. */
#ifndef ARMORWATCH_IDENTITY_H
#define ARMORWATCH_IDENTITY_H

/* Both sides of the filter (aw_slot), the key carrying its side: the helper sets max_entries to twice
 * --kernel-filter-capacity, so a full new set fits beside a full old one until the switch. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * 65536);
	__type(key, struct aw_ident_key);
	__type(value, __u32);
} ident_inodes SEC(".maps");         /* watched identity and side -> side */

/* Per side: one bit per aw_ident_bit() of every key of that side (armorwatch_filter.h); the number
 * of keys is the side's `idents`, and 0 skips every identity walk. Both kept by the helper. */
__u64 aw_ident_bits[2][AW_BITMAP_WORDS];

struct aw_ident_walk {
	__u64 dentry, mnt;
	__s32 pos;       /* host[pos..AW_PATH_MAX) holds the path built so far */
	__u32 flags;     /* AW_EVF_TRUNCATED when cut */
	__u32 depth;     /* components passed so far */
	__u32 build;     /* 1: write the names (an emitted event); 0: stop at the first hit */
	__u32 slot;      /* the filter side judged by */
	__u32 hit, hit_dev, hit_depth;
	__u64 hit_ino;
};

struct aw_ident_scratch {
	struct aw_ident_walk w;
	__u8 host[AW_TMP_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aw_ident_scratch);
} ident_scratch SEC(".maps");

struct aw_ident_ctx {
	struct aw_ident_scratch *s;
};

static long aw_ident_step(__u32 i, void *ctx)
{
	struct aw_ident_scratch *s = ((struct aw_ident_ctx *)ctx)->s;
	struct aw_ident_walk *w = &s->w;
	struct dentry *dentry = (struct dentry *)w->dentry;
	struct mount *mnt = (struct mount *)w->mnt;

	if (!w->hit) {
		struct inode *in = BPF_CORE_READ(dentry, d_inode);
		if (in) {
			struct aw_ident_key k = { .ino = BPF_CORE_READ(in, i_ino), .dev = BPF_CORE_READ(in, i_sb, s_dev),
						  .side = w->slot & 1 };
			__u32 b = aw_ident_bit(k.ino, k.dev);
			if (((aw_ident_bits[k.side][(b >> 6) & (AW_BITMAP_WORDS - 1)] >> (b & 63)) & 1) &&
			    bpf_map_lookup_elem(&ident_inodes, &k)) {
				w->hit = 1;
				w->hit_ino = k.ino;
				w->hit_dev = k.dev;
				w->hit_depth = w->depth;
				if (!w->build)
					return 1;
			}
		}
	}
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	int up = aw_mount_up(dentry, parent, mnt, &w->dentry, &w->mnt);
	if (up >= 0)
		return up; /* crossed, or at the root of the mount namespace (or of a detached tree) */
	if (w->build) {
		struct qstr name = BPF_CORE_READ(dentry, d_name);
		__u32 len = name.len;
		if (len > AW_NAME_MAX)
			len = AW_NAME_MAX;
		__s32 pos = w->pos - (__s32)len - 1;
		if (pos < 0 || pos >= AW_PATH_MAX) {
			w->flags |= AW_EVF_TRUNCATED;
			return 1;
		}
		bpf_probe_read_kernel(s->host + pos + 1, len & AW_NAME_MAX, name.name);
		s->host[pos] = '/';
		w->pos = pos;
	}
	w->depth++;
	w->dentry = (__u64)parent;
	if (i == AW_WALK_DEPTH - 1)
		w->flags |= AW_EVF_TRUNCATED;
	return 0;
}

/* Walks from the file at fp towards the root of its mount namespace, matching side `slot`'s
 * identities; the scratch, or NULL. */
static __always_inline struct aw_ident_scratch *aw_ident_walk(struct path *fp, __u32 build, __u32 slot)
{
	__u32 zero = 0;
	struct aw_ident_scratch *s = bpf_map_lookup_elem(&ident_scratch, &zero);
	if (!s || !fp->dentry || !fp->mnt)
		return NULL;
	struct aw_ident_ctx ctx = { .s = s };
	s->w = (struct aw_ident_walk){ .dentry = (__u64)fp->dentry,
				       .mnt = (__u64)container_of(fp->mnt, struct mount, mnt),
				       .pos = AW_PATH_MAX, .build = build, .slot = slot & 1 };
	bpf_loop(AW_WALK_DEPTH, aw_ident_step, &ctx, 0);
	return s;
}

/* 1 when the opened file, or a directory above it, is a watched identity of side `slot` (bit 0:
 * a view, aw_view, will do). */
static __always_inline int aw_ident_passes(struct path *fp, __u32 slot)
{
	if (!aw_sides[slot & 1].idents)
		return 0;
	struct aw_ident_scratch *s = aw_ident_walk(fp, 0, slot);
	return s && s->w.hit;
}

/* 1 when the task's root is the root of its mount namespace (the usual case: no chroot). */
static __always_inline int aw_root_is_ns_root(struct task_struct *task, struct path *root)
{
	struct mount *nsroot = BPF_CORE_READ(task, nsproxy, mnt_ns, root);
	return (__u64)root->mnt == (__u64)&nsroot->mnt && root->dentry == BPF_CORE_READ(nsroot, mnt.mnt_root);
}

/* The HOST slot (the last one) and the identity that matched, for an emitted open of fp. Walked
 * only when it can say something the RESOLVED slot does not: identities are watched, or the task
 * has a root of its own (chroot). Empty otherwise: the host path is the resolved one. The side is
 * read again here: the event has passed already, and this only names the identity it met. */
static __always_inline __u32 put_host(struct heap *hp, __u32 off, struct task_struct *task, struct path *fp,
				      struct path *root)
{
	struct aw_event *e = (void *)hp->ev;
	__u32 slot = filter_slot();
	if (!aw_sides[slot].idents && aw_root_is_ns_root(task, root))
		return off;
	struct aw_ident_scratch *s = aw_ident_walk(fp, 1, slot);
	if (!s)
		return off;
	if (s->w.hit) {
		e->ev_flags |= AW_EVF_IDENT;
		e->ident_ino = s->w.hit_ino;
		e->ident_dev = s->w.hit_dev;
		e->ident_depth = s->w.hit_depth;
	}
	e->ev_flags |= s->w.flags;
	int pos = s->w.pos;
	if (pos <= 0 || pos > AW_PATH_MAX)
		return off;
	if (pos == AW_PATH_MAX) {
		pos -= 1;
		s->host[pos & (AW_PATH_MAX - 1)] = '/';
	}
	__u32 len = AW_PATH_MAX - (pos & (AW_PATH_MAX - 1));
	if (off > AW_LAST_SLOT || len > AW_PATH_MAX)
		return off;
	bpf_probe_read_kernel(hp->ev + at_most(off, AW_LAST_SLOT), len, s->host + (pos & (AW_PATH_MAX - 1)));
	e->str_len[AW_STR_HOST] = len;
	return off + len;
}

#endif
