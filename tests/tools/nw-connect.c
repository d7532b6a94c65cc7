// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test peer for natwho's end-to-end tests and demo: a client that opens one
 * connection (TCP or UDP, IPv4 or IPv6) and prints what the server answered,
 * and a server that answers every connection with a banner.
 *
 *   nw-connect [-u] connect ADDR PORT [MESSAGE]
 *   nw-connect sendto ADDR PORT [MESSAGE]    UDP from an unbound, unconnected
 *                                            socket (the cgroup sendmsg path)
 *   nw-connect [-u] listen ADDR PORT BANNER
 *   nw-connect raw ADDR PORT SPORT           one UDP datagram from source port
 *                                            SPORT through a raw IPv4 socket:
 *                                            SOCK_RAW/IPPROTO_UDP (natwho must
 *                                            still name the process)
 *   nw-connect hdrincl ADDR PORT SPORT       the same with SOCK_RAW/IPPROTO_RAW,
 *                                            the IP header ours too
 *   nw-connect ping ADDR                     one ICMP (ICMPv6) echo request from
 *                                            a raw socket; prints "pong" when
 *                                            the reply comes within 2 s
 *
 * NW_CONNECT_DEV=IFNAME binds the client's socket to a device first
 * (SO_BINDTODEVICE: a VRF's, to route in its table); NW_CONNECT_SPORT=PORT
 * binds it to that local port (a tuple used again by another process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

static int resolve(const char *addr, const char *port, int udp, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM,
	};
	int err = getaddrinfo(addr, port, &hints, res);

	if (err)
		fprintf(stderr, "nw-connect: %s %s: %s\n", addr, port, gai_strerror(err));
	return err ? -1 : 0;
}

/* Bind @fd (of @family) to local @port, any address. */
static int bind_port(int fd, int family, int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;

	if (port <= 0 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return -1;
	return family == AF_INET6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) :
				    bind(fd, (struct sockaddr *)&a4, sizeof(a4));
}

/* connect() + send(), or with @unconnected one sendto() (UDP only). */
static int do_connect(int udp, bool unconnected, const char *addr, const char *port,
		      const char *msg)
{
	struct addrinfo *ai;
	char buf[256];
	struct pollfd pfd;
	ssize_t n;
	int fd;

	if (resolve(addr, port, udp, &ai))
		return 2;
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd >= 0 && getenv("NW_CONNECT_DEV") &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, getenv("NW_CONNECT_DEV"),
		       strlen(getenv("NW_CONNECT_DEV")))) {
		fprintf(stderr, "nw-connect: bind to %s: %s\n", getenv("NW_CONNECT_DEV"),
			strerror(errno));
		return 1;
	}
	if (fd >= 0 && getenv("NW_CONNECT_SPORT") && bind_port(fd, ai->ai_family,
							      atoi(getenv("NW_CONNECT_SPORT")))) {
		fprintf(stderr, "nw-connect: bind to port %s: %s\n", getenv("NW_CONNECT_SPORT"),
			strerror(errno));
		return 1;
	}
	if (fd < 0 || (!unconnected && connect(fd, ai->ai_addr, ai->ai_addrlen))) {
		fprintf(stderr, "nw-connect: connect %s %s: %s\n", addr, port, strerror(errno));
		return 1;
	}
	if ((unconnected ? sendto(fd, msg, strlen(msg), 0, ai->ai_addr, ai->ai_addrlen) :
			   send(fd, msg, strlen(msg), 0)) < 0) {
		fprintf(stderr, "nw-connect: send: %s\n", strerror(errno));
		return 1;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) == 1 && (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		printf("%s", buf);
	}
	close(fd);
	freeaddrinfo(ai);
	return 0;
}

static int serve(int fd, int udp, const char *banner)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		char buf[256];

		if (udp) {
			if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) >= 0)
				sendto(fd, banner, strlen(banner), 0, (struct sockaddr *)&peer, plen);
			continue;
		}
		int c = accept(fd, (struct sockaddr *)&peer, &plen);

		if (c < 0)
			continue;
		if (send(c, banner, strlen(banner), MSG_NOSIGNAL) < 0)
			perror("nw-connect: send");
		close(c);
	}
	return 0;
}

static int do_listen(int udp, const char *addr, const char *port, const char *banner)
{
	struct addrinfo *ai;
	int one = 1, fd;

	if (resolve(addr, port, udp, &ai))
		return 2;
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || (!udp && listen(fd, 128))) {
		fprintf(stderr, "nw-connect: listen %s %s: %s\n", addr, port, strerror(errno));
		return 1;
	}
	freeaddrinfo(ai);
	return serve(fd, udp, banner);
}

/*
 * One UDP datagram to @addr:@port from source port @sport over a raw IPv4
 * socket, with our own IP header too when @hdrincl (its source address left
 * 0 and its id and checksum to the kernel).  No reply is awaited.
 */
static int do_raw(bool hdrincl, const char *addr, const char *port, const char *sport)
{
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char data[8];
	} pkt = { .data = "natwho\n" };
	struct sockaddr_in to = { .sin_family = AF_INET };
	size_t off = hdrincl ? 0 : sizeof(pkt.ip);
	int fd, p = atoi(port), sp = atoi(sport);

	if (inet_pton(AF_INET, addr, &to.sin_addr) != 1 || p <= 0 || p > 65535 || sp <= 0 ||
	    sp > 65535) {
		fprintf(stderr, "nw-connect: raw: bad address or port\n");
		return 2;
	}
	pkt.udp.source = htons(sp);
	pkt.udp.dest = htons(p);
	pkt.udp.len = htons(sizeof(pkt.udp) + sizeof(pkt.data));
	pkt.udp.check = 0; /* none: allowed for UDP over IPv4 */
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.daddr = to.sin_addr.s_addr;
	fd = socket(AF_INET, SOCK_RAW, hdrincl ? IPPROTO_RAW : IPPROTO_UDP);
	if (fd < 0 || sendto(fd, (char *)&pkt + off, sizeof(pkt) - off, 0, (struct sockaddr *)&to,
			     sizeof(to)) < 0) {
		fprintf(stderr, "nw-connect: raw send to %s:%s: %s\n", addr, port, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

/* The Internet checksum of @len bytes at @p (ICMPv4's). */
static uint16_t inet_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* One echo request to @addr (IPv4 or IPv6) and its reply. */
static int do_ping(const char *addr)
{
	struct sockaddr_storage to = { 0 };
	struct {
		uint8_t type, code;
		uint16_t csum, id, seq;
		char data[8];
	} req = { .id = htons(0x6e77), .seq = htons(1), .data = "natwho\n" };
	bool v6 = strchr(addr, ':');
	socklen_t tolen = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct pollfd pfd = { .events = POLLIN };
	char buf[512];

	to.ss_family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(to.ss_family, addr,
		      v6 ? (void *)&((struct sockaddr_in6 *)&to)->sin6_addr :
			   (void *)&((struct sockaddr_in *)&to)->sin_addr) != 1) {
		fprintf(stderr, "nw-connect: ping: bad address %s\n", addr);
		return 2;
	}
	req.type = v6 ? 128 : 8; /* echo request; the kernel sums ICMPv6 */
	if (!v6)
		req.csum = inet_csum(&req, sizeof(req));
	pfd.fd = socket(to.ss_family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (pfd.fd < 0 || sendto(pfd.fd, &req, sizeof(req), 0, (struct sockaddr *)&to, tolen) < 0) {
		fprintf(stderr, "nw-connect: ping %s: %s\n", addr, strerror(errno));
		return 1;
	}
	/* a raw socket sees every ICMP message: wait for an echo reply */
	while (poll(&pfd, 1, 2000) == 1) {
		ssize_t n = recv(pfd.fd, buf, sizeof(buf), 0);
		size_t off = v6 ? 0 : (n > 0 ? (size_t)(buf[0] & 0xf) * 4 : 0);

		if (n > 0 && (size_t)n > off && (uint8_t)buf[off] == (v6 ? 129 : 0)) {
			printf("pong\n");
			close(pfd.fd);
			return 0;
		}
	}
	fprintf(stderr, "nw-connect: ping %s: no reply\n", addr);
	close(pfd.fd);
	return 1;
}

int main(int argc, char **argv)
{
	int udp = argc > 1 && !strcmp(argv[1], "-u");

	argv += udp;
	argc -= udp;
	if (argc >= 4 && !strcmp(argv[1], "connect"))
		return do_connect(udp, false, argv[2], argv[3], argc > 4 ? argv[4] : "hello\n");
	if (argc >= 4 && !strcmp(argv[1], "sendto"))
		return do_connect(1, true, argv[2], argv[3], argc > 4 ? argv[4] : "hello\n");
	if (argc == 5 && !strcmp(argv[1], "listen"))
		return do_listen(udp, argv[2], argv[3], argv[4]);
	if (argc == 5 && (!strcmp(argv[1], "raw") || !strcmp(argv[1], "hdrincl")))
		return do_raw(!strcmp(argv[1], "hdrincl"), argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "ping"))
		return do_ping(argv[2]);
	fprintf(stderr, "usage: nw-connect [-u] connect ADDR PORT [MESSAGE]\n"
			"       nw-connect sendto ADDR PORT [MESSAGE]\n"
			"       nw-connect [-u] listen ADDR PORT BANNER\n"
			"       nw-connect raw|hdrincl ADDR PORT SPORT\n"
			"       nw-connect ping ADDR\n");
	return 2;
}
