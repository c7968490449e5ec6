// socket+connect+close loop for bench/monitor.ts's connect row: connectloop PORT COUNT
// Listens on 127.0.0.1:PORT itself (a second thread accepts and closes), then COUNT times makes a
// TCP socket, connects it to the listener (blocking) and closes it. Prints CPU nanoseconds per
// socket+connect+close of the connecting thread (user + system, which includes the attached BPF
// programs' time on this thread; robust against other load) and wall-clock nanoseconds per op.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *acceptor(void *arg)
{
	int s = *(int *)arg;
	for (;;) {
		int a = accept(s, NULL, NULL);
		if (a >= 0)
			close(a);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: connectloop PORT COUNT\n");
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	long count = atol(argv[2]);
	int s = socket(AF_INET, SOCK_STREAM, 0), on = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 4096)) {
		perror("listen");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, acceptor, &s);
	long long cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("connect");
			return 1;
		}
		/* SO_LINGER 0: close with a reset, so the loop does not fill the port range with TIME_WAIT */
		struct linger l = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd);
	}
	long long wall = clock_ns(CLOCK_MONOTONIC) - start, cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	printf("{\"count\":%ld,\"nsPerOp\":%.1f,\"wallNsPerOp\":%.1f,\"elapsedNs\":%lld}\n", count,
	       (double)cpu / count, (double)wall / count, wall);
	return 0;
}
