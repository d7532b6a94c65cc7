// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "capture.h"
#include "conn.h"
#include "log.h"
#include "opts.h"
#include "parse.h"

enum {
	OPT_PID = 0x100,
	OPT_BACKEND,
	OPT_NETNS,
	OPT_RINGBUF,
	OPT_UTC,
	OPT_CGROUP,
	OPT_POD,
	OPT_POD_UID,
	OPT_K8S,
	OPT_KUBECONFIG,
	OPT_REFRESH,
	OPT_NO_RULES,
	OPT_MISMATCH_ONLY,
	OPT_SERVICE,
	OPT_CHILDREN,
	OPT_NO_CHILDREN,
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "addr", required_argument, NULL, 'a' },
	{ "proto", required_argument, NULL, 'P' },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "output", required_argument, NULL, 'o' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "utc", no_argument, NULL, OPT_UTC },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "pod", required_argument, NULL, OPT_POD },
	{ "pod-uid", required_argument, NULL, OPT_POD_UID },
	{ "k8s", required_argument, NULL, OPT_K8S },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "refresh", required_argument, NULL, OPT_REFRESH },
	{ "no-rules", no_argument, NULL, OPT_NO_RULES },
	{ "mismatch-only", no_argument, NULL, OPT_MISMATCH_ONLY },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "write", required_argument, NULL, 'w' },
	{ "read", required_argument, NULL, 'r' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "children", no_argument, NULL, OPT_CHILDREN },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

void opts__usage(FILE *f)
{
	fputs("Usage: natwho [OPTIONS]\n"
	      "       natwho [OPTIONS] -- CMD [ARGS...]\n"
	      "       natwho -r FILE [FILTERS] [OUTPUT OPTIONS]\n"
	      "       natwho audit [--k8s FILE|-|kubectl] [--kubeconfig PATH] [--netns NS]\n"
	      "                    [-o json] [-v]\n"
	      "Show, for every new connection, where it was meant to go and where\n"
	      "conntrack/NAT actually sent it.\n"
	      "\n"
	      "Filters (applied in the kernel):\n"
	      "  -p, --port N[,M...]     original OR translated destination port (up to 16)\n"
	      "  -a, --addr A[/LEN][,B]  an address of either end, before or after NAT, is\n"
	      "                          one of these or in one of these prefixes (up to 16)\n"
	      "  -P, --proto PROTO       tcp, udp, sctp, ... or a protocol number\n"
	      "  -4, --ipv4              IPv4 only\n"
	      "  -6, --ipv6              IPv6 only\n"
	      "      --pid PID           connections opened by this process (local sockets only)\n"
	      "      --cgroup PATH       connections opened by a process of this cgroup v2\n"
	      "                          directory, named with that process even when the NAT\n"
	      "                          happens in another namespace (repeatable, up to 16)\n"
	      "      --pod NS/NAME       the same for a pod's cgroup on this node, found\n"
	      "                          by the pod's UID in the --k8s snapshot (repeatable)\n"
	      "      --pod-uid UID       the same for the pod with this metadata.uid (a static\n"
	      "                          pod: its kubernetes.io/config.mirror hash)\n"
	      "                          (repeatable)\n"
	      "\n"
	      "Capture:\n"
	      "      --backend NAME      auto (default: the first that works of fentry,\n"
	      "                          kprobe, netfilter), fentry, kprobe or netfilter\n"
	      "      --netns NS          only this network namespace: a path such as\n"
	      "                          /var/run/netns/x or /proc/PID/ns/net, or its inode\n"
	      "                          (default: fentry/kprobe every namespace, netfilter\n"
	      "                          natwho's own)\n"
	      "      --ringbuf-size SIZE ring buffer bytes, a power of two, 4K-1G (default 8M)\n"
	      "  -c, --count N           stop after N connections\n"
	      "  -d, --duration TIME     stop after TIME (10, 1.5, 500ms, 2m, 1h)\n"
	      "\n"
	      "Kubernetes knowledge (names, the rule that did it, a verdict per connection):\n"
	      "      --k8s SOURCE        a snapshot file from `kubectl get pods,services,\n"
	      "                          endpointslices -A -o json` (- for stdin; up to 8;\n"
	      "                          endpoints before Kubernetes 1.17), or kubectl:\n"
	      "                          run it now and every --refresh seconds\n"
	      "      --kubeconfig PATH   passed to kubectl (with --k8s kubectl)\n"
	      "      --refresh SECONDS   kubectl re-read interval (default 30, 0: never,\n"
	      "                          at most 86400)\n"
	      "      --no-rules          do not read the traced namespace's NAT ruleset\n"
	      "                          (iptables-save, ip6tables-save, nft, ipset,\n"
	      "                          /proc/net/ip_vs)\n"
	      "      --service NS/NAME   print only connections meant for this Service (its\n"
	      "                          ClusterIP, NodePort, external or load-balancer IP),\n"
	      "                          as the snapshot or kube-proxy's rules name it,\n"
	      "                          wherever they landed (repeatable, up to 16)\n"
	      "      --mismatch-only     print only connections whose verdict is MISMATCH\n"
	      "                          (not an endpoint of the Service they were meant for,\n"
	      "                          or a hostPort rule that took them astray)\n"
	      "\n"
	      "Record, replay, trace one command:\n"
	      "  -w, --write FILE        also record every event (and the knowledge loaded)\n"
	      "                          to a capture file; - writes it to stdout and the\n"
	      "                          live output to stderr\n"
	      "  -r, --read FILE         replay a capture file (- for stdin) as it was shown\n"
	      "                          live; needs neither root nor BPF; --port, --addr,\n"
	      "                          --proto, -4/-6, --pid, --netns INODE, --service,\n"
	      "                          --mismatch-only, -c, -q, --utc apply in\n"
	      "                          userspace; --k8s FILE adds a snapshot to the\n"
	      "                          knowledge recorded in the file\n"
	      "  -q, --quiet             no live records: the summary only\n"
	      "  -- CMD [ARGS...]        run CMD once attached, trace until it exits, then\n"
	      "                          print a verdict and exit with CMD's status\n"
	      "      --children          only connections of CMD and its descendants, and\n"
	      "                          those without a local process (default with CMD)\n"
	      "      --no-children       every connection the filters let through\n"
	      "\n"
	      "Output:\n"
	      "  -o, --output FORMAT     text (default) or json (one object per line)\n"
	      "      --utc               text timestamps in UTC instead of local time\n"
	      "  -v, --verbose           report losses live, backend choice; -vv: libbpf debug\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           print the version\n"
	      "\n"
	      "Examples:\n"
	      "  natwho --port 3306                   every new connection to port 3306\n"
	      "  natwho -o json -c 10 -P udp          ten new UDP flows, as JSON\n"
	      "  natwho --addr 10.224.0.222           every connection to or from one pod,\n"
	      "                                       also those NAT took there\n"
	      "  natwho --netns /var/run/netns/node1  trace another network namespace\n"
	      "  natwho --k8s kubectl --mismatch-only only connections that went astray\n"
	      "  natwho audit --k8s snap.json         hostPort/DNAT rules shadowing Services\n"
	      "  natwho -w repro.nwcap -- mysql -h 10.96.0.20   record one command's connections\n"
	      "  natwho -r repro.nwcap -o json        replay the capture anywhere\n"
	      "\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error, 3 missing privileges,\n"
	      "4 kernel lacks a needed feature, 5 malformed input file, 6 audit found\n"
	      "shadowing rules; with -- CMD, CMD's own (128+N if signal N killed it,\n"
	      "127/126 if it could not run; 128+N if signal N stopped natwho before\n"
	      "CMD started).\n"
	      "See natwho(8).\n",
	      f);
}

static int bad_value(const char *opt, const char *val, int err, const char *what)
{
	nw_err("invalid %s '%s': %s (%s)", opt, val,
	       err == -ERANGE ? "out of range" : err == -ENOENT ? "unknown" : "malformed", what);
	return NW_EXIT_USAGE;
}

static int parse_ringbuf(struct nw_opts *o, const char *arg)
{
	uint64_t v;
	int err = parse_size(arg, &v);

	if (!err && (v < 4096 || v > (1ULL << 30) || (v & (v - 1))))
		err = -ERANGE;
	if (err)
		return bad_value("--ringbuf-size", arg, err, "a power of two from 4K to 1G");
	o->ringbuf_size = (uint32_t)v;
	return 0;
}

static int parse_ports(struct nw_opts *o, const char *arg)
{
	size_t n = o->filter.nports;
	int err = parse_port_list(arg, o->filter.ports, NW_MAX_PORTS, &n);

	if (err == -E2BIG) {
		nw_err("too many ports: at most %d", NW_MAX_PORTS);
		return NW_EXIT_USAGE;
	}
	if (err)
		return bad_value("--port", arg, err, "ports 1-65535, comma-separated");
	o->filter.nports = (uint8_t)n;
	return 0;
}

/* --addr A[/LEN][,B...]: appended to filter.addrs, the same prefix once;
 * an error names the item. */
static int parse_addrs(struct nw_opts *o, const char *arg)
{
	size_t n = o->filter.naddrs;
	struct prefix_err e;
	char meant[PREFIX_STR_LEN];
	int err = parse_prefix_list(arg, o->filter.addrs, NW_MAX_ADDRS, &n, &e);

	o->filter.naddrs = (uint8_t)n;
	if (!err)
		return 0;
	if (err == -E2BIG)
		nw_err("too many addresses: at most %d", NW_MAX_ADDRS);
	else if (!e.len)
		nw_err("invalid --addr '%s': an empty item (IPv4 or IPv6 addresses or prefixes, "
		       "comma-separated)", arg);
	else if (err == -EDOM)
		nw_err("invalid --addr '%.*s': bits set past the prefix length (%s?)", (int)e.len,
		       arg + e.at, prefix_str(&e.meant, meant, sizeof(meant)));
	else
		nw_err("invalid --addr '%.*s': %s (IPv4 or IPv6 addresses or prefixes such as "
		       "10.96.0.0/12 or fd00::/8, comma-separated)", (int)e.len, arg + e.at,
		       err == -ERANGE ? "out of range" : "malformed");
	return NW_EXIT_USAGE;
}

static int parse_output(struct nw_opts *o, const char *arg)
{
	if (!strcmp(arg, "text"))
		o->output = OUT_TEXT;
	else if (!strcmp(arg, "json"))
		o->output = OUT_JSON;
	else
		return bad_value("--output", arg, -ENOENT, "text or json");
	return 0;
}

/* --netns PATH or --netns INODE (a number: the inode of the namespace). */
static int parse_netns(struct nw_opts *o, const char *arg)
{
	int err;

	if (arg[strspn(arg, "0123456789")] || !*arg) { /* not all digits: a path */
		o->netns_path = arg;
		return 0;
	}
	err = parse_u32(arg, 1, UINT32_MAX, &o->filter.netns);
	return err ? bad_value("--netns", arg, err, "a path or a namespace inode number") : 0;
}

/* --cgroup, --pod, --pod-uid: syntax here, resolution in cgroup__resolve(). */
static int parse_cgroup(struct nw_opts *o, enum nw_cgroup_kind kind, const char *opt,
			const char *arg)
{
	char ns[64], name[254];

	if (o->ncgroups >= NW_MAX_CGROUPS) {
		nw_err("too many --cgroup/--pod/--pod-uid: at most %d", NW_MAX_CGROUPS);
		return NW_EXIT_USAGE;
	}
	if (!*arg)
		return bad_value(opt, arg, -EINVAL, "empty");
	if (kind == NW_CGROUP_POD && cgroup__split_pod(arg, ns, sizeof(ns), name, sizeof(name)))
		return bad_value(opt, arg, -EINVAL, "NAMESPACE/NAME of a pod");
	if (kind == NW_CGROUP_POD_UID && !cgroup__uid_valid(arg))
		return bad_value(opt, arg, -EINVAL,
				 "a pod's metadata.uid, 8-4-4-4-12 hex digits, or a static pod's "
				 "32 hex digits");
	o->cgroups[o->ncgroups].kind = kind;
	o->cgroups[o->ncgroups++].value = arg;
	return 0;
}

/* --service NS/NAME; repeatable. */
static int parse_service(struct nw_opts *o, const char *arg)
{
	char ns[64], name[254];

	/* a Service's name is a DNS label (RFC 1035): no dots, 63 at most */
	if (cgroup__split_pod(arg, ns, sizeof(ns), name, sizeof(name)) || strchr(name, '.') ||
	    strlen(name) > 63 || !(name[0] >= 'a' && name[0] <= 'z'))
		return bad_value("--service", arg, -EINVAL, "NAMESPACE/NAME of a Service");
	for (int i = 0; i < o->nservices; i++)
		if (!strcmp(o->services[i], arg))
			return 0;
	if (o->nservices >= NW_MAX_SERVICES) {
		nw_err("too many --service: at most %d", NW_MAX_SERVICES);
		return NW_EXIT_USAGE;
	}
	o->services[o->nservices++] = arg;
	return 0;
}

/* --k8s FILE, --k8s - (stdin) or --k8s kubectl; repeatable. */
static int parse_k8s(struct nw_opts *o, const char *arg)
{
	if (!*arg)
		return bad_value("--k8s", arg, -EINVAL, "a file, - or kubectl");
	if (!strcmp(arg, "kubectl")) {
		o->k8s_kubectl = true;
		return 0;
	}
	if (o->nk8s_files >= NW_MAX_K8S_FILES) {
		nw_err("too many --k8s files: at most %d", NW_MAX_K8S_FILES);
		return NW_EXIT_USAGE;
	}
	o->k8s_files[o->nk8s_files++] = arg;
	return 0;
}

static int parse_family(struct nw_opts *o, int family)
{
	if (o->filter.family && o->filter.family != family) {
		nw_err("-4 and -6 exclude each other: omit both to trace IPv4 and IPv6");
		return NW_EXIT_USAGE;
	}
	o->filter.family = family;
	return 0;
}

static int parse_one(struct nw_opts *o, int c, const char *arg)
{
	int err;

	switch (c) {
	case 'p': return parse_ports(o, arg);
	case 'a': return parse_addrs(o, arg);
	case 'P':
		err = parse_proto(arg, &o->filter.proto);
		return err ? bad_value("--proto", arg, err,
				       "tcp, udp, sctp, udplite, dccp, icmp, icmpv6, gre or 1-255") : 0;
	case '4': return parse_family(o, AF_INET);
	case '6': return parse_family(o, AF_INET6);
	case OPT_PID:
		/* below PID_MAX_LIMIT (4M), the most kernel.pid_max allows on 64 bits */
		err = parse_u32(arg, 1, 4194303, &o->filter.tgid);
		return err ? bad_value("--pid", arg, err, "a process id (1-4194303)") : 0;
	case 'o': return parse_output(o, arg);
	case 'c':
		err = parse_u64(arg, 1, UINT64_MAX, &o->count);
		return err ? bad_value("--count", arg, err, "a positive number") : 0;
	case 'd':
		err = parse_duration_ns(arg, &o->duration_ns);
		if (!err && !o->duration_ns)
			err = -ERANGE;
		return err ? bad_value("--duration", arg, err, "e.g. 10, 1.5, 500ms, 2m") : 0;
	case OPT_BACKEND:
		if (!capture__backend_known(arg))
			return bad_value("--backend", arg, -ENOENT,
					 "auto, fentry, kprobe or netfilter");
		o->backend = arg;
		return 0;
	case OPT_NETNS: return parse_netns(o, arg);
	case OPT_RINGBUF: return parse_ringbuf(o, arg);
	case OPT_UTC: o->utc = true; return 0;
	case OPT_CGROUP: return parse_cgroup(o, NW_CGROUP_PATH, "--cgroup", arg);
	case OPT_POD: return parse_cgroup(o, NW_CGROUP_POD, "--pod", arg);
	case OPT_POD_UID: return parse_cgroup(o, NW_CGROUP_POD_UID, "--pod-uid", arg);
	case OPT_K8S: return parse_k8s(o, arg);
	case OPT_KUBECONFIG: o->kubeconfig = arg; return 0;
	case OPT_REFRESH:
		o->refresh_given = true;
		err = parse_u32(arg, 0, 86400, &o->refresh_s);
		return err ? bad_value("--refresh", arg, err, "seconds, 0-86400; 0: never") : 0;
	case OPT_NO_RULES: o->no_rules = true; return 0;
	case OPT_MISMATCH_ONLY: o->mismatch_only = true; return 0;
	case OPT_SERVICE: return parse_service(o, arg);
	case 'w': o->write_path = arg; return 0;
	case 'r': o->read_path = arg; return 0;
	case 'q': o->quiet = true; return 0;
	case OPT_CHILDREN: o->no_children = false; return 0;
	case OPT_NO_CHILDREN: o->no_children = true; return 0;
	case 'v': o->verbose++; return 0;
	case 'h': o->help = true; return 0;
	case 'V': o->version = true; return 0;
	default:
		return NW_EXIT_USAGE; /* reported by opts__parse() */
	}
}

/*
 * Options that take one value: given twice, the last would silently win
 * (-r a -r b replays only b; --pid 1 --pid 2 is not "either").  Their slot
 * in a bit mask, or -1 for options that may repeat.  --children and
 * --no-children share one.
 */
static int once_slot(int c)
{
	static const int once[] = { 'P', OPT_PID, 'o', 'c', 'd', OPT_BACKEND, OPT_NETNS,
				    OPT_RINGBUF, OPT_KUBECONFIG, OPT_REFRESH, 'w', 'r',
				    OPT_CHILDREN };

	if (c == OPT_NO_CHILDREN)
		c = OPT_CHILDREN;
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (once[i] == c)
			return (int)i;
	return -1;
}

/* The long name of option @c (every option has one). */
static const char *long_name(int c)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

/* The options -r refuses: they steer live tracing only. */
static bool live_only(int c)
{
	switch (c) {
	case 'w':
	case 'd':
	case OPT_BACKEND:
	case OPT_RINGBUF:
	case OPT_CGROUP:
	case OPT_POD:
	case OPT_POD_UID:
	case OPT_CHILDREN:
	case OPT_NO_CHILDREN:
	case OPT_NO_RULES: /* -r reads rules from the file only */
	case OPT_KUBECONFIG:
	case OPT_REFRESH:
		return true;
	default:
		return false;
	}
}

/* What `natwho audit` reads: the knowledge options and the output form. */
static bool audit_takes(int c)
{
	switch (c) {
	case OPT_K8S:
	case OPT_KUBECONFIG:
	case OPT_NETNS:
	case OPT_NO_RULES:
	case 'o':
	case 'v':
	case 'h':
	case 'V':
	case 'r': /* refused with the mode checks */
	case 'w':
		return true;
	default:
		return false;
	}
}

/* How many of -r and the --k8s files read standard input ("-"). */
static int stdin_readers(const struct nw_opts *o)
{
	int n = o->read_path && !strcmp(o->read_path, "-");

	for (int i = 0; i < o->nk8s_files; i++)
		n += !strcmp(o->k8s_files[i], "-");
	return n;
}

/* -r (replay), -w (record) and `-- CMD` against the rest. */
static int check_modes(const struct nw_opts *o, const char *live, bool children)
{
	/* live, with neither rules nor a snapshot: nothing names or judges */
	bool no_knowledge = o->no_rules && !o->nk8s_files && !o->k8s_kubectl && !o->read_path;

	if (stdin_readers(o) > 1)
		nw_err(o->read_path && !strcmp(o->read_path, "-") ?
			       "only one of -r and --k8s can read standard input ('-')" :
			       "--k8s - given twice: standard input can be read once");
	else if (o->read_path && live)
		nw_err("--%s applies to live tracing, not to -r (replaying a capture file)", live);
	else if (o->read_path && o->netns_path)
		nw_err("-r filters by --netns INODE (a number), not by path");
	else if (o->read_path && o->cmd)
		nw_err("-r replays a capture file and runs no command");
	else if (o->read_path && o->k8s_kubectl)
		nw_err("-r takes --k8s FILE, not --k8s kubectl (today's cluster is not the recording's)");
	else if (o->audit && (o->read_path || o->write_path || o->cmd))
		nw_err("natwho audit takes no -r, -w or command");
	else if (o->audit && o->no_rules)
		nw_err("natwho audit looks for rules in the node's NAT ruleset: --no-rules leaves "
		       "it nothing to look at");
	else if ((o->kubeconfig || o->refresh_given) && !o->k8s_kubectl && !o->read_path)
		nw_err("--%s applies to --k8s kubectl", o->kubeconfig ? "kubeconfig" : "refresh");
	else if (o->nservices && no_knowledge)
		nw_err("--service needs knowledge that names Services: --k8s, or the node's rules "
		       "(kube-proxy's comments name them; drop --no-rules)");
	else if (o->mismatch_only && no_knowledge)
		nw_err("--mismatch-only needs knowledge to judge connections by: --k8s, or the "
		       "node's rules (drop --no-rules)");
	else if (children && !o->cmd)
		nw_err("--children and --no-children apply to a command given after --");
	else if (o->filter.tgid && o->cmd && !o->no_children)
		nw_err("--pid names a process that runs already, which is not in the command's "
		       "tree: with -- CMD, add --no-children to trace --pid's connections while "
		       "CMD runs");
	else
		return 0;
	return NW_EXIT_USAGE;
}

/* The long options that @len bytes of @name abbreviate, into @buf ("--a,
 * --b"); how many. */
static int abbreviated(const char *name, size_t len, char *buf, size_t buflen)
{
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	for (const struct option *lo = long_opts; lo->name; lo++) {
		if (strncmp(lo->name, name, len))
			continue;
		if (used < buflen)
			used += (size_t)snprintf(buf + used, buflen - used, "%s--%s", n ? ", " : "",
						 lo->name);
		n++;
	}
	return n;
}

/*
 * getopt_long() failed with @c ('?' or ':'); @last is the element it
 * finished with ("-" when it is still inside a cluster like "-xq"): a long
 * option, or else a short one in optopt.  Name the option as given.
 */
static int bad_option(int c, const char *last)
{
	if (!strncmp(last, "--", 2) && last[2]) {
		int n = (int)strcspn(last, "=");
		char which[256];

		if (c == ':')
			nw_err("missing value for option '%.*s'; try 'natwho --help'", n, last);
		else if (optopt && last[n]) /* a known option that takes no value */
			nw_err("option '%.*s' takes no value; try 'natwho --help'", n, last);
		else if (abbreviated(last + 2, (size_t)n - 2, which, sizeof(which)) > 1)
			nw_err("ambiguous option '%.*s': %s?", n, last, which);
		else
			nw_err("unknown option '%.*s'; try 'natwho --help'", n, last);
	} else if (c == ':') {
		nw_err("missing value for option '-%c'; try 'natwho --help'", optopt);
	} else if (optopt > ' ' && optopt < 0x7f) {
		nw_err("unknown option '-%c'; try 'natwho --help'", optopt);
	} else {
		nw_err("unknown option; try 'natwho --help'");
	}
	return NW_EXIT_USAGE;
}

/* Where the options end: the first "--", whatever follows is CMD [ARGS]. */
static int opts_end(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return i;
	return argc;
}

int opts__parse(struct nw_opts *o, int argc, char **argv)
{
	int c, err, nopts = opts_end(argc, argv);
	const char *live = NULL;
	bool children = false;
	uint32_t seen = 0; /* once_slot() bits */

	memset(o, 0, sizeof(*o));
	o->backend = "auto";
	o->ringbuf_size = NW_DEFAULT_RINGBUF;
	o->refresh_s = NW_DEFAULT_REFRESH_S;
	if (argc > 1 && !strcmp(argv[1], "audit")) {
		o->audit = true;
		optind = 2;
	}
	opterr = 0;
	for (int before = optind;
	     (c = getopt_long(nopts, argv, ":p:a:P:46o:c:d:w:r:qvhV", long_opts, NULL)) != -1;
	     before = optind) {
		/* optind unmoved: getopt is inside a cluster ("-xq"), argv[optind - 1]
		 * is an earlier argument; a short option then */
		if (c == '?' || c == ':')
			return bad_option(c, optind == before ? "-" : argv[optind - 1]);
		if (o->audit && !audit_takes(c)) {
			nw_err("natwho audit traces nothing: --%s does not apply to it; "
			       "try 'natwho --help'", long_name(c));
			return NW_EXIT_USAGE;
		}
		if (once_slot(c) >= 0 && (seen & (1u << once_slot(c)))) {
			if (c == OPT_CHILDREN || c == OPT_NO_CHILDREN)
				nw_err("--children and --no-children: give one, once");
			else
				nw_err("--%s given twice: it takes one value; try 'natwho --help'",
				       long_name(c));
			return NW_EXIT_USAGE;
		}
		if (once_slot(c) >= 0)
			seen |= 1u << once_slot(c);
		err = parse_one(o, c, optarg);
		if (err)
			return err;
		if (!live && live_only(c))
			live = long_name(c);
		children |= c == OPT_CHILDREN || c == OPT_NO_CHILDREN;
	}
	if (optind < nopts) {
		if (!strcmp(argv[optind], "audit"))
			nw_err("'audit' comes first: natwho audit [OPTIONS]");
		else if (!access(argv[optind], F_OK))
			nw_err("unexpected argument '%s': to replay a capture file, -r %s; a "
			       "command to trace goes after --", argv[optind], argv[optind]);
		else
			nw_err("unexpected argument '%s' (a command to trace goes after --); "
			       "try 'natwho --help'", argv[optind]);
		return NW_EXIT_USAGE;
	}
	if (nopts < argc) {
		o->cmd = argv + nopts + 1;
		if (!o->cmd[0]) {
			nw_err("-- must be followed by a command to trace");
			return NW_EXIT_USAGE;
		}
	}
	/* ICMP's two protocols each belong to one family */
	if (o->filter.family &&
	    ((o->filter.proto == IPPROTO_ICMP && o->filter.family == AF_INET6) ||
	     (o->filter.proto == IPPROTO_ICMPV6 && o->filter.family == AF_INET))) {
		nw_err("--proto %s is IPv%c's, which %s excludes",
		       o->filter.proto == IPPROTO_ICMP ? "icmp" : "icmpv6",
		       o->filter.proto == IPPROTO_ICMP ? '4' : '6',
		       o->filter.family == AF_INET6 ? "-6" : "-4");
		return NW_EXIT_USAGE;
	}
	if (o->filter.nports && o->filter.proto && !conn__proto_has_ports(o->filter.proto)) {
		char num[8];

		nw_err("--proto %s has no ports for --port to match",
		       proto_str(o->filter.proto, num, sizeof(num)));
		return NW_EXIT_USAGE;
	}
	for (uint8_t i = 0; i < o->filter.naddrs; i++) {
		const struct nw_prefix *p = &o->filter.addrs[i];
		char a[PREFIX_STR_LEN];

		if (o->filter.family && p->family != o->filter.family) {
			bool host = p->len == (p->family == AF_INET6 ? 128 : 32);

			nw_err("--addr %s is an IPv%c %s, which %s excludes",
			       prefix_str(p, a, sizeof(a)), p->family == AF_INET6 ? '6' : '4',
			       host ? "address" : "prefix", o->filter.family == AF_INET6 ? "-6" : "-4");
			return NW_EXIT_USAGE;
		}
	}
	return check_modes(o, live, children);
}
