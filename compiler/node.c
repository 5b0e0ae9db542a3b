#include "node.h"

#include <errno.h>
#include <yaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastread.h"
#include "xalloc.h"

const struct node_limits node_default_limits = {
	.max_file_bytes = 512u << 20,  /* 512 MiB: ~1.5 million agents */
	.max_documents = 2000000,
	.max_depth = 32,               /* a spec is 6 levels deep */
	.max_string = 64u << 10,       /* 64 KiB: an env value, a long arg */
	.max_nodes = 100000,           /* one agent is ~50 */
};

/*
 * Input is read into a buffer by the reader itself; fastread scans it a
 * document at a time. When fastread gives up on a document, libyaml reads
 * from that document's start on (what is still buffered, then the file),
 * and its marks are shifted by where it started.
 */
#define READ_CHUNK ((size_t)64 << 10)
#define FAST_MAX_DOC ((size_t)1 << 20)   /* a longer document is left to libyaml */

struct node_reader {
	yaml_parser_t parser;
	int parser_ok;
	int libyaml;                   /* fastread gave up: libyaml reads the rest */
	FILE *fp;                      /* owned unless stdin; NULL for a string */
	const char *name;
	char *name_buf;
	struct node_limits lim;
	struct diags *d;
	size_t ndocs;
	size_t fast_docs;              /* documents fastread read */
	int done;
	/* input: text[pos..len) is read and not yet used */
	const char *text;              /* buf, or the string read */
	char *buf;
	size_t cap, pos, len;
	size_t valid;                  /* text[0..valid): printable ASCII and LF */
	size_t base;                   /* stream offset of text[0] */
	int line;                      /* line of text[pos], 0-based */
	int eof;
	int first;                     /* no document read yet */
	struct fr_events ev;
	/* libyaml's marks count from where it started */
	size_t ybase;
	int yline;
};

/* libyaml stops at its first error: turn it into one diagnostic. */
static int
reader_error(struct node_reader *r)
{
	yaml_parser_t *p = &r->parser;

	if (p->error == YAML_MEMORY_ERROR) {
		diag_error(r->d, r->name, 0, 0, "out of memory");
	} else if (p->error == YAML_READER_ERROR) {
		diag_error(r->d, r->name, 0, 0, "cannot read: %s at byte %zu",
			   p->problem ? p->problem : "bad input", r->ybase + p->problem_offset);
	} else {
		diag_error(r->d, r->name, r->yline + (int)p->problem_mark.line + 1,
			   (int)p->problem_mark.column + 1, "invalid YAML: %s%s%s",
			   p->problem ? p->problem : "syntax error",
			   p->context ? " " : "", p->context ? p->context : "");
	}
	return -1;
}

static void
reader_init(struct node_reader *r, const char *name, const struct node_limits *lim,
	    struct diags *d)
{
	r->lim = lim ? *lim : node_default_limits;
	r->d = d;
	r->name = name;
	r->first = 1;
}

static void
reader_release(struct node_reader *r)
{
	if (r->parser_ok)
		yaml_parser_delete(&r->parser);
	r->parser_ok = 0;
	free(r->buf);
	r->buf = NULL;
	fr_events_free(&r->ev);
}

/* Read more input into the buffer, keeping text[pos..len). 0, or -1 after a diagnostic. */
static int
reader_fill(struct node_reader *r)
{
	ssize_t k;

	if (r->eof)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->valid -= r->valid < r->pos ? r->valid : r->pos;
		r->pos = 0;
	}
	if (r->cap - r->len < READ_CHUNK) {
		size_t cap = r->cap ? r->cap * 2 : 2 * READ_CHUNK;
		char *nb = xrealloc(r->buf, cap);

		if (!nb) {
			diag_error(r->d, r->name, 0, 0, "out of memory");
			return -1;
		}
		r->buf = nb;
		r->cap = cap;
		r->text = nb;
	}
	do
		k = read(fileno(r->fp), r->buf + r->len, r->cap - r->len);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		diag_error(r->d, r->name, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (k == 0)
		r->eof = 1;
	if (r->valid == r->len)
		r->valid += fr_plain_prefix(r->buf + r->len, (size_t)k);
	r->len += (size_t)k;
	return 0;
}

/* libyaml's input after fastread gave up: what is buffered, then the file. */
static int
reader_yaml_input(void *data, unsigned char *out, size_t size, size_t *got)
{
	struct node_reader *r = data;
	ssize_t k;

	if (r->pos < r->len) {
		size_t n = r->len - r->pos < size ? r->len - r->pos : size;

		memcpy(out, r->text + r->pos, n);
		r->pos += n;
		*got = n;
		return 1;
	}
	if (r->eof) {
		*got = 0;
		return 1;
	}
	do
		k = read(fileno(r->fp), out, size);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return 0;
	*got = (size_t)k;
	return 1;
}

/* Hand the rest of the stream, from text[pos], to libyaml. */
static int
reader_to_libyaml(struct node_reader *r)
{
	r->libyaml = 1;
	if (!yaml_parser_initialize(&r->parser)) {
		diag_error(r->d, r->name, 0, 0, "out of memory");
		return -1;
	}
	r->parser_ok = 1;
	r->ybase = r->base + r->pos;
	r->yline = r->line;
	yaml_parser_set_input(&r->parser, reader_yaml_input, r);
	return 0;
}

int
node_reader_open(struct node_reader **rp, const char *path,
		 const struct node_limits *lim, struct diags *d)
{
	struct node_reader *r;
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
	reader_init(r, r->name_buf, lim, d);
	r->fp = is_stdin ? stdin : fopen(path, "rb");
	if (!r->fp) {
		diag_error(d, r->name, 0, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fileno(r->fp), &st) == 0) {
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
	*rp = r;
	return 0;
fail:
	node_reader_close(r);
	return -1;
}

void
node_reader_use_libyaml(struct node_reader *r)
{
	if (!r->libyaml && !r->done && reader_to_libyaml(r) < 0)
		r->done = 1;
}

size_t
node_reader_fast_docs(const struct node_reader *r)
{
	return r->fast_docs;
}

const char *
node_reader_name(const struct node_reader *r)
{
	return r->name;
}

void
node_reader_close(struct node_reader *r)
{
	if (!r)
		return;
	reader_release(r);
	if (r->fp && r->fp != stdin)
		fclose(r->fp);
	free(r->name_buf);
	free(r);
}

/* --- scalar typing --- */

static int
all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

struct word {
	const char *s;
	size_t n;
};

#define W(x) { x, sizeof(x) - 1 }

static int
word_in(const char *s, size_t n, const struct word *words, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (words[i].n == n && memcmp(words[i].s, s, n) == 0)
			return 1;
	return 0;
}

enum node_type
node_resolve_plain(const char *s, size_t n)
{
	static const struct word nulls[] = { W("~"), W("null"), W("Null"), W("NULL") };
	static const struct word bools[] = {
		W("true"), W("True"), W("TRUE"), W("false"), W("False"), W("FALSE"),
		/* YAML 1.1: Kubernetes (sigs.k8s.io/yaml) reads these as booleans */
		W("yes"), W("Yes"), W("YES"), W("no"), W("No"), W("NO"),
		W("on"), W("On"), W("ON"), W("off"), W("Off"), W("OFF"),
		W("y"), W("Y"), W("n"), W("N") };
	static const struct word floats[] = {
		W(".inf"), W(".Inf"), W(".INF"), W("+.inf"), W("+.Inf"), W("+.INF"),
		W("-.inf"), W("-.Inf"), W("-.INF"), W(".nan"), W(".NaN"), W(".NAN") };
	const char *p = s;
	size_t m = n, i;
	int dot = 0, digits = 0, exp = 0;

	if (n == 0)
		return NT_NULL;
	/* fast path: only these first characters can start a non-string */
	switch (s[0]) {
	case '~': case 'n': case 'N': case 't': case 'T': case 'f': case 'F':
	case 'y': case 'Y': case 'o': case 'O':
		if (n > 5)
			return NT_STR;
		if (word_in(s, n, nulls, sizeof(nulls) / sizeof(nulls[0])))
			return NT_NULL;
		if (word_in(s, n, bools, sizeof(bools) / sizeof(bools[0])))
			return NT_BOOL;
		return NT_STR;
	case '.': case '+': case '-':
		if (word_in(s, n, floats, sizeof(floats) / sizeof(floats[0])))
			return NT_FLOAT;
		break;
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		break;
	default:
		return NT_STR;
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		if (s[1] == 'x' ? all_in(s + 2, n - 2, "0123456789abcdefABCDEF")
				: all_in(s + 2, n - 2, "01234567"))
			return NT_INT;
		return NT_STR;
	}
	if (*p == '-' || *p == '+') {
		p++;
		m--;
	}
	if (all_in(p, m, "0123456789"))
		return NT_INT;
	/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
	for (i = 0; i < m; i++) {
		char c = p[i];

		if (c >= '0' && c <= '9') {
			digits++;
		} else if (c == '.' && !dot && !exp) {
			dot = 1;
		} else if ((c == 'e' || c == 'E') && digits && !exp) {
			exp = 1;
			digits = 0;
			if (i + 1 < m && (p[i + 1] == '-' || p[i + 1] == '+'))
				i++;
		} else {
			return NT_STR;
		}
	}
	if (digits && (dot || exp))
		return NT_FLOAT;
	return NT_STR;
}

const char *
node_type_name(const struct node *n)
{
	if (!n)
		return "nothing";
	if (n->kind == NODE_RAW)
		n = n->val;
	if (n->kind == NODE_MAP)
		return "a mapping";
	if (n->kind == NODE_SEQ)
		return "a list";
	switch (n->type) {
	case NT_NULL: return "null";
	case NT_BOOL: return "a boolean";
	case NT_INT: return "an integer";
	case NT_FLOAT: return "a number";
	default: return "a string";
	}
}

/* --- building --- */

static struct node *
node_alloc(struct arena *a, enum node_kind kind)
{
	struct node *n = arena_alloc(a, sizeof(*n));

	/* a compound literal: inline stores, cheaper than a memset call */
	if (n)
		*n = (struct node){ .kind = (uint8_t)kind };
	return n;
}

struct node *
node_new_map(struct arena *a)
{
	return node_alloc(a, NODE_MAP);
}

struct node *
node_new_seq(struct arena *a)
{
	return node_alloc(a, NODE_SEQ);
}

struct node *
node_new_str(struct arena *a, const char *s)
{
	struct node *n;

	if (!s)
		return NULL;   /* a failed allocation upstream: pass it on */
	n = node_alloc(a, NODE_SCALAR);
	if (n) {
		n->type = NT_STR;
		n->quoted = 1;
		n->str = s;
		n->len = strlen(s);
	}
	return n;
}

struct node *
node_new_raw(struct arena *a, const char *s, enum node_type t)
{
	struct node *n = node_alloc(a, NODE_SCALAR);

	if (n) {
		n->type = (uint8_t)t;
		n->str = s;
		n->len = strlen(s);
	}
	return n;
}

struct node *
node_new_int(struct arena *a, long v)
{
	char tmp[24], *s;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	size_t i = sizeof(tmp);

	/* by hand: snprintf costs more than the rest of a port entry */
	do
		tmp[--i] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		tmp[--i] = '-';
	if (!(s = arena_strndup(a, tmp + i, sizeof(tmp) - i)))
		return NULL;
	return node_new_raw(a, s, NT_INT);
}

struct node *
node_new_bool(struct arena *a, int v)
{
	return node_new_raw(a, v ? "true" : "false", NT_BOOL);
}

static void
node_append(struct node *parent, struct node *child)
{
	child->next = NULL;
	if (parent->tail)
		parent->tail->next = child;
	else
		parent->head = child;
	parent->tail = child;
	parent->count++;
}

void
node_seq_add(struct node *seq, struct node *item)
{
	/* NULL (a failed allocation) is dropped; callers check the count */
	if (item)
		node_append(seq, item);
}

struct node *
node_map_getn(const struct node *map, const char *key, size_t n)
{
	const struct node *k;

	if (!map || map->kind != NODE_MAP)
		return NULL;
	for (k = map->head; k; k = k->next)
		if (k->len == n && k->str[0] == key[0] && memcmp(k->str, key, n) == 0)
			return k->val;
	return NULL;
}

int
node_map_setn(struct arena *a, struct node *map, const char *key, size_t n,
	      struct node *val, int plain)
{
	struct node *k;

	if (!val)
		return -1;
	for (k = map->head; k; k = k->next) {
		if (k->len == n && memcmp(k->str, key, n) == 0) {
			k->val = val;
			return 0;
		}
	}
	if (!(k = node_alloc(a, NODE_SCALAR)))
		return -1;
	k->type = NT_STR;
	k->quoted = 1;
	k->str = key;
	k->len = n;
	k->plain = (uint8_t)plain;
	k->val = val;
	node_append(map, k);
	return 0;
}

static int
map_set(struct arena *a, struct node *map, const char *key, struct node *val, int plain)
{
	return node_map_setn(a, map, key, strlen(key), val, plain);
}

int
node_map_set(struct arena *a, struct node *map, const char *key, struct node *val)
{
	return map_set(a, map, key, val, 0);
}

static struct node *
map_sub(struct arena *a, struct node *map, const char *key, int plain)
{
	struct node *v = node_map_get(map, key);

	if (v && v->kind == NODE_MAP)
		return v;
	v = node_new_map(a);
	if (!v || map_set(a, map, key, v, plain) < 0)
		return NULL;
	return v;
}

struct node *
node_map_sub(struct arena *a, struct node *map, const char *key)
{
	return map_sub(a, map, key, 0);
}

struct node *
node_map_sub_plain(struct arena *a, struct node *map, const char *key)
{
	return map_sub(a, map, key, 1);
}

struct node *
node_new_plain(struct arena *a, const char *s)
{
	struct node *n = node_new_str(a, s);

	if (n)
		n->plain = 1;
	return n;
}

struct node *
node_clone(struct arena *a, const struct node *n)
{
	struct node *c = arena_alloc(a, sizeof(*c)), *cc;
	const struct node *it;

	if (!c)
		return NULL;
	*c = *n;
	c->next = NULL;
	if (n->kind == NODE_RAW)
		return c;   /* immutable: share the rendering and its tree */
	c->head = c->tail = c->val = NULL;
	c->count = 0;
	for (it = n->head; it; it = it->next) {
		cc = node_clone(a, it);
		if (!cc)
			return NULL;
		if (it->val && !(cc->val = node_clone(a, it->val)))
			return NULL;
		node_append(c, cc);
	}
	return c;
}

/* --- reading events into a tree --- */

struct builder {
	struct node_reader *r;
	struct arena *a;
	struct node *stack[64];
	size_t depth;
	size_t nodes;
	struct node *root;
};

static int
is_str_tag(const char *tag)
{
	return tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!!str") == 0);
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

/* A node with its marks; for a scalar, its text is copied right behind it. */
static struct node *
builder_node(struct builder *b, const struct fr_event *ev, enum node_kind kind)
{
	size_t extra = ev->type == FR_SCALAR ? ev->len + 1 : 0;
	struct node *n = extra > b->r->lim.max_string + 1 ? NULL : arena_alloc(b->a, sizeof(*n) + extra);

	if (n) {
		*n = (struct node){ .kind = (uint8_t)kind };
		if (extra) {
			char *text = (char *)(n + 1);

			memcpy(text, ev->str, ev->len);
			text[ev->len] = '\0';
			n->str = text;
			n->len = ev->len;
		}
	} else if (extra > b->r->lim.max_string + 1) {
		n = node_alloc(b->a, kind);   /* only for its marks: the caller refuses it */
	}
	if (!n) {
		diag_error(b->r->d, b->r->name, 0, 0, "out of memory");
		return NULL;
	}
	n->line = ev->line + 1;
	n->col = ev->col + 1;
	if (ev->index > b->r->lim.max_file_bytes) {
		diag_error(b->r->d, b->r->name, n->line, n->col,
			   "input is larger than %zu bytes", b->r->lim.max_file_bytes);
		return NULL;
	}
	return n;
}

/*
 * One event, from fastread or converted from libyaml's (`tag`: libyaml's
 * tag, if any). Returns 1 when the document is complete, 0 to go on, -1
 * on error.
 */
static int
builder_event(struct builder *b, const struct fr_event *ev, const char *tag)
{
	struct node_reader *r = b->r;
	struct node *n;

	switch (ev->type) {
	case FR_ALIAS:
		n = builder_node(b, ev, NODE_SCALAR);
		if (n)
			diag_error(r->d, r->name, n->line, n->col,
				   "aliases (*name) are not supported: write the value out");
		return -1;
	case FR_SCALAR:
		n = builder_node(b, ev, NODE_SCALAR);
		if (!n)
			return -1;
		if (ev->len > r->lim.max_string) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string of %zu bytes is longer than the limit of %zu",
				   ev->len, r->lim.max_string);
			return -1;
		}
		if (memchr(ev->str, '\0', ev->len)) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string contains a NUL character");
			return -1;
		}
		n->quoted = ev->quoted;
		n->type = n->quoted ? NT_STR : (uint8_t)node_resolve_plain(ev->str, ev->len);
		break;
	case FR_MAP_START:
		if (!(n = builder_node(b, ev, NODE_MAP)))
			return -1;
		break;
	case FR_SEQ_START:
		if (!(n = builder_node(b, ev, NODE_SEQ)))
			return -1;
		break;
	case FR_MAP_END:
	case FR_SEQ_END:
		b->depth--;
		return 0;
	case FR_DOC_START:
		if (++r->ndocs > r->lim.max_documents) {
			diag_error(r->d, r->name, ev->line + 1, ev->col + 1,
				   "more than %zu documents", r->lim.max_documents);
			return -1;
		}
		return 0;
	case FR_DOC_END:
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

/* libyaml's event as ours; its tag in *tag. Returns the type, or -1 for stream end. */
static int
from_libyaml(const struct node_reader *r, const yaml_event_t *y, struct fr_event *ev,
	     const char **tag)
{
	memset(ev, 0, sizeof(*ev));
	ev->line = r->yline + (int)y->start_mark.line;
	ev->col = (int)y->start_mark.column;
	ev->index = r->ybase + y->start_mark.index;
	*tag = NULL;
	switch (y->type) {
	case YAML_STREAM_END_EVENT:
		return -1;
	case YAML_DOCUMENT_START_EVENT:
		ev->type = FR_DOC_START;
		break;
	case YAML_DOCUMENT_END_EVENT:
		ev->type = FR_DOC_END;
		break;
	case YAML_ALIAS_EVENT:
		ev->type = FR_ALIAS;
		break;
	case YAML_SCALAR_EVENT:
		ev->type = FR_SCALAR;
		ev->str = (const char *)y->data.scalar.value;
		ev->len = y->data.scalar.length;
		ev->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		*tag = (const char *)y->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		ev->type = FR_MAP_START;
		*tag = (const char *)y->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		ev->type = FR_SEQ_START;
		*tag = (const char *)y->data.sequence_start.tag;
		break;
	case YAML_MAPPING_END_EVENT:
		ev->type = FR_MAP_END;
		break;
	case YAML_SEQUENCE_END_EVENT:
		ev->type = FR_SEQ_END;
		break;
	default:
		ev->type = FR_OTHER;
		break;
	}
	return ev->type;
}

/* The next document with libyaml. */
static int
next_libyaml(struct node_reader *r, struct builder *b)
{
	yaml_event_t y;
	struct fr_event ev;
	const char *tag;
	int rc;

	for (;;) {
		if (!yaml_parser_parse(&r->parser, &y))
			return reader_error(r);
		if (from_libyaml(r, &y, &ev, &tag) < 0) {
			yaml_event_delete(&y);
			return 0;
		}
		rc = builder_event(b, &ev, tag);
		yaml_event_delete(&y);
		if (rc)
			return rc;
	}
}

/* The next document with fastread; 2 when it gives up. */
static int
next_fast(struct node_reader *r, struct builder *b)
{
	size_t used;
	int lines, rc = 0;

	if (!r->text && r->fp && reader_fill(r) < 0)
		return -1;
	if (!r->text)
		return 0;   /* an empty string */
	for (;;) {
		switch (fr_document(r->text + r->pos, r->len - r->pos,
				    r->valid > r->pos ? r->valid - r->pos : 0, r->eof, r->first,
				    r->line, r->base + r->pos, b->a, &r->ev, &used, &lines)) {
		case FR_MORE:
			if (!r->fp || r->len - r->pos >= FAST_MAX_DOC)
				return 2;
			if (reader_fill(r) < 0)
				return -1;
			continue;
		case FR_SKIP:
			r->pos += used;
			r->line += lines;
			if (r->pos == r->len && r->eof)
				return 0;
			continue;
		case FR_DOC:
			for (size_t i = 0; i < r->ev.n; i++)
				if ((rc = builder_event(b, &r->ev.ev[i], NULL)) != 0)
					break;
			r->pos += used;
			r->line += lines;
			r->first = 0;
			r->fast_docs++;
			return rc;
		case FR_NOMEM:
			diag_error(r->d, r->name, 0, 0, "out of memory");
			return -1;
		default:
			return 2;
		}
	}
}

int
node_reader_next(struct node_reader *r, struct arena *a, struct node **doc)
{
	struct builder b;
	int rc = 2;

	*doc = NULL;
	if (r->done)
		return 0;
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.a = a;
	if (!r->libyaml)
		rc = next_fast(r, &b);
	if (rc == 2) {
		/* fastread gave up on this document: libyaml reads it and the rest */
		memset(&b, 0, sizeof(b));
		b.r = r;
		b.a = a;
		rc = r->libyaml ? 0 : reader_to_libyaml(r);
		if (rc == 0)
			rc = next_libyaml(r, &b);
	}
	if (rc <= 0) {
		r->done = 1;
		return rc;
	}
	*doc = b.root;
	return 1;
}

int
node_read_string(const char *name, const char *text, size_t len,
		 struct arena *a, struct diags *d, struct node **docs,
		 size_t max_docs, size_t *ndocs)
{
	struct node_reader r;
	struct node *doc;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	*ndocs = 0;
	reader_init(&r, name, NULL, d);
	r.text = text;
	r.len = len;
	r.valid = fr_plain_prefix(text, len);
	r.eof = 1;
	while ((rc = node_reader_next(&r, a, &doc)) == 1) {
		if (!doc)
			continue;
		if (*ndocs == max_docs) {
			diag_error(d, name, doc->line, doc->col,
				   "expected at most %zu documents", max_docs);
			rc = -1;
			break;
		}
		docs[(*ndocs)++] = doc;
	}
	reader_release(&r);
	return rc < 0 ? -1 : 0;
}
