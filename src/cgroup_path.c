// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --cgroup / --pod / --pod-uid -> cgroup v2 directories.  No BPF: reads
 * /proc/self/mountinfo and walks directories only.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "cgroup.h"
#include "log.h"

#define POD_WALK_DEPTH 5 /* root/kubelet.slice/kubelet-kubepods.slice/...-besteffort.slice/pod */
#define POD_WALK_MAX_DIRS 50000

static const char *const pod_layouts[] = {
	/* cgroupfs driver: Guaranteed, Burstable, BestEffort */
	"kubepods/pod%s",
	"kubepods/burstable/pod%s",
	"kubepods/besteffort/pod%s",
	/* systemd driver, UID with '_' for '-' */
	"kubepods.slice/kubepods-pod%s.slice",
	"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice",
	"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice",
};
#define NLAYOUTS_CGROUPFS 3
#define NLAYOUTS (sizeof(pod_layouts) / sizeof(pod_layouts[0]))

int cgroup__check_dir(const char *path, char *why, size_t why_len)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st) || statfs(path, &sfs)) {
		int err = -errno;

		snprintf(why, why_len, "cannot use '%s' as a cgroup: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, why_len, "'%s' is not a directory, so not a cgroup v2 directory",
			 path);
		return -ENOTDIR;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(why, why_len, "'%s' is not a cgroup v2 directory (%s)", path,
			 sfs.f_type == CGROUP_SUPER_MAGIC ? "it is in a cgroup v1 hierarchy" :
							    "not on a cgroup2 file system");
		return -EMEDIUMTYPE;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* "36 25 0:30 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw" */
static bool mountinfo_cgroup2(char *line, char *mnt, size_t mnt_len)
{
	char *sep = strstr(line, " - ");
	char point[PATH_MAX], fstype[64];

	if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
		return false;
	if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
		return false;
	unescape_octal(point);
	return snprintf(mnt, mnt_len, "%s", point) < (int)mnt_len;
}

int cgroup__mounts(const char *mountinfo, char roots[][PATH_MAX], int max)
{
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && getline(&line, &cap, f) > 0) {
		if (mountinfo_cgroup2(line, roots[n], PATH_MAX))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

/*
 * A pod's UID as the kubelet names its cgroup: metadata.uid (8-4-4-4-12 hex),
 * or for a static pod (kube-apiserver, etcd...) the 32 hex digits of its
 * config hash (the API's mirror pod has another UID; its
 * kubernetes.io/config.mirror annotation holds the hash).
 */
bool cgroup__uid_valid(const char *uid)
{
	size_t len = strlen(uid);

	if (len == NW_POD_STATIC_UID_LEN) {
		for (size_t i = 0; i < len; i++)
			if (!isxdigit((unsigned char)uid[i]))
				return false;
		return true;
	}
	for (int i = 0; i < NW_POD_UID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? uid[i] != '-' : !isxdigit((unsigned char)uid[i]))
			return false;
	}
	return uid[NW_POD_UID_LEN] == '\0';
}

/* DNS-1123: lower-case alphanumerics, '-' (and '.' in a subdomain). */
static bool dns_name(const char *s, size_t len, size_t max, bool dots)
{
	if (!len || len > max || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      (dots && s[i] == '.')))
			return false;
	return true;
}

int cgroup__split_pod(const char *arg, char *ns, size_t ns_len, char *name, size_t name_len)
{
	const char *slash = strchr(arg, '/');
	size_t nlen;

	if (!slash)
		return -EINVAL;
	nlen = (size_t)(slash - arg);
	if (!dns_name(arg, nlen, 63, false) || !dns_name(slash + 1, strlen(slash + 1), 253, true))
		return -EINVAL;
	if (nlen >= ns_len || strlen(slash + 1) >= name_len)
		return -ENAMETOOLONG;
	memcpy(ns, arg, nlen);
	ns[nlen] = '\0';
	strcpy(name, slash + 1);
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* "pod<uid>" (cgroupfs) or "...-pod<uid_>.slice" (systemd). */
static bool pod_dir_name(const char *name, const char *uid, const char *uid_)
{
	size_t len = strlen(name), ulen = strlen(uid_), slice = ulen + sizeof("-pod.slice") - 1;

	if (!strncmp(name, "pod", 3) && !strcmp(name + 3, uid))
		return true;
	if (len < slice)
		return false;
	name += len - slice;
	return !strncmp(name, "-pod", 4) && !strncmp(name + 4, uid_, ulen) &&
	       !strcmp(name + 4 + ulen, ".slice");
}

struct pod_walk {
	const char *uid, *uid_;
	char *dir;
	size_t dir_len;
	int visited;
};

/* Depth-first, bounded in depth and in directories visited; no symlinks. */
static bool pod_walk(struct pod_walk *w, const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool found = false;
	char sub[PATH_MAX];

	if (!d)
		return false;
	while (!found && (de = readdir(d)) && w->visited < POD_WALK_MAX_DIRS) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
			continue;
		if (de->d_type == DT_UNKNOWN && !is_dir(sub))
			continue;
		w->visited++;
		if (pod_dir_name(de->d_name, w->uid, w->uid_))
			found = snprintf(w->dir, w->dir_len, "%s", sub) < (int)w->dir_len;
		else if (depth > 1)
			found = pod_walk(w, sub, depth - 1);
	}
	closedir(d);
	return found;
}

int cgroup__find_pod(char roots[][PATH_MAX], int nroots, const char *uid, char *dir,
		     size_t dir_len)
{
	char uid_[NW_POD_UID_LEN + 1], rel[PATH_MAX];
	struct pod_walk w = { .uid = uid, .uid_ = uid_, .dir = dir, .dir_len = dir_len };

	snprintf(uid_, sizeof(uid_), "%s", uid);
	for (char *p = uid_; *p; p++)
		if (*p == '-')
			*p = '_';
	for (int r = 0; r < nroots; r++) {
		for (size_t i = 0; i < NLAYOUTS; i++) {
			const char *id = i < NLAYOUTS_CGROUPFS ? uid : uid_;

			snprintf(rel, sizeof(rel), pod_layouts[i], id);
			if (snprintf(dir, dir_len, "%s/%s", roots[r], rel) < (int)dir_len &&
			    is_dir(dir))
				return 0;
		}
	}
	for (int r = 0; r < nroots; r++)
		if (pod_walk(&w, roots[r], POD_WALK_DEPTH))
			return 0;
	return -ESRCH;
}

/* "/sys/fs/cgroup/unified" or "/a, /b", for messages. */
static void mounts_str(char roots[][PATH_MAX], int n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "", roots[i]);
}

static int resolve_path(const struct cgroup_resolver *r, const char *path, char *dir,
			size_t dir_len, char *why, size_t why_len)
{
	char roots[NW_CGROUP_MAX_MOUNTS][PATH_MAX], where[256], real[PATH_MAX];
	int err = cgroup__check_dir(path, why, why_len);
	int n;

	if (err == -EMEDIUMTYPE) {
		n = cgroup__mounts(r->mountinfo, roots, NW_CGROUP_MAX_MOUNTS);
		mounts_str(roots, n > 0 ? n : 0, where, sizeof(where));
		snprintf(why + strlen(why), why_len - strlen(why), "; cgroup v2 is mounted %s%s",
			 n > 0 ? "at " : "nowhere", where);
	}
	if (err)
		return err;
	if (!realpath(path, real) || snprintf(dir, dir_len, "%s", real) >= (int)dir_len)
		snprintf(dir, dir_len, "%s", path);
	return 0;
}

/* @label: "pod a/b" or NULL; @node: the snapshot's node for it, or "". */
static int resolve_uid(const struct cgroup_resolver *r, const char *uid_arg, const char *label,
		       const char *node, char *dir, size_t dir_len, char *why, size_t why_len)
{
	char roots[NW_CGROUP_MAX_MOUNTS][PATH_MAX], where[256], uid[NW_POD_UID_LEN + 1];
	char who[400], elsewhere[300] = "";
	int n;

	if (!cgroup__uid_valid(uid_arg)) {
		snprintf(why, why_len, "'%s' is not a pod UID (expected 8-4-4-4-12 hex digits, "
			 "as in metadata.uid, or a static pod's 32)", uid_arg);
		return -EINVAL;
	}
	for (size_t i = 0; i <= strlen(uid_arg); i++)
		uid[i] = (char)tolower((unsigned char)uid_arg[i]);
	n = cgroup__mounts(r->mountinfo, roots, NW_CGROUP_MAX_MOUNTS);
	if (n <= 0) {
		snprintf(why, why_len, "no cgroup v2 file system is mounted: pod cgroups cannot be "
			 "found; mount one or use a cgroup v1-free kubelet");
		return -ENXIO;
	}
	if (cgroup__find_pod(roots, n, uid, dir, dir_len)) {
		mounts_str(roots, n, where, sizeof(where));
		if (node && *node)
			snprintf(elsewhere, sizeof(elsewhere),
				 " (the snapshot places it on node %s)", node);
		if (label)
			snprintf(who, sizeof(who), "%s (UID %s)", label, uid);
		else
			snprintf(who, sizeof(who), "pod UID %s", uid);
		snprintf(why, why_len, "%s has no cgroup under %s: it is not running on this "
			 "node%s", who, where, elsewhere);
		return -ESRCH;
	}
	return cgroup__check_dir(dir, why, why_len);
}

static int resolve_pod(const struct cgroup_resolver *r, const char *arg, char *dir, size_t dir_len,
		       char *why, size_t why_len)
{
	char ns[64], name[254], uid[NW_POD_UID_LEN + 8], node[254] = "", label[330];
	int err;

	if (cgroup__split_pod(arg, ns, sizeof(ns), name, sizeof(name))) {
		snprintf(why, why_len, "'%s' is not NAMESPACE/NAME of a pod", arg);
		return -EINVAL;
	}
	if (!r->pod_uid) {
		snprintf(why, why_len, "--pod %s needs the cluster snapshot to find the pod's UID: "
			 "give --k8s FILE, or use --pod-uid UID", arg);
		return -ENOPKG;
	}
	err = r->pod_uid(r->pod_uid_ctx, ns, name, uid, sizeof(uid), node, sizeof(node));
	if (err == -ENOENT) {
		snprintf(why, why_len, "the snapshot has no pod %s", arg);
		return -ENOKEY;
	}
	if (err) {
		snprintf(why, why_len, "the snapshot has no UID for pod %s (metadata.uid): use "
			 "--pod-uid UID", arg);
		return -ENODATA;
	}
	snprintf(label, sizeof(label), "pod %s", arg);
	return resolve_uid(r, uid, label, node, dir, dir_len, why, why_len);
}

int cgroup__resolve(const struct cgroup_resolver *r, const struct nw_cgroup_arg *arg, char *dir,
		    size_t dir_len, char *why, size_t why_len)
{
	why[0] = '\0';
	switch (arg->kind) {
	case NW_CGROUP_PATH:
		return resolve_path(r, arg->value, dir, dir_len, why, why_len);
	case NW_CGROUP_POD_UID:
		return resolve_uid(r, arg->value, NULL, NULL, dir, dir_len, why, why_len);
	case NW_CGROUP_POD:
		return resolve_pod(r, arg->value, dir, dir_len, why, why_len);
	}
	snprintf(why, why_len, "unknown cgroup argument kind %d", (int)arg->kind);
	return -EINVAL;
}

int cgroup__exit_code(int err)
{
	switch (-err) {
	case 0: return NW_EXIT_OK;
	case ESRCH: return NW_EXIT_RUNTIME;
	case ENXIO: return NW_EXIT_UNSUPPORTED;
	case EACCES:
	case EPERM: return NW_EXIT_PERM;
	default: return NW_EXIT_USAGE;
	}
}
