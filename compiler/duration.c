/* SPDX-License-Identifier: Apache-2.0 */
#include "duration.h"

#include <string.h>

#define NS_MAX ((uint64_t)1 << 63)   /* |INT64_MIN|: the largest magnitude */

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },           /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },           /* U+03BC Greek small letter mu */
	{ "ms", 1000000 },
	{ "s", 1000000000 },
	{ "m", 60 * (uint64_t)1000000000 },
	{ "h", 3600 * (uint64_t)1000000000 },
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [0-9]* into *v; -1 past 1<<63 (Go's leadingInt) */
static int
leading_int(const char **sp, uint64_t *v)
{
	const char *s = *sp;
	uint64_t x = 0;

	for (; is_digit(*s); s++) {
		if (x > NS_MAX / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > NS_MAX)
			return -1;
	}
	*sp = s;
	*v = x;
	return 0;
}

/* [0-9]* after the point: the digits that fit, and their scale (Go's
 * leadingFraction: the rest are read and dropped) */
static void
leading_fraction(const char **sp, uint64_t *f, double *scale)
{
	const char *s = *sp;
	uint64_t x = 0;
	double sc = 1;
	int overflow = 0;

	for (; is_digit(*s); s++) {
		uint64_t y;

		if (overflow)
			continue;
		if (x > (NS_MAX - 1) / 10) {
			overflow = 1;
			continue;
		}
		y = x * 10 + (uint64_t)(*s - '0');
		if (y > NS_MAX) {
			overflow = 1;
			continue;
		}
		x = y;
		sc *= 10;
	}
	*sp = s;
	*f = x;
	*scale = sc;
}

static uint64_t
unit_ns(const char *u, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0)
			return units[i].ns;
	return 0;
}

int
duration_parse(const char *s, int64_t *ns)
{
	uint64_t d = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -1;
	while (*s) {
		const char *start = s, *u;
		uint64_t v, f = 0, unit;
		double scale = 1;
		int pre, post = 0;

		if (*s != '.' && !is_digit(*s))
			return -1;
		if (leading_int(&s, &v) < 0)
			return -1;
		pre = s != start;
		if (*s == '.') {
			start = ++s;
			leading_fraction(&s, &f, &scale);
			post = s != start;
		}
		if (!pre && !post)
			return -1;   /* no digits: ".s" */
		for (u = s; *s && *s != '.' && !is_digit(*s); s++)
			;
		if (s == u || !(unit = unit_ns(u, (size_t)(s - u))))
			return -1;   /* a missing or an unknown unit */
		if (v > NS_MAX / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			/* a double, as Go: exact to the nanosecond for fractions of an hour */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > NS_MAX)
				return -1;
		}
		d += v;
		if (d > NS_MAX)
			return -1;
	}
	if (neg) {
		*ns = d == NS_MAX ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > (uint64_t)INT64_MAX)
		return -1;
	*ns = (int64_t)d;
	return 0;
}

int
duration_ms(const char *s, long max_ms, long *ms)
{
	int64_t ns, whole;
	size_t n = strspn(s, "0123456789");

	if (n && !s[n]) {
		/* seconds: at most 19 digits fit; more is out of range, not a typo */
		uint64_t sec = 0;

		for (size_t i = 0; i < n; i++) {
			if (sec > (uint64_t)max_ms / 1000 + 1)
				return -2;
			sec = sec * 10 + (uint64_t)(s[i] - '0');
		}
		if (sec > (uint64_t)max_ms / 1000)
			return -2;
		*ms = (long)sec * 1000;
		return *ms > max_ms ? -2 : 0;
	}
	if (duration_parse(s, &ns) < 0)
		return -1;
	if (ns < 0)
		return -2;
	whole = ns / 1000000 + (ns % 1000000 != 0);
	if (whole > max_ms)
		return -2;
	*ms = (long)whole;
	return 0;
}
