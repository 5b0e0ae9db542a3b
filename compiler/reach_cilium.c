/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reach_cilium: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
 * (cilium.io/v2), with the NetworkPolicy objects of the same set evaluated
 * as Cilium enforces them. tests/tools/cilium.py states the semantics.
 *
 * A remote end is a Pod (its identity: its labels, k8s:io.kubernetes.pod.
 * namespace, io.cilium.k8s.namespace.labels.*) or an address outside the
 * cluster (the `world` identity): reach has no Nodes or API server, so
 * toCIDR, toCIDRSet and ipBlock only ever match world addresses (as in
 * Cilium, where a CIDR rule never selects a Pod or Node address), and the
 * summary's ranges are world addresses. Per direction: deny rules of every
 * selecting policy first, then default deny (enableDefaultDeny, defaulting
 * to a non-empty list of the direction or its Deny list; a NetworkPolicy's
 * policyTypes), then the union of the allow rules.
 *
 * Not modelled (reach_unsupported names the object): toServices, toGroups,
 * toRequires, fromGroups, fromRequires, icmps, unknown entities, a CIDR set
 * entry without cidr, a rule with neither endpointSelector nor
 * nodeSelector. toFQDNs match no address here (reach has no DNS map): the
 * summary lists them as peers; io.cilium.k8s.policy.serviceaccount and
 * .cluster labels are absent from a Pod's identity.
 */
#include "reach.h"
#include "reach_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

#define NS_KEY "io.kubernetes.pod.namespace"
#define NS_LABELS "io.cilium.k8s.namespace.labels."

/* One rule set: a NetworkPolicy, or a Cilium object's spec or specs[i]. */
struct unit {
	const struct node *obj, *spec;
	int np;            /* a NetworkPolicy */
	int ccnp;          /* clusterwide */
	int specs;         /* 1 + index in specs, 0: spec */
	const char *ns;    /* the namespace of a namespaced policy */
};

/* A remote end: a Pod, or (pod NULL) a world address. */
struct remote {
	const struct reach_pod *pod;
	const struct cidr *addr;
};

static int
is_cilium(const struct node *obj)
{
	const char *api = reach_str(node_map_get(obj, "apiVersion"));

	return api && strncmp(api, "cilium.io/", 10) == 0 &&
	       (reach_str_is(node_map_get(obj, "kind"), "CiliumNetworkPolicy") ||
		reach_str_is(node_map_get(obj, "kind"), "CiliumClusterwideNetworkPolicy"));
}

int
reach_cilium_present(const struct reach_objs *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (is_cilium(o->objs[i]))
			return 1;
	return 0;
}

static int
is_np(const struct node *obj)
{
	return reach_str_is(node_map_get(obj, "kind"), "NetworkPolicy") &&
	       reach_str_is(node_map_get(obj, "apiVersion"), "networking.k8s.io/v1");
}

static int
nonempty_map(const struct node *n)
{
	return n && n->kind == NODE_MAP && n->count > 0;
}

static const struct node *
seq_of(const struct node *m, const char *key)
{
	const struct node *s = node_map_get(m, key);

	return s && s->kind == NODE_SEQ ? s : NULL;
}

static int
present(const struct node *m, const char *key)
{
	const struct node *n = node_map_get(m, key);

	return n && n->type != NT_NULL;
}

/* The k-th unit of obj (spec first when non-empty, then specs[]): 1, or 0 when none. */
static int
unit_at(const struct node *obj, size_t k, struct unit *u)
{
	const struct node *specs, *s;
	size_t idx = 0;

	memset(u, 0, sizeof(*u));
	if (is_np(obj)) {
		u->obj = u->spec = obj;
		u->np = 1;
		u->ns = reach_meta(obj, "namespace");
		return k == 0;
	}
	if (!is_cilium(obj))
		return 0;
	u->obj = obj;
	u->ccnp = reach_str_is(node_map_get(obj, "kind"), "CiliumClusterwideNetworkPolicy");
	u->ns = u->ccnp ? NULL : reach_meta(obj, "namespace") ? reach_meta(obj, "namespace") : "default";
	if (nonempty_map(node_map_get(obj, "spec"))) {
		if (k == 0) {
			u->spec = node_map_get(obj, "spec");
			return 1;
		}
		k--;
	}
	specs = seq_of(obj, "specs");
	for (s = specs ? specs->head : NULL; s && idx < k; s = s->next)
		idx++;
	if (!s)
		return 0;
	u->spec = s;
	u->specs = (int)idx + 1;
	return 1;
}

/* Call fn on every unit of every object; stops at a nonzero return, which it returns. */
typedef int (*unit_fn)(void *ctx, const struct unit *u);

static int
each_unit(const struct reach_objs *o, unit_fn fn, void *ctx)
{
	struct unit u;

	for (size_t i = 0; i < o->n; i++)
		for (size_t k = 0; unit_at(o->objs[i], k, &u); k++) {
			int rc = fn(ctx, &u);

			if (rc)
				return rc;
		}
	return 0;
}

/* --- identities --- */

static const char *const sources[] = {
	"k8s", "any", "reserved", "container", "unspec", "cidr", "fqdn", "cilium-generated",
};

/* The source of a selector key ("any" when none) and the key without it. */
static const char *
split_key(const char *key, const char **rest)
{
	const char *c = strchr(key, ':');

	*rest = key;
	if (!c)
		return "any";
	for (size_t i = 0; i < sizeof(sources) / sizeof(*sources); i++)
		if (strlen(sources[i]) == (size_t)(c - key) && strncmp(key, sources[i], (size_t)(c - key)) == 0) {
			*rest = c + 1;
			return sources[i];
		}
	return "any";
}

/* The value of a label of the remote's identity, or NULL. */
static const char *
ident_label(const struct remote *r, const char *key)
{
	const char *rest, *src = split_key(key, &rest);

	if (!r->pod)
		return (strcmp(src, "any") == 0 || strcmp(src, "reserved") == 0) &&
		       strcmp(rest, "world") == 0 ? "" : NULL;
	if (strcmp(src, "any") != 0 && strcmp(src, "k8s") != 0)
		return NULL;
	if (strcmp(rest, NS_KEY) == 0)
		return r->pod->ns;
	if (strncmp(rest, NS_LABELS, strlen(NS_LABELS)) == 0) {
		rest += strlen(NS_LABELS);
		if (strcmp(rest, "kubernetes.io/metadata.name") == 0)
			return r->pod->ns;
		return reach_str(node_map_get(r->pod->ns_labels, rest));
	}
	return reach_str(node_map_get(r->pod->labels, rest));
}

static const char *
remote_label(const void *ctx, const char *key)
{
	return ident_label(ctx, key);
}

/* A label selector whose keys may carry a source, over the remote's identity. */
static int
sel_matches(const struct node *sel, const struct remote *r)
{
	return reach_selector_eval(sel, remote_label, r);
}

/* Does any key of the selector satisfy pred (on its source and rest)? */
static int
sel_keys(const struct node *sel, int want_reserved)
{
	const struct node *ml = node_map_get(sel, "matchLabels");
	const struct node *me = node_map_get(sel, "matchExpressions");
	const char *rest, *src;

	for (const struct node *k = ml && ml->kind == NODE_MAP ? ml->head : NULL; k; k = k->next) {
		src = split_key(k->str, &rest);
		if (want_reserved ? strcmp(src, "reserved") == 0 : strcmp(rest, NS_KEY) == 0)
			return 1;
	}
	for (const struct node *e = me && me->kind == NODE_SEQ ? me->head : NULL; e; e = e->next) {
		const char *key = reach_str(node_map_get(e, "key"));

		if (!key)
			continue;
		src = split_key(key, &rest);
		if (want_reserved ? strcmp(src, "reserved") == 0 : strcmp(rest, NS_KEY) == 0)
			return 1;
	}
	return 0;
}

static int
sel_empty(const struct node *sel)
{
	const struct node *ml = node_map_get(sel, "matchLabels");
	const struct node *me = node_map_get(sel, "matchExpressions");

	return !(ml && ml->kind == NODE_MAP && ml->count) && !(me && me->kind == NODE_SEQ && me->count);
}

/* --- selection --- */

static int
unit_selects(const struct unit *u, const struct reach_pod *p)
{
	const struct node *sel;
	struct remote r = { p, NULL };

	if (u->np)
		return reach_np_isolates(u->obj, p, REACH_EGRESS) || reach_np_isolates(u->obj, p, REACH_INGRESS) ||
		       (reach_meta(u->obj, "namespace") && strcmp(reach_meta(u->obj, "namespace"), p->ns) == 0 &&
			reach_selector_matches(node_map_get(node_map_get(u->obj, "spec"), "podSelector"), p, 0));
	if (present(u->spec, "nodeSelector"))
		return 0;
	sel = node_map_get(u->spec, "endpointSelector");
	if (!sel || sel->type == NT_NULL)
		return 0;
	if (!u->ccnp && strcmp(p->ns, u->ns) != 0)
		return 0;
	return sel_matches(sel, &r);
}

static const char *
dir_key(enum reach_dir dir, int deny)
{
	if (dir == REACH_EGRESS)
		return deny ? "egressDeny" : "egress";
	return deny ? "ingressDeny" : "ingress";
}

static int
truthy(const struct node *n)
{
	const char *s = reach_str(n);

	return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0);
}

/* 1 when the unit (selecting the Pod) puts it in default deny for dir. */
static int
unit_default_deny(const struct unit *u, const struct reach_pod *p, enum reach_dir dir)
{
	const struct node *edd, *v, *s;

	if (u->np)
		return reach_np_isolates(u->obj, p, dir);
	edd = node_map_get(u->spec, "enableDefaultDeny");
	v = node_map_get(edd, dir == REACH_EGRESS ? "egress" : "ingress");
	if (v && v->type != NT_NULL)
		return truthy(v);
	return ((s = seq_of(u->spec, dir_key(dir, 0))) && s->count) ||
	       ((s = seq_of(u->spec, dir_key(dir, 1))) && s->count);
}

/* --- peers --- */

static int
cidr_str_has(const char *s, const struct cidr *a)
{
	struct cidr c;

	return s && cidr_parse(s, strlen(s), &c) == CIDR_OK && cidr_contains(&c, a);
}

/* toCIDR (strings) or toCIDRSet (cidr + except): world addresses only. */
static int
cidrs_match(const struct node *list, const struct remote *r, int set)
{
	if (r->pod || !r->addr || !r->addr->family || !list || list->kind != NODE_SEQ)
		return 0;
	for (const struct node *c = list->head; c; c = c->next)
		if (set ? reach_ipblock_has(c, r->addr) : cidr_str_has(reach_str(c), r->addr))
			return 1;
	return 0;
}

static int
endpoints_match(const struct unit *u, const struct node *list, const struct remote *r)
{
	if (!list || list->kind != NODE_SEQ)
		return 0;
	for (const struct node *sel = list->head; sel; sel = sel->next) {
		if (!u->ccnp && !sel_keys(sel, 1) && !sel_keys(sel, 0) &&
		    (!r->pod || strcmp(r->pod->ns, u->ns) != 0))
			continue;
		if (u->ccnp && sel_empty(sel)) {
			if (r->pod)
				return 1;
			continue;
		}
		if (sel_matches(sel, r))
			return 1;
	}
	return 0;
}

static int
entities_match(const struct node *list, const struct remote *r)
{
	if (!list || list->kind != NODE_SEQ)
		return 0;
	for (const struct node *e = list->head; e; e = e->next)
		if (reach_str_is(e, "all") || reach_str_is(e, r->pod ? "cluster" : "world"))
			return 1;
	return 0;
}

/* The peer fields of a Cilium rule match the remote (toFQDNs: never here). */
static int
peer_matches(const struct unit *u, const struct node *r, enum reach_dir dir, const struct remote *rm,
	     int deny)
{
	const char *pre = dir == REACH_EGRESS ? "to" : "from";
	static const char *const fields[] = { "Endpoints", "Entities", "CIDR", "CIDRSet", "Nodes", "FQDNs" };
	const struct node *tp;
	int any = 0;

	for (size_t f = 0; f < sizeof(fields) / sizeof(*fields); f++) {
		char key[32];
		const struct node *v;

		if (f == 5 && (dir != REACH_EGRESS || deny))
			continue;
		(void)snprintf(key, sizeof(key), "%s%s", pre, fields[f]);
		v = node_map_get(r, key);
		if (!v || v->type == NT_NULL)
			continue;
		any = 1;
		if ((f == 0 && endpoints_match(u, v, rm)) || (f == 1 && entities_match(v, rm)) ||
		    (f == 2 && cidrs_match(v, rm, 0)) || (f == 3 && cidrs_match(v, rm, 1)))
			return 1;
	}
	if (any)
		return 0;
	tp = seq_of(r, "toPorts");
	return tp && tp->count > 0;
}

/* --- ports --- */

/* A port item's protocols as a bit set (1 << enum reach_proto); 0: none. */
static unsigned
protos_of(const struct node *pp)
{
	const char *s = reach_str(node_map_get(pp, "protocol"));

	if (!s || !*s || strcasecmp(s, "ANY") == 0)
		return 7;
	if (strcasecmp(s, "TCP") == 0)
		return 1u << REACH_TCP;
	if (strcasecmp(s, "UDP") == 0)
		return 1u << REACH_UDP;
	if (strcasecmp(s, "SCTP") == 0)
		return 1u << REACH_SCTP;
	return 0;
}

/* Whether a port item matches (proto, port); named ports on the Pod `named`. */
static int
port_item_matches(const struct node *pp, enum reach_proto proto, unsigned port,
		  const struct reach_pod *named)
{
	const struct node *pn = node_map_get(pp, "port");
	const char *s = reach_str(pn);
	long lo, hi;

	if (!(protos_of(pp) & (1u << proto)))
		return 0;
	if (!pn || pn->type == NT_NULL || !s || !*s || strcmp(s, "0") == 0)
		return 1;
	if ((lo = reach_port_num(pn)) < 0) {
		if (!named || !named->ports || named->ports->kind != NODE_SEQ)
			return 0;
		for (const struct node *it = named->ports->head; it; it = it->next)
			if (reach_str_is(node_map_get(it, "name"), s) && reach_proto_of(it) == (int)proto &&
			    reach_port_num(node_map_get(it, "containerPort")) == (long)port)
				return 1;
		return 0;
	}
	hi = reach_port_num(node_map_get(pp, "endPort"));
	if (hi <= 0)
		hi = lo;
	return (long)port >= lo && (long)port <= hi;
}

/* 1 when the rule's toPorts admit (proto, port); *l7dns: a matching entry has rules.dns,
 * *plain: a matching entry has none (or toPorts is absent). */
static int
toports_match(const struct node *r, enum reach_proto proto, unsigned port,
	      const struct reach_pod *named, int *l7dns, int *plain)
{
	const struct node *tp = seq_of(r, "toPorts");
	int hit = 0;

	if (!tp || !tp->count) {
		if (plain)
			*plain = 1;
		return 1;
	}
	for (const struct node *e = tp->head; e; e = e->next) {
		const struct node *ports = seq_of(e, "ports");
		const struct node *dns = seq_of(node_map_get(e, "rules"), "dns");
		int m = !ports || !ports->count;

		for (const struct node *pp = ports ? ports->head : NULL; pp && !m; pp = pp->next)
			m = port_item_matches(pp, proto, port, named);
		if (!m)
			continue;
		hit = 1;
		if (dns && dns->count) {
			if (l7dns)
				*l7dns = 1;
		} else if (plain) {
			*plain = 1;
		}
	}
	return hit;
}

/* The ports a Cilium rule opens to an address (named ports: none). */
static int
toports_set(const struct node *r, struct reach_ports *out)
{
	const struct node *tp = seq_of(r, "toPorts");

	for (const struct node *e = tp && tp->count ? tp->head : NULL; e; e = e->next) {
		const struct node *ports = seq_of(e, "ports");

		if (!ports || !ports->count)
			goto all;
		for (const struct node *pp = ports->head; pp; pp = pp->next) {
			const struct node *pn = node_map_get(pp, "port");
			const char *s = reach_str(pn);
			unsigned protos = protos_of(pp);
			long lo = 1, hi = 65535;

			if (pn && pn->type != NT_NULL && s && *s && strcmp(s, "0") != 0) {
				if ((lo = reach_port_num(pn)) < 0)
					continue;
				hi = reach_port_num(node_map_get(pp, "endPort"));
				if (hi <= 0)
					hi = lo;
			}
			if (lo < 1)
				lo = 1;
			if (hi > 65535)
				hi = 65535;
			for (unsigned p = 0; p < REACH_NPROTO && lo <= hi; p++)
				if ((protos & (1u << p)) && reach_ports_add(out, p, (unsigned)lo, (unsigned)hi) < 0)
					return -1;
		}
	}
	if (tp && tp->count) {
		reach_ports_normalize(out);
		return 0;
	}
all:
	for (unsigned p = 0; p < REACH_NPROTO; p++)
		if (reach_ports_add(out, p, 1, 65535) < 0)
			return -1;
	reach_ports_normalize(out);
	return 0;
}

/* --- NetworkPolicy under Cilium --- */

static int
np_rule_matches(const struct unit *u, const struct node *r, const struct reach_query *q)
{
	const struct node *peers = seq_of(r, q->dir == REACH_EGRESS ? "to" : "from");
	int hit = !peers || !peers->count;

	for (const struct node *pr = peers ? peers->head : NULL; pr && !hit; pr = pr->next) {
		const struct node *ib = node_map_get(pr, "ipBlock");

		if (ib && ib->type != NT_NULL)
			hit = !q->peer && q->addr.family && reach_ipblock_has(ib, &q->addr);
		else
			hit = q->peer && reach_np_peer_matches(pr, u->ns, q);
	}
	return hit && reach_np_ports_match(seq_of(r, "ports"), q);
}

/* --- queries --- */

struct qctx {
	const struct reach_pod *pod;
	const struct reach_query *q;
	struct reach_verdict *v;
	int deny_pass;     /* 1: looking for a deny; 0: allows */
	int isolated;
};

static void
verdict_set(struct reach_verdict *v, const struct unit *u, int rule, int deny)
{
	v->obj = u->obj;
	v->rule = rule;
	v->peer = -1;
	v->specs = u->specs;
	v->deny = deny;
}

static int
query_unit(void *ctx, const struct unit *u)
{
	struct qctx *c = ctx;
	const struct reach_query *q = c->q;
	struct remote rm = { q->peer, q->peer ? NULL : &q->addr };
	const struct reach_pod *named = q->dir == REACH_EGRESS ? q->peer : c->pod;
	const struct node *rules;
	int ri = 0;

	if (!unit_selects(u, c->pod))
		return 0;
	if (c->deny_pass) {
		if (u->np)
			return 0;
		rules = seq_of(u->spec, dir_key(q->dir, 1));
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next, ri++)
			if (toports_match(r, q->proto, q->port, named, NULL, NULL) &&
			    peer_matches(u, r, q->dir, &rm, 1)) {
				verdict_set(c->v, u, ri, 1);
				return 1;
			}
		return 0;
	}
	if (unit_default_deny(u, c->pod, q->dir)) {
		c->isolated = 1;
		c->v->npolicies++;
	}
	if (c->v->obj)
		return 0;
	if (u->np) {
		if (!reach_np_isolates(u->obj, c->pod, q->dir))
			return 0;
		rules = seq_of(node_map_get(u->obj, "spec"), dir_key(q->dir, 0));
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next, ri++)
			if (np_rule_matches(u, r, q)) {
				verdict_set(c->v, u, ri, 0);
				return 0;
			}
		return 0;
	}
	rules = seq_of(u->spec, dir_key(q->dir, 0));
	for (const struct node *r = rules ? rules->head : NULL; r; r = r->next, ri++)
		if (toports_match(r, q->proto, q->port, named, NULL, NULL) && peer_matches(u, r, q->dir, &rm, 0)) {
			verdict_set(c->v, u, ri, 0);
			return 0;
		}
	return 0;
}

int
reach_cilium_query(const struct reach_objs *o, const struct reach_pod *pod,
		   const struct reach_query *q, struct reach_verdict *v)
{
	struct qctx c = { pod, q, v, 1, 0 };
	int rc;

	memset(v, 0, sizeof(*v));
	v->rule = v->peer = -1;
	if ((rc = each_unit(o, query_unit, &c)) < 0)
		return -1;
	if (rc > 0) {
		v->allowed = 0;
		v->why = REACH_DENIED;
	} else {
		c.deny_pass = 0;
		if (each_unit(o, query_unit, &c) < 0)
			return -1;
		if (!c.isolated) {
			v->allowed = 1;
			v->why = REACH_OPEN;
			v->obj = NULL;
			v->rule = -1;
			return 0;
		}
		v->allowed = v->obj != NULL;
		v->why = v->allowed ? REACH_RULE : REACH_NO_RULE;
	}
	if (v->obj) {
		v->kind = reach_str(node_map_get(v->obj, "kind"));
		v->ns = reach_meta(v->obj, "namespace");
		v->name = reach_meta(v->obj, "name");
	}
	return 0;
}

int
reach_cilium_selects(const struct node *obj, const struct reach_pod *p)
{
	struct unit u;

	for (size_t k = 0; unit_at(obj, k, &u); k++)
		if (unit_selects(&u, p))
			return 1;
	return 0;
}

/* --- unmodelled fields --- */

static const char *const entities[] = {
	"all", "world", "cluster", "host", "remote-node", "kube-apiserver",
	"init", "ingress", "health", "unmanaged", "none",
};

static int
rule_unmodelled(const struct node *r, enum reach_dir dir)
{
	static const char *const eg[] = { "toServices", "toGroups", "toRequires", "icmps" };
	static const char *const in[] = { "fromGroups", "fromRequires", "icmps" };
	const char *const *keys = dir == REACH_EGRESS ? eg : in;
	size_t nk = dir == REACH_EGRESS ? 4 : 3;
	const struct node *ents = seq_of(r, dir == REACH_EGRESS ? "toEntities" : "fromEntities");
	const struct node *set = seq_of(r, dir == REACH_EGRESS ? "toCIDRSet" : "fromCIDRSet");

	for (size_t i = 0; i < nk; i++) {
		const struct node *v = node_map_get(r, keys[i]);

		if (v && v->type != NT_NULL && !(v->kind == NODE_SEQ && !v->count) &&
		    !(v->kind == NODE_MAP && !v->count))
			return 1;
	}
	for (const struct node *e = ents ? ents->head : NULL; e; e = e->next) {
		int ok = 0;

		for (size_t i = 0; i < sizeof(entities) / sizeof(*entities); i++)
			ok |= reach_str_is(e, entities[i]);
		if (!ok)
			return 1;
	}
	for (const struct node *c = set ? set->head : NULL; c; c = c->next)
		if (!reach_str(node_map_get(c, "cidr")))
			return 1;
	return 0;
}

static int
unmodelled_unit(void *ctx, const struct unit *u)
{
	(void)ctx;
	if (u->np)
		return 0;
	if (!present(u->spec, "nodeSelector") && !present(u->spec, "endpointSelector"))
		return 1;
	for (int d = 0; d < 2; d++)
		for (int deny = 0; deny < 2; deny++) {
			const struct node *rules = seq_of(u->spec, dir_key((enum reach_dir)d, deny));

			for (const struct node *r = rules ? rules->head : NULL; r; r = r->next)
				if (rule_unmodelled(r, (enum reach_dir)d))
					return 1;
		}
	return 0;
}

const struct node *
reach_cilium_unmodelled(const struct reach_objs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct reach_objs one = { &o->objs[i], 1 };

		if (is_cilium(o->objs[i]) && each_unit(&one, unmodelled_unit, NULL) != 0)
			return o->objs[i];
	}
	return NULL;
}

/* --- the summary --- */

struct sctx {
	const struct reach_pod *pod;
	enum reach_dir dir;
	struct reach_dirsum *d;
	struct reach_cuts k4, k6;
	int isolated;
	/* the address callback */
	const struct reach_objs *o;
	const struct cidr *at;
	struct reach_ports *allow, *deny;
	int pass;   /* 0: collect; 1: ports at an address */
};

static int
sel_push(struct reach_dirsum *d, const struct unit *u, int rule, int peer, int deny,
	 const char *field, const struct node *cil, const struct node *nss, const struct node *pods,
	 const struct reach_ports *p)
{
	struct reach_sel *n = xreallocarray(d->sels, d->nsels + 1, sizeof(struct reach_sel));

	if (!n)
		return -1;
	d->sels = n;
	memset(&n[d->nsels], 0, sizeof(n[d->nsels]));
	n[d->nsels].obj = u->obj;
	n[d->nsels].rule = rule;
	n[d->nsels].peer = peer;
	n[d->nsels].ns_sel = nss;
	n[d->nsels].pod_sel = pods;
	n[d->nsels].specs = u->specs;
	n[d->nsels].deny = deny;
	n[d->nsels].field = field;
	n[d->nsels].cil = cil;
	if (reach_ports_union(&n[d->nsels].ports, p) < 0) {
		free(n[d->nsels].ports.items);
		return -1;
	}
	d->nsels++;
	return 0;
}

static int
dns_push(struct reach_dirsum *d, const struct node *e)
{
	const struct node **n = xreallocarray(d->dns, d->ndns + 1, sizeof(const struct node *));

	if (!n)
		return -1;
	d->dns = n;
	d->dns[d->ndns++] = e;
	return 0;
}

static const struct reach_pod any_pod;

/* Can a rule's peers match a Pod (a DNS server)? */
static int
may_match_pod(const struct node *r)
{
	const struct node *ents = seq_of(r, "toEntities");
	static const char *const f[] = { "toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toNodes",
					 "toFQDNs" };
	int any = 0;

	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
		any |= present(r, f[i]);
	if (!any)
		return 1;
	if (seq_of(r, "toEndpoints") && seq_of(r, "toEndpoints")->count)
		return 1;
	return entities_match(ents, &(struct remote){ &any_pod, NULL });
}

/* Collect a Cilium rule's cuts, selector peers and DNS rules. */
static int
collect_rule(struct sctx *c, const struct unit *u, const struct node *r, int ri, int deny)
{
	const char *pre = c->dir == REACH_EGRESS ? "to" : "from";
	static const char *const selfields[] = { "Endpoints", "Entities", "Nodes", "FQDNs" };
	struct reach_ports p = { NULL, 0 };
	int rc = -1, any = 0;
	char key[32];

	if (toports_set(r, &p) < 0)
		goto out;
	for (int fam = 0; fam < 2; fam++) {
		struct reach_cuts *k = fam ? &c->k6 : &c->k4;
		int family = fam ? CIDR_V6 : CIDR_V4;
		const struct node *l;

		(void)snprintf(key, sizeof(key), "%sCIDR", pre);
		for (const struct node *e = (l = seq_of(r, key)) ? l->head : NULL; e; e = e->next)
			if (reach_cut_prefix(k, reach_str(e), family) < 0)
				goto out;
		(void)snprintf(key, sizeof(key), "%sCIDRSet", pre);
		for (const struct node *e = (l = seq_of(r, key)) ? l->head : NULL; e; e = e->next)
			if (reach_cut_ipblock(k, e, family) < 0)
				goto out;
	}
	for (size_t f = 0; f < sizeof(selfields) / sizeof(*selfields); f++) {
		const struct node *v;
		int pi = 0;

		if (f == 3 && (deny || c->dir != REACH_EGRESS))
			continue;
		(void)snprintf(key, sizeof(key), "%s%s", pre, selfields[f]);
		v = seq_of(r, key);
		if (f == 1 && v && v->count) {
			if (sel_push(c->d, u, ri, -1, deny, "entities", v, NULL, NULL, &p) < 0)
				goto out;
			continue;
		}
		for (const struct node *s = v && f != 1 ? v->head : NULL; s; s = s->next, pi++)
			if (sel_push(c->d, u, ri, pi, deny, f == 0 ? "endpoints" : f == 2 ? "nodes" : "names",
				     s, NULL, NULL, &p) < 0)
				goto out;
	}
	{
		static const char *const all[] = { "Endpoints", "Entities", "CIDR", "CIDRSet", "Nodes", "FQDNs" };
		const struct node *tp = seq_of(r, "toPorts");

		for (size_t f = 0; f < sizeof(all) / sizeof(*all); f++) {
			if (f == 5 && (deny || c->dir != REACH_EGRESS))
				continue;
			(void)snprintf(key, sizeof(key), "%s%s", pre, all[f]);
			any |= present(r, key);
		}
		if (!any && tp && tp->count && sel_push(c->d, u, ri, -1, deny, NULL, NULL, NULL, NULL, &p) < 0)
			goto out;
	}
	/* DNS: the names of L7 rules; an L4 rule opening 53 to a Pod voids them */
	if (!deny && c->dir == REACH_EGRESS) {
		const struct node *tp = seq_of(r, "toPorts");
		int l7 = 0, plain = 0;   /* l7: unused here, every rules.dns entry counts */

		/* the DNS ports explain knows (53, and 5353 of OpenShift's DNS Pods) */
		for (unsigned pr = REACH_TCP; pr <= REACH_UDP; pr++)
			if (may_match_pod(r)) {
				(void)toports_match(r, (enum reach_proto)pr, 53, NULL, &l7, &plain);
				(void)toports_match(r, (enum reach_proto)pr, 5353, NULL, &l7, &plain);
			}
		if (plain)
			c->d->dns_any = 1;
		for (const struct node *e = tp ? tp->head : NULL; e; e = e->next) {
			const struct node *dns = seq_of(node_map_get(e, "rules"), "dns");

			for (const struct node *x = dns ? dns->head : NULL; x; x = x->next)
				if (dns_push(c->d, x) < 0)
					goto out;
		}
	}
	rc = 0;
out:
	free(p.items);
	return rc;
}

/* A NetworkPolicy rule's ports open a DNS port: it voids the DNS rules. */
static int
opens_dns(const struct reach_ports *p)
{
	return reach_ports_has(p, REACH_UDP, 53) || reach_ports_has(p, REACH_TCP, 53) ||
	       reach_ports_has(p, REACH_UDP, 5353) || reach_ports_has(p, REACH_TCP, 5353);
}

static int
collect_unit(void *ctx, const struct unit *u)
{
	struct sctx *c = ctx;
	const struct node *rules;
	int ri;

	if (!unit_selects(u, c->pod))
		return 0;
	if (unit_default_deny(u, c->pod, c->dir))
		c->isolated = 1;
	if (u->np) {
		const char *key = c->dir == REACH_EGRESS ? "to" : "from";

		if (!reach_np_isolates(u->obj, c->pod, c->dir))
			return 0;
		rules = seq_of(node_map_get(u->obj, "spec"), dir_key(c->dir, 0));
		ri = 0;
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next, ri++) {
			const struct node *peers = seq_of(r, key);
			struct reach_ports p = { NULL, 0 };
			int pi = 0, rc = 0;

			if (reach_np_ports_of(seq_of(r, "ports"), &p) < 0) {
				free(p.items);
				return -1;
			}
			if (!peers || !peers->count) {
				rc = sel_push(c->d, u, ri, -1, 0, NULL, NULL, NULL, NULL, &p);
				if (!rc && c->dir == REACH_EGRESS &&
				    opens_dns(&p))
					c->d->dns_any = 1;
			}
			for (const struct node *pr = peers ? peers->head : NULL; pr && !rc; pr = pr->next, pi++) {
				const struct node *ib = node_map_get(pr, "ipBlock");
				const struct node *nss = node_map_get(pr, "namespaceSelector");
				const struct node *pods = node_map_get(pr, "podSelector");

				if (ib && ib->type != NT_NULL) {
					rc = reach_cut_ipblock(&c->k4, ib, CIDR_V4) < 0 ||
					     reach_cut_ipblock(&c->k6, ib, CIDR_V6) < 0 ? -1 : 0;
					continue;
				}
				nss = nss && nss->type != NT_NULL ? nss : NULL;
				pods = pods && pods->type != NT_NULL ? pods : NULL;
				if (!nss && !pods)
					continue;
				rc = sel_push(c->d, u, ri, pi, 0, NULL, NULL, nss, pods, &p);
				if (!rc && c->dir == REACH_EGRESS &&
				    opens_dns(&p))
					c->d->dns_any = 1;
			}
			free(p.items);
			if (rc)
				return -1;
		}
		return 0;
	}
	for (int deny = 1; deny >= 0; deny--) {
		rules = seq_of(u->spec, dir_key(c->dir, deny));
		ri = 0;
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next, ri++)
			if (collect_rule(c, u, r, ri, deny) < 0)
				return -1;
	}
	return 0;
}

/* The ports a unit opens (deny: closes) at a world address, added to c->allow / c->deny. */
static int
ports_unit(void *ctx, const struct unit *u)
{
	struct sctx *c = ctx;
	struct remote rm = { NULL, c->at };
	const struct node *rules;

	if (!unit_selects(u, c->pod))
		return 0;
	if (u->np) {
		const char *key = c->dir == REACH_EGRESS ? "to" : "from";

		if (!c->isolated || !reach_np_isolates(u->obj, c->pod, c->dir))
			return 0;
		rules = seq_of(node_map_get(u->obj, "spec"), dir_key(c->dir, 0));
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next) {
			const struct node *peers = seq_of(r, key);
			int hit = !peers || !peers->count;

			for (const struct node *pr = peers ? peers->head : NULL; pr && !hit; pr = pr->next) {
				const struct node *ib = node_map_get(pr, "ipBlock");

				hit = ib && ib->type != NT_NULL && reach_ipblock_has(ib, c->at);
			}
			if (hit) {
				struct reach_ports p = { NULL, 0 };
				int rc = reach_np_ports_of(seq_of(r, "ports"), &p) < 0 ||
					 reach_ports_union(c->allow, &p) < 0 ? -1 : 0;

				free(p.items);
				if (rc)
					return -1;
			}
		}
		return 0;
	}
	for (int deny = 0; deny < 2; deny++) {
		if (!deny && !c->isolated)
			continue;
		rules = seq_of(u->spec, dir_key(c->dir, deny));
		for (const struct node *r = rules ? rules->head : NULL; r; r = r->next)
			if (peer_matches(u, r, c->dir, &rm, deny)) {
				struct reach_ports p = { NULL, 0 };
				int rc = toports_set(r, &p) < 0 ||
					 reach_ports_union(deny ? c->deny : c->allow, &p) < 0 ? -1 : 0;

				free(p.items);
				if (rc)
					return -1;
			}
	}
	return 0;
}

static int
cilium_ports_at(void *ctx, const struct cidr *a, struct reach_ports *out)
{
	struct sctx *c = ctx;
	struct reach_ports deny = { NULL, 0 };
	int rc = -1;

	c->at = a;
	c->allow = out;
	c->deny = &deny;
	if (!c->isolated && reach_ports_union(out, &(struct reach_ports){
			(struct reach_port[]){ { REACH_TCP, 1, 65535 }, { REACH_UDP, 1, 65535 },
					       { REACH_SCTP, 1, 65535 } }, 3 }) < 0)
		goto out;
	if (each_unit(c->o, ports_unit, c) < 0 || reach_ports_minus(out, &deny) < 0)
		goto out;
	rc = 0;
out:
	free(deny.items);
	return rc;
}

static int
all_ports(const struct reach_ports *p)
{
	for (unsigned pr = 0; pr < REACH_NPROTO; pr++)
		if (!reach_ports_has(p, (enum reach_proto)pr, 1) || !reach_ports_has(p, (enum reach_proto)pr, 65535))
			return 0;
	return p->n == REACH_NPROTO;
}

static int
summarize_dir(const struct reach_objs *o, const struct reach_pod *pod, enum reach_dir dir,
	      struct reach_dirsum *d)
{
	struct sctx c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.pod = pod;
	c.dir = dir;
	c.d = d;
	c.o = o;
	d->cilium = 1;
	if (each_unit(o, collect_unit, &c) < 0)
		goto out;
	if (!c.isolated)
		d->dns_any = 1;
	if (reach_intervals(&c.k4, CIDR_V4, cilium_ports_at, &c, &d->v4, &d->nv4) < 0 ||
	    reach_intervals(&c.k6, CIDR_V6, cilium_ports_at, &c, &d->v6, &d->nv6) < 0)
		goto out;
	/* isolated: not everything is open (default deny, or some deny rule) */
	d->isolated = c.isolated;
	for (size_t i = 0; i < d->nsels; i++)
		d->isolated |= d->sels[i].deny;
	if (!d->isolated && (d->nv4 != 1 || d->nv6 != 1 || d->v4[0].c.len || d->v6[0].c.len ||
			     !all_ports(&d->v4[0].ports) || !all_ports(&d->v6[0].ports)))
		d->isolated = 1;
	rc = 0;
out:
	free(c.k4.v);
	free(c.k6.v);
	return rc;
}

int
reach_cilium_summarize(const struct reach_objs *o, const struct reach_pod *pod,
		       struct reach_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (summarize_dir(o, pod, REACH_EGRESS, &out->egress) < 0 ||
	    summarize_dir(o, pod, REACH_INGRESS, &out->ingress) < 0) {
		reach_summary_free(out);
		return -1;
	}
	return 0;
}
