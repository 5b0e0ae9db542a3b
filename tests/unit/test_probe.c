/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: the catalogue's endpoints lie in the catalogue's ranges; targets
 * are read strictly and written canonically; the verdict of each errno;
 * the environment's sources. (Connects are tested in tests/probe/, inside
 * a network namespace.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "cidr.h"
#include "probe.h"

static void
test_endpoints_in_catalogue(void **state)
{
	(void)state;
	assert_true(catalog_endpoints_len >= 8);
	for (size_t i = 0; i < catalog_endpoints_len; i++) {
		const struct catalog_endpoint *e = &catalog_endpoints[i];
		const struct catalog_entry *cat = catalog_v4;
		size_t n = catalog_v4_len;
		struct cidr a, r;
		int in = 0;

		assert_int_equal(cidr_parse_addr(e->addr, strlen(e->addr), &a), CIDR_OK);
		if (a.family == CIDR_V6) {
			cat = catalog_v6;
			n = catalog_v6_len;
		}
		for (size_t j = 0; j < n && !in; j++) {
			assert_int_equal(cidr_parse(cat[j].cidr, strlen(cat[j].cidr), &r), CIDR_OK);
			in = cidr_contains(&r, &a);
		}
		if (!in)
			fail_msg("%s (%s) lies in no catalogue range", e->addr, e->what);
		assert_true(e->port > 0);
	}
}

static void
test_targets(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		const char *text, *label;
	} cases[] = {
		{ "169.254.169.254:80", 0, "169.254.169.254:80", "" },
		{ "[FD00:EC2:0::254]:80=imds", 0, "[fd00:ec2::254]:80", "imds" },
		{ "10.0.0.1:65535=a=b", 0, "10.0.0.1:65535", "a=b" },
		{ "[::ffff:10.0.0.1]:1", 0, "[::ffff:10.0.0.1]:1", "" },
		{ "10.0.0.1:80=", 0, "10.0.0.1:80", "" },
		{ "10.0.0.1", PROBE_E_SYNTAX, NULL, NULL },
		{ "fd00::1:80", PROBE_E_SYNTAX, NULL, NULL },
		{ "[fd00::1]", PROBE_E_SYNTAX, NULL, NULL },
		{ "[fd00::1:80", PROBE_E_SYNTAX, NULL, NULL },
		{ "10.0.0.1:", PROBE_E_PORT, NULL, NULL },
		{ "10.0.0.1:+80", PROBE_E_PORT, NULL, NULL },
		{ "10.0.0.1:99999", PROBE_E_PORT, NULL, NULL },
		{ "[10.0.0.1]:80", 0, "10.0.0.1:80", "" },
		{ "10.0.0.1/32:80", PROBE_E_ADDR, NULL, NULL },
		{ "[fe80::1%eth0]:80", PROBE_E_ADDR, NULL, NULL },
		{ " 10.0.0.1:80", PROBE_E_ADDR, NULL, NULL },
		{ "10.0.0.1:80=bell\a", PROBE_E_LABEL, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct probe_set s;
		int rc;

		memset(&s, 0, sizeof(s));
		rc = probe_add(&s, cases[i].arg);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": got %d, want %d", cases[i].arg, rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(s.n, 1);
			assert_string_equal(s.t[0].text, cases[i].text);
			assert_string_equal(s.t[0].label, cases[i].label);
		} else {
			assert_int_equal(s.n, 0);
			assert_string_not_equal(probe_strerror(rc), "no error");
		}
		probe_set_free(&s);
	}
}

static void
test_duplicates_and_limit(void **state)
{
	struct probe_set s;
	char arg[64];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(probe_add_catalog(&s), 0);
	assert_int_equal(s.n, catalog_endpoints_len);
	/* the same destination, spelled otherwise: kept once, first label wins */
	assert_int_equal(probe_add(&s, "[fd00:ec2:0:0::254]:80=again"), PROBE_DUP);
	assert_int_equal(s.n, catalog_endpoints_len);
	assert_int_equal(probe_add(&s, "[fd00:ec2::254]:81"), 0);
	while (s.n < PROBE_MAX) {
		snprintf(arg, sizeof(arg), "10.%zu.%zu.1:80", s.n / 256, s.n % 256);
		assert_int_equal(probe_add(&s, arg), 0);
	}
	assert_int_equal(probe_add(&s, "192.0.2.1:80"), PROBE_E_MANY);
	probe_set_free(&s);
}

static void
test_verdicts(void **state)
{
	(void)state;
	assert_true(probe_reached(0));
	assert_true(probe_reached(ECONNREFUSED));
	assert_true(probe_reached(ECONNRESET));
	assert_false(probe_reached(ETIMEDOUT));
	assert_false(probe_reached(ENETUNREACH));
	assert_false(probe_reached(EHOSTUNREACH));
	assert_false(probe_reached(EACCES));
	assert_false(probe_reached(EPERM));
	assert_false(probe_reached(EAFNOSUPPORT));
}

static const char *const *env_now;

static const char *
fake_env(const char *name)
{
	for (const char *const *e = env_now; *e; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static void
test_env(void **state)
{
	static const char *const ok[] = { "KUBERNETES_SERVICE_HOST", "fd00:96::1",
		"AGENTFENCE_NODE_IP", "10.0.0.7", NULL };
	static const char *const port[] = { "KUBERNETES_SERVICE_HOST", "10.96.0.1",
		"KUBERNETES_SERVICE_PORT", "6443", "AGENTFENCE_NODE_IP", "", NULL };
	static const char *const bad_port[] = { "KUBERNETES_SERVICE_HOST", "10.96.0.1",
		"KUBERNETES_SERVICE_PORT", "0443", NULL };
	static const char *const bad_node[] = { "AGENTFENCE_NODE_IP", "node-1", NULL };
	static const char *const none[] = { NULL };
	struct probe_set s;
	const char *bad;

	(void)state;
	memset(&s, 0, sizeof(s));
	env_now = ok;
	assert_int_equal(probe_add_env(&s, fake_env, &bad), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.t[0].text, "[fd00:96::1]:443");
	assert_string_equal(s.t[1].text, "10.0.0.7:10250");
	probe_set_free(&s);

	env_now = port;
	assert_int_equal(probe_add_env(&s, fake_env, &bad), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.t[0].text, "10.96.0.1:6443");
	probe_set_free(&s);

	env_now = bad_port;
	assert_int_equal(probe_add_env(&s, fake_env, &bad), PROBE_E_PORT);
	assert_string_equal(bad, "KUBERNETES_SERVICE_PORT");
	probe_set_free(&s);

	env_now = bad_node;
	assert_int_equal(probe_add_env(&s, fake_env, &bad), PROBE_E_ADDR);
	assert_string_equal(bad, "AGENTFENCE_NODE_IP");
	probe_set_free(&s);

	env_now = none;
	assert_int_equal(probe_add_env(&s, fake_env, &bad), 0);
	assert_int_equal(s.n, 0);
	probe_set_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints_in_catalogue),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_duplicates_and_limit),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
