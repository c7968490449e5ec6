// SPDX-License-Identifier: Apache-2.0
/* armorwatch-monitor: loads and attaches the file monitor, then copies ring-buffer records to stdout
 * as length-prefixed frames and applies filter commands read line by line from stdin.
 * It runs as its own process so a crash here cannot take the agent down, and so Node needs no
 * native addon. Protocol (little-endian): frame = u32 payload length, u32 type, payload.
 *   type 1 READY  JSON {hook, execHook, outcomeHook, outcomeProblem, uringHook, uringError, netHook,
 *                       netHookProblem, tried[], ringbufBytes, bootToRealtimeNs, pid, programs[]}
 *                       after load, before attach (programs: the kernel ids of the programs loaded)
 *   type 2 EVENT  struct aw_event + strings (bpf/armorwatch_event.h)
 *   type 3 STATS  JSON counters, periodically and on request, and which hook groups are attached
 *                 (hooks: file, exec, network, outcome; each only while the filter in force needs it)
 *   type 4 ACK    JSON {seq, ok, error?} for each command
 *   type 5 ERROR  JSON {code, message} then exit(1)
 * Commands: "<seq> begin"   starts building the filter's other side (see aw_slot in the BPF program)
 *           "<seq> paths <passAll 0|1> <exact fnv1a hex,...|-> <prefix fnv1a hex,...|-> <first-component keys hex,...|-|*> <calls nr,...|->"
 *           (an exact or prefix hash may end in "=<nr>.<nr>...": that entry passes only those calls)
 *           (keys as in bpf/armorwatch_filter.h, '*': every first component; calls: file calls whose
 *           events pass whatever their path)
 *           "<seq> execs <passAll 0|1> <exact fnv1a hex,...|-> <prefix fnv1a hex,...|-> <name fnv1a hex,...|->"
 *           "<seq> net <passAll 0|1> <calls: AW_NET_* bits, decimal> <protocols: decimal,...|*>
 *                 [gate <protocols: 1 TCP|2 UDP> <window ms> <quiet ms> <ports> <hosts> <host netns inode>]"
 *           (the port-scan gate: aw_gate_* in bpf/net.bpf.h; without it the gate is off)
 *           (protocols '*': any; the outcome hook is attached while connects are asked for)
 *           "<seq> idents <dev hex:inode hex,...|->"  (watched identities: bpf/identity.bpf.h)
 *           "<seq> switch"  puts the side built in force at once: paths, execs, net and idents are
 *                 all built into it (a part not given in the build is empty on the new side)
 *           "<seq> procs <pid,...|-> <comm hex,...|-> <excluded pid,...|->"
 *           "<seq> attach"   "<seq> stats"
 * A refused begin/paths/execs/net/idents/switch leaves the side in force untouched, whole.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "armorwatch_event.h"
#include "armorwatch_filter.h"
#include "armorwatch.skel.h"

enum { F_READY = 1, F_EVENT = 2, F_STATS = 3, F_ACK = 4, F_ERROR = 5 };

static struct armorwatch_bpf *skel;
static struct ring_buffer *rb;
static const char *hook_name = "none";
static const char *exec_hook_name = "none";
/* The hook of connect outcomes (sock:inet_sock_set_state), in the kind of the exec hook. */
static const char *outcome_hook_name = "none";
static char outcome_problem[256] = "";
static struct bpf_program *outcome_prog;
static int attached;
/* The io_uring completion hook (bpf/uring.bpf.h): "tp_btf", or "none" and why. */
static const char *uring_hook_name = "none";
static char uring_error[256] = "not tried";
static int want_uring = 1;
/* The hooks of socket() and connect(): "cgroup" (bpf/armorwatch.bpf.c aw_cg_*, attached to the root
 * of the cgroup v2 hierarchy: they run only on those calls), or "syscalls" (the per-syscall hooks of
 * the family in use, as the other network calls) and why. --net-hook auto (cgroup when the kernel
 * lets it attach), cgroup (required), syscalls. */
static const char *want_net = "auto";
static int net_cg;
/* Connects remembered for an outcome that no hook will see any more (the outcome group went):
 * dropped, and counted with lostNetPending. Left in place they would never leave their maps, and a
 * later socket at the same address would inherit another process's record. */
static unsigned long long net_dropped;
static int cg_root = -1;  /* the cgroup v2 root, open while the cgroup hooks may be attached */
static const char *net_hook_name = "syscalls";
static char net_problem[256] = "";
static char tried[2048] = "";
static unsigned long filter_capacity = 65536; /* entries of each filter map, per side (--filter-capacity) */
static unsigned long ringbuf_bytes; /* from the agent (--ringbuf-bytes): src/config owns the default */
static __u32 generation;
static struct bpf_link *exec_probe; /* the exec hook's link from the load-time probe, until the attach command */
static struct bpf_program *exec_prog;
static unsigned long long frames_out, events_out;

/* ---- hooks on demand: every attached program belongs to the part of the monitor that needs it ---
 * A group is attached only while the filter in force (or the network filter, or the watched
 * identities) can let one of its events through, and detached when none can: a hook nobody needs
 * costs nothing. Widen before a change takes effect, narrow after (sync_hooks). */
enum {
	G_FILE,    /* the file calls, the calls that void cached verdicts, io_uring completions */
	G_EXEC,    /* execve/execveat and the exec hook (sched_process_exec) */
	G_NET,     /* accept, accept4, bind, listen */
	G_NETSC,   /* socket and connect, per syscall: while the cgroup hooks do not serve them (cg_serves) */
	G_NETCG,   /* socket and connect at the root cgroup (sock_create, connect4/6, sock_release) */
	G_OUTCOME, /* sock:inet_sock_set_state: the outcome of non-blocking connects */
	G_GEN,     /* renames and mounts: they void cached verdicts (aw_path_gen), which file and exec
	            * verdicts both rely on, so they stay while either group is attached */
	G_SHARED,  /* sys_enter/sys_exit of the tp_btf and raw families: every part goes through them */
	G_COUNT
};
static const char *const group_names[G_COUNT] = { "file", "exec", "network", "socket and connect", "socket and connect (cgroup)", "outcome", "renames and mounts", "syscalls" };
#define G_BIT(g) (1u << (g))
struct hooked {
	struct bpf_program *prog;
	struct bpf_link *link; /* NULL while detached */
	int group;
	int optional;          /* failing to attach it is reported, not fatal (io_uring, outcome) */
	int cgroup;            /* attached to the cgroup v2 root (cg_root) */
};
static struct hooked hooked[96];
static int nhooked;
static unsigned int groups_wanted; /* G_BIT()s of the groups the state in force needs */
static unsigned long long attaches, detaches;

static int group_attached(int g)
{
	for (int i = 0; i < nhooked; i++)
		if (hooked[i].group == g && hooked[i].link)
			return 1;
	return 0;
}

static int links_attached(void)
{
	int n = 0;
	for (int i = 0; i < nhooked; i++)
		n += hooked[i].link != NULL;
	return n;
}

/* ---- output: one big buffer, flushed after each ring-buffer batch ---------------------------- */

static char *obuf;
static size_t olen, ocap = 1u << 20;

static void flush_out(void)
{
	size_t done = 0;
	while (done < olen) {
		ssize_t n = write(STDOUT_FILENO, obuf + done, olen - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			exit(3); /* the reader is gone: nothing left to report to */
		}
		done += (size_t)n;
	}
	olen = 0;
}

static void put_frame(__u32 type, const void *data, size_t len)
{
	__u32 hdr[2] = { (__u32)len, type };
	if (olen + sizeof(hdr) + len > ocap)
		flush_out();
	if (sizeof(hdr) + len > ocap) { /* larger than the buffer: write through */
		memcpy(obuf, hdr, sizeof(hdr));
		olen = sizeof(hdr);
		flush_out();
		olen = len;
		memcpy(obuf, data, len < ocap ? len : 0);
		return;
	}
	memcpy(obuf + olen, hdr, sizeof(hdr));
	memcpy(obuf + olen + sizeof(hdr), data, len);
	olen += sizeof(hdr) + len;
	frames_out++;
}

static void put_json(__u32 type, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put_frame(type, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void json_escape(char *dst, size_t cap, const char *src)
{
	size_t j = 0;
	for (; *src && j + 7 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') { dst[j++] = '\\'; dst[j++] = (char)c; }
		else if (c < 0x20) j += (size_t)snprintf(dst + j, cap - j, "\\u%04x", c);
		else dst[j++] = (char)c;
	}
	dst[j] = 0;
}

static _Noreturn void fail(const char *code, const char *fmt, ...)
{
	char msg[1024], esc[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_escape(esc, sizeof(esc), msg);
	put_json(F_ERROR, "{\"code\":\"%s\",\"message\":\"%s\"}", code, esc);
	flush_out();
	fprintf(stderr, "armorwatch-monitor: %s\n", msg);
	exit(1);
}

/* ---- clocks and counters ------------------------------------------------------------------------ */

static long long boot_to_realtime_ns(void)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

static void put_stats(void)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 sum[AW_STAT_COUNT] = { 0 };
	__u64 *vals = calloc((size_t)ncpu, sizeof(__u64));
	for (__u32 i = 0; vals && i < AW_STAT_COUNT; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &i, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				sum[i] += vals[c];
	}
	free(vals);
	put_json(F_STATS,
		 "{\"emitted\":%llu,\"lostRingbuf\":%llu,\"lostPending\":%llu,\"filtered\":%llu,"
		 "\"filteredExec\":%llu,\"filteredNet\":%llu,\"lostNetPending\":%llu,\"gatedNet\":%llu,\"lostGate\":%llu,\"eventsWritten\":%llu,"
		 "\"hook\":\"%s\",\"execHook\":\"%s\",\"execHookAttached\":%s,\"outcomeHook\":\"%s\",\"outcomeAttached\":%s,"
		 "\"hooks\":{\"file\":%s,\"exec\":%s,\"network\":%s,\"outcome\":%s,\"links\":%d,\"attaches\":%llu,\"detaches\":%llu},"
		 "\"uringHook\":\"%s\",\"bootToRealtimeNs\":\"%lld\"}",
		 (unsigned long long)sum[AW_STAT_EMITTED], (unsigned long long)sum[AW_STAT_LOST_RINGBUF],
		 (unsigned long long)sum[AW_STAT_LOST_PENDING], (unsigned long long)sum[AW_STAT_FILTERED],
		 (unsigned long long)sum[AW_STAT_FILTERED_EXEC], (unsigned long long)sum[AW_STAT_FILTERED_NET],
		 (unsigned long long)(sum[AW_STAT_LOST_NET_PENDING] + net_dropped), (unsigned long long)sum[AW_STAT_GATED_NET],
		 (unsigned long long)sum[AW_STAT_LOST_GATE], events_out, hook_name, exec_hook_name,
		 attached && group_attached(G_EXEC) ? "true" : "false", outcome_hook_name, group_attached(G_OUTCOME) ? "true" : "false",
		 group_attached(G_FILE) ? "true" : "false", attached && group_attached(G_EXEC) ? "true" : "false",
		 group_attached(G_NET) || group_attached(G_NETSC) || group_attached(G_NETCG) ? "true" : "false", group_attached(G_OUTCOME) ? "true" : "false",
		 links_attached(), attaches, detaches, uring_hook_name, boot_to_realtime_ns());
}

/* ---- loading: try the better hook first, fall back to the portable one -------------------------- */

/* Hook families, best first; each is the set of programs whose name starts with `prefix`. */
struct hook {
	const char *name;
	const char *prefix;      /* programs loaded and attached */
	const char *tail_prefix; /* programs loaded for tail calls only, or NULL */
	int needs_tracefs;
};
static const struct hook hooks[] = {
	{ "syscall_tracepoints", "aw_tp_", "aw_tpb_", 1 },
	{ "tp_btf", "aw_btf_", NULL, 0 },
	{ "raw_tracepoint", "aw_raw_", NULL, 0 },
};
static const struct hook *chosen;

/* The exec hook (sched_process_exec), probed on its own, best first: one program each. */
struct exec_hook {
	const char *name;
	const char *prog;
	int needs_tracefs;
	const char *outcome_prog; /* sock:inet_sock_set_state in the same kind of hook */
};
static const struct exec_hook exec_hooks[] = {
	{ "tp_btf", "aw_xbtf_exec", 0, "aw_nbtf_state" },
	{ "raw_tracepoint", "aw_xraw_exec", 0, "aw_nraw_state" },
	{ "tracepoint", "aw_xtp_exec", 1, "aw_ntp_state" },
};

/* Whether this kernel has the sock:inet_sock_set_state tracepoint for the hook kind: its BTF type
 * (tp_btf, raw) or its tracefs directory (classic). Without it, outcomes are not reported, and
 * READY says why. */
static int has_sock_state_tp(const struct exec_hook *x)
{
	if (x->needs_tracefs)
		return access("/sys/kernel/tracing/events/sock/inet_sock_set_state", F_OK) == 0 ||
		       access("/sys/kernel/debug/tracing/events/sock/inet_sock_set_state", F_OK) == 0;
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return 0;
	int found = btf__find_by_name_kind(btf, "btf_trace_inet_sock_set_state", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}

/* Per-syscall tracepoints need tracefs. Mount it where the kernel expects it if nobody has (it is
 * not mounted at boot on every distribution). It stays mounted: other tracers may start using it
 * meanwhile, and unmounting under the next monitor would race with its own check. */
static int tracefs_ready(void)
{
	if (access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0)
		return 1;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		fprintf(stderr, "armorwatch-monitor: mounted tracefs on /sys/kernel/tracing\n");
		return access("/sys/kernel/tracing/events/syscalls", F_OK) == 0;
	}
	return 0;
}

static int has_prefix(const struct bpf_program *p, const char *prefix)
{
	return strncmp(bpf_program__name(p), prefix, strlen(prefix)) == 0;
}

/* libbpf's messages go to stderr (the agent logs them); the tail of the last one is kept for the
 * error frame, because that is where the verifier says why it refused a program. */
static char last_libbpf[1024];
static int libbpf_out(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (level == LIBBPF_DEBUG || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	size_t n = strlen(msg);
	if (n > 1)
		snprintf(last_libbpf, sizeof(last_libbpf), "%s", n >= sizeof(last_libbpf) ? msg + n - sizeof(last_libbpf) + 1 : msg);
	fputs(msg, stderr);
	free(msg);
	return 0;
}

/* Loads the syscall family `h` with the exec hook `x`. The exec program is attached at once: that
 * is the probe (a raw or classic tracepoint is refused only at attach). It does nothing until the
 * attach command arms it (aw_config.armed), so no event is seen before the filters are set; from
 * then on it stays attached only while the filter in force lets executions through (hooks_narrow). */

/* The io_uring programs (bpf/uring.bpf.h): the name asked for at submission, the open at completion. */
static int is_uring_prog(struct bpf_program *p)
{
	const char *n = bpf_program__name(p);
	return !strcmp(n, "aw_ubtf_submit") || !strcmp(n, "aw_ubtf_complete");
}

static int is_net_cg(const struct bpf_program *p)
{
	return has_prefix(p, "aw_cg_");
}

/* The root of the cgroup v2 hierarchy (from /proc/self/mountinfo), opened; -1 and why when none.
 * The root field of mountinfo is relative to the reader's cgroup namespace (a pod with its own
 * shows the host's /sys/fs/cgroup as "/../.."), so a mount is taken for what it is: the root cgroup
 * is the directory whose inode is 1. A namespace's own root would attach to that pod alone. */
static int open_cgroup2_root(char *why, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], dir[4096];
	int fd = -1;
	if (!f) {
		snprintf(why, cap, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		return -1;
	}
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint options... - fstype source superoptions */
		char *sep = strstr(line, " - cgroup2 ");
		struct stat st;
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", dir) != 1)
			continue;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, cap, "cannot open the cgroup v2 mount %.160s: %s", dir, strerror(errno));
		} else if (fstat(fd, &st) || st.st_ino != 1) {
			snprintf(why, cap, "the cgroup v2 mount %.100s is not the root cgroup (a cgroup namespace's own "
				 "root? mount the host's /sys/fs/cgroup)", dir);
			close(fd);
			fd = -1;
		}
	}
	fclose(f);
	if (fd >= 0)
		why[0] = 0;
	if (fd < 0 && !why[0])
		snprintf(why, cap, "no cgroup v2 hierarchy is mounted");
	return fd;
}

/* Whether the loaded cgroup programs attach to the cgroup v2 root: one is attached and detached at
 * once, before anything is armed (they allow every call whatever they find). */
static int net_cg_attaches(void)
{
	struct bpf_link *l = bpf_program__attach_cgroup(skel->progs.aw_cg_connect4, cg_root);
	if (!l)
		return errno ? -errno : -ENOENT;
	bpf_link__destroy(l);
	return 0;
}

static int try_load(const struct hook *h, const struct exec_hook *x, int uring, int cg)
{
	int err;
	skel = armorwatch_bpf__open();
	if (!skel)
		fail("AW_MONITOR_OPEN", "cannot open the BPF object: %s", strerror(errno));
	struct bpf_program *prog;
	int with_outcome = has_sock_state_tp(x);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, has_prefix(prog, h->prefix) ||
						(h->tail_prefix && has_prefix(prog, h->tail_prefix)) ||
						!strcmp(bpf_program__name(prog), x->prog) ||
						(with_outcome && !strcmp(bpf_program__name(prog), x->outcome_prog)) ||
						(uring && is_uring_prog(prog)) ||
						(cg && is_net_cg(prog)));
	bpf_map__set_max_entries(skel->maps.heap, (__u32)libbpf_num_possible_cpus());
	bpf_map__set_max_entries(skel->maps.events, (__u32)ringbuf_bytes);
	/* Two sides of the filter per map: the one in force and the next one, each up to the capacity. */
	struct bpf_map *filter_maps[] = { skel->maps.exact_paths, skel->maps.dir_prefixes, skel->maps.exec_exact,
					  skel->maps.exec_prefix, skel->maps.exec_names };
	for (size_t i = 0; i < sizeof(filter_maps) / sizeof(filter_maps[0]); i++)
		bpf_map__set_max_entries(filter_maps[i], (__u32)(2 * filter_capacity));
	bpf_map__set_max_entries(skel->maps.ident_inodes, (__u32)(2 * filter_capacity));
	if (!uring)
		bpf_map__set_autocreate(skel->maps.uring_names, false);
	err = armorwatch_bpf__load(skel);
	if (!err && h->tail_prefix) {
		__u32 key[2] = { 0, 1 };
		int fds[2] = { bpf_program__fd(skel->progs.aw_tpb_exit), bpf_program__fd(skel->progs.aw_tpb_exec) };
		for (int i = 0; i < 2 && !err; i++)
			if (bpf_map_update_elem(bpf_map__fd(skel->maps.aw_exit_builder), &key[i], &fds[i], BPF_ANY))
				err = -errno;
	}
	if (!err) {
		struct bpf_program *xp = bpf_object__find_program_by_name(skel->obj, x->prog);
		exec_prog = xp;
		exec_probe = xp ? bpf_program__attach(xp) : NULL;
		if (!exec_probe)
			err = errno ? -errno : -ENOENT;
	}
	if (err) {
		armorwatch_bpf__destroy(skel);
		skel = NULL;
		return err;
	}
	outcome_prog = with_outcome ? bpf_object__find_program_by_name(skel->obj, x->outcome_prog) : NULL;
	outcome_hook_name = outcome_prog ? x->name : "none";
	if (!outcome_prog)
		snprintf(outcome_problem, sizeof(outcome_problem),
			 "this kernel has no sock:inet_sock_set_state tracepoint for a %s program: the outcome of "
			 "non-blocking connects (EINPROGRESS) is not reported", x->name);
	return 0;
}

static void load(const char *want, const char *want_exec)
{
	int last_err = 0;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		const struct hook *h = &hooks[i];
		if (strcmp(want, "auto") && strcmp(want, h->name))
			continue;
		for (size_t j = 0; j < sizeof(exec_hooks) / sizeof(exec_hooks[0]); j++) {
			const struct exec_hook *x = &exec_hooks[j];
			if (strcmp(want_exec, "auto") && strcmp(want_exec, x->name))
				continue;
			int cg = cg_root >= 0;
			int err = (h->needs_tracefs || x->needs_tracefs) && !tracefs_ready() ? -ENOENT : try_load(h, x, want_uring, cg);
			int first_err = err;
			if (err && err != -ENOENT && cg && strcmp(want_net, "cgroup")) {
				/* The cgroup hooks are optional: without them, the per-syscall ones. */
				int again = try_load(h, x, want_uring, 0);
				if (!again) {
					snprintf(net_problem, sizeof(net_problem), "the kernel refused the cgroup network programs (%s%s)",
						 strerror(-err), err == -EPERM ? ": their program types need CAP_NET_ADMIN" : "");
					cg = 0;
				}
				err = again;
			}
			if (err && err != -ENOENT && want_uring) {
				/* The io_uring hook is optional: without it, the rest may still load. */
				int again = try_load(h, x, 0, cg);
				if (!again) {
					snprintf(uring_error, sizeof(uring_error), "the kernel refused tp_btf/io_uring_submit_req and io_uring_complete (%s)", strerror(-err));
					want_uring = 0;
				}
				err = again;
			}
			if (err && err != -ENOENT && cg && want_uring && strcmp(want_net, "cgroup")) {
				/* Both optional parts refused (an old kernel without the io_uring tracepoint, and no
				 * CAP_NET_ADMIN): the rest without either. */
				int again = try_load(h, x, 0, 0);
				if (!again) {
					snprintf(net_problem, sizeof(net_problem), "the kernel refused the cgroup network programs together with the io_uring hooks (%s%s)",
						 strerror(-first_err), first_err == -EPERM ? ": the cgroup program types need CAP_NET_ADMIN" : "");
					snprintf(uring_error, sizeof(uring_error), "the kernel refused tp_btf/io_uring_submit_req and io_uring_complete together with the cgroup network programs (%s)",
						 strerror(-first_err));
					cg = 0;
					want_uring = 0;
				}
				err = again;
			}
			size_t l = strlen(tried);
			snprintf(tried + l, sizeof(tried) - l, "%s{\"hook\":\"%s\",\"execHook\":\"%s\",\"error\":%s%s%s}",
				 l ? "," : "", h->name, x->name, err ? "\"" : "", err ? strerror(-err) : "null",
				 err ? "\"" : "");
			if (!err) {
				if (want_uring) {
					uring_hook_name = "tp_btf";
					uring_error[0] = 0;
				}
				if (cg) {
					int cerr = net_cg_attaches();
					if (cerr && !strcmp(want_net, "cgroup"))
						fail("AW_MONITOR_REFUSED", "cannot attach cgroup/connect4 to the cgroup v2 root (--net-hook cgroup): %s",
						     strerror(-cerr));
					if (cerr)
						snprintf(net_problem, sizeof(net_problem), "cannot attach cgroup/connect4 to the cgroup v2 root (%s)", strerror(-cerr));
					cg = !cerr;
				}
				net_cg = cg;
				net_hook_name = cg ? "cgroup" : "syscalls";
				if (!cg && cg_root >= 0) {
					close(cg_root);
					cg_root = -1;
				}
				chosen = h;
				hook_name = h->name;
				exec_hook_name = x->name;
				return;
			}
			last_err = err;
		}
	}
	if (last_err == -EPERM)
		fail("AW_MONITOR_PERMISSION",
		     "the kernel refused to load the BPF programs (%s): run as root or grant CAP_BPF and CAP_PERFMON",
		     strerror(-last_err));
	char esc[2048];
	json_escape(esc, sizeof(esc), last_libbpf);
	fail("AW_MONITOR_REFUSED", "the kernel refused the BPF programs (%s; tried hook \"%s\", exec hook \"%s\"): %s",
	     strerror(last_err ? -last_err : EINVAL), want, want_exec, last_libbpf);
}

/* ---- commands -------------------------------------------------------------------------------------- */

/* Why the last command failed, when strerror() would not say it (empty otherwise). */
static char cmd_err[256];

/* Sets every key in list (comma-separated, '-' for none) to the current generation, then removes
 * the keys of older generations. Adding before removing means a key present in both the old and
 * the new set never stops passing while the update runs. Used for the process filter. */
static int parse_hex64(const char *s, void *out);

static int replace_set(int fd, const char *list, size_t key_size, int (*parse)(const char *, void *))
{
	char key[AW_COMM_LEN + 8], next[AW_COMM_LEN + 8];
	__u32 gen = generation;
	char *copy = strdup(list), *save = NULL;
	int err = 0;
	if (!copy)
		return -ENOMEM;
	if (strcmp(copy, "-"))
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			memset(key, 0, sizeof(key));
			if (parse(tok, key)) { err = -EINVAL; goto out; }
			if (bpf_map_update_elem(fd, key, &gen, BPF_ANY)) { err = -errno; goto out; }
		}
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		__u32 v;
		if (bpf_map_lookup_elem(fd, next, &v) == 0 && v != gen) {
			bpf_map_delete_elem(fd, next);
			continue; /* restart from the same previous key: the deleted one is gone */
		}
		memcpy(key, next, key_size);
		prev = key;
	}
out:
	free(copy);
	return err;
}

static int parse_hex64(const char *s, void *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno || *end || end == s)
		return -1;
	memcpy(out, &v, sizeof(__u64));
	return 0;
}

static int parse_u32(const char *s, void *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > 0xffffffffUL)
		return -1;
	__u32 x = (__u32)v;
	memcpy(out, &x, sizeof(x));
	return 0;
}

static int parse_comm_hex(const char *s, void *out)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > AW_COMM_LEN - 1)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		((char *)out)[i] = (char)b;
	}
	return 0;
}

/* Each switch: 0 or 1 sets it, -1 leaves it. */
static int set_config(int pid_filter, int comm_filter, int armed)
{
	__u32 zero = 0;
	struct aw_config c;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.aw_config), &zero, &c))
		return -errno;
	if (pid_filter >= 0) c.pid_filter = (__u32)pid_filter;
	if (comm_filter >= 0) c.comm_filter = (__u32)comm_filter;
	if (armed >= 0) c.armed = (__u32)armed;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.aw_config), &zero, &c, BPF_ANY) ? -errno : 0;
}

/* The bitmap of first-component keys ('-' none, '*' all); see aw_first_bits in the BPF program. */
static int first_bits(const char *list, __u64 *bits)
{
	int all = !strcmp(list, "*");
	memset(bits, all ? 0xff : 0, sizeof(__u64) * AW_BITMAP_WORDS);
	if (all || !strcmp(list, "-"))
		return 0;
	char *copy = strdup(list), *save = NULL;
	int err = 0;
	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		__u64 k;
		if (parse_hex64(tok, &k)) { err = -EINVAL; break; }
		__u32 b = aw_first_bit(k);
		bits[b >> 6] |= 1ULL << (b & 63);
	}
	free(copy);
	return err;
}

/* ---- the double-buffered filter: begin, paths, execs, switch ----------------------------------- */

static int building;      /* begin was accepted: paths, execs, net and idents go to the side not in force */
static __u32 gate_next[5]; /* the built side's scan-gate thresholds (window ms, quiet ms, ports, hosts, host netns) */

static __u32 side_in_force(void)
{
	return __atomic_load_n(&skel->bss->aw_slot, __ATOMIC_SEQ_CST) & 1;
}

static int filter_map_fds(int fds[5])
{
	fds[0] = bpf_map__fd(skel->maps.exact_paths);
	fds[1] = bpf_map__fd(skel->maps.dir_prefixes);
	fds[2] = bpf_map__fd(skel->maps.exec_exact);
	fds[3] = bpf_map__fd(skel->maps.exec_prefix);
	fds[4] = bpf_map__fd(skel->maps.exec_names);
	return 5;
}

/* Removes every entry of side `slot` from the filter maps and the watched identities (each value
 * starts with its side). */
static void purge_side(__u32 slot)
{
	int fds[6], n = filter_map_fds(fds);
	fds[n++] = bpf_map__fd(skel->maps.ident_inodes);
	for (int i = 0; i < n; i++) {
		struct aw_ident_key key, next; /* the largest key: a filter map's __u64 sits at its start */
		void *prev = NULL;
		memset(&next, 0, sizeof(next));
		while (bpf_map_get_next_key(fds[i], prev, &next) == 0) {
			union { __u32 side; struct aw_path_entry entry; } v; /* the side comes first in every kind */
			if (bpf_map_lookup_elem(fds[i], &next, &v) == 0 && v.side == slot) {
				bpf_map_delete_elem(fds[i], &next);
				continue; /* from the same previous key: the deleted one is gone */
			}
			key = next;
			prev = &key;
		}
	}
}

/* "<call nr>.<call nr>..." -> their aw_call_bit()s. */
static int parse_calls(const char *s, __u32 *mask, char sep)
{
	char buf[512];
	*mask = 0;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	char *save = NULL, seps[2] = { sep, 0 };
	for (char *tok = strtok_r(buf, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
		__u32 nr;
		if (parse_u32(tok, &nr) || !aw_call_bit(nr)) {
			snprintf(cmd_err, sizeof(cmd_err), "\"%s\" is not a file call the kernel filter knows", tok);
			return -EINVAL;
		}
		*mask |= aw_call_bit(nr);
	}
	return *mask ? 0 : -EINVAL;
}

/* Whether `list` (comma-separated, not '-') holds more entries than a side of a map takes; says so. */
static int over_capacity(const char *list, const char *what, const char *per)
{
	size_t n = 1;
	for (const char *c = list; *c; c++)
		n += *c == ',';
	if (n <= filter_capacity)
		return 0;
	snprintf(cmd_err, sizeof(cmd_err), "%zu %s, over the capacity of %lu%s (--kernel-filter-capacity)", n, what,
		 filter_capacity, per);
	return 1;
}

/* Puts the hashes of `list` (comma-separated, '-' for none) into side `slot` of map `fd`, and
 * their bits into `bits`; refused as a whole beyond the capacity. In the path maps (`entries`) a
 * hash may end in "=<call nr>.<call nr>...": the entry lets only those calls through
 * (struct aw_path_entry); without it, every call. */
static int fill_side(int fd, const char *list, __u32 slot, __u64 *bits, const char *what, int entries)
{
	memset(bits, 0, sizeof(__u64) * AW_BITMAP_WORDS);
	if (!strcmp(list, "-"))
		return 0;
	if (over_capacity(list, what, " per map"))
		return -E2BIG;
	char *copy = strdup(list), *save = NULL;
	int err = 0;
	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		__u64 h;
		struct aw_path_entry entry = { .side = slot, .calls = AW_CALLS_ALL };
		char *calls = entries ? strchr(tok, '=') : NULL;
		if (calls) {
			*calls++ = 0;
			if ((err = parse_calls(calls, &entry.calls, '.')))
				break;
		}
		if (parse_hex64(tok, &h)) { err = -EINVAL; break; }
		__u64 k = h ^ aw_slot_salt(slot);
		if (bpf_map_update_elem(fd, &k, entries ? (void *)&entry : (void *)&slot, BPF_ANY)) {
			err = -errno;
			snprintf(cmd_err, sizeof(cmd_err), "cannot add %s: %s", what, strerror(errno));
			break;
		}
		bits[(h & 0xffff) >> 6] |= 1ULL << (h & 63);
	}
	free(copy);
	return err;
}

/* Starts building the side not in force: whatever an unfinished build left there goes. */
static int cmd_begin(void)
{
	__u32 next = !side_in_force();
	purge_side(next);
	memset(&skel->bss->aw_sides[next], 0, sizeof(skel->bss->aw_sides[next]));
	memset(skel->bss->aw_ident_bits[next], 0, sizeof(skel->bss->aw_ident_bits[next]));
	memset(gate_next, 0, sizeof(gate_next));
	building = 1;
	return 0;
}

static int cmd_paths(char *args)
{
	char *save = NULL, *pass = strtok_r(args, " ", &save), *ex = strtok_r(NULL, " ", &save),
	     *px = strtok_r(NULL, " ", &save), *fc = strtok_r(NULL, " ", &save), *calls = strtok_r(NULL, " ", &save);
	__u32 next = !side_in_force();
	struct aw_filter_side *side = &skel->bss->aw_sides[next];
	int err;
	if (!building || !pass || !ex || !px || !fc || !calls)
		return -EINVAL;
	__u32 mask = 0;
	if (strcmp(calls, "-") && (err = parse_calls(calls, &mask, ',')))
		return err;
	if ((err = first_bits(fc, skel->bss->aw_first_bits[next])) ||
	    (err = fill_side(bpf_map__fd(skel->maps.exact_paths), ex, next, skel->bss->aw_exact_bits[next], "exact paths", 1)) ||
	    (err = fill_side(bpf_map__fd(skel->maps.dir_prefixes), px, next, skel->bss->aw_prefix_bits[next], "directory prefixes", 1)))
		return err;
	side->pass_all = *pass == '1';
	side->pass_calls = mask;
	side->files = side->pass_all || mask || strcmp(ex, "-") || strcmp(px, "-");
	return 0;
}

/* The process-rule filter: executed files, directories, base names. */
static int cmd_execs(char *args)
{
	char *save = NULL, *pass = strtok_r(args, " ", &save), *ex = strtok_r(NULL, " ", &save),
	     *px = strtok_r(NULL, " ", &save), *nm = strtok_r(NULL, " ", &save);
	__u32 next = !side_in_force();
	struct aw_filter_side *side = &skel->bss->aw_sides[next];
	int err;
	if (!building || !pass || !ex || !px || !nm)
		return -EINVAL;
	if ((err = fill_side(bpf_map__fd(skel->maps.exec_exact), ex, next, skel->bss->aw_xexact_bits[next], "executed-file paths", 0)) ||
	    (err = fill_side(bpf_map__fd(skel->maps.exec_prefix), px, next, skel->bss->aw_xprefix_bits[next], "executable directories", 0)) ||
	    (err = fill_side(bpf_map__fd(skel->maps.exec_names), nm, next, skel->bss->aw_xname_bits[next], "executable names", 0)))
		return err;
	side->exec_pass_all = *pass == '1';
	side->execs = *pass == '1' || strcmp(ex, "-") || strcmp(px, "-") || strcmp(nm, "-");
	return 0;
}

/* The group of a program, by its name (bpf/armorwatch.bpf.c: aw_tp_enter_<call>, aw_tp_exit_<call>). */
#define G_NONE (-1) /* a program not attached: its calls have other hooks */
static int group_of(struct bpf_program *p)
{
	static const char *const net[] = { "socket", "connect", "accept", "accept4", "bind", "listen" };
	/* bpf/armorwatch.bpf.c renames_paths() and AW_GEN_TP: the calls whose exit bumps aw_path_gen */
	static const char *const gen[] = { "rename", "renameat", "renameat2", "mount", "umount", "umount2",
					   "move_mount", "mount_setattr", "pivot_root" };
	const char *n = bpf_program__name(p);
	if (p == exec_prog)
		return G_EXEC;
	if (p == outcome_prog)
		return G_OUTCOME;
	if (is_net_cg(p))
		return net_cg ? G_NETCG : G_NONE;
	if (is_uring_prog(p))
		return G_FILE;
	if (strncmp(n, "aw_tp_", 6))
		return G_SHARED; /* aw_btf_enter/exit, aw_raw_enter/exit */
	const char *call = strncmp(n, "aw_tp_enter_", 12) ? n + strlen("aw_tp_exit_") : n + strlen("aw_tp_enter_");
	if (!strcmp(call, "execve") || !strcmp(call, "execveat"))
		return G_EXEC;
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if (!strcmp(call, net[i]))
			return i < 2 ? G_NETSC : G_NET;
	for (size_t i = 0; i < sizeof(gen) / sizeof(gen[0]); i++)
		if (!strcmp(call, gen[i]))
			return G_GEN;
	return G_FILE;
}

/* Whether the cgroup hooks serve socket() and connect() under a side's network filter: not when
 * it passes every call or any protocol (unix and netlink sockets, socket() calls the kernel
 * refuses: only the per-syscall hooks see those). */
static int cg_serves(const struct aw_filter_side *side)
{
	/* Without the outcome hook a connect seen before the call would never get its result. */
	return net_cg && outcome_prog && strcmp(outcome_hook_name, "none") && !side->net_pass_all &&
	       !side->net_any_protocol;
}

/* The groups needed by a filter side (paths, executions, network calls, watched identities). */
static unsigned int groups_for(const struct aw_filter_side *side)
{
	unsigned int g = 0;
	if (side->files || side->idents)
		g |= G_BIT(G_FILE);
	if (side->execs)
		g |= G_BIT(G_EXEC);
	/* Each group only while one of its calls is asked for; socket and connect on the cgroup hooks
	 * while those serve them. */
	__u32 sc = AW_NET_SOCKET | AW_NET_CONNECT;
	if (side->net_pass_all || (side->net_calls & ~sc))
		g |= G_BIT(G_NET);
	if (side->net_pass_all || (side->net_calls & sc))
		g |= G_BIT(cg_serves(side) ? G_NETCG : G_NETSC);
	if (side->net_pass_all || (side->net_calls & AW_NET_CONNECT))
		g |= G_BIT(G_OUTCOME);
	if (g & (G_BIT(G_FILE) | G_BIT(G_EXEC)))
		g |= G_BIT(G_GEN);
	if (g & (G_BIT(G_FILE) | G_BIT(G_EXEC) | G_BIT(G_NET) | G_BIT(G_NETSC)))
		g |= G_BIT(G_SHARED);
	return g;
}

/* An optional hook that would not attach: its part is reported missing, the rest goes on. */
static void optional_failed(struct hooked *h, int err)
{
	if (h->prog == outcome_prog) {
		snprintf(outcome_problem, sizeof(outcome_problem), "cannot attach the %s outcome hook: %s",
			 outcome_hook_name, strerror(-err));
		fprintf(stderr, "armorwatch-monitor: %s\n", outcome_problem);
		outcome_hook_name = "none";
	} else {
		snprintf(uring_error, sizeof(uring_error), "cannot attach %s (%s)", bpf_program__name(h->prog), strerror(-err));
		uring_hook_name = "none";
	}
	h->prog = NULL;
}

/* Attaches every group in `want` that is not: before a change takes effect, so that no event it
 * lets through is missed. A required program that will not attach fails the command. */
static int hooks_widen(unsigned int want)
{
	if (!attached)
		return 0;
	int gen_was = group_attached(G_GEN) || group_attached(G_SHARED);
	for (int i = 0; i < nhooked; i++) {
		struct hooked *h = &hooked[i];
		if (!h->prog || h->link || !(want & G_BIT(h->group)))
			continue;
		h->link = h->cgroup ? bpf_program__attach_cgroup(h->prog, cg_root) : bpf_program__attach(h->prog);
		if (!h->link) {
			int err = errno ? -errno : -ENOENT;
			if (h->optional) {
				optional_failed(h, err);
				continue;
			}
			snprintf(cmd_err, sizeof(cmd_err), "cannot attach %s (the %s hooks): %s",
				 bpf_program__name(h->prog), group_names[h->group], strerror(-err));
			return err;
		}
		attaches++;
	}
	if (group_attached(G_OUTCOME))
		skel->bss->aw_net_outcome_on = 1;
	/* Renames and mounts went unseen while their hooks were off: cached verdicts are void. */
	if (!gen_was && (group_attached(G_GEN) || group_attached(G_SHARED)))
		__atomic_fetch_add(&skel->bss->aw_path_gen, AW_GEN_TOPO, __ATOMIC_SEQ_CST);
	groups_wanted |= want;
	return 0;
}

/* Detaches every group not in `want`: after a change took effect. Each detach waits for the
 * kernel (about a grace period per tracepoint), so a whole group takes a moment. */
/* Empties a map keyed by a u64 (net_pending, net_deferred, net_held), counting into net_dropped. */
static void drop_map(struct bpf_map *m)
{
	__u64 key, next;
	int fd = bpf_map__fd(m);
	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
		net_dropped++;
	}
}

/* Frees every taken slot of held_slots (bpf/net.bpf.h), counting into net_dropped. */
static void drop_held_slots(struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	__u32 n = bpf_map__max_entries(m);
	size_t vs = bpf_map__value_size(m);
	unsigned char v[128];
	if (vs > sizeof(v))
		return;
	for (__u32 i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, v) || *(__u64 *)v == 0)
			continue;
		memset(v, 0, vs);
		if (bpf_map_update_elem(fd, &i, v, BPF_ANY) == 0)
			net_dropped++;
	}
}

static void hooks_narrow(unsigned int want)
{
	if (!attached)
		return;
	if (!(want & G_BIT(G_OUTCOME)))
		skel->bss->aw_net_outcome_on = 0; /* nothing new is remembered for an outcome no hook will see */
	for (int i = 0; i < nhooked; i++) {
		struct hooked *h = &hooked[i];
		if (h->link && !(want & G_BIT(h->group))) {
			bpf_link__destroy(h->link);
			h->link = NULL;
			detaches++;
		}
	}
	groups_wanted = want;
}

/* Puts the side built in force with one store: paths, executions, network calls and watched
 * identities change together. Once no program can still be running with the old side (an RCU
 * grace period: the BPF programs run under rcu_read_lock), its entries are removed; if that wait
 * is not available they go at the next begin. */
static int cmd_switch(void)
{
	__u32 old = side_in_force(), next = !old;
	unsigned int want;
	int err;
	if (!building)
		return -EINVAL;
	want = groups_for(&skel->bss->aw_sides[next]);
	if ((err = hooks_widen(want)))
		return err;
	/* The scan gate's thresholds are not judged by: they go with the switch, just before it. */
	skel->bss->aw_gate_window_ns = (__u64)gate_next[0] * 1000000ULL;
	skel->bss->aw_gate_quiet_ns = (__u64)gate_next[1] * 1000000ULL;
	skel->bss->aw_gate_ports = gate_next[2];
	skel->bss->aw_gate_hosts = gate_next[3];
	skel->bss->aw_gate_host_netns = gate_next[4];
	__atomic_store_n(&skel->bss->aw_slot, next, __ATOMIC_SEQ_CST);
	/* Verdicts cached under the old side are void (see aw_slot for the order). */
	__atomic_fetch_add(&skel->bss->aw_path_gen, AW_GEN_TOPO, __ATOMIC_SEQ_CST);
	building = 0;
	int outcome_went = group_attached(G_OUTCOME) && !(want & G_BIT(G_OUTCOME));
	hooks_narrow(want);
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) {
		purge_side(old);
		/* No program still running can add to them now (aw_net_outcome_on is 0). */
		if (outcome_went) {
			drop_map(skel->maps.net_pending);
			drop_map(skel->maps.net_deferred);
			drop_map(skel->maps.net_held);
			drop_held_slots(skel->maps.held_slots);
		}
	}
	return 0;
}

static int cmd_procs(char *args)
{
	char *save = NULL, *pids = strtok_r(args, " ", &save), *comms = strtok_r(NULL, " ", &save),
	     *deny = strtok_r(NULL, " ", &save);
	char self[64];
	int err;
	if (!pids || !comms || !deny)
		return -EINVAL;
	generation++;
	/* The helper never reports its own calls, whatever the caller asked. */
	if (strcmp(deny, "-"))
		snprintf(self, sizeof(self), "%d,", getpid());
	else
		snprintf(self, sizeof(self), "%d", getpid());
	char *all = malloc(strlen(self) + strlen(deny) + 1);
	if (!all)
		return -ENOMEM;
	strcpy(all, self);
	if (strcmp(deny, "-"))
		strcat(all, deny);
	/* pid_deny has a bitmap in front too: bits set before the keys, cleared after. */
	static __u64 next[AW_BITMAP_WORDS];
	memset(next, 0, sizeof(next));
	char *copy = strdup(all), *save2 = NULL;
	for (char *tok = copy ? strtok_r(copy, ",", &save2) : NULL; tok; tok = strtok_r(NULL, ",", &save2)) {
		__u32 pid;
		if (parse_u32(tok, &pid) == 0)
			next[(pid & 0xffff) >> 6] |= 1ULL << (pid & 63);
	}
	free(copy);
	for (int i = 0; i < AW_BITMAP_WORDS; i++)
		skel->bss->aw_deny_bits[i] |= next[i];
	err = replace_set(bpf_map__fd(skel->maps.pid_deny), all, 4, parse_u32);
	free(all);
	if (!err)
		for (int i = 0; i < AW_BITMAP_WORDS; i++)
			skel->bss->aw_deny_bits[i] = next[i];
	if (err || (err = replace_set(bpf_map__fd(skel->maps.pid_allow), pids, 4, parse_u32)) ||
	    (err = replace_set(bpf_map__fd(skel->maps.comm_allow), comms, AW_COMM_LEN, parse_comm_hex)))
		return err;
	return set_config(strcmp(pids, "-") != 0, strcmp(comms, "-") != 0, -1);
}

/* "<dev hex>:<inode hex>" -> struct aw_ident_key */
static int parse_ident(const char *s, void *out)
{
	char *end;
	struct aw_ident_key k = { 0 };
	errno = 0;
	unsigned long dev = strtoul(s, &end, 16);
	if (errno || *end != ':' || end == s || dev > 0xffffffffUL)
		return -1;
	const char *i = end + 1;
	unsigned long long ino = strtoull(i, &end, 16);
	if (errno || *end || end == i)
		return -1;
	k.dev = (__u32)dev;
	k.ino = ino;
	memcpy(out, &k, sizeof(k));
	return 0;
}

/* The watched identities (bpf/identity.bpf.h) of the side being built: refused as a whole beyond
 * the capacity, like the path maps. */
static int cmd_idents(char *args)
{
	char *save = NULL, *list = strtok_r(args, " ", &save);
	__u32 next = !side_in_force();
	int fd = bpf_map__fd(skel->maps.ident_inodes), err = 0;
	unsigned long n = 0;
	if (!building || !list)
		return -EINVAL;
	if (!strcmp(list, "-"))
		return 0;
	if (over_capacity(list, "watched identities", ""))
		return -E2BIG;
	__u64 *bits = skel->bss->aw_ident_bits[next];
	char *copy = strdup(list), *s2 = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
		struct aw_ident_key k;
		if (parse_ident(tok, &k)) {
			snprintf(cmd_err, sizeof(cmd_err), "\"%.64s\" is not <device hex>:<inode hex>", tok);
			err = -EINVAL;
			break;
		}
		k.side = next;
		if (bpf_map_update_elem(fd, &k, &next, BPF_ANY)) {
			err = -errno;
			snprintf(cmd_err, sizeof(cmd_err), "cannot add a watched identity: %s", strerror(errno));
			break;
		}
		__u32 b = aw_ident_bit(k.ino, k.dev);
		bits[b >> 6] |= 1ULL << (b & 63);
		n++;
	}
	free(copy);
	if (!err)
		skel->bss->aw_sides[next].idents = (__u32)n;
	return err;
}

/* The network filter of the side being built, and the scan gate's thresholds that go with it. */
static int cmd_net(char *args)
{
	char *save = NULL, *pass = strtok_r(args, " ", &save), *calls = strtok_r(NULL, " ", &save),
	     *protos = strtok_r(NULL, " ", &save), *gate = strtok_r(NULL, " ", &save);
	__u32 mask, g[6] = { 0 }; /* gate: protocol bits, window ms, quiet ms, ports, hosts, host netns */
	struct aw_filter_side *side = &skel->bss->aw_sides[!side_in_force()];
	if (!building)
		return -EINVAL;
	if (gate) {
		if (strcmp(gate, "gate"))
			return -EINVAL;
		for (int i = 0; i < 6; i++) {
			char *tok = strtok_r(NULL, " ", &save);
			if (!tok || parse_u32(tok, &g[i]))
				return -EINVAL;
		}
		if (g[0] > 3 || !g[3] || !g[4])
			return -EINVAL;
	}
	if (!pass || !calls || !protos || parse_u32(calls, &mask) || mask > 0x3f)
		return -EINVAL;
	__u64 bits[4] = { 0 };
	int any = !strcmp(protos, "*");
	if (!any && strcmp(protos, "-")) {
		char *copy = strdup(protos), *s2 = NULL;
		if (!copy)
			return -ENOMEM;
		for (char *tok = strtok_r(copy, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
			__u32 p;
			if (parse_u32(tok, &p)) { free(copy); return -EINVAL; }
			bits[(p & 0xff) >> 6] |= 1ULL << (p & 63);
		}
		free(copy);
	}
	side->net_pass_all = *pass == '1';
	side->net_calls = mask;
	side->net_any_protocol = any;
	side->net_gate_protos = g[0];
	memcpy(side->net_protos, bits, sizeof(bits));
	memcpy(gate_next, g + 1, sizeof(gate_next));
	/* socket and connect on the cgroup hooks or the per-syscall ones: switched with the side (the
	 * groups of both are attached across the switch, hooks_widen/hooks_narrow). */
	side->net_cg = (__u32)cg_serves(side);
	return 0;
}

/* Lists the programs to attach, by group, then attaches those the state in force needs; the
 * others are attached when a filter needs them (hooks_widen). */
static int cmd_attach(void)
{
	struct bpf_program *prog;
	unsigned int want;
	int err;
	if (attached)
		return 0;
	nhooked = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		int uring = is_uring_prog(prog);
		if (!has_prefix(prog, chosen->prefix) && prog != exec_prog && prog != outcome_prog && !(uring && want_uring) &&
		    !is_net_cg(prog))
			continue;
		if (group_of(prog) == G_NONE)
			continue;
		if (nhooked == (int)(sizeof(hooked) / sizeof(hooked[0])))
			return -E2BIG;
		hooked[nhooked++] = (struct hooked){ .prog = prog, .group = group_of(prog),
						     .optional = uring || prog == outcome_prog, .cgroup = is_net_cg(prog),
						     .link = prog == exec_prog ? exec_probe : NULL };
	}
	exec_probe = NULL;
	attached = 1;
	want = groups_for(&skel->bss->aw_sides[side_in_force()]);
	if ((err = hooks_widen(want)))
		return err;
	hooks_narrow(want); /* the exec hook's probe link goes unless executions are wanted */
	return set_config(-1, -1, 1);
}

static void run_command(char *line)
{
	char *save = NULL, *seq = strtok_r(line, " ", &save), *verb = strtok_r(NULL, " ", &save);
	char *rest = save ? save : (char *)"";
	int err;
	if (!seq || !verb)
		return;
	cmd_err[0] = 0;
	if (!strcmp(verb, "begin")) err = cmd_begin();
	else if (!strcmp(verb, "paths")) err = cmd_paths(rest);
	else if (!strcmp(verb, "switch")) err = cmd_switch();
	else if (!strcmp(verb, "procs")) err = cmd_procs(rest);
	else if (!strcmp(verb, "execs")) err = cmd_execs(rest);
	else if (!strcmp(verb, "net")) err = cmd_net(rest);
	else if (!strcmp(verb, "idents")) err = cmd_idents(rest);
	else if (!strcmp(verb, "attach")) err = cmd_attach();
	else if (!strcmp(verb, "stats")) { put_stats(); err = 0; }
	else err = -ENOSYS;
	if (err) {
		char esc[512];
		json_escape(esc, sizeof(esc), cmd_err[0] ? cmd_err : strerror(-err));
		put_json(F_ACK, "{\"seq\":%s,\"ok\":false,\"error\":\"%s: %s\"}", seq, verb, esc);
	}
	else
		put_json(F_ACK, "{\"seq\":%s,\"ok\":true}", seq);
	flush_out();
}

static char *ibuf;
static size_t ilen, icap;

/* Returns 0 at end of input (the agent is gone or closed our stdin). */
static int read_commands(void)
{
	if (icap - ilen < 65536) {
		icap = icap ? icap * 2 : 1u << 17;
		ibuf = realloc(ibuf, icap);
		if (!ibuf)
			fail("AW_MONITOR_NOMEM", "out of memory reading commands");
	}
	ssize_t n = read(STDIN_FILENO, ibuf + ilen, icap - ilen - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	ilen += (size_t)n;
	char *start = ibuf, *nl;
	while ((nl = memchr(start, '\n', ilen - (size_t)(start - ibuf)))) {
		*nl = 0;
		run_command(start);
		start = nl + 1;
	}
	ilen -= (size_t)(start - ibuf);
	memmove(ibuf, start, ilen);
	return 1;
}

/* ---- main loop ------------------------------------------------------------------------------------- */

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	put_frame(F_EVENT, data, size);
	events_out++;
	return 0;
}

#define FIELD(f) printf("%s\"%s\":[%zu,%zu]", first ? "" : ",", #f, offsetof(struct aw_event, f), \
			sizeof(((struct aw_event *)0)->f)), first = 0
static void print_layout(void)
{
	int first = 1;
	printf("{\"size\":%zu,\"strCount\":%d,\"pathMax\":%d,\"fields\":{", sizeof(struct aw_event),
	       AW_STR_COUNT, AW_PATH_MAX);
	FIELD(ts_boot_ns); FIELD(cgroup_id); FIELD(host_pid); FIELD(host_tid); FIELD(host_ppid);
	FIELD(ns_pid); FIELD(ns_ppid); FIELD(uid); FIELD(gid); FIELD(euid); FIELD(mnt_ns); FIELD(pid_ns);
	FIELD(net_ns); FIELD(syscall_nr); FIELD(dirfd); FIELD(dirfd2); FIELD(flags); FIELD(mode);
	FIELD(owner_uid); FIELD(ev_flags); FIELD(ret); FIELD(arg_a); FIELD(arg_b); FIELD(str_len); FIELD(comm);
	FIELD(ident_dev); FIELD(ident_depth); FIELD(ident_ino);
	printf("},\"slots\":{\"resolved\":%d,\"path\":%d,\"path2\":%d,\"cwd\":%d,\"dir\":%d,\"dir2\":%d,"
	       "\"exe\":%d,\"pexe\":%d,\"tty\":%d,\"argv\":%d,\"caller\":%d,\"host\":%d,\"remote\":%d,\"local\":%d},"
	       "\"evFlags\":{\"ownerValid\":%u,"
	       "\"pathFault\":%u,\"truncated\":%u,\"hasPath2\":%u,\"argvTruncated\":%u,\"dirGone\":%u,\"netOutcome\":%u,"
	       "\"ident\":%u,\"uring\":%u,\"netGateOpen\":%u,\"netHandover\":%u,\"netAttempt\":%u},"
	       "\"argsMax\":%d,\"argMax\":%d,\"sockaddrMax\":%d,\"netCalls\":{\"socket\":%u,\"connect\":%u,"
	       "\"accept\":%u,\"accept4\":%u,\"bind\":%u,\"listen\":%u}}\n",
	       AW_STR_RESOLVED, AW_STR_PATH, AW_STR_PATH2, AW_STR_CWD, AW_STR_DIR, AW_STR_DIR2, AW_STR_EXE,
	       AW_STR_PEXE, AW_STR_TTY, AW_STR_ARGV, AW_STR_CALLER, AW_STR_HOST, AW_STR_REMOTE, AW_STR_LOCAL,
	       AW_EVF_OWNER_VALID, AW_EVF_PATH_FAULT,
	       AW_EVF_TRUNCATED, AW_EVF_HAS_PATH2, AW_EVF_ARGV_TRUNCATED, AW_EVF_DIR_GONE, AW_EVF_NET_OUTCOME,
	       AW_EVF_IDENT, AW_EVF_URING, AW_EVF_NET_GATE_OPEN, AW_EVF_NET_HANDOVER, AW_EVF_NET_ATTEMPT,
	       AW_ARGS_MAX, AW_ARG_MAX, AW_SOCKADDR_MAX, AW_NET_SOCKET, AW_NET_CONNECT, AW_NET_ACCEPT,
	       AW_NET_ACCEPT4, AW_NET_BIND, AW_NET_LISTEN);
}

/* The kernel ids of the programs this helper loaded, comma-separated (READY: a benchmark sums the
 * run time of its own programs, not of whatever else is loaded on the machine meanwhile). */
static void program_ids(char *out, size_t cap)
{
	struct bpf_program *prog;
	size_t l = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		int n = snprintf(out + l, cap - l, "%s%u", l ? "," : "", info.id);
		if (n < 0 || (size_t)n >= cap - l) {
			out[l] = 0;
			return;
		}
		l += (size_t)n;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: armorwatch-monitor --ringbuf-bytes N\n"
			"                          [--hook auto|syscall_tracepoints|tp_btf|raw_tracepoint]\n"
			"                          [--exec-hook auto|tp_btf|raw_tracepoint|tracepoint]\n"
			"                          [--net-hook auto|cgroup|syscalls]\n"
			"                          [--stats-ms N] [--filter-capacity N] | --print-layout\n"
			"Speaks the frame protocol on stdin/stdout; meant to be started by armorwatch.\n");
}

int main(int argc, char **argv)
{
	const char *want = "auto", *want_exec = "auto";
	long stats_ms = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--print-layout")) { print_layout(); return 0; }
		else if (!strcmp(argv[i], "--hook") && i + 1 < argc) want = argv[++i];
		else if (!strcmp(argv[i], "--exec-hook") && i + 1 < argc) want_exec = argv[++i];
		else if (!strcmp(argv[i], "--net-hook") && i + 1 < argc) want_net = argv[++i];
		else if (!strcmp(argv[i], "--ringbuf-bytes") && i + 1 < argc) ringbuf_bytes = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--filter-capacity") && i + 1 < argc) filter_capacity = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--stats-ms") && i + 1 < argc) stats_ms = strtol(argv[++i], NULL, 0);
		else { usage(); return 2; }
	}
	if (!filter_capacity || filter_capacity > 0x3fffffff ||
	    (strcmp(want_net, "auto") && strcmp(want_net, "cgroup") && strcmp(want_net, "syscalls"))) {
		usage();
		return 2;
	}
	if (!ringbuf_bytes) { /* no default here: the agent's configuration owns it */
		usage();
		return 2;
	}
	/* The kernel wants a power-of-two number of pages. */
	unsigned long rbsz = 4096;
	while (rbsz < ringbuf_bytes)
		rbsz <<= 1;
	ringbuf_bytes = rbsz;

	obuf = malloc(ocap);
	if (!obuf)
		return 1;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(libbpf_out);

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		fail("AW_MONITOR_NO_BTF", "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); "
					  "the monitor needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	if (strcmp(want_net, "syscalls")) {
		cg_root = open_cgroup2_root(net_problem, sizeof(net_problem));
		if (cg_root < 0 && !strcmp(want_net, "cgroup"))
			fail("AW_MONITOR_REFUSED", "--net-hook cgroup: %s", net_problem);
	}
	load(want, want_exec);

	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
	if (!rb)
		fail("AW_MONITOR_RINGBUF", "cannot map the ring buffer: %s", strerror(errno));
	char problem[512], uerr[512], nerr[512], ids[2048] = "";
	json_escape(problem, sizeof(problem), outcome_problem);
	json_escape(uerr, sizeof(uerr), uring_error);
	json_escape(nerr, sizeof(nerr), net_problem);
	program_ids(ids, sizeof(ids));
	put_json(F_READY, "{\"hook\":\"%s\",\"execHook\":\"%s\",\"outcomeHook\":\"%s\",\"outcomeProblem\":\"%s\",\"uringHook\":\"%s\",\"uringError\":\"%s\",\"netHook\":\"%s\",\"netHookProblem\":\"%s\",\"tried\":[%s],\"ringbufBytes\":%lu,\"bootToRealtimeNs\":\"%lld\",\"pid\":%d,\"programs\":[%s]}",
		 hook_name, exec_hook_name, outcome_hook_name, problem, uring_hook_name, uerr, net_hook_name, nerr, tried, ringbuf_bytes, boot_to_realtime_ns(), getpid(), ids);
	flush_out();

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = { stats_ms / 1000, (stats_ms % 1000) * 1000000 } };
	its.it_value = its.it_interval;
	timerfd_settime(tfd, 0, &its, NULL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[] = { ring_buffer__epoll_fd(rb), STDIN_FILENO, sfd, tfd };
	for (int i = 0; i < 4; i++) {
		ev.data.fd = fds[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			fail("AW_MONITOR_POLL", "cannot poll %s: %s", fds[i] == STDIN_FILENO ?
			     "stdin (it must be a pipe from armorwatch)" : "the ring buffer", strerror(errno));
	}
	for (;;) {
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, -1);
		if (n < 0 && errno != EINTR)
			fail("AW_MONITOR_POLL", "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = got[i].data.fd;
			if (fd == fds[0]) {
				ring_buffer__consume(rb);
			} else if (fd == STDIN_FILENO) {
				if (!read_commands())
					goto out;
			} else if (fd == sfd) {
				goto out;
			} else if (fd == tfd) {
				__u64 ticks;
				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					put_stats();
			}
		}
		flush_out();
	}
out:
	ring_buffer__consume(rb);
	put_stats();
	flush_out();
	ring_buffer__free(rb);
	armorwatch_bpf__destroy(skel);
	return 0;
}
