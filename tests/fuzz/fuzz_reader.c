/*
 * fuzz_reader: fastread against libyaml, on arbitrary bytes.
 *
 * The input is read twice through node_reader (from a memfd, as a spec
 * file is): once as agentfence reads (fastread, libyaml from the first
 * document it gives up on) and once with libyaml alone. Each document's
 * tree (kinds, scalar text, types, quoting, line and column of every
 * node) and the diagnostics are written out as text and compared:
 *   - libyaml reads the whole stream: the two are the same, byte for byte;
 *   - libyaml stops at an error: the fast reader stops at an error too,
 *     and the same one, unless libyaml's is a reader error ("cannot
 *     read": libyaml checks its input up to 16 KiB ahead of the document
 *     it is on, so the fast reader may first report the documents before
 *     it); libyaml's documents always come first in the fast reader's.
 * The replay driver prints both texts before it aborts, so a failing
 * saved input shows its difference (tests/reader/ runs it on generated
 * streams). FUZZ_READER_STATS=1 prints how many documents fastread read.
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "diag.h"
#include "fuzz.h"
#include "memfile.h"
#include "node.h"

static void
dump(struct buf *b, const struct node *n, int depth)
{
	const struct node *k;

	buf_printf(b, "%*s%d:%d ", depth * 2, "", n->line, n->col);
	if (n->kind == NODE_MAP) {
		buf_printf(b, "map %zu\n", n->count);
		for (k = n->head; k; k = k->next) {
			dump(b, k, depth + 1);
			dump(b, k->val, depth + 2);
		}
	} else if (n->kind == NODE_SEQ) {
		buf_printf(b, "seq %zu\n", n->count);
		for (k = n->head; k; k = k->next)
			dump(b, k, depth + 1);
	} else {
		buf_printf(b, "scalar t%d q%d %zu \"", n->type, n->quoted, n->len);
		for (size_t i = 0; i < n->len; i++) {
			unsigned char c = (unsigned char)n->str[i];

			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
				buf_printf(b, "\\x%02x", c);
			else
				buf_printf(b, "%c", c);
		}
		buf_printf(b, "\"\n");
	}
}

/* The documents in docs, the diagnostics in diags; *reader_error when the error is libyaml's reader's. */
static void
read_all(const char *path, int libyaml, struct buf *docs, struct buf *diags,
	 size_t *ndocs, int *failed, int *reader_error)
{
	struct node_reader *r;
	struct diags d = DIAGS_INIT;
	struct arena a = ARENA_INIT;
	struct node *doc;
	int rc = -1;

	*ndocs = 0;
	if (node_reader_open(&r, path, NULL, &d) == 0) {
		if (libyaml)
			node_reader_use_libyaml(r);
		while ((rc = node_reader_next(r, &a, &doc)) == 1) {
			buf_printf(docs, "--- %zu\n", (*ndocs)++);
			if (doc)
				dump(docs, doc, 0);
			else
				buf_printf(docs, "(empty)\n");
			arena_reset(&a);
		}
		if (!libyaml && getenv("FUZZ_READER_STATS"))
			fprintf(stderr, "fastread: %zu of %zu documents\n",
				node_reader_fast_docs(r), *ndocs);
		node_reader_close(r);
	}
	*failed = rc < 0 || d.errors > 0;
	*reader_error = 0;
	for (size_t i = 0; i < d.n; i++) {
		buf_printf(diags, "%d:%d: %s\n", d.items[i].line, d.items[i].col, d.items[i].msg);
		if (strncmp(d.items[i].msg, "cannot read:", 12) == 0)
			*reader_error = 1;
	}
	arena_free(&a);
	diags_free(&d);
}

static void
show(const char *what, const struct buf *docs, const struct buf *diags)
{
	fprintf(stderr, "=== %s\n%.*s%.*s", what, (int)docs->n, docs->p ? docs->p : "",
		(int)diags->n, diags->p ? diags->p : "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct buf fd_docs = BUF_INIT, fd_diags = BUF_INIT, ly_docs = BUF_INIT, ly_diags = BUF_INIT;
	size_t fd_n, ly_n;
	int fd_failed, ly_failed, fd_rerr, ly_rerr, ok;
	int fd = mem_file(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	read_all(path, 0, &fd_docs, &fd_diags, &fd_n, &fd_failed, &fd_rerr);
	read_all(path, 1, &ly_docs, &ly_diags, &ly_n, &ly_failed, &ly_rerr);
	close(fd);
	if (!ly_failed || !ly_rerr) {
		ok = fd_failed == ly_failed && fd_docs.n == ly_docs.n &&
		     fd_diags.n == ly_diags.n &&
		     (!fd_docs.n || memcmp(fd_docs.p, ly_docs.p, fd_docs.n) == 0) &&
		     (!fd_diags.n || memcmp(fd_diags.p, ly_diags.p, fd_diags.n) == 0);
	} else {
		ok = fd_failed && fd_docs.n >= ly_docs.n &&
		     (!ly_docs.n || memcmp(fd_docs.p, ly_docs.p, ly_docs.n) == 0);
	}
	if (!ok) {
		show("fastread", &fd_docs, &fd_diags);
		show("libyaml", &ly_docs, &ly_diags);
	}
	FUZZ_CHECK(ok);
	buf_free(&fd_docs);
	buf_free(&fd_diags);
	buf_free(&ly_docs);
	buf_free(&ly_diags);
	return 0;
}
