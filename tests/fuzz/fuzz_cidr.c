/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cidr: the address module against its own contract.
 *
 * The input is split into lines. Each line goes through cidr_parse and
 * cidr_parse_addr: an accepted text formats to a canonical text that
 * parses back to the same value and formats to itself; a host-bits error
 * hands back the masked prefix; whatever we accept, libc's inet_pton
 * accepts as the same address (we are the stricter reader). Then the
 * prefixes of all lines are a set: normalizing keeps the same addresses
 * in the shortest sorted list, and subtracting them from the first one
 * partitions it exactly (checked by counting addresses).
 */
#include <arpa/inet.h>
#include <string.h>

#include "cidr.h"
#include "fuzz.h"

#define MAX_LINE 128
#define MAX_SET 64

static unsigned
bits_of(const struct cidr *c)
{
	return c->family == CIDR_V4 ? 32u : 128u;
}

/* Bits past the prefix are zero; the length is in range. */
static void
check_valid(const struct cidr *c)
{
	struct cidr m = *c;

	FUZZ_CHECK(c->family == CIDR_V4 || c->family == CIDR_V6);
	FUZZ_CHECK(c->len <= bits_of(c));
	cidr_mask(&m);
	FUZZ_CHECK(memcmp(m.addr, c->addr, sizeof(m.addr)) == 0);
}

/* format -> parse -> same value -> format -> same text. */
static void
check_round_trip(const struct cidr *c)
{
	char t1[CIDR_STRLEN], t2[CIDR_STRLEN];
	struct cidr back;
	size_t n1, n2;

	n1 = cidr_format(c, t1, 1);
	FUZZ_CHECK(n1 > 0 && n1 < CIDR_STRLEN && strlen(t1) == n1);
	FUZZ_CHECK(cidr_parse(t1, n1, &back) == CIDR_OK);
	FUZZ_CHECK(cidr_cmp(&back, c) == 0);
	n2 = cidr_format(&back, t2, 1);
	FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);

	/* the bare address too */
	n1 = cidr_format(c, t1, 0);
	FUZZ_CHECK(n1 > 0 && n1 < CIDR_STRLEN && strlen(t1) == n1);
	FUZZ_CHECK(cidr_parse_addr(t1, n1, &back) == CIDR_OK);
	FUZZ_CHECK(memcmp(back.addr, c->addr, 16) == 0 && back.family == c->family);
}

/* What we accept, inet_pton accepts as the same address. */
static void
check_pton(const char *s, size_t n, const struct cidr *c)
{
	char z[MAX_LINE + 1];
	unsigned char a[16];

	if (n > MAX_LINE || memchr(s, '\0', n))
		return;
	memcpy(z, s, n);
	z[n] = '\0';
	FUZZ_CHECK(inet_pton(c->family == CIDR_V4 ? AF_INET : AF_INET6, z, a) == 1);
	FUZZ_CHECK(memcmp(a, c->addr, c->family == CIDR_V4 ? 4 : 16) == 0);
}

static void
check_line(const char *s, size_t n, struct cidr_list *set)
{
	struct cidr c, a;
	const char *slash;
	int rc;

	rc = cidr_parse(s, n, &c);
	FUZZ_CHECK(rc <= 0 && rc >= CIDR_E_SPACE);
	FUZZ_CHECK(cidr_strerror(rc) != NULL);
	if (rc == CIDR_OK || rc == CIDR_E_HOSTBITS) {
		check_valid(&c);
		check_round_trip(&c);
		if (set->n < MAX_SET)
			FUZZ_CHECK(cidr_list_add(set, &c) == 0);
	}
	if (rc == CIDR_OK) {
		slash = memchr(s, '/', n);
		FUZZ_CHECK(slash != NULL);
		/* the address part alone is a good address */
		FUZZ_CHECK(cidr_parse_addr(s, (size_t)(slash - s), &a) == CIDR_OK);
		FUZZ_CHECK(memcmp(a.addr, c.addr, 16) == 0);
		check_pton(s, (size_t)(slash - s), &c);
	}
	rc = cidr_parse_addr(s, n, &a);
	FUZZ_CHECK(rc <= 0 && rc >= CIDR_E_SPACE && rc != CIDR_E_HOSTBITS && rc != CIDR_E_NOPREFIX);
	if (rc == CIDR_OK) {
		FUZZ_CHECK(a.len == bits_of(&a));
		check_valid(&a);
		check_round_trip(&a);
		check_pton(s, n, &a);
		/* ADDR/LEN of a host is a host prefix */
		{
			char t[CIDR_STRLEN + 8];
			size_t k = cidr_format(&a, t, 1);

			FUZZ_CHECK(cidr_parse(t, k, &c) == CIDR_OK && cidr_cmp(&a, &c) == 0);
		}
	} else {
		FUZZ_CHECK(a.family == 0);
	}
}

/* --- counting addresses: 2^k summed in 192 bits --- */

struct big {
	uint64_t w[3];
};

static void
big_add_pow2(struct big *b, unsigned k)
{
	uint64_t add = (uint64_t)1 << (k % 64);

	for (unsigned i = k / 64; i < 3; i++) {
		uint64_t old = b->w[i];

		b->w[i] += add;
		if (b->w[i] >= old)
			return;
		add = 1;
	}
	FUZZ_CHECK(0);   /* never more than 2^129 */
}

static void
add_size(struct big *b, const struct cidr *c)
{
	big_add_pow2(b, bits_of(c) - c->len);
}

/* Sorted, nothing inside another, no two siblings: what normalize promises. */
static void
check_normal(const struct cidr_list *l)
{
	struct cidr_list copy = { NULL, 0, 0 };

	for (size_t i = 0; i < l->n; i++) {
		check_valid(&l->items[i]);
		if (i)
			FUZZ_CHECK(cidr_cmp(&l->items[i - 1], &l->items[i]) < 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(!cidr_overlaps(&l->items[j], &l->items[i]));
		FUZZ_CHECK(cidr_list_add(&copy, &l->items[i]) == 0);
	}
	cidr_list_normalize(&copy);
	FUZZ_CHECK(copy.n == l->n);
	for (size_t i = 0; i < l->n; i++)
		FUZZ_CHECK(cidr_cmp(&copy.items[i], &l->items[i]) == 0);
	cidr_list_free(&copy);
}

static void
check_set(const struct cidr_list *set)
{
	struct cidr_list norm = { NULL, 0, 0 }, out = { NULL, 0, 0 }, in = { NULL, 0, 0 },
			 alias = { NULL, 0, 0 }, rest = { NULL, 0, 0 };
	const struct cidr *from;
	struct big total = { { 0, 0, 0 } }, want = { { 0, 0, 0 } };

	if (!set->n)
		return;
	/* normalize: same addresses, normal form */
	for (size_t i = 0; i < set->n; i++)
		FUZZ_CHECK(cidr_list_add(&norm, &set->items[i]) == 0);
	cidr_list_normalize(&norm);
	check_normal(&norm);
	for (size_t i = 0; i < set->n; i++) {
		size_t j;

		for (j = 0; j < norm.n; j++)
			if (cidr_contains(&norm.items[j], &set->items[i]))
				break;
		FUZZ_CHECK(j < norm.n);
	}
	for (size_t j = 0; j < norm.n; j++) {
		/* nothing of a merged block is outside the input */
		FUZZ_CHECK(cidr_subtract(&norm.items[j], set, &rest) == 0);
		FUZZ_CHECK(rest.n == 0);
	}

	/* subtract: from = out + (from ∩ minus), disjoint */
	from = &set->items[0];
	FUZZ_CHECK(cidr_subtract(from, set, &out) == 0);
	FUZZ_CHECK(out.n == 0);   /* `from` is in the set it loses */
	{
		struct cidr_list minus = { set->items + 1, set->n - 1, set->n - 1 };

		FUZZ_CHECK(cidr_subtract(from, &minus, &out) == 0);
		check_normal(&out);
		for (size_t i = 0; i < minus.n; i++) {
			const struct cidr *m = &minus.items[i];

			if (cidr_contains(m, from)) {
				FUZZ_CHECK(out.n == 0);
				goto done;
			}
			if (cidr_contains(from, m))
				FUZZ_CHECK(cidr_list_add(&in, m) == 0);
		}
		for (size_t i = 0; i < out.n; i++) {
			FUZZ_CHECK(cidr_contains(from, &out.items[i]));
			for (size_t j = 0; j < minus.n; j++)
				FUZZ_CHECK(!cidr_overlaps(&out.items[i], &minus.items[j]));
			add_size(&total, &out.items[i]);
		}
		cidr_list_normalize(&in);
		for (size_t i = 0; i < in.n; i++)
			add_size(&total, &in.items[i]);
		add_size(&want, from);
		FUZZ_CHECK(memcmp(&total, &want, sizeof(total)) == 0);

		/* out may be the very list minus points at */
		for (size_t i = 0; i < minus.n; i++)
			FUZZ_CHECK(cidr_list_add(&alias, &minus.items[i]) == 0);
		FUZZ_CHECK(cidr_subtract(from, &alias, &alias) == 0);
		FUZZ_CHECK(alias.n == out.n);
		for (size_t i = 0; i < out.n; i++)
			FUZZ_CHECK(cidr_cmp(&alias.items[i], &out.items[i]) == 0);
	}
	/* NAT64 images of IPv4 prefixes stay inside 64:ff9b::/96 */
	for (size_t i = 0; i < set->n; i++) {
		struct cidr img, wk;

		if (set->items[i].family != CIDR_V4)
			continue;
		img = cidr_nat64(&set->items[i]);
		FUZZ_CHECK(cidr_parse("64:ff9b::/96", 12, &wk) == CIDR_OK);
		FUZZ_CHECK(img.len == set->items[i].len + 96 && cidr_contains(&wk, &img));
		check_valid(&img);
	}
done:
	cidr_list_free(&norm);
	cidr_list_free(&out);
	cidr_list_free(&in);
	cidr_list_free(&alias);
	cidr_list_free(&rest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct cidr_list set = { NULL, 0, 0 };
	struct cidr c;

	/* the whole input as one text, then line by line */
	(void)cidr_parse(s, size, &c);
	(void)cidr_parse_addr(s, size, &c);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		check_line(s, n, &set);
		s += n + (nl != NULL);
	}
	check_set(&set);
	cidr_list_free(&set);
	return 0;
}
