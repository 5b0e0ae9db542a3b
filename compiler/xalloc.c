/* SPDX-License-Identifier: Apache-2.0 */
#include "xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef AF_FAILMALLOC
/*
 * Test builds only. AGENTFENCE_FAIL_ALLOC=N fails the Nth call (that one
 * only, as a transient shortage would); AGENTFENCE_FAIL_ALLOC=0 fails none
 * and prints the number of calls on stderr at exit, so tests/alloc.sh
 * knows how far to walk. jansson allocates through us too, so the JSON
 * writer's failures are walked as well.
 */
#include <jansson.h>
#include <stdio.h>

static long fail_at = -1;   /* -1: not read yet */
static long calls;

static void
report_calls(void)
{
	fprintf(stderr, "xalloc: %ld calls\n", calls);
}

static int
should_fail(void)
{
	if (fail_at < 0) {
		const char *e = getenv("AGENTFENCE_FAIL_ALLOC");

		fail_at = e ? strtol(e, NULL, 10) : 0;
		if (fail_at < 0)
			fail_at = 0;
		if (e && fail_at == 0)
			atexit(report_calls);
	}
	if (++calls != fail_at)
		return 0;
	errno = ENOMEM;   /* as malloc would: messages quote strerror(errno) */
	return 1;
}

static void route_jansson(void) __attribute__((constructor));

static void
route_jansson(void)
{
	json_set_alloc_funcs(xmalloc, free);
}
#else
static inline int should_fail(void) { return 0; }
#endif

void *
xmalloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *
xrealloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}
