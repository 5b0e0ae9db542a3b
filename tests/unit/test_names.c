/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for compiler/names.c. A name accepted here becomes an
 * egress rule, so every refusal rule gets an accepted neighbour (the
 * 63/64-character label, the 253/254-character name, "a.salt" next to
 * "a.alt") and every reason a reader will see is checked for its form.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

/* ------------------------------------------------------------ helpers */

/* names_check() on exactly n heap bytes: ASan flags any read past them. */
static int
run(const char *s, size_t n, enum name_kind *kind, char *why, size_t whylen)
{
	char *buf = malloc(n ? n : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, s, n);
	rc = names_check(buf, n, kind, why, whylen);
	free(buf);
	return rc;
}

static int
address_like_n(const char *s, size_t n)
{
	char *buf = malloc(n ? n : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, s, n);
	rc = names_is_address_like(buf, n);
	free(buf);
	return rc;
}

static int
address_like(const char *s)
{
	return address_like_n(s, strlen(s));
}

static void
ok(const char *s, enum name_kind want)
{
	enum name_kind kind = (enum name_kind)-1;
	char why[NAMES_WHY] = "";
	size_t n = strlen(s);

	if (run(s, n, &kind, why, sizeof(why)) != 0)
		fail_msg("names_check(\"%s\") refused: %s", s, why);
	if (kind != want)
		fail_msg("names_check(\"%s\"): kind %d, want %d", s, kind, want);
	if (address_like(s))
		fail_msg("\"%s\" is a valid name but reads as address-like", s);
}

/* Refused; the reason is `want` exactly unless want is NULL. */
static void
bad_n(const char *s, size_t n, const char *want)
{
	enum name_kind kind = (enum name_kind)-1;
	char why[NAMES_WHY + 64];
	size_t len;

	memset(why, 'X', sizeof(why));
	if (run(s, n, &kind, why, sizeof(why)) != -1)
		fail_msg("names_check(\"%.*s\") accepted", (int)n, s);
	if (kind != (enum name_kind)-1)
		fail_msg("names_check(\"%.*s\") set *kind on failure", (int)n, s);
	len = strlen(why);
	/* The form the diagnostic needs: one line, lower case, no period. */
	if (len == 0 || len >= NAMES_WHY || why[0] < 'a' || why[0] > 'z' ||
	    why[len - 1] == '.' || strchr(why, '\n') != NULL)
		fail_msg("reason for \"%.*s\" has the wrong form: \"%s\"", (int)n,
			 s, why);
	if (want && strcmp(why, want) != 0)
		fail_msg("names_check(\"%.*s\"): \"%s\", want \"%s\"", (int)n, s,
			 why, want);
}

static void
bad(const char *s, const char *want)
{
	bad_n(s, strlen(s), want);
}

/* Refused, and the reason starts with `prefix`. */
static void
bad_prefix(const char *s, const char *prefix)
{
	char why[NAMES_WHY];

	bad(s, NULL);
	assert_int_equal(names_check(s, strlen(s), NULL, why, sizeof(why)), -1);
	if (strncmp(why, prefix, strlen(prefix)) != 0)
		fail_msg("names_check(\"%s\"): \"%s\", want it to start \"%s\"",
			 s, why, prefix);
}

/*
 * `head`, then `labels` labels of `len` 'a's, then one of `last` 'b's
 * when last > 0, joined by dots. The caller frees.
 */
static char *
make_name(const char *head, size_t labels, size_t len, size_t last)
{
	size_t hn = strlen(head);
	char *s = malloc(hn + labels * (len + 1) + last + 2), *p;
	size_t i;

	assert_non_null(s);
	memcpy(s, head, hn);
	p = s + hn;
	for (i = 0; i < labels; i++) {
		if (i > 0)
			*p++ = '.';
		memset(p, 'a', len);
		p += len;
	}
	if (last > 0) {
		if (labels > 0)
			*p++ = '.';
		memset(p, 'b', last);
		p += last;
	}
	*p = '\0';
	return s;
}

/* -------------------------------------------------------------- valid */

static void
test_valid_exact(void **state)
{
	(void)state;
	ok("example.com", NAME_EXACT);
	ok("api.openai.com", NAME_EXACT);
	ok("xn--bcher-kva.example", NAME_EXACT);
	ok("a-b.c0.io", NAME_EXACT);
	ok("a.b", NAME_EXACT);
	ok("a--b.com", NAME_EXACT);
	ok("0.example.com", NAME_EXACT);
	ok("10.0.0.com", NAME_EXACT);
	ok("0x7f.example", NAME_EXACT);
	ok("1.2.3.4a", NAME_EXACT);
	ok("a.b.c.d.e.f.g", NAME_EXACT);
}

static void
test_valid_wildcard(void **state)
{
	(void)state;
	ok("*.example.com", NAME_WILDCARD);
	ok("*.a.b", NAME_WILDCARD);
	ok("*.api.openai.com", NAME_WILDCARD);
	ok("*.xn--bcher-kva.example", NAME_WILDCARD);
}

/* The length given is used, not a NUL: "example.comX" cut at 11. */
static void
test_length_counted(void **state)
{
	enum name_kind kind;

	(void)state;
	assert_int_equal(names_check("example.comX", 11, &kind, NULL, 0), 0);
	assert_int_equal(kind, NAME_EXACT);
	bad_n("example.comX", 12, "upper-case letter 'X': write the name in lower case");
	bad_n("a.b\0c.d", 7, "character \\x00 is not allowed (only a-z, 0-9, '-' and '.')");
	assert_int_equal(address_like_n("10.0.0.1x", 8), 1);
}

/* ------------------------------------------------------------ refused */

static void
test_empty(void **state)
{
	(void)state;
	bad("", "empty name");
	bad_n("example.com", 0, "empty name");
}

static void
test_upper_case(void **state)
{
	(void)state;
	bad("Example.com", "upper-case letter 'E': write the name in lower case");
	bad("api.OpenAI.com", "upper-case letter 'O': write the name in lower case");
	bad("example.COM", "upper-case letter 'C': write the name in lower case");
	bad("*.Example.com", "upper-case letter 'E': write the name in lower case");
	bad("A.com", "upper-case letter 'A': write the name in lower case");
	bad("zoom.uZ", "upper-case letter 'Z': write the name in lower case");
}

static void
test_bad_characters(void **state)
{
	(void)state;
	bad("a b.com", "character ' ' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a_b.com", "character '_' is not allowed (only a-z, 0-9, '-' and '.')");
	bad(" example.com", "character ' ' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("example.com\n", "character \\x0A is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a\tb.com", "character \\x09 is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a\x7f.com", "character \\x7F is not allowed (only a-z, 0-9, '-' and '.')");
	bad("b\xc3\xbc" "cher.example",
	    "non-ASCII byte \\xC3: write an internationalized name as its "
	    "IDNA A-label (xn--...)");
	/* The first bad character is the one named. */
	bad("a_b c.com", "character '_' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a b_c.com", "character ' ' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a_B.com", "character '_' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a.com:443", "character ':' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("https://example.com", "character ':' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("example.com/path", "character '/' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a@b.com", "character '@' is not allowed (only a-z, 0-9, '-' and '.')");
	bad("a\\b.com", "character '\\' is not allowed (only a-z, 0-9, '-' and '.')");
}

static void
test_name_length(void **state)
{
	char *s;

	(void)state;
	/* Three labels of 63 and a last one of 61 or 62: 253 and 254. */
	s = make_name("", 3, 63, 61);
	assert_int_equal(strlen(s), 253);
	ok(s, NAME_EXACT);
	free(s);
	s = make_name("", 3, 63, 62);
	assert_int_equal(strlen(s), 254);
	bad(s, "name is 254 characters long (at most 253)");
	free(s);
	/* The wildcard's two characters count. */
	s = make_name("*.", 3, 63, 59);
	assert_int_equal(strlen(s), 253);
	ok(s, NAME_WILDCARD);
	free(s);
	s = make_name("*.", 3, 63, 60);
	assert_int_equal(strlen(s), 254);
	bad(s, "name is 254 characters long (at most 253)");
	free(s);
	/* Far too long: still one reason, not a crash. */
	s = make_name("", 100, 63, 0);
	bad(s, "name is 6399 characters long (at most 253)");
	free(s);
}

static void
test_label_length(void **state)
{
	char *s;

	(void)state;
	s = make_name("", 1, 63, 3);
	ok(s, NAME_EXACT);
	free(s);
	s = make_name("", 1, 64, 3);
	bad(s, "label 1 is 64 characters long (at most 63)");
	free(s);
	s = make_name("x.", 1, 63, 0);
	ok(s, NAME_EXACT);
	free(s);
	s = make_name("x.", 1, 64, 0);
	bad(s, "label 2 is 64 characters long (at most 63)");
	free(s);
	/* '*' is label 1. */
	s = make_name("*.", 1, 63, 3);
	ok(s, NAME_WILDCARD);
	free(s);
	s = make_name("*.", 1, 64, 3);
	bad(s, "label 2 is 64 characters long (at most 63)");
	free(s);
}

static void
test_dots(void **state)
{
	(void)state;
	bad(".example.com", "starts with a dot");
	bad(".", "starts with a dot");
	bad("..", "starts with a dot");
	bad("example.com.", "ends with a dot: write the name without the trailing dot");
	bad("*.", "ends with a dot: write the name without the trailing dot");
	bad("a..b", "empty label (two dots in a row)");
	bad("a.b..c", "empty label (two dots in a row)");
	bad("*..com", "empty label (two dots in a row)");
}

static void
test_hyphens(void **state)
{
	(void)state;
	bad("-a.com", "label \"-a\" starts with '-'");
	bad("a-.com", "label \"a-\" ends with '-'");
	bad("a.-b", "label \"-b\" starts with '-'");
	bad("a.b-", "label \"b-\" ends with '-'");
	bad("-.com", "label \"-\" starts with '-'");
	bad("*.-x.com", "label \"-x\" starts with '-'");
}

static void
test_single_label(void **state)
{
	const char *want = "a single label is looked up through the Pod's DNS "
			   "search list (it may name a cluster Service): write "
			   "the fully qualified name";

	(void)state;
	bad("kubernetes", want);
	bad("com", want);
	bad("a", want);
	bad("xn--p1ai", want);
}

static void
test_wildcard_refused(void **state)
{
	const char *whole = "the wildcard '*' must be a whole label, as in *.example.com";
	const char *first = "the wildcard '*' is allowed only as the first label, "
			    "as in *.example.com";
	const char *tld = "a wildcard over a top-level domain matches too much: "
			  "write at least two labels after \"*.\"";

	(void)state;
	bad("*", "a bare '*' would match every name: write *.<domain>");
	bad("**", whole);
	bad("**.b.c", whole);
	bad("a*.b.c", whole);
	bad("*a.b.c", whole);
	bad("a.b*c.d", whole);
	bad("x.*.b.c", first);
	bad("*.*.com", first);
	bad("a.b.*", first);
	bad("*.com", tld);
	bad("*.io", tld);
}

static void
test_numeric(void **state)
{
	static const char *const cases[] = {
		"10.0.0.1", "127.1", "0x7f.1", "0x7f000001", "1.0x1", "1",
		"4294967295", "example.123", "a.0x", "a.0xff", "*.example.1",
		"1.2.3.4.5", "010.0.0.1",
	};
	size_t i;

	(void)state;
	bad("10.0.0.1", "last label \"1\" is a number, so this reads as an IP address");
	bad("0x7f000001", "last label \"0x7f000001\" is a number, so this reads "
	    "as an IP address");
	bad("1.0xff", "last label \"0xff\" is a number, so this reads as an IP address");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad_prefix(cases[i], "last label ");
		if (!address_like(cases[i]))
			fail_msg("\"%s\" is not address-like", cases[i]);
	}
}

static void
test_special_use(void **state)
{
	static const struct {
		const char *domain, *reason;
	} specials[] = {
		{ "localhost", "the loopback host, RFC 6761" },
		{ "local", "multicast DNS on the local link, RFC 6762; "
			   "cluster.local is the usual cluster domain" },
		{ "internal", "reserved by ICANN for private use" },
		{ "home.arpa", "home networks, RFC 8375" },
		{ "in-addr.arpa", "IPv4 reverse mapping, RFC 1035" },
		{ "ip6.arpa", "IPv6 reverse mapping, RFC 3596" },
		{ "test", "reserved for testing, RFC 6761" },
		{ "invalid", "never resolves, RFC 6761" },
		{ "onion", "Tor onion services, RFC 7686" },
		{ "alt", "names outside the DNS, RFC 9476" },
	};
	static const char *const heads[] = { "", "x.", "a.b.", "*.", "*.a." };
	char s[128], want[NAMES_WHY];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		snprintf(want, sizeof(want), "in the special-use domain %s (%s)",
			 specials[i].domain, specials[i].reason);
		for (j = 0; j < sizeof(heads) / sizeof(heads[0]); j++) {
			snprintf(s, sizeof(s), "%s%s", heads[j], specials[i].domain);
			bad(s, want);
		}
		/* Only at a label boundary: "a.salt" is not under alt. */
		snprintf(s, sizeof(s), "a.s%s", specials[i].domain);
		ok(s, NAME_EXACT);
		snprintf(s, sizeof(s), "%s.example", specials[i].domain);
		ok(s, NAME_EXACT);
	}
	bad("kube-dns.kube-system.svc.cluster.local",
	    "in the special-use domain local (multicast DNS on the local link, "
	    "RFC 6762; cluster.local is the usual cluster domain)");
	ok("arpa.example", NAME_EXACT);
	ok("example.arpa", NAME_EXACT);
}

/* ----------------------------------------------------- address-like */

static void
test_address_like(void **state)
{
	static const char *const yes[] = {
		"10.0.0.0/8", "10.0.0.1/32", "fe80::1", "::", "2001:db8::/32",
		"10.0.0.1", " 10.0.0.1 ", "\t10.0.0.1\n", "127.1", "0x7f.1",
		"0X7F", "0x", "1", "10.0.0.256", "example.com/24", "a:b",
		"10.0.0.1 /8", "10 .0.0.1", " 1", "\t0x7f000001",
	};
	static const char *const no[] = {
		"", "   ", "example.com", "10.0.0.com", "0x7f.example",
		"1.2.3.4a", "0xg", "10.0.0.1.", "*.example.com", "a b",
		"12-34",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!address_like(yes[i]))
			fail_msg("\"%s\": want address-like", yes[i]);
		/* The contract: everything address-like is refused as a name. */
		bad(yes[i], NULL);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (address_like(no[i]))
			fail_msg("\"%s\": want not address-like", no[i]);
}

/*
 * Against the C library: every string over [0-9a-fxX.] that inet_aton()
 * reads as an IPv4 address is address-like and refused as a name.
 */
static void
test_inet_aton_forms(void **state)
{
	static const char alphabet[] = "0123456789abfxX.";
	uint32_t seed = 12345;
	size_t t, hits = 0;

	(void)state;
	for (t = 0; t < 200000; t++) {
		char s[16];
		struct in_addr a;
		size_t i, n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 12;
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		s[n] = '\0';
		if (!inet_aton(s, &a))
			continue;
		hits++;
		if (!address_like(s))
			fail_msg("inet_aton takes \"%s\" but it is not address-like", s);
		bad(s, NULL);
	}
	/* The sample must hold enough addresses to mean something. */
	assert_true(hits > 10000);
}

/* ------------------------------------------------------------ buffers */

static void
test_why_buffer(void **state)
{
	char why[8];
	enum name_kind kind = NAME_WILDCARD;

	(void)state;
	/* No buffer, no kind: the answer alone. */
	assert_int_equal(names_check("a..b", 4, NULL, NULL, 0), -1);
	assert_int_equal(names_check("a.b", 3, NULL, NULL, 0), 0);
	assert_int_equal(names_check("a..b", 4, NULL, NULL, NAMES_WHY), -1);
	/* whylen 0 writes nothing. */
	memset(why, 'X', sizeof(why));
	assert_int_equal(names_check("a..b", 4, &kind, why, 0), -1);
	assert_int_equal(why[0], 'X');
	/* A short buffer is cut and ended. */
	assert_int_equal(names_check("a..b", 4, &kind, why, sizeof(why)), -1);
	assert_string_equal(why, "empty l");
	assert_int_equal(kind, NAME_WILDCARD);
	assert_int_equal(names_check("a.b", 3, &kind, why, sizeof(why)), 0);
	assert_int_equal(kind, NAME_EXACT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_exact),
		cmocka_unit_test(test_valid_wildcard),
		cmocka_unit_test(test_length_counted),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_upper_case),
		cmocka_unit_test(test_bad_characters),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_label_length),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_hyphens),
		cmocka_unit_test(test_single_label),
		cmocka_unit_test(test_wildcard_refused),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_special_use),
		cmocka_unit_test(test_address_like),
		cmocka_unit_test(test_inet_aton_forms),
		cmocka_unit_test(test_why_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
