#include "fastread.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/*
 * The scanner works line by line on one document's bytes, text[0..n),
 * found first: up to the next line that starts with "---" and a blank,
 * where libyaml starts a new document whatever came before. Every
 * decision that is not plainly inside the subset gives up (returns 0
 * from the parse functions, with s->give_up set).
 */

#define FR_MAX_DEPTH 48        /* node.c refuses more than 32 levels */
#define FR_MAX_EVENTS 65536    /* a spec has ~100; more is read by libyaml */
#define FR_MAX_KEY 1000        /* libyaml: a key ends within 1024 chars */

struct fr {
	const char *t;
	size_t n;              /* end of the document's bytes */
	size_t ls;             /* start of the current line */
	size_t le;             /* its end ('\n' or n) */
	size_t q;              /* first non-space of the current line */
	int line;
	size_t index0;
	int depth;
	struct arena *a;
	struct fr_events *out;
	int nomem;
};

static int
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Characters libyaml reads as indicators at the start of a scalar. */
static int
is_indicator(unsigned char c)
{
	return c && strchr("-?:,[]{}#&*!|>'\"%@`\\", c) != NULL;
}

static size_t
line_end(const struct fr *s, size_t p)
{
	const char *e = memchr(s->t + p, '\n', s->n - p);

	return e ? (size_t)(e - s->t) : s->n;
}

/* Enter the line at p (a line start). */
static void
set_line(struct fr *s, size_t p)
{
	s->ls = p;
	s->le = line_end(s, p);
	s->q = p;
	while (s->q < s->le && s->t[s->q] == ' ')
		s->q++;
}

/* Go to the next line; 0 when there is none. */
static int
next_line(struct fr *s)
{
	if (s->le >= s->n) {
		s->ls = s->le = s->q = s->n;
		return 0;
	}
	s->line++;
	set_line(s, s->le + 1);
	return 1;
}

/* From the current line on, skip blank and comment lines. 1: on a content line. */
static int
to_content(struct fr *s)
{
	for (;;) {
		if (s->ls >= s->n)
			return 0;
		if (s->q < s->le && s->t[s->q] != '#')
			return 1;
		if (!next_line(s))
			return 0;
	}
}

static int
col_of(const struct fr *s, size_t p)
{
	return (int)(p - s->ls);
}

static struct fr_event *
push(struct fr *s, enum fr_type type, size_t p)
{
	struct fr_events *o = s->out;
	struct fr_event *e;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct fr_event *ev;

		if (o->n >= FR_MAX_EVENTS)
			return NULL;
		ev = xrealloc(o->ev, cap * sizeof(*ev));
		if (!ev) {
			s->nomem = 1;
			return NULL;
		}
		o->ev = ev;
		o->cap = cap;
	}
	e = &o->ev[o->n++];
	e->type = (uint8_t)type;
	e->quoted = 0;
	e->line = s->line;
	e->col = col_of(s, p);
	e->index = s->index0 + p;
	e->str = NULL;
	e->len = 0;
	return e;
}

static int
push_scalar(struct fr *s, size_t p, const char *str, size_t len, int quoted)
{
	struct fr_event *e = push(s, FR_SCALAR, p);

	if (!e)
		return 0;
	e->str = str;
	e->len = len;
	e->quoted = (uint8_t)quoted;
	return 1;
}

/* Is text at p a block sequence entry: "-" then a space or the line's end? */
static int
is_entry(const struct fr *s, size_t p)
{
	return p < s->le && s->t[p] == '-' && (p + 1 == s->le || s->t[p + 1] == ' ');
}

/* After a value at p: spaces, then the end of the line or " #comment". */
static int
line_rest_ok(const struct fr *s, size_t p)
{
	size_t sp = p;

	while (p < s->le && s->t[p] == ' ')
		p++;
	if (p == s->le)
		return 1;
	return s->t[p] == '#' && p > sp;
}

/* A quoted scalar at *pp (at its opening quote), on one line. */
static int
quoted(struct fr *s, size_t *pp)
{
	size_t p = *pp, start = p + 1, i;
	char qc = s->t[p];

	if (qc == '"') {
		for (i = start; i < s->le && s->t[i] != '"'; i++)
			if (s->t[i] == '\\')
				return 0;
		if (i == s->le)
			return 0;
		if (!push_scalar(s, p, s->t + start, i - start, 1))
			return 0;
		*pp = i + 1;
		return 1;
	}
	/* single-quoted: '' is one quote */
	{
		size_t esc = 0;
		char *dst, *d;

		for (i = start; i < s->le; i++) {
			if (s->t[i] != '\'')
				continue;
			if (i + 1 < s->le && s->t[i + 1] == '\'') {
				esc++;
				i++;
				continue;
			}
			break;
		}
		if (i == s->le)
			return 0;
		if (!esc) {
			if (!push_scalar(s, p, s->t + start, i - start, 1))
				return 0;
		} else {
			dst = arena_alloc(s->a, i - start - esc + 1);
			if (!dst) {
				s->nomem = 1;
				return 0;
			}
			for (d = dst, p = start; p < i; p++) {
				*d++ = s->t[p];
				if (s->t[p] == '\'')
					p++;
			}
			if (!push_scalar(s, *pp, dst, (size_t)(d - dst), 1))
				return 0;
		}
		*pp = i + 1;
		return 1;
	}
}

/* Can a plain scalar start at p? ('-' only before a name-like character) */
static int
plain_start(const struct fr *s, size_t p)
{
	unsigned char c = (unsigned char)s->t[p], d;

	if (c == '-') {
		if (p + 1 >= s->le)
			return 0;
		d = (unsigned char)s->t[p + 1];
		return is_alnum(d) || d == '-' || d == '.' || d == '/' || d == '_';
	}
	return !is_indicator(c);
}

/* A one-line flow sequence at *pp ('['): scalars only. */
static int
flow_seq(struct fr *s, size_t *pp)
{
	size_t p = *pp;
	int first = 1;

	if (!push(s, FR_SEQ_START, p))
		return 0;
	for (p++;; p++, first = 0) {
		while (p < s->le && s->t[p] == ' ')
			p++;
		if (p == s->le)
			return 0;
		if (s->t[p] == ']') {
			if (!first)
				return 0;   /* "[a, ]": libyaml takes it, we do not bother */
			break;
		}
		if (s->t[p] == '"' || s->t[p] == '\'') {
			if (!quoted(s, &p))
				return 0;
		} else {
			size_t start = p, end;

			if (!plain_start(s, p))
				return 0;
			while (p < s->le && s->t[p] != ',' && s->t[p] != ']') {
				if (strchr("[{}:#?", s->t[p]))
					return 0;
				p++;
			}
			end = p;
			while (end > start && s->t[end - 1] == ' ')
				end--;
			if (!push_scalar(s, start, s->t + start, end - start, 0))
				return 0;
		}
		while (p < s->le && s->t[p] == ' ')
			p++;
		if (p == s->le)
			return 0;
		if (s->t[p] == ']')
			break;
		if (s->t[p] != ',')
			return 0;
	}
	if (!push(s, FR_SEQ_END, p))
		return 0;
	*pp = p + 1;
	return 1;
}

/* A value written on the key's (or the dash's) line, at p; ends the line. */
static int
inline_value(struct fr *s, size_t p)
{
	unsigned char c = (unsigned char)s->t[p];

	if (c == '"' || c == '\'') {
		if (!quoted(s, &p))
			return 0;
	} else if (c == '[') {
		if (!flow_seq(s, &p))
			return 0;
	} else {
		size_t start = p, end;

		if (!plain_start(s, p))
			return 0;
		for (; p < s->le; p++) {
			if (s->t[p] == ':' && (p + 1 == s->le || s->t[p + 1] == ' '))
				return 0;   /* "a: b: c" */
			if (s->t[p] == '#' && s->t[p - 1] == ' ')
				break;      /* a comment */
		}
		end = p;
		while (s->t[end - 1] == ' ')
			end--;
		return push_scalar(s, start, s->t + start, end - start, 0);
	}
	return line_rest_ok(s, p);
}

/*
 * A simple key at p: "name:" then a space or the line's end. Returns the
 * position after the colon, or 0.
 */
static size_t
key_at(struct fr *s, size_t p)
{
	size_t start = p;
	unsigned char c = (unsigned char)s->t[p];

	if (!(is_alnum(c) || c == '_' || c == '.' || c == '/'))
		return 0;
	for (p++; p < s->le; p++) {
		c = (unsigned char)s->t[p];
		if (!(is_alnum(c) || c == '_' || c == '.' || c == '/' || c == '-'))
			break;
	}
	if (p == s->le || s->t[p] != ':' || p - start > FR_MAX_KEY)
		return 0;
	if (p + 1 < s->le && s->t[p + 1] != ' ')
		return 0;
	if (!push_scalar(s, start, s->t + start, p - start, 0))
		return 0;
	return p + 1;
}

static int block(struct fr *s);
static int seq(struct fr *s, int c);

/*
 * The value after "key:" when nothing follows on the line: a block one
 * line below, more indented than the key at column c, or a sequence at
 * the key's own column.
 */
static int
value_below(struct fr *s, int c)
{
	if (!next_line(s) || !to_content(s))
		return 0;   /* an empty value */
	if (col_of(s, s->q) > c)
		return block(s);
	if (col_of(s, s->q) == c && is_entry(s, s->q)) {
		int ok;

		/* an indentless sequence */
		if (++s->depth > FR_MAX_DEPTH)
			return 0;
		ok = seq(s, c);
		s->depth--;
		return ok;
	}
	return 0;
}

/* A block mapping whose first key is at s->q (maybe after "- "). */
static int
map(struct fr *s)
{
	int c = col_of(s, s->q);
	size_t p;

	if (!push(s, FR_MAP_START, s->q))
		return 0;
	for (;;) {
		if (!(p = key_at(s, s->q)))
			return 0;
		while (p < s->le && s->t[p] == ' ')
			p++;
		if (p == s->le || s->t[p] == '#') {
			if (!value_below(s, c))
				return 0;
		} else {
			if (!inline_value(s, p))
				return 0;
			next_line(s);
		}
		/* the next entry: a content line at column c */
		if (!to_content(s))
			break;
		if (col_of(s, s->q) < c)
			break;
		if (col_of(s, s->q) > c)
			return 0;
		/* at column c: another key (a "-" here gives up in key_at) */
	}
	return push(s, FR_MAP_END, s->le) != NULL;
}

/* A block sequence whose first "-" is at s->q, column c. */
static int
seq(struct fr *s, int c)
{
	size_t p;

	if (!push(s, FR_SEQ_START, s->q))
		return 0;
	for (;;) {
		p = s->q + 1;
		while (p < s->le && s->t[p] == ' ')
			p++;
		if (p == s->le || s->t[p] == '#') {
			/* the item is on the lines below, more indented */
			if (!next_line(s) || !to_content(s) || col_of(s, s->q) <= c)
				return 0;
			if (!block(s))
				return 0;
		} else if (is_entry(s, p)) {
			return 0;   /* "- - a" */
		} else {
			/* "- key: ..." starts a mapping at the key's column */
			size_t k = p;

			while (k < s->le && (is_alnum((unsigned char)s->t[k]) ||
					     strchr("_./-", s->t[k])))
				k++;
			if (k < s->le && s->t[k] == ':' && (k + 1 == s->le || s->t[k + 1] == ' ')) {
				s->q = p;
				s->depth++;
				if (s->depth > FR_MAX_DEPTH || !map(s))
					return 0;
				s->depth--;
			} else {
				if (!inline_value(s, p))
					return 0;
				next_line(s);
			}
		}
		if (!to_content(s))
			break;
		if (col_of(s, s->q) < c)
			break;
		if (col_of(s, s->q) > c)
			return 0;
		if (!is_entry(s, s->q))
			break;   /* a key of the mapping this indentless list is in */
	}
	return push(s, FR_SEQ_END, s->ls) != NULL;
}

/* A block node at s->q: a sequence or a mapping. */
static int
block(struct fr *s)
{
	int ok;

	if (++s->depth > FR_MAX_DEPTH)
		return 0;
	ok = is_entry(s, s->q) ? seq(s, col_of(s, s->q)) : map(s);
	s->depth--;
	return ok;
}

/* Only ASCII printable characters and LF. */
static int
plain_ascii(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\n') || c > 0x7e)
			return 0;
	}
	return 1;
}

/* Is there a document start line ("---" and a blank) at text[p]? -1: cannot tell yet. */
static int
doc_start_at(const char *t, size_t len, int eof, size_t p)
{
	if (len - p < 3)
		return eof ? 0 : (memcmp(t + p, "---", len - p) == 0 ? -1 : 0);
	if (memcmp(t + p, "---", 3) != 0)
		return 0;
	if (p + 3 == len)
		return eof ? 1 : -1;
	return strchr(" \t\r\n", t[p + 3]) && t[p + 3];
}

enum fr_result
fr_document(const char *text, size_t len, int eof, int first, int line,
	    size_t index, struct arena *a, struct fr_events *out, size_t *used, int *lines)
{
	struct fr s;
	size_t n = len, p;
	const char *nl;
	int explicit_start;

	out->n = 0;
	/* the document's bytes: up to the next "---" line after its first line */
	p = 0;
	for (;;) {
		int ds;

		nl = memchr(text + p, '\n', len - p);
		if (!nl) {
			if (!eof)
				return FR_MORE;
			n = len;
			break;
		}
		p = (size_t)(nl - text) + 1;
		if (p == len) {
			if (!eof)
				return FR_MORE;
			n = len;
			break;
		}
		if (text[p] != '-')
			continue;
		ds = doc_start_at(text, len, eof, p);
		if (ds < 0)
			return FR_MORE;
		if (ds) {
			n = p;
			break;
		}
	}
	if (!plain_ascii(text, n))
		return FR_GIVE_UP;

	memset(&s, 0, sizeof(s));
	s.t = text;
	s.n = n;
	s.line = line;
	s.index0 = index;
	s.a = a;
	s.out = out;
	set_line(&s, 0);
	if (!to_content(&s)) {
		*used = n;
		*lines = s.line - line;
		return FR_SKIP;
	}
	explicit_start = s.q == 0 && doc_start_at(text, n, 1, 0) == 1;
	if (explicit_start) {
		if (!push(&s, FR_DOC_START, 0) || !line_rest_ok(&s, 3))
			goto give_up;
		next_line(&s);
		if (!to_content(&s))
			goto give_up;   /* an empty document */
	} else {
		/* an implicit document: only the first; "...", "%", "---x" give up */
		if (!first || strchr(".%", text[s.q]))
			goto give_up;
		if (!push(&s, FR_DOC_START, s.q))
			goto give_up;
	}
	if (is_entry(&s, s.q) || !block(&s))
		goto give_up;
	/* nothing may follow the root but blank and comment lines */
	if (to_content(&s))
		goto give_up;
	if (!push(&s, FR_DOC_END, n))
		goto give_up;
	*used = n;
	*lines = s.line - line;
	return FR_DOC;
give_up:
	return s.nomem ? FR_NOMEM : FR_GIVE_UP;
}

void
fr_events_free(struct fr_events *e)
{
	free(e->ev);
	e->ev = NULL;
	e->n = e->cap = 0;
}
