// SPDX-License-Identifier: Apache-2.0
/* A rename storm for bench/monitor.ts (--rename-storm): renames one file back and forth in DIR
 * until killed, as a busy host renaming temporary files does. Usage: renameloop DIR */
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char a[4096], b[4096];
	if (argc != 2 || snprintf(a, sizeof(a), "%s/storm-a", argv[1]) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s/storm-b", argv[1]) >= (int)sizeof(b)) {
		fprintf(stderr, "usage: renameloop DIR\n");
		return 2;
	}
	int fd = open(a, O_CREAT | O_WRONLY, 0600);
	if (fd < 0) {
		perror(a);
		return 1;
	}
	close(fd);
	for (;;) {
		if (rename(a, b) || rename(b, a)) {
			perror("rename");
			return 1;
		}
	}
}
