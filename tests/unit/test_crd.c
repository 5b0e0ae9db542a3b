/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for compiler/crd.c's JSON Schema to structural OpenAPI walk:
 * each conversion rule on a small schema, and the inputs it must refuse
 * (an unknown keyword, a node whose type cannot be told, a $ref cycle)
 * rather than pass into a CRD the API server would refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crd.h"

/* crd_schema(in) as compact JSON with sorted keys; NULL when refused */
static char *
conv(const char *in)
{
	json_t *src = json_loads(in, 0, NULL), *out;
	char *s;

	assert_non_null(src);
	out = crd_schema(src);
	json_decref(src);
	if (!out)
		return NULL;
	s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	assert_non_null(s);
	return s;
}

static void
expect(const char *in, const char *want)
{
	char *got = conv(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
refused(const char *in)
{
	char *got = conv(in);

	if (got)
		fail_msg("accepted %s as %s", in, got);
}

static void
test_ref_inlined(void **state)
{
	(void)state;
	expect("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/x\",\"description\":\"d\"}},"
	       "\"additionalProperties\":false,\"$defs\":{\"x\":{\"type\":\"string\",\"maxLength\":3}}}",
	       "{\"properties\":{\"a\":{\"description\":\"d\",\"maxLength\":3,\"type\":\"string\"}},"
	       "\"type\":\"object\"}");
}

static void
test_const_enum_types(void **state)
{
	(void)state;
	expect("{\"const\":\"x\"}", "{\"enum\":[\"x\"],\"type\":\"string\"}");
	expect("{\"enum\":[1,2]}", "{\"enum\":[1,2],\"type\":\"integer\"}");
	expect("{\"type\":[\"string\",\"integer\",\"number\"],\"exclusiveMinimum\":0}",
	       "{\"exclusiveMinimum\":true,\"minimum\":0,\"x-kubernetes-int-or-string\":true}");
	expect("{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"type\":\"string\"}}",
	       "{\"items\":{\"type\":\"string\"},\"type\":\"array\",\"x-kubernetes-list-type\":\"set\"}");
}

static void
test_junctors(void **state)
{
	(void)state;
	/* allOf merged when nothing clashes; if/then/else as anyOf; no type inside */
	expect("{\"allOf\":[{\"type\":\"object\"},{\"minProperties\":1}]}",
	       "{\"minProperties\":1,\"type\":\"object\"}");
	expect("{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"string\"}},"
	       "\"if\":{\"properties\":{\"m\":{\"const\":\"a\"}}},\"then\":{\"required\":[\"m\"]}}",
	       "{\"anyOf\":[{\"allOf\":[{\"properties\":{\"m\":{\"enum\":[\"a\"]}}},{\"required\":[\"m\"]}]},"
	       "{\"allOf\":[{\"not\":{\"properties\":{\"m\":{\"enum\":[\"a\"]}}}}]}],"
	       "\"properties\":{\"m\":{\"type\":\"string\"}},\"type\":\"object\"}");
	expect("{\"anyOf\":[{\"type\":\"string\",\"description\":\"d\"},{\"type\":\"string\"}]}",
	       "{\"anyOf\":[{},{}],\"type\":\"string\"}");
}

static void
test_patterns(void **state)
{
	(void)state;
	expect("{\"type\":\"string\",\"pattern\":\"^[^\\\\u0000-\\\\u001f]+$\"}",
	       "{\"pattern\":\"^[^\\\\x{0000}-\\\\x{001f}]+$\",\"type\":\"string\"}");
	expect("{\"type\":\"string\",\"pattern\":\"^(?=a)(?!ab)[a-z]+$\"}",
	       "{\"allOf\":[{\"pattern\":\"^a\"},{\"not\":{\"pattern\":\"^ab\"}}],"
	       "\"pattern\":\"^[a-z]+$\",\"type\":\"string\"}");
	/* mid-pattern: cut out; in a class, (?= is no group */
	expect("{\"type\":\"string\",\"pattern\":\"^a(?=b)[(?=]$\"}",
	       "{\"pattern\":\"^a[(?=]$\",\"type\":\"string\"}");
}

static void
test_refused(void **state)
{
	(void)state;
	refused("{\"type\":\"string\",\"contains\":{}}");         /* unknown keyword */
	refused("{\"properties\":{\"a\":{\"minLength\":1}}}");     /* a.type? */
	refused("{\"type\":[\"string\",\"boolean\"]}");
	refused("{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}}}");
	refused("{\"$ref\":\"#/$defs/nope\"}");
	refused("[]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_inlined),
		cmocka_unit_test(test_const_enum_types),
		cmocka_unit_test(test_junctors),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
