/* SPDX-License-Identifier: Apache-2.0 */
#include "emit.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * What each byte may be in a plain scalar: P_ANY anywhere but first,
 * P_FIRST also first; P_SLASH and P_SPECIAL mark '/' and ':' or ' '.
 */
enum { P_ANY = 1, P_FIRST = 2, P_SLASH = 4, P_SPECIAL = 8 };

static unsigned char plain_flags[256];

static void
plain_flags_init(void)
{
	const char *p;

	for (int c = 0; c < 256; c++)
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			plain_flags[c] = P_ANY | P_FIRST;
	plain_flags['/'] = P_ANY | P_FIRST | P_SLASH;
	plain_flags['_'] = P_ANY | P_FIRST;
	for (p = ".@+=-"; *p; p++)
		plain_flags[(unsigned char)*p] = P_ANY;
	plain_flags[':'] = plain_flags[' '] = P_ANY | P_SPECIAL;
}

static int
plain_safe(const char *s, size_t n)
{
	unsigned all = P_ANY, any = 0;
	size_t i;

	if (!plain_flags['a'])
		plain_flags_init();
	if (n == 0 || n > 200 || !(plain_flags[(unsigned char)s[0]] & P_FIRST))
		return 0;
	if (s[n - 1] == ':' || s[n - 1] == ' ')
		return 0;
	/* no early exit: a branch-free pass is faster on these short strings */
	for (i = 0; i < n; i++) {
		unsigned f = plain_flags[(unsigned char)s[i]];

		all &= f;
		any |= f;
	}
	if (!all)
		return 0;
	if (any & P_SPECIAL) {
		for (i = 0; i + 1 < n; i++) {
			/* ": " starts a value; " #" a comment; two spaces fold */
			if ((s[i] == ':' && s[i + 1] == ' ') ||
			    (s[i] == ' ' && (s[i + 1] == '#' || s[i + 1] == ' ')))
				return 0;
		}
	}
	/* YAML 1.1 reads 1:20 as sexagesimal and 2001-12-14 as a date:
	 * anything starting with a digit is quoted unless it has a '/'. */
	if (s[0] >= '0' && s[0] <= '9' && !(any & P_SLASH))
		return 0;
	return node_resolve_plain(s, n) == NT_STR;
}

void
emit_yaml_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (plain_safe(s, n)) {
		buf_add(b, s, n);
		return;
	}
	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\n') {
			buf_add(b, "\\n", 2);
		} else if (c == '\t') {
			buf_add(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			buf_add(b, e, 4);
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) {
			buf_add(b, "\\N", 2);    /* NEL is a line break to YAML 1.1 */
			i++;
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			/* C1 controls (U+0080..U+009F) are not printable YAML */
			unsigned char u = (unsigned char)s[i + 1];
			char e[4] = { '\\', 'x', hex[u >> 4], hex[u & 15] };

			buf_add(b, e, 4);
			i++;
		} else if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbf &&
			   ((unsigned char)s[i + 2] == 0xbe || (unsigned char)s[i + 2] == 0xbf)) {
			/* U+FFFE and U+FFFF: not characters, not printable YAML */
			buf_add(b, (unsigned char)s[i + 2] == 0xbe ? "\\uFFFE" : "\\uFFFF", 6);
			i += 2;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			buf_add(b, (unsigned char)s[i + 2] == 0xa8 ? "\\L" : "\\P", 2);
			i += 2;
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

static void
emit_scalar(struct buf *b, const struct node *n)
{
	if (n->plain) {
		assert(plain_safe(n->str, n->len));
		buf_add(b, n->str, n->len);
	} else if (n->type == NT_STR)
		emit_yaml_string(b, n->str, n->len);
	else
		buf_add(b, n->str, n->len);
}

static void
emit_indent(struct buf *b, size_t indent)
{
	static const char spaces[] = "                                                                ";

	while (indent > sizeof(spaces) - 1) {
		buf_add(b, spaces, sizeof(spaces) - 1);
		indent -= sizeof(spaces) - 1;
	}
	buf_add(b, spaces, indent);
}

static void emit_block(struct buf *b, const struct node *n, size_t indent, int inline_first);
static void emit_item(struct buf *b, const struct node *it, size_t indent);

/* After "key:" or "- ": the value, and its newline. */
static void
emit_value(struct buf *b, const struct node *v, size_t indent, int in_seq_item)
{
	if (v->kind == NODE_SCALAR) {
		buf_putc(b, ' ');
		emit_scalar(b, v);
		buf_putc(b, '\n');
	} else if (v->count == 0) {
		buf_add(b, v->kind == NODE_MAP ? " {}\n" : " []\n", 4);
	} else if (v->kind == NODE_MAP) {
		buf_putc(b, '\n');
		emit_block(b, v, indent + 2, 0);
	} else {
		buf_putc(b, '\n');
		/* lists sit at their key's indent (kubectl's style); in a list item, one deeper */
		emit_block(b, v, in_seq_item ? indent + 2 : indent, 0);
	}
}

/* A list item at `indent`, from its "-" to its last newline. */
static void
emit_item(struct buf *b, const struct node *it, size_t indent)
{
	buf_putc(b, '-');
	if (it->kind == NODE_MAP && it->count) {
		buf_putc(b, ' ');
		emit_block(b, it, indent + 2, 1);
	} else {
		emit_value(b, it, indent, 1);
	}
}

static void
emit_block(struct buf *b, const struct node *n, size_t indent, int inline_first)
{
	const struct node *it;
	int first = 1;

	for (it = n->head; it; it = it->next, first = 0) {
		if (!(first && inline_first))
			emit_indent(b, indent);
		if (n->kind == NODE_MAP) {
			emit_scalar(b, it);
			buf_putc(b, ':');
			emit_value(b, it->val, indent, 0);
		} else {
			emit_item(b, it, indent);
		}
	}
}

void
emit_yaml(struct buf *b, const struct node *doc)
{
	if (doc->kind != NODE_MAP && doc->kind != NODE_SEQ) {
		emit_value(b, doc, 0, 0);
		return;
	}
	if (doc->count == 0) {
		emit_value(b, doc, 0, 0);
		return;
	}
	emit_block(b, doc, 0, 0);
}

void
emit_mark_plain(struct node *n)
{
	struct node *it;

	if (!n)
		return;
	if (n->kind == NODE_SCALAR) {
		if (n->type == NT_STR && plain_safe(n->str, n->len))
			n->plain = 1;
		return;
	}
	for (it = n->head; it; it = it->next) {
		emit_mark_plain(it);
		emit_mark_plain(it->val);
	}
}

/* --- JSON --- */

json_t *
emit_to_json(const struct node *n)
{
	const struct node *it;
	json_t *j, *c;

	if (n->kind == NODE_SCALAR) {
		switch (n->type) {
		case NT_NULL:
			return json_null();
		case NT_BOOL:
			return json_boolean(n->str[0] == 't' || n->str[0] == 'T' ||
					    n->str[0] == 'y' || n->str[0] == 'Y' ||
					    ((n->str[0] == 'o' || n->str[0] == 'O') &&
					     (n->str[1] == 'n' || n->str[1] == 'N')));
		case NT_INT:
			if (n->str[0] == '0' && (n->str[1] == 'x' || n->str[1] == 'o'))
				return json_integer(strtoll(n->str + 2, NULL,
							    n->str[1] == 'x' ? 16 : 8));
			return json_integer(strtoll(n->str, NULL, 10));
		case NT_FLOAT:
			return json_real(strtod(n->str, NULL));
		default:
			return json_stringn(n->str, n->len);
		}
	}
	j = n->kind == NODE_MAP ? json_object() : json_array();
	if (!j)
		return NULL;
	for (it = n->head; it; it = it->next) {
		c = emit_to_json(n->kind == NODE_MAP ? it->val : it);
		if (!c || (n->kind == NODE_MAP ? json_object_setn_new(j, it->str, it->len, c)
					       : json_array_append_new(j, c)) != 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static int
json_to_buf(const char *s, size_t n, void *data)
{
	buf_add(data, s, n);
	return ((struct buf *)data)->err ? -1 : 0;
}

int
emit_json(struct buf *b, const struct node *doc, size_t indent_level)
{
	json_t *j = emit_to_json(doc);
	size_t mark = b->n, i;
	int rc;

	if (!j)
		return -1;
	rc = json_dump_callback(j, json_to_buf, b,
				JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(j);
	if (rc != 0 || b->err)
		return -1;
	if (indent_level) {
		/* re-indent nested output (a List's items): add spaces after newlines */
		struct buf t = BUF_INIT;

		for (i = mark; i < b->n; i++) {
			buf_putc(&t, b->p[i]);
			if (b->p[i] == '\n')
				for (size_t k = 0; k < indent_level; k++)
					buf_putc(&t, ' ');
		}
		if (t.err) {
			buf_free(&t);
			return -1;
		}
		b->n = mark;
		buf_add(b, t.p, t.n);
		buf_free(&t);
	}
	return b->err ? -1 : 0;
}
