/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for compiler/reach_cilium.c on hand-written Cilium policies:
 * the rule fields the compiler never emits (specs[], a CNP and a
 * ClusterNetworkPolicy together, unmodelled fields, enableDefaultDeny:
 * false, a NetworkPolicy ipBlock under Cilium), which the differential
 * test on compiled objects (tests/tools/test_explain_cilium.py) cannot
 * reach. The expected verdicts are those of tests/tools/cilium.py's
 * docstring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "reach.h"
#include "reader.h"

#define MAX_DOCS 8

struct set {
	struct arena arena;
	struct diags d;
	struct node *docs[MAX_DOCS];
	size_t n;
};

/* Read the YAML documents of text. */
static void
load(struct set *s, const char *text)
{
	char path[] = "/tmp/af_reach_cilium.XXXXXX";
	struct reader *r;
	struct node *doc;
	int fd;

	memset(s, 0, sizeof(*s));
	s->arena = (struct arena)ARENA_INIT;
	s->d = (struct diags)DIAGS_INIT;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(reader_open(&r, path, NULL, &s->d), 0);
	unlink(path);
	while (reader_next(r, &s->arena, &doc) == 1) {
		assert_true(s->n < MAX_DOCS);
		s->docs[s->n++] = doc;
	}
	reader_close(r);
	assert_true(s->n > 0);
}

static void
unload(struct set *s)
{
	arena_free(&s->arena);
	diags_free(&s->d);
}

/* The agent Pod: namespace agents, label app=agent. */
static struct reach_pod
agent(struct set *s)
{
	struct reach_pod p;
	struct node *l = node_new_map(&s->arena);

	assert_non_null(l);
	assert_int_equal(node_map_put(&s->arena, l, "app", node_new_str(&s->arena, "agent")), 0);
	memset(&p, 0, sizeof(p));
	p.ns = "agents";
	p.labels = l;
	return p;
}

/* Egress to addr (IPv4 text) on TCP/port. */
static struct reach_verdict
to(struct set *s, const char *addr, unsigned port)
{
	struct reach_objs o = { s->docs, s->n };
	struct reach_pod p = agent(s);
	struct reach_query q;
	struct reach_verdict v;
	char a[64];

	memset(&q, 0, sizeof(q));
	q.dir = REACH_EGRESS;
	(void)snprintf(a, sizeof(a), "%s/32", addr);
	assert_int_equal(cidr_parse(a, strlen(a), &q.addr), CIDR_OK);
	q.proto = REACH_TCP;
	q.port = port;
	assert_int_equal(reach_query(&o, &p, &q, &v), 0);
	return v;
}

static const char deny_first[] =
	"apiVersion: cilium.io/v2\n"
	"kind: CiliumNetworkPolicy\n"
	"metadata: {name: p, namespace: agents}\n"
	"spec:\n"
	"  endpointSelector: {matchLabels: {app: agent}}\n"
	"  egress:\n"
	"  - toEntities: [world]\n"
	"  egressDeny:\n"
	"  - toCIDRSet: [{cidr: 1.2.3.0/24, except: [1.2.3.128/25]}]\n"
	"    toPorts: [{ports: [{port: \"443\", protocol: ANY}]}]\n";

static void
test_deny_first(void **state)
{
	struct set s;
	struct reach_verdict v;

	(void)state;
	load(&s, deny_first);
	v = to(&s, "1.2.3.4", 443);
	assert_false(v.allowed);
	assert_int_equal(v.why, REACH_DENIED);
	assert_int_equal(v.deny, 1);
	assert_int_equal(v.rule, 0);
	v = to(&s, "1.2.3.4", 80);      /* the deny names 443 only */
	assert_true(v.allowed);
	v = to(&s, "1.2.3.200", 443);   /* in the except */
	assert_true(v.allowed);
	assert_int_equal(v.why, REACH_RULE);
	assert_int_equal(v.deny, 0);
	unload(&s);
}

static void
test_summary(void **state)
{
	struct set s;
	struct reach_objs o;
	struct reach_pod p;
	struct reach_summary sum;
	char c[CIDR_STRLEN];

	(void)state;
	load(&s, deny_first);
	o = (struct reach_objs){ s.docs, s.n };
	p = agent(&s);
	assert_int_equal(reach_summarize(&o, &p, &sum), 0);
	assert_true(sum.egress.isolated);
	assert_true(sum.egress.cilium);
	/* 0/0 all ports except 1.2.3.0/25 (443 closed there) */
	assert_true(sum.egress.nv4 > 1);
	for (size_t i = 0; i < sum.egress.nv4; i++) {
		cidr_format(&sum.egress.v4[i].c, c, 1);
		if (strcmp(c, "1.2.3.0/25") == 0) {
			assert_false(reach_ports_has(&sum.egress.v4[i].ports, REACH_TCP, 443));
			assert_true(reach_ports_has(&sum.egress.v4[i].ports, REACH_TCP, 444));
		} else {
			assert_true(reach_ports_has(&sum.egress.v4[i].ports, REACH_TCP, 443));
		}
	}
	/* ingress: no rule of that direction, not default deny: everything open */
	assert_false(sum.ingress.isolated);
	reach_summary_free(&sum);
	unload(&s);
}

static void
test_specs_and_default_deny(void **state)
{
	struct set s;
	struct reach_verdict v;
	struct reach_pod p;

	(void)state;
	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumClusterwideNetworkPolicy\n"
	     "metadata: {name: cw}\n"
	     "specs:\n"
	     "- endpointSelector: {matchLabels: {app: other}}\n"
	     "  egress: [{toCIDR: [9.9.9.9/32]}]\n"
	     "- endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: agents}}\n"
	     "  egress: [{toCIDR: [8.8.8.8/32]}]\n"
	     "- nodeSelector: {}\n"
	     "  egress: [{toEntities: [all]}]\n");
	p = agent(&s);
	assert_true(reach_selects(s.docs[0], &p));
	v = to(&s, "8.8.8.8", 53);
	assert_true(v.allowed);
	assert_int_equal(v.specs, 2);            /* specs[1] */
	v = to(&s, "9.9.9.9", 53);               /* specs[0] selects another Pod */
	assert_false(v.allowed);
	assert_int_equal(v.why, REACH_NO_RULE);
	unload(&s);

	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumNetworkPolicy\n"
	     "metadata: {name: p, namespace: agents}\n"
	     "spec:\n"
	     "  endpointSelector: {}\n"
	     "  enableDefaultDeny: {egress: false}\n"
	     "  egress: [{toCIDR: [8.8.8.8/32]}]\n");
	v = to(&s, "1.1.1.1", 443);              /* not default deny: open */
	assert_true(v.allowed);
	assert_int_equal(v.why, REACH_OPEN);
	unload(&s);
}

static void
test_networkpolicy_under_cilium(void **state)
{
	struct set s;
	struct reach_objs o;
	struct reach_pod p, peer;
	struct reach_query q;
	struct reach_verdict v;

	(void)state;
	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumNetworkPolicy\n"
	     "metadata: {name: c, namespace: other}\n"
	     "spec: {endpointSelector: {}, egress: [{toEntities: [all]}]}\n"
	     "---\n"
	     "apiVersion: networking.k8s.io/v1\n"
	     "kind: NetworkPolicy\n"
	     "metadata: {name: np, namespace: agents}\n"
	     "spec:\n"
	     "  podSelector: {}\n"
	     "  policyTypes: [Egress]\n"
	     "  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n");
	o = (struct reach_objs){ s.docs, s.n };
	p = agent(&s);
	/* a world address: the ipBlock matches */
	assert_true(to(&s, "1.1.1.1", 443).allowed);
	/* a Pod peer: an ipBlock never matches it under Cilium */
	peer = p;
	memset(&q, 0, sizeof(q));
	q.dir = REACH_EGRESS;
	assert_int_equal(cidr_parse("10.0.0.5/32", 11, &q.addr), CIDR_OK);
	q.peer = &peer;
	q.proto = REACH_TCP;
	q.port = 443;
	assert_int_equal(reach_query(&o, &p, &q, &v), 0);
	assert_false(v.allowed);
	unload(&s);
}

static void
test_unsupported(void **state)
{
	struct set s;
	struct reach_objs o;
	const struct node *bad;

	(void)state;
	load(&s, deny_first);
	o = (struct reach_objs){ s.docs, s.n };
	assert_null(reach_unsupported(&o));
	unload(&s);

	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumNetworkPolicy\n"
	     "metadata: {name: svc, namespace: agents}\n"
	     "spec:\n"
	     "  endpointSelector: {}\n"
	     "  egress: [{toServices: [{k8sService: {serviceName: x, namespace: y}}]}]\n");
	o = (struct reach_objs){ s.docs, s.n };
	assert_ptr_equal(reach_unsupported(&o), s.docs[0]);
	unload(&s);

	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumNetworkPolicy\n"
	     "metadata: {name: ent, namespace: agents}\n"
	     "spec: {endpointSelector: {}, egress: [{toEntities: [everything]}]}\n");
	o = (struct reach_objs){ s.docs, s.n };
	assert_ptr_equal(reach_unsupported(&o), s.docs[0]);
	unload(&s);

	/* Cilium and ClusterNetworkPolicy together: the latter is named */
	load(&s,
	     "apiVersion: cilium.io/v2\n"
	     "kind: CiliumNetworkPolicy\n"
	     "metadata: {name: ok, namespace: agents}\n"
	     "spec: {endpointSelector: {}}\n"
	     "---\n"
	     "apiVersion: policy.networking.k8s.io/v1alpha2\n"
	     "kind: ClusterNetworkPolicy\n"
	     "metadata: {name: cnp}\n"
	     "spec: {tier: Admin, priority: 1, subject: {namespaces: {}}}\n");
	o = (struct reach_objs){ s.docs, s.n };
	bad = reach_unsupported(&o);
	assert_ptr_equal(bad, s.docs[1]);
	unload(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_first),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_specs_and_default_deny),
		cmocka_unit_test(test_networkpolicy_under_cilium),
		cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
