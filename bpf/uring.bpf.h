/* SPDX-License-Identifier: Apache-2.0 */
/* Opens made through io_uring (IORING_OP_OPENAT, IORING_OP_OPENAT2) never pass through the open
 * system calls. They are observed on two io_uring tracepoints (tp_btf only: their arguments changed
 * across kernels, and BTF makes the loader refuse a mismatch instead of reading the wrong ones):
 * - io_uring:io_uring_submit_req, once the request is prepared: the name the program asked for is
 *   then a kernel copy (struct filename). It is kept by request (uring_names) when it can pass the
 *   filter (as an open's requested path at entry: absolute and passing, or relative to a directory
 *   descriptor or the working directory, which user space resolves), because the kernel frees it
 *   once the file is open;
 * - io_uring:io_uring_complete: the file opened is then in the process's descriptor table, or in
 *   the ring's fixed-file table for an open into a fixed-file slot (file_slot: the slot + 1, or
 *   IORING_FILE_INDEX_ALLOC and the slot chosen is the result). It is judged as an open's is: by
 *   its path from the task's root and by its identity, or passes as a candidate by the name kept
 *   at submission. A failed open (res < 0) is reported when its name was kept.
 * The event carries the name asked for when it was kept, and AW_EVF_URING; an open into a fixed-file
 * slot returns 0 (or the slot it chose). Included at the end of armorwatch.bpf.c; the helper loads
 * aw_ubtf_submit and aw_ubtf_complete when the kernel accepts them and says so either way (READY's
 * uringHook). */
#ifndef ARMORWATCH_URING_H
#define ARMORWATCH_URING_H

#define NR_io_uring_enter 426 /* the call events of io_uring opens are reported under */
#define AW_IORING_OP_OPENAT 18
#define AW_IORING_OP_OPENAT2 28
#define AW_IORING_FILE_INDEX_ALLOC 0xffffffffu
#define AW_FFS_MASK (~3UL) /* io_rsrc_node.file_ptr: the file, with two flag bits below */

/* An LRU: a request submitted with IOSQE_CQE_SKIP_SUCCESS that succeeds never reaches
 * io_uring_complete, so its entry is never removed there; the oldest such leftovers make room. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8[AW_PATH_MAX]);
} uring_names SEC(".maps");          /* request in flight -> the name its open asked for (NUL-terminated) */

static __always_inline int uring_is_open(void *vreq)
{
	__u8 op = BPF_CORE_READ((struct io_kiocb *)vreq, opcode);
	return op == AW_IORING_OP_OPENAT || op == AW_IORING_OP_OPENAT2;
}

static __always_inline int uring_process_passes(void)
{
	__u32 zero = 0;
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	return cfg && cfg->armed && process_passes(cfg, bpf_get_current_pid_tgid() >> 32);
}

/* The file in slot `idx` of the ring's fixed-file table (kernels whose table is of io_rsrc_node,
 * 6.13 on), or NULL. */
static __always_inline struct file *uring_fixed_file(struct io_ring_ctx *ring, __u32 idx)
{
	if (!bpf_core_field_exists(struct io_file_table, data))
		return NULL;
	if (idx >= BPF_CORE_READ(ring, file_table.data.nr))
		return NULL;
	struct io_rsrc_node **nodes = BPF_CORE_READ(ring, file_table.data.nodes);
	struct io_rsrc_node *node = NULL;
	if (!nodes || bpf_probe_read_kernel(&node, sizeof(node), nodes + idx) || !node)
		return NULL;
	return (struct file *)(BPF_CORE_READ(node, file_ptr) & AW_FFS_MASK);
}

static __always_inline int uring_open_asked(void *vreq)
{
#ifdef AW_FLOOR
	return 0;
#endif
	if (!uring_is_open(vreq) || !uring_process_passes())
		return 0;
	struct io_open *open = vreq; /* the request's command data starts the request */
	const char *name = BPF_CORE_READ(open, filename, name);
	struct heap *hp = scratch();
	if (!name || !hp)
		return 0;
	long n = bpf_probe_read_kernel_str(hp->tmp, AW_PATH_MAX, name);
	if (n <= 1)
		return 0;
	__u64 key = (__u64)vreq;
	/* Kept before it is judged: the scan may fold the path in place. */
	if (bpf_map_update_elem(&uring_names, &key, hp->tmp, BPF_ANY)) {
		count(AW_STAT_LOST_PENDING);
		return 0;
	}
	__u32 slot = aw_view(filter_slot(), AW_OPEN_CALLS);
	if (!aw_call_passes(slot, NR_io_uring_enter) && BPF_CORE_READ(open, dfd) == AT_FDCWD &&
	    hp->tmp[0] == '/' && !path_passes(hp, 0, (__u32)(n - 1), slot))
		bpf_map_delete_elem(&uring_names, &key); /* only the file it opens may pass now */
	return 0;
}

static __always_inline int uring_open_done(struct io_ring_ctx *ring, void *vreq, struct io_uring_cqe *cqe)
{
#ifdef AW_FLOOR
	return 0;
#endif
	if (!uring_is_open(vreq))
		return 0;
	__u64 key = (__u64)vreq;
	__u8 *asked = bpf_map_lookup_elem(&uring_names, &key);
	if (!uring_process_passes())
		goto out;
	struct io_open *open = vreq;
	__u32 fixed = BPF_CORE_READ(open, file_slot);
	long ret = BPF_CORE_READ(cqe, res);
	struct task_struct *bt = bpf_get_current_task_btf();
	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	struct file *opened = NULL;
	if (ret >= 0)
		opened = !fixed ? aw_fd_file_btf(bt, (int)ret)
				: uring_fixed_file(ring, fixed == AW_IORING_FILE_INDEX_ALLOC ? (__u32)ret : fixed - 1);
	__u32 walk_flags = 0;
	int pos = AW_PATH_MAX;
	struct path fp = {};
	struct heap *hp = scratch();
	if (!hp || (!opened && !asked))
		goto out; /* failed, and its name could not pass: nothing to judge it by */
	if (opened) {
		struct file *of = AW_CAST(opened, struct file);
		fp.dentry = (struct dentry *)(__u64)of->f_path.dentry;
		fp.mnt = (struct vfsmount *)(__u64)of->f_path.mnt;
	}
	__u64 gen = aw_path_gen;
	asm volatile("" ::: "memory"); /* the generation before the side: see aw_slot */
	__u32 slot = aw_view(filter_slot(), AW_OPEN_CALLS);
	if (opened && !asked && !aw_call_passes(slot, NR_io_uring_enter)) {
		int r = resolved_passes(&fp, &root, &pos, &walk_flags, gen, slot);
		if (r <= 0) {
			if (r == 0)
				count(AW_STAT_FILTERED);
			goto out;
		}
	} else if (opened) {
		pos = aw_walk(&hp->wk, hp->tmp, &fp, &root, &walk_flags);
	}

	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = sizeof(struct aw_event);
	__builtin_memset(e, 0, sizeof(*e));
	e->ev_flags = walk_flags | AW_EVF_URING;
	if (opened) {
		off = put_walked(hp, off, pos, AW_STR_RESOLVED);
		e->owner_uid = BPF_CORE_READ(opened, f_inode, i_uid.val);
		e->ev_flags |= AW_EVF_OWNER_VALID;
	}
	if (asked && off <= AW_LAST_SLOT) {
		long n = bpf_probe_read_kernel_str(hp->ev + at_most(off, AW_LAST_SLOT), AW_PATH_MAX, asked);
		if (n > 1) {
			e->str_len[AW_STR_PATH] = (__u32)(n - 1);
			off += (__u32)(n - 1);
		}
	}
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
	if (opened)
		off = put_host(hp, off, task, &fp, &root);
	send(hp, off);
out:
	if (asked)
		bpf_map_delete_elem(&uring_names, &key);
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(aw_ubtf_submit, struct io_kiocb *req)
{
	return uring_open_asked(req);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(aw_ubtf_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return uring_open_done(ring, req, cqe);
}

#endif
