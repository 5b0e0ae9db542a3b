/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reach: the NetworkPolicy evaluator (see reach.h for the semantics).
 *
 * Queries walk the objects directly. The summary cuts each address family
 * into the intervals between every cidr and except boundary, gives each
 * interval the union of the ports of the rules covering it, merges equal
 * neighbours and writes the result back as prefixes: one canonical answer
 * however the rules were split.
 */
#include "reach.h"
#include "reach_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

const char *
reach_str(const struct node *n)
{
	return n && n->kind == NODE_SCALAR ? n->str : NULL;
}

int
reach_str_is(const struct node *n, const char *s)
{
	const char *t = reach_str(n);

	return t && strcmp(t, s) == 0;
}

const char *
reach_meta(const struct node *obj, const char *key)
{
	return reach_str(node_map_get(node_map_get(obj, "metadata"), key));
}

static int
is_netpol(const struct node *obj)
{
	return reach_str_is(node_map_get(obj, "kind"), "NetworkPolicy") &&
	       reach_str_is(node_map_get(obj, "apiVersion"), "networking.k8s.io/v1");
}

const struct node *
reach_unsupported(const struct reach_objs *o)
{
	const struct node *cnp = reach_cnp_unsupported(o);   /* ClusterNetworkPolicy */

	if (cnp)
		return cnp;
	static const char *const kinds[] = {
		"AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
	};

	for (size_t i = 0; i < o->n; i++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
			if (reach_str_is(node_map_get(o->objs[i], "kind"), kinds[k]))
				return o->objs[i];
	return reach_cilium_unmodelled(o);   /* Cilium */
}

/* --- label selectors --- */

/* A label of the Pod (ns = 0) or of its namespace (ns = 1). */
static const char *
label(const struct reach_pod *p, int ns, const char *key)
{
	if (ns && strcmp(key, NS_NAME_LABEL) == 0)
		return p->ns;
	return reach_str(node_map_get(ns ? p->ns_labels : p->labels, key));
}

static int
in_values(const struct node *values, const char *v)
{
	if (!values || values->kind != NODE_SEQ)
		return 0;
	for (const struct node *it = values->head; it; it = it->next)
		if (reach_str_is(it, v))
			return 1;
	return 0;
}

/* Standard LabelSelector semantics over any labels: lookup gives a key's
 * value or NULL; an empty selector matches everything, an unknown operator
 * nothing. */
int
reach_selector_eval(const struct node *sel, reach_label_fn lookup, const void *ctx)
{
	const struct node *ml = node_map_get(sel, "matchLabels");
	const struct node *me = node_map_get(sel, "matchExpressions");

	if (ml && ml->kind == NODE_MAP)
		for (const struct node *k = ml->head; k; k = k->next) {
			const char *v = lookup(ctx, k->str);

			if (!v || !reach_str_is(k->val, v))
				return 0;
		}
	if (me && me->kind == NODE_SEQ)
		for (const struct node *e = me->head; e; e = e->next) {
			const char *key = reach_str(node_map_get(e, "key"));
			const char *op = reach_str(node_map_get(e, "operator"));
			const char *v = key ? lookup(ctx, key) : NULL;
			const struct node *vals = node_map_get(e, "values");

			if (!key || !op)
				return 0;
			if (strcmp(op, "In") == 0 && (!v || !in_values(vals, v)))
				return 0;
			if (strcmp(op, "NotIn") == 0 && v && in_values(vals, v))
				return 0;
			if (strcmp(op, "Exists") == 0 && !v)
				return 0;
			if (strcmp(op, "DoesNotExist") == 0 && v)
				return 0;
			if (strcmp(op, "In") != 0 && strcmp(op, "NotIn") != 0 &&
			    strcmp(op, "Exists") != 0 && strcmp(op, "DoesNotExist") != 0)
				return 0;
		}
	return 1;
}

struct pod_labels {
	const struct reach_pod *p;
	int ns;
};

static const char *
pod_label(const void *ctx, const char *key)
{
	const struct pod_labels *c = ctx;

	return label(c->p, c->ns, key);
}

int
reach_selector_matches(const struct node *sel, const struct reach_pod *p, int ns)
{
	struct pod_labels c = { p, ns };

	return reach_selector_eval(sel, pod_label, &c);
}

/* --- policies --- */

/* 1 when the NetworkPolicy selects the Pod and isolates it for dir. */
int
reach_np_isolates(const struct node *obj, const struct reach_pod *p, enum reach_dir dir)
{
	const struct node *spec = node_map_get(obj, "spec");
	const struct node *types = node_map_get(spec, "policyTypes");
	const char *ns = reach_meta(obj, "namespace");
	const struct node *eg;

	if (!is_netpol(obj) || !spec || !ns || strcmp(ns, p->ns) != 0)
		return 0;
	if (!reach_selector_matches(node_map_get(spec, "podSelector"), p, 0))
		return 0;
	if (types && types->kind == NODE_SEQ && types->count)
		return in_values(types, dir == REACH_EGRESS ? "Egress" : "Ingress");
	if (dir == REACH_INGRESS)
		return 1;
	eg = node_map_get(spec, "egress");
	return eg && eg->kind == NODE_SEQ && eg->count > 0;
}

int
reach_selects(const struct node *obj, const struct reach_pod *p)
{
	const char *kind = reach_str(node_map_get(obj, "kind"));

	if (kind && strncmp(kind, "Cilium", 6) == 0)
		return reach_cilium_selects(obj, p);   /* Cilium */
	if (reach_cnp_is(obj))
		return reach_cnp_selects(obj, p);      /* ClusterNetworkPolicy */
	return reach_np_isolates(obj, p, REACH_EGRESS) || reach_np_isolates(obj, p, REACH_INGRESS);
}

static const struct node *
rules_of(const struct node *obj, enum reach_dir dir)
{
	const struct node *r = node_map_get(node_map_get(obj, "spec"),
					    dir == REACH_EGRESS ? "egress" : "ingress");

	return r && r->kind == NODE_SEQ ? r : NULL;
}

const char *
reach_proto_name(enum reach_proto p)
{
	return p == REACH_UDP ? "UDP" : p == REACH_SCTP ? "SCTP" : "TCP";
}

int
reach_proto_of(const struct node *item)
{
	const char *s = reach_str(node_map_get(item, "protocol"));

	if (!s || strcmp(s, "TCP") == 0)
		return REACH_TCP;
	if (strcmp(s, "UDP") == 0)
		return REACH_UDP;
	if (strcmp(s, "SCTP") == 0)
		return REACH_SCTP;
	return -1;
}

/* A numeric port (an integer or a string of digits) or -1 (named). */
long
reach_port_num(const struct node *n)
{
	const char *s = reach_str(n);
	long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 65535)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* A named port of the remote Pod: containers[].ports-like items. */
static int
named_port(const struct reach_pod *peer, const char *name, enum reach_proto proto, unsigned port)
{
	if (!peer || !peer->ports || peer->ports->kind != NODE_SEQ)
		return 0;
	for (const struct node *it = peer->ports->head; it; it = it->next)
		if (reach_str_is(node_map_get(it, "name"), name) && reach_proto_of(it) == (int)proto &&
		    reach_port_num(node_map_get(it, "containerPort")) == (long)port)
			return 1;
	return 0;
}

static int
ports_match(const struct node *ports, const struct reach_query *q)
{
	if (!ports || ports->kind != NODE_SEQ || !ports->count)
		return 1;
	for (const struct node *it = ports->head; it; it = it->next) {
		const struct node *pn = node_map_get(it, "port");
		long lo, hi;

		if (reach_proto_of(it) != (int)q->proto)
			continue;
		if (!pn || pn->type == NT_NULL)
			return 1;
		lo = reach_port_num(pn);
		if (lo < 0) {
			if (reach_str(pn) && named_port(q->peer, reach_str(pn), q->proto, q->port))
				return 1;
			continue;
		}
		hi = reach_port_num(node_map_get(it, "endPort"));
		if (hi < 0)
			hi = lo;
		if ((long)q->port >= lo && (long)q->port <= hi)
			return 1;
	}
	return 0;
}

int
reach_ipblock_has(const struct node *ib, const struct cidr *a)
{
	const char *s = reach_str(node_map_get(ib, "cidr"));
	const struct node *ex = node_map_get(ib, "except");
	struct cidr c;

	if (!s || cidr_parse(s, strlen(s), &c) != CIDR_OK || !cidr_contains(&c, a))
		return 0;
	if (ex && ex->kind == NODE_SEQ)
		for (const struct node *e = ex->head; e; e = e->next) {
			const char *t = reach_str(e);

			if (t && cidr_parse(t, strlen(t), &c) == CIDR_OK && cidr_contains(&c, a))
				return 0;
		}
	return 1;
}

static int
peer_matches(const struct node *pr, const char *policy_ns, const struct reach_query *q)
{
	const struct node *ib = node_map_get(pr, "ipBlock");
	const struct node *nss = node_map_get(pr, "namespaceSelector");
	const struct node *pods = node_map_get(pr, "podSelector");

	if (ib && ib->type != NT_NULL)
		/* a Pod peer too: some plugins match Pod IPs by ipBlock (the worst case) */
		return q->addr.family && reach_ipblock_has(ib, &q->addr);
	if (nss && nss->type == NT_NULL)
		nss = NULL;
	if (pods && pods->type == NT_NULL)
		pods = NULL;
	if ((!nss && !pods) || !q->peer)
		return 0;
	if (nss ? !reach_selector_matches(nss, q->peer, 1) : strcmp(q->peer->ns, policy_ns) != 0)
		return 0;
	return !pods || reach_selector_matches(pods, q->peer, 0);
}

int
reach_query(const struct reach_objs *o, const struct reach_pod *pod,
	    const struct reach_query *q, struct reach_verdict *v)
{
	if (reach_cilium_present(o))
		return reach_cilium_query(o, pod, q, v);   /* Cilium */
	if (reach_cnp_present(o))   /* ClusterNetworkPolicy: the tiers */
		return reach_cnp_query(o, pod, q, v);
	return reach_np_query(o, pod, q, v);
}

int
reach_np_query(const struct reach_objs *o, const struct reach_pod *pod,
	       const struct reach_query *q, struct reach_verdict *v)
{
	const char *key = q->dir == REACH_EGRESS ? "to" : "from";

	memset(v, 0, sizeof(*v));
	v->rule = v->peer = -1;
	for (size_t i = 0; i < o->n; i++) {
		const struct node *obj = o->objs[i], *rules;
		int ri = 0;

		if (!reach_np_isolates(obj, pod, q->dir))
			continue;
		v->npolicies++;
		if (v->allowed || !(rules = rules_of(obj, q->dir)))
			continue;
		for (const struct node *r = rules->head; r && !v->allowed; r = r->next, ri++) {
			const struct node *peers = node_map_get(r, key);
			int pi = -1, hit = 0;

			if (!ports_match(node_map_get(r, "ports"), q))
				continue;
			if (!peers || peers->kind != NODE_SEQ || !peers->count)
				hit = 1;
			else
				for (const struct node *pr = peers->head; pr && !hit; pr = pr->next) {
					pi++;
					hit = peer_matches(pr, reach_meta(obj, "namespace"), q);
				}
			if (hit) {
				v->allowed = 1;
				v->why = REACH_RULE;
				v->obj = obj;
				v->rule = ri;
				v->peer = pi;
			}
		}
	}
	if (!v->npolicies) {
		v->allowed = 1;
		v->why = REACH_OPEN;
		return 0;
	}
	if (!v->allowed)
		v->why = REACH_NO_RULE;
	else {
		v->kind = reach_str(node_map_get(v->obj, "kind"));
		v->ns = reach_meta(v->obj, "namespace");
		v->name = reach_meta(v->obj, "name");
	}
	return 0;
}

/* --- port sets --- */

static int
port_cmp(const void *a, const void *b)
{
	const struct reach_port *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int
reach_ports_add(struct reach_ports *s, unsigned proto, unsigned lo, unsigned hi)
{
	struct reach_port *n = xreallocarray(s->items, s->n + 1, sizeof(struct reach_port));

	if (!n)
		return -1;
	s->items = n;
	s->items[s->n].proto = (unsigned char)proto;
	s->items[s->n].lo = (unsigned short)lo;
	s->items[s->n].hi = (unsigned short)hi;
	s->n++;
	return 0;
}

void
reach_ports_normalize(struct reach_ports *s)
{
	size_t w = 0;

	if (!s->n)
		return;
	qsort(s->items, s->n, sizeof(struct reach_port), port_cmp);
	for (size_t i = 1; i < s->n; i++) {
		struct reach_port *last = &s->items[w];

		if (s->items[i].proto == last->proto && s->items[i].lo <= (unsigned)last->hi + 1) {
			if (s->items[i].hi > last->hi)
				last->hi = s->items[i].hi;
		} else
			s->items[++w] = s->items[i];
	}
	s->n = w + 1;
}

int
reach_ports_union(struct reach_ports *dst, const struct reach_ports *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (reach_ports_add(dst, src->items[i].proto, src->items[i].lo, src->items[i].hi) < 0)
			return -1;
	reach_ports_normalize(dst);
	return 0;
}

int
reach_ports_equal(const struct reach_ports *a, const struct reach_ports *b)
{
	if (a->n != b->n)
		return 0;
	/* field by field: the struct has padding */
	for (size_t i = 0; i < a->n; i++)
		if (a->items[i].proto != b->items[i].proto || a->items[i].lo != b->items[i].lo ||
		    a->items[i].hi != b->items[i].hi)
			return 0;
	return 1;
}

int
reach_ports_has(const struct reach_ports *p, enum reach_proto proto, unsigned port)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].proto == proto && port >= p->items[i].lo && port <= p->items[i].hi)
			return 1;
	return 0;
}

/* dst := dst minus src. 0, or -1 when out of memory (dst is then wrong). */
int
reach_ports_minus(struct reach_ports *dst, const struct reach_ports *src)
{
	for (size_t j = 0; j < src->n; j++) {
		const struct reach_port *r = &src->items[j];

		for (size_t i = 0; i < dst->n; i++) {
			struct reach_port *d = &dst->items[i];

			if (d->proto != r->proto || r->hi < d->lo || r->lo > d->hi)
				continue;
			if (r->lo <= d->lo && r->hi >= d->hi) {          /* covered: drop */
				dst->items[i--] = dst->items[--dst->n];
			} else if (r->lo > d->lo && r->hi < d->hi) {     /* a hole: split */
				unsigned hi = d->hi;

				d->hi = (unsigned short)(r->lo - 1);
				if (reach_ports_add(dst, r->proto, (unsigned)r->hi + 1, hi) < 0)
					return -1;
			} else if (r->lo <= d->lo) {
				d->lo = (unsigned short)(r->hi + 1);
			} else {
				d->hi = (unsigned short)(r->lo - 1);
			}
		}
	}
	reach_ports_normalize(dst);
	return 0;
}

/* dst := dst and src (both sets). 0, or -1 when out of memory (dst is then wrong). */
int
reach_ports_intersect(struct reach_ports *dst, const struct reach_ports *src)
{
	struct reach_ports out = { NULL, 0 };

	for (size_t i = 0; i < dst->n; i++)
		for (size_t j = 0; j < src->n; j++) {
			const struct reach_port *a = &dst->items[i], *b = &src->items[j];
			unsigned lo = a->lo > b->lo ? a->lo : b->lo, hi = a->hi < b->hi ? a->hi : b->hi;

			if (a->proto == b->proto && lo <= hi && reach_ports_add(&out, a->proto, lo, hi) < 0) {
				free(out.items);
				return -1;
			}
		}
	reach_ports_normalize(&out);
	free(dst->items);
	*dst = out;
	return 0;
}

/* A rule's ports list as a set; named ports match no address, so they add nothing here. */
static int
np_ports_of(const struct node *ports, struct reach_ports *out)
{
	memset(out, 0, sizeof(*out));
	if (!ports || ports->kind != NODE_SEQ || !ports->count) {
		for (unsigned p = 0; p < REACH_NPROTO; p++)
			if (reach_ports_add(out, p, 1, 65535) < 0)
				return -1;
		return 0;
	}
	for (const struct node *it = ports->head; it; it = it->next) {
		const struct node *pn = node_map_get(it, "port");
		int proto = reach_proto_of(it);
		long lo, hi;

		if (proto < 0)
			continue;
		if (!pn || pn->type == NT_NULL) {
			lo = 1;
			hi = 65535;
		} else if ((lo = reach_port_num(pn)) < 0) {
			continue;
		} else if ((hi = reach_port_num(node_map_get(it, "endPort"))) < 0) {
			hi = lo;
		}
		if (lo < 1)
			lo = 1;
		if (hi > 65535)
			hi = 65535;
		if (lo <= hi && reach_ports_add(out, (unsigned)proto, (unsigned)lo, (unsigned)hi) < 0)
			return -1;
	}
	reach_ports_normalize(out);
	return 0;
}

/* --- address intervals --- */

struct block {
	const struct node *ib;   /* the ipBlock; NULL: every address */
	size_t ports;            /* index of the rule's ports */
};

unsigned
reach_bits_of(int family)
{
	return family == CIDR_V4 ? 32 : 128;
}

u128
reach_top_of(int family)
{
	return family == CIDR_V4 ? (u128)0xffffffffu : ~(u128)0;
}

u128
reach_to_u128(const struct cidr *c)
{
	u128 v = 0;

	for (unsigned i = 0; i < reach_bits_of(c->family) / 8; i++)
		v = (v << 8) | c->addr[i];
	return v;
}

struct cidr
reach_from_u128(int family, u128 v, unsigned len)
{
	struct cidr c;
	unsigned nb = reach_bits_of(family) / 8;

	memset(&c, 0, sizeof(c));
	c.family = (uint8_t)family;
	c.len = (uint8_t)len;
	for (unsigned i = 0; i < nb; i++)
		c.addr[nb - 1 - i] = (uint8_t)(v >> (8 * i));
	return c;
}

u128
reach_last_of(const struct cidr *c)
{
	unsigned host = reach_bits_of(c->family) - c->len;
	u128 mask = host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);

	return reach_to_u128(c) | mask;
}

int
reach_cut_add(struct reach_cuts *k, u128 v)
{
	u128 *n = xreallocarray(k->v, k->n + 1, sizeof(u128));

	if (!n)
		return -1;
	k->v = n;
	k->v[k->n++] = v;
	return 0;
}

/* The boundaries of one prefix: its start and the address after its end. */
int
reach_cut_prefix(struct reach_cuts *k, const char *s, int family)
{
	struct cidr c;

	if (!s || cidr_parse(s, strlen(s), &c) != CIDR_OK || c.family != family)
		return 0;
	if (reach_cut_add(k, reach_to_u128(&c)) < 0)
		return -1;
	if (reach_last_of(&c) != reach_top_of(family))
		return reach_cut_add(k, reach_last_of(&c) + 1);
	return 0;
}

static int
u128_cmp(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;

	return x < y ? -1 : x > y;
}

static int
range_add(struct reach_range **v, size_t *n, const struct cidr *c, const struct reach_ports *p)
{
	struct reach_range *nv = xreallocarray(*v, *n + 1, sizeof(struct reach_range));

	if (!nv)
		return -1;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].c = *c;
	if (reach_ports_union(&nv[*n].ports, p) < 0) {
		free(nv[*n].ports.items);
		return -1;
	}
	(*n)++;
	return 0;
}

/* [lo, hi] as the fewest prefixes, each open on p. */
int
reach_emit_interval(int family, u128 lo, u128 hi, const struct reach_ports *p,
	      struct reach_range **v, size_t *n)
{
	unsigned bits = reach_bits_of(family);

	for (;;) {
		unsigned k = 0;
		struct cidr c;

		/* the largest aligned block at lo that stays within hi */
		while (k < bits) {
			unsigned k1 = k + 1;

			if (k1 < 128) {
				u128 size = (u128)1 << k1;

				if ((lo & (size - 1)) || hi - lo < size - 1)
					break;
			} else if (lo != 0 || hi != ~(u128)0) {
				break;
			}
			k = k1;
		}
		c = reach_from_u128(family, lo, bits - k);
		if (range_add(v, n, &c, p) < 0)
			return -1;
		if (k == 128)
			return 0;
		{
			u128 end = lo + ((((u128)1) << k) - 1);

			if (end >= hi)
				return 0;
			lo = end + 1;
		}
	}
}

/*
 * The generic pass every backend uses: the cuts split the family into
 * intervals, at_fn gives the port set open at an interval's first address
 * (the same for the whole interval, by construction of the cuts), and equal
 * neighbours are merged and written as prefixes. k is sorted in place.
 */
int
reach_intervals(struct reach_cuts *k, int family, reach_ports_at_fn at_fn, void *ctx,
		struct reach_range **v, size_t *n)
{
	struct reach_ports cur = { NULL, 0 }, acc = { NULL, 0 };
	u128 start = 0;
	int rc = -1, have = 0;

	if (reach_cut_add(k, 0) < 0)
		goto out;
	qsort(k->v, k->n, sizeof(u128), u128_cmp);
	for (size_t i = 0; i < k->n; i++) {
		u128 lo = k->v[i];
		struct cidr a;

		if (i > 0 && k->v[i] == k->v[i - 1])
			continue;
		a = reach_from_u128(family, lo, reach_bits_of(family));
		acc.n = 0;
		if (at_fn(ctx, &a, &acc) < 0)
			goto out;
		if (have && !reach_ports_equal(&acc, &cur)) {
			if (cur.n && reach_emit_interval(family, start, lo - 1, &cur, v, n) < 0)
				goto out;
			have = 0;
		}
		if (!have) {
			start = lo;
			cur.n = 0;
			if (reach_ports_union(&cur, &acc) < 0)
				goto out;
			have = 1;
		}
	}
	if (have && cur.n && reach_emit_interval(family, start, reach_top_of(family), &cur, v, n) < 0)
		goto out;
	rc = 0;
out:
	free(cur.items);
	free(acc.items);
	return rc;
}

/* The cuts of an ipBlock-like map: {cidr, except: [...]}. */
int
reach_cut_ipblock(struct reach_cuts *k, const struct node *ib, int family)
{
	const struct node *ex = node_map_get(ib, "except");

	if (reach_cut_prefix(k, reach_str(node_map_get(ib, "cidr")), family) < 0)
		return -1;
	if (ex && ex->kind == NODE_SEQ)
		for (const struct node *e = ex->head; e; e = e->next)
			if (reach_cut_prefix(k, reach_str(e), family) < 0)
				return -1;
	return 0;
}

struct np_at {
	const struct block *bl;
	size_t nbl;
	const struct reach_ports *ps;
};

/* NetworkPolicy: the union of the ports of every block covering a. */
static int
np_ports_at(void *ctx, const struct cidr *a, struct reach_ports *out)
{
	const struct np_at *c = ctx;

	for (size_t b = 0; b < c->nbl; b++)
		if ((!c->bl[b].ib || reach_ipblock_has(c->bl[b].ib, a)) &&
		    reach_ports_union(out, &c->ps[c->bl[b].ports]) < 0)
			return -1;
	return 0;
}

static int
summarize_family(const struct block *bl, size_t nbl, const struct reach_ports *ps, int family,
		 struct reach_range **v, size_t *n)
{
	struct reach_cuts k = { NULL, 0 };
	struct np_at c = { bl, nbl, ps };
	int rc = -1;

	for (size_t i = 0; i < nbl; i++)
		if (bl[i].ib && reach_cut_ipblock(&k, bl[i].ib, family) < 0)
			goto out;
	rc = reach_intervals(&k, family, np_ports_at, &c, v, n);
out:
	free(k.v);
	return rc;
}

void
reach_dirsum_free(struct reach_dirsum *d)
{
	for (size_t i = 0; i < d->ndomains; i++) {   /* ClusterNetworkPolicy */
		for (size_t j = 0; j < d->domains[i].nv4; j++)
			free(d->domains[i].v4[j].ports.items);
		for (size_t j = 0; j < d->domains[i].nv6; j++)
			free(d->domains[i].v6[j].ports.items);
		free(d->domains[i].v4);
		free(d->domains[i].v6);
	}
	free(d->domains);
	for (size_t i = 0; i < d->nv4; i++)
		free(d->v4[i].ports.items);
	for (size_t i = 0; i < d->nv6; i++)
		free(d->v6[i].ports.items);
	for (size_t i = 0; i < d->nsels; i++)
		free(d->sels[i].ports.items);
	free(d->v4);
	free(d->v6);
	free(d->sels);
	free(d->dns);   /* Cilium */
	memset(d, 0, sizeof(*d));
}

void
reach_summary_free(struct reach_summary *s)
{
	reach_dirsum_free(&s->egress);
	reach_dirsum_free(&s->ingress);
}

static int
sel_add(struct reach_dirsum *d, const struct node *obj, int rule, int peer,
	const struct node *nss, const struct node *pods, const struct reach_ports *p)
{
	struct reach_sel *n = xreallocarray(d->sels, d->nsels + 1, sizeof(struct reach_sel));

	if (!n)
		return -1;
	d->sels = n;
	memset(&n[d->nsels], 0, sizeof(n[d->nsels]));
	n[d->nsels].obj = obj;
	n[d->nsels].rule = rule;
	n[d->nsels].peer = peer;
	n[d->nsels].ns_sel = nss;
	n[d->nsels].pod_sel = pods;
	if (reach_ports_union(&n[d->nsels].ports, p) < 0) {
		free(n[d->nsels].ports.items);
		return -1;
	}
	d->nsels++;
	return 0;
}

int
reach_np_summarize_dir(const struct reach_objs *o, const struct reach_pod *pod, enum reach_dir dir,
	      struct reach_dirsum *d)
{
	const char *key = dir == REACH_EGRESS ? "to" : "from";
	struct reach_ports *ps = NULL;
	struct block *bl = NULL;
	size_t nps = 0, nbl = 0;
	int rc = -1;

	for (size_t i = 0; i < o->n; i++) {
		const struct node *obj = o->objs[i], *rules;
		int ri = 0;

		if (!reach_np_isolates(obj, pod, dir))
			continue;
		d->isolated = 1;
		if (!(rules = rules_of(obj, dir)))
			continue;
		for (const struct node *r = rules->head; r; r = r->next, ri++) {
			const struct node *peers = node_map_get(r, key);
			struct reach_ports *np = xreallocarray(ps, nps + 1, sizeof(struct reach_ports));
			struct block *nb;
			int pi = 0;

			if (!np)
				goto out;
			ps = np;
			if (np_ports_of(node_map_get(r, "ports"), &ps[nps]) < 0) {
				free(ps[nps].items);
				goto out;
			}
			nps++;
			/* each rule adds at most one block per peer, plus one for "every peer" */
			nb = xreallocarray(bl, nbl + 1 + (peers && peers->kind == NODE_SEQ ? peers->count : 0),
					   sizeof(struct block));
			if (!nb)
				goto out;
			bl = nb;
			if (!peers || peers->kind != NODE_SEQ || !peers->count) {
				bl[nbl].ib = NULL;
				bl[nbl++].ports = nps - 1;
				if (sel_add(d, obj, ri, -1, NULL, NULL, &ps[nps - 1]) < 0)
					goto out;
				continue;
			}
			for (const struct node *pr = peers->head; pr; pr = pr->next, pi++) {
				const struct node *ib = node_map_get(pr, "ipBlock");
				const struct node *nss = node_map_get(pr, "namespaceSelector");
				const struct node *pods = node_map_get(pr, "podSelector");

				if (ib && ib->type != NT_NULL) {
					bl[nbl].ib = ib;
					bl[nbl++].ports = nps - 1;
				} else if ((nss && nss->type != NT_NULL) || (pods && pods->type != NT_NULL)) {
					if (sel_add(d, obj, ri, pi, nss && nss->type != NT_NULL ? nss : NULL,
						    pods && pods->type != NT_NULL ? pods : NULL,
						    &ps[nps - 1]) < 0)
						goto out;
				}
			}
		}
	}
	if (summarize_family(bl, nbl, ps, CIDR_V4, &d->v4, &d->nv4) < 0 ||
	    summarize_family(bl, nbl, ps, CIDR_V6, &d->v6, &d->nv6) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < nps; i++)
		free(ps[i].items);
	free(ps);
	free(bl);
	return rc;
}

int
reach_summarize(const struct reach_objs *o, const struct reach_pod *pod,
		struct reach_summary *out)
{
	if (reach_cilium_present(o))
		return reach_cilium_summarize(o, pod, out);   /* Cilium */
	memset(out, 0, sizeof(*out));
	if (reach_cnp_present(o)) {   /* ClusterNetworkPolicy: the tiers */
		if (reach_cnp_summarize(o, pod, out) < 0) {
			reach_summary_free(out);
			return -1;
		}
		return 0;
	}
	if (reach_np_summarize_dir(o, pod, REACH_EGRESS, &out->egress) < 0 ||
	    reach_np_summarize_dir(o, pod, REACH_INGRESS, &out->ingress) < 0) {
		reach_summary_free(out);
		return -1;
	}
	return 0;
}

/* --- the difference of two summaries (audit: what another policy adds) --- */

/* 1 when a and b are the same tree (map keys in any order). */
static int
same_node(const struct node *a, const struct node *b)
{
	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->count != b->count)
		return 0;
	if (a->kind == NODE_SCALAR)
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	if (a->kind == NODE_SEQ) {
		const struct node *x = a->head, *y = b->head;

		for (; x && y; x = x->next, y = y->next)
			if (!same_node(x, y))
				return 0;
		return !x && !y;
	}
	for (const struct node *k = a->head; k; k = k->next)
		if (!same_node(k->val, node_map_getn(b, k->str, k->len)))
			return 0;
	return 1;
}

/* Every port of every protocol. */
static int
ports_all(struct reach_ports *p)
{
	for (unsigned pr = 0; pr < REACH_NPROTO; pr++)
		if (reach_ports_add(p, pr, 1, 65535) < 0)
			return -1;
	return 0;
}

/* The range of the sorted, disjoint list v holding a, or NULL. */
static const struct reach_range *
range_at(const struct reach_range *v, size_t n, const struct cidr *a)
{
	u128 x = reach_to_u128(a);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reach_last_of(&v[mid].c) < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && reach_to_u128(&v[lo].c) <= x ? &v[lo] : NULL;
}

struct minus_at {
	const struct reach_dirsum *a, *b;
	int family;
};

/* The ports of one side at a: an open direction holds every port. */
static int
side_at(const struct reach_dirsum *d, int family, const struct cidr *a, struct reach_ports *out)
{
	const struct reach_range *r;

	if (!d->isolated)
		return ports_all(out);
	r = family == CIDR_V4 ? range_at(d->v4, d->nv4, a) : range_at(d->v6, d->nv6, a);
	return r ? reach_ports_union(out, &r->ports) : 0;
}

static int
minus_ports_at(void *ctx, const struct cidr *a, struct reach_ports *out)
{
	const struct minus_at *c = ctx;
	struct reach_ports bp = { NULL, 0 };
	int rc = -1;

	if (side_at(c->a, c->family, a, out) < 0 || (out->n && side_at(c->b, c->family, a, &bp) < 0))
		goto out;
	rc = reach_ports_minus(out, &bp);
out:
	free(bp.items);
	return rc;
}

static int
cut_ranges(struct reach_cuts *k, const struct reach_range *v, size_t n, int family)
{
	for (size_t i = 0; i < n; i++) {
		if (reach_cut_add(k, reach_to_u128(&v[i].c)) < 0)
			return -1;
		if (reach_last_of(&v[i].c) != reach_top_of(family) &&
		    reach_cut_add(k, reach_last_of(&v[i].c) + 1) < 0)
			return -1;
	}
	return 0;
}

static int
minus_family(const struct reach_dirsum *a, const struct reach_dirsum *b, int family,
	     struct reach_range **v, size_t *n)
{
	struct reach_cuts k = { NULL, 0 };
	struct minus_at c = { a, b, family };
	int rc = -1;

	if (cut_ranges(&k, family == CIDR_V4 ? a->v4 : a->v6, family == CIDR_V4 ? a->nv4 : a->nv6,
		       family) < 0 ||
	    cut_ranges(&k, family == CIDR_V4 ? b->v4 : b->v6, family == CIDR_V4 ? b->nv4 : b->nv6,
		       family) < 0)
		goto out;
	rc = reach_intervals(&k, family, minus_ports_at, &c, v, n);
out:
	free(k.v);
	return rc;
}

/*
 * A selector peer of a, less the ports b opens to the same peer: b's peer
 * with the same selectors, or b's "every peer" (no selectors, or b open).
 */
static int
minus_sel(const struct reach_sel *s, const struct reach_dirsum *b, struct reach_dirsum *d)
{
	struct reach_ports left = { NULL, 0 };
	int rc = -1;

	if (!b->isolated)
		return 0;
	if (reach_ports_union(&left, &s->ports) < 0)
		goto out;
	for (size_t i = 0; i < b->nsels && left.n; i++) {
		const struct reach_sel *t = &b->sels[i];

		if ((!t->ns_sel && !t->pod_sel) ||
		    (same_node(t->ns_sel, s->ns_sel) && same_node(t->pod_sel, s->pod_sel)))
			if (reach_ports_minus(&left, &t->ports) < 0)
				goto out;
	}
	rc = 0;
	if (left.n) {
		struct reach_sel *n = xreallocarray(d->sels, d->nsels + 1, sizeof(struct reach_sel));

		if (!n) {
			rc = -1;
			goto out;
		}
		d->sels = n;
		n[d->nsels] = *s;
		n[d->nsels++].ports = left;
		return 0;
	}
out:
	free(left.items);
	return rc;
}

static int
minus_dir(const struct reach_dirsum *a, const struct reach_dirsum *b, struct reach_dirsum *d)
{
	d->isolated = 1;
	if (minus_family(a, b, CIDR_V4, &d->v4, &d->nv4) < 0 ||
	    minus_family(a, b, CIDR_V6, &d->v6, &d->nv6) < 0)
		return -1;
	if (!a->isolated) {
		/* open: every peer, every port */
		struct reach_sel every;
		int rc;

		memset(&every, 0, sizeof(every));
		every.rule = every.peer = -1;
		rc = ports_all(&every.ports) < 0 ? -1 : minus_sel(&every, b, d);
		free(every.ports.items);
		return rc;
	}
	for (size_t i = 0; i < a->nsels; i++)
		if (minus_sel(&a->sels[i], b, d) < 0)
			return -1;
	return 0;
}

int
reach_summary_minus(const struct reach_summary *a, const struct reach_summary *b,
		    struct reach_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (minus_dir(&a->egress, &b->egress, &out->egress) < 0 ||
	    minus_dir(&a->ingress, &b->ingress, &out->ingress) < 0) {
		reach_summary_free(out);
		return -1;
	}
	return 0;
}

/* Cilium: the NetworkPolicy pieces reach_cilium.c reuses */
int
reach_np_ports_match(const struct node *ports, const struct reach_query *q)
{
	return ports_match(ports, q);
}

int
reach_np_peer_matches(const struct node *pr, const char *policy_ns, const struct reach_query *q)
{
	return peer_matches(pr, policy_ns, q);
}

int
reach_np_ports_of(const struct node *ports, struct reach_ports *out)
{
	return np_ports_of(ports, out);
}
