/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel-side path helpers: walking a dentry chain up to the task's own root, and finding the
 * struct file behind a descriptor. Kept apart from the handlers so the hot path stays readable. */
#ifndef ARMORWATCH_PATH_WALK_H
#define ARMORWATCH_PATH_WALK_H

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
