/* SPDX-License-Identifier: Apache-2.0 */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
check_error(struct check *c, const struct node *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(c->d, c->file, at ? at->line : 0, at ? at->col : 0, "%s", msg);
}

/* Paths are built for every field checked: plain copies, not snprintf. */
static size_t
put(char *out, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (off + n >= CHECK_PATH)
		n = off < CHECK_PATH - 1 ? CHECK_PATH - 1 - off : 0;
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the caller ends the path */
	memcpy(out + off, s, n);
	return off + n;
}

char *
check_path(char *out, const char *parent, const char *key)
{
	size_t off = 0;

	if (parent && *parent) {
		off = put(out, off, parent);
		off = put(out, off, ".");
	}
	off = put(out, off, key);
	out[off] = '\0';
	return out;
}

char *
check_index(char *out, const char *parent, size_t i)
{
	char num[24], *p = num + sizeof(num) - 1;
	size_t off;

	*p = '\0';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) && p > num);
	off = put(out, 0, parent);
	off = put(out, off, "[");
	off = put(out, off, p);
	off = put(out, off, "]");
	out[off] = '\0';
	return out;
}

int
check_keys(struct check *c, const struct node *map, const char *path,
	   const char *const *allowed)
{
	const struct node *k;
	const char *const *a;
	char p[CHECK_PATH], list[512];
	size_t off = 0;
	int bad = 0;

	for (k = map->head; k; k = k->next) {
		for (a = allowed; *a; a++)
			if ((*a)[0] == k->str[0] && strcmp(*a, k->str) == 0)
				break;
		if (*a)
			continue;
		if (!off) {
			for (a = allowed; *a && off < sizeof(list); a++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							a == allowed ? "" : ", ", *a);
		}
		check_error(c, k, "unknown field \"%s\"; expected one of: %s",
			    check_path(p, path, k->str), list);
		bad++;
	}
	return bad;
}

int
check_is_map(struct check *c, const struct node *n, const char *path)
{
	if (n && n->kind == NODE_MAP)
		return 0;
	check_error(c, n, "%s: expected a mapping, got %s", path, node_type_name(n));
	return -1;
}

int
check_is_seq(struct check *c, const struct node *n, const char *path)
{
	if (n && n->kind == NODE_SEQ)
		return 0;
	check_error(c, n, "%s: expected a list, got %s", path, node_type_name(n));
	return -1;
}

const char *
check_str(struct check *c, const struct node *n, const char *path)
{
	if (!n || n->kind != NODE_SCALAR || n->type != NT_STR) {
		if (n && n->kind == NODE_SCALAR && n->type != NT_NULL)
			check_error(c, n, "%s: expected a string, got %s %s (quote it to make it a string)",
				    path, node_type_name(n), n->str);
		else
			check_error(c, n, "%s: expected a string, got %s", path,
				    node_type_name(n));
		return NULL;
	}
	if (n->len == 0) {
		check_error(c, n, "%s: must not be empty", path);
		return NULL;
	}
	return n->str;
}

int
check_int(struct check *c, const struct node *n, const char *path,
	  long min, long max, long *out)
{
	long v;
	char *end;

	if (!n || n->kind != NODE_SCALAR || n->type != NT_INT) {
		if (n && n->kind == NODE_SCALAR && n->type == NT_STR)
			check_error(c, n, "%s: expected an integer, got a string \"%s\"", path, n->str);
		else
			check_error(c, n, "%s: expected an integer, got %s%s%s", path,
				    node_type_name(n), n && n->kind == NODE_SCALAR ? " " : "",
				    n && n->kind == NODE_SCALAR ? n->str : "");
		return -1;
	}
	errno = 0;
	v = strtol(n->str, &end, 0);
	if (errno || *end || v < min || v > max) {
		check_error(c, n, "%s: %s is out of range (%ld to %ld)", path, n->str, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
check_labels(struct check *c, const struct node *map, const char *path,
	    struct kv **out, size_t *n)
{
	const struct node *k;
	char p[CHECK_PATH];
	int bad = 0;

	*n = 0;
	if (check_is_map(c, map, path) < 0)
		return -1;
	if (map->count > CHECK_MAX_LABELS) {
		check_error(c, map, "%s: %zu labels; the limit is %d", path, map->count, CHECK_MAX_LABELS);
		return -1;
	}
	*out = arena_alloc(c->a, (map->count ? map->count : 1) * sizeof(**out));
	if (!*out) {
		check_error(c, map, "out of memory");
		return -1;
	}
	for (k = map->head; k; k = k->next) {
		const char *v;

		check_path(p, path, k->str);
		if (!check_label_key(k->str)) {
			check_error(c, k, "%s: \"%s\" is not a valid label key", path, k->str);
			bad = 1;
		}
		v = k->val && k->val->kind == NODE_SCALAR && k->val->type == NT_STR
			    ? k->val->str : check_str(c, k->val, p);
		if (!v) {
			bad = 1;
			continue;
		}
		if (!check_label_value(v)) {
			check_error(c, k->val, "%s: \"%s\" is not a valid label value", p, v);
			bad = 1;
			continue;
		}
		(*out)[*n].k = k->str;
		(*out)[*n].v = v;
		(*n)++;
	}
	return bad ? -1 : 0;
}

int
check_cidr(struct check *c, const struct node *n, const char *path, struct cidr *out)
{
	const char *s = check_str(c, n, path);
	char buf[CIDR_STRLEN];
	int rc;

	if (!s)
		return -1;
	rc = cidr_parse(s, n->len, out);
	if (rc == CIDR_E_HOSTBITS) {
		cidr_format(out, buf, 1);
		check_error(c, n, "%s: \"%s\" has bits set past the prefix length; did you mean \"%s\"?",
			    path, s, buf);
		return -1;
	}
	if (rc < 0) {
		check_error(c, n, "%s: \"%s\" is not a CIDR: %s", path, s, cidr_strerror(rc));
		return -1;
	}
	return 0;
}

int
check_bool(struct check *c, const struct node *n, const char *path, int *out)
{
	if (n && n->kind == NODE_SCALAR && n->type == NT_BOOL &&
	    (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0)) {
		*out = n->str[0] == 't';
		return 0;
	}
	check_error(c, n, "%s: expected true or false, got %s%s%s", path, node_type_name(n),
		    n && n->kind == NODE_SCALAR ? " " : "",
		    n && n->kind == NODE_SCALAR ? n->str : "");
	return -1;
}

const struct node *
check_required(struct check *c, const struct node *map, const char *path,
	       const char *key)
{
	const struct node *v = node_map_get(map, key);
	char p[CHECK_PATH];

	if (!v)
		check_error(c, map, "%s is required", check_path(p, path, key));
	return v;
}

static int
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int
dns_label_n(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
check_dns_label(const char *s)
{
	return dns_label_n(s, strlen(s));
}

int
check_dns_subdomain(const char *s)
{
	size_t n = strlen(s);
	const char *p = s, *dot;

	if (n == 0 || n > 253)
		return 0;
	for (;;) {
		dot = strchr(p, '.');
		if (!dns_label_n(p, dot ? (size_t)(dot - p) : strlen(p)))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

/* Kubernetes qualified name: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63 */
static int
qualified_name_n(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		int an = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9');

		if (!an && ((i == 0 || i == n - 1) || (ch != '-' && ch != '_' && ch != '.')))
			return 0;
	}
	return 1;
}

int
check_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	char prefix[254];
	size_t pn;

	if (!slash)
		return qualified_name_n(s, strlen(s));
	pn = (size_t)(slash - s);
	if (pn == 0 || pn > 253)
		return 0;
	memcpy(prefix, s, pn);
	prefix[pn] = '\0';
	return check_dns_subdomain(prefix) && qualified_name_n(slash + 1, strlen(slash + 1));
}

int
check_label_value(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || qualified_name_n(s, n);
}

/*
 * A Kubernetes quantity: digits with an optional fraction, then an
 * optional suffix (binary Ki..Ei, decimal n u m k M G T P E, or an
 * exponent e/E followed by an integer). No sign: resources are positive.
 */
static int
is_quantity(const char *s)
{
	static const char *const suffixes[] = {
		"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M",
		"G", "T", "P", "E", NULL };
	const char *p = s, *const *sf;
	int digits = 0, nonzero = 0;

	while (*p >= '0' && *p <= '9')
		nonzero |= *p++ != '0', digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			nonzero |= *p++ != '0', digits++;
	}
	if (!digits || !nonzero || strlen(s) > 64)
		return 0;
	for (sf = suffixes; *sf; sf++)
		if (strcmp(p, *sf) == 0)
			return 1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!*p)
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		return *p == '\0';
	}
	return 0;
}

const char *
check_quantity(struct check *c, const struct node *n, const char *path)
{
	if (n->kind != NODE_SCALAR || !(n->type == NT_STR || n->type == NT_INT ||
					 n->type == NT_FLOAT) || !is_quantity(n->str)) {
		check_error(c, n, "%s: \"%s\" is not a positive quantity (like 500m, 2, 1Gi)",
			    path, n->kind == NODE_SCALAR ? n->str : node_type_name(n));
		return NULL;
	}
	return n->str;
}

int
check_env_name(const char *s)
{
	const char *p;

	if (!*s || (*s >= '0' && *s <= '9') || strlen(s) > 253)
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

static int
port_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int
check_ports(struct check *c, const struct node *seq, const char *path, size_t max,
	    uint16_t **out, size_t *n)
{
	const struct node *it;
	char p[CHECK_PATH];
	size_t i = 0, j;
	long v;
	int bad = 0;

	if (check_is_seq(c, seq, path) < 0)
		return -1;
	if (seq->count == 0 || seq->count > max) {
		check_error(c, seq, "%s: needs 1 to %zu ports, got %zu", path, max, seq->count);
		return -1;
	}
	*out = arena_alloc(c->a, seq->count * sizeof(**out));
	if (!*out) {
		check_error(c, seq, "out of memory");
		return -1;
	}
	for (it = seq->head; it; it = it->next, i++) {
		if (check_int(c, it, check_index(p, path, i), 1, 65535, &v) < 0) {
			bad = 1;
			continue;
		}
		(*out)[i] = (uint16_t)v;
	}
	if (bad)
		return -1;
	qsort(*out, i, sizeof(**out), port_cmp);
	for (j = 0, *n = 0; j < i; j++)
		if (*n == 0 || (*out)[*n - 1] != (*out)[j])
			(*out)[(*n)++] = (*out)[j];
	return 0;
}
