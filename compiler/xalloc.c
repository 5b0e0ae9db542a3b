#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef AF_FAILMALLOC
static long fail_at = -1;
static long calls;

static int
should_fail(void)
{
	if (fail_at < 0) {
		const char *e = getenv("AGENTFENCE_FAIL_ALLOC");
		fail_at = e ? strtol(e, NULL, 10) : 0;
	}
	return fail_at > 0 && ++calls == fail_at;
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
