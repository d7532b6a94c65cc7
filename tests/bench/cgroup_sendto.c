// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test peer for tests/e2e/cgroup_join.sh: one UDP datagram from an unbound,
 * unconnected socket with sendto() (the cgroup/sendmsg path, where the
 * source address is chosen only after the hook), then print the answer.
 *
 *   nw-sendto ADDR PORT [MESSAGE]
 */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_DGRAM };
	const char *msg = argc > 3 ? argv[3] : "hello\n";
	struct addrinfo *ai;
	struct pollfd pfd;
	char buf[256];
	ssize_t n;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: nw-sendto ADDR PORT [MESSAGE]\n");
		return 2;
	}
	if (getaddrinfo(argv[1], argv[2], &hints, &ai)) {
		fprintf(stderr, "nw-sendto: bad address %s %s\n", argv[1], argv[2]);
		return 2;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), 0, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("nw-sendto: sendto");
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
