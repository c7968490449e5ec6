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
#define AW_ECONNREFUSED 111
#define AW_EALREADY 114
#define AW_EISCONN 106
#define AW_TCP_ESTABLISHED 1
#define AW_TCP_SYN_SENT 2
#define AW_TCP_CLOSE 7
#define AW_E2BIG 7

/* Set by the helper once the outcome hook is attached: without it nothing is remembered. */
__u32 aw_net_outcome_on;

/* The port-scan gate (docs/DETECTION.md, "What it costs in the kernel"). Set by the helper with the
 * network filter: which connects go to it is part of the filter's side (net_gate_protos in struct
 * aw_filter_side, armorwatch_filter.h), the thresholds below are stored just before the switch;
 * net_gate_protos 0: off, every connect that passes is emitted. Per KEY (the
 * detector's: a network namespace other than the host's -- a pod --, else the process tree: the
 * parent tgid, or the process itself when its parent is init) the kernel counts the distinct ports
 * and hosts attempted exactly (over two epochs of aw_gate_window_ns: at least one full window is
 * always covered) and, per distinct target, its attempts and results. While both counts stay below
 * aw_gate_ports distinct ports and aw_gate_hosts distinct hosts -- the detector's own lowest
 * thresholds: the count is over all the key's hosts (ports) and at least the detector's window,
 * never less than what the detector counts, so no scan it would find is held back --, connects
 * are counted there and nothing is emitted (AW_STAT_GATED_NET). The connect that crosses either
 * is emitted as the gate's summary (AW_EVF_NET_GATE_OPEN), followed by one record per target held
 * back (AW_EVF_NET_HANDOVER, with its counts); from then on the key's connects stream (one record
 * per attempt: a non-blocking connect's call and outcome are folded into its outcome record) until
 * aw_gate_quiet_ns pass without a connect, when the gate closes and counting starts afresh. */
__u32 aw_gate_ports;       /* distinct ports that open the gate (the detector's lowest port threshold) */
__u32 aw_gate_hosts;       /* distinct hosts that open the gate (the detector's lowest host threshold) */
__u32 aw_gate_host_netns;  /* the host's network namespace: processes in it are keyed by process tree */
__u64 aw_gate_window_ns;   /* an epoch of the counts: the detector's longest window */
__u64 aw_gate_quiet_ns;    /* an open gate closes after this long without a connect */

#define AW_GATE_KIND_NETNS 1
#define AW_GATE_KIND_TREE 2

struct scan_key {
	__u64 id;    /* network namespace inode, or tgid */
	__u32 kind;  /* AW_GATE_KIND_* */
	__u32 _pad;
};

/* Distinct ports and hosts are counted exactly, by epoch: each distinct value remembers the epoch
 * (seq) of its latest attempt (scan_ports, scan_hosts), and the gate how many values have their
 * latest attempt in each of the last two epochs (parity-indexed). The count is the sum of the two. */
struct scan_gate {
	__u64 epoch_ns;   /* start of the current epoch */
	__u64 last_ns;    /* latest connect */
	__u32 gen;        /* targets and values of other generations are stale */
	__u32 open;
	__u32 seq;        /* the current epoch's number (from 1: 0 is "never") */
	__u32 listed;     /* targets of this generation remembered */
	__u32 ports[2];   /* distinct ports whose latest attempt is in epoch seq, seq - 1 (by parity) */
	__u32 hosts[2];
};

/* One distinct port or host of a key: the generation and epoch of its latest attempt. An LRU map:
 * a value pushed out and attempted again is counted again (an overcount: the gate opens earlier,
 * never later). */
struct scan_seen {
	__u32 gen;
	__u32 seq;
};

struct scan_pkey {
	struct scan_key k;
	__u32 port;
	__u32 _pad;
};

struct scan_hkey {
	struct scan_key k;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct scan_pkey);
	__type(value, struct scan_seen);
} scan_ports SEC(".maps");           /* (key, port) -> its latest epoch */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct scan_hkey);
	__type(value, struct scan_seen);
} scan_hosts SEC(".maps");           /* (key, host) -> its latest epoch */

struct scan_tkey {
	struct scan_key k;
	__u8 addr[16];
	__u16 family;
	__be16 port;
	__u32 udp;
};

struct scan_tval {
	__u64 first_ns;
	__u64 last_ns;
	__u32 gen;
	__u32 attempts;
	__u32 succeeded;
	__u32 refused;
	__u32 failed;
	__u32 seq;        /* the epoch of its latest attempt: its port and host are counted in it */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct scan_key);
	__type(value, struct scan_gate);
} scan_gates SEC(".maps");           /* key -> its counts and gate */

/* An LRU map: a target pushed out before its gate opened is missing from the handover, counted as
 * AW_STAT_LOST_GATE (listed - handed over). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct scan_tkey);
	__type(value, struct scan_tval);
} scan_targets SEC(".maps");         /* (key, target) -> attempts and results held back */

static struct scan_gate aw_gate_zero;       /* never written: the value a new key starts from */


/* A non-blocking TCP connect between its entry and its outcome. */
#define AW_PEND_INFLIGHT 1 /* the call has not returned */
#define AW_PEND_DONE 2     /* the outcome came while the call ran (loopback): its exit reports it */
#define AW_PEND_WAITING 3  /* the call returned EINPROGRESS: the state change reports it */

struct net_pend {
	__u32 state;
	__u32 raddr_len;
	__s64 ret;             /* the outcome, when DONE */
	__u64 ts;
	__u32 gated;           /* held back by a closed gate: the outcome is counted on its target ... */
	__u32 gen;             /* ... while the gate's generation is this one */
	__u32 dlen;            /* a blocking connect seen at the root cgroup: its call record (that long) ... */
	__u32 _pad2;           /* ... waits in net_deferred for its result */
	struct scan_tkey tk;
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

/* A TCP connect the scan gate held back at the root cgroup's hook (or whose call opened the gate
 * there): only what its outcome needs, its target and the gate's generation, instead of a whole
 * net_pend. While the gate stays closed the outcome is counted on the target; once it has opened
 * the outcome is sent, with the identity of the call that opened it (gate_tpl: the same key) and
 * the address rebuilt from the target. Not an LRU, for the reason net_pending is not; a full map is
 * counted (AW_STAT_LOST_NET_PENDING). Every entry leaves it with the handshake or the socket. */
struct net_held {
	struct scan_tkey tk;
	__u32 gen;
	__s32 fd;
	__u32 domain;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct net_held);
} net_held SEC(".maps");             /* struct sock * -> a held-back connect awaiting its outcome */

/* In front of net_held: a slot per socket address hash (held_slot_of), claimed with one
 * compare-and-swap of its socket and freed by storing 0, so that the common held-back connect costs
 * an array lookup at its hook and at its outcome instead of a hash insert, lookup and delete. A
 * connect whose slot is taken by another socket goes to net_held as before; its outcome is looked
 * for in both. */
#define AW_HELD_SLOTS 4096
__u32 aw_held_any;    /* set once a connect has been held: until then no outcome looks for one */
__u32 aw_held_hashed; /* set once one has gone to net_held: until then no outcome looks there */
struct held_slot {
	__u64 sk;              /* the socket that holds it, 0: free */
	struct net_held h;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AW_HELD_SLOTS);
	__type(key, __u32);
	__type(value, struct held_slot);
} held_slots SEC(".maps");           /* hash of struct sock * -> a held-back connect awaiting its outcome */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ptr_bits SEC(".maps");             /* cpu -> a socket's address passing through, to be read back as a number */

/* The slot of socket `skey` (its address, a pointer to the verifier: stored in a map value and
 * read back, it is a number that can be hashed, without a helper call), which `bits` is set to. */
static __always_inline struct held_slot *held_slot_of(__u64 skey, __u64 *bits)
{
	__u32 zero = 0;
	__u64 *pb = bpf_map_lookup_elem(&ptr_bits, &zero);
	*bits = 0;
	if (!pb)
		return NULL;
	*(volatile __u64 *)pb = skey;
	__u64 b = *(volatile __u64 *)pb;
	*bits = b;
	__u32 idx = (__u32)((b * 0x9E3779B97F4A7C15ULL) >> 52) & (AW_HELD_SLOTS - 1);
	return bpf_map_lookup_elem(&held_slots, &idx);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_held);
} held_scratch SEC(".maps");         /* cpu -> the net_held being built: its target by scan_gate, the rest by cg_hold */

/* The gate record of each key whose gate opened: the identity its held-back outcomes are sent
 * with. One write per episode; an entry pushed out counts the outcome as untracked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct scan_key);
	__type(value, struct aw_event);
} gate_tpl SEC(".maps");             /* key -> its latest gate record's header */

/* The call record of a blocking TCP connect seen at the root cgroup, which runs before the call:
 * sent when the handshake ends, with its result, as the per-syscall exit would have sent it. A
 * record longer than AW_DEFER_MAX, or a full map, is sent at once as in progress instead, its
 * result following as an outcome (the shape of a non-blocking connect). */
#define AW_DEFER_MAX 4096
struct net_deferred_rec {
	__u8 b[AW_DEFER_MAX];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* 2 MiB if preallocated, mostly for nothing */
	__uint(max_entries, 512);
	__type(key, __u64);
	__type(value, struct net_deferred_rec);
} net_deferred SEC(".maps");         /* struct sock * -> the call record of a blocking connect in progress */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct net_pend);
} gate_scratch SEC(".maps");         /* cpu -> the handover's template (0) and the record being sent (1) */

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

/* The network filter is part of the filter's side (aw_slot): each check reads the side in force. */
static __always_inline struct aw_filter_side *net_side(void)
{
	return &aw_sides[filter_slot()];
}

/* Whether any network call `bit` can pass, whatever its protocol: a call nothing asks for is
 * dropped before its socket is read. */
static __always_inline int net_call_wanted(__u32 bit)
{
	struct aw_filter_side *s = net_side();
	return s->net_pass_all || (s->net_calls & bit);
}

static __always_inline int net_passes(__u32 bit, __u32 protocol)
{
	struct aw_filter_side *s = net_side();
	if (s->net_pass_all)
		return 1;
	if (!(s->net_calls & bit))
		return 0;
	if (s->net_any_protocol)
		return 1;
	/* The gate's connects pass by the gate's own protocols, not net_protos: those are shared by
	 * every call, and TCP there would let every TCP socket(), bind()... through as well. */
	if (bit == AW_NET_CONNECT && ((protocol == AW_IPPROTO_TCP && (s->net_gate_protos & 1)) ||
				      (protocol == AW_IPPROTO_UDP && (s->net_gate_protos & 2))))
		return 1;
	__u32 b = protocol & 0xff;
	return (s->net_protos[(b >> 6) & 3] >> (b & 63)) & 1;
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

/* Entry of connect: a non-blocking TCP connect that will be reported (`any`: any TCP connect, the
 * root cgroup's hook, which sees no exit) is remembered by its socket,
 * with the caller's identity and the address asked for, so that its outcome can be reported when
 * the handshake ends (possibly in softirq, away from the process). A global function: verified
 * once, apart from the hooks that call it. */
__noinline int aw_net_connect_enter(int fd, __u64 uaddr, __u64 ulen, int any)
{
	__u32 zero = 0, f_flags = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	if (any < 0)
		return 0;
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!aw_net_outcome_on || !cfg || !net_passes(AW_NET_CONNECT, AW_IPPROTO_TCP))
		return 0;
	if (!process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	struct sock *sk = fd_sock(bt, fd, &f_flags);
	__u32 domain, type, protocol;
	if (!sk || !(any || (f_flags & AW_O_NONBLOCK)))
		return 0;
	sock_triple(sk, &domain, &type, &protocol);
	if (protocol != AW_IPPROTO_TCP)
		return 0;
	struct net_pend *pe = bpf_map_lookup_elem(&net_scratch, &zero);
	if (!pe)
		return 0;
	__builtin_memset(&pe->e, 0, sizeof(pe->e));
	put_identity(&pe->e, (struct task_struct *)bpf_get_current_task(), NR_connect, 0);
	pe->state = AW_PEND_INFLIGHT;
	pe->gated = 0;
	pe->dlen = 0;
	pe->e.dirfd = fd;
	pe->e.dirfd2 = AT_FDCWD;
	pe->e.arg_a = domain;
	pe->e.arg_b = type;
	pe->e.mode = AW_IPPROTO_TCP;
	pe->e.ev_flags = AW_EVF_NET_OUTCOME;
	__u32 rlen = at_most((__u32)ulen, AW_SOCKADDR_MAX);
	if (rlen < 2 || bpf_probe_read_user(pe->raddr, rlen, (void *)uaddr))
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

/* The result of a remembered connect: its deferred call record with the result, or its outcome. */
static __always_inline void send_result(struct net_pend *pe, __u64 key, __u64 ts, __s64 ret)
{
	if (pe->dlen) {
		struct net_deferred_rec *d = bpf_map_lookup_elem(&net_deferred, &key);
		__u32 len = at_most(pe->dlen, AW_DEFER_MAX);
		if (d && len >= sizeof(struct aw_event)) {
			struct aw_event *e = (void *)d->b;
			e->ret = ret;
			e->ts_boot_ns = ts;
			if (bpf_ringbuf_output(&events, d->b, len, 0))
				count(AW_STAT_LOST_RINGBUF);
			else
				count(AW_STAT_EMITTED);
		}
		bpf_map_delete_elem(&net_deferred, &key);
		return;
	}
	send_outcome(pe, ts, ret);
}

/* A connect's result as the detector counts it (src/detect/portscan.ts resultOf). */
static __always_inline void gate_count(struct scan_tval *tv, __s64 ret, __u32 udp)
{
	if (ret == -AW_EINPROGRESS || (udp && ret >= 0))
		return; /* no result yet; a UDP connect sends nothing */
	if (ret >= 0)
		tv->succeeded++;
	else if (ret == -AW_ECONNREFUSED)
		tv->refused++;
	else
		tv->failed++;
}

/* The outcome of a connect the gate held back: counted on its target while its gate is still
 * closed (0); true when the gate has opened since (its target was handed over): then the outcome is
 * reported like any other. A stale generation is dropped. */
static __always_inline int gate_outcome(struct scan_tkey *tk, __u32 gen, __s64 ret)
{
	struct scan_gate *g = bpf_map_lookup_elem(&scan_gates, &tk->k);
	if (!g || g->gen != gen)
		return 0;
	if (g->open)
		return 1;
	struct scan_tval *tv = bpf_map_lookup_elem(&scan_targets, tk);
	if (tv && tv->gen == gen)
		gate_count(tv, ret, tk->udp);
	return 0;
}

/* A target's address as a struct sockaddr at dst (32 bytes): its length. */
static __always_inline __u32 target_sockaddr(__u8 *dst, struct scan_tkey *tk)
{
	__builtin_memset(dst, 0, 32);
	__builtin_memcpy(dst, &tk->family, 2);
	__builtin_memcpy(dst + 2, &tk->port, 2);
	if (tk->family == AW_AF_INET) {
		__builtin_memcpy(dst + 4, tk->addr, 4);
		return 16;
	}
	__builtin_memcpy(dst + 8, tk->addr, 16);
	return 28;
}

/* The outcome of a held-back connect (net_held) whose gate has opened since: the outcome record
 * send_outcome would send, with the identity of the key's gate record and the target's address. */
static __always_inline void send_held_outcome(struct net_held *h, __u64 ts, __s64 ret)
{
	__u32 zero = 0;
	struct aw_event *tpl = bpf_map_lookup_elem(&gate_tpl, &h->tk.k);
	struct net_pend *out = bpf_map_lookup_elem(&net_scratch, &zero);
	if (!tpl || !out) {
		count(AW_STAT_LOST_NET_PENDING);
		return;
	}
	__builtin_memcpy(&out->e, tpl, sizeof(out->e));
	__u32 len = target_sockaddr(out->raddr, &h->tk);
	__builtin_memset(out->e.str_len, 0, sizeof(out->e.str_len));
	out->e.str_len[AW_STR_REMOTE] = len;
	out->e.ts_boot_ns = ts;
	out->e.ret = ret;
	out->e.dirfd = h->fd;
	out->e.dirfd2 = AT_FDCWD;
	out->e.flags = 0;
	out->e.owner_uid = 0;
	out->e.arg_a = h->domain;
	out->e.arg_b = AW_SOCK_STREAM;
	out->e.mode = AW_IPPROTO_TCP;
	out->e.ev_flags = AW_EVF_NET_OUTCOME;
	out->e.ident_dev = 0;
	out->e.ident_depth = 0;
	out->e.ident_ino = 0;
	if (bpf_ringbuf_output(&events, &out->e, sizeof(struct aw_event) + len, 0))
		count(AW_STAT_LOST_RINGBUF);
	else
		count(AW_STAT_EMITTED);
}

/* A held-back connect's outcome (`h`: its net_held entry, under `key`): counted on its target, or
 * sent once its gate has opened; the entry goes. */
static __always_inline void held_outcome(struct net_held *h, __u64 key, __s64 ret)
{
	if (gate_outcome(&h->tk, h->gen, ret))
		send_held_outcome(h, bpf_ktime_get_boot_ns(), ret);
	bpf_map_delete_elem(&net_held, &key);
}

/* The outcome of the held-back connect in slot `s` (of the socket whose address is `bits`), if it
 * is there: counted or sent, the slot freed; false when it is not there. The slot is taken (1:
 * being settled) first, so that the state change and the socket's release, which may run at once,
 * cannot both count it. */
static __always_inline int slot_settle(struct held_slot *s, __u64 bits, __s64 ret)
{
	if (!s || bits <= 1 || s->sk != bits || __sync_val_compare_and_swap(&s->sk, bits, 1) != bits)
		return 0;
	if (gate_outcome(&s->h.tk, s->h.gen, ret))
		send_held_outcome(&s->h, bpf_ktime_get_boot_ns(), ret);
	asm volatile("" ::: "memory"); /* read before it is freed (x86: stores are not reordered with earlier loads) */
	s->sk = 0;
	return 1;
}

/* The outcome of the held-back connect of socket `key`, if one is remembered: in its slot, else in
 * net_held. */
static __noinline void held_settle(__u64 key, __s64 ret)
{
	__u64 bits;
	if (slot_settle(held_slot_of(key, &bits), bits, ret) || !aw_held_hashed)
		return;
	struct net_held *h = bpf_map_lookup_elem(&net_held, &key);
	if (h)
		held_outcome(h, key, ret);
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
	__s64 ret = 0;
	if (newstate == AW_TCP_CLOSE) {
		int err = BPF_CORE_READ(sk, sk_err);
		ret = -(err ? err : AW_ECONNABORTED); /* no error: the process closed it first */
	}
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	if (!pe) {
		if (aw_held_any)
			held_settle(key, ret);
		return 0;
	}
	__u64 ts = bpf_ktime_get_boot_ns();
	if (pe->state == AW_PEND_INFLIGHT && (__u32)bpf_get_current_pid_tgid() == pe->e.host_tid) {
		pe->ret = ret;
		pe->ts = ts;
		pe->state = AW_PEND_DONE;
		return 0;
	}
	if (!pe->gated || gate_outcome(&pe->tk, pe->gen, ret))
		send_result(pe, key, ts, ret);
	bpf_map_delete_elem(&net_pending, &key);
	return 0;
}

/* A remembered connect at its exit: reported now if its outcome came during the call, else left
 * for the state change (EINPROGRESS), or forgotten (the call's own result is the outcome). `fold`
 * (an open scan gate): the call was not sent; its outcome record stands for the attempt. */
static __always_inline void connect_exit_pending(struct heap *hp, __u32 off, struct sock *sk, long ret, int emitted, int fold)
{
	__u64 key = (__u64)sk;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	if (!pe)
		return;
	if (ret == -AW_EINPROGRESS && pe->state == AW_PEND_INFLIGHT) {
		pe->state = AW_PEND_WAITING;
		if (fold)
			pe->e.ev_flags |= AW_EVF_NET_ATTEMPT;
		return;
	}
	if (ret == -AW_EINPROGRESS && pe->state == AW_PEND_DONE && emitted) {
		struct aw_event *e = (void *)hp->ev; /* the call's event, sent again as its outcome */
		e->ts_boot_ns = pe->ts;
		e->ret = pe->ret;
		e->ev_flags |= AW_EVF_NET_OUTCOME | (fold ? AW_EVF_NET_ATTEMPT : 0);
		send(hp, off);
	}
	if (pe->state != AW_PEND_WAITING)
		bpf_map_delete_elem(&net_pending, &key);
}

/* A blocking connect at the root cgroup's hook: its call record kept for its result (net_deferred);
 * false when it cannot be (no remembered entry, too long, the map full): then it is sent now. */
static __always_inline int defer_call(struct heap *hp, __u32 off, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	if (!pe || pe->state != AW_PEND_INFLIGHT || off > AW_DEFER_MAX)
		return 0;
	if (bpf_map_update_elem(&net_deferred, &key, hp->ev, BPF_ANY))
		return 0;
	pe->dlen = off;
	pe->state = AW_PEND_WAITING;
	return 1;
}

/* Whether an open gate's non-blocking connect will have an outcome record to stand for it. */
static __always_inline int outcome_will_fold(struct sock *sk, long ret)
{
	__u64 key = (__u64)sk;
	if (ret != -AW_EINPROGRESS)
		return 0;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	return pe && (pe->state == AW_PEND_INFLIGHT || pe->state == AW_PEND_DONE);
}

#define AW_GATE_PASS 0    /* not gated: emitted as usual */
#define AW_GATE_HELD 1    /* counted in the kernel, nothing emitted */
#define AW_GATE_OPENED 2  /* crossed a threshold: the summary, then the handover */
#define AW_GATE_STREAM 3  /* the gate is open: emitted, a non-blocking call folded into its outcome */
#define AW_GATE_SKIP 4    /* held back, not counted: the detector does not count it either */

/* The detector's key (src/detect/portscan.ts scanKey). */
static __always_inline void gate_key(struct task_struct *bt, struct scan_key *k)
{
	__u32 netns = bt->nsproxy->net_ns->ns.inum;
	__u32 host = aw_gate_host_netns;
	k->_pad = 0;
	if (host && netns != host) {
		k->id = netns;
		k->kind = AW_GATE_KIND_NETNS;
		return;
	}
	__u32 pp = bt->real_parent->tgid;
	k->id = pp > 1 ? pp : (__u32)bt->tgid;
	k->kind = AW_GATE_KIND_TREE;
}

/* A new epoch once the current one is a window old: the values whose latest attempt is two epochs
 * old leave the count, so the two epochs together always cover at least the last window. */
static __always_inline void gate_rotate(struct scan_gate *g, __u64 now)
{
	__u64 w = aw_gate_window_ns;
	if (now - g->epoch_ns < w)
		return;
	if (now - g->epoch_ns < 2 * w) {
		g->seq++;
		g->ports[g->seq & 1] = 0;
		g->hosts[g->seq & 1] = 0;
	} else {
		g->seq += 2;
		g->ports[0] = g->ports[1] = 0;
		g->hosts[0] = g->hosts[1] = 0;
	}
	g->epoch_ns = now;
}

static __always_inline void gate_reset(struct scan_gate *g, __u64 now)
{
	g->open = 0;
	g->gen++;
	g->seq += 2; /* every value of the old generation is older than the last two epochs */
	g->epoch_ns = now;
	g->ports[0] = g->ports[1] = 0;
	g->hosts[0] = g->hosts[1] = 0;
	g->listed = 0;
}

/* A distinct value (`seen`: its entry, NULL when it has none) attempted in the current epoch:
 * counted there, moved from the previous epoch, or already counted. `n`: the gate's counts. */
static __always_inline void gate_seen(struct scan_gate *g, void *map, void *vkey, __u32 *n)
{
	struct scan_seen *sv = bpf_map_lookup_elem(map, vkey);
	__u32 seq = g->seq, gen = g->gen;
	if (sv && sv->gen == gen && sv->seq == seq)
		return;
	if (sv && sv->gen == gen && sv->seq + 1 == seq) {
		__u32 *prev = &n[(seq - 1) & 1];
		if (*prev)
			__sync_fetch_and_add(prev, -1);
		sv->seq = seq;
	} else {
		struct scan_seen nv = { .gen = gen, .seq = seq };
		bpf_map_update_elem(map, vkey, &nv, BPF_ANY);
	}
	__sync_fetch_and_add(&n[seq & 1], 1);
}

/* The port-scan gate at a connect's exit (see aw_gate_ports). `key`: filled for AW_GATE_OPENED;
 * for AW_GATE_HELD and AW_GATE_OPENED the target and generation are left in held_scratch. */
static __always_inline int scan_gate(struct task_struct *bt, struct sock *sk, __u32 domain, __u32 type, __u32 protocol,
				     __u64 uaddr, __u64 ulen, long ret, struct scan_key *key, __u32 *gen)
{
	__u32 protos = net_side()->net_gate_protos, udp = type == AW_SOCK_DGRAM;
	if (!protos || (domain != AW_AF_INET && domain != AW_AF_INET6) || (type != AW_SOCK_STREAM && type != AW_SOCK_DGRAM))
		return AW_GATE_PASS;
	if (!(protos & (udp ? 2 : 1)) || protocol != (udp ? AW_IPPROTO_UDP : AW_IPPROTO_TCP))
		return AW_GATE_PASS;
	struct { __u16 family; __be16 port; __u32 flow; __u8 addr[16]; } a = {};
	if (bpf_probe_read_user(&a, at_most((__u32)ulen, sizeof(a)), (void *)uaddr))
		return AW_GATE_PASS;
	/* What the detector does not count (a status check on a socket already connecting, a UDP
	 * disconnect, another family) is held back, not counted. */
	if (ret == -AW_EALREADY || ret == -AW_EISCONN || (a.family != AW_AF_INET && a.family != AW_AF_INET6)) {
		count(AW_STAT_GATED_NET);
		return AW_GATE_SKIP;
	}
	gate_key(bt, key);
	__u64 now = bpf_ktime_get_boot_ns();
	struct scan_gate *g = bpf_map_lookup_elem(&scan_gates, key);
	if (!g) {
		bpf_map_update_elem(&scan_gates, key, &aw_gate_zero, BPF_NOEXIST);
		g = bpf_map_lookup_elem(&scan_gates, key);
		if (!g)
			return AW_GATE_PASS;
		if (!g->epoch_ns) {
			g->epoch_ns = now;
			/* Above every epoch a key of the same id pushed out of the map before could have
			 * reached (one epoch lasts a window, far more than 2^24 ns): the values it left in
			 * scan_ports and scan_hosts count as new again. */
			g->seq = (__u32)(now >> 24) + 2;
		}
	}
	if (g->open) {
		if (now - g->last_ns < aw_gate_quiet_ns) {
			g->last_ns = now;
			return AW_GATE_STREAM;
		}
		gate_reset(g, now); /* quiet since: the episode is over, count afresh */
	}
	gate_rotate(g, now);
	g->last_ns = now;
	*gen = g->gen;

	struct scan_tkey tk = {};
	tk.k = *key;
	tk.family = a.family;
	tk.port = a.port;
	tk.udp = udp;
	if (a.family == AW_AF_INET)
		__builtin_memcpy(tk.addr, &a.flow, 4);
	else
		__builtin_memcpy(tk.addr, a.addr, 16);
	struct scan_tval *tv = bpf_map_lookup_elem(&scan_targets, &tk);
	if (!tv || tv->gen != g->gen) {
		struct scan_tval nv = {};
		nv.gen = g->gen;
		nv.first_ns = now;
		bpf_map_update_elem(&scan_targets, &tk, &nv, BPF_ANY);
		tv = bpf_map_lookup_elem(&scan_targets, &tk);
		__sync_fetch_and_add(&g->listed, 1);
	}
	/* A target's first attempt in this epoch: its port and host are counted in it. Its later
	 * attempts (an honest client's repeats) cost no further lookup. */
	if (!tv || tv->seq != g->seq) {
		struct scan_pkey pk = { .k = *key, .port = a.port, ._pad = 0 };
		gate_seen(g, &scan_ports, &pk, g->ports);
		struct scan_hkey hk = { .k = *key };
		__builtin_memcpy(hk.addr, tk.addr, 16);
		gate_seen(g, &scan_hosts, &hk, g->hosts);
		if (tv)
			tv->seq = g->seq;
	}
	if (tv) {
		__sync_fetch_and_add(&tv->attempts, 1);
		tv->last_ns = now;
	}
	/* Its result: now, from the outcome that came during the call, or later (gate_outcome). At the
	 * root cgroup's hook nothing is remembered yet: cg_call remembers what the outcome needs. */
	__u64 skey = (__u64)sk;
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &skey);
	__s64 res = ret;
	if (pe && ret == -AW_EINPROGRESS && pe->state == AW_PEND_INFLIGHT) {
		pe->state = AW_PEND_WAITING;
		pe->gated = 1;
		pe->gen = g->gen;
		__builtin_memcpy(&pe->tk, &tk, sizeof(tk));
	} else if (pe && pe->state != AW_PEND_WAITING) {
		if (ret == -AW_EINPROGRESS && pe->state == AW_PEND_DONE)
			res = pe->ret;
		bpf_map_delete_elem(&net_pending, &skey);
	}
	if (tv)
		gate_count(tv, res, udp);
	/* What a held-back connect's outcome needs, for cg_hold at the root cgroup's hook: the target as
	 * counted here (from the caller's own sockaddr, whatever the socket's family) and the generation. */
	__u32 zero = 0;
	struct net_held *h = bpf_map_lookup_elem(&held_scratch, &zero);
	if (h) {
		__builtin_memcpy(&h->tk, &tk, sizeof(tk));
		h->gen = g->gen;
	}
	if (g->ports[0] + g->ports[1] >= aw_gate_ports || g->hosts[0] + g->hosts[1] >= aw_gate_hosts) {
		g->open = 1;
		return AW_GATE_OPENED;
	}
	count(AW_STAT_GATED_NET);
	return AW_GATE_HELD;
}

struct gate_ctx {
	struct scan_key k;
	__u32 gen;
	__u32 sent;
};

/* One target held back, as a record: the address, its counts, its first and latest attempt. */
static long gate_handover_one(struct bpf_map *map, struct scan_tkey *tk, struct scan_tval *tv, struct gate_ctx *c)
{
	__u32 zero = 0, one = 1;
	if (tv->gen != c->gen || tk->k.id != c->k.id || tk->k.kind != c->k.kind)
		return 0;
	struct net_pend *tpl = bpf_map_lookup_elem(&gate_scratch, &zero);
	struct net_pend *out = bpf_map_lookup_elem(&gate_scratch, &one);
	if (!tpl || !out)
		return 1;
	__builtin_memcpy(&out->e, &tpl->e, sizeof(out->e));
	__u32 len = target_sockaddr(out->raddr, tk);
	__builtin_memset(out->e.str_len, 0, sizeof(out->e.str_len));
	out->e.str_len[AW_STR_REMOTE] = len;
	out->e.ts_boot_ns = tv->last_ns;
	out->e.ident_ino = tv->first_ns;
	out->e.flags = tv->attempts;
	out->e.owner_uid = tv->succeeded;
	out->e.dirfd = (__s32)tv->refused;
	out->e.dirfd2 = (__s32)tv->failed;
	out->e.ret = 0;
	out->e.ev_flags = AW_EVF_NET_HANDOVER;
	out->e.arg_a = tk->family;
	out->e.arg_b = tk->udp ? AW_SOCK_DGRAM : AW_SOCK_STREAM;
	out->e.mode = tk->udp ? AW_IPPROTO_UDP : AW_IPPROTO_TCP;
	if (bpf_ringbuf_output(&events, &out->e, sizeof(struct aw_event) + len, 0))
		count(AW_STAT_LOST_RINGBUF);
	else
		count(AW_STAT_EMITTED);
	c->sent++;
	return 0;
}

/* After the summary record in hp: every target of the key's generation, then what was missing. */
static __always_inline void gate_handover(struct heap *hp, struct scan_key *key, __u32 gen)
{
	__u32 zero = 0;
	struct net_pend *tpl = bpf_map_lookup_elem(&gate_scratch, &zero);
	struct scan_gate *g = bpf_map_lookup_elem(&scan_gates, key);
	if (!tpl || !g)
		return;
	__builtin_memcpy(&tpl->e, hp->ev, sizeof(tpl->e));
	/* the identity the key's held-back connects still in progress are reported with */
	bpf_map_update_elem(&gate_tpl, key, &tpl->e, BPF_ANY);
	struct gate_ctx c = { .k = *key, .gen = gen, .sent = 0 };
	bpf_for_each_map_elem(&scan_targets, gate_handover_one, &c, 0);
	__u32 listed = g->listed;
	if (listed > c.sent) {
		__u32 idx = AW_STAT_LOST_GATE;
		__u64 *v = bpf_map_lookup_elem(&stats, &idx);
		if (v)
			*v += listed - c.sent;
	}
}

/* Every network call: `nr` (the call) and its result, with its first three arguments `a0`..`a2`.
 * Flags on nr: AW_NET_REGS_ARGS, the arguments are read here from the caller's registers (the
 * per-syscall hooks at exit), once the call is known to be wanted; AW_NET_AT_HOOK, the call is
 * being made (the root cgroup's hooks, aw_cg_*): socket() has no fd yet, and a connect's result
 * is its outcome. Returns AW_NET_HELD for a connect the gate counted instead of emitting, or that
 * opened its gate (its target and the gate's generation are in held_scratch: cg_call remembers
 * its outcome), else 0. A global function: verified once, apart from the hooks. */
#define AW_NET_REGS_ARGS (1L << 32)
#define AW_NET_AT_HOOK (1L << 33)
#define AW_NET_HELD 1
__noinline int aw_net_call(long nr, long ret, __u64 a0, __u64 a1, __u64 a2)
{
	int from_regs = (nr & AW_NET_REGS_ARGS) != 0, at_hook = (nr & AW_NET_AT_HOOK) != 0;
	nr = (__u32)nr;

	__u32 zero = 0, f_flags = 0;
#ifdef AW_FLOOR
	return 0;
#endif
	__u32 bit = net_bit(nr);
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!bit || !cfg)
		return 0;
	if (!net_call_wanted(bit)) { /* a call nothing asks for: no socket read */
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_NET);
		return 0;
	}
	if (!process_passes(cfg, bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct task_struct *bt = bpf_get_current_task_btf();
	if (from_regs) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bt);
		if (!regs)
			return 0;
		a0 = regs->di;
		a1 = regs->si;
		a2 = regs->dx;
	}
	int accept = nr == NR_accept || nr == NR_accept4;
	int fd = nr == NR_socket ? (ret >= 0 && !at_hook ? (int)ret : -1) : (int)a0;
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
	if (!net_passes(bit, protocol)) {
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_NET);
		if (nr == NR_connect && sk)
			connect_exit_pending(NULL, 0, sk, ret, 0, 0);
		return 0;
	}

	struct scan_key gkey = {};
	__u32 ggen = 0;
	int gate = nr == NR_connect && sk ? scan_gate(bt, sk, domain, type, protocol, a1, a2, ret, &gkey, &ggen) : AW_GATE_PASS;
	if (gate == AW_GATE_HELD)
		return AW_NET_HELD;
	if (gate == AW_GATE_SKIP)
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
	if (gate == AW_GATE_OPENED) {
		e->ev_flags |= AW_EVF_NET_GATE_OPEN;
		send(hp, off);
		gate_handover(hp, &gkey, ggen);
		return AW_NET_HELD;
	}
	/* At the root cgroup's hook a TCP connect that will be emitted is remembered now, in full, for
	 * its outcome (one the gate holds back or that opens it: by cg_call, from what this returns). */
	aw_net_connect_enter(fd, a1, a2, at_hook && nr == NR_connect ? 1 : -1);
	/* An open gate: a non-blocking connect whose outcome will be reported is reported by it alone. */
	int fold = gate == AW_GATE_STREAM && outcome_will_fold(sk, ret);
	if (!fold && at_hook && nr == NR_connect && sk && !(f_flags & AW_O_NONBLOCK) && defer_call(hp, off, sk))
		return 0;
	if (!fold)
		send(hp, off);
	if (nr == NR_connect && sk)
		connect_exit_pending(hp, off, sk, ret, 1, fold);
	return 0;
}

/* A TCP connect the gate counted at the root cgroup's hook (held back, or it opened the gate):
 * remembered by its socket `skey` with its target and the gate's generation (left in held_scratch
 * by scan_gate), its fd and the socket's family, for on_sock_state or cg_release to count or send
 * its outcome: in the socket's slot of held_slots, or in net_held when another socket has it. An
 * entry still there is a connect on the same socket that failed before its SYN left (no route):
 * it is settled first, as failed (ECONNABORTED, as cg_release would). Not inlined: the hook's own
 * stack, with aw_net_call's beside it, would pass 512 bytes. */
static __noinline void cg_hold(__u64 skey, int fd, __u32 domain)
{
	__u32 zero = 0;
	struct net_held *h = bpf_map_lookup_elem(&held_scratch, &zero);
	if (!h)
		return;
	h->fd = fd;
	h->domain = domain;
	h->_pad = 0;
	if (!aw_held_any)
		aw_held_any = 1;
	__u64 bits;
	struct held_slot *s = held_slot_of(skey, &bits);
	if (s && bits > 1 && s->sk == bits) /* as below: the same socket's earlier connect, settled first */
		held_settle(skey, -AW_ECONNABORTED);
	if (s && bits > 1 && __sync_val_compare_and_swap(&s->sk, 0, bits) == 0) {
		__builtin_memcpy(&s->h, h, sizeof(*h));
		return;
	}
	if (!aw_held_hashed)
		aw_held_hashed = 1;
	struct net_held *old = bpf_map_lookup_elem(&net_held, &skey);
	if (old) /* its error (no route) is not in sk_err, and `skey` cannot be read through here */
		held_outcome(old, skey, -AW_ECONNABORTED);
	if (bpf_map_update_elem(&net_held, &skey, h, BPF_NOEXIST) == -AW_E2BIG)
		count(AW_STAT_LOST_NET_PENDING);
}

/* ---- socket() and connect() at the root cgroup (aw_cg_* in armorwatch.bpf.c) --------------------
 * cgroup/sock_create runs when an inet socket is made, cgroup/connect4 and connect6 when an
 * unconnected inet socket connects: only on those calls, where any per-syscall hook puts every
 * syscall of every task on the slow path. They run before the call completes: socket() is
 * reported without its fd, a TCP connect as in progress (its result is its outcome, from
 * sock:inet_sock_set_state, as for a non-blocking connect), a UDP connect as made. Calls made
 * from elsewhere than the syscall itself (io_uring, the kernel) are left out, as before. The
 * programs must allow the call: they always return 1. */
static __always_inline int cg_call(long nr, __u32 protocol, long ret, struct bpf_sock_addr *sa)
{
	__u32 zero = 0;
#ifdef AW_FLOOR
	return 1;
#endif
	struct aw_config *cfg = bpf_map_lookup_elem(&aw_config, &zero);
	if (!aw_net_cg_on() || !cfg || !cfg->armed)
		return 1;
	if (!net_passes(net_bit(nr), protocol)) { /* read nothing else */
		count(AW_STAT_FILTERED);
		count(AW_STAT_FILTERED_NET);
		return 1;
	}
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs || regs->orig_ax != nr)
		return 1;
	int r = aw_net_call(nr | AW_NET_AT_HOOK, ret, regs->di, regs->si, regs->dx);
	if (sa && r == AW_NET_HELD && protocol == AW_IPPROTO_TCP && aw_net_outcome_on)
		cg_hold((__u64)sa->sk, (int)regs->di, sa->family);
	return 1;
}

/* cgroup/sock_release: a connect remembered at the root cgroup whose socket never changed state
 * (it failed before its SYN left: no route, no local port) gets its outcome when the socket goes,
 * as failed (its own error is not seen from here); the table entry goes with it. */
static __always_inline int cg_release(__u64 key)
{
#ifdef AW_FLOOR
	return 1;
#endif
	struct net_pend *pe = bpf_map_lookup_elem(&net_pending, &key);
	int err;
	if (!pe) {
		if (!aw_held_any)
			return 1;
		/* Both: the socket's slot and net_held can each hold one of its connects (an earlier one
		 * that failed before its SYN left, remembered in net_held while another socket had the slot). */
		__u64 bits;
		struct held_slot *s = held_slot_of(key, &bits);
		int in_slot = s && bits > 1 && s->sk == bits;
		struct net_held *h = aw_held_hashed ? bpf_map_lookup_elem(&net_held, &key) : NULL;
		if (!in_slot && !h)
			return 1;
		err = BPF_CORE_READ((struct sock *)key, sk_err);
		__s64 r = -(err ? err : AW_ECONNABORTED);
		if (in_slot)
			slot_settle(s, bits, r);
		if (h)
			held_outcome(h, key, r);
		return 1;
	}
	err = BPF_CORE_READ((struct sock *)key, sk_err);
	__s64 ret = -(err ? err : AW_ECONNABORTED);
	if (pe->state == AW_PEND_WAITING && (!pe->gated || gate_outcome(&pe->tk, pe->gen, ret)))
		send_result(pe, key, bpf_ktime_get_boot_ns(), ret);
	bpf_map_delete_elem(&net_pending, &key);
	return 1;
}

#endif
