// Fork+exec loop for bench/monitor.ts: execloop PROG COUNT [PROG2 ...]
// Each iteration forks, the child execs PROG (bench/exectiny.c, static, exits at once) and the
// parent waits for it. With more programs, iteration i runs the (i mod n)-th: programs that
// alternate, as a shell script calling several tools does. Prints CPU nanoseconds per iteration (user + system time of this process
// and its reaped children: the BPF programs on the exec path run in the child) and wall-clock
// nanoseconds per iteration.
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long tv_ns(struct timeval t) { return t.tv_sec * 1000000000LL + t.tv_usec * 1000LL; }

static long long cpu_ns(void)
{
	struct rusage s, c;
	getrusage(RUSAGE_SELF, &s);
	getrusage(RUSAGE_CHILDREN, &c);
	return tv_ns(s.ru_utime) + tv_ns(s.ru_stime) + tv_ns(c.ru_utime) + tv_ns(c.ru_stime);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: execloop PROG COUNT [PROG2 ...]\n");
		return 2;
	}
	long count = atol(argv[2]);
	int nprogs = argc - 2;
	char *env[] = { NULL };
	struct timespec t0, t1;
	long long cpu0 = cpu_ns();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		pid_t p = fork();
		if (p < 0) { perror("fork"); return 1; }
		char *prog = i % nprogs == 0 ? argv[1] : argv[2 + i % nprogs];
		if (p == 0) {
			char *args[] = { prog, NULL };
			execve(prog, args, env);
			_exit(127);
		}
		int st;
		if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "%s did not run\n", prog);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec), cpu = cpu_ns() - cpu0;
	printf("{\"count\":%ld,\"nsPerOp\":%.1f,\"wallNsPerOp\":%.1f,\"elapsedNs\":%lld}\n", count,
	       (double)cpu / count, (double)wall / count, wall);
	return 0;
}
