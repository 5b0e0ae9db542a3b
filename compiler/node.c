/* SPDX-License-Identifier: Apache-2.0 */
/* node: see node.h */
#include "node.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
node_new_strf(struct arena *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return node_new_str(a, arena_strndup(a, buf, (size_t)n));
}

struct node *
node_new_str_seq(struct arena *a, const char *const *v, size_t n)
{
	struct node *seq = node_new_seq(a), *s;

	if (!seq)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(s = node_new_str(a, v[i])))
			return NULL;
		node_seq_add(seq, s);
	}
	return seq;
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

void
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
