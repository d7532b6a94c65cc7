// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --cgroup / --pod / --pod-uid resolution (src/cgroup_path.c) against
 * throwaway directory trees and mountinfo files: no root, no cgroup needed.
 *
 * src/cgroup_path.c is compiled into this test (it is listed with the loader
 * sources, not with the pure objects the unit tests link).  If it moves to a
 * pure-module variable of the Makefile, drop the #include below.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "cgroup_path.c"

#define UID "0f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5f60"
#define STATIC_UID "8f6a2b0c9d1e4f5a6b7c8d9e0f1a2b3c"
#define UID_ "0f4c2a9e_7d3b_4c6e_9f0a_1b2c3d4e5f60"

struct tree {
	char root[64]; /* a mkdtemp directory, removed by teardown */
	char mountinfo[80];
};

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->root, sizeof(t->root), "/tmp/nw-test-cgroup.XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	snprintf(t->mountinfo, sizeof(t->mountinfo), "%s.mountinfo", t->root);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[PATH_MAX * 2 + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", t->root, t->mountinfo);
	if (system(cmd))
		return -1;
	free(t);
	return 0;
}

/* mkdir -p ROOT/REL */
static void mkdirs(const struct tree *t, const char *rel)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	for (p = path + strlen(t->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A mountinfo with a hybrid layout whose cgroup2 mount is @root. */
static void write_mountinfo(const struct tree *t, const char *cgroup2_at)
{
	FILE *f = fopen(t->mountinfo, "w");

	assert_non_null(f);
	fprintf(f, "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		   "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		   "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n");
	if (cgroup2_at)
		fprintf(f, "41 31 0:38 / %s rw,relatime shared:12 - cgroup2 cgroup2 rw\n",
			cgroup2_at);
	fclose(f);
}

static void test_uid_valid(void **state)
{
	(void)state;
	assert_true(cgroup__uid_valid(UID));
	assert_true(cgroup__uid_valid("0F4C2A9E-7D3B-4C6E-9F0A-1B2C3D4E5F60"));
	assert_false(cgroup__uid_valid(""));
	assert_false(cgroup__uid_valid(UID "0"));
	assert_false(cgroup__uid_valid("0f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5f6"));
	assert_false(cgroup__uid_valid(UID_));
	assert_false(cgroup__uid_valid("0f4c2a9e7-d3b-4c6e-9f0a-1b2c3d4e5f60"));
	assert_false(cgroup__uid_valid("0f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5g60"));
	/* a static pod's cgroup: its config hash, 32 hex digits */
	assert_true(cgroup__uid_valid(STATIC_UID));
	assert_false(cgroup__uid_valid(STATIC_UID "0"));
	assert_false(cgroup__uid_valid("8f6a2b0c9d1e4f5a6b7c8d9e0f1a2b3")); /* 31 */
	assert_false(cgroup__uid_valid("8f6a2b0c9d1e4f5a6b7c8d9e0f1a2b3g"));
}

static int split(const char *arg, char *ns, size_t ns_len)
{
	char name[254];

	return cgroup__split_pod(arg, ns, ns_len, name, sizeof(name));
}

static void test_split_pod(void **state)
{
	char ns[64], name[254];
	static const char *const bad[] = {
		"shop", "/api", "shop/", "Shop/api", "shop/a/b", "shop/-api", "sh.op/api", "",
	};

	(void)state;
	assert_int_equal(cgroup__split_pod("shop/api-7d9f", ns, sizeof(ns), name, sizeof(name)), 0);
	assert_string_equal(ns, "shop");
	assert_string_equal(name, "api-7d9f");
	assert_int_equal(cgroup__split_pod("kube-system/etcd.node-1", ns, sizeof(ns), name,
					   sizeof(name)), 0);
	assert_string_equal(name, "etcd.node-1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(split(bad[i], ns, sizeof(ns)), -EINVAL);
	assert_int_equal(split("shop/api", ns, 4), -ENAMETOOLONG);
}

static void test_mounts(void **state)
{
	struct tree *t = *state;
	char roots[NW_CGROUP_MAX_MOUNTS][PATH_MAX];
	FILE *f;

	write_mountinfo(t, "/sys/fs/cgroup/unified");
	assert_int_equal(cgroup__mounts(t->mountinfo, roots, NW_CGROUP_MAX_MOUNTS), 1);
	assert_string_equal(roots[0], "/sys/fs/cgroup/unified");

	write_mountinfo(t, NULL);
	assert_int_equal(cgroup__mounts(t->mountinfo, roots, NW_CGROUP_MAX_MOUNTS), 0);

	f = fopen(t->mountinfo, "w");
	assert_non_null(f);
	fprintf(f, "41 31 0:38 / /run/with\\040space rw - cgroup2 none rw\n"
		   "42 31 0:38 / /second rw shared:1 master:2 - cgroup2 none rw\n"
		   "garbage line\n"
		   "43 31 0:38 / /third rw - cgroup2 none rw\n");
	fclose(f);
	assert_int_equal(cgroup__mounts(t->mountinfo, roots, 2), 2);
	assert_string_equal(roots[0], "/run/with space");
	assert_string_equal(roots[1], "/second");
	assert_int_equal(cgroup__mounts("/nonexistent/mountinfo", roots, 2), -ENOENT);
}

static void find_in(struct tree *t, const char *rel, const char *want_rel)
{
	char roots[1][PATH_MAX], dir[PATH_MAX], want[PATH_MAX];

	snprintf(roots[0], sizeof(roots[0]), "%s", t->root);
	mkdirs(t, rel);
	snprintf(want, sizeof(want), "%s/%s", t->root, want_rel ? want_rel : rel);
	assert_int_equal(cgroup__find_pod(roots, 1, UID, dir, sizeof(dir)), 0);
	assert_string_equal(dir, want);
}

/* A static pod, named by its config hash (both drivers, found by the walk
 * under a custom root too). */
static void test_find_static_pod(void **state)
{
	struct tree *t = *state;
	char roots[1][PATH_MAX], dir[PATH_MAX], want[PATH_MAX];

	snprintf(roots[0], sizeof(roots[0]), "%s", t->root);
	mkdirs(t, "custom/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod" STATIC_UID ".slice");
	snprintf(want, sizeof(want), "%s/custom/kubepods.slice/kubepods-burstable.slice/"
		 "kubepods-burstable-pod" STATIC_UID ".slice", t->root);
	assert_int_equal(cgroup__find_pod(roots, 1, STATIC_UID, dir, sizeof(dir)), 0);
	assert_string_equal(dir, want);
}

static void test_find_cgroupfs(void **state)
{
	find_in(*state, "kubepods/besteffort/pod" UID, NULL);
}

static void test_find_systemd_guaranteed(void **state)
{
	find_in(*state, "kubepods.slice/kubepods-pod" UID_ ".slice", NULL);
}

static void test_find_systemd_burstable(void **state)
{
	/* A container's cgroup below the pod's: the pod's is the answer. */
	find_in(*state,
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		".slice/cri-containerd-4f1c2e9a.scope",
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice");
}

static void test_find_cgroup_root(void **state)
{
	/* kind: kubelet --cgroup-root=/kubelet, systemd driver. */
	find_in(*state,
		"kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		"kubelet-kubepods-besteffort-pod" UID_ ".slice",
		NULL);
}

static void test_find_absent(void **state)
{
	struct tree *t = *state;
	char roots[2][PATH_MAX], dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX];

	snprintf(roots[0], sizeof(roots[0]), "%s/a", t->root);
	snprintf(roots[1], sizeof(roots[1]), "%s/b", t->root);
	mkdirs(t, "a/kubepods/burstable/pod0f4c2a9e-7d3b-4c6e-9f0a-000000000000");
	mkdirs(t, "a/kubepods/burstable/xpod" UID);
	mkdirs(t, "a/1/2/3/4/5/pod" UID); /* deeper than the walk goes */
	mkdirs(t, "c/pod" UID); /* reachable through a symlink only */
	snprintf(target, sizeof(target), "%s/c", t->root);
	snprintf(link, sizeof(link), "%s/b/link", t->root);
	mkdirs(t, "b");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(cgroup__find_pod(roots, 2, UID, dir, sizeof(dir)), -ESRCH);
}

static void test_check_dir(void **state)
{
	struct tree *t = *state;
	char why[512], file[PATH_MAX];
	struct statfs sfs;
	FILE *f;

	assert_int_equal(cgroup__check_dir("/nonexistent-natwho", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "No such file"));
	assert_int_equal(cgroup__check_dir(t->root, why, sizeof(why)), -EMEDIUMTYPE);
	assert_non_null(strstr(why, "is not a cgroup v2 directory"));
	snprintf(file, sizeof(file), "%s/file", t->root);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(cgroup__check_dir(file, why, sizeof(why)), -ENOTDIR);
	if (!statfs("/sys/fs/cgroup/unified", &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC)
		assert_int_equal(cgroup__check_dir("/sys/fs/cgroup/unified", why, sizeof(why)), 0);
	else if (!statfs("/sys/fs/cgroup", &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC)
		assert_int_equal(cgroup__check_dir("/sys/fs/cgroup", why, sizeof(why)), 0);
}

/* The snapshot, as a callback: shop/api has UID, shop/nouid has none. */
static int fake_pod_uid(void *ctx, const char *ns, const char *name, char *uid, size_t uid_len,
			char *node, size_t node_len)
{
	(void)ctx;
	if (strcmp(ns, "shop"))
		return -ENOENT;
	if (!strcmp(name, "nouid"))
		return -ENODATA;
	if (!strcmp(name, "api")) {
		snprintf(uid, uid_len, "%s", UID);
		snprintf(node, node_len, "node-2");
		return 0;
	}
	if (!strcmp(name, "elsewhere")) {
		snprintf(uid, uid_len, "%s", "11111111-2222-4333-8444-555555555555");
		snprintf(node, node_len, "node-3");
		return 0;
	}
	return -ENOENT;
}

static int resolve(struct tree *t, enum nw_cgroup_kind kind, const char *value, bool snapshot,
		   char *dir, char *why)
{
	struct cgroup_resolver r = { .mountinfo = t->mountinfo };
	struct nw_cgroup_arg arg = { .kind = kind, .value = value };

	if (snapshot)
		r.pod_uid = fake_pod_uid;
	return cgroup__resolve(&r, &arg, dir, PATH_MAX, why, 512);
}

static void test_resolve(void **state)
{
	struct tree *t = *state;
	char dir[PATH_MAX], why[512], want[PATH_MAX];

	write_mountinfo(t, t->root);
	mkdirs(t, "kubepods/burstable/pod" UID);
	snprintf(want, sizeof(want), "%s/kubepods/burstable/pod%s", t->root, UID);

	/* Found; the last check (statfs) refuses the tmpfs stand-in. */
	assert_int_equal(resolve(t, NW_CGROUP_POD, "shop/api", true, dir, why), -EMEDIUMTYPE);
	assert_string_equal(dir, want);
	assert_int_equal(resolve(t, NW_CGROUP_POD_UID, UID, false, dir, why), -EMEDIUMTYPE);
	assert_string_equal(dir, want);

	assert_int_equal(resolve(t, NW_CGROUP_POD, "shop/api", false, dir, why), -ENOPKG);
	assert_non_null(strstr(why, "--k8s"));
	assert_int_equal(resolve(t, NW_CGROUP_POD, "shop/gone", true, dir, why), -ENOKEY);
	assert_string_equal(why, "the snapshot has no pod shop/gone");
	assert_int_equal(resolve(t, NW_CGROUP_POD, "shop/nouid", true, dir, why), -ENODATA);
	assert_non_null(strstr(why, "no UID for pod shop/nouid"));
	assert_int_equal(resolve(t, NW_CGROUP_POD, "shop/elsewhere", true, dir, why), -ESRCH);
	assert_non_null(strstr(why, "pod shop/elsewhere (UID 11111111-2222-4333-8444-555555555555)"
				    " has no cgroup under"));
	assert_non_null(strstr(why, "(the snapshot places it on node node-3)"));
	assert_int_equal(resolve(t, NW_CGROUP_POD, "nope", true, dir, why), -EINVAL);
	assert_int_equal(resolve(t, NW_CGROUP_POD_UID, "nope", false, dir, why), -EINVAL);

	assert_int_equal(resolve(t, NW_CGROUP_PATH, t->root, false, dir, why), -EMEDIUMTYPE);
	assert_non_null(strstr(why, "cgroup v2 is mounted at "));

	write_mountinfo(t, NULL);
	assert_int_equal(resolve(t, NW_CGROUP_POD_UID, UID, false, dir, why), -ENXIO);
}

static void test_exit_codes(void **state)
{
	static const int usage[] = {
		EINVAL, ENOENT, ENOTDIR, EMEDIUMTYPE, ENOPKG, ENOKEY, ENODATA,
	};

	(void)state;
	assert_int_equal(cgroup__exit_code(0), NW_EXIT_OK);
	assert_int_equal(cgroup__exit_code(-ESRCH), NW_EXIT_RUNTIME);
	assert_int_equal(cgroup__exit_code(-ENXIO), NW_EXIT_UNSUPPORTED);
	assert_int_equal(cgroup__exit_code(-EACCES), NW_EXIT_PERM);
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		assert_int_equal(cgroup__exit_code(-usage[i]), NW_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_valid),
		cmocka_unit_test(test_split_pod),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test_setup_teardown(test_mounts, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_cgroupfs, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_static_pod, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_systemd_guaranteed, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_systemd_burstable, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_cgroup_root, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_find_absent, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_check_dir, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_resolve, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
