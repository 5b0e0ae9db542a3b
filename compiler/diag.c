/* SPDX-License-Identifier: Apache-2.0 */
#include "diag.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void diag_vadd(struct diags *d, enum diag_level level, const char *file, int line,
		      int col, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static void
diag_vadd(struct diags *d, enum diag_level level, const char *file, int line,
	  int col, const char *fmt, va_list ap)
{
	struct diag *e;
	va_list ap2;
	int n;

	if (level == DIAG_ERROR)
		d->errors++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct diag *p = xreallocarray(d->items, cap, sizeof(*p));

		if (!p) {
			d->oom = 1;
			return;
		}
		d->items = p;
		d->cap = cap;
	}
	e = &d->items[d->n];
	e->level = level;
	e->line = line;
	e->col = col;
	e->file = file ? xstrdup(file) : NULL;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	e->msg = n >= 0 ? xmalloc((size_t)n + 1) : NULL;
	if ((file && !e->file) || !e->msg) {
		free(e->file);
		free(e->msg);
		d->oom = 1;
		return;
	}
	vsnprintf(e->msg, (size_t)n + 1, fmt, ap);
	d->n++;
}

void
diag_error(struct diags *d, const char *file, int line, int col,
	   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, DIAG_ERROR, file, line, col, fmt, ap);
	va_end(ap);
}

void
diag_warning(struct diags *d, const char *file, int line, int col,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, DIAG_WARNING, file, line, col, fmt, ap);
	va_end(ap);
}

void
diags_clear(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
	}
	d->n = 0;
}

void
diags_free(struct diags *d)
{
	diags_clear(d);
	free(d->items);
	d->items = NULL;
	d->cap = 0;
}
