/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for cluster/kubeconfig.c: base64 of the
 * *-data fields, how the kubeconfig is found and merged, what is refused,
 * and that a message never quotes a secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubeconfig.h"

static char dir[] = "/tmp/kc-unit-XXXXXX";

static const char *
put(const char *name, const char *text, mode_t mode)
{
	static char path[4][512];
	static int i;
	char *p = path[i++ % 4];
	FILE *f;

	snprintf(p, 512, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

static int
has_msg(const struct diags *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->items[i].msg, needle))
			return 1;
	return 0;
}

static void
clear_env(void)
{
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("AGENTFENCE_SERVICEACCOUNT_DIR");
	setenv("HOME", dir, 1);
}

/* ------------------------------------------------------------ base64 */

static void
expect_b64(const char *in, const char *want)
{
	struct kubeconfig_blob b;

	assert_int_equal(kubeconfig_base64_decode(in, strlen(in), &b), 0);
	assert_int_equal(b.n, strlen(want));
	assert_memory_equal(b.p, want, b.n);
	free(b.p);
}

static void
test_base64(void **state)
{
	static const char *const bad[] = { "Z", "Zg=", "Zg===", "Zm9v=", "Zm9!", "Z=g=", "====" };
	struct kubeconfig_blob b;

	(void)state;
	expect_b64("", "");
	expect_b64("Zg==", "f");
	expect_b64("Zm8=", "fo");
	expect_b64("Zm9v", "foo");
	expect_b64("Zm9v\nYmFy\n", "foobar");
	expect_b64(" Zm9vYg== ", "foob");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (kubeconfig_base64_decode(bad[i], strlen(bad[i]), &b) == 0)
			fail_msg("\"%s\" decoded", bad[i]);
	}
}

/* ------------------------------------------------------------ kubeconfig */

#define CLUSTERS \
	"clusters:\n" \
	"- name: c1\n" \
	"  cluster: {server: \"https://10.0.0.1:6443/\", certificate-authority-data: Zm9v}\n"

static void
test_token_and_current_context(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	const char *p = put("a", "apiVersion: v1\nkind: Config\ncurrent-context: x\n" CLUSTERS
			    "contexts:\n- {name: x, context: {cluster: c1, user: u1}}\n"
			    "users:\n- {name: u1, user: {token: s3cret-tok}}\n", 0600);

	(void)state;
	clear_env();
	assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(kc.server, "https://10.0.0.1:6443");   /* no trailing '/' */
	assert_string_equal(kc.token, "s3cret-tok");
	assert_int_equal(kc.ca.n, 3);
	assert_memory_equal(kc.ca.p, "foo", 3);
	assert_string_equal(kubeconfig_auth_kind(&kc), "bearer token");
	kubeconfig_free(&kc);
	diags_free(&d);
}

static void
test_merge_first_file_wins(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	char env[1200];
	const char *a = put("m1", "current-context: y\n"
			    "users:\n- {name: u1, user: {token: first}}\n", 0600);
	char a_copy[512];
	const char *b;

	(void)state;
	snprintf(a_copy, sizeof(a_copy), "%s", a);
	b = put("m2", "current-context: x\n" CLUSTERS
		"contexts:\n- {name: y, context: {cluster: c1, user: u1}}\n"
		"users:\n- {name: u1, user: {token: second}}\n", 0600);
	clear_env();
	snprintf(env, sizeof(env), "%s/none:%s:%s", dir, a_copy, b);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kubeconfig_load(&kc, NULL, NULL, &d), 0);
	assert_string_equal(kc.context, "y");      /* the first current-context */
	assert_string_equal(kc.token, "first");    /* the first user named u1 */
	kubeconfig_free(&kc);
	diags_free(&d);
}

static void
test_relative_paths_and_modes(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	const char *p;

	(void)state;
	put("tok", "  from-file\n", 0644);
	put("ca.pem", "PEM", 0644);
	p = put("rel", "current-context: x\n"
		"clusters:\n- {name: c1, cluster: {server: \"https://h\", certificate-authority: ca.pem}}\n"
		"contexts:\n- {name: x, context: {cluster: c1, user: u1}}\n"
		"users:\n- {name: u1, user: {tokenFile: tok}}\n", 0644);
	clear_env();
	assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), 0);
	assert_string_equal(kc.token, "from-file");
	assert_memory_equal(kc.ca.p, "PEM", 3);
	assert_int_equal(d.errors, 0);
	assert_true(has_msg(&d, "the kubeconfig is accessible by group or others (mode 0644)"));
	assert_true(has_msg(&d, "token file is accessible by group or others (mode 0644)"));
	kubeconfig_free(&kc);
	diags_free(&d);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *user, *msg;
	} cases[] = {
		{ "{as: admin, token: t}", "impersonation is not supported" },
		{ "{auth-provider: {name: gcp}}", "auth-provider: not supported" },
		{ "{username: a, password: hunter2}", "basic authentication" },
		{ "{client-certificate-data: Zm9v}", "needs its key" },
		{ "{client-key-data: \"c2VjcmV0LWtleQ=!\", client-certificate-data: Zm9v}",
		  "client-key-data: not valid base64" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}",
		  "exec.apiVersion: must be" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1}}", "exec.command: required" },
	};

	(void)state;
	clear_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct diags d = DIAGS_INIT;
		struct kubeconfig kc;
		char text[1024];
		const char *p;

		snprintf(text, sizeof(text), "current-context: x\n" CLUSTERS
			 "contexts:\n- {name: x, context: {cluster: c1, user: u1}}\n"
			 "users:\n- {name: u1, user: %s}\n", cases[i].user);
		p = put("bad", text, 0600);
		assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), -1);
		if (!has_msg(&d, cases[i].msg))
			fail_msg("case %zu: no \"%s\" (first: %s)", i, cases[i].msg,
				 d.n ? d.items[0].msg : "none");
		/* never a secret in a message */
		for (size_t k = 0; k < d.n; k++)
			if (strstr(d.items[k].msg, "hunter2") || strstr(d.items[k].msg, "c2VjcmV0"))
				fail_msg("case %zu quotes a secret: %s", i, d.items[k].msg);
		kubeconfig_free(&kc);
		diags_free(&d);
	}
}

static void
test_insecure(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	const char *p = put("ins", "current-context: x\n"
			    "clusters:\n- {name: c1, cluster: {server: \"https://h\", "
			    "insecure-skip-tls-verify: true}}\n"
			    "contexts:\n- {name: x, context: {cluster: c1}}\n", 0600);

	(void)state;
	clear_env();
	assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), 0);
	assert_true(kc.insecure);
	assert_true(has_msg(&d, "insecure-skip-tls-verify: the API server's certificate is not checked"));
	assert_string_equal(kubeconfig_auth_kind(&kc), "no credentials");
	kubeconfig_free(&kc);
	diags_free(&d);
	p = put("ins2", "current-context: x\n"
		"clusters:\n- {name: c1, cluster: {server: \"https://h\", "
		"insecure-skip-tls-verify: true, certificate-authority-data: Zm9v}}\n"
		"contexts:\n- {name: x, context: {cluster: c1}}\n", 0600);
	assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), -1);
	assert_true(has_msg(&d, "exclude each other"));
	kubeconfig_free(&kc);
	diags_free(&d);
}

static void
test_context_errors(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	const char *p = put("ctx", CLUSTERS "contexts:\n- {name: x, context: {cluster: c1, user: nobody}}\n",
			    0600);

	(void)state;
	clear_env();
	assert_int_equal(kubeconfig_load(&kc, p, NULL, &d), -1);
	assert_true(has_msg(&d, "no current-context"));
	kubeconfig_free(&kc);
	diags_free(&d);
	assert_int_equal(kubeconfig_load(&kc, p, "x", &d), -1);
	assert_true(has_msg(&d, "names user \"nobody\", which is not defined"));
	kubeconfig_free(&kc);
	diags_free(&d);
	assert_int_equal(kubeconfig_load(&kc, p, "y", &d), -1);
	assert_true(has_msg(&d, "context \"y\" is not defined"));
	kubeconfig_free(&kc);
	diags_free(&d);
}

static void
test_in_cluster(void **state)
{
	struct diags d = DIAGS_INIT;
	struct kubeconfig kc;
	char sa[600];

	(void)state;
	clear_env();
	snprintf(sa, sizeof(sa), "%s/sa", dir);
	mkdir(sa, 0700);
	put("sa/token", "sa-token\n", 0644);
	put("sa/ca.crt", "CA", 0644);
	assert_int_equal(kubeconfig_load(&kc, NULL, NULL, &d), -1);   /* nothing at all */
	assert_true(has_msg(&d, "no kubeconfig"));
	kubeconfig_free(&kc);
	diags_free(&d);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("AGENTFENCE_SERVICEACCOUNT_DIR", sa, 1);
	assert_int_equal(kubeconfig_load(&kc, NULL, NULL, &d), 0);
	assert_string_equal(kc.server, "https://[fd00::1]:443");
	assert_string_equal(kc.token, "sa-token");
	assert_int_equal(d.n, 0);   /* the kubelet's 0644 mounts are no warning */
	kubeconfig_free(&kc);
	diags_free(&d);
	clear_env();
}

/* Remove a folder of plain files and folders. */
static void
rm_tree(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	char sub[1024];

	if (!dp) {
		unlink(path);
		return;
	}
	while ((e = readdir(dp))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(dp);
	rmdir(path);
}

static int
cleanup(void **state)
{
	(void)state;
	rm_tree(dir);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_token_and_current_context),
		cmocka_unit_test(test_merge_first_file_wins),
		cmocka_unit_test(test_relative_paths_and_modes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_context_errors),
		cmocka_unit_test(test_in_cluster),
	};

	return cmocka_run_group_tests(tests, setup, cleanup);
}
