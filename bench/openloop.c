// Open/close loop for bench/monitor.ts: openloop FILE COUNT [RATE_PER_SEC]
// Prints the mean nanoseconds per open+close on stdout. With RATE, paces itself to that many
// iterations per second (busy-waiting between batches) so a tracer can be measured at a fixed load.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
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
	long long busy = 0, start = now_ns();
	for (long i = 0; i < count; i++) {
		if (rate > 0) {
			long long due = start + (long long)(i / rate * 1e9);
			while (now_ns() < due)
				;
		}
		long long t0 = now_ns();
		int fd = open(file, O_RDONLY);
		if (fd < 0) {
			perror(file);
			return 1;
		}
		close(fd);
		busy += now_ns() - t0;
	}
	long long total = now_ns() - start;
	printf("{\"count\":%ld,\"nsPerOp\":%.1f,\"elapsedNs\":%lld}\n", count, (double)busy / count, total);
	return 0;
}
