// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "out.h"

/* Set once by main() before anything is printed. */
static struct {
	FILE *json; /* JSON records into the output, else lines on stderr */
	int verbose;
} log_cfg;

void log__setup(FILE *json, int verbose)
{
	log_cfg.json = json;
	log_cfg.verbose = verbose;
}

int log__verbosity(void)
{
	return log_cfg.verbose;
}

static void vreport(const char *level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(unprintable message: %s)", fmt);
	/* one line, exactly one newline */
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (log_cfg.json && !ferror(log_cfg.json)) { /* else the output is what failed */
		fprintf(log_cfg.json, "{\"type\":\"%s\",\"%s\":", level, level);
		out__json_string(log_cfg.json, msg);
		fputs("}\n", log_cfg.json);
		fflush(log_cfg.json);
		return;
	}
	/* A message may quote input (a snapshot's kind, an argument): a newline
	 * or an escape sequence in it must not forge a line or drive the
	 * terminal.  JSON escapes them instead. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	fprintf(stderr, "%s: %s\n", level[0] == 'e' ? "Error" : "Warning", msg);
}

void nw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
}

void nw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning", fmt, ap);
	va_end(ap);
}

void nw_warn_untracked(uint32_t netns, uint32_t family, uint64_t syns)
{
	const char *fam = family ? "IPv6" : "IPv4";

	nw_warn("network namespace %u: %llu %s TCP SYN%s passed with no conntrack entry and no "
		"%s connection was tracked: conntrack does not track %s there (it starts once a "
		"NAT or conntrack rule needs it) or judged %s invalid; natwho shows only "
		"connections it tracks",
		netns, (unsigned long long)syns, fam, syns == 1 ? "" : "s", fam, fam,
		syns == 1 ? "it" : "them");
}

static const char *plural(uint64_t n, const char *one, const char *more)
{
	return n == 1 ? one : more;
}

void nw_warn_conntrack(uint32_t netns, const struct ct_said *said)
{
	const uint64_t *rise = said->rise;
	char msg[768] = "", lim[96] = "", both[96] = "";
	size_t n = 0;

	if (said->max)
		snprintf(lim, sizeof(lim), "; %llu entries now, net.netfilter.nf_conntrack_max %llu",
			 (unsigned long long)said->entries, (unsigned long long)said->max);
	/* A clash's dropped packet counts in both (nf_ct_resolve_clash());
	 * other failed insertions, and every one before Linux 5.10, in
	 * insert_failed alone: how many drops are insertions is not known. */
	if (rise[CT_INSERT_FAILED])
		snprintf(both, sizeof(both), ", but for up to %llu of them: the failed insertions below",
			 (unsigned long long)(rise[CT_INSERT_FAILED] < rise[CT_DROP] ?
						      rise[CT_INSERT_FAILED] :
						      rise[CT_DROP]));
	if (rise[CT_DROP])
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				      "dropped %llu packet%s it could not track (table full, out of "
				      "memory, or refused by its protocol's tracker%s): natwho cannot "
				      "show the connections they would have opened%s",
				      (unsigned long long)rise[CT_DROP], plural(rise[CT_DROP], "", "s"),
				      lim, both);
	if (rise[CT_EARLY_DROP] && n < sizeof(msg))
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				      "%sevicted %llu entr%s to make room in a full table (connections "
				      "not yet assured, cut)",
				      n ? "; " : "", (unsigned long long)rise[CT_EARLY_DROP],
				      plural(rise[CT_EARLY_DROP], "y", "ies"));
	if (rise[CT_INSERT_FAILED] && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n,
			 "%sfailed to insert %llu new entr%s at confirmation (clashing flows, as "
			 "parallel DNS queries over one socket: their packets dropped)",
			 n ? "; " : "", (unsigned long long)rise[CT_INSERT_FAILED],
			 plural(rise[CT_INSERT_FAILED], "y", "ies"));
	nw_warn("network namespace %u: since natwho started, conntrack %s", netns, msg);
}

void nw_dbg(int level, const char *fmt, ...)
{
	va_list ap;

	if (log_cfg.verbose < level)
		return;
	va_start(ap, fmt);
	fputs("natwho: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

const char *nw_bpf_refusal(int err, const char *progs, char *buf, size_t len)
{
	if (err != -EPERM && err != -EACCES)
		return NULL;
	if (geteuid() != 0)
		return "permission denied: run as root (needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)";
	snprintf(buf, len, "the kernel refused natwho's %s programs: %s (-vv shows %s)", progs,
		 strerror(-err), err == -EACCES ? "the verifier's log" : "libbpf's log");
	return buf;
}
