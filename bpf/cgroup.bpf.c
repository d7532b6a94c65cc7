// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup programs for --cgroup/--pod: record every socket that a process of
 * the selected cgroups opens, keyed by the tuple conntrack's ORIGINAL
 * direction will see (the pod's own address is the source: a pod's traffic
 * reaches the node namespace un-NATed), together with the process.  The
 * capture backends look the records up ("nw_join", bpf/common.bpf.h) when
 * they report a new connection, which is usually in softirq context where
 * the process is not known.
 *
 * When each part of the tuple is known:
 *   TCP  connect4/6 runs before the source address is routed and the port
 *        bound: it only remembers the task in the socket's storage.  sock_ops
 *        BPF_SOCK_OPS_TCP_CONNECT_CB runs in tcp_connect() just before the SYN
 *        is built, with both ends final: it writes the record.
 *   UDP  connect4/6 (connected sockets) and sendmsg4/6 (sendto) remember the
 *        task; neither knows the source address of an unbound socket (and
 *        connect runs before the autobind).  cgroup_skb/egress sees each
 *        datagram with its final addresses and writes the record when the
 *        map has none for this socket and tuple, so a record evicted while
 *        the socket lives is written again by its next datagram.
 *   other protocols (ICMP, SCTP, GRE, raw sockets): egress alike, with the
 *        socket's cgroup; the process only where connect or sendmsg told
 *        (the kernel runs those hooks for TCP and UDP alone).
 * Records are evicted least recently used first; nothing else removes them.
 *
 * Includes common.bpf.h for the shared maps; userspace does not create the
 * ring buffer and loss counter of this object.
 */
#include "common.bpf.h"

#define NW_ETH_P_IP 0x0800
#define NW_ETH_P_IPV6 0x86DD

/* The task that last connected or sent on a socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nw_join_val);
} nw_sk_task SEC(".maps");

static __always_inline void nw_remember_task(struct bpf_sock *sk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nw_join_val *t;

	t = bpf_sk_storage_get(&nw_sk_task, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!t)
		return;
	t->pid = (__u32)pid_tgid;
	if (t->tgid == pid_tgid >> 32) /* sendmsg: usually the same process again */
		return;
	t->tgid = pid_tgid >> 32;
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* Store one record and its source address (for missed-join counting). */
static __always_inline void nw_record(const struct nw_join_key *key, const struct nw_join_val *val)
{
	struct nw_join_src src = { .family = key->family };
	__u64 now;

	bpf_map_update_elem(&nw_join, key, val, BPF_ANY);
	__builtin_memcpy(src.addr, key->orig.src, sizeof(src.addr));
	if (bpf_map_lookup_elem(&nw_join_src, &src))
		return;
	now = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&nw_join_src, &src, &now, BPF_NOEXIST);
}

/* An IPv6 socket talking IPv4 (::ffff:a.b.c.d): conntrack sees IPv4. */
static __always_inline int nw_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* @local/@remote: 4 words in network order, as struct bpf_sock_ops has them. */
static __always_inline void nw_key_from_sock(struct nw_join_key *key, __u32 family,
					     const __u32 *local, const __u32 *remote)
{
	if (family == NW_AF_INET6 && !(nw_v4mapped(local) && nw_v4mapped(remote))) {
		key->family = NW_AF_INET6;
		__builtin_memcpy(key->orig.src, local, 16);
		__builtin_memcpy(key->orig.dst, remote, 16);
	} else {
		key->family = NW_AF_INET;
		__builtin_memcpy(key->orig.src, family == NW_AF_INET6 ? &local[3] : local, 4);
		__builtin_memcpy(key->orig.dst, family == NW_AF_INET6 ? &remote[3] : remote, 4);
	}
}

static __always_inline int nw_sock_addr(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	if (sk && (ctx->protocol == IPPROTO_TCP || ctx->protocol == IPPROTO_UDP))
		nw_remember_task(sk);
	return 1; /* never change the verdict */
}

SEC("cgroup/connect4")
int nw_connect4(struct bpf_sock_addr *ctx)
{
	return nw_sock_addr(ctx);
}

SEC("cgroup/connect6")
int nw_connect6(struct bpf_sock_addr *ctx)
{
	return nw_sock_addr(ctx);
}

SEC("cgroup/sendmsg4")
int nw_sendmsg4(struct bpf_sock_addr *ctx)
{
	return nw_sock_addr(ctx);
}

SEC("cgroup/sendmsg6")
int nw_sendmsg6(struct bpf_sock_addr *ctx)
{
	return nw_sock_addr(ctx);
}

SEC("sockops")
int nw_sockops(struct bpf_sock_ops *skops)
{
	__u32 local[4] = {}, remote[4] = {}, family;
	struct nw_join_val val = {};
	struct nw_join_key key;
	struct nw_join_val *t;
	struct bpf_sock *sk;

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	sk = skops->sk;
	if (!sk)
		return 1;
	t = bpf_sk_storage_get(&nw_sk_task, sk, 0, 0); /* connect4/6 ran just before */
	if (t)
		val = *t;
	val.sock_cookie = bpf_get_socket_cookie(skops);

	__builtin_memset(&key, 0, sizeof(key));
	family = skops->family;
	if (family == NW_AF_INET6) {
		local[0] = skops->local_ip6[0];
		local[1] = skops->local_ip6[1];
		local[2] = skops->local_ip6[2];
		local[3] = skops->local_ip6[3];
		remote[0] = skops->remote_ip6[0];
		remote[1] = skops->remote_ip6[1];
		remote[2] = skops->remote_ip6[2];
		remote[3] = skops->remote_ip6[3];
	} else {
		local[0] = skops->local_ip4;
		remote[0] = skops->remote_ip4;
	}
	nw_key_from_sock(&key, family, local, remote);
	key.proto = IPPROTO_TCP;
	key.orig.sport = (__u16)skops->local_port; /* host order */
	key.orig.dport = (__u16)bpf_ntohl(skops->remote_port); /* network order, high half */
	nw_record(&key, &val);
	return 1;
}

/*
 * The packet's tuple from its headers, as conntrack's ORIGINAL direction
 * has it (ports for the protocols that have them, nw_proto_has_ports();
 * none for ICMP, GRE...); 0 for a TCP segment (sock_ops recorded its
 * connection) or what cannot be read.
 */
static __always_inline int nw_skb_key(struct __sk_buff *skb, struct nw_join_key *key)
{
	__u16 ports[2];
	__u32 l4 = 0;

	if (skb->protocol == bpf_htons(NW_ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return 0;
		if (ip.frag_off & bpf_htons(0x1fff)) /* not the first fragment */
			return 0;
		key->family = NW_AF_INET;
		key->proto = ip.protocol;
		__builtin_memcpy(key->orig.src, &ip.saddr, 4);
		__builtin_memcpy(key->orig.dst, &ip.daddr, 4);
		l4 = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(NW_ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		/* Extension headers are not followed: their next header is
		 * taken for the protocol (conntrack follows them) */
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return 0;
		key->family = NW_AF_INET6;
		key->proto = ip6.nexthdr;
		__builtin_memcpy(key->orig.src, &ip6.saddr, 16);
		__builtin_memcpy(key->orig.dst, &ip6.daddr, 16);
		l4 = sizeof(ip6);
	} else {
		return 0;
	}
	if (key->proto == IPPROTO_TCP)
		return 0;
	if (!nw_proto_has_ports(key->proto))
		return 1;
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return 0;
	key->orig.sport = bpf_ntohs(ports[0]);
	key->orig.dport = bpf_ntohs(ports[1]);
	return 1;
}

SEC("cgroup_skb/egress")
int nw_egress(struct __sk_buff *skb)
{
	struct nw_join_val val = {};
	struct nw_join_val *rec, *t;
	struct nw_join_key key;
	struct bpf_sock *sk;
	__u64 cookie;

	sk = skb->sk;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol == IPPROTO_TCP)
		return 1; /* TCP: sock_ops recorded it at connect */
	__builtin_memset(&key, 0, sizeof(key));
	if (!nw_skb_key(skb, &key))
		return 1;
	cookie = bpf_get_socket_cookie(skb);
	rec = bpf_map_lookup_elem(&nw_join, &key);
	if (rec && rec->sock_cookie == cookie)
		return 1; /* the steady state: one lookup per datagram */
	t = bpf_sk_storage_get(&nw_sk_task, sk, 0, 0);
	if (t)
		val = *t;
	else
		val.cgroup_id = bpf_sk_cgroup_id(sk);
	val.sock_cookie = cookie;
	nw_record(&key, &val);
	return 1;
}
