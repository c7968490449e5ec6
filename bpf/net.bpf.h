/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Network calls: socket, connect, accept/accept4, bind, listen, and the later outcome of a
 * non-blocking connect. Included by armorwatch.bpf.c after the event builders it shares
 * (put_identity, put_path, put_parent_tty, send). Every call is handled at its exit alone, from the
 * registers it entered with and the socket behind its fd; only a non-blocking TCP connect has an
 * entry step, which remembers the socket so that its outcome (sock:inet_sock_set_state) can be
 * reported with the connecting process's identity. */
#ifndef ARMORWATCH_NET_BPF_H
#define ARMORWATCH_NET_BPF_H

#define AW_AF_UNIX 1
#define AW_AF_INET 2
#define AW_AF_INET6 10
#define AW_SOCK_STREAM 1
#define AW_SOCK_DGRAM 2
#define AW_SOCK_TYPE_MASK 0xf
#define AW_IPPROTO_TCP 6
#define AW_IPPROTO_UDP 17
#define AW_S_IFMT 00170000
#define AW_S_IFSOCK 0140000
#define AW_O_NONBLOCK 04000
#define AW_EINPROGRESS 115
#define AW_ECONNABORTED 103
#define AW_TCP_ESTABLISHED 1
#define AW_TCP_SYN_SENT 2
#define AW_TCP_CLOSE 7
#define AW_E2BIG 7

/* Set by the helper once the outcome hook is attached: without it nothing is remembered. */
__u32 aw_net_outcome_on;

/* Port-scan gate (docs/DETECTION.md): when non-zero, connects pass only for the scan detector,
 * which needs each distinct target once per window: a connect of the same process tree (cgroup and
 * parent tgid) to the same family, address and port within this many ns of the one emitted is
 * counted (AW_STAT_GATED_NET) and not emitted, nor is its outcome. 0: every connect that passes is emitted. */
__u64 aw_scan_repeat_ns;

struct scan_target {
	__u64 cgroup;
	__u32 ptgid;
	__u16 family;
	__u16 port;
	__u8 addr[16];
};

/* An LRU map: an entry pushed out only lets the next repeat through (an extra event, never a missed one). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct scan_target);
	__type(value, __u64);
} scan_seen SEC(".maps");            /* (process tree, target) -> when its connect was last emitted */

/* The protocols that pass when aw_config.net_any_protocol is 0: one bit per (protocol & 0xff). */
__u64 aw_net_protos[4];

/* A non-blocking TCP connect between its entry and its outcome. */
#define AW_PEND_INFLIGHT 1 /* the call has not returned */
#define AW_PEND_DONE 2     /* the outcome came while the call ran (loopback): its exit reports it */
#define AW_PEND_WAITING 3  /* the call returned EINPROGRESS: the state change reports it */

struct net_pend {
	__u32 state;
	__u32 raddr_len;
	__s64 ret;             /* the outcome, when DONE */
	__u64 ts;
	struct aw_event e;     /* identity at entry: the outcome may come in softirq, not the process */
	__u8 raddr[AW_SOCKADDR_MAX];
};

/* Not an LRU: an entry pushed out would be an outcome lost without a count. Every entry leaves it
 * (the handshake ends in ESTABLISHED or CLOSE, at the latest when it times out); a full map is
 * counted (AW_STAT_LOST_NET_PENDING). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct net_pend);
} net_pending SEC(".maps");          /* struct sock * -> non-blocking connect awaiting its outcome */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_pend);
} net_scratch SEC(".maps");          /* cpu -> a net_pend being built (too large for the stack) */

static __always_inline __u32 net_bit(long nr)
{
	switch (nr) {
	case NR_socket: return AW_NET_SOCKET;
	case NR_connect: return AW_NET_CONNECT;
	case NR_accept: return AW_NET_ACCEPT;
	case NR_accept4: return AW_NET_ACCEPT4;
	case NR_bind: return AW_NET_BIND;
	case NR_listen: return AW_NET_LISTEN;
	}
	return 0;
}

static __always_inline int net_passes(struct aw_config *cfg, __u32 bit, __u32 protocol)
{
	if (cfg->net_pass_all)
		return 1;
	if (!(cfg->net_calls & bit))
		return 0;
	if (cfg->net_any_protocol)
		return 1;
	__u32 b = protocol & 0xff;
	return (aw_net_protos[(b >> 6) & 3] >> (b & 63)) & 1;
}

/* The socket behind fd in the current task, or NULL when fd is not a socket. */
static __always_inline struct sock *fd_sock(struct task_struct *bt, int fd, __u32 *f_flags)
{
	struct file *f = aw_fd_file_btf(bt, fd);
	if (!f)
		return NULL;
	/* Plain loads through typed views, not a helper call per field: this runs on every call asked for. */
	struct file *tf = AW_CAST(f, struct file);
	if ((tf->f_inode->i_mode & AW_S_IFMT) != AW_S_IFSOCK)
		return NULL;
	*f_flags = tf->f_flags;
	struct socket *so = AW_CAST(tf->private_data, struct socket);
	return so->sk;
}

/* The socket's domain, type and protocol. */
static __always_inline void sock_triple(struct sock *sk, __u32 *domain, __u32 *type, __u32 *protocol)
{
	struct sock *s = AW_CAST(sk, struct sock);
	*domain = s->__sk_common.skc_family;
	*type = s->sk_type;
	*protocol = s->sk_protocol;
}

/* socket()'s own arguments when there is no socket to read: protocol 0 as the kernel resolves it. */
static __always_inline __u32 default_protocol(__u32 domain, __u32 type, __u32 protocol)
{
	if (protocol || (domain != AW_AF_INET && domain != AW_AF_INET6))
		return protocol;
	return type == AW_SOCK_STREAM ? AW_IPPROTO_TCP : type == AW_SOCK_DGRAM ? AW_IPPROTO_UDP : 0;
}

/* Up to AW_SOCKADDR_MAX bytes of a sockaddr at `src` (user memory when `user`) as slot `slot`. */
static __always_inline __u32 put_sockaddr(struct heap *hp, __u32 off, const void *src, __u32 len, int user, int slot)
{
	struct aw_event *e = (void *)hp->ev;
	if (!src || len < 2 || off > AW_LAST_SLOT)
		return off;
	len = at_most(len, AW_SOCKADDR_MAX);
	long err = user ? bpf_probe_read_user(hp->ev + at_most(off, AW_LAST_SLOT), len, src)
			: bpf_probe_read_kernel(hp->ev + at_most(off, AW_LAST_SLOT), len, src);
	if (err)
		return off;
	e->str_len[slot & 15] = len;
	return off + len;
}

/* The address of an inet/inet6 socket as a struct sockaddr: the peer (`peer`) or its own. */
static __always_inline __u32 put_sock_inet(struct heap *hp, __u32 off, struct sock *sk, __u16 family, int peer, int slot)
{
	struct { __u16 family; __be16 port; __u32 flow; __u8 addr[16]; __u32 scope; } a = {};
	__u32 len;
	a.family = family;
	a.port = peer ? BPF_CORE_READ(sk, __sk_common.skc_dport)
		      : bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
	if (family == AW_AF_INET) {
		__be32 v4 = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr) : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		a.flow = v4; /* sockaddr_in: the address follows the port */
		len = 16;
	} else {
		if (peer)
			BPF_CORE_READ_INTO(&a.addr, sk, __sk_common.skc_v6_daddr);
		else
			BPF_CORE_READ_INTO(&a.addr, sk, __sk_common.skc_v6_rcv_saddr);
		len = 28;
	}
	return put_sockaddr(hp, off, &a, len, 0, slot);
}

/* The name a unix socket is bound to (its struct sockaddr_un), if any. */
static __always_inline __u32 put_sock_unix(struct heap *hp, __u32 off, struct sock *sk, int slot)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	if (!ua)
		return off;
	int len = BPF_CORE_READ(ua, len);
	return put_sockaddr(hp, off, (void *)ua + bpf_core_field_offset(struct unix_address, name), (__u32)len, 0, slot);
}

static __always_inline __u32 put_sock_addr(struct heap *hp, __u32 off, struct sock *sk, __u16 family, int peer, int slot)
{
	if (!sk)
		return off;
	if (family == AW_AF_INET || family == AW_AF_INET6)
		return put_sock_inet(hp, off, sk, family, peer, slot);
	if (family == AW_AF_UNIX && !peer)
		return put_sock_unix(hp, off, sk, slot);
	return off;
}

/* Entry of connect: a non-blocking TCP connect that will be reported is remembered by its socket,
 * with the caller's identity and the address asked for, so that its outcome can be reported when
 * the handshake ends (possibly in softirq, away from the process). A global function: verified
 * once, apart from the hooks that call it. */
__noinline int aw_net_connect_enter(int fd)
{
	__u32 zero = 0, f_flags = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!aw_net_outcome_on || !cfg || !net_passes(cfg, AW_NET_CONNECT, AW_IPPROTO_TCP))
		return 0;
	if (!process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	struct sock *sk = fd_sock(bt, fd, &f_flags);
	__u32 domain, type, protocol;
	if (!sk || !(f_flags & AW_O_NONBLOCK))
		return 0;
	sock_triple(sk, &domain, &type, &protocol);
	if (protocol != AW_IPPROTO_TCP)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bt);
	struct net_pend *pe = bpf_map_lookup_elem(&net_scratch, &zero);
	if (!regs || !pe)
		return 0;
	__builtin_memset(&pe->e, 0, sizeof(pe->e));
	put_identity(&pe->e, (struct task_struct *)bpf_get_current_task(), NR_connect, 0);
	pe->state = AW_PEND_INFLIGHT;
	pe->e.dirfd = fd;
	pe->e.dirfd2 = AT_FDCWD;
	pe->e.arg_a = domain;
	pe->e.arg_b = type;
	pe->e.mode = AW_IPPROTO_TCP;
	pe->e.ev_flags = AW_EVF_NET_OUTCOME;
	__u32 rlen = at_most((__u32)regs->dx, AW_SOCKADDR_MAX);
	if (rlen < 2 || bpf_probe_read_user(pe->raddr, rlen, (void *)regs->si))
		rlen = 0;
	pe->raddr_len = rlen;
	__u64 key = (__u64)sk;
	/* NOEXIST: a second connect on a socket still connecting (EALREADY) keeps the first's entry. */
	if (bpf_map_update_elem(&net_pending, &key, pe, BPF_NOEXIST) == -AW_E2BIG)
		count(AW_STAT_LOST_NET_PENDING);
	return 0;
}

/* The outcome event of a remembered connect, from its entry's record (no strings but the address:
 * the decoder takes the process's strings from the call event that went before). */
static __always_inline void send_outcome(struct net_pend *pe, __u64 ts, __s64 ret)
{
	__u32 zero = 0;
	struct net_pend *out = bpf_map_lookup_elem(&net_scratch, &zero);
	if (!out)
		return;
	__builtin_memcpy(&out->e, &pe->e, sizeof(out->e));
	bpf_probe_read_kernel(out->raddr, sizeof(out->raddr), pe->raddr);
	__builtin_memset(out->e.str_len, 0, sizeof(out->e.str_len));
	__u32 len = at_most(pe->raddr_len, AW_SOCKADDR_MAX);
	out->e.str_len[AW_STR_REMOTE] = len;
	out->e.ts_boot_ns = ts;
	out->e.ret = ret;
	if (bpf_ringbuf_output(&events, &out->e, sizeof(struct aw_event) + len, 0))
		count(AW_STAT_LOST_RINGBUF);
	else
		count(AW_STAT_EMITTED);
}

/* sock:inet_sock_set_state: a remembered socket leaves SYN_SENT. Inside the connect call itself
 * (loopback: the handshake runs before the call returns) the exit reports it after the call's own
 * event; anywhere else it is reported here. */
static __always_inline int on_sock_state(struct sock *sk, int oldstate, int newstate)
{
#ifdef AW_FLOOR
	return 0;
#endif
	if (oldstate != AW_TCP_SYN_SENT || (newstate != AW_TCP_ESTABLISHED && newstate != AW_TCP_CLOSE))
		return 0;
	__u64 key = (__u64)sk;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	if (!pe)
		return 0;
	__s64 ret = 0;
	if (newstate == AW_TCP_CLOSE) {
		int err = BPF_CORE_READ(sk, sk_err);
		ret = -(err ? err : AW_ECONNABORTED); /* no error: the process closed it first */
	}
	__u64 ts = bpf_ktime_get_boot_ns();
	if (pe->state == AW_PEND_INFLIGHT && (__u32)bpf_get_current_pid_tgid() == pe->e.host_tid) {
		pe->ret = ret;
		pe->ts = ts;
		pe->state = AW_PEND_DONE;
		return 0;
	}
	send_outcome(pe, ts, ret);
	bpf_map_delete_elem(&net_pending, &key);
	return 0;
}

/* A remembered connect at its exit: reported now if its outcome came during the call, else left
 * for the state change (EINPROGRESS), or forgotten (the call's own result is the outcome). */
static __always_inline void connect_exit_pending(struct heap *hp, __u32 off, struct sock *sk, long ret, int emitted)
{
	__u64 key = (__u64)sk;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	if (!pe)
		return;
	if (ret == -AW_EINPROGRESS && pe->state == AW_PEND_INFLIGHT) {
		pe->state = AW_PEND_WAITING;
		return;
	}
	if (ret == -AW_EINPROGRESS && pe->state == AW_PEND_DONE && emitted) {
		struct aw_event *e = (void *)hp->ev; /* the call's event, sent again as its outcome */
		e->ts_boot_ns = pe->ts;
		e->ret = pe->ret;
		e->ev_flags |= AW_EVF_NET_OUTCOME;
		send(hp, off);
	}
	if (pe->state != AW_PEND_WAITING)
		bpf_map_delete_elem(&net_pending, &key);
}

/* The port-scan gate at a connect's exit: true (counted, its outcome forgotten) when the same process
 * tree connected to the same target within aw_scan_repeat_ns; else the target is remembered. */
static __always_inline int scan_repeat(struct task_struct *bt, struct sock *sk, __u32 domain, __u32 type, __u64 uaddr, __u64 ulen)
{
	__u64 window = aw_scan_repeat_ns;
	if (!window || (domain != AW_AF_INET && domain != AW_AF_INET6) || (type != AW_SOCK_STREAM && type != AW_SOCK_DGRAM))
		return 0;
	struct { __u16 family; __be16 port; __u32 flow; __u8 addr[16]; } a = {};
	if (bpf_probe_read_user(&a, at_most((__u32)ulen, sizeof(a)), (void *)uaddr))
		return 0;
	struct scan_target k = {};
	k.cgroup = bpf_get_current_cgroup_id();
	k.ptgid = BPF_CORE_READ(bt, real_parent, tgid);
	k.family = a.family;
	k.port = a.port;
	if (a.family == AW_AF_INET)
		__builtin_memcpy(k.addr, &a.flow, 4);
	else if (a.family == AW_AF_INET6)
		__builtin_memcpy(k.addr, a.addr, 16);
	else
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 *last = bpf_map_lookup_elem(&scan_seen, &k);
	if (last && now - *last < window) {
		count(AW_STAT_GATED_NET);
		__u64 key = (__u64)sk;
		bpf_map_delete_elem(&net_pending, &key);
		return 1;
	}
	bpf_map_update_elem(&scan_seen, &k, &now, BPF_ANY);
	return 0;
}

/* Exit of every network call. A global function: verified once, apart from the hooks. */
__noinline int aw_net_exit(long nr, long ret)
{
	__u32 zero = 0, f_flags = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	__u32 bit = net_bit(nr);
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!bit || !cfg)
		return 0;
	if (!cfg->net_pass_all && !(cfg->net_calls & bit)) { /* a call nothing asks for: no socket read */
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_NET);
		return 0;
	}
	if (!process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bt);
	if (!regs)
		return 0;
	__u64 a0 = regs->di, a1 = regs->si, a2 = regs->dx;
	int accept = nr == NR_accept || nr == NR_accept4;
	int fd = nr == NR_socket ? (ret >= 0 ? (int)ret : -1) : (int)a0;
	/* accept: the new socket (its peer and protocol), else the listening one */
	int sfd = accept && ret >= 0 ? (int)ret : fd;
	struct sock *sk = sfd >= 0 ? fd_sock(bt, sfd, &f_flags) : NULL;
	__u32 domain, type, protocol;
	if (sk) {
		sock_triple(sk, &domain, &type, &protocol);
	} else if (nr == NR_socket) {
		domain = (__u32)a0;
		type = (__u32)a1 & AW_SOCK_TYPE_MASK;
		protocol = default_protocol(domain, type, (__u32)a2);
	} else {
		domain = type = protocol = 0;
	}
	if (!net_passes(cfg, bit, protocol)) {
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_NET);
		if (nr == NR_connect && sk)
			connect_exit_pending(NULL, 0, sk, ret, 0);
		return 0;
	}

	if (nr == NR_connect && sk && scan_repeat(bt, sk, domain, type, a1, a2))
		return 0;

	struct heap *hp = scratch();
	if (!hp)
		return 0;
	struct aw_event *e = (void *)hp->ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct path root = { .dentry = bt->fs->root.dentry, .mnt = bt->fs->root.mnt };
	__u32 off = sizeof(struct aw_event);
	__builtin_memset(e, 0, sizeof(*e));
	put_identity(e, task, nr, ret);
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->dirfd = fd;
	e->dirfd2 = AT_FDCWD;
	e->arg_a = domain;
	e->arg_b = type;
	e->mode = protocol;

	/* Slots in order: remote, local, then the process's strings. */
	if (nr == NR_connect) {
		off = put_sockaddr(hp, off, (void *)a1, (__u32)a2, 1, AW_STR_REMOTE);
	} else if (accept && ret >= 0) {
		__u32 ulen = 0;
		if (domain == AW_AF_UNIX && a1 && a2 && !bpf_probe_read_user(&ulen, sizeof(ulen), (void *)a2))
			off = put_sockaddr(hp, off, (void *)a1, ulen, 1, AW_STR_REMOTE);
		else
			off = put_sock_addr(hp, off, sk, domain, 1, AW_STR_REMOTE);
		off = put_sock_addr(hp, off, sk, domain, 0, AW_STR_LOCAL);
	} else if (nr == NR_bind) {
		off = put_sockaddr(hp, off, (void *)a1, (__u32)a2, 1, AW_STR_LOCAL);
	} else if (nr == NR_listen) {
		off = put_sock_addr(hp, off, sk, domain, 0, AW_STR_LOCAL);
	}
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	off = put_path(hp, off, &pwd, &root, AW_STR_CWD);
	struct path exe = BPF_CORE_READ(task, mm, exe_file, f_path);
	off = put_path(hp, off, &exe, &root, AW_STR_EXE);
	off = put_parent_tty(hp, off, task, &root);
	send(hp, off);
	if (nr == NR_connect && sk)
		connect_exit_pending(hp, off, sk, ret, 1);
	return 0;
}

#endif
