/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonparse.h"

#include <string.h>

#include "xalloc.h"

/* Not thread-safe (jansson's allocator is process-wide): the program
 * parses from one thread. */
static size_t parse_failures;

static void *
parse_alloc(size_t n)
{
	void *p = xmalloc(n);

	parse_failures += !p;
	return p;
}

json_t *
json_parse(const char *text, size_t len, json_error_t *err)
{
	json_malloc_t m;
	json_free_t f;
	json_t *j;

	json_get_alloc_funcs(&m, &f);
	json_set_alloc_funcs(parse_alloc, f);
	parse_failures = 0;
	j = json_loadb(text, len, 0, err);
	json_set_alloc_funcs(m, f);
	if (parse_failures) {
		json_decref(j);
		if (err) {
			memset(err, 0, sizeof(*err));
			strcpy(err->text, "out of memory");
		}
		return NULL;
	}
	return j;
}
