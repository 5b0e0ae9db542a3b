/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for compiler/duration.c: duration_parse against Go's own
 * table of time.ParseDuration cases (parseDurationTests and
 * parseDurationErrorTests of golang/go src/time/time_test.go, read at
 * commit f7396aaea0297a2e95b502a4075b0aed6efda89f; the inputs and their
 * values restated here as data), then duration_ms, the options' reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "duration.h"

#define NS ((int64_t)1)
#define US (1000 * NS)
#define MS (1000 * US)
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const struct {
	const char *in;
	int64_t want;
} valid[] = {
	/* simple */
	{ "0", 0 }, { "5s", 5 * SEC }, { "30s", 30 * SEC }, { "1478s", 1478 * SEC },
	/* sign */
	{ "-5s", -5 * SEC }, { "+5s", 5 * SEC }, { "-0", 0 }, { "+0", 0 },
	/* decimal */
	{ "5.0s", 5 * SEC }, { "5.6s", 5 * SEC + 600 * MS }, { "5.s", 5 * SEC },
	{ ".5s", 500 * MS }, { "1.0s", SEC }, { "1.00s", SEC }, { "1.004s", SEC + 4 * MS },
	{ "1.0040s", SEC + 4 * MS }, { "100.00100s", 100 * SEC + MS },
	/* different units */
	{ "10ns", 10 * NS }, { "11us", 11 * US }, { "12\xc2\xb5s", 12 * US }, /* U+00B5 */
	{ "12\xce\xbcs", 12 * US }, /* U+03BC */
	{ "13ms", 13 * MS }, { "14s", 14 * SEC }, { "15m", 15 * MIN }, { "16h", 16 * HOUR },
	/* composite durations */
	{ "3h30m", 3 * HOUR + 30 * MIN }, { "10.5s4m", 4 * MIN + 10 * SEC + 500 * MS },
	{ "-2m3.4s", -(2 * MIN + 3 * SEC + 400 * MS) },
	{ "1h2m3s4ms5us6ns", HOUR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6 * NS },
	{ "39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425 * MS },
	/* large value */
	{ "52763797000ns", 52763797000 * NS },
	/* more than 9 digits after the decimal point (golang.org/issue/6617) */
	{ "0.3333333333333333333h", 20 * MIN },
	/* 1<<53+1 cannot be stored precisely in a double */
	{ "9007199254740993ns", ((int64_t)1 << 53) + 1 },
	/* the largest duration in int64 nanoseconds */
	{ "9223372036854775807ns", INT64_MAX }, { "9223372036854775.807us", INT64_MAX },
	{ "9223372036s854ms775us807ns", INT64_MAX }, { "-9223372036854775808ns", INT64_MIN },
	{ "-9223372036854775.808us", INT64_MIN }, { "-9223372036s854ms775us808ns", INT64_MIN },
	/* the largest negative round trip value (golang.org/issue/48629) */
	{ "-2562047h47m16.854775808s", INT64_MIN },
	/* a huge string (issue 15011) */
	{ "0.100000000000000000000h", 6 * MIN },
	/* the first overflow check of leadingFraction */
	{ "0.830103483285477580700h", 49 * MIN + 48 * SEC + 372539827 * NS },
	/* the brief's kubectl forms */
	{ "1m30s", 90 * SEC }, { "1h", HOUR }, { "1.5s", 1500 * MS }, { "300ms", 300 * MS },
	{ "2h45m", 2 * HOUR + 45 * MIN },
};

static const char *const invalid[] = {
	"", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xff" "fff",
	"hello \xff" "fff world", "\xef\xbf\xbd", "\xef\xbf\xbd hello \xef\xbf\xbd world",
	/* overflow */
	"9223372036854775810ns", "9223372036854775808ns", "-9223372036854775809ns",
	"9223372036854776us", "3000000h", "9223372036854775.808us", "9223372036854ms775us808ns",
	/* beyond Go's table: units are case-sensitive and whole, no spaces */
	"6000000h", /* wraps past 2^64: the unit multiplication checked */
	"1S", "1sec", "1 s", "1s ", " 1s", "1m-1s", "1.2.3s", "--1s", "1e3s",
};

static void
test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int64_t got = 42;

		if (duration_parse(valid[i].in, &got) != 0 || got != valid[i].want)
			fail_msg("duration_parse(\"%s\") = %lld, want %lld", valid[i].in,
				 (long long)got, (long long)valid[i].want);
	}
}

static void
test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int64_t got = 42;

		if (duration_parse(invalid[i], &got) != -1)
			fail_msg("duration_parse(\"%s\") accepted: %lld", invalid[i], (long long)got);
	}
}

static const struct {
	const char *in;
	int rc;
	long ms;
} options[] = {
	/* plain numbers keep their meaning: seconds */
	{ "30", 0, 30000 }, { "0", 0, 0 }, { "86400", 0, 86400000 }, { "86401", -2, 0 },
	{ "99999999999999999999999", -2, 0 },
	{ "30s", 0, 30000 }, { "500ms", 0, 500 }, { "2m", 0, 120000 }, { "1m30s", 0, 90000 },
	{ "1.5s", 0, 1500 }, { "2h45m", 0, 9900000 }, { "24h", 0, 86400000 },
	{ "24h0.001s", -2, 0 }, { "0s", 0, 0 },
	/* a part of a millisecond is a whole one */
	{ "1ns", 0, 1 }, { "1500us", 0, 2 }, { "1\xc2\xb5s", 0, 1 },
	{ "-1s", -2, 0 }, { "-0", 0, 0 }, { "1d", -1, 0 }, { "", -1, 0 }, { "30 ", -1, 0 },
	{ "+30", -1, 0 }, { "3000000h", -1, 0 },
};

static void
test_ms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		long ms = -7;
		int rc = duration_ms(options[i].in, 86400000L, &ms);

		if (rc != options[i].rc || (rc == 0 && ms != options[i].ms))
			fail_msg("duration_ms(\"%s\") = %d, %ld ms; want %d, %ld ms", options[i].in, rc,
				 ms, options[i].rc, options[i].ms);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
