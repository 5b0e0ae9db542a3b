/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for reach_summary_minus (compiler/reach.c): what one summary
 * allows that another does not, on summaries written by hand: a port hole
 * in an address range, an open direction on either side, selector peers
 * covered by the same selectors or by every peer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reach.h"

static struct reach_range
range(const char *c, unsigned proto, unsigned lo, unsigned hi)
{
	struct reach_range r;
	struct reach_port p = { (unsigned char)proto, (unsigned short)lo, (unsigned short)hi };
	struct reach_ports one = { &p, 1 };

	memset(&r, 0, sizeof(r));
	assert_int_equal(cidr_parse(c, strlen(c), &r.c), CIDR_OK);
	assert_int_equal(reach_ports_union(&r.ports, &one), 0);
	return r;
}

static void
set_v4(struct reach_dirsum *d, struct reach_range *r, size_t n)
{
	d->isolated = 1;
	d->v4 = malloc(n * sizeof(*r));
	assert_non_null(d->v4);
	memcpy(d->v4, r, n * sizeof(*r));
	d->nv4 = n;
}

static void
text(const struct reach_range *r, char *out)
{
	char c[CIDR_STRLEN];

	cidr_format(&r->c, c, 1);
	sprintf(out, "%s", c);
	for (size_t i = 0; i < r->ports.n; i++)
		sprintf(out + strlen(out), " %u:%u-%u", r->ports.items[i].proto, r->ports.items[i].lo,
			r->ports.items[i].hi);
}

/* 10.0.0.0/8 on TCP less 10.1.0.0/16 on TCP 443: eight whole prefixes and a port hole. */
static void
test_port_hole(void **state)
{
	struct reach_summary a, b, d;
	struct reach_range ra = range("10.0.0.0/8", REACH_TCP, 1, 65535);
	struct reach_range rb = range("10.1.0.0/16", REACH_TCP, 443, 443);
	static const char *const want[] = {
		"10.0.0.0/16 0:1-65535", "10.1.0.0/16 0:1-442 0:444-65535", "10.2.0.0/15 0:1-65535",
		"10.4.0.0/14 0:1-65535", "10.8.0.0/13 0:1-65535", "10.16.0.0/12 0:1-65535",
		"10.32.0.0/11 0:1-65535", "10.64.0.0/10 0:1-65535", "10.128.0.0/9 0:1-65535",
	};
	char got[200];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	set_v4(&a.egress, &ra, 1);
	set_v4(&b.egress, &rb, 1);
	a.ingress.isolated = b.ingress.isolated = 1;
	assert_int_equal(reach_summary_minus(&a, &b, &d), 0);
	assert_int_equal(d.egress.nv4, sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < d.egress.nv4; i++) {
		text(&d.egress.v4[i], got);
		assert_string_equal(got, want[i]);
	}
	assert_int_equal(d.egress.nv6 + d.egress.nsels + d.ingress.nv4 + d.ingress.nsels, 0);
	reach_summary_free(&d);
	/* the other way: nothing but what b has and a does not (none) */
	assert_int_equal(reach_summary_minus(&b, &a, &d), 0);
	assert_int_equal(d.egress.nv4 + d.egress.nv6 + d.egress.nsels, 0);
	reach_summary_free(&d);
	reach_summary_free(&a);
	reach_summary_free(&b);
}

/* An open side allows everything: open less b is b's complement, a less open is nothing. */
static void
test_open(void **state)
{
	struct reach_summary a, b, d;
	struct reach_range rb = range("0.0.0.0/0", REACH_TCP, 1, 65535);
	struct reach_sel every;
	char got[200];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&every, 0, sizeof(every));
	every.rule = every.peer = -1;
	every.ports = rb.ports;   /* borrowed: copied by the union below */
	set_v4(&b.egress, &rb, 1);
	b.egress.sels = malloc(sizeof(every));
	assert_non_null(b.egress.sels);
	b.egress.sels[0] = every;
	b.egress.sels[0].ports.items = NULL;
	b.egress.sels[0].ports.n = 0;
	assert_int_equal(reach_ports_union(&b.egress.sels[0].ports, &rb.ports), 0);
	b.egress.nsels = 1;
	b.ingress.isolated = 1;
	/* a open both ways */
	assert_int_equal(reach_summary_minus(&a, &b, &d), 0);
	assert_int_equal(d.egress.nv4, 1);
	text(&d.egress.v4[0], got);
	assert_string_equal(got, "0.0.0.0/0 1:1-65535 2:1-65535");
	assert_int_equal(d.egress.nv6, 1);
	text(&d.egress.v6[0], got);
	assert_string_equal(got, "::/0 0:1-65535 1:1-65535 2:1-65535");
	assert_int_equal(d.egress.nsels, 1);
	assert_int_equal(d.egress.sels[0].ports.n, 2);   /* every Pod on UDP and SCTP */
	assert_int_equal(d.ingress.nv4 + d.ingress.nv6, 2);
	reach_summary_free(&d);
	/* b less open: nothing */
	assert_int_equal(reach_summary_minus(&b, &a, &d), 0);
	assert_int_equal(d.egress.nv4 + d.egress.nv6 + d.egress.nsels + d.ingress.nv4, 0);
	reach_summary_free(&d);
	reach_summary_free(&b);
}

/* A selector peer less the same selectors (another tree, keys in another order). */
static void
test_selectors(void **state)
{
	struct arena ar = ARENA_INIT;
	struct reach_summary a, b, d;
	struct node *s1 = node_new_map(&ar), *s2 = node_new_map(&ar), *m1 = node_new_map(&ar),
		    *m2 = node_new_map(&ar), *other = node_new_map(&ar), *m3 = node_new_map(&ar);
	struct reach_range p = range("0.0.0.0/0", REACH_TCP, 1, 100);

	(void)state;
	assert_int_equal(node_map_set(&ar, m1, "app", node_new_str(&ar, "web")), 0);
	assert_int_equal(node_map_set(&ar, m1, "tier", node_new_str(&ar, "a")), 0);
	assert_int_equal(node_map_set(&ar, m2, "tier", node_new_str(&ar, "a")), 0);
	assert_int_equal(node_map_set(&ar, m2, "app", node_new_str(&ar, "web")), 0);
	assert_int_equal(node_map_set(&ar, m3, "app", node_new_str(&ar, "db")), 0);
	assert_int_equal(node_map_set(&ar, s1, "matchLabels", m1), 0);
	assert_int_equal(node_map_set(&ar, s2, "matchLabels", m2), 0);
	assert_int_equal(node_map_set(&ar, other, "matchLabels", m3), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.egress.isolated = b.egress.isolated = a.ingress.isolated = b.ingress.isolated = 1;
	a.egress.sels = calloc(2, sizeof(struct reach_sel));
	b.egress.sels = calloc(1, sizeof(struct reach_sel));
	assert_non_null(a.egress.sels);
	assert_non_null(b.egress.sels);
	a.egress.nsels = 2;
	a.egress.sels[0].pod_sel = s1;
	a.egress.sels[0].peer = 0;
	assert_int_equal(reach_ports_union(&a.egress.sels[0].ports, &p.ports), 0);
	a.egress.sels[1].pod_sel = other;
	a.egress.sels[1].peer = 1;
	assert_int_equal(reach_ports_union(&a.egress.sels[1].ports, &p.ports), 0);
	b.egress.nsels = 1;
	b.egress.sels[0].pod_sel = s2;
	free(p.ports.items);
	p = range("0.0.0.0/0", REACH_TCP, 1, 80);
	assert_int_equal(reach_ports_union(&b.egress.sels[0].ports, &p.ports), 0);
	free(p.ports.items);
	assert_int_equal(reach_summary_minus(&a, &b, &d), 0);
	assert_int_equal(d.egress.nsels, 2);
	assert_int_equal(d.egress.sels[0].peer, 0);   /* the same selectors: ports 81-100 left */
	assert_int_equal(d.egress.sels[0].ports.n, 1);
	assert_int_equal(d.egress.sels[0].ports.items[0].lo, 81);
	assert_int_equal(d.egress.sels[0].ports.items[0].hi, 100);
	assert_int_equal(d.egress.sels[1].peer, 1);   /* other selectors: all of it */
	assert_int_equal(d.egress.sels[1].ports.items[0].lo, 1);
	assert_int_equal(d.egress.sels[1].ports.items[0].hi, 100);
	reach_summary_free(&d);
	reach_summary_free(&a);
	reach_summary_free(&b);
	arena_free(&ar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_hole),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_selectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
