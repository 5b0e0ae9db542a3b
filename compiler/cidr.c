/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cidr: strict parsing, canonical formatting and set arithmetic on
 * IPv4/IPv6 prefixes. See cidr.h for the contract.
 *
 * Parsing is hand-written on purpose: inet_pton differs across libcs
 * (and accepts forms we must reject), and the input is a length-counted
 * buffer that may hold NUL bytes, so no str* function is used on it.
 */
#include "cidr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* ---------------------------------------------------------------- bits */

static unsigned family_bits(unsigned family)
{
	return family == CIDR_V4 ? 32u : family == CIDR_V6 ? 128u : 0u;
}

static unsigned get_bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1u;
}

static void set_bit(uint8_t *a, unsigned i)
{
	a[i / 8] = (uint8_t)(a[i / 8] | (0x80u >> (i % 8)));
}

/* 1 when the first `bits` bits of a and b agree. */
static int same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	{
		unsigned m = (0xffu << (8 - rest)) & 0xffu;
		return ((a[whole] ^ b[whole]) & m) == 0;
	}
}

void cidr_mask(struct cidr *c)
{
	unsigned max = family_bits(c->family);
	/* An out-of-range length cannot clear anything meaningful; keep
	 * all of the family's bits but still clear the unused tail. */
	unsigned len = c->len > max ? max : c->len;
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (lo + 8 <= len)
			continue;
		if (lo >= len)
			c->addr[i] = 0;
		else
			c->addr[i] = (uint8_t)(c->addr[i] &
					       (0xffu << (8 - (len - lo))));
	}
}

/* ------------------------------------------------------------- parsing */

static int is_space(char ch)
{
	/* The C locale's isspace() set, spelled out so locale can't widen it. */
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
	       ch == '\f' || ch == '\r';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hex_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Exactly four decimal octets, 0..255, no leading zeros (a leading zero
 * means octal to some parsers, so the same text could name two hosts).
 * The whole of s[0..n) must be consumed.
 */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t p = 0;
	int k;

	for (k = 0; k < 4; k++) {
		size_t start;
		unsigned v = 0;

		if (k > 0) {
			if (p >= n || s[p] != '.')
				return CIDR_E_SYNTAX;
			p++;
		}
		start = p;
		while (p < n && is_digit(s[p])) {
			if (p > start && s[start] == '0')
				return CIDR_E_LEADZERO;
			v = v * 10 + (unsigned)(s[p] - '0');
			if (v > 255) /* also keeps v from overflowing */
				return CIDR_E_SYNTAX;
			p++;
		}
		if (p == start)
			return CIDR_E_SYNTAX;
		out[k] = (uint8_t)v;
	}
	return p == n ? CIDR_OK : CIDR_E_SYNTAX;
}

/*
 * RFC 4291 section 2.2 text: eight groups of 1..4 hex digits, at most
 * one "::" standing for one or more zero groups, and optionally a dotted
 * quad as the last 32 bits.
 */
static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint8_t ip[16];
	size_t p = 0;
	unsigned i = 0;        /* bytes filled so far */
	int ellipsis = -1;     /* byte index where "::" stands, or -1 */

	memset(ip, 0, sizeof ip);
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		p = 2;
		if (p == n) {
			memcpy(out, ip, 16);
			return CIDR_OK;
		}
	}

	while (i < 16) {
		size_t q = p;
		unsigned acc = 0;
		int h;

		while (q < n && (h = hex_val(s[q])) >= 0) {
			if (q - p < 4) /* longer groups fail below */
				acc = acc * 16 + (unsigned)h;
			q++;
		}
		if (q < n && s[q] == '.') {
			int rc;

			/* A dotted quad fills exactly the last two groups. */
			if (ellipsis < 0 && i != 12)
				return CIDR_E_SYNTAX;
			if (i + 4 > 16)
				return CIDR_E_SYNTAX;
			rc = parse_v4(s + p, n - p, ip + i);
			if (rc != CIDR_OK)
				return rc;
			i += 4;
			p = n;
			break;
		}
		if (q == p || q - p > 4)
			return CIDR_E_SYNTAX;
		ip[i] = (uint8_t)(acc >> 8);
		ip[i + 1] = (uint8_t)acc;
		i += 2;
		p = q;
		if (p == n)
			break;
		if (s[p] != ':')
			return CIDR_E_SYNTAX;
		p++;
		if (p == n) /* a lone trailing ':' */
			return CIDR_E_SYNTAX;
		if (s[p] == ':') {
			if (ellipsis >= 0)
				return CIDR_E_SYNTAX;
			ellipsis = (int)i;
			p++;
			if (p == n)
				break;
		}
	}
	if (p != n) /* more than eight groups */
		return CIDR_E_SYNTAX;

	if (i < 16) {
		unsigned e, tail;

		if (ellipsis < 0)
			return CIDR_E_SYNTAX;
		e = (unsigned)ellipsis;
		tail = i - e;
		memmove(ip + 16 - tail, ip + e, tail);
		memset(ip + e, 0, 16 - tail - e);
	} else if (ellipsis >= 0) {
		/* "::" must stand for at least one group. */
		return CIDR_E_SYNTAX;
	}
	memcpy(out, ip, 16);
	return CIDR_OK;
}

/* Bare address, no zone handling, no space check. */
static int parse_plain(const char *s, size_t n, struct cidr *out)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (s[k] == ':') {
			out->family = CIDR_V6;
			out->len = 128;
			return parse_v6(s, n, out->addr);
		}
	}
	out->family = CIDR_V4;
	out->len = 32;
	return parse_v4(s, n, out->addr);
}

static int has_space(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (is_space(s[k]))
			return 1;
	return 0;
}

/* Bare address with zone detection; `s` already checked for spaces. */
static int parse_address(const char *s, size_t n, struct cidr *out)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (s[k] == '%') {
			/* Report a zone only when what precedes it is a real
			 * IPv6 address; anything else is just garbage. */
			int rc = parse_plain(s, k, out);
			if (rc != CIDR_OK)
				return rc;
			return out->family == CIDR_V6 ? CIDR_E_ZONE
						      : CIDR_E_SYNTAX;
		}
	}
	return parse_plain(s, n, out);
}

int cidr_parse_addr(const char *s, size_t n, struct cidr *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (s == NULL || n == 0)
		return CIDR_E_SYNTAX;
	if (has_space(s, n))
		return CIDR_E_SPACE;
	rc = parse_address(s, n, out);
	if (rc != CIDR_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

/*
 * Like Go's netip.ParsePrefix (split at the last '/', no zone, no sign
 * or leading zero in the length) plus Kubernetes' strict rule that no
 * host bits may be set.
 */
int cidr_parse(const char *s, size_t n, struct cidr *out)
{
	struct cidr c;
	size_t slash, k, dlen;
	unsigned bits = 0, max;
	int rc, found = 0;

	memset(out, 0, sizeof *out);
	if (s == NULL || n == 0)
		return CIDR_E_SYNTAX;
	if (has_space(s, n))
		return CIDR_E_SPACE;

	slash = 0;
	for (k = n; k > 0; k--) {
		if (s[k - 1] == '/') {
			slash = k - 1;
			found = 1;
			break;
		}
	}
	memset(&c, 0, sizeof c);
	if (!found) {
		/* Say "missing prefix" only for an otherwise good address. */
		rc = parse_address(s, n, &c);
		return rc != CIDR_OK ? rc : CIDR_E_NOPREFIX;
	}

	rc = parse_address(s, slash, &c);
	if (rc != CIDR_OK)
		return rc;

	dlen = n - slash - 1;
	if (dlen == 0 || dlen > 3)
		return CIDR_E_PREFIX;
	if (dlen > 1 && s[slash + 1] == '0')
		return CIDR_E_PREFIX;
	for (k = slash + 1; k < n; k++) {
		if (!is_digit(s[k]))
			return CIDR_E_PREFIX;
		bits = bits * 10 + (unsigned)(s[k] - '0');
	}
	max = family_bits(c.family);
	if (bits > max)
		return CIDR_E_PREFIX;
	c.len = (uint8_t)bits;

	*out = c;
	cidr_mask(out);
	if (memcmp(out->addr, c.addr, sizeof c.addr) != 0)
		return CIDR_E_HOSTBITS; /* *out keeps the masked value */
	return CIDR_OK;
}

const char *cidr_strerror(int err)
{
	switch (err) {
	case CIDR_OK:
		return "no error";
	case CIDR_E_SYNTAX:
		return "not an IP address";
	case CIDR_E_NOPREFIX:
		return "missing prefix length";
	case CIDR_E_PREFIX:
		return "bad prefix length";
	case CIDR_E_LEADZERO:
		return "IPv4 octet with a leading zero";
	case CIDR_E_HOSTBITS:
		return "host bits set past the prefix length";
	case CIDR_E_ZONE:
		return "IPv6 zone not allowed";
	case CIDR_E_SPACE:
		return "white space in address";
	default:
		return "unknown error";
	}
}

/* ---------------------------------------------------------- formatting */

static size_t put_dec(char *b, unsigned v)
{
	char tmp[3];
	size_t k = 0, p = 0;

	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && k < sizeof tmp);
	while (k > 0)
		b[p++] = tmp[--k];
	return p;
}

static size_t put_hex16(char *b, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	size_t p = 0;
	int shift, started = 0;

	for (shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 0xfu;
		if (d != 0 || started || shift == 0) {
			b[p++] = digits[d];
			started = 1;
		}
	}
	return p;
}

static size_t put_v4(char *b, const uint8_t *a)
{
	size_t p = 0;
	int k;

	for (k = 0; k < 4; k++) {
		if (k > 0)
			b[p++] = '.';
		p += put_dec(b + p, a[k]);
	}
	return p;
}

static int is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	return memcmp(a, prefix, sizeof prefix) == 0;
}

static size_t put_v6(char *b, const uint8_t *a)
{
	unsigned g[8];
	int i, best = -1, best_len = 0, run = 0;
	size_t p = 0;

	if (is_v4_mapped(a)) {
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): cidr_format() ends the text */
		memcpy(b, "::ffff:", 7);
		return 7 + put_v4(b + 7, a + 12);
	}
	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[(size_t)i * 2] << 8 | a[(size_t)i * 2 + 1];
	/* Longest run of >= 2 zero groups; strict '>' keeps the first tie. */
	for (i = 0; i < 8; i++) {
		run = g[i] == 0 ? run + 1 : 0;
		if (run >= 2 && run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			b[p++] = ':';
			b[p++] = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && !(best >= 0 && i == best + best_len))
			b[p++] = ':';
		p += put_hex16(b + p, g[i]);
	}
	return p;
}

size_t cidr_format(const struct cidr *c, char *buf, int with_len)
{
	size_t p;

	if (c->family == CIDR_V4)
		p = put_v4(buf, c->addr);
	else if (c->family == CIDR_V6)
		p = put_v6(buf, c->addr);
	else {
		buf[0] = '\0';
		return 0;
	}
	if (with_len) {
		buf[p++] = '/';
		p += put_dec(buf + p, c->len);
	}
	buf[p] = '\0';
	return p;
}

/* --------------------------------------------------------- comparisons */

static unsigned family_rank(unsigned family)
{
	return family == CIDR_V4 ? 0u : family == CIDR_V6 ? 1u : 2u;
}

int cidr_cmp(const struct cidr *a, const struct cidr *b)
{
	unsigned fa = family_rank(a->family), fb = family_rank(b->family);
	int r;

	if (fa != fb)
		return fa < fb ? -1 : 1;
	/* Only the family's own bytes count: IPv4 ignores addr[4..15]. */
	r = memcmp(a->addr, b->addr, a->family == CIDR_V4 ? 4 : 16);
	if (r != 0)
		return r < 0 ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

int cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
	unsigned max = family_bits(outer->family);

	if (max == 0 || outer->family != inner->family)
		return 0;
	if (outer->len > max || inner->len > max || outer->len > inner->len)
		return 0;
	return same_bits(outer->addr, inner->addr, outer->len);
}

int cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	unsigned max = family_bits(a->family);

	if (max == 0 || a->family != b->family || a->len > max || b->len > max)
		return 0;
	/* Prefixes are either nested or disjoint. */
	return same_bits(a->addr, b->addr, a->len < b->len ? a->len : b->len);
}

struct cidr cidr_nat64(const struct cidr *v4)
{
	struct cidr r;

	memset(&r, 0, sizeof r);
	if (v4->family != CIDR_V4 || v4->len > 32)
		return r; /* family 0: no NAT64 image */
	r.family = CIDR_V6;
	r.len = (uint8_t)(v4->len + 96);
	r.addr[1] = 0x64;
	r.addr[2] = 0xff;
	r.addr[3] = 0x9b;
	memcpy(r.addr + 12, v4->addr, 4);
	cidr_mask(&r);
	return r;
}

/* --------------------------------------------------------------- lists */

int cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap : 8;
		struct cidr *items;

		if (l->cap) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		items = xreallocarray(l->items, cap, sizeof *items);
		if (items == NULL)
			return -1;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = *c;
	return 0;
}

void cidr_list_free(struct cidr_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
	l->cap = 0;
}

static int cidr_qsort_cmp(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

/* 1 when a and b are the two halves of one parent, a the lower. */
static int are_siblings(const struct cidr *a, const struct cidr *b)
{
	unsigned max = family_bits(a->family);
	struct cidr hi;

	if (max == 0 || a->family != b->family || a->len != b->len ||
	    a->len == 0 || a->len > max)
		return 0;
	if (get_bit(a->addr, a->len - 1u))
		return 0;
	hi = *a;
	set_bit(hi.addr, a->len - 1u);
	return memcmp(hi.addr, b->addr, 16) == 0;
}

/*
 * One pass over the sorted list with the output used as a stack. In
 * sorted order a container precedes what it contains, so only the top
 * can contain the next item; and the only merge a new top can enable is
 * with the entry right below it, so merging there, repeatedly, leaves no
 * sibling pair anywhere.
 */
void cidr_list_normalize(struct cidr_list *l)
{
	size_t r, top = 0; /* items[0..top) is the stack */

	for (r = 0; r < l->n; r++)
		cidr_mask(&l->items[r]);
	/* masked, entries that compare equal are identical: order among them is moot */
	if (l->n > 1)   /* qsort(NULL, 0) is undefined */
		qsort(l->items, l->n, sizeof(*l->items), cidr_qsort_cmp);

	for (r = 0; r < l->n; r++) {
		if (top > 0 && cidr_contains(&l->items[top - 1], &l->items[r]))
			continue;
		l->items[top++] = l->items[r];
		while (top >= 2 &&
		       are_siblings(&l->items[top - 2], &l->items[top - 1])) {
			top--;
			l->items[top - 1].len--;
		}
	}
	l->n = top;
}

/*
 * Emit `node` minus ex[lo..hi), where ex is sorted, disjoint and every
 * entry lies inside node. Split into halves only where an exclusion
 * lives, so the work is O(bits) per exclusion and every emitted block is
 * maximal. Recursion depth is at most 129.
 */
static int subtract_rec(const struct cidr *node, const struct cidr *ex,
			size_t lo, size_t hi, struct cidr_list *out)
{
	struct cidr half;
	size_t mid;

	if (lo == hi)
		return cidr_list_add(out, node);
	if (hi - lo == 1 && ex[lo].len == node->len)
		return 0; /* the whole node is excluded */

	/* Exclusions in the lower half (bit `len` clear) sort first. */
	for (mid = lo; mid < hi; mid++)
		if (get_bit(ex[mid].addr, node->len))
			break;

	half = *node;
	half.len = (uint8_t)(node->len + 1);
	if (subtract_rec(&half, ex, lo, mid, out) != 0)
		return -1;
	set_bit(half.addr, node->len);
	return subtract_rec(&half, ex, mid, hi, out);
}

int cidr_subtract(const struct cidr *from, const struct cidr_list *minus,
		  struct cidr_list *out)
{
	struct cidr f = *from;
	struct cidr_list ex = { NULL, 0, 0 }, res = { NULL, 0, 0 };
	unsigned max = family_bits(f.family);
	size_t k;
	int rc = 0;

	if (max == 0 || f.len > max)
		goto done; /* not a prefix: nothing to cover */
	cidr_mask(&f);

	/* Keep only exclusions inside `from`; one containing it wins. */
	for (k = 0; k < minus->n; k++) {
		struct cidr m = minus->items[k];

		if (m.family != f.family || m.len > max)
			continue;
		cidr_mask(&m);
		if (cidr_contains(&m, &f))
			goto done;
		if (cidr_contains(&f, &m) && cidr_list_add(&ex, &m) != 0) {
			rc = -1;
			goto done;
		}
	}
	cidr_list_normalize(&ex);
	if (subtract_rec(&f, ex.items, 0, ex.n, &res) != 0) {
		rc = -1;
		goto done;
	}
	cidr_list_normalize(&res); /* already normal; cheap insurance */

done:
	cidr_list_free(&ex);
	if (rc != 0)
		cidr_list_free(&res);
	/* Swap in only now: `out` may be the very list `minus` points at. */
	free(out->items);
	*out = res;
	return rc;
}
