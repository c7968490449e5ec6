/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel-side path helpers: walking a dentry chain up to the task's own root, and finding the
 * struct file behind a descriptor. Kept apart from the handlers so the hot path stays readable. */
#ifndef ARMORWATCH_PATH_WALK_H
#define ARMORWATCH_PATH_WALK_H

/* Typed view of a kernel pointer obtained as a number (bpf_probe_read_kernel): its fields can then be
 * read with plain loads, which cost far less than a helper call each. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define AW_CAST(p, type) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

#define AW_WALK_DEPTH 64   /* components; deeper paths are cut and flagged AW_EVF_TRUNCATED */
#define AW_NAME_MAX 255    /* NAME_MAX: one component */
#define AW_TMP_SIZE (AW_PATH_MAX + AW_NAME_MAX + 1)

/* One walk in progress. It lives in the per-CPU map value rather than on the stack: the verifier
 * then treats the pointers as plain numbers (read only through bpf_probe_read_kernel) and checks
 * the loop body once instead of once per depth and call site. */
struct aw_walk_state {
	__u64 dentry, mnt, root_d, root_m; /* struct dentry *, struct mount *, ... */
	__s32 pos;                         /* tmp[pos..AW_PATH_MAX) holds the path built so far */
	__u32 flags;                       /* AW_EVF_TRUNCATED when cut */
};

struct aw_walk_ctx {
	struct aw_walk_state *ws;
	__u8 *tmp; /* AW_TMP_SIZE bytes */
};

/* At the root of a mount (or of its file system): steps to the mount point in the parent mount
 * and returns 0, or returns 1 at the root of the mount tree. -1 when dentry is no such root. */
static __always_inline int aw_mount_up(struct dentry *dentry, struct dentry *parent, struct mount *mnt,
				       __u64 *next_dentry, __u64 *next_mnt)
{
	if (dentry != BPF_CORE_READ(mnt, mnt.mnt_root) && dentry != parent)
		return -1;
	struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
	if (up == mnt || !up)
		return 1;
	*next_dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
	*next_mnt = (__u64)up;
	return 0;
}

static long aw_walk_step(__u32 i, void *ctx)
{
	struct aw_walk_state *ws = ((struct aw_walk_ctx *)ctx)->ws;
	__u8 *tmp = ((struct aw_walk_ctx *)ctx)->tmp;
	struct dentry *dentry = (struct dentry *)ws->dentry;
	struct mount *mnt = (struct mount *)ws->mnt;

	if (ws->dentry == ws->root_d && (__u64)&mnt->mnt == ws->root_m)
		return 1;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	int up = aw_mount_up(dentry, parent, mnt, &ws->dentry, &ws->mnt);
	if (up >= 0)
		return up; /* crossed to the parent mount, or at the global root: the task's root lies
			    * outside it (or is it) */
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 len = name.len;
	if (len > AW_NAME_MAX)
		len = AW_NAME_MAX;
	__s32 pos = ws->pos - (__s32)len - 1;
	if (pos < 0 || pos >= AW_PATH_MAX) {
		ws->flags |= AW_EVF_TRUNCATED;
		return 1;
	}
	bpf_probe_read_kernel(tmp + pos + 1, len & AW_NAME_MAX, name.name);
	tmp[pos] = '/';
	ws->pos = pos;
	ws->dentry = (__u64)parent;
	if (i == AW_WALK_DEPTH - 1)
		ws->flags |= AW_EVF_TRUNCATED;
	return 0;
}

/* Writes the path of `target` right-aligned into tmp so it ends at tmp[AW_PATH_MAX] and returns
 * where it starts. Stops at the task's root so a container process gets the path it sees; crosses
 * mount points upwards through struct mount. */
static __always_inline int aw_walk(struct aw_walk_state *ws, __u8 *tmp, struct path *target,
				   struct path *root, __u32 *ev_flags)
{
	struct aw_walk_ctx ctx = { .ws = ws, .tmp = tmp };

	ws->dentry = (__u64)target->dentry;
	ws->mnt = (__u64)container_of(target->mnt, struct mount, mnt);
	ws->root_d = (__u64)root->dentry;
	ws->root_m = (__u64)root->mnt;
	ws->pos = AW_PATH_MAX;
	ws->flags = 0;
	if (target->dentry && target->mnt)
		bpf_loop(AW_WALK_DEPTH, aw_walk_step, &ctx, 0);
	*ev_flags |= ws->flags;
	int pos = ws->pos;
	if (pos <= 0 || pos > AW_PATH_MAX)
		return AW_PATH_MAX;
	if (pos == AW_PATH_MAX) {
		pos -= 1;
		tmp[pos & (AW_PATH_MAX - 1)] = '/';
	}
	return pos;
}

/* The chain of a file's path: every dentry from the file up to the task's root, with its name's
 * hash and length and its parent, and the mounts crossed on the way. The path a walk builds is a
 * function of the chain and of the mount tree: a rename of the file or of any directory above it
 * (within the root) changes a dentry's parent or name, and so the chain's hash. A cached verdict
 * keeps the hash; after renames elsewhere on the machine it is re-checked by this walk, which reads
 * no names (a few plain loads per level) instead of walking the path again. Mount changes are not
 * seen here: they void verdicts through aw_topo_gen. */
struct aw_chain {
	__u64 dentry, mnt, root_d, root_m; /* struct dentry *, struct mount *, ... */
	__u64 h;
	__u64 parent, mnt_root, up, mountpoint; /* the level's pointers, stored to be read back as numbers */
	__u32 done;                        /* 1: the root (or the top of the mount tree) was reached */
};

struct aw_chain_ctx {
	struct aw_chain *c; /* in a map value: a pointer stored there reads back as a number to hash */
};

static __always_inline __u64 aw_chain_mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static long aw_chain_step(__u32 i, void *ctx)
{
	struct aw_chain *c = ((struct aw_chain_ctx *)ctx)->c;
	__u64 dentry = c->dentry, mnt = c->mnt;

	if (dentry == c->root_d && mnt + bpf_core_field_offset(struct mount, mnt) == c->root_m) {
		c->done = 1;
		return 1;
	}
	struct dentry *d = AW_CAST((void *)dentry, struct dentry);
	struct mount *m = AW_CAST((void *)mnt, struct mount);
	c->parent = (__u64)d->d_parent;
	c->mnt_root = (__u64)m->mnt.mnt_root;
	asm volatile("" ::: "memory"); /* read them back from memory, as numbers */
	__u64 parent = c->parent;
	if (dentry == c->mnt_root || dentry == parent) {
		c->up = (__u64)m->mnt_parent;
		c->mountpoint = (__u64)m->mnt_mountpoint;
		asm volatile("" ::: "memory");
		__u64 up = c->up;
		if (up == mnt || !up) {
			c->done = 1;
			return 1;
		}
		c->dentry = c->mountpoint;
		c->mnt = up;
		c->h = aw_chain_mix(c->h, c->mountpoint ^ (up << 1));
		return 0;
	}
	c->h = aw_chain_mix(aw_chain_mix(c->h, dentry), d->d_name.hash_len ^ (parent << 1));
	c->dentry = parent;
	return 0;
}

/* The hash of the chain from c->dentry, c->mnt (a struct mount *) up to c->root_d, c->root_m;
 * 0 when the walk did not reach the root within AW_WALK_DEPTH levels (a path that deep is walked
 * again whenever anything was renamed). A global function: the verifier checks it once, not once
 * per caller, and its callers do not fork on its result's paths. */
__noinline __u64 aw_chain_walk(struct aw_chain *c)
{
	struct aw_chain_ctx ctx = { .c = c };

	if (!c || !c->dentry || !c->mnt)
		return 0;
	c->h = 1;
	c->done = 0;
	bpf_loop(AW_WALK_DEPTH, aw_chain_step, &ctx, 0);
	return c->done ? c->h | 1 : 0;
}

/* The hash of target's chain up to root, with c (in a map value) as the walk's state. */
static __always_inline __u64 aw_chain_hash(struct aw_chain *c, struct path *target, struct path *root)
{
	c->dentry = (__u64)target->dentry;
	c->mnt = (__u64)target->mnt;
	c->root_d = (__u64)root->dentry;
	c->root_m = (__u64)root->mnt;
	asm volatile("" ::: "memory"); /* read back as numbers */
	if (c->mnt)
		c->mnt -= bpf_core_field_offset(struct mount, mnt);
	return aw_chain_walk(c);
}

/* The struct file behind fd in task's table, or NULL. */
static __always_inline struct file *aw_fd_file(struct task_struct *task, int fd)
{
	struct file **fds;
	struct file *f = NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
