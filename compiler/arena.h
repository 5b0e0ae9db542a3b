/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arena: bump allocation for one compilation unit (a document, a profile).
 *
 * Everything allocated from an arena is released at once by arena_reset()
 * or arena_free(). Built with -DAF_PLAIN_MALLOC, every allocation is a
 * separate malloc() so ASan and valgrind see each one.
 *
 * Ownership: the caller owns the struct arena; pointers returned by
 * arena_* are borrowed and die with the next reset.
 */
#ifndef AGENTFENCE_ARENA_H
#define AGENTFENCE_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;   /* current chunk */
	struct arena_chunk *spare;  /* kept by arena_reset() for reuse */
	size_t used;                /* bytes handed out since the last reset */
	unsigned char *cur, *end;   /* the free part of the current chunk */
};

#define ARENA_INIT { 0, 0, 0, 0, 0 }
#define ARENA_ALIGN (_Alignof(max_align_t))

void *arena_alloc_slow(struct arena *a, size_t size);

/* NULL when out of memory or when size arithmetic would overflow. */
static inline void *
arena_alloc(struct arena *a, size_t size)
{
#ifndef AF_PLAIN_MALLOC
	/* inline: the reader and the builder allocate a few hundred times per agent */
	size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	if (size <= (size_t)-1 / 2 && need <= (size_t)(a->end - a->cur)) {
		void *p = a->cur;

		a->cur += need;
		a->used += need;
		return p;
	}
#endif
	return arena_alloc_slow(a, size);
}
void *arena_zalloc(struct arena *a, size_t size);
/* A NUL-terminated copy of s[0..n). */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
