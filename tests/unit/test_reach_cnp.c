/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the ClusterNetworkPolicy tiers (compiler/reach_cnp.c) on
 * hand-written objects: same-priority ambiguity is reported, not hidden;
 * Baseline and the default; a peer of another version fails closed; what
 * is not modelled is named by reach_unsupported. (The differential test
 * against tests/tools/cnp.py is tests/tools/test_explain_cnp.py.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"
#include "diag.h"
#include "reach.h"
#include "reader.h"

#define CNP(name, tier, prio, rules) \
	"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n" \
	"metadata: {name: " name "}\nspec:\n  tier: " tier "\n  priority: " prio "\n" \
	"  subject: {namespaces: {}}\n  egress:\n" rules
#define RULE(action, peer) "  - action: " action "\n    to: [" peer "]\n"
#define ALL_V4 "{networks: [0.0.0.0/0]}"

struct objs {
	struct arena a;
	struct diags d;
	struct node *docs[8];
	size_t n;
};

static void
load(struct objs *o, const char *text)
{
	memset(o, 0, sizeof(*o));
	o->a = (struct arena)ARENA_INIT;
	o->d = (struct diags)DIAGS_INIT;
	assert_int_equal(reader_string("test", text, strlen(text), &o->a, &o->d, o->docs, 8, &o->n), 0);
}

static void
unload(struct objs *o)
{
	diags_free(&o->d);
	arena_free(&o->a);
}

static const struct reach_pod pod = { "agents", NULL, NULL, NULL };

static void
query(struct objs *o, const char *addr, struct reach_verdict *v)
{
	struct reach_objs ro = { o->docs, o->n };
	struct reach_query q;

	memset(&q, 0, sizeof(q));
	q.dir = REACH_EGRESS;
	assert_int_equal(cidr_parse(addr, strlen(addr), &q.addr), CIDR_OK);
	q.proto = REACH_TCP;
	q.port = 443;
	assert_null(reach_unsupported(&ro));
	assert_int_equal(reach_query(&ro, &pod, &q, v), 0);
}

static void
test_same_priority_disagree(void **state)
{
	struct objs o;
	struct reach_verdict v;
	struct reach_summary s;
	struct reach_objs ro;

	(void)state;
	load(&o, CNP("b", "Admin", "10", RULE("Deny", ALL_V4)) "---\n" CNP("a", "Admin", "10", RULE("Accept", ALL_V4)));
	query(&o, "8.8.8.8/32", &v);
	assert_true(v.allowed);              /* name order: a first */
	assert_int_equal(v.why, REACH_RULE);
	assert_string_equal(v.name, "a");
	assert_non_null(v.ambiguous[0]);
	assert_non_null(v.ambiguous[1]);
	ro = (struct reach_objs){ o.docs, o.n };
	assert_int_equal(reach_summarize(&ro, &pod, &s), 0);
	assert_non_null(s.egress.ambiguous[0]);
	assert_null(s.ingress.ambiguous[0]);
	reach_summary_free(&s);
	unload(&o);
}

static void
test_same_priority_agree(void **state)
{
	struct objs o;
	struct reach_verdict v;

	(void)state;
	load(&o, CNP("b", "Admin", "10", RULE("Deny", ALL_V4)) "---\n" CNP("a", "Admin", "10", RULE("Deny", ALL_V4)));
	query(&o, "8.8.8.8/32", &v);
	assert_false(v.allowed);
	assert_int_equal(v.why, REACH_DENIED);
	assert_null(v.ambiguous[0]);
	unload(&o);
}

static void
test_baseline_and_default(void **state)
{
	struct objs o;
	struct reach_verdict v;

	(void)state;
	load(&o, CNP("pass", "Admin", "1", RULE("Pass", "{networks: [8.8.8.0/24]}"))
		 "---\n" CNP("base", "Baseline", "5", RULE("Deny", "{networks: [8.8.0.0/16]}")));
	query(&o, "8.8.8.8/32", &v);            /* passed, no NetworkPolicy: Baseline denies */
	assert_false(v.allowed);
	assert_string_equal(v.name, "base");
	query(&o, "9.9.9.9/32", &v);            /* nothing decides: the default */
	assert_true(v.allowed);
	assert_int_equal(v.why, REACH_OPEN);
	unload(&o);
}

static void
test_unknown_peer_fails_closed(void **state)
{
	struct objs o;
	struct reach_verdict v;

	(void)state;
	load(&o, CNP("x", "Admin", "1", RULE("Pass", "{future: {}}") RULE("Accept", ALL_V4)));
	query(&o, "8.8.8.8/32", &v);
	assert_false(v.allowed);             /* a Pass with an unknown peer is "Deny all" */
	assert_int_equal(v.rule, 0);
	unload(&o);
}

static void
test_unsupported(void **state)
{
	struct objs o;
	struct reach_objs ro;

	(void)state;
	load(&o, CNP("t", "Middle", "1", RULE("Deny", ALL_V4)));
	ro = (struct reach_objs){ o.docs, o.n };
	assert_ptr_equal(reach_unsupported(&ro), o.docs[0]);
	unload(&o);
	load(&o, CNP("d", "Admin", "1", RULE("Deny", "{domainNames: [example.com]}")));
	ro = (struct reach_objs){ o.docs, o.n };
	assert_ptr_equal(reach_unsupported(&ro), o.docs[0]);
	unload(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_priority_disagree),
		cmocka_unit_test(test_same_priority_agree),
		cmocka_unit_test(test_baseline_and_default),
		cmocka_unit_test(test_unknown_peer_fails_closed),
		cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
