/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What natwho asks nf_tables over netlink (NETLINK_NETFILTER socket, opened
 * in the traced network namespace): the generation id, which moves on every
 * ruleset change, and which tables there are, so that `nft` is asked only
 * for the tables natwho reads.  A big node's iptables-nft tables (kube-proxy
 * in iptables mode: 100k rules) cost `nft -j list ruleset` seconds and
 * hundreds of MB, natwho as much again to parse them, only to skip them:
 * their rules are read with iptables-save.
 */
#ifndef NATWHO_NFT_NL_H
#define NATWHO_NFT_NL_H

#include <stdbool.h>
#include <stdint.h>

#define NFT_NL_NAME_MAX 256 /* NFT_NAME_MAXLEN */

struct nft_nl_table {
	uint8_t family; /* NFPROTO_* */
	char name[NFT_NL_NAME_MAX];
};

/* The generation id; 0 or -errno. */
int nft_nl__genid(int fd, uint32_t *gen);
/*
 * Up to @max tables of every family into @out, how many in *@n; 0, -E2BIG
 * when there are more, or -errno.
 */
int nft_nl__tables(int fd, struct nft_nl_table *out, int max, int *n);
/*
 * Is @t iptables-nft's (or ip6tables-nft's)?  An ip or ip6 table named as
 * one of iptables' (nat, filter, mangle, raw, security) that holds one of
 * their base chains by its upper-case name (iptables-nft creates those it
 * uses).  A lookup error answers false: the table is then read.
 */
bool nft_nl__is_iptables(int fd, const struct nft_nl_table *t);

#endif /* NATWHO_NFT_NL_H */
