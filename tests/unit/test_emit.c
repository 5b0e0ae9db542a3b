/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emit: strings come back as the same strings, whatever YAML 1.1 or 1.2
 * would make of them plain; scalar typing follows the core schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "emit.h"
#include "node.h"

static const char *
yaml_of(const char *s)
{
	static struct buf b;

	b.n = 0;
	emit_yaml_string(&b, s, strlen(s));
	buf_putc(&b, '\0');
	assert_false(b.err);
	return b.p;
}

static void
test_plain_strings(void **state)
{
	static const char *const plain[] = {
		"agent", "kata-fc", "ghcr.io/acme/agent:1.4.2", "10.0.0.0/8", "2001:db8::/32",
		"app.kubernetes.io/name", "RuntimeDefault", "a b", "x=y", "job-7f3a",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_string_equal(yaml_of(plain[i]), plain[i]);
}

static void
test_quoted_strings(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "\"\"" },
		{ "yes", "\"yes\"" }, { "No", "\"No\"" }, { "on", "\"on\"" }, { "OFF", "\"OFF\"" },
		{ "y", "\"y\"" }, { "true", "\"true\"" }, { "null", "\"null\"" }, { "~", "\"~\"" },
		{ "42", "\"42\"" }, { "0x1F", "\"0x1F\"" }, { "1e3", "\"1e3\"" }, { ".inf", "\".inf\"" },
		{ "0755", "\"0755\"" }, { "12:30", "\"12:30\"" }, { "2001-12-14", "\"2001-12-14\"" },
		{ "500m", "\"500m\"" }, { "-m", "\"-m\"" }, { "::/0", "\"::/0\"" },
		{ " lead", "\" lead\"" }, { "trail ", "\"trail \"" }, { "a: b", "\"a: b\"" },
		{ "a #b", "\"a #b\"" }, { "#x", "\"#x\"" }, { "key:", "\"key:\"" },
		{ "tab\there", "\"tab\\there\"" }, { "line\nbreak", "\"line\\nbreak\"" },
		{ "q\"s", "\"q\\\"s\"" }, { "b\\s", "\"b\\\\s\"" }, { "\x01", "\"\\x01\"" },
		{ "\x7f", "\"\\x7f\"" }, { "nel\xc2\x85", "\"nel\\N\"" },
		{ "ls\xe2\x80\xa8", "\"ls\\L\"" },
		{ "c1\xc2\x80\xc2\x9f", "\"c1\\x80\\x9f\"" }, { "\xc2\xa0", "\"\xc2\xa0\"" },
		{ "nc\xef\xbf\xbe\xef\xbf\xbf", "\"nc\\uFFFE\\uFFFF\"" }, { "=", "\"=\"" }, { "*a", "\"*a\"" },
		{ "&a", "\"&a\"" }, { "!t", "\"!t\"" }, { "{a}", "\"{a}\"" }, { "[a]", "\"[a]\"" },
		{ "%x", "\"%x\"" }, { "@x", "\"@x\"" }, { "a,b", "\"a,b\"" }, { "a  b", "\"a  b\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(yaml_of(cases[i].in), cases[i].out);
}

static void
test_resolve_plain(void **state)
{
	static const struct { const char *s; enum node_type t; } cases[] = {
		{ "", NT_NULL }, { "~", NT_NULL }, { "null", NT_NULL }, { "NULL", NT_NULL },
		{ "true", NT_BOOL }, { "False", NT_BOOL }, { "yes", NT_BOOL }, { "n", NT_BOOL },
		{ "0", NT_INT }, { "-12", NT_INT }, { "+7", NT_INT }, { "0x1f", NT_INT }, { "0o17", NT_INT },
		{ "1.5", NT_FLOAT }, { ".5", NT_FLOAT }, { "1e3", NT_FLOAT }, { "-.inf", NT_FLOAT },
		{ ".NaN", NT_FLOAT }, { "nulls", NT_STR }, { "truey", NT_STR }, { "0x", NT_STR },
		{ "0xg", NT_STR }, { "1.2.3", NT_STR }, { "1e", NT_STR }, { "e3", NT_STR },
		{ "-", NT_STR }, { "kata-fc", NT_STR }, { "500m", NT_STR }, { "1Gi", NT_STR },
		{ "nonenone", NT_STR }, { "offset", NT_STR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum node_type t = node_resolve_plain(cases[i].s, strlen(cases[i].s));

		if (t != cases[i].t)
			fail_msg("\"%s\": got type %d, want %d", cases[i].s, t, cases[i].t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_strings),
		cmocka_unit_test(test_quoted_strings),
		cmocka_unit_test(test_resolve_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
