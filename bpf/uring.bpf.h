/* SPDX-License-Identifier: Apache-2.0 */
/* Opens made through io_uring (IORING_OP_OPENAT, IORING_OP_OPENAT2) never pass through the open
 * system calls. They are observed at their completion, on the io_uring:io_uring_complete
 * tracepoint (tp_btf only: its arguments changed across kernels, and BTF makes the loader refuse a
 * mismatch instead of reading the wrong ones). The file is then in the process's descriptor table
 * and is judged as an open's is: by its path from the task's root and by its identity. The name the
 * program asked for is no longer there (the kernel frees it once the file is open): the event
 * carries no requested path (AW_EVF_URING), and a failed io_uring open is not reported.
 * Included at the end of armorwatch.bpf.c; the helper loads aw_ubtf_complete when the kernel
 * accepts it and says so either way (READY's uringHook). */
#ifndef ARMORWATCH_URING_H
#define ARMORWATCH_URING_H

#define NR_io_uring_enter 426 /* the call events of io_uring opens are reported under */
#define AW_IORING_OP_OPENAT 18
#define AW_IORING_OP_OPENAT2 28

static __always_inline int uring_open_done(void *vreq, struct io_uring_cqe *cqe)
{
	__u32 zero = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	struct io_kiocb *req = vreq;
	__u8 op = BPF_CORE_READ(req, opcode);
	if (op != AW_IORING_OP_OPENAT && op != AW_IORING_OP_OPENAT2)
		return 0;
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!cfg || !cfg->armed || !process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct io_open *open = vreq; /* the request's command data starts the request */
	if (BPF_CORE_READ(open, file_slot)) /* into a fixed-file slot: res is no descriptor */
		return 0;
	long ret = BPF_CORE_READ(cqe, res);
	struct task_struct *bt = bpf_get_current_task_btf();
	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	struct file *opened = ret >= 0 ? aw_fd_file_btf(bt, (int)ret) : NULL;
	__u32 walk_flags = 0;
	int pos = AW_PATH_MAX;
	if (!opened)
		return 0; /* failed: nothing left to judge it by */
	struct file *of = AW_CAST(opened, struct file);
	struct path fp = { .dentry = (struct dentry *)(__u64)of->f_path.dentry,
			   .mnt = (struct vfsmount *)(__u64)of->f_path.mnt };
	struct heap *hp = scratch();
	if (!hp)
		return 0;
	__u64 gen = aw_path_gen;
	asm volatile("" ::: "memory"); /* the generation before the side: see aw_slot */
	__u32 slot = aw_view(filter_slot(), AW_OPEN_CALLS);
	if (!aw_call_passes(slot, NR_io_uring_enter)) {
		int r = resolved_passes(&fp, &root, &pos, &walk_flags, gen, slot);
		if (r <= 0) {
			if (r == 0)
				count(AW_STAT_FILTERED);
			return 0;
		}
	} else {
		pos = aw_walk(&hp->wk, hp->tmp, &fp, &root, &walk_flags);
	}

	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = sizeof(struct aw_event);
	__builtin_memset(e, 0, sizeof(*e));
	e->ev_flags = walk_flags | AW_EVF_URING | AW_EVF_OWNER_VALID;
	off = put_walked(hp, off, pos, AW_STR_RESOLVED);
	e->owner_uid = BPF_CORE_READ(opened, f_inode, i_uid.val);
	put_identity(e, task, NR_io_uring_enter, ret);
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->dirfd = BPF_CORE_READ(open, dfd);
	e->dirfd2 = AT_FDCWD;
	e->flags = (__u32)BPF_CORE_READ(open, how.flags);
	e->mode = (__u32)BPF_CORE_READ(open, how.mode);
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	off = put_path(hp, off, &pwd, &root, AW_STR_CWD);
	if (e->dirfd != AT_FDCWD)
		off = put_fd_dir(hp, off, task, e->dirfd, &root, AW_STR_DIR);
	struct path exe = BPF_CORE_READ(task, mm, exe_file, f_path);
	off = put_path(hp, off, &exe, &root, AW_STR_EXE);
	off = put_parent_tty(hp, off, task, &root);
	off = put_host(hp, off, task, &fp, &root);
	send(hp, off);
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(aw_ubtf_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return uring_open_done(req, cqe);
}

#endif
