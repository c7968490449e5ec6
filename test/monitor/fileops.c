// Test tool: file calls the shell cannot make.
// fileops openat DIR NAME  |  fileops openat2 PATH  |  fileops truncate PATH LENGTH
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "openat")) {
		int d = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (d < 0) { perror(argv[2]); return 1; }
		int f = openat(d, argv[3], O_RDONLY);
		printf("%d %d\n", d, f);
		return f < 0;
	}
	if (argc == 3 && !strcmp(argv[1], "openat2")) {
		struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS };
		long f = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
		printf("%ld\n", f);
		return f < 0;
	}
	if (argc == 4 && !strcmp(argv[1], "truncate")) {
		int r = truncate(argv[2], atol(argv[3]));
		printf("%d\n", r);
		return r < 0;
	}
	fprintf(stderr, "usage: fileops openat DIR NAME | fileops openat2 PATH | fileops truncate PATH LENGTH\n");
	return 2;
}
