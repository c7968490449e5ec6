// Test tool: opens the tests cannot make from a shell, each the way an attacker would make it.
//   evasions uring PATH    open PATH with io_uring (IORING_OP_OPENAT), raw syscalls, no liburing;
//                          prints the result and the first bytes read through the returned fd
//                          (a failed open prints its -errno and exits 1)
//   evasions uringfixed PATH  the same open into slot 0 of a registered fixed-file table (no
//                          descriptor); prints the result (0) and the first bytes read through the
//                          fixed file (IORING_OP_READ with IOSQE_FIXED_FILE)
//   evasions handle PATH   name_to_handle_at(PATH), then open_by_handle_at on its mount
//   evasions cat PATH      a plain open (linked statically, so it runs in a chroot holding only itself)
//   evasions procfd PATH   open PATH with O_PATH, then open /proc/self/fd/N for reading
//   evasions mapfiles PATH mmap PATH, then open it again as /proc/self/map_files/<range>
//   evasions scm DIR NAME  a child opens DIR and passes the descriptor over a unix socket; the
//                          parent opens NAME relative to it
//   evasions tree PATH     open_tree(PATH, OPEN_TREE_CLONE): a detached copy of the tree at PATH
//   evasions setattr PATH  mount_setattr(PATH, MOUNT_ATTR_NOSUID): PATH must be a mount
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ring {
	int fd;
	struct io_uring_params p;
	char *sq, *cq;
	struct io_uring_sqe *sqes;
};

static int ring_setup(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = (int)syscall(SYS_io_uring_setup, 4, &r->p);
	if (r->fd < 0) { perror("io_uring_setup"); return -1; }
	size_t sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(unsigned);
	size_t cq_len = r->p.cq_off.cqes + r->p.cq_entries * sizeof(struct io_uring_cqe);
	r->sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED) { perror("mmap"); return -1; }
	return 0;
}

/* Submits `sqe` alone and waits for its completion: its result. */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned *tail = (unsigned *)(r->sq + r->p.sq_off.tail), *mask = (unsigned *)(r->sq + r->p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(r->sq + r->p.sq_off.array);
	unsigned idx = *tail & *mask;
	r->sqes[idx] = *sqe;
	array[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) { perror("io_uring_enter"); return -1; }
	unsigned *chead = (unsigned *)(r->cq + r->p.cq_off.head), *cmask = (unsigned *)(r->cq + r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(r->cq + r->p.cq_off.cqes);
	int res = cqes[*chead & *cmask].res;
	__atomic_store_n(chead, *chead + 1, __ATOMIC_RELEASE);
	return res;
}

/* IORING_OP_OPENAT of path; `fixed`: into slot 0 of the ring's fixed-file table instead of a descriptor. */
static int uring_open_in(struct ring *r, const char *path, int fixed)
{
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_OPENAT;
	sqe.fd = AT_FDCWD;
	sqe.addr = (unsigned long)path;
	sqe.open_flags = O_RDONLY;
	sqe.file_index = fixed ? 1 : 0; /* the slot + 1 */
	sqe.user_data = 42;
	return ring_run(r, &sqe);
}

static int uring_open(const char *path)
{
	struct ring r;
	return ring_setup(&r) ? -1 : uring_open_in(&r, path, 0);
}

/* Opens path into fixed-file slot 0 and reads it through that slot; prints the open's result and what was read. */
static int uring_fixed(const char *path)
{
	struct ring r;
	int empty[4] = { -1, -1, -1, -1 };
	if (ring_setup(&r))
		return 1;
	if (syscall(SYS_io_uring_register, r.fd, IORING_REGISTER_FILES, empty, 4) < 0) { perror("io_uring_register"); return 1; }
	int res = uring_open_in(&r, path, 1);
	char buf[64] = { 0 };
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ;
	sqe.flags = IOSQE_FIXED_FILE;
	sqe.fd = 0; /* the slot */
	sqe.addr = (unsigned long)buf;
	sqe.len = sizeof(buf) - 1;
	int n = res == 0 ? ring_run(&r, &sqe) : -1;
	printf("%d %s\n", res, n > 0 ? buf : "");
	return res != 0;
}

static int handle_open(const char *path)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int mount_id;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0)) { perror("name_to_handle_at"); return -1; }
	/* Any descriptor on the same file system names the mount: here the file's own directory. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) *slash = 0;
	int mfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (mfd < 0) { perror(dir); return -1; }
	return open_by_handle_at(mfd, fh, O_RDONLY);
}

static int procfd_open(const char *path)
{
	char link[64];
	int p = open(path, O_PATH);
	if (p < 0) { perror(path); return -1; }
	snprintf(link, sizeof(link), "/proc/self/fd/%d", p);
	return open(link, O_RDONLY);
}

static int mapfiles_open(const char *path)
{
	int f = open(path, O_RDONLY);
	if (f < 0) { perror(path); return -1; }
	void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f, 0);
	if (m == MAP_FAILED) { perror("mmap"); return -1; }
	close(f);
	char want[4096], line[8192], link[128];
	snprintf(want, sizeof(want), " %s\n", path);
	FILE *maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps)) {
		size_t n = strlen(line), w = strlen(want);
		if (n < w || strcmp(line + n - w, want))
			continue;
		*strchr(line, ' ') = 0; /* "start-end" */
		snprintf(link, sizeof(link), "/proc/self/map_files/%s", line);
		return open(link, O_RDONLY);
	}
	fprintf(stderr, "%s is not mapped\n", path);
	return -1;
}

static int scm_open(const char *dir, const char *name)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { perror("socketpair"); return -1; }
	char c = 0;
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (fork() == 0) {
		int d = open(dir, O_RDONLY | O_DIRECTORY);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &d, sizeof(int));
		_exit(sendmsg(sv[0], &msg, 0) == 1 ? 0 : 1);
	}
	if (recvmsg(sv[1], &msg, 0) != 1) { perror("recvmsg"); return -1; }
	int d;
	memcpy(&d, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	wait(NULL);
	return openat(d, name, O_RDONLY);
}

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* The mount family's calls with a path that return no file to read: prints the result. */
static int mount_call(const char *what, const char *path)
{
	long r;
	if (!strcmp(what, "tree")) {
		r = syscall(SYS_open_tree, AT_FDCWD, path, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
	} else {
		struct { unsigned long long attr_set, attr_clr, propagation, userns_fd; } attr = { .attr_set = 0x2 /* MOUNT_ATTR_NOSUID */ };
		r = syscall(SYS_mount_setattr, AT_FDCWD, path, 0, &attr, sizeof(attr));
	}
	printf("%ld\n", r);
	return r < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && (!strcmp(argv[1], "tree") || !strcmp(argv[1], "setattr")))
		return mount_call(argv[1], argv[2]);
	if (argc == 4 && !strcmp(argv[1], "scm")) {
		int fd = scm_open(argv[2], argv[3]);
		char buf[64] = { 0 };
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		printf("%d %s\n", fd, n > 0 ? buf : "");
		return fd < 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: evasions uring|uringfixed|handle|cat|procfd|mapfiles PATH | scm DIR NAME\n");
		return 2;
	}
	if (!strcmp(argv[1], "uringfixed"))
		return uring_fixed(argv[2]);
	int fd = !strcmp(argv[1], "uring") ? uring_open(argv[2]) : !strcmp(argv[1], "handle") ? handle_open(argv[2])
		 : !strcmp(argv[1], "cat") ? open(argv[2], O_RDONLY) : !strcmp(argv[1], "procfd") ? procfd_open(argv[2])
		 : !strcmp(argv[1], "mapfiles") ? mapfiles_open(argv[2]) : INT_MIN;
	if (fd == INT_MIN) { /* (-2 is -ENOENT: a failed io_uring open) */
		fprintf(stderr, "usage: evasions uring|handle|cat|procfd|mapfiles PATH | scm DIR NAME\n");
		return 2;
	}
	char buf[64] = { 0 };
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	printf("%d %s\n", fd, n > 0 ? buf : "");
	return fd < 0;
}
