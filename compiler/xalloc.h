/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xalloc: the program's one door to the heap.
 *
 * Plain wrappers around malloc/realloc that return NULL on failure (they
 * never abort: callers turn NULL into an error). Built with
 * -DAF_FAILMALLOC, the Nth call fails when the environment variable
 * AGENTFENCE_FAIL_ALLOC=N is set, so tests can walk every allocation.
 */
#ifndef AGENTFENCE_XALLOC_H
#define AGENTFENCE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for arrays: NULL on nmemb * size overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);

#endif
