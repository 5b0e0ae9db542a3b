/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
buf_reserve(struct buf *b, size_t more)
{
	size_t limit = b->limit ? b->limit : SIZE_MAX / 2;
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (more <= b->cap - b->n)
		return 0;
	if (more > limit - b->n) {
		b->err = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap - b->n < more)
		cap = cap > limit / 2 ? limit : cap * 2;
	p = xrealloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
buf_add_slow(struct buf *b, const void *s, size_t n)
{
	/* nothing to add: b->p may still be NULL, and NULL + 0 is undefined */
	if (n == 0)
		return;
	if (buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0) {
		b->err = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->err = 0;
}
