// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nf_tables over netlink: the generation id, the tables (src/nft_nl.h). */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include "kindex.h"
#include "nft_nl.h"

#define NFT_NL_WAIT_MS 1000
#define NFT_NL_MSG 512 /* a request: headers and two names */

enum { NFT_NL_SEQ_GEN = 1, NFT_NL_SEQ_TABLES, NFT_NL_SEQ_CHAIN };

typedef int (*nft_nl_fn)(void *ctx, const struct nlmsghdr *nh);

/* The attributes of an nf_tables message, after its nfgenmsg. */
#define NFT_NL_FOR_ATTR(a, nh)                                                                   \
	for (const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(nh) +              \
						     NLMSG_ALIGN(sizeof(struct nfgenmsg)));      \
	     (const char *)a + sizeof(*a) <= (const char *)(nh) + (nh)->nlmsg_len &&            \
	     a->nla_len >= sizeof(*a) &&                                                        \
	     (const char *)a + a->nla_len <= (const char *)(nh) + (nh)->nlmsg_len;              \
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))

/*
 * Send the request @req and hand each answer to @fn(@ctx): until
 * NLMSG_DONE for a dump (read to its end after an error of @fn, so that
 * nothing of it is left for the next request), else the one answer.  0,
 * the request's error, @fn's first, or -errno.  Answers to other requests
 * (a late one) are skipped by their sequence number.
 */
static int nft_nl_talk(int fd, const struct nlmsghdr *req, nft_nl_fn fn, void *ctx)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	int failed = 0;

	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t got;
		int len;

		if (poll(&pfd, 1, NFT_NL_WAIT_MS) != 1)
			return -ETIMEDOUT;
		got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		len = (int)got;
		for (const struct nlmsghdr *nh = (const void *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			int err;

			if (nh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return failed;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				return nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error : -EIO;
			}
			if (failed)
				continue;
			err = fn(ctx, nh);
			if (!dump)
				return err;
			failed = err;
		}
	}
}

/* A request for @type with @flags to @family, its attributes to add. */
static struct nlmsghdr *nft_nl_req(char *buf, uint16_t type, uint16_t flags, uint8_t family,
				   uint32_t seq)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct nfgenmsg *g = NLMSG_DATA(nh);

	memset(buf, 0, NFT_NL_MSG);
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	nh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	nh->nlmsg_seq = seq;
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	return nh;
}

/* A string attribute at the end of @nh; -E2BIG when it does not fit. */
static int nft_nl_put_str(struct nlmsghdr *nh, uint16_t type, const char *s)
{
	size_t n = strlen(s) + 1;
	struct nlattr *a = (struct nlattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + n) > NFT_NL_MSG)
		return -E2BIG;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	memcpy((char *)a + NLA_HDRLEN, s, n);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return 0;
}

static int nft_nl_gen(void *ctx, const struct nlmsghdr *nh)
{
	NFT_NL_FOR_ATTR(a, nh)
	{
		if ((a->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a->nla_len >= NLA_HDRLEN + 4) {
			uint32_t be;

			memcpy(&be, (const char *)a + NLA_HDRLEN, 4);
			*(uint32_t *)ctx = ntohl(be);
			return 0;
		}
	}
	return -EIO;
}

int nft_nl__genid(int fd, uint32_t *gen)
{
	char buf[NFT_NL_MSG] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh = nft_nl_req(buf, NFT_MSG_GETGEN, 0, AF_UNSPEC, NFT_NL_SEQ_GEN);

	return nft_nl_talk(fd, nh, nft_nl_gen, gen) ? -EIO : 0;
}

struct nft_nl_tables {
	struct nft_nl_table *v;
	int max, n;
};

static int nft_nl_table(void *ctx, const struct nlmsghdr *nh)
{
	const struct nfgenmsg *g = NLMSG_DATA(nh);
	struct nft_nl_tables *l = ctx;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*g)))
		return -EIO;
	NFT_NL_FOR_ATTR(a, nh)
	{
		size_t n = a->nla_len - NLA_HDRLEN;

		if ((a->nla_type & NLA_TYPE_MASK) != NFTA_TABLE_NAME)
			continue;
		if (!n || n > NFT_NL_NAME_MAX || ((const char *)a)[NLA_HDRLEN + n - 1])
			return -EIO; /* not a NUL-terminated name */
		if (l->n == l->max)
			return -E2BIG;
		l->v[l->n].family = g->nfgen_family;
		memcpy(l->v[l->n].name, (const char *)a + NLA_HDRLEN, n);
		l->n++;
		return 0;
	}
	return -EIO;
}

int nft_nl__tables(int fd, struct nft_nl_table *out, int max, int *n)
{
	char buf[NFT_NL_MSG] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh = nft_nl_req(buf, NFT_MSG_GETTABLE, NLM_F_DUMP, AF_UNSPEC,
					 NFT_NL_SEQ_TABLES);
	struct nft_nl_tables l = { out, max, 0 };
	int err = nft_nl_talk(fd, nh, nft_nl_table, &l);

	*n = l.n;
	return err;
}

static int nft_nl_found(void *ctx, const struct nlmsghdr *nh)
{
	(void)nh;
	*(bool *)ctx = true;
	return 0;
}

bool nft_nl__is_iptables(int fd, const struct nft_nl_table *t)
{
	if ((t->family != NFPROTO_IPV4 && t->family != NFPROTO_IPV6) || !kipt__table_name(t->name))
		return false;
	for (size_t i = 0; kipt_chains[i]; i++) {
		char buf[NFT_NL_MSG] __attribute__((aligned(NLMSG_ALIGNTO)));
		struct nlmsghdr *nh = nft_nl_req(buf, NFT_MSG_GETCHAIN, 0, t->family,
						 NFT_NL_SEQ_CHAIN);
		bool found = false;

		if (nft_nl_put_str(nh, NFTA_CHAIN_TABLE, t->name) ||
		    nft_nl_put_str(nh, NFTA_CHAIN_NAME, kipt_chains[i]))
			return false;
		if (!nft_nl_talk(fd, nh, nft_nl_found, &found) && found)
			return true;
	}
	return false;
}
