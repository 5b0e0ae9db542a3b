/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names: validity of DNS-name entries of egress allowlists. See names.h
 * for the contract.
 *
 * The checks run in a fixed order so each input gets one reason, the
 * most basic one: characters, total length, dots, then label by label
 * (empty, wildcard, length, hyphens), then the name as a whole (a
 * number, a special-use domain, too few labels). Like cidr.c, no str*
 * function reads the input: it is length-counted and may hold NUL bytes.
 */
#include "names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

/*
 * Domains whose names can only be internal, or are not DNS at all: an
 * egress rule to one of them is a mistake or a way around the policy.
 * A name is in a domain when it equals it or ends in ".<domain>".
 */
static const struct special {
	const char *domain;
	const char *reason;
} specials[] = {
	{ "localhost", "the loopback host, RFC 6761" },
	{ "local", "multicast DNS on the local link, RFC 6762; cluster.local "
		   "is the usual cluster domain" },
	{ "internal", "reserved by ICANN for private use" },
	{ "home.arpa", "home networks, RFC 8375" },
	{ "in-addr.arpa", "IPv4 reverse mapping, RFC 1035" },
	{ "ip6.arpa", "IPv6 reverse mapping, RFC 3596" },
	{ "test", "reserved for testing, RFC 6761" },
	{ "invalid", "never resolves, RFC 6761" },
	{ "onion", "Tor onion services, RFC 7686" },
	{ "alt", "names outside the DNS, RFC 9476" },
};

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

static int
is_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '-';
}

static int
is_space(char ch)
{
	/* The C locale's isspace() set, spelled out so locale can't widen it. */
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
	       ch == '\f' || ch == '\r';
}

/* 1 when s[0..n) is a number as inet_aton() reads one: decimal or 0x hex. */
static int
is_number(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return 0;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < n && is_hex(s[i]); i++)
			;
		return i == n;
	}
	for (; i < n && is_digit(s[i]); i++)
		;
	return i == n;
}

/* Start of the last label of s[0..n): the byte after the last dot. */
static size_t
last_label(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && s[i - 1] != '.')
		i--;
	return i;
}

int
names_is_address_like(const char *s, size_t n)
{
	size_t i, start;

	while (n > 0 && is_space(s[n - 1]))
		n--;
	while (n > 0 && is_space(s[0])) {
		s++;
		n--;
	}
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':')
			return 1;
	start = last_label(s, n);
	return is_number(s + start, n - start);
}

/* The first character outside a-z 0-9 - . *, described; 0 when none. */
static int
check_chars(const char *s, size_t n, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (is_ldh(s[i]) || ch == '.' || ch == '*')
			continue;
		if (ch >= 'A' && ch <= 'Z')
			return refuse(why, whylen,
				      "upper-case letter '%c': write the name in lower case",
				      ch);
		if (ch >= 0x80)
			return refuse(why, whylen,
				      "non-ASCII byte \\x%02X: write an internationalized "
				      "name as its IDNA A-label (xn--...)", ch);
		if (ch >= 0x20 && ch < 0x7f)
			return refuse(why, whylen,
				      "character '%c' is not allowed (only a-z, 0-9, '-' and '.')",
				      ch);
		return refuse(why, whylen,
			      "character \\x%02X is not allowed (only a-z, 0-9, '-' and '.')",
			      ch);
	}
	return 0;
}

/* One label s[0..n), number k counting from 1 ('*' counts). */
static int
check_label(const char *s, size_t n, size_t k, char *why, size_t whylen)
{
	if (n == 0)
		return refuse(why, whylen, "empty label (two dots in a row)");
	if (memchr(s, '*', n) != NULL) {
		if (n == 1)
			return refuse(why, whylen,
				      "the wildcard '*' is allowed only as the first "
				      "label, as in *.example.com");
		return refuse(why, whylen,
			      "the wildcard '*' must be a whole label, as in *.example.com");
	}
	if (n > LABEL_MAX_LEN)
		return refuse(why, whylen,
			      "label %zu is %zu characters long (at most %d)", k,
			      n, LABEL_MAX_LEN);
	if (s[0] == '-')
		return refuse(why, whylen, "label \"%.*s\" starts with '-'",
			      (int)n, s);
	if (s[n - 1] == '-')
		return refuse(why, whylen, "label \"%.*s\" ends with '-'",
			      (int)n, s);
	return 0;
}

/* The special-use domain s[0..n) is in, or NULL. */
static const struct special *
special_domain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		const char *d = specials[i].domain;
		size_t dn = strlen(d);

		if (n < dn || memcmp(s + n - dn, d, dn) != 0)
			continue;
		if (n == dn || s[n - dn - 1] == '.')
			return &specials[i];
	}
	return NULL;
}

int
names_check(const char *s, size_t n, enum name_kind *kind, char *why,
	    size_t whylen)
{
	const struct special *sp;
	size_t p, labels = 0, last;
	int wild;

	if (n == 0)
		return refuse(why, whylen, "empty name");
	if (check_chars(s, n, why, whylen) != 0)
		return -1;
	if (n > NAME_MAX_LEN)
		return refuse(why, whylen,
			      "name is %zu characters long (at most %d)", n,
			      NAME_MAX_LEN);
	if (n == 1 && s[0] == '*')
		return refuse(why, whylen,
			      "a bare '*' would match every name: write *.<domain>");
	if (s[0] == '.')
		return refuse(why, whylen, "starts with a dot");
	if (s[n - 1] == '.')
		return refuse(why, whylen,
			      "ends with a dot: write the name without the trailing dot");

	/* A leading "*." is the wildcard; the labels after it are the domain. */
	wild = n >= 2 && s[0] == '*' && s[1] == '.';
	p = wild ? 2 : 0;
	for (;;) {
		const char *dot = memchr(s + p, '.', n - p);
		size_t end = dot ? (size_t)(dot - s) : n;

		if (check_label(s + p, end - p, labels + 1 + (size_t)wild, why,
				whylen) != 0)
			return -1;
		labels++;
		if (!dot)
			break;
		p = end + 1;
	}

	last = last_label(s, n);
	if (is_number(s + last, n - last))
		return refuse(why, whylen,
			      "last label \"%.*s\" is a number, so this reads as an IP address",
			      (int)(n - last), s + last);
	sp = special_domain(s, n);
	if (sp)
		return refuse(why, whylen, "in the special-use domain %s (%s)",
			      sp->domain, sp->reason);
	if (labels < 2 && wild)
		return refuse(why, whylen,
			      "a wildcard over a top-level domain matches too much: "
			      "write at least two labels after \"*.\"");
	if (labels < 2)
		return refuse(why, whylen,
			      "a single label is looked up through the Pod's DNS search "
			      "list (it may name a cluster Service): write the fully "
			      "qualified name");
	if (kind)
		*kind = wild ? NAME_WILDCARD : NAME_EXACT;
	return 0;
}
