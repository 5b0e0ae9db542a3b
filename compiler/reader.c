/* SPDX-License-Identifier: Apache-2.0 */
/* reader: see reader.h */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "xalloc.h"

const struct reader_limits reader_default_limits = {
	.max_file_bytes = 512u << 20,  /* 512 MiB: ~1.5 million agents */
	.max_documents = 2000000,
	.max_depth = 32,               /* a spec is 6 levels deep */
	.max_string = 64u << 10,       /* 64 KiB: an env value, a long arg */
	.max_nodes = 100000,           /* one agent is ~50 */
};

struct reader {
	yaml_parser_t parser;
	int parser_ok;
	int fd;                        /* -1 for a string */
	int own_fd;                    /* not stdin: closed with the reader */
	const char *name;
	char *name_buf;
	struct reader_limits lim;
	struct diags *d;
	size_t ndocs;
	size_t nread;                  /* bytes read from fd */
	int read_errno;                /* read() failed */
	int too_big;                   /* more than max_file_bytes (a pipe) */
	int done;
};

/* libyaml stops at its first error: turn it into one diagnostic. */
static int
reader_error(struct reader *r)
{
	yaml_parser_t *p = &r->parser;

	if (p->error == YAML_READER_ERROR && r->too_big) {
		diag_error(r->d, r->name, (int)p->mark.line + 1, (int)p->mark.column + 1,
			   "input is larger than %zu bytes", r->lim.max_file_bytes);
	} else if (p->error == YAML_READER_ERROR && r->read_errno) {
		diag_error(r->d, r->name, 0, 0, "cannot read: %s", strerror(r->read_errno));
	} else if (p->error == YAML_MEMORY_ERROR) {
		diag_error(r->d, r->name, 0, 0, "out of memory");
	} else if (p->error == YAML_READER_ERROR) {
		diag_error(r->d, r->name, 0, 0, "cannot read: %s at byte %zu",
			   p->problem ? p->problem : "bad input", p->problem_offset);
	} else {
		diag_error(r->d, r->name, (int)p->problem_mark.line + 1,
			   (int)p->problem_mark.column + 1, "invalid YAML: %s%s%s",
			   p->problem ? p->problem : "syntax error",
			   p->context ? " " : "", p->context ? p->context : "");
	}
	return -1;
}

/*
 * libyaml's input: the file, a raw buffer (16 KiB) at a time. A pipe has
 * no size up front, so the bound is kept here: one byte past it stops the
 * stream.
 */
static int
read_input(void *data, unsigned char *out, size_t size, size_t *got)
{
	struct reader *r = data;
	size_t room = r->lim.max_file_bytes - r->nread;
	ssize_t k;

	if (size > room)
		size = room + 1;
	do
		k = read(r->fd, out, size);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		r->read_errno = errno;
		return 0;
	}
	if ((size_t)k > room) {
		r->too_big = 1;
		return 0;
	}
	r->nread += (size_t)k;
	*got = (size_t)k;
	return 1;
}

static int
reader_init(struct reader *r, const char *name, const struct reader_limits *lim,
	    struct diags *d)
{
	r->fd = -1;
	r->lim = lim ? *lim : reader_default_limits;
	r->d = d;
	r->name = name;
	if (!yaml_parser_initialize(&r->parser)) {
		diag_error(d, name, 0, 0, "out of memory");
		return -1;
	}
	r->parser_ok = 1;
	return 0;
}

int
reader_open(struct reader **rp, const char *path, const struct reader_limits *lim,
	    struct diags *d)
{
	struct reader *r;
	struct stat st;
	int is_stdin = strcmp(path, "-") == 0;

	*rp = NULL;
	r = xcalloc(1, sizeof(*r));
	if (!r) {
		diag_error(d, path, 0, 0, "out of memory");
		return -1;
	}
	r->name_buf = xstrdup(is_stdin ? "<stdin>" : path);
	if (!r->name_buf) {
		free(r);
		diag_error(d, path, 0, 0, "out of memory");
		return -1;
	}
	if (reader_init(r, r->name_buf, lim, d) < 0)
		goto fail;
	r->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		diag_error(d, r->name, 0, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	r->own_fd = !is_stdin;
	if (fstat(r->fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			diag_error(d, r->name, 0, 0, "is a directory, not a spec file");
			goto fail;
		}
		if (S_ISREG(st.st_mode) && (size_t)st.st_size > r->lim.max_file_bytes) {
			diag_error(d, r->name, 0, 0,
				   "file is %lld bytes; the limit is %zu",
				   (long long)st.st_size, r->lim.max_file_bytes);
			goto fail;
		}
	}
	yaml_parser_set_input(&r->parser, read_input, r);
	*rp = r;
	return 0;
fail:
	reader_close(r);
	return -1;
}

const char *
reader_name(const struct reader *r)
{
	return r->name;
}

void
reader_close(struct reader *r)
{
	if (!r)
		return;
	if (r->parser_ok)
		yaml_parser_delete(&r->parser);
	if (r->own_fd)
		close(r->fd);
	free(r->name_buf);
	free(r);
}

/* --- events into a tree --- */

struct builder {
	struct reader *r;
	struct arena *a;
	struct node *stack[64];
	size_t depth;
	size_t nodes;
	struct node *root;
};

static int
is_str_tag(const yaml_char_t *tag)
{
	const char *t = (const char *)tag;

	return t && (strcmp(t, YAML_STR_TAG) == 0 || strcmp(t, "!!str") == 0);
}

/* Attach a new node to the current parent; keys of maps are checked for duplicates. */
static int
builder_add(struct builder *b, struct node *n)
{
	struct node *top, *k;

	if (++b->nodes > b->r->lim.max_nodes) {
		diag_error(b->r->d, b->r->name, n->line, n->col,
			   "document has more than %zu nodes", b->r->lim.max_nodes);
		return -1;
	}
	if (!b->depth) {
		b->root = n;
		return 0;
	}
	top = b->stack[b->depth - 1];
	if (top->kind == NODE_SEQ) {
		node_append(top, n);
		return 0;
	}
	/* a map: a key, or the value of the last key */
	if (top->tail && !top->tail->val) {
		top->tail->val = n;
		return 0;
	}
	if (n->kind != NODE_SCALAR) {
		diag_error(b->r->d, b->r->name, n->line, n->col,
			   "mapping keys must be strings, not %s", node_type_name(n));
		return -1;
	}
	for (k = top->head; k; k = k->next) {
		if (k->len == n->len && memcmp(k->str, n->str, n->len) == 0) {
			diag_error(b->r->d, b->r->name, n->line, n->col,
				   "duplicate key \"%s\" (first at line %d)", n->str, k->line);
			return -1;
		}
	}
	node_append(top, n);
	return 0;
}

/*
 * A node with its marks; a scalar's text is copied right behind it (one
 * allocation), unless it is over the limit: then the node is only for
 * its marks and the caller refuses it.
 */
static struct node *
builder_node(struct builder *b, const yaml_event_t *ev, enum node_kind kind)
{
	size_t len = ev->type == YAML_SCALAR_EVENT ? ev->data.scalar.length : 0;
	int text = ev->type == YAML_SCALAR_EVENT && len <= b->r->lim.max_string;
	struct node *n = arena_alloc(b->a, sizeof(*n) + (text ? len + 1 : 0));

	if (!n) {
		diag_error(b->r->d, b->r->name, 0, 0, "out of memory");
		return NULL;
	}
	*n = (struct node){ .kind = (uint8_t)kind };
	if (text) {
		char *s = (char *)(n + 1);

		memcpy(s, ev->data.scalar.value, len);
		s[len] = '\0';
		n->str = s;
		n->len = len;
	}
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	return n;
}

/* One event. Returns 1 when the document is complete, 0 to go on, -1 on error. */
static int
builder_event(struct builder *b, const yaml_event_t *ev)
{
	struct reader *r = b->r;
	const yaml_char_t *tag;
	struct node *n;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		n = builder_node(b, ev, NODE_SCALAR);
		if (n)
			diag_error(r->d, r->name, n->line, n->col,
				   "aliases (*name) are not supported: write the value out");
		return -1;
	case YAML_SCALAR_EVENT:
		if (!(n = builder_node(b, ev, NODE_SCALAR)))
			return -1;
		if (ev->data.scalar.length > r->lim.max_string) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string of %zu bytes is longer than the limit of %zu",
				   ev->data.scalar.length, r->lim.max_string);
			return -1;
		}
		if (memchr(n->str, '\0', n->len)) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string contains a NUL character");
			return -1;
		}
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		n->type = n->quoted ? NT_STR : (uint8_t)node_resolve_plain(n->str, n->len);
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		if (!(n = builder_node(b, ev, NODE_MAP)))
			return -1;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		if (!(n = builder_node(b, ev, NODE_SEQ)))
			return -1;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++r->ndocs > r->lim.max_documents) {
			diag_error(r->d, r->name, (int)ev->start_mark.line + 1,
				   (int)ev->start_mark.column + 1,
				   "more than %zu documents", r->lim.max_documents);
			return -1;
		}
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		return 1;
	default:
		return 0;
	}
	if (tag && !(n->kind == NODE_SCALAR && is_str_tag(tag))) {
		diag_error(r->d, r->name, n->line, n->col,
			   "YAML tags are not supported here (only !!str)");
		return -1;
	}
	if (tag) {
		n->type = NT_STR;
		n->quoted = 1;
	}
	if (builder_add(b, n) < 0)
		return -1;
	if (n->kind != NODE_SCALAR) {
		if (b->depth >= r->lim.max_depth ||
		    b->depth >= sizeof(b->stack) / sizeof(b->stack[0])) {
			diag_error(r->d, r->name, n->line, n->col,
				   "nesting deeper than %zu levels", r->lim.max_depth);
			return -1;
		}
		b->stack[b->depth++] = n;
	}
	return 0;
}

int
reader_next(struct reader *r, struct arena *a, struct node **doc)
{
	struct builder b = { .r = r, .a = a };
	yaml_event_t ev;
	int rc, end;

	*doc = NULL;
	if (r->done)
		return 0;
	for (;;) {
		if (!yaml_parser_parse(&r->parser, &ev)) {
			rc = reader_error(r);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		rc = end ? 0 : builder_event(&b, &ev);
		yaml_event_delete(&ev);
		if (rc || end)
			break;
	}
	if (rc <= 0) {
		r->done = 1;
		return rc;
	}
	*doc = b.root;
	return 1;
}

int
reader_string(const char *name, const char *text, size_t len, struct arena *a,
	      struct diags *d, struct node **docs, size_t max_docs, size_t *ndocs)
{
	struct reader r;
	struct node *doc;
	int rc;

	memset(&r, 0, sizeof(r));
	*ndocs = 0;
	if (reader_init(&r, name, NULL, d) < 0)
		return -1;
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	while ((rc = reader_next(&r, a, &doc)) == 1) {
		if (!doc)
			continue;   /* libyaml gives every document a node; the analyzer can't know */
		if (*ndocs == max_docs) {
			diag_error(d, name, doc->line, doc->col,
				   "expected at most %zu documents", max_docs);
			rc = -1;
			break;
		}
		docs[(*ndocs)++] = doc;
	}
	yaml_parser_delete(&r.parser);
	return rc < 0 ? -1 : 0;
}
