/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf: a growable byte buffer for output.
 *
 * Growth is checked for overflow and bounded by `limit` (0: SIZE_MAX/2).
 * A failed append sets `err` and leaves the content as it was; callers
 * check `err` once at the end instead of after every write.
 *
 * Ownership: the caller owns the struct; buf_free() releases the bytes.
 */
#ifndef AGENTFENCE_BUF_H
#define AGENTFENCE_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char *p;
	size_t n, cap;
	size_t limit;
	int err;
};

#define BUF_INIT { 0, 0, 0, 0, 0 }

int buf_reserve(struct buf *b, size_t more);
void buf_add_slow(struct buf *b, const void *s, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Append n bytes (inline: the emitter's hot path). */
static inline void
buf_add(struct buf *b, const void *s, size_t n)
{
	if (n <= b->cap - b->n) {
		if (n)
			memcpy(b->p + b->n, s, n);
		b->n += n;
	} else {
		buf_add_slow(b, s, n);
	}
}

static inline void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static inline void
buf_putc(struct buf *b, char c)
{
	if (b->n < b->cap)
		b->p[b->n++] = c;
	else
		buf_add(b, &c, 1);
}

#endif
