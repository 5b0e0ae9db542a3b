/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diag: the errors and warnings found in the input, with their places.
 *
 * Modules record here and return; only main.c prints (as
 * "FILE:LINE:COL: error: message") and picks the exit code.
 *
 * Ownership: struct diags owns its entries and their strings; release
 * with diags_free(). `file` strings are copied.
 */
#ifndef AGENTFENCE_DIAG_H
#define AGENTFENCE_DIAG_H

#include <stddef.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag {
	enum diag_level level;
	char *file;       /* NULL: not about a file */
	int line, col;    /* 1-based; 0: unknown */
	char *msg;
};

struct diags {
	struct diag *items;
	size_t n, cap;
	size_t errors;    /* entries with DIAG_ERROR */
	int oom;          /* an entry could not be recorded */
};

#define DIAGS_INIT { 0, 0, 0, 0, 0 }

/* Record; on out-of-memory sets d->oom and still counts the error. */
void diag_error(struct diags *d, const char *file, int line, int col,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_warning(struct diags *d, const char *file, int line, int col,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Drop the recorded entries but keep the error count. */
void diags_clear(struct diags *d);
void diags_free(struct diags *d);

#endif
