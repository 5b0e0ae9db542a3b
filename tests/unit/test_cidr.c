/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for compiler/cidr.c. A wrong answer here is a hole in a
 * NetworkPolicy, so the boundaries (first/last address, /0, /32, /128,
 * sibling halves) get most of the attention.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cidr.h"

/* ------------------------------------------------------------ helpers */

static struct cidr P(const char *s)
{
	struct cidr c;
	int rc = cidr_parse(s, strlen(s), &c);

	if (rc != CIDR_OK)
		fail_msg("cidr_parse(\"%s\") = %d (%s), want OK", s, rc,
			 cidr_strerror(rc));
	return c;
}

static void expect_err(const char *s, int want)
{
	struct cidr c;
	int rc = cidr_parse(s, strlen(s), &c);

	if (rc != want)
		fail_msg("cidr_parse(\"%s\") = %d (%s), want %d (%s)", s, rc,
			 cidr_strerror(rc), want, cidr_strerror(want));
}

/* Same, for inputs that hold NUL bytes or must not be NUL-terminated. */
static void expect_err_n(const char *s, size_t n, int want)
{
	struct cidr c;
	char *buf = malloc(n ? n : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, s, n);
	/* Exactly n bytes on the heap: ASan flags any read past them. */
	rc = cidr_parse(buf, n, &c);
	free(buf);
	if (rc != want)
		fail_msg("cidr_parse(<%zu bytes>) = %d, want %d", n, rc, want);
}

static void expect_fmt(const char *in, const char *want)
{
	char buf[CIDR_STRLEN];
	struct cidr c = P(in);
	size_t n = cidr_format(&c, buf, 1);

	if (strcmp(buf, want) != 0)
		fail_msg("format(\"%s\") = \"%s\", want \"%s\"", in, buf, want);
	assert_int_equal(n, strlen(want));
}

static void expect_same(const struct cidr *a, const struct cidr *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->addr, b->addr, 16);
}

static void expect_list(const struct cidr_list *l, const char *const *want,
			size_t n)
{
	char buf[CIDR_STRLEN];
	size_t i;

	if (l->n != n)
		fail_msg("list has %zu entries, want %zu", l->n, n);
	for (i = 0; i < n; i++) {
		cidr_format(&l->items[i], buf, 1);
		if (strcmp(buf, want[i]) != 0)
			fail_msg("entry %zu is \"%s\", want \"%s\"", i, buf,
				 want[i]);
	}
}

static void add(struct cidr_list *l, const char *s)
{
	struct cidr c = P(s);

	assert_int_equal(cidr_list_add(l, &c), 0);
}

static unsigned bits_of(const struct cidr *c)
{
	return c->family == CIDR_V4 ? 32u : 128u;
}

/* First (hi = 0) or last (hi = 1) address of a prefix, as a host route. */
static struct cidr edge(const struct cidr *c, int hi)
{
	struct cidr r = *c;
	unsigned i, max = bits_of(c);

	for (i = c->len; i < max; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));
		if (hi)
			r.addr[i / 8] = (uint8_t)(r.addr[i / 8] | m);
		else
			r.addr[i / 8] = (uint8_t)(r.addr[i / 8] & ~m);
	}
	r.len = (uint8_t)max;
	return r;
}

/* Host route +1 / -1; returns 0 on wrap-around. */
static int step(struct cidr *h, int up)
{
	int i;

	for (i = (int)bits_of(h) / 8 - 1; i >= 0; i--) {
		if (up) {
			if (++h->addr[i] != 0)
				return 1;
		} else {
			if (h->addr[i]-- != 0)
				return 1;
		}
	}
	return 0;
}

static int in_list(const struct cidr_list *l, const struct cidr *h)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_contains(&l->items[i], h))
			return 1;
	return 0;
}

static void check_point(const struct cidr *from, const struct cidr_list *minus,
			const struct cidr_list *res, const struct cidr *h)
{
	char buf[CIDR_STRLEN];
	int in_from = cidr_contains(from, h);
	int in_minus = in_list(minus, h);
	int in_res = in_list(res, h);

	cidr_format(h, buf, 0);
	if (in_res && !in_from)
		fail_msg("%s is in the result but not in from", buf);
	if (in_res && in_minus)
		fail_msg("%s is in the result and in minus", buf);
	if (in_from && !in_res && !in_minus)
		fail_msg("%s is lost: in from, in neither result nor minus",
			 buf);
}

/* Probe the address itself and its neighbours on both sides. */
static void check_around(const struct cidr *from, const struct cidr_list *minus,
			 const struct cidr_list *res, const struct cidr *h)
{
	struct cidr t = *h;

	check_point(from, minus, res, &t);
	if (step(&t, 1))
		check_point(from, minus, res, &t);
	t = *h;
	if (step(&t, 0))
		check_point(from, minus, res, &t);
}

/* The result must be a normalized list: sorted, disjoint, no siblings. */
static void check_normal(const struct cidr_list *l)
{
	size_t i;

	for (i = 0; i + 1 < l->n; i++) {
		const struct cidr *a = &l->items[i], *b = &l->items[i + 1];
		struct cidr pa = *a, pb = *b;

		assert_true(cidr_cmp(a, b) < 0);
		assert_false(cidr_overlaps(a, b));
		if (a->family == b->family && a->len == b->len && a->len > 0) {
			pa.len--;
			pb.len--;
			cidr_mask(&pa);
			cidr_mask(&pb);
			assert_false(cidr_cmp(&pa, &pb) == 0);
		}
	}
}

/*
 * result == from \ minus, checked at every boundary address of every
 * prefix involved (where an off-by-one would show).
 */
static void check_subtract(const struct cidr *from,
			   const struct cidr_list *minus,
			   const struct cidr_list *res)
{
	size_t i;
	struct cidr e;

	check_normal(res);
	for (i = 0; i < res->n; i++)
		assert_true(cidr_contains(from, &res->items[i]));
	e = edge(from, 0);
	check_around(from, minus, res, &e);
	e = edge(from, 1);
	check_around(from, minus, res, &e);
	for (i = 0; i < minus->n; i++) {
		if (minus->items[i].family != from->family)
			continue;
		e = edge(&minus->items[i], 0);
		check_around(from, minus, res, &e);
		e = edge(&minus->items[i], 1);
		check_around(from, minus, res, &e);
	}
	for (i = 0; i < res->n; i++) {
		e = edge(&res->items[i], 0);
		check_around(from, minus, res, &e);
		e = edge(&res->items[i], 1);
		check_around(from, minus, res, &e);
	}
}

/* xorshift64: a local, seeded generator keeps the tests reproducible. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct cidr random_cidr(uint64_t *seed, int family)
{
	struct cidr c;
	unsigned i;
	uint64_t r = rnd(seed);

	memset(&c, 0, sizeof c);
	c.family = (uint8_t)family;
	for (i = 0; i < 16; i++)
		c.addr[i] = (uint8_t)rnd(seed);
	/* Zero groups are where IPv6 formatting goes wrong: make many. */
	for (i = 0; i < 8; i++)
		if (rnd(seed) % 2)
			c.addr[2 * i] = c.addr[2 * i + 1] = 0;
	if (family == CIDR_V6 && r % 7 == 0) {
		memset(c.addr, 0, 10);
		c.addr[10] = c.addr[11] = 0xff;
	}
	c.len = (uint8_t)(rnd(seed) % (bits_of(&c) + 1));
	if (r % 3 == 0)
		c.len = (uint8_t)bits_of(&c);
	cidr_mask(&c);
	return c;
}

/* ---------------------------------------------------- parse: accepted */

static void test_parse_v4_host(void **state)
{
	struct cidr c = P("1.2.3.4/32");
	static const uint8_t want[16] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.len, 32);
	assert_memory_equal(c.addr, want, 16);
}

static void test_parse_v4_default_route(void **state)
{
	struct cidr c = P("0.0.0.0/0");
	static const uint8_t zero[16] = { 0 };

	(void)state;
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.len, 0);
	assert_memory_equal(c.addr, zero, 16);
}

static void test_parse_v4_broadcast(void **state)
{
	struct cidr c = P("255.255.255.255/32");

	(void)state;
	assert_int_equal(c.addr[0], 255);
	assert_int_equal(c.addr[3], 255);
	assert_int_equal(c.addr[4], 0);
	assert_int_equal(c.len, 32);
}

static void test_parse_v4_zero_octets(void **state)
{
	struct cidr c = P("10.0.0.0/8");

	(void)state;
	assert_int_equal(c.addr[0], 10);
	assert_int_equal(c.addr[1], 0);
	assert_int_equal(c.len, 8);
	(void)P("0.0.0.0/32");
	(void)P("100.64.0.0/10");
	(void)P("192.168.0.0/16");
	(void)P("172.16.0.0/12");
}

static void test_parse_v4_every_length(void **state)
{
	char buf[32];
	unsigned len;

	(void)state;
	for (len = 0; len <= 32; len++) {
		struct cidr c;
		size_t n = 8;

		/* 0.0.0.0/len has no host bits at any length. */
		memcpy(buf, "0.0.0.0/", 8);
		if (len >= 10)
			buf[n++] = (char)('0' + len / 10);
		buf[n++] = (char)('0' + len % 10);
		assert_int_equal(cidr_parse(buf, n, &c), CIDR_OK);
		assert_int_equal(c.len, len);
	}
}

static void test_parse_v6_any(void **state)
{
	struct cidr c = P("::/0");
	static const uint8_t zero[16] = { 0 };

	(void)state;
	assert_int_equal(c.family, CIDR_V6);
	assert_int_equal(c.len, 0);
	assert_memory_equal(c.addr, zero, 16);
}

static void test_parse_v6_unspecified_host(void **state)
{
	struct cidr c = P("::/128");

	(void)state;
	assert_int_equal(c.family, CIDR_V6);
	assert_int_equal(c.len, 128);
}

static void test_parse_v6_loopback(void **state)
{
	struct cidr c = P("::1/128");
	static const uint8_t want[16] = { [15] = 1 };

	(void)state;
	assert_memory_equal(c.addr, want, 16);
}

static void test_parse_v6_all_ones(void **state)
{
	struct cidr c = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	uint8_t want[16];

	(void)state;
	memset(want, 0xff, sizeof want);
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(c.len, 128);
}

static void test_parse_v6_mapped(void **state)
{
	struct cidr c = P("::ffff:1.2.3.4/128");
	static const uint8_t want[16] = { [10] = 0xff, [11] = 0xff,
					  [12] = 1, [13] = 2, [14] = 3,
					  [15] = 4 };

	(void)state;
	assert_int_equal(c.family, CIDR_V6);
	assert_memory_equal(c.addr, want, 16);
}

static void test_parse_v6_embedded_v4_forms(void **state)
{
	struct cidr a = P("::ffff:1.2.3.4/128");
	struct cidr b = P("0:0:0:0:0:ffff:1.2.3.4/128");
	struct cidr c = P("::ffff:102:304/128");
	struct cidr d = P("1:2:3:4:5:6:7.8.9.10/128");
	struct cidr e = P("1:2:3:4:5:6:708:90a/128");

	(void)state;
	expect_same(&a, &b);
	expect_same(&a, &c);
	expect_same(&d, &e);
	/* IPv4-compatible (deprecated, still RFC 4291 syntax). */
	(void)P("::1.2.3.4/128");
	(void)P("1::1.2.3.4/128");
	(void)P("::0.0.0.0/128");
	(void)P("::255.255.255.255/128");
}

static void test_parse_v6_trailing_double_colon(void **state)
{
	struct cidr c = P("1::/16");

	(void)state;
	assert_int_equal(c.addr[0], 0);
	assert_int_equal(c.addr[1], 1);
	assert_int_equal(c.len, 16);
	(void)P("1:2:3:4:5:6:7::/128");
	(void)P("fe80::/10");
}

static void test_parse_v6_leading_double_colon(void **state)
{
	struct cidr a = P("::2:3:4:5:6:7:8/128");
	struct cidr b = P("0:2:3:4:5:6:7:8/128");

	(void)state;
	expect_same(&a, &b);
}

static void test_parse_v6_double_colon_one_group(void **state)
{
	/* RFC 4291 lets "::" stand for a single group on input. */
	struct cidr a = P("1:2:3:4:5:6::8/128");
	struct cidr b = P("1:2:3:4:5:6:0:8/128");

	(void)state;
	expect_same(&a, &b);
}

static void test_parse_v6_uppercase(void **state)
{
	struct cidr a = P("2001:DB8::/32");
	struct cidr b = P("2001:db8::/32");
	struct cidr c = P("2001:dB8::/32");
	struct cidr d = P("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128");
	struct cidr e = P("abcd:ef01:2345:6789:abcd:ef01:2345:6789/128");

	(void)state;
	expect_same(&a, &b);
	expect_same(&a, &c);
	expect_same(&d, &e);
}

static void test_parse_v6_group_widths(void **state)
{
	struct cidr a = P("2001:0db8:0000:0000:0000:0000:0000:0001/128");
	struct cidr b = P("2001:db8:0:0:0:0:0:1/128");
	struct cidr c = P("2001:db8:00:000::0001/128");

	(void)state;
	expect_same(&a, &b);
	expect_same(&a, &c);
}

static void test_parse_v6_every_length(void **state)
{
	unsigned len;

	(void)state;
	for (len = 0; len <= 128; len++) {
		char buf[16];
		size_t n = 3;
		struct cidr c;

		memcpy(buf, "::/", 3);
		if (len >= 100)
			buf[n++] = (char)('0' + len / 100);
		if (len >= 10)
			buf[n++] = (char)('0' + len / 10 % 10);
		buf[n++] = (char)('0' + len % 10);
		assert_int_equal(cidr_parse(buf, n, &c), CIDR_OK);
		assert_int_equal(c.len, len);
	}
}

static void test_parse_respects_n(void **state)
{
	struct cidr c;
	const char *s = "10.0.0.0/8XYZ";

	(void)state;
	/* Trailing bytes beyond n must not be looked at. */
	assert_int_equal(cidr_parse(s, 10, &c), CIDR_OK);
	assert_int_equal(c.len, 8);
	/* "10.0.0.0/24" cut to "10.0.0.0/2": host bits set at /2. */
	assert_int_equal(cidr_parse("10.0.0.0/24", 10, &c), CIDR_E_HOSTBITS);
	assert_int_equal(c.len, 2);
	assert_int_equal(c.addr[0], 0);
	/* Cut to "10.0.0.0/": prefix missing. */
	assert_int_equal(cidr_parse("10.0.0.0/24", 9, &c), CIDR_E_PREFIX);
}

static void test_parse_unterminated_buffer(void **state)
{
	(void)state;
	expect_err_n("1.2.3.4/32", 10, CIDR_OK);
	expect_err_n("::ffff:1.2.3.4/128", 18, CIDR_OK);
	expect_err_n("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 43,
		     CIDR_OK);
	expect_err_n("1.2.3.4", 7, CIDR_E_NOPREFIX);
	expect_err_n("1.2.3.4/", 8, CIDR_E_PREFIX);
	expect_err_n("1::", 3, CIDR_E_NOPREFIX);
	expect_err_n("1:", 2, CIDR_E_SYNTAX);
	expect_err_n("::ffff:1.2.3.", 13, CIDR_E_SYNTAX);
	expect_err_n("fe80::1%", 8, CIDR_E_ZONE);
	expect_err_n("1.2.3.4/32 ", 11, CIDR_E_SPACE);
}

static void test_parse_nul_bytes(void **state)
{
	(void)state;
	expect_err_n("1.2.3.4\0/32", 11, CIDR_E_SYNTAX);
	expect_err_n("1.2.3.4/3\0", 10, CIDR_E_PREFIX);
	expect_err_n("1.2.3.4/32\0", 11, CIDR_E_PREFIX);
	expect_err_n("\0" "1.2.3.4/32", 11, CIDR_E_SYNTAX);
	expect_err_n("::\0/0", 5, CIDR_E_SYNTAX);
	expect_err_n("\0", 1, CIDR_E_SYNTAX);
}

/* ---------------------------------------------------- parse: rejected */

static void test_parse_empty(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("", 0, &c), CIDR_E_SYNTAX);
	assert_int_equal(cidr_parse(NULL, 0, &c), CIDR_E_SYNTAX);
	expect_err("/", CIDR_E_SYNTAX);
	expect_err("/32", CIDR_E_SYNTAX);
	expect_err("/0", CIDR_E_SYNTAX);
}

static void test_parse_no_prefix(void **state)
{
	(void)state;
	expect_err("1.2.3.4", CIDR_E_NOPREFIX);
	expect_err("0.0.0.0", CIDR_E_NOPREFIX);
	expect_err("::1", CIDR_E_NOPREFIX);
	expect_err("::", CIDR_E_NOPREFIX);
	expect_err("::ffff:1.2.3.4", CIDR_E_NOPREFIX);
	/* A bad address says what is wrong with the address first. */
	expect_err("01.2.3.4", CIDR_E_LEADZERO);
	expect_err("garbage", CIDR_E_SYNTAX);
	expect_err("1.2.3", CIDR_E_SYNTAX);
}

static void test_parse_prefix_out_of_range(void **state)
{
	(void)state;
	expect_err("1.2.3.4/33", CIDR_E_PREFIX);
	expect_err("0.0.0.0/33", CIDR_E_PREFIX);
	expect_err("::/129", CIDR_E_PREFIX);
	expect_err("::/255", CIDR_E_PREFIX);
	expect_err("::/256", CIDR_E_PREFIX);
	expect_err("::/1000", CIDR_E_PREFIX);
	expect_err("1.2.3.4/4294967328", CIDR_E_PREFIX); /* 2^32 + 32 */
	expect_err("::/99999999999999999999999", CIDR_E_PREFIX);
	/* An IPv4 length limit does not apply inside IPv6 and vice versa. */
	expect_err("::ffff:1.2.3.4/33", CIDR_E_HOSTBITS);
}

static void test_parse_prefix_missing(void **state)
{
	(void)state;
	expect_err("1.2.3.4/", CIDR_E_PREFIX);
	expect_err("::/", CIDR_E_PREFIX);
}

static void test_parse_prefix_leading_zero(void **state)
{
	(void)state;
	expect_err("1.2.3.4/032", CIDR_E_PREFIX);
	expect_err("10.0.0.0/08", CIDR_E_PREFIX);
	expect_err("0.0.0.0/00", CIDR_E_PREFIX);
	expect_err("::/0128", CIDR_E_PREFIX);
	expect_err("::/000", CIDR_E_PREFIX);
}

static void test_parse_prefix_sign_and_junk(void **state)
{
	(void)state;
	expect_err("1.2.3.4/+3", CIDR_E_PREFIX);
	expect_err("1.2.3.4/-3", CIDR_E_PREFIX);
	expect_err("1.2.3.4/-0", CIDR_E_PREFIX);
	expect_err("1.2.3.4/3a", CIDR_E_PREFIX);
	expect_err("1.2.3.4/0x8", CIDR_E_PREFIX);
	expect_err("1.2.3.4/a", CIDR_E_PREFIX);
	expect_err("1.2.3.4/32.", CIDR_E_PREFIX);
	expect_err("1.2.3.4/255.255.255.255", CIDR_E_PREFIX); /* no masks */
	/* Split at the last '/': the address then holds a '/'. */
	expect_err("1.2.3.4//32", CIDR_E_SYNTAX);
	expect_err("1.2.3.4/32/32", CIDR_E_SYNTAX);
}

static void test_parse_spaces(void **state)
{
	(void)state;
	expect_err(" 1.2.3.4/32", CIDR_E_SPACE);
	expect_err("1.2.3.4/32 ", CIDR_E_SPACE);
	expect_err("1.2.3.4 /32", CIDR_E_SPACE);
	expect_err("1.2.3.4/ 3", CIDR_E_SPACE);
	expect_err("1.2. 3.4/32", CIDR_E_SPACE);
	expect_err("1.2.3.4/32\n", CIDR_E_SPACE);
	expect_err("\t1.2.3.4/32", CIDR_E_SPACE);
	expect_err("1.2.3.4/3\r", CIDR_E_SPACE);
	expect_err("1.2.3.4/3\v", CIDR_E_SPACE);
	expect_err("1.2.3.4/3\f", CIDR_E_SPACE);
	expect_err(":: /0", CIDR_E_SPACE);
	expect_err(" ", CIDR_E_SPACE);
	/* Spaces are reported before any other fault. */
	expect_err("01.2.3.4 /33", CIDR_E_SPACE);
	expect_err("fe80::1%eth 0/64", CIDR_E_SPACE);
}

static void test_parse_leading_zero_octet(void **state)
{
	(void)state;
	expect_err("01.2.3.4/32", CIDR_E_LEADZERO);
	expect_err("1.02.3.4/32", CIDR_E_LEADZERO);
	expect_err("1.2.03.4/32", CIDR_E_LEADZERO);
	expect_err("1.2.3.04/32", CIDR_E_LEADZERO);
	expect_err("1.2.3.00/32", CIDR_E_LEADZERO);
	expect_err("010.0.0.0/8", CIDR_E_LEADZERO);
	expect_err("00.0.0.0/0", CIDR_E_LEADZERO);
}

static void test_parse_v4_too_few_parts(void **state)
{
	(void)state;
	expect_err("10/8", CIDR_E_SYNTAX);
	expect_err("10.0/16", CIDR_E_SYNTAX);
	expect_err("10.0.0/24", CIDR_E_SYNTAX);
	expect_err("10./8", CIDR_E_SYNTAX);
}

static void test_parse_v4_bad_syntax(void **state)
{
	(void)state;
	expect_err("1.2.3.4.5/32", CIDR_E_SYNTAX);
	expect_err("256.0.0.0/8", CIDR_E_SYNTAX);
	expect_err("1.2.3.256/32", CIDR_E_SYNTAX);
	expect_err("1.2.3.999/32", CIDR_E_SYNTAX);
	expect_err("1.2.3.1000/32", CIDR_E_SYNTAX);
	expect_err("1..3.4/32", CIDR_E_SYNTAX);
	expect_err(".1.2.3/32", CIDR_E_SYNTAX);
	expect_err("1.2.3./32", CIDR_E_SYNTAX);
	expect_err("1.2.3.4./32", CIDR_E_SYNTAX);
	expect_err("a.b.c.d/32", CIDR_E_SYNTAX);
	expect_err("1.2.3.4a/32", CIDR_E_SYNTAX);
	expect_err("-1.2.3.4/32", CIDR_E_SYNTAX);
	expect_err("+1.2.3.4/32", CIDR_E_SYNTAX);
	expect_err("1.2.3.-4/32", CIDR_E_SYNTAX);
	expect_err("[1.2.3.4]/32", CIDR_E_SYNTAX);
}

static void test_parse_v4_octal_hex_forms(void **state)
{
	(void)state;
	/* inet_aton would read these as other addresses; we never do. */
	expect_err("0x7f.0.0.1/32", CIDR_E_SYNTAX);
	expect_err("0X7F.0.0.1/32", CIDR_E_SYNTAX);
	expect_err("0x7f000001/32", CIDR_E_SYNTAX);
	expect_err("2130706433/32", CIDR_E_SYNTAX);
	expect_err("127.1/32", CIDR_E_SYNTAX);
	expect_err("0177.0.0.1/32", CIDR_E_LEADZERO);
	expect_err("012.1.2.3/32", CIDR_E_LEADZERO);
	expect_err("1.2.3.0x4/32", CIDR_E_SYNTAX);
}

static void test_parse_host_bits_v4(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("10.1.2.3/8", 10, &c), CIDR_E_HOSTBITS);
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.len, 8);
	assert_int_equal(c.addr[0], 10);
	assert_int_equal(c.addr[1], 0);
	assert_int_equal(c.addr[2], 0);
	assert_int_equal(c.addr[3], 0);

	assert_int_equal(cidr_parse("1.2.3.4/0", 9, &c), CIDR_E_HOSTBITS);
	assert_int_equal(c.len, 0);
	assert_int_equal(c.addr[0], 0);

	expect_err("10.0.0.1/31", CIDR_E_HOSTBITS);
	expect_err("10.0.0.128/24", CIDR_E_HOSTBITS);
	expect_err("255.255.255.255/31", CIDR_E_HOSTBITS);
	expect_err("10.0.0.2/31", CIDR_OK);
}

static void test_parse_host_bits_v6(void **state)
{
	struct cidr c, want = P("2001:db8::/32");
	const char *s = "2001:db8::1/32";

	(void)state;
	assert_int_equal(cidr_parse(s, strlen(s), &c), CIDR_E_HOSTBITS);
	expect_same(&c, &want);
	expect_err("::1/127", CIDR_E_HOSTBITS);
	expect_err("8000::/0", CIDR_E_HOSTBITS);
	expect_err("fe80::1/64", CIDR_E_HOSTBITS);
	expect_err("::ffff:1.2.3.4/120", CIDR_E_HOSTBITS);
	expect_err("::ffff:1.2.3.0/120", CIDR_OK);
}

static void test_parse_zone(void **state)
{
	(void)state;
	expect_err("fe80::1%eth0/64", CIDR_E_ZONE);
	expect_err("fe80::1%eth0", CIDR_E_ZONE);
	expect_err("fe80::%1/64", CIDR_E_ZONE);
	expect_err("fe80::1%/64", CIDR_E_ZONE);
	expect_err("fe80::1%a/b/64", CIDR_E_ZONE);
	/* IPv4 has no zones: that is just garbage. */
	expect_err("1.2.3.4%eth0/32", CIDR_E_SYNTAX);
	expect_err("%eth0/64", CIDR_E_SYNTAX);
	expect_err("fe80::zz%eth0/64", CIDR_E_SYNTAX);
}

static void test_parse_v6_bad_colons(void **state)
{
	(void)state;
	expect_err(":::/0", CIDR_E_SYNTAX);
	expect_err("::::/0", CIDR_E_SYNTAX);
	expect_err("1:::2/128", CIDR_E_SYNTAX);
	expect_err("1::2::3/128", CIDR_E_SYNTAX);
	expect_err("::1::/128", CIDR_E_SYNTAX);
	expect_err(":1::/16", CIDR_E_SYNTAX);
	expect_err("1::2:/128", CIDR_E_SYNTAX);
	expect_err(":/0", CIDR_E_SYNTAX);
	expect_err("1:2:3:4:5:6:7:8:/128", CIDR_E_SYNTAX);
	expect_err(":1:2:3:4:5:6:7:8/128", CIDR_E_SYNTAX);
}

static void test_parse_v6_group_count(void **state)
{
	(void)state;
	expect_err("1:2:3:4:5:6:7:8:9/128", CIDR_E_SYNTAX);
	expect_err("1:2:3:4:5:6:7/128", CIDR_E_SYNTAX);
	expect_err("1/128", CIDR_E_SYNTAX);
	/* "::" must stand for at least one group. */
	expect_err("1:2:3:4:5:6:7:8::/128", CIDR_E_SYNTAX);
	expect_err("::1:2:3:4:5:6:7:8/128", CIDR_E_SYNTAX);
	expect_err("1:2:3:4::5:6:7:8/128", CIDR_E_SYNTAX);
}

static void test_parse_v6_bad_groups(void **state)
{
	(void)state;
	expect_err("12345::/16", CIDR_E_SYNTAX);
	expect_err("1:00000::/32", CIDR_E_SYNTAX);
	expect_err("::10000/128", CIDR_E_SYNTAX);
	expect_err("g::/16", CIDR_E_SYNTAX);
	expect_err("::-1/128", CIDR_E_SYNTAX);
	expect_err("-::/0", CIDR_E_SYNTAX);
	expect_err("[::1]/128", CIDR_E_SYNTAX);
	expect_err("0x1::/16", CIDR_E_SYNTAX);
}

static void test_parse_v6_bad_embedded_v4(void **state)
{
	(void)state;
	expect_err("::ffff:1.2.3/128", CIDR_E_SYNTAX);
	expect_err("::ffff:1.2.3.4.5/128", CIDR_E_SYNTAX);
	expect_err("::ffff:1.2.3.256/128", CIDR_E_SYNTAX);
	expect_err("::ffff:1.2.3./128", CIDR_E_SYNTAX);
	expect_err("::ffff:1.2..4/128", CIDR_E_SYNTAX);
	expect_err("::1.2.3.4:5/128", CIDR_E_SYNTAX);
	expect_err("1.2.3.4::/128", CIDR_E_SYNTAX);
	expect_err("::1.2.3.4::/128", CIDR_E_SYNTAX);
	/* The dotted quad must be the last 32 bits... */
	expect_err("1:2:3:4:5:1.2.3.4/128", CIDR_E_SYNTAX);
	expect_err("1:2:3:4:5:6:7:1.2.3.4/128", CIDR_E_SYNTAX);
	expect_err("1:2:3:4:5:6:7::1.2.3.4/128", CIDR_E_SYNTAX);
	expect_err("::ffff:1a.2.3.4/128", CIDR_E_SYNTAX);
	expect_err("::ffff:0x1.2.3.4/128", CIDR_E_SYNTAX);
	/* ...with octets as strict as plain IPv4. */
	expect_err("::ffff:01.2.3.4/128", CIDR_E_LEADZERO);
	expect_err("::ffff:1.2.3.04/128", CIDR_E_LEADZERO);
	expect_err("::ffff:0001.2.3.4/128", CIDR_E_LEADZERO);
}

static void test_parse_error_clears_out(void **state)
{
	struct cidr c;

	(void)state;
	memset(&c, 0xa5, sizeof c);
	assert_int_equal(cidr_parse("1.2.3", 5, &c), CIDR_E_SYNTAX);
	assert_int_equal(c.family, 0);
	memset(&c, 0xa5, sizeof c);
	assert_int_equal(cidr_parse("1.2.3.4/33", 10, &c), CIDR_E_PREFIX);
	assert_int_equal(c.family, 0);
}

static void test_parse_addr(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse_addr("1.2.3.4", 7, &c), CIDR_OK);
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.len, 32);
	assert_int_equal(c.addr[3], 4);
	assert_int_equal(cidr_parse_addr("::1", 3, &c), CIDR_OK);
	assert_int_equal(c.family, CIDR_V6);
	assert_int_equal(c.len, 128);
	assert_int_equal(c.addr[15], 1);
	assert_int_equal(cidr_parse_addr("::ffff:10.0.0.1", 15, &c), CIDR_OK);
	assert_int_equal(c.addr[12], 10);

	assert_int_equal(cidr_parse_addr("1.2.3.4/32", 10, &c),
			 CIDR_E_SYNTAX);
	assert_int_equal(cidr_parse_addr("", 0, &c), CIDR_E_SYNTAX);
	assert_int_equal(cidr_parse_addr(" 1.2.3.4", 8, &c), CIDR_E_SPACE);
	assert_int_equal(cidr_parse_addr("01.2.3.4", 8, &c),
			 CIDR_E_LEADZERO);
	assert_int_equal(cidr_parse_addr("fe80::1%eth0", 12, &c),
			 CIDR_E_ZONE);
	assert_int_equal(cidr_parse_addr("1:2:3", 5, &c), CIDR_E_SYNTAX);
	assert_int_equal(cidr_parse_addr("1.2.3.4XX", 7, &c), CIDR_OK);
}

static void test_strerror(void **state)
{
	static const int codes[] = { CIDR_OK, CIDR_E_SYNTAX, CIDR_E_NOPREFIX,
				     CIDR_E_PREFIX, CIDR_E_LEADZERO,
				     CIDR_E_HOSTBITS, CIDR_E_ZONE,
				     CIDR_E_SPACE };
	size_t i, j, n = sizeof codes / sizeof codes[0];

	(void)state;
	for (i = 0; i < n; i++) {
		const char *m = cidr_strerror(codes[i]);
		assert_non_null(m);
		assert_true(strlen(m) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(m, cidr_strerror(codes[j]));
	}
	assert_non_null(cidr_strerror(-99));
	assert_non_null(cidr_strerror(42));
}

/* ----------------------------------------------------------- format */

static void test_format_v4(void **state)
{
	char buf[CIDR_STRLEN];
	struct cidr c = P("1.2.3.4/32");

	(void)state;
	expect_fmt("0.0.0.0/0", "0.0.0.0/0");
	expect_fmt("255.255.255.255/32", "255.255.255.255/32");
	expect_fmt("10.0.0.0/8", "10.0.0.0/8");
	expect_fmt("100.64.0.0/10", "100.64.0.0/10");
	assert_int_equal(cidr_format(&c, buf, 0), 7);
	assert_string_equal(buf, "1.2.3.4");
}

static void test_format_v6_specials(void **state)
{
	(void)state;
	expect_fmt("::/0", "::/0");
	expect_fmt("::/128", "::/128");
	expect_fmt("::1/128", "::1/128");
	expect_fmt("0:0:0:0:0:0:0:1/128", "::1/128");
	expect_fmt("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	expect_fmt("1::/16", "1::/16");
	expect_fmt("fe80::/10", "fe80::/10");
}

static void test_format_v6_lowercase_no_leading_zeros(void **state)
{
	(void)state;
	expect_fmt("2001:0DB8:0:0::1/128", "2001:db8::1/128");
	expect_fmt("2001:0db8:0000:0000:0000:0000:0000:0001/128",
		   "2001:db8::1/128");
	expect_fmt("0001:00A0:0B00:C000::/64", "1:a0:b00:c000::/64");
	expect_fmt("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128",
		   "abcd:ef01:2345:6789:abcd:ef01:2345:6789/128");
}

static void test_format_v6_longest_run(void **state)
{
	(void)state;
	expect_fmt("1:0:0:1:0:0:0:1/128", "1:0:0:1::1/128");
	expect_fmt("1:0:0:0:1:0:0:1/128", "1::1:0:0:1/128");
	expect_fmt("0:0:1::/48", "0:0:1::/48");
	expect_fmt("0:0:1:0:0:0:1:1/128", "0:0:1::1:1/128");
	expect_fmt("1:0:0:0:0:0:0:1/128", "1::1/128");
}

static void test_format_v6_first_run_on_tie(void **state)
{
	(void)state;
	/* RFC 5952 section 4.2.3 example. */
	expect_fmt("2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128");
	expect_fmt("1:0:0:1:0:0:1:1/128", "1::1:0:0:1:1/128");
	expect_fmt("0:0:1:1:0:0:1:1/128", "::1:1:0:0:1:1/128");
	expect_fmt("1:1:0:0:1:1:0:0/128", "1:1::1:1:0:0/128");
	expect_fmt("0:0:0:1:0:0:0:0/128", "0:0:0:1::/128"); /* 4 beats 3 */
	expect_fmt("0:0:0:0:1:0:0:0/128", "::1:0:0:0/128");
}

static void test_format_v6_single_zero_group(void **state)
{
	(void)state;
	/* RFC 5952 section 4.2.2: one zero group is never "::". */
	expect_fmt("2001:db8:0:1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128");
	expect_fmt("2001:db8::1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128");
	expect_fmt("1:2:3:4:5:6:7::/128", "1:2:3:4:5:6:7:0/128");
	expect_fmt("::2:3:4:5:6:7:8/128", "0:2:3:4:5:6:7:8/128");
	expect_fmt("1:0:1:0:1:0:1:0/128", "1:0:1:0:1:0:1:0/128");
}

static void test_format_v6_mapped(void **state)
{
	(void)state;
	expect_fmt("::ffff:1.2.3.4/128", "::ffff:1.2.3.4/128");
	expect_fmt("::FFFF:0102:0304/128", "::ffff:1.2.3.4/128");
	expect_fmt("0:0:0:0:0:ffff:1.2.3.4/128", "::ffff:1.2.3.4/128");
	expect_fmt("::ffff:0:0/96", "::ffff:0.0.0.0/96");
	expect_fmt("::ffff:255.255.255.255/128",
		   "::ffff:255.255.255.255/128");
	expect_fmt("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");
}

static void test_format_v6_not_mapped(void **state)
{
	(void)state;
	/* Only ::ffff:0:0/96 gets the dotted form. */
	expect_fmt("::1.2.3.4/128", "::102:304/128");
	expect_fmt("::ffff:0:1.2.3.4/128", "::ffff:0:102:304/128");
	expect_fmt("64:ff9b::1.2.3.4/128", "64:ff9b::102:304/128");
	expect_fmt("::1:ffff:1.2.3.4/128", "::1:ffff:102:304/128");
	expect_fmt("1::ffff:1.2.3.4/128", "1::ffff:102:304/128");
	expect_fmt("::fffe:1.2.3.4/128", "::fffe:102:304/128");
	expect_fmt("::ffff/128", "::ffff/128");
}

static void test_format_longest_fits(void **state)
{
	char buf[CIDR_STRLEN];
	struct cidr c = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	struct cidr d = P("::ffff:255.255.255.255/128");

	(void)state;
	memset(buf, 'x', sizeof buf);
	assert_int_equal(cidr_format(&c, buf, 1), 43);
	assert_int_equal(buf[43], '\0');
	assert_true(cidr_format(&d, buf, 1) < CIDR_STRLEN);
	assert_true(cidr_format(&c, buf, 0) == 39);
}

static void test_format_round_trip_fixed(void **state)
{
	static const char *const in[] = {
		"0.0.0.0/0", "1.2.3.4/32", "::/0", "::1/128", "1::/16",
		"2001:db8::/32", "::ffff:1.2.3.4/128", "64:ff9b::/96",
		"fe80::/10", "1:0:0:1::1/128", "0:0:1::/48",
		"2001:db8::1:0:0:1/128", "ff02::1:ff00:0/104",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof in / sizeof in[0]; i++)
		expect_fmt(in[i], in[i]);
}

static void test_format_round_trip_random(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		struct cidr a = random_cidr(&seed, i % 3 ? CIDR_V6 : CIDR_V4);
		struct cidr b, c;
		char t1[CIDR_STRLEN], t2[CIDR_STRLEN];
		size_t n1 = cidr_format(&a, t1, 1);
		int rc = cidr_parse(t1, n1, &b);

		if (rc != CIDR_OK)
			fail_msg("re-parse of \"%s\" failed: %d", t1, rc);
		expect_same(&a, &b);
		cidr_format(&b, t2, 1);
		assert_string_equal(t1, t2);
		/* The bare address re-parses to the same bits too. */
		n1 = cidr_format(&a, t1, 0);
		assert_int_equal(cidr_parse_addr(t1, n1, &c), CIDR_OK);
		assert_memory_equal(c.addr, a.addr, 16);
	}
}

/* ------------------------------------------------------------ mask/cmp */

static void test_mask(void **state)
{
	struct cidr c;

	(void)state;
	memset(&c, 0xff, sizeof c);
	c.family = CIDR_V4;
	c.len = 9;
	cidr_mask(&c);
	assert_int_equal(c.addr[0], 0xff);
	assert_int_equal(c.addr[1], 0x80);
	assert_int_equal(c.addr[2], 0);
	assert_int_equal(c.addr[3], 0);
	assert_int_equal(c.addr[4], 0); /* unused IPv4 tail is cleared */

	memset(&c, 0xff, sizeof c);
	c.family = CIDR_V6;
	c.len = 0;
	cidr_mask(&c);
	assert_int_equal(c.addr[0], 0);
	assert_int_equal(c.addr[15], 0);

	memset(&c, 0xff, sizeof c);
	c.family = CIDR_V6;
	c.len = 128;
	cidr_mask(&c);
	assert_int_equal(c.addr[15], 0xff);

	memset(&c, 0xff, sizeof c);
	c.family = CIDR_V6;
	c.len = 127;
	cidr_mask(&c);
	assert_int_equal(c.addr[15], 0xfe);
}

static void test_cmp_order(void **state)
{
	struct cidr a = P("10.0.0.0/8"), b = P("10.0.0.0/9"),
		    c = P("10.128.0.0/9"), d = P("::/0"), e = P("0.0.0.0/0"),
		    f = P("255.255.255.255/32"), g = P("::1/128");

	(void)state;
	assert_true(cidr_cmp(&a, &a) == 0);
	assert_true(cidr_cmp(&a, &b) < 0); /* same address: shorter first */
	assert_true(cidr_cmp(&b, &a) > 0);
	assert_true(cidr_cmp(&b, &c) < 0);
	assert_true(cidr_cmp(&e, &a) < 0);
	assert_true(cidr_cmp(&f, &d) < 0); /* every v4 before any v6 */
	assert_true(cidr_cmp(&d, &f) > 0);
	assert_true(cidr_cmp(&d, &g) < 0);
}

/* ------------------------------------------------- contains/overlaps */

static void test_contains_v4_boundaries(void **state)
{
	struct cidr n = P("10.0.0.0/8");
	struct cidr first = P("10.0.0.0/32"), last = P("10.255.255.255/32"),
		    below = P("9.255.255.255/32"), above = P("11.0.0.0/32"),
		    wider = P("10.0.0.0/7"), sub = P("10.128.0.0/9");

	(void)state;
	assert_true(cidr_contains(&n, &first));
	assert_true(cidr_contains(&n, &last));
	assert_true(cidr_contains(&n, &sub));
	assert_true(cidr_contains(&n, &n));
	assert_false(cidr_contains(&n, &below));
	assert_false(cidr_contains(&n, &above));
	assert_false(cidr_contains(&n, &wider));
	assert_true(cidr_contains(&wider, &n));
	assert_false(cidr_contains(&sub, &n));
}

static void test_contains_odd_lengths(void **state)
{
	struct cidr n31 = P("10.0.0.0/31"), n25 = P("10.0.0.128/25");
	struct cidr h0 = P("10.0.0.0/32"), h1 = P("10.0.0.1/32"),
		    h2 = P("10.0.0.2/32"), h127 = P("10.0.0.127/32"),
		    h128 = P("10.0.0.128/32"), h255 = P("10.0.0.255/32"),
		    h256 = P("10.0.1.0/32");

	(void)state;
	assert_true(cidr_contains(&n31, &h0));
	assert_true(cidr_contains(&n31, &h1));
	assert_false(cidr_contains(&n31, &h2));
	assert_false(cidr_contains(&n25, &h127));
	assert_true(cidr_contains(&n25, &h128));
	assert_true(cidr_contains(&n25, &h255));
	assert_false(cidr_contains(&n25, &h256));
}

static void test_contains_zero_length(void **state)
{
	struct cidr all4 = P("0.0.0.0/0"), all6 = P("::/0");
	struct cidr top4 = P("255.255.255.255/32"), any4 = P("0.0.0.0/0");
	struct cidr top6 = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	struct cidr mapped = P("::ffff:1.2.3.4/128");

	(void)state;
	assert_true(cidr_contains(&all4, &top4));
	assert_true(cidr_contains(&all4, &any4));
	assert_true(cidr_contains(&all6, &top6));
	assert_true(cidr_contains(&all6, &mapped));
	/* Never across families, even for /0. */
	assert_false(cidr_contains(&all4, &all6));
	assert_false(cidr_contains(&all6, &all4));
	assert_false(cidr_contains(&all6, &top4));
}

static void test_contains_v6_boundaries(void **state)
{
	struct cidr n = P("2001:db8::/32");
	struct cidr last = P("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128"),
		    first = P("2001:db8::/128"),
		    after = P("2001:db9::/128"),
		    before = P("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff/128");
	struct cidr h = P("::1/128"), h2 = P("::/127");

	(void)state;
	assert_true(cidr_contains(&n, &first));
	assert_true(cidr_contains(&n, &last));
	assert_false(cidr_contains(&n, &after));
	assert_false(cidr_contains(&n, &before));
	assert_true(cidr_contains(&h2, &h));
	assert_false(cidr_contains(&h, &h2));
}

static void test_contains_v4_vs_mapped(void **state)
{
	struct cidr v4 = P("1.2.3.4/32"), m = P("::ffff:1.2.3.4/128");

	(void)state;
	/* Different families with related bytes stay unrelated. */
	assert_false(cidr_contains(&v4, &m));
	assert_false(cidr_contains(&m, &v4));
	assert_false(cidr_overlaps(&v4, &m));
}

static void test_overlaps(void **state)
{
	struct cidr a = P("10.0.0.0/9"), b = P("10.128.0.0/9"),
		    c = P("10.0.0.0/8"), d = P("10.127.255.255/32"),
		    e = P("10.128.0.0/32"), all = P("0.0.0.0/0"),
		    v6 = P("::/0");

	(void)state;
	assert_false(cidr_overlaps(&a, &b)); /* adjacent is not overlapping */
	assert_false(cidr_overlaps(&b, &a));
	assert_true(cidr_overlaps(&a, &c));
	assert_true(cidr_overlaps(&c, &a));
	assert_true(cidr_overlaps(&a, &d));
	assert_false(cidr_overlaps(&a, &e));
	assert_true(cidr_overlaps(&b, &e));
	assert_true(cidr_overlaps(&all, &e));
	assert_true(cidr_overlaps(&a, &a));
	/* The longer prefix first: only the shorter length may count. */
	assert_true(cidr_overlaps(&d, &a));
	assert_true(cidr_overlaps(&d, &c));
	assert_true(cidr_overlaps(&e, &b));
	assert_true(cidr_overlaps(&e, &all));
	assert_false(cidr_overlaps(&e, &a));
	assert_false(cidr_overlaps(&b, &d));
	assert_false(cidr_overlaps(&all, &v6));
	assert_true(cidr_overlaps(&v6, &v6));
}

/* ---------------------------------------------------------------- nat64 */

static void test_nat64_link_local(void **state)
{
	char buf[CIDR_STRLEN];
	struct cidr v4 = P("169.254.0.0/16");
	struct cidr r = cidr_nat64(&v4), want = P("64:ff9b::a9fe:0/112");

	(void)state;
	expect_same(&r, &want);
	cidr_format(&r, buf, 1);
	assert_string_equal(buf, "64:ff9b::a9fe:0/112");
}

static void test_nat64_edges(void **state)
{
	char buf[CIDR_STRLEN];
	struct cidr all = P("0.0.0.0/0"), host = P("192.0.2.33/32"),
		    top = P("255.255.255.255/32");
	struct cidr r;

	(void)state;
	r = cidr_nat64(&all);
	cidr_format(&r, buf, 1);
	assert_string_equal(buf, "64:ff9b::/96");
	r = cidr_nat64(&host); /* RFC 6052 section 2.4 example */
	cidr_format(&r, buf, 1);
	assert_string_equal(buf, "64:ff9b::c000:221/128");
	r = cidr_nat64(&top);
	cidr_format(&r, buf, 1);
	assert_string_equal(buf, "64:ff9b::ffff:ffff/128");
}

static void test_nat64_rejects_v6(void **state)
{
	struct cidr v6 = P("::/0");
	struct cidr r = cidr_nat64(&v6);

	(void)state;
	assert_int_equal(r.family, 0);
}

/* ---------------------------------------------------------------- lists */

static void test_list_add_grows(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	struct cidr c = P("10.0.0.0/8");
	size_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		c.addr[1] = (uint8_t)i;
		c.len = 16;
		assert_int_equal(cidr_list_add(&l, &c), 0);
	}
	assert_int_equal(l.n, 1000);
	assert_true(l.cap >= 1000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(l.items[i].addr[1], (uint8_t)i);
	cidr_list_free(&l);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	cidr_list_free(&l); /* freeing twice is harmless */
}

static void test_normalize_empty_and_single(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "10.0.0.0/8" };

	(void)state;
	cidr_list_normalize(&l);
	assert_int_equal(l.n, 0);
	add(&l, "10.0.0.0/8");
	cidr_list_normalize(&l);
	expect_list(&l, want, 1);
	cidr_list_free(&l);
}

static void test_normalize_sorts(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "1.0.0.0/8", "3.0.0.0/8",
					    "10.0.0.0/8" };

	(void)state;
	add(&l, "10.0.0.0/8");
	add(&l, "3.0.0.0/8");
	add(&l, "1.0.0.0/8");
	cidr_list_normalize(&l);
	expect_list(&l, want, 3);
	cidr_list_free(&l);
}

static void test_normalize_duplicates(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "10.0.0.0/8", "::1/128" };

	(void)state;
	add(&l, "::1/128");
	add(&l, "10.0.0.0/8");
	add(&l, "::1/128");
	add(&l, "10.0.0.0/8");
	add(&l, "10.0.0.0/8");
	cidr_list_normalize(&l);
	expect_list(&l, want, 2);
	cidr_list_free(&l);
}

static void test_normalize_contained(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "10.0.0.0/8", "192.168.0.0/16" };

	(void)state;
	add(&l, "10.1.0.0/16");
	add(&l, "192.168.1.0/24");
	add(&l, "10.0.0.0/8");
	add(&l, "10.255.255.255/32");
	add(&l, "192.168.0.0/16");
	add(&l, "10.0.0.0/9");
	cidr_list_normalize(&l);
	expect_list(&l, want, 2);
	cidr_list_free(&l);
}

static void test_normalize_siblings(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "10.0.0.0/8" };

	(void)state;
	add(&l, "10.128.0.0/9");
	add(&l, "10.0.0.0/9");
	cidr_list_normalize(&l);
	expect_list(&l, want, 1);
	cidr_list_free(&l);
}

static void test_normalize_adjacent_not_siblings(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	/* Touching but not halves of one parent: must stay apart. */
	static const char *const want[] = { "10.128.0.0/9", "11.0.0.0/9" };

	(void)state;
	add(&l, "11.0.0.0/9");
	add(&l, "10.128.0.0/9");
	cidr_list_normalize(&l);
	expect_list(&l, want, 2);
	cidr_list_free(&l);
}

static void test_normalize_cascade(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "10.0.0.0/8" };

	(void)state;
	add(&l, "10.192.0.0/10");
	add(&l, "10.0.0.0/9");
	add(&l, "10.160.0.0/11");
	add(&l, "10.128.0.0/11");
	cidr_list_normalize(&l);
	expect_list(&l, want, 1);
	cidr_list_free(&l);
}

static void test_normalize_hosts_to_block(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	struct cidr c = P("192.0.2.0/32");
	static const char *const want[] = { "192.0.2.0/24" };
	unsigned i;

	(void)state;
	/* All 256 hosts, in a scrambled order (167 is odd, so a bijection). */
	for (i = 0; i < 256; i++) {
		c.addr[3] = (uint8_t)(i * 167u);
		assert_int_equal(cidr_list_add(&l, &c), 0);
	}
	cidr_list_normalize(&l);
	expect_list(&l, want, 1);
	cidr_list_free(&l);
}

static void test_normalize_hosts_missing_one(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	struct cidr c = P("192.0.2.0/32");
	static const char *const want[] = {
		"192.0.2.0/25", "192.0.2.128/26", "192.0.2.192/27",
		"192.0.2.224/28", "192.0.2.240/29", "192.0.2.248/30",
		"192.0.2.252/31", "192.0.2.254/32",
	};
	unsigned i;

	(void)state;
	for (i = 0; i < 255; i++) {
		c.addr[3] = (uint8_t)(254u - i);
		assert_int_equal(cidr_list_add(&l, &c), 0);
	}
	cidr_list_normalize(&l);
	expect_list(&l, want, 8);
	cidr_list_free(&l);
}

static void test_normalize_whole_space(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = { "0.0.0.0/0", "::/0" };

	(void)state;
	add(&l, "8000::/1");
	add(&l, "128.0.0.0/1");
	add(&l, "::/1");
	add(&l, "0.0.0.0/1");
	cidr_list_normalize(&l);
	expect_list(&l, want, 2);
	cidr_list_free(&l);
}

static void test_normalize_mixed_families(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	static const char *const want[] = {
		"10.0.0.0/8", "192.168.0.0/16", "::ffff:10.0.0.0/104",
		"2001:db8::/32",
	};

	(void)state;
	add(&l, "2001:db8:8000::/33");
	add(&l, "192.168.0.0/16");
	add(&l, "::ffff:10.0.0.0/104");
	add(&l, "2001:db8::/33");
	add(&l, "10.0.0.0/8");
	add(&l, "2001:db8:1::/48");
	cidr_list_normalize(&l);
	expect_list(&l, want, 4);
	cidr_list_free(&l);
}

static void test_normalize_families_never_merge(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	struct cidr a = P("0.0.0.0/1"), b = P("::/1");
	static const char *const want[] = { "0.0.0.0/1", "::/1" };

	(void)state;
	/* Same bytes, same length, different family: no containment. */
	b.addr[0] = a.addr[0];
	assert_int_equal(cidr_list_add(&l, &b), 0);
	assert_int_equal(cidr_list_add(&l, &a), 0);
	cidr_list_normalize(&l);
	expect_list(&l, want, 2);
	cidr_list_free(&l);
}

static void test_normalize_idempotent_random(void **state)
{
	uint64_t seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct cidr_list l = { NULL, 0, 0 };
		size_t i, n0;
		struct cidr_list copy = { NULL, 0, 0 };

		for (i = 0; i < 40; i++) {
			struct cidr c = random_cidr(&seed,
						    i % 2 ? CIDR_V4 : CIDR_V6);
			/* Crowd them into a small range so they interact. */
			if (c.family == CIDR_V4) {
				c.addr[0] = 10;
				c.addr[1] = (uint8_t)(c.addr[1] & 3);
				if (c.len < 14)
					c.len = 14;
			} else {
				c.addr[0] = 0x20;
				c.addr[1] = 0x01;
				if (c.len < 120)
					c.len = (uint8_t)(120 + c.len % 9);
				memset(c.addr + 2, 0, 13);
			}
			cidr_mask(&c);
			assert_int_equal(cidr_list_add(&l, &c), 0);
			assert_int_equal(cidr_list_add(&copy, &c), 0);
		}
		cidr_list_normalize(&l);
		check_normal(&l);
		/* Same address set: every input is covered by the result. */
		for (i = 0; i < copy.n; i++) {
			struct cidr e = edge(&copy.items[i], 0);
			assert_true(in_list(&l, &e));
			e = edge(&copy.items[i], 1);
			assert_true(in_list(&l, &e));
		}
		/* And nothing new: every result edge is in some input. */
		for (i = 0; i < l.n; i++) {
			struct cidr e = edge(&l.items[i], 0);
			assert_true(in_list(&copy, &e));
			e = edge(&l.items[i], 1);
			assert_true(in_list(&copy, &e));
		}
		n0 = l.n;
		cidr_list_normalize(&l);
		assert_int_equal(l.n, n0);
		cidr_list_free(&l);
		cidr_list_free(&copy);
	}
}

/* ------------------------------------------------------------ subtract */

static void test_subtract_rfc1918_block(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("0.0.0.0/0");
	static const char *const want[] = {
		"0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6",
		"16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1",
	};

	(void)state;
	add(&minus, "10.0.0.0/8");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 8);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_nothing(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");
	static const char *const want[] = { "10.0.0.0/8" };

	(void)state;
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 1);
	cidr_list_free(&out);
}

static void test_subtract_disjoint_and_other_family(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");
	static const char *const want[] = { "10.0.0.0/8" };

	(void)state;
	add(&minus, "11.0.0.0/8");
	add(&minus, "9.255.255.255/32");
	add(&minus, "::/0");
	add(&minus, "::ffff:10.0.0.0/104");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 1);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_everything(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");

	(void)state;
	add(&minus, "10.0.0.0/8");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 0);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_superset(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.1.2.0/24"), from6 = P("2001:db8::/64");

	(void)state;
	add(&minus, "192.168.0.0/16");
	add(&minus, "0.0.0.0/0");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 0);
	cidr_list_free(&minus);
	add(&minus, "2001:db8::/32");
	assert_int_equal(cidr_subtract(&from6, &minus, &out), 0);
	assert_int_equal(out.n, 0);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_pieces_rebuild_from(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");

	(void)state;
	add(&minus, "10.0.0.0/9");
	add(&minus, "10.192.0.0/10");
	add(&minus, "10.128.0.0/10");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 0);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_single_host_v4(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("0.0.0.0/0");
	size_t i;

	(void)state;
	add(&minus, "255.255.255.255/32");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 32);
	/* 0.0.0.0/1, 128.0.0.0/2, ... 255.255.255.254/32 */
	for (i = 0; i < 32; i++)
		assert_int_equal(out.items[i].len, i + 1);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_v6_all_minus_loopback(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("::/0");
	char buf[CIDR_STRLEN];
	size_t i;

	(void)state;
	add(&minus, "::1/128");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 128);
	cidr_format(&out.items[0], buf, 1);
	assert_string_equal(buf, "::/128");
	cidr_format(&out.items[1], buf, 1);
	assert_string_equal(buf, "::2/127");
	cidr_format(&out.items[127], buf, 1);
	assert_string_equal(buf, "8000::/1");
	for (i = 0; i < 128; i++)
		assert_int_equal(out.items[i].family, CIDR_V6);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_private_ranges(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("0.0.0.0/0");

	(void)state;
	add(&minus, "10.0.0.0/8");
	add(&minus, "172.16.0.0/12");
	add(&minus, "192.168.0.0/16");
	add(&minus, "127.0.0.0/8");
	add(&minus, "169.254.0.0/16");
	add(&minus, "100.64.0.0/10");
	add(&minus, "0.0.0.0/8");
	add(&minus, "224.0.0.0/4");
	add(&minus, "240.0.0.0/4");
	add(&minus, "fc00::/7");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_overlapping_minus(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");
	static const char *const want[] = { "10.0.0.0/9" };

	(void)state;
	add(&minus, "10.128.0.0/9");
	add(&minus, "10.200.0.0/16");
	add(&minus, "10.128.0.0/9");
	add(&minus, "10.255.255.255/32");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 1);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_edges_of_from(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/24");
	static const char *const want[] = {
		"10.0.0.1/32",  "10.0.0.2/31",  "10.0.0.4/30",
		"10.0.0.8/29",  "10.0.0.16/28", "10.0.0.32/27",
		"10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/27",
		"10.0.0.224/28", "10.0.0.240/29", "10.0.0.248/30",
		"10.0.0.252/31", "10.0.0.254/32",
	};

	(void)state;
	add(&minus, "10.0.0.255/32");
	add(&minus, "10.0.0.0/32");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 14);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_v6_many(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("::/0");
	uint64_t seed = 777;
	size_t i;

	(void)state;
	/* ~100 scattered exclusions of all sizes from the whole space. */
	for (i = 0; i < 100; i++) {
		struct cidr c = random_cidr(&seed, CIDR_V6);
		if (c.len < 8)
			c.len = 8;
		cidr_mask(&c);
		assert_int_equal(cidr_list_add(&minus, &c), 0);
	}
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_true(out.n > 0);
	assert_true(out.n <= 128 * minus.n);
	check_subtract(&from, &minus, &out);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_random_v4(void **state)
{
	uint64_t seed = 4242;
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
		struct cidr from = random_cidr(&seed, CIDR_V4);
		size_t i, k = rnd(&seed) % 12;

		if (from.len > 28)
			from.len = (uint8_t)(from.len % 28);
		cidr_mask(&from);
		for (i = 0; i < k; i++) {
			struct cidr c = random_cidr(&seed, CIDR_V4);
			/* Mostly inside `from`, so there is work to do. */
			if (rnd(&seed) % 4 != 0) {
				memcpy(c.addr, from.addr, from.len / 8);
				if (c.len < from.len)
					c.len = (uint8_t)(from.len +
						 (32 - from.len) / 2);
				c.addr[from.len / 8] = (uint8_t)(
					(from.addr[from.len / 8] &
					 (0xff00u >> (from.len % 8))) |
					(c.addr[from.len / 8] &
					 (0xffu >> (from.len % 8))));
				cidr_mask(&c);
			}
			assert_int_equal(cidr_list_add(&minus, &c), 0);
		}
		assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
		check_subtract(&from, &minus, &out);
		cidr_list_free(&minus);
		cidr_list_free(&out);
	}
}

static void test_subtract_replaces_out(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");
	static const char *const want[] = { "10.0.0.0/9" };

	(void)state;
	add(&out, "1.1.1.1/32"); /* stale content must disappear */
	add(&out, "2.2.2.2/32");
	add(&minus, "10.128.0.0/9");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 1);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

static void test_subtract_out_aliases_minus(void **state)
{
	struct cidr_list l = { NULL, 0, 0 };
	struct cidr from = P("10.0.0.0/8");
	static const char *const want[] = { "10.0.0.0/9" };

	(void)state;
	add(&l, "10.128.0.0/9");
	assert_int_equal(cidr_subtract(&from, &l, &l), 0);
	expect_list(&l, want, 1);
	cidr_list_free(&l);
}

static void test_subtract_host_from_host(void **state)
{
	struct cidr_list minus = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct cidr from = P("::1/128");
	static const char *const want[] = { "::1/128" };

	(void)state;
	add(&minus, "::/128");
	add(&minus, "::2/128");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	expect_list(&out, want, 1);
	add(&minus, "::1/128");
	assert_int_equal(cidr_subtract(&from, &minus, &out), 0);
	assert_int_equal(out.n, 0);
	cidr_list_free(&minus);
	cidr_list_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_host),
		cmocka_unit_test(test_parse_v4_default_route),
		cmocka_unit_test(test_parse_v4_broadcast),
		cmocka_unit_test(test_parse_v4_zero_octets),
		cmocka_unit_test(test_parse_v4_every_length),
		cmocka_unit_test(test_parse_v6_any),
		cmocka_unit_test(test_parse_v6_unspecified_host),
		cmocka_unit_test(test_parse_v6_loopback),
		cmocka_unit_test(test_parse_v6_all_ones),
		cmocka_unit_test(test_parse_v6_mapped),
		cmocka_unit_test(test_parse_v6_embedded_v4_forms),
		cmocka_unit_test(test_parse_v6_trailing_double_colon),
		cmocka_unit_test(test_parse_v6_leading_double_colon),
		cmocka_unit_test(test_parse_v6_double_colon_one_group),
		cmocka_unit_test(test_parse_v6_uppercase),
		cmocka_unit_test(test_parse_v6_group_widths),
		cmocka_unit_test(test_parse_v6_every_length),
		cmocka_unit_test(test_parse_respects_n),
		cmocka_unit_test(test_parse_unterminated_buffer),
		cmocka_unit_test(test_parse_nul_bytes),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_no_prefix),
		cmocka_unit_test(test_parse_prefix_out_of_range),
		cmocka_unit_test(test_parse_prefix_missing),
		cmocka_unit_test(test_parse_prefix_leading_zero),
		cmocka_unit_test(test_parse_prefix_sign_and_junk),
		cmocka_unit_test(test_parse_spaces),
		cmocka_unit_test(test_parse_leading_zero_octet),
		cmocka_unit_test(test_parse_v4_too_few_parts),
		cmocka_unit_test(test_parse_v4_bad_syntax),
		cmocka_unit_test(test_parse_v4_octal_hex_forms),
		cmocka_unit_test(test_parse_host_bits_v4),
		cmocka_unit_test(test_parse_host_bits_v6),
		cmocka_unit_test(test_parse_zone),
		cmocka_unit_test(test_parse_v6_bad_colons),
		cmocka_unit_test(test_parse_v6_group_count),
		cmocka_unit_test(test_parse_v6_bad_groups),
		cmocka_unit_test(test_parse_v6_bad_embedded_v4),
		cmocka_unit_test(test_parse_error_clears_out),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_format_v4),
		cmocka_unit_test(test_format_v6_specials),
		cmocka_unit_test(test_format_v6_lowercase_no_leading_zeros),
		cmocka_unit_test(test_format_v6_longest_run),
		cmocka_unit_test(test_format_v6_first_run_on_tie),
		cmocka_unit_test(test_format_v6_single_zero_group),
		cmocka_unit_test(test_format_v6_mapped),
		cmocka_unit_test(test_format_v6_not_mapped),
		cmocka_unit_test(test_format_longest_fits),
		cmocka_unit_test(test_format_round_trip_fixed),
		cmocka_unit_test(test_format_round_trip_random),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_cmp_order),
		cmocka_unit_test(test_contains_v4_boundaries),
		cmocka_unit_test(test_contains_odd_lengths),
		cmocka_unit_test(test_contains_zero_length),
		cmocka_unit_test(test_contains_v6_boundaries),
		cmocka_unit_test(test_contains_v4_vs_mapped),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_nat64_link_local),
		cmocka_unit_test(test_nat64_edges),
		cmocka_unit_test(test_nat64_rejects_v6),
		cmocka_unit_test(test_list_add_grows),
		cmocka_unit_test(test_normalize_empty_and_single),
		cmocka_unit_test(test_normalize_sorts),
		cmocka_unit_test(test_normalize_duplicates),
		cmocka_unit_test(test_normalize_contained),
		cmocka_unit_test(test_normalize_siblings),
		cmocka_unit_test(test_normalize_adjacent_not_siblings),
		cmocka_unit_test(test_normalize_cascade),
		cmocka_unit_test(test_normalize_hosts_to_block),
		cmocka_unit_test(test_normalize_hosts_missing_one),
		cmocka_unit_test(test_normalize_whole_space),
		cmocka_unit_test(test_normalize_mixed_families),
		cmocka_unit_test(test_normalize_families_never_merge),
		cmocka_unit_test(test_normalize_idempotent_random),
		cmocka_unit_test(test_subtract_rfc1918_block),
		cmocka_unit_test(test_subtract_nothing),
		cmocka_unit_test(test_subtract_disjoint_and_other_family),
		cmocka_unit_test(test_subtract_everything),
		cmocka_unit_test(test_subtract_superset),
		cmocka_unit_test(test_subtract_pieces_rebuild_from),
		cmocka_unit_test(test_subtract_single_host_v4),
		cmocka_unit_test(test_subtract_v6_all_minus_loopback),
		cmocka_unit_test(test_subtract_private_ranges),
		cmocka_unit_test(test_subtract_overlapping_minus),
		cmocka_unit_test(test_subtract_edges_of_from),
		cmocka_unit_test(test_subtract_v6_many),
		cmocka_unit_test(test_subtract_random_v4),
		cmocka_unit_test(test_subtract_replaces_out),
		cmocka_unit_test(test_subtract_out_aliases_minus),
		cmocka_unit_test(test_subtract_host_from_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
