/* SPDX-License-Identifier: Apache-2.0 */
#include "arena.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	/* max_align_t alignment for the data that follows */
	_Alignas(max_align_t) unsigned char data[];
};

#define ARENA_CHUNK ((size_t)64 * 1024)

#ifdef AF_PLAIN_MALLOC
/* Each allocation is its own chunk, so sanitizers see every byte. */
void *
arena_alloc_slow(struct arena *a, size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = xmalloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	c->next = a->head;
	a->head = c;
	a->used += size;
	return c->data;
}

void
arena_reset(struct arena *a)
{
	arena_free(a);
}
#else
/* A new chunk (arena_alloc() found no room in the current one). */
void *
arena_alloc_slow(struct arena *a, size_t size)
{
	struct arena_chunk *c;
	size_t need;

	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	need = size > ARENA_CHUNK ? size : ARENA_CHUNK;
	if (a->spare && a->spare->size >= need) {
		c = a->spare;
		a->spare = c->next;
	} else {
		c = xmalloc(sizeof(*c) + need);
		if (!c)
			return NULL;
		c->size = need;
	}
	c->next = a->head;
	a->head = c;
	a->cur = c->data + size;
	a->end = c->data + c->size;
	a->used += size;
	return c->data;
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	/* keep the chunks for the next document: no malloc in steady state */
	for (c = a->head; c; c = next) {
		next = c->next;
		c->next = a->spare;
		a->spare = c;
	}
	a->head = NULL;
	a->cur = a->end = NULL;
	a->used = 0;
}
#endif

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	for (c = a->spare; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = a->spare = NULL;
	a->cur = a->end = NULL;
	a->used = 0;
}

void *
arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_sprintf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
