#include "node.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xalloc.h"

const struct node_limits node_default_limits = {
	.max_file_bytes = 512u << 20,  /* 512 MiB: ~1.5 million agents */
	.max_documents = 2000000,
	.max_depth = 32,               /* a spec is 6 levels deep */
	.max_string = 64u << 10,       /* 64 KiB: an env value, a long arg */
	.max_nodes = 100000,           /* one agent is ~50 */
};

struct node_reader {
	struct fy_parser *fyp;
	FILE *fp;                      /* owned unless stdin */
	const char *name;
	char *name_buf;
	struct node_limits lim;
	struct diags *d;
	struct fy_diag *diag;
	char errtext[512];
	size_t errlen;
	size_t ndocs;
	int done;
};

/*
 * libfyaml 0.7 prints its parse errors through a diag object; we capture
 * that text (first error only: YAML cannot resume after one) and turn its
 * "NAME:LINE:COL: error: MESSAGE" line into our own diagnostic.
 */
static void
reader_diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct node_reader *r = user;
	size_t room = sizeof(r->errtext) - 1 - r->errlen;

	(void)diag;
	if (len > room)
		len = room;
	memcpy(r->errtext + r->errlen, buf, len);
	r->errlen += len;
	r->errtext[r->errlen] = '\0';
}

static int
reader_collect_errors(struct node_reader *r)
{
	char *t = r->errtext, *nl, *tag;
	int line = 0, col = 0;

	if ((nl = strchr(t, '\n')))
		*nl = '\0';
	tag = strstr(t, ": error: ");
	if (tag) {
		char *p = tag, *c2;

		/* walk back over ":COL" and ":LINE" */
		*p = '\0';
		c2 = strrchr(t, ':');
		if (c2) {
			col = atoi(c2 + 1);
			*c2 = '\0';
			if ((c2 = strrchr(t, ':')))
				line = atoi(c2 + 1);
		}
		diag_error(r->d, r->name, line, col, "invalid YAML: %s", tag + 9);
	} else {
		diag_error(r->d, r->name, 0, 0, "invalid YAML%s%s", *t ? ": " : "", t);
	}
	return -1;
}

static int
reader_init(struct node_reader *r, const char *name, const struct node_limits *lim,
	    struct diags *d)
{
	struct fy_parse_cfg cfg;
	struct fy_diag_cfg dcfg;

	memset(&cfg, 0, sizeof(cfg));
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = reader_diag_output;
	dcfg.user = r;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	dcfg.show_source = false;
	dcfg.show_position = true;
	dcfg.show_type = true;
	dcfg.show_module = false;
	r->diag = fy_diag_create(&dcfg);
	if (!r->diag) {
		diag_error(d, name, 0, 0, "out of memory");
		return -1;
	}
	cfg.diag = r->diag;
	/* no mmap: read in buffered chunks so memory stays flat on big inputs */
	cfg.flags = FYPCF_QUIET | FYPCF_DISABLE_MMAP_OPT |
		    FYPCF_JSON_AUTO;
	r->lim = lim ? *lim : node_default_limits;
	r->d = d;
	r->name = name;
	r->fyp = fy_parser_create(&cfg);
	if (!r->fyp) {
		diag_error(d, name, 0, 0, "out of memory");
		return -1;
	}
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
	if (reader_init(r, r->name_buf, lim, d) < 0)
		goto fail;
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
	if (fy_parser_set_input_fp(r->fyp, r->name, r->fp) != 0) {
		diag_error(d, r->name, 0, 0, "cannot read input");
		goto fail;
	}
	*rp = r;
	return 0;
fail:
	node_reader_close(r);
	return -1;
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
	if (r->fyp)
		fy_parser_destroy(r->fyp);
	if (r->diag)
		fy_diag_destroy(r->diag);
	if (r->fp && r->fp != stdin)
		fclose(r->fp);
	free(r->name_buf);
	free(r);
}

/* --- scalar typing --- */

static int
all_digits(const char *s, size_t n, const char *set)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr(set, s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

static int
word_in(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && memcmp(*words, s, n) == 0)
			return 1;
	return 0;
}

enum node_type
node_resolve_plain(const char *s, size_t n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const bools[] = {
		"true", "True", "TRUE", "false", "False", "FALSE",
		/* YAML 1.1: Kubernetes (sigs.k8s.io/yaml) reads these as booleans */
		"yes", "Yes", "YES", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", NULL };
	static const char *const floats[] = {
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
		"-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL };
	const char *p = s;
	size_t m = n, i;
	int dot = 0, digits = 0, exp = 0;

	/* fast path: most strings cannot be anything but a string */
	if (n > 5 && !strchr("0123456789+-.", s[0]))
		return NT_STR;
	if (word_in(s, n, nulls))
		return NT_NULL;
	if (word_in(s, n, bools))
		return NT_BOOL;
	if (word_in(s, n, floats))
		return NT_FLOAT;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		if (s[1] == 'x' ? all_digits(s + 2, n - 2, "0123456789abcdefABCDEF")
				: all_digits(s + 2, n - 2, "01234567"))
			return NT_INT;
		return NT_STR;
	}
	if (m && (*p == '-' || *p == '+')) {
		p++;
		m--;
	}
	if (all_digits(p, m, "0123456789"))
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
	struct node *n = arena_zalloc(a, sizeof(*n));

	if (n)
		n->kind = (uint8_t)kind;
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
	struct node *n = node_alloc(a, NODE_SCALAR);

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
	char *s = arena_sprintf(a, "%ld", v);

	return s ? node_new_raw(a, s, NT_INT) : NULL;
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
node_map_get(const struct node *map, const char *key)
{
	const struct node *k;
	size_t n = strlen(key);

	if (!map || map->kind != NODE_MAP)
		return NULL;
	for (k = map->head; k; k = k->next)
		if (k->len == n && memcmp(k->str, key, n) == 0)
			return k->val;
	return NULL;
}

int
node_map_set(struct arena *a, struct node *map, const char *key, struct node *val)
{
	struct node *k;
	size_t n = strlen(key);

	if (!val)
		return -1;
	for (k = map->head; k; k = k->next) {
		if (k->len == n && memcmp(k->str, key, n) == 0) {
			k->val = val;
			return 0;
		}
	}
	k = node_new_str(a, key);
	if (!k)
		return -1;
	k->val = val;
	node_append(map, k);
	return 0;
}

struct node *
node_map_sub(struct arena *a, struct node *map, const char *key)
{
	struct node *v = node_map_get(map, key);

	if (v && v->kind == NODE_MAP)
		return v;
	v = node_new_map(a);
	if (!v || node_map_set(a, map, key, v) < 0)
		return NULL;
	return v;
}

struct node *
node_clone(struct arena *a, const struct node *n)
{
	struct node *c = arena_alloc(a, sizeof(*c)), *cc;
	const struct node *it;

	if (!c)
		return NULL;
	*c = *n;
	c->head = c->tail = c->next = c->val = NULL;
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
	int failed;
};

static int
is_str_tag(struct fy_token *tag)
{
	size_t n;
	const char *t = tag ? fy_token_get_text(tag, &n) : NULL;

	return t && ((n == 21 && memcmp(t, "tag:yaml.org,2002:str", 21) == 0) ||
		     (n == 5 && memcmp(t, "!!str", 5) == 0));
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
		if (!n->line) {
			/* an empty value has no mark of its own: point at its key */
			n->line = top->tail->line;
			n->col = top->tail->col;
		}
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

static struct node *
builder_node(struct builder *b, struct fy_event *ev, enum node_kind kind)
{
	const struct fy_mark *m = fy_event_start_mark(ev);
	struct node *n = node_alloc(b->a, kind);

	if (!n) {
		diag_error(b->r->d, b->r->name, 0, 0, "out of memory");
		return NULL;
	}
	if (m) {
		n->line = m->line + 1;
		n->col = m->column + 1;
		if (m->input_pos > b->r->lim.max_file_bytes) {
			diag_error(b->r->d, b->r->name, n->line, n->col,
				   "input is larger than %zu bytes", b->r->lim.max_file_bytes);
			return NULL;
		}
	}
	return n;
}

/* Returns 1 when the document is complete, 0 to go on, -1 on error. */
static int
builder_event(struct builder *b, struct fy_event *ev)
{
	struct node_reader *r = b->r;
	struct node *n;
	struct fy_token *tag = NULL;
	const char *text;
	size_t len;

	switch (ev->type) {
	case FYET_ALIAS:
		n = builder_node(b, ev, NODE_SCALAR);
		if (n)
			diag_error(r->d, r->name, n->line, n->col,
				   "aliases (*name) are not supported: write the value out");
		return -1;
	case FYET_SCALAR:
		tag = ev->scalar.tag;
		n = builder_node(b, ev, NODE_SCALAR);
		if (!n)
			return -1;
		text = fy_token_get_text(ev->scalar.value, &len);
		if (!text) {
			text = "";
			len = 0;
		}
		if (len > r->lim.max_string) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string of %zu bytes is longer than the limit of %zu",
				   len, r->lim.max_string);
			return -1;
		}
		if (memchr(text, '\0', len)) {
			diag_error(r->d, r->name, n->line, n->col,
				   "string contains a NUL character");
			return -1;
		}
		n->str = arena_strndup(b->a, text, len);
		if (!n->str) {
			diag_error(r->d, r->name, 0, 0, "out of memory");
			return -1;
		}
		n->len = len;
		n->quoted = fy_token_scalar_style(ev->scalar.value) != FYSS_PLAIN;
		n->type = n->quoted ? NT_STR : (uint8_t)node_resolve_plain(text, len);
		break;
	case FYET_MAPPING_START:
	case FYET_SEQUENCE_START:
		tag = ev->type == FYET_MAPPING_START ? ev->mapping_start.tag
						     : ev->sequence_start.tag;
		n = builder_node(b, ev, ev->type == FYET_MAPPING_START ? NODE_MAP : NODE_SEQ);
		if (!n)
			return -1;
		break;
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		b->depth--;
		return 0;
	case FYET_DOCUMENT_END:
		return 1;
	default:
		return 0;
	}
	if (tag && !(n->kind == NODE_SCALAR && is_str_tag(tag))) {
		diag_error(r->d, r->name, n->line, n->col,
			   "YAML tags are not supported here (only !!str)");
		return -1;
	}
	if (tag)
		n->type = NT_STR, n->quoted = 1;
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
node_reader_next(struct node_reader *r, struct arena *a, struct node **doc)
{
	struct builder b;
	struct fy_event *ev;
	int in_doc = 0, rc;

	*doc = NULL;
	if (r->done)
		return 0;
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.a = a;
	for (;;) {
		ev = fy_parser_parse(r->fyp);
		if (!ev) {
			r->done = 1;
			if (fy_parser_get_stream_error(r->fyp))
				return reader_collect_errors(r);
			return in_doc ? 1 : 0;
		}
		if (ev->type == FYET_STREAM_END) {
			fy_parser_event_free(r->fyp, ev);
			r->done = 1;
			return 0;
		}
		if (ev->type == FYET_DOCUMENT_START) {
			in_doc = 1;
			if (++r->ndocs > r->lim.max_documents) {
				const struct fy_mark *m = fy_event_start_mark(ev);

				diag_error(r->d, r->name, m ? m->line + 1 : 0,
					   m ? m->column + 1 : 0,
					   "more than %zu documents", r->lim.max_documents);
				fy_parser_event_free(r->fyp, ev);
				r->done = 1;
				return -1;
			}
			fy_parser_event_free(r->fyp, ev);
			continue;
		}
		rc = builder_event(&b, ev);
		fy_parser_event_free(r->fyp, ev);
		if (rc < 0) {
			r->done = 1;
			return -1;
		}
		if (rc == 1)
			break;
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
	if (reader_init(&r, name, NULL, d) < 0)
		return -1;
	if (fy_parser_set_string(r.fyp, text, len) != 0) {
		diag_error(d, name, 0, 0, "cannot read input");
		rc = -1;
		goto out;
	}
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
out:
	fy_parser_destroy(r.fyp);
	fy_diag_destroy(r.diag);
	return rc < 0 ? -1 : 0;
}
