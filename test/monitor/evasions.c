// Test tool: opens the tests cannot make from a shell, each the way an attacker would make it.
//   evasions uring PATH    open PATH with io_uring (IORING_OP_OPENAT), raw syscalls, no liburing;
//                          prints the result and the first bytes read through the returned fd
//   evasions handle PATH   name_to_handle_at(PATH), then open_by_handle_at on its mount
//   evasions cat PATH      a plain open (linked statically, so it runs in a chroot holding only itself)
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int uring_open(const char *path)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (ring < 0) { perror("io_uring_setup"); return -1; }
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return -1; }
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *mask = (unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned idx = *tail & *mask;
	struct io_uring_sqe *sqe = &sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_OPENAT;
	sqe->fd = AT_FDCWD;
	sqe->addr = (unsigned long)path;
	sqe->open_flags = O_RDONLY;
	sqe->user_data = 42;
	array[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) { perror("io_uring_enter"); return -1; }
	unsigned *chead = (unsigned *)(cq + p.cq_off.head), *cmask = (unsigned *)(cq + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	int res = cqes[*chead & *cmask].res;
	__atomic_store_n(chead, *chead + 1, __ATOMIC_RELEASE);
	return res;
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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: evasions uring|handle|cat PATH\n");
		return 2;
	}
	int fd = !strcmp(argv[1], "uring") ? uring_open(argv[2]) : !strcmp(argv[1], "handle") ? handle_open(argv[2])
		 : !strcmp(argv[1], "cat") ? open(argv[2], O_RDONLY) : -2;
	if (fd == -2) {
		fprintf(stderr, "usage: evasions uring|handle|cat PATH\n");
		return 2;
	}
	char buf[64] = { 0 };
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	printf("%d %s\n", fd, n > 0 ? buf : "");
	return fd < 0;
}
