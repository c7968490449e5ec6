// Test tool: executions the shell cannot make, and failed ones it would hide.
// execops execveat DIR NAME [ARG...]          execveat(dirfd of DIR, NAME) — the dirfd stays open
// execops execveat-cloexec DIR NAME [ARG...]  the same with an O_CLOEXEC dirfd (closed by the exec)
// execops execve PATH [ARG...]                execve(PATH): a failure is printed as its errno
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc >= 4 && (!strcmp(argv[1], "execveat") || !strcmp(argv[1], "execveat-cloexec"))) {
		int flags = O_RDONLY | O_DIRECTORY | (!strcmp(argv[1], "execveat-cloexec") ? O_CLOEXEC : 0);
		int d = open(argv[2], flags);
		if (d < 0) { perror(argv[2]); return 1; }
		execveat(d, argv[3], argv + 3, environ, 0);
		printf("%d\n", errno);
		return 1;
	}
	if (argc >= 3 && !strcmp(argv[1], "execve")) {
		execve(argv[2], argv + 2, environ);
		printf("%d\n", errno);
		return 1;
	}
	fprintf(stderr, "usage: execops execveat|execveat-cloexec DIR NAME [ARG...] | execops execve PATH [ARG...]\n");
	return 2;
}
