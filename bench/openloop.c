// Open/close loop for bench/monitor.ts: openloop FILE COUNT [RATE_PER_SEC]
// Prints CPU nanoseconds per open+close (user + system time of this thread, which includes the
// time the kernel spends in attached BPF programs; robust against other load on the machine) and
// wall-clock nanoseconds per op. With RATE, paces itself to that many iterations per second
// (sleeping between batches) so a tracer can be measured at a fixed load.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: openloop FILE COUNT [RATE_PER_SEC]\n");
		return 2;
	}
	const char *file = argv[1];
	long count = atol(argv[2]);
	double rate = argc > 3 ? atof(argv[3]) : 0;
	long long cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < count; i++) {
		if (rate > 0 && i % 64 == 0) {
			long long due = start + (long long)(i / rate * 1e9), now = clock_ns(CLOCK_MONOTONIC);
			if (due > now) {
				struct timespec d = { (due - now) / 1000000000LL, (due - now) % 1000000000LL };
				nanosleep(&d, NULL);
			}
		}
		int fd = open(file, O_RDONLY);
		if (fd < 0) {
			perror(file);
			return 1;
		}
		close(fd);
	}
	long long wall = clock_ns(CLOCK_MONOTONIC) - start, cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	printf("{\"count\":%ld,\"nsPerOp\":%.1f,\"wallNsPerOp\":%.1f,\"elapsedNs\":%lld}\n", count,
	       (double)cpu / count, (double)wall / count, wall);
	return 0;
}
