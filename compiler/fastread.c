#include "fastread.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/*
 * The scanner works line by line. The document ends before the next line
 * that starts with "---" and a blank (libyaml starts a new document there
 * whatever came before) or at the end of the stream; when the buffer ends
 * first, the answer is FR_MORE. Every decision that is not plainly inside
 * the subset gives up: the parse functions return 0.
 */

#define FR_MAX_DEPTH 48        /* node.c refuses more than 32 levels */
#define FR_MAX_EVENTS 65536    /* a spec has ~100; more is read by libyaml */
#define FR_MAX_KEY 1000        /* libyaml: a key ends within 1024 chars */

struct fr {
	const char *t;
	size_t len;            /* bytes in the buffer */
	size_t valid;          /* text[0..valid) is printable ASCII and LF */
	int eof;
	size_t ls;             /* start of the current line */
	size_t le;             /* its end ('\n' or len) */
	size_t q;              /* first non-space of the current line */
	int at_end;            /* ls is the document's end */
	int more;              /* the buffer ended before the document did */
	int bad;               /* a byte outside the subset */
	int line;
	size_t index0;
	int depth;
	struct arena *a;
	struct fr_events *out;
	int nomem;
};

/* Character classes. */
enum {
	C_KEY = 1,             /* in a simple key */
	C_KEY1 = 2,            /* starts one */
	C_IND = 4,             /* an indicator: no plain scalar starts with it */
	C_FLOWSTOP = 8,        /* gives up inside a flow plain scalar */
	C_NAME = 16,           /* may follow a '-' that starts a plain scalar */
};

static unsigned char cls[256];

static void
init_classes(void)
{
	const char *p;

	if (cls['a'])
		return;
	for (int c = 0; c < 256; c++) {
		int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z');

		if (alnum)
			cls[c] |= C_KEY | C_KEY1 | C_NAME;
	}
	for (p = "_./"; *p; p++)
		cls[(unsigned char)*p] |= C_KEY | C_KEY1 | C_NAME;
	cls['-'] |= C_KEY | C_NAME;
	/* libyaml's list, and the backslash to be safe */
	for (p = "-?:,[]{}#&*!|>'\"%@`\\"; *p; p++)
		cls[(unsigned char)*p] |= C_IND;
	for (p = "[{}:#?"; *p; p++)
		cls[(unsigned char)*p] |= C_FLOWSTOP;
	cls[0] |= C_IND | C_FLOWSTOP;
}

/* Is there a document start ("---" and a blank) at text[p]? -1: cannot tell yet. */
static int
doc_start_at(const char *t, size_t len, int eof, size_t p)
{
	size_t have = len - p;

	if (have < 4) {
		if (memcmp(t + p, "---", have < 3 ? have : 3) != 0)
			return 0;
		if (have < 3)
			return eof ? 0 : -1;
		return eof ? 1 : -1;
	}
	return memcmp(t + p, "---", 3) == 0 &&
	       (t[p + 3] == ' ' || t[p + 3] == '\t' || t[p + 3] == '\r' || t[p + 3] == '\n');
}

/* The document ends at p. */
static void
set_end(struct fr *s, size_t p)
{
	s->ls = s->le = s->q = p;
	s->at_end = 1;
}

/* Enter the line at p (a line start). */
static void
set_line(struct fr *s, size_t p)
{
	const char *e;

	if (p >= s->len) {
		if (!s->eof)
			s->more = 1;
		set_end(s, p);
		return;
	}
	if (p > 0 && s->t[p] == '-') {
		int ds = doc_start_at(s->t, s->len, s->eof, p);

		if (ds) {
			if (ds < 0)
				s->more = 1;
			set_end(s, p);
			return;
		}
	}
	e = memchr(s->t + p, '\n', s->len - p);
	if (!e && !s->eof) {
		s->more = 1;
		set_end(s, p);
		return;
	}
	s->ls = p;
	s->le = e ? (size_t)(e - s->t) : s->len;
	if (s->valid < s->le) {
		s->bad = 1;
		set_end(s, p);
		return;
	}
	s->q = p;
	while (s->q < s->le && s->t[s->q] == ' ')
		s->q++;
}

/* Go to the next line; 0 when the document has ended. */
static int
next_line(struct fr *s)
{
	if (s->at_end)
		return 0;
	if (s->le >= s->len) {
		set_end(s, s->len);
		return 0;
	}
	s->line++;
	set_line(s, s->le + 1);
	return !s->at_end;
}

/* From the current line on, skip blank and comment lines. 1: on a content line. */
static int
to_content(struct fr *s)
{
	for (;;) {
		if (s->at_end)
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

/*
 * Can a plain scalar start at p? '-' only before a name-like character;
 * in the block context ':' also before anything but a blank (libyaml's
 * rule: "::/0" is a plain scalar there, and a value indicator in a flow).
 */
static int
plain_start(const struct fr *s, size_t p, int block)
{
	unsigned char c = (unsigned char)s->t[p], d;

	if (c == '-' || c == ':') {
		if (p + 1 >= s->le)
			return 0;
		d = (unsigned char)s->t[p + 1];
		if (c == ':')
			return block && d != ' ';
		return (cls[d] & C_NAME) != 0;
	}
	return !(cls[c] & C_IND);
}

/*
 * In a flow plain scalar, a ':' before a blank ends it (a value
 * indicator) and before one of ",?[]{}" libyaml refuses it; we go on only
 * before a character of an address or a URL.
 */
static int
flow_colon_ok(const struct fr *s, size_t p)
{
	unsigned char d;

	if (p + 1 >= s->le)
		return 0;
	d = (unsigned char)s->t[p + 1];
	return (cls[d] & C_NAME) || d == ':';
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

			if (!plain_start(s, p, 0))
				return 0;
			while (p < s->le && s->t[p] != ',' && s->t[p] != ']') {
				if ((cls[(unsigned char)s->t[p]] & C_FLOWSTOP) &&
				    !(s->t[p] == ':' && flow_colon_ok(s, p)))
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

		if (!plain_start(s, p, 1))
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
 * Where the simple key at p ends: the position of its ':', which a space
 * or the line's end follows; 0 when no simple key starts at p.
 */
static size_t
key_end(const struct fr *s, size_t p)
{
	size_t start = p;

	if (!(cls[(unsigned char)s->t[p]] & C_KEY1))
		return 0;
	for (p++; p < s->le && (cls[(unsigned char)s->t[p]] & C_KEY); p++)
		;
	if (p == s->le || s->t[p] != ':' || p - start > FR_MAX_KEY)
		return 0;
	if (p + 1 < s->le && s->t[p + 1] != ' ')
		return 0;
	return p;
}

/* The simple key at p, pushed. Returns the position after its colon, or 0. */
static size_t
key_at(struct fr *s, size_t p)
{
	size_t colon = key_end(s, p);

	if (!colon || !push_scalar(s, p, s->t + p, colon - p, 0))
		return 0;
	return colon + 1;
}

/* The first non-space at or after p on the current line. */
static size_t
skip_spaces(const struct fr *s, size_t p)
{
	while (p < s->le && s->t[p] == ' ')
		p++;
	return p;
}

/* A value on this line at p, then on to the next line. */
static int
value_here(struct fr *s, size_t p)
{
	if (!inline_value(s, p))
		return 0;
	next_line(s);
	return 1;
}

/*
 * After an entry of a block at column c: 1 on the next entry's line (at
 * column c), 0 when the block has ended (the end, or a line less
 * indented), -1 on a line more indented, which we give up on.
 */
static int
next_entry(struct fr *s, int c)
{
	if (!to_content(s) || col_of(s, s->q) < c)
		return 0;
	return col_of(s, s->q) > c ? -1 : 1;
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
		int next;

		if (!(p = key_at(s, s->q)))
			return 0;
		p = skip_spaces(s, p);
		if (p == s->le || s->t[p] == '#' ? !value_below(s, c) : !value_here(s, p))
			return 0;
		/* at column c: another key (a "-" here gives up in key_at) */
		if ((next = next_entry(s, c)) < 0)
			return 0;
		if (!next)
			break;
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
		int next;

		p = skip_spaces(s, s->q + 1);
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
			if (key_end(s, p)) {
				s->q = p;
				s->depth++;
				if (s->depth > FR_MAX_DEPTH || !map(s))
					return 0;
				s->depth--;
			} else if (!value_here(s, p)) {
				return 0;
			}
		}
		if ((next = next_entry(s, c)) < 0)
			return 0;
		if (!next || !is_entry(s, s->q))
			break;   /* not a "-": a key of the mapping this indentless list is in */
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

size_t
fr_plain_prefix(const char *t, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	size_t i = 0;

	/* eight bytes at a time; every test below is exact per byte */
	for (; i + 8 <= n; i += 8) {
		uint64_t w, y, hi_or_del, lt20, zero;

		memcpy(&w, t + i, 8);
		hi_or_del = (((w & ~high) + ones) | w) & high;       /* >= 0x7f */
		y = w ^ (ones * '\n');                               /* LF -> 0 */
		lt20 = ~((y & ~high) + ones * 0x60) & high;          /* < 0x20, 7-bit */
		zero = ~(((y & ~high) + ~high) | y) & high;          /* was LF */
		if (hi_or_del | (lt20 & ~zero))
			break;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\n') || c > 0x7e)
			break;
	}
	return i;
}

enum fr_result
fr_document(const char *text, size_t len, size_t valid, int eof, int first, int line,
	    size_t index, struct arena *a, struct fr_events *out, size_t *used, int *lines)
{
	struct fr s;
	int ok = 0;

	init_classes();
	out->n = 0;
	memset(&s, 0, sizeof(s));
	s.t = text;
	s.len = len;
	s.valid = valid;
	s.eof = eof;
	s.line = line;
	s.index0 = index;
	s.a = a;
	s.out = out;
	set_line(&s, 0);
	if (!to_content(&s)) {
		if (s.more)
			return FR_MORE;
		if (s.bad)
			return FR_GIVE_UP;
		*used = s.ls;
		*lines = s.line - line;
		return FR_SKIP;
	}
	if (s.q == 0 && doc_start_at(text, s.le, 1, 0) == 1) {
		/* "---", maybe a comment, then the root on the lines below */
		if (!push(&s, FR_DOC_START, 0) || !line_rest_ok(&s, 3))
			goto out;
		next_line(&s);
		if (!to_content(&s))
			goto out;   /* an empty document */
	} else {
		/* an implicit document: only the first ("...", "%YAML", "---x"
		 * are no simple keys: key_at() gives up on them) */
		if (!first)
			goto out;
		if (!push(&s, FR_DOC_START, s.q))
			goto out;
	}
	/* the root: a mapping; nothing after it but blank and comment lines */
	if (is_entry(&s, s.q) || !block(&s) || to_content(&s))
		goto out;
	ok = push(&s, FR_DOC_END, s.ls) != NULL;
out:
	if (s.more)
		return FR_MORE;
	if (s.nomem)
		return FR_NOMEM;
	if (!ok || s.bad)
		return FR_GIVE_UP;
	*used = s.ls;
	*lines = s.line - line;
	return FR_DOC;
}

void
fr_events_free(struct fr_events *e)
{
	free(e->ev);
	e->ev = NULL;
	e->n = e->cap = 0;
}
