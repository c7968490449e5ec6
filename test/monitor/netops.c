// SPDX-License-Identifier: Apache-2.0
/* Network calls for the monitor's tests, one scenario per run (the test matches events by pid):
 *   netops pair <v4|v6|mapped> <port>     listen, connect to it, accept (one process, TCP)
 *   netops connect <addr> <port>          a blocking TCP connect
 *   netops nb-connect <addr> <port>       a non-blocking TCP connect, then wait for its result
 *   netops serve <addr> <port> <seconds>  listen and accept until the time is up
 *   netops udp <addr> <port>              a UDP socket connected to addr:port
 *   netops ports <addr> <first> <last> <times>   non-blocking TCP connects to each port in turn, each
 *                                         `times` times, each waited for (a small connect scan)
 *   netops burst <addr> <first> <last> <wait|close>   a non-blocking TCP connect to each port at
 *                                         once, printing "<port> <fd>" for each and then "sent";
 *                                         then waits for every result ("<port> <errno name>"), or
 *                                         closes every socket at once
 *   netops unix <path> | unix-abstract <name>   listen, connect, accept on a unix stream socket
 * With AW_MARK set, first opens that file (a file event of the same process). Exit status 0 when
 * the calls ran, whatever they returned; the result of a connect is printed as its errno name. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static socklen_t addr_of(const char *text, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return sizeof(*v4);
	}
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return sizeof(*v6);
	}
	fprintf(stderr, "netops: bad address %s\n", text);
	exit(2);
}

static int must(int v, const char *what)
{
	if (v < 0) {
		perror(what);
		exit(1);
	}
	return v;
}

static void result(int err)
{
	printf("%s\n", err ? strerrorname_np(err) : "OK");
}

static int tcp_connect(const char *addr, int port, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(addr, port, &ss);
	int fd = must(socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0), "socket");
	int r = connect(fd, (struct sockaddr *)&ss, len);
	int err = r < 0 ? errno : 0;
	if (nonblock && err == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		poll(&p, 1, 10000);
		socklen_t sl = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
	}
	result(err);
	return fd;
}

static void pair(const char *family, int port)
{
	int v4 = !strcmp(family, "v4");
	struct sockaddr_storage ss;
	socklen_t len = addr_of(v4 ? "127.0.0.1" : "::", port, &ss);
	int s = must(socket(ss.ss_family, SOCK_STREAM, 0), "socket");
	int on = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	must(bind(s, (struct sockaddr *)&ss, len), "bind");
	must(listen(s, 8), "listen");
	int c = tcp_connect(v4 ? "127.0.0.1" : !strcmp(family, "v6") ? "::1" : "::ffff:127.0.0.1", port, 0);
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	int a = must(accept4(s, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC), "accept4");
	close(a);
	close(c);
	close(s);
}

static void serve(const char *addr, int port, int seconds)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(addr, port, &ss);
	int s = must(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket");
	int on = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	must(bind(s, (struct sockaddr *)&ss, len), "bind");
	must(listen(s, 64), "listen");
	printf("listening\n");
	fflush(stdout);
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, 200) > 0) {
			int a = accept(s, NULL, NULL);
			if (a >= 0)
				close(a);
		}
	}
}

static void unix_pair(const char *name, int abstract)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (n + 2 > sizeof(un.sun_path))
		exit(2);
	memcpy(un.sun_path + (abstract ? 1 : 0), name, n);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + n + 1; /* the NUL before an abstract name, or after a path */
	if (!abstract)
		unlink(name);
	int s = must(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	must(bind(s, (struct sockaddr *)&un, len), "bind");
	must(listen(s, 8), "listen");
	int c = must(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	result(connect(c, (struct sockaddr *)&un, len) < 0 ? errno : 0);
	int a = must(accept(s, NULL, NULL), "accept");
	close(a);
	close(c);
	close(s);
	if (!abstract)
		unlink(name);
}

static void burst(const char *addr, int first, int last, int wait)
{
	int n = last - first + 1, fds[256];
	if (n < 1 || n > 256)
		exit(2);
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = addr_of(addr, first + i, &ss);
		fds[i] = must(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket");
		connect(fds[i], (struct sockaddr *)&ss, len);
		printf("%d %d\n", first + i, fds[i]);
	}
	printf("sent\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		if (wait) {
			struct pollfd p = { .fd = fds[i], .events = POLLOUT };
			poll(&p, 1, 20000);
			int err = 0;
			socklen_t sl = sizeof(err);
			getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &sl);
			printf("%d %s\n", first + i, err ? strerrorname_np(err) : "OK");
		}
		close(fds[i]);
	}
}

int main(int argc, char **argv)
{
	const char *mark = getenv("AW_MARK");
	if (mark) {
		int fd = open(mark, O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	if (argc == 4 && !strcmp(argv[1], "pair")) pair(argv[2], atoi(argv[3]));
	else if (argc == 4 && !strcmp(argv[1], "connect")) close(tcp_connect(argv[2], atoi(argv[3]), 0));
	else if (argc == 4 && !strcmp(argv[1], "nb-connect")) close(tcp_connect(argv[2], atoi(argv[3]), 1));
	else if (argc == 5 && !strcmp(argv[1], "serve")) serve(argv[2], atoi(argv[3]), atoi(argv[4]));
	else if (argc == 6 && !strcmp(argv[1], "ports")) {
		for (int p = atoi(argv[3]); p <= atoi(argv[4]); p++)
			for (int i = 0; i < atoi(argv[5]); i++)
				close(tcp_connect(argv[2], p, 1));
	}
	else if (argc == 6 && !strcmp(argv[1], "burst")) burst(argv[2], atoi(argv[3]), atoi(argv[4]), !strcmp(argv[5], "wait"));
	else if (argc == 4 && !strcmp(argv[1], "udp")) {
		struct sockaddr_storage ss;
		socklen_t len = addr_of(argv[2], atoi(argv[3]), &ss);
		int fd = must(socket(ss.ss_family, SOCK_DGRAM, 0), "socket");
		result(connect(fd, (struct sockaddr *)&ss, len) < 0 ? errno : 0);
		close(fd);
	} else if (argc == 3 && !strcmp(argv[1], "unix")) unix_pair(argv[2], 0);
	else if (argc == 3 && !strcmp(argv[1], "unix-abstract")) unix_pair(argv[2], 1);
	else {
		fprintf(stderr, "usage: see the comment at the top of test/monitor/netops.c\n");
		return 2;
	}
	return 0;
}
