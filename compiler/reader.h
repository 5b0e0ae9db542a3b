/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reader: a YAML (or JSON) stream read with libyaml's event API into node
 * trees, one document at a time, each node with its line and column.
 *
 * Anchors are ignored; aliases and tags other than !!str are refused (no
 * alias expansion, so a "billion laughs" file fails at its first alias).
 * File size, documents, depth, string length and nodes per document are
 * bounded (struct reader_limits). The input is streamed: a reader holds
 * libyaml's buffers and one document's tree, never the whole file.
 *
 * Ownership: a reader belongs to its opener and is released with
 * reader_close(); the trees live in the arena given to reader_next().
 */
#ifndef AGENTFENCE_READER_H
#define AGENTFENCE_READER_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "node.h"

struct reader_limits {
	size_t max_file_bytes;
	size_t max_documents;
	size_t max_depth;
	size_t max_string;
	size_t max_nodes;          /* per document */
};

extern const struct reader_limits reader_default_limits;

struct reader;

/*
 * Open `path` ("-" is standard input; it is shown as "<stdin>"), with
 * `lim` (NULL: reader_default_limits). Returns 0, or -1 after recording
 * an error in `d`.
 */
int reader_open(struct reader **rp, const char *path,
		const struct reader_limits *lim, struct diags *d);
/*
 * Read the next document into `a`. Returns 1 with *doc set, 0 at the end
 * of the stream, -1 after recording an error in `d` (the rest of the
 * stream is not read: YAML cannot resume after a syntax error).
 */
int reader_next(struct reader *r, struct arena *a, struct node **doc);
/* The name used in diagnostics. Borrowed. */
const char *reader_name(const struct reader *r);
void reader_close(struct reader *r);

/*
 * Read a whole string (templates) with the default limits: at most
 * `max_docs` documents into docs[], their count in *ndocs. Returns 0, or
 * -1 after recording an error in `d`.
 */
int reader_string(const char *name, const char *text, size_t len,
		  struct arena *a, struct diags *d, struct node **docs,
		  size_t max_docs, size_t *ndocs);

#endif
