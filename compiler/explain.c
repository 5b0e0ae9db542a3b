/* SPDX-License-Identifier: Apache-2.0 */
/*
 * explain: the reach evaluator's answers, per agent, as one tree (see
 * explain.h and docs/explain.md).
 */
#include "explain.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "reach.h"
#include "spec.h"
#include "xalloc.h"

#define NN(x) do { if (!(x)) goto oom; } while (0)
#define TRY(x) do { if ((x) < 0) goto oom; } while (0)
/* at most this many prefixes in a one-line summary */
#define LINE_MAX_ITEMS 6

void
explain_init(struct explain *e, const char *enforcement)
{
	memset(e, 0, sizeof(*e));
	e->enforcement = enforcement;
}

void
explain_free(struct explain *e)
{
	free(e->objs);
	free(e->agents);
	free(e->guards);
	arena_free(&e->a);
	memset(e, 0, sizeof(*e));
}

/* A copy that owns its strings too (node_clone shares them, and the
 * compiler's strings live in the document's arena). */
static struct node *
copy_tree(struct arena *a, const struct node *n)
{
	struct node *c = arena_alloc(a, sizeof(*c)), *cc;

	if (!c)
		return NULL;
	*c = *n;
	c->next = c->head = c->tail = c->val = NULL;
	c->count = 0;
	if (n->str && !(c->str = arena_strndup(a, n->str, n->len)))
		return NULL;
	for (const struct node *it = n->head; it; it = it->next) {
		if (!(cc = copy_tree(a, it)) || (it->val && !(cc->val = copy_tree(a, it->val))))
			return NULL;
		node_append(c, cc);
	}
	return c;
}

int
explain_add(struct explain *e, const struct spec_agent *ag, struct node **objs, size_t n, int guard)
{
	struct node **no = xreallocarray(e->objs, e->nobjs + n, sizeof(struct node *));
	const char *ns, *name;
	size_t first = e->nobjs;

	if (!no)
		return -1;
	e->objs = no;
	for (size_t i = 0; i < n; i++) {
		struct node *c = copy_tree(&e->a, objs[i]);

		if (!c)
			return -1;
		e->objs[e->nobjs++] = c;
	}
	if (!(ns = arena_strndup(&e->a, ag->ns, strlen(ag->ns))) ||
	    !(name = arena_strndup(&e->a, ag->name, strlen(ag->name))))
		return -1;
	if (guard) {
		struct explain_guard *g = xreallocarray(e->guards, e->nguards + 1, sizeof(struct explain_guard));

		if (!g)
			return -1;
		e->guards = g;
		g[e->nguards].ns = ns;
		g[e->nguards].first = first;
		g[e->nguards++].n = n;
	} else {
		struct explain_agent *a = xreallocarray(e->agents, e->nagents + 1, sizeof(struct explain_agent));

		if (!a)
			return -1;
		e->agents = a;
		a[e->nagents].ns = ns;
		a[e->nagents].name = name;
		a[e->nagents].mode = (int)ag->mode;
		a[e->nagents].first = first;
		a[e->nagents++].n = n;
	}
	return 0;
}

const struct node *
explain_unsupported(const struct explain *e)
{
	struct reach_objs o = { e->objs, e->nobjs };

	return reach_unsupported(&o);
}

/* --- small helpers --- */

static const char *
sval(const struct node *n)
{
	return n && n->kind == NODE_SCALAR ? n->str : NULL;
}

static const char *
mget(const struct node *obj, const char *key)
{
	return sval(node_map_get(node_map_get(obj, "metadata"), key));
}

static int
kind_is(const struct node *obj, const char *kind)
{
	const char *k = sval(node_map_get(obj, "kind"));

	return k && strcmp(k, kind) == 0;
}

/* "TCP/443", "TCP/1000-2000", "TCP" (every port) */
static char *
port_text(struct arena *a, const struct reach_port *p)
{
	const char *proto = reach_proto_name((enum reach_proto)p->proto);

	if (p->lo == 1 && p->hi == 65535)
		return arena_sprintf(a, "%s", proto);
	if (p->lo == p->hi)
		return arena_sprintf(a, "%s/%u", proto, p->lo);
	return arena_sprintf(a, "%s/%u-%u", proto, p->lo, p->hi);
}

static int
ports_all(const struct reach_ports *p)
{
	for (unsigned pr = 0; pr < REACH_NPROTO; pr++)
		if (!reach_ports_has(p, (enum reach_proto)pr, 1) ||
		    !reach_ports_has(p, (enum reach_proto)pr, 65535))
			return 0;
	return p->n == REACH_NPROTO;
}

static struct node *
ports_seq(struct arena *a, const struct reach_ports *p)
{
	struct node *s = node_new_seq(a), *it;

	if (!s)
		return NULL;
	if (ports_all(p)) {
		if (!(it = node_new_lit(a, "all")))
			return NULL;
		node_seq_add(s, it);
		return s;
	}
	for (size_t i = 0; i < p->n; i++) {
		char *t = port_text(a, &p->items[i]);

		if (!t || !(it = node_new_str(a, t)))
			return NULL;
		node_seq_add(s, it);
	}
	return s;
}

/* "TCP/443, UDP/53" or "all ports" */
static char *
ports_line(struct arena *a, const struct reach_ports *p)
{
	char *s = NULL;

	if (ports_all(p))
		return arena_sprintf(a, "all ports");
	for (size_t i = 0; i < p->n; i++) {
		char *t = port_text(a, &p->items[i]);

		if (!t || !(s = s ? arena_sprintf(a, "%s, %s", s, t) : t))
			return NULL;
	}
	return s ? s : arena_sprintf(a, "no port");
}

/* DNS ports: one port number (53, or 5353 on OpenShift), on UDP (and TCP). */
static int
ports_dns_only(const struct reach_ports *p)
{
	int udp = 0;

	if (!p->n)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->items[i].lo != p->items[i].hi || p->items[i].lo != p->items[0].lo ||
		    p->items[i].proto == REACH_SCTP)
			return 0;
		udp |= p->items[i].proto == REACH_UDP;
	}
	return udp && (p->items[0].lo == 53 || p->items[0].lo == 5353);
}

/* "k=v,k2=v2", "k In (a,b)", ... ; "" for an empty selector */
static char *
selector_text(struct arena *a, const struct node *sel)
{
	const struct node *ml = node_map_get(sel, "matchLabels");
	const struct node *me = node_map_get(sel, "matchExpressions");
	char *s = arena_sprintf(a, "%s", "");

	if (ml && ml->kind == NODE_MAP)
		for (const struct node *k = ml->head; k && s; k = k->next)
			s = arena_sprintf(a, "%s%s%s=%s", s, *s ? "," : "", k->str,
					  sval(k->val) ? sval(k->val) : "");
	if (me && me->kind == NODE_SEQ)
		for (const struct node *x = me->head; x && s; x = x->next) {
			const struct node *vals = node_map_get(x, "values");
			const char *key = sval(node_map_get(x, "key")), *op = sval(node_map_get(x, "operator"));
			char *v = arena_sprintf(a, "%s", "");

			if (vals && vals->kind == NODE_SEQ)
				for (const struct node *y = vals->head; y && v; y = y->next)
					v = arena_sprintf(a, "%s%s%s", v, *v ? "," : "", sval(y) ? sval(y) : "");
			if (!v)
				return NULL;
			s = arena_sprintf(a, "%s%s%s %s%s%s%s", s, *s ? "," : "", key ? key : "?",
					  op ? op : "?", *v ? " (" : "", v, *v ? ")" : "");
		}
	return s;
}

/* "pods k8s-app=kube-dns in namespace kube-system" */
static char *
sel_text(struct arena *a, const struct reach_sel *s)
{
	const char *pol_ns = mget(s->obj, "namespace");
	char *pods, *nss;
	const struct node *nm;

	if (s->field) {   /* Cilium */
		const char *pre = s->deny ? "deny " : "";

		if (strcmp(s->field, "entities") == 0) {
			char *t = arena_sprintf(a, "%s", "");

			for (const struct node *x = s->cil->head; x && t; x = x->next)
				t = arena_sprintf(a, "%s%s%s", t, *t ? ", " : "", sval(x) ? sval(x) : "?");
			return t ? arena_sprintf(a, "%sentities %s", pre, t) : NULL;
		}
		if (strcmp(s->field, "names") == 0)
			return arena_sprintf(a, "%s", sval(node_map_get(s->cil, "matchName")) ?
				sval(node_map_get(s->cil, "matchName")) :
				sval(node_map_get(s->cil, "matchPattern")) ? sval(node_map_get(s->cil, "matchPattern")) : "?");
		if (!(pods = selector_text(a, s->cil)))
			return NULL;
		if (strcmp(s->field, "nodes") == 0)
			return arena_sprintf(a, "%snodes %s", pre, *pods ? pods : "(all)");
		if (!*pods)
			return arena_sprintf(a, "%severy endpoint%s%s", pre, pol_ns ? " in namespace " : "",
					     pol_ns ? pol_ns : "");
		return arena_sprintf(a, "%sendpoints %s", pre, pods);
	}
	if (s->node_sel) {   /* ClusterNetworkPolicy */
		if (!(nss = selector_text(a, s->node_sel)))
			return NULL;
		return *nss ? arena_sprintf(a, "nodes %s", nss) : arena_sprintf(a, "every node");
	}
	if (!s->ns_sel && !s->pod_sel)
		return arena_sprintf(a, "%severy Pod and address", s->deny ? "deny " : "");
	pods = s->pod_sel ? selector_text(a, s->pod_sel) : arena_sprintf(a, "%s", "");
	if (!pods)
		return NULL;
	pods = *pods ? arena_sprintf(a, "pods %s", pods) : arena_sprintf(a, "every pod");
	if (!pods)
		return NULL;
	if (!s->ns_sel)
		return arena_sprintf(a, "%s in namespace %s", pods, pol_ns ? pol_ns : "?");
	nm = node_map_get(node_map_get(s->ns_sel, "matchLabels"), "kubernetes.io/metadata.name");
	if (nm && node_map_get(s->ns_sel, "matchLabels")->count == 1 &&
	    !node_map_get(s->ns_sel, "matchExpressions"))
		return arena_sprintf(a, "%s in namespace %s", pods, sval(nm) ? sval(nm) : "?");
	if (!(nss = selector_text(a, s->ns_sel)))
		return NULL;
	return *nss ? arena_sprintf(a, "%s in namespaces %s", pods, nss)
		    : arena_sprintf(a, "%s in every namespace", pods);
}

/* {"kind", "namespace", "name", "rule", "peer"} of a rule */
static struct node *
rule_ref(struct arena *a, const struct node *obj, int rule, int peer)
{
	struct node *m = node_new_map(a);
	const char *kind = sval(node_map_get(obj, "kind")), *ns = mget(obj, "namespace"),
		   *name = mget(obj, "name");

	if (!m || node_map_put(a, m, "kind", node_new_str(a, kind ? kind : "")) < 0 ||
	    node_map_put(a, m, "namespace", node_new_str(a, ns ? ns : "")) < 0 ||
	    node_map_put(a, m, "name", node_new_str(a, name ? name : "")) < 0 ||
	    node_map_put(a, m, "rule", node_new_int(a, rule)) < 0 ||
	    node_map_put(a, m, "peer", node_new_int(a, peer)) < 0)
		return NULL;
	return m;
}

/* 1 when a sequence of strings holds s */
static int
seq_has(const struct node *seq, const char *s)
{
	for (const struct node *x = seq->head; x; x = x->next)
		if (sval(x) && strcmp(sval(x), s) == 0)
			return 1;
	return 0;
}

/* "a, b, c" of a sequence of strings ("none" when empty); NULL: out of memory */
static char *
list_line(struct arena *a, const struct node *seq)
{
	char *t = arena_sprintf(a, "%s", "");

	for (const struct node *x = seq->head; x && t; x = x->next)
		t = arena_sprintf(a, "%s%s%s", t, *t ? ", " : "", sval(x) ? sval(x) : "");
	return t && !*t ? arena_sprintf(a, "none") : t;
}

/* Cilium: a rule's list, "egress", "specs[1].egressDeny", in a RULE of a Cilium object */
static int
cilium_section(struct arena *a, struct node *ref, const struct node *obj, int specs, int deny,
	       int dir)
{
	const char *k = sval(node_map_get(obj, "kind"));
	const char *d = dir == REACH_EGRESS ? (deny ? "egressDeny" : "egress")
					    : (deny ? "ingressDeny" : "ingress");

	if (!k || strncmp(k, "Cilium", 6) != 0)
		return 0;
	if (specs)
		return node_map_put(a, ref, "section", node_new_strf(a, "specs[%d].%s", specs - 1, d));
	return node_map_put(a, ref, "section", node_new_str(a, d));
}

static int
seq_str(struct arena *a, struct node *seq, const char *s)
{
	struct node *n = s ? node_new_str(a, s) : NULL;

	if (!n)
		return -1;
	node_seq_add(seq, n);
	return 0;
}

/* 2^k as a double (k <= 128) */
static double
pow2(unsigned k)
{
	double v = 1;

	while (k--)
		v *= 2;
	return v;
}

/* A range that only serves DNS: one address, DNS ports only. */
static int
dns_range(const struct reach_range *r)
{
	return r->c.len == (r->c.family == CIDR_V4 ? 32 : 128) && ports_dns_only(&r->ports);
}

/* "a, b, c and N more" of a prefix list */
static char *
prefix_line(struct arena *a, const struct cidr *v, size_t n)
{
	char *s = arena_sprintf(a, "%s", "");

	for (size_t i = 0; i < n && i < LINE_MAX_ITEMS && s; i++) {
		char t[CIDR_STRLEN];

		cidr_format(&v[i], t, 1);
		s = arena_sprintf(a, "%s%s%s", s, i ? ", " : "", t);
	}
	if (s && n > LINE_MAX_ITEMS)
		s = arena_sprintf(a, "%s and %zu more", s, n - LINE_MAX_ITEMS);
	return s;
}

static struct cidr
nat64_prefix(void)
{
	struct cidr n;

	memset(&n, 0, sizeof(n));
	cidr_parse(CATALOG_NAT64, strlen(CATALOG_NAT64), &n);
	return n;
}

/* The NAT64 prefix, opened in part (the images of public IPv4, nat64: true). */
static int
nat64_partial(const struct cidr *c, const struct cidr_list *open)
{
	struct cidr n = nat64_prefix();

	if (cidr_cmp(c, &n) != 0)
		return 0;
	for (size_t i = 0; i < open->n; i++)
		if (cidr_contains(&open->items[i], &n))
			return 0;
	return 1;
}

/* IPv6 open outside 2000::/3: the NAT64 images in one phrase, the rest listed. */
static char *
outside_text(struct arena *a, char *text, const struct cidr_list *outside)
{
	struct cidr n = nat64_prefix();
	struct cidr_list in = { NULL, 0, 0 }, rest = { NULL, 0, 0 }, closed = { NULL, 0, 0 };
	char *pl;

	for (size_t i = 0; i < outside->n && text; i++)
		if (cidr_list_add(cidr_contains(&n, &outside->items[i]) ? &in : &rest, &outside->items[i]) < 0)
			text = NULL;
	if (text && in.n) {
		if (cidr_subtract(&n, &in, &closed) < 0)
			text = NULL;
		else if (closed.n)
			text = arena_sprintf(a, "%s, plus NAT64 %s except %zu range%s (the images of blocked IPv4)",
					     text, CATALOG_NAT64, closed.n, closed.n == 1 ? "" : "s");
		else
			text = arena_sprintf(a, "%s, plus NAT64 %s", text, CATALOG_NAT64);
	}
	if (text && rest.n) {
		pl = prefix_line(a, rest.items, rest.n);
		text = pl ? arena_sprintf(a, "%s, plus %s", text, pl) : NULL;
	}
	cidr_list_free(&in);
	cidr_list_free(&rest);
	cidr_list_free(&closed);
	return text;
}

/*
 * One family of egress: {"summary", "ranges", "blocked"}. The summary
 * leaves out the DNS servers (they have their own line) and compares what
 * is closed with the catalogue: "public IPv4 except 15 blocked ranges".
 */
static struct node *
family_tree(struct arena *a, int fam, const struct reach_range *r, size_t n,
	    struct node *warnings, struct reach_ports *open_ports)
{
	const struct catalog_entry *cat = fam == CIDR_V4 ? catalog_v4 : catalog_v6;
	size_t ncat = fam == CIDR_V4 ? catalog_v4_len : catalog_v6_len;
	struct node *m = node_new_map(a), *ranges = node_new_seq(a), *blocked = node_new_seq(a);
	struct cidr_list open = { NULL, 0, 0 }, comp = { NULL, 0, 0 }, other = { NULL, 0, 0 },
			 outside = { NULL, 0, 0 }, catl = { NULL, 0, 0 };
	struct cidr uni;
	const char *uni_s = fam == CIDR_V4 ? "0.0.0.0/0" : CATALOG_V6_GLOBAL;
	const char *fname = fam == CIDR_V4 ? "IPv4" : "IPv6";
	const struct reach_range *first = NULL;
	double size = 0;
	int uniform = 1, nblocked = 0;
	char *text = NULL, *pl;

	NN(m && ranges && blocked);
	if (cidr_parse(uni_s, strlen(uni_s), &uni) != CIDR_OK)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct node *it = node_new_map(a), *ps = ports_seq(a, &r[i].ports);
		char t[CIDR_STRLEN];

		NN(it && ps);
		cidr_format(&r[i].c, t, 1);
		TRY(node_map_put(a, it, "cidr", node_new_strf(a, "%s", t)));
		TRY(node_map_put(a, it, "ports", ps));
		node_seq_add(ranges, it);
		if (dns_range(&r[i]))
			continue;
		TRY(cidr_list_add(&open, &r[i].c));
		TRY(reach_ports_union(open_ports, &r[i].ports));
		if (first && !reach_ports_equal(&first->ports, &r[i].ports))
			uniform = 0;
		if (!first)
			first = &r[i];
		if (cidr_contains(&uni, &r[i].c))
			size += pow2((unsigned)((fam == CIDR_V4 ? 32 : 128) - r[i].c.len));
		else
			TRY(cidr_list_add(&outside, &r[i].c));
	}
	cidr_list_normalize(&open);
	/* the catalogue entries: blocked (nothing open in them), or a warning */
	for (size_t i = 0; i < ncat; i++) {
		struct cidr c;
		int hit = 0;

		if (cidr_parse(cat[i].cidr, strlen(cat[i].cidr), &c) != CIDR_OK)
			continue;
		for (size_t j = 0; j < open.n && !hit; j++)
			hit = cidr_overlaps(&c, &open.items[j]);
		if (!hit) {
			nblocked++;
			TRY(seq_str(a, blocked, cat[i].cidr));
		} else if (!nat64_partial(&c, &open)) {
			TRY(seq_str(a, warnings, arena_sprintf(a, "%s %s (%s) is reachable, in part or whole",
							       fname, cat[i].cidr, cat[i].why)));
		}
	}
	if (!open.n) {
		text = arena_sprintf(a, "none");
	} else if (size >= pow2(fam == CIDR_V4 ? 31 : 124)) {
		/* public: say what is closed */
		TRY(cidr_subtract(&uni, &open, &comp));
		for (size_t i = 0; i < ncat; i++) {
			struct cidr c;

			if (cidr_parse(cat[i].cidr, strlen(cat[i].cidr), &c) == CIDR_OK)
				TRY(cidr_list_add(&catl, &c));
		}
		for (size_t i = 0; i < comp.n; i++) {
			struct cidr_list rem = { NULL, 0, 0 };

			TRY(cidr_subtract(&comp.items[i], &catl, &rem));
			for (size_t j = 0; j < rem.n; j++)
				if (cidr_list_add(&other, &rem.items[j]) < 0) {
					cidr_list_free(&rem);
					goto oom;
				}
			cidr_list_free(&rem);
		}
		cidr_list_normalize(&other);
		NN(text = arena_sprintf(a, "public %s except %d blocked range%s", fname, nblocked,
					nblocked == 1 ? "" : "s"));
		if (other.n) {
			NN(pl = prefix_line(a, other.items, other.n));
			NN(text = arena_sprintf(a, "%s and %zu other%s (%s)", text, other.n,
						other.n == 1 ? "" : "s", pl));
		}
		if (outside.n)
			NN(text = outside_text(a, text, &outside));
	} else {
		NN(text = prefix_line(a, open.items, open.n));
	}
	NN(text);
	if (open.n && uniform) {
		for (size_t i = 0; i < n; i++)
			if (!dns_range(&r[i])) {
				NN(pl = ports_line(a, &r[i].ports));
				NN(text = arena_sprintf(a, "%s, %s", text, pl));
				break;
			}
	} else if (open.n) {
		NN(text = arena_sprintf(a, "%s, ports by range (see the JSON)", text));
	}
	TRY(node_map_put(a, m, "summary", node_new_str(a, text)));
	TRY(node_map_put(a, m, "ranges", ranges));
	TRY(node_map_put(a, m, "blocked", blocked));
	cidr_list_free(&open);
	cidr_list_free(&comp);
	cidr_list_free(&other);
	cidr_list_free(&outside);
	cidr_list_free(&catl);
	return m;
oom:
	cidr_list_free(&open);
	cidr_list_free(&comp);
	cidr_list_free(&other);
	cidr_list_free(&outside);
	cidr_list_free(&catl);
	return NULL;
}

/* A list of selector peers: [{"peer": text, "ports": [...], "rule": {...}}] */
static int
sel_item(struct arena *a, struct node *seq, const struct reach_sel *s, int dir)
{
	struct node *m = node_new_map(a), *ps = ports_seq(a, &s->ports);
	struct node *r = rule_ref(a, s->obj, s->rule, s->peer);
	char *t = sel_text(a, s);

	if (!m || !ps || !t || !r || node_map_put(a, m, "peer", node_new_str(a, t)) < 0 ||
	    node_map_put(a, m, "ports", ps) < 0 ||
	    cilium_section(a, r, s->obj, s->specs, s->deny, dir) < 0 ||
	    node_map_put(a, m, "rule", r) < 0)
		return -1;
	if (s->deny && node_map_put(a, m, "deny", node_new_bool(a, 1)) < 0)
		return -1;
	node_seq_add(seq, m);
	return 0;
}

/* "a (p); b (q)" of a list built by sel_item ("" when empty); NULL: out of memory */
static char *
items_line(struct arena *a, const struct node *seq, const char *key)
{
	char *s = NULL;

	for (const struct node *it = seq->head; it; it = it->next) {
		const struct node *ps = node_map_get(it, "ports");
		char *p = arena_sprintf(a, "%s", "");

		for (const struct node *x = ps ? ps->head : NULL; x && p; x = x->next)
			p = arena_sprintf(a, "%s%s%s", p, *p ? ", " : "", x->str);
		if (!p)
			return NULL;
		s = arena_sprintf(a, "%s%s%s (%s)", s ? s : "", s ? "; " : "",
				  sval(node_map_get(it, key)), p);
		if (!s)
			return NULL;
	}
	return s ? s : arena_sprintf(a, "%s", "");
}

/* ClusterNetworkPolicy: [{"name", "ports", "ranges", "rule"}] of the domainNames entries */
static struct node *
domains_seq(struct arena *a, const struct reach_dirsum *d)
{
	struct node *seq = node_new_seq(a);

	if (!seq)
		return NULL;
	for (size_t i = 0; i < d->ndomains; i++) {
		const struct reach_domain *dm = &d->domains[i];
		struct node *m = node_new_map(a), *ranges = node_new_seq(a), *ps;
		struct reach_ports all = { NULL, 0 };

		if (!m || !ranges)
			return NULL;
		for (size_t j = 0; j < dm->nv4 + dm->nv6; j++) {
			const struct reach_range *r = j < dm->nv4 ? &dm->v4[j] : &dm->v6[j - dm->nv4];
			struct node *it = node_new_map(a), *rp = ports_seq(a, &r->ports);
			char t[CIDR_STRLEN];

			cidr_format(&r->c, t, 1);
			if (!it || !rp || reach_ports_union(&all, &r->ports) < 0 ||
			    node_map_put(a, it, "cidr", node_new_strf(a, "%s", t)) < 0 ||
			    node_map_put(a, it, "ports", rp) < 0) {
				free(all.items);
				return NULL;
			}
			node_seq_add(ranges, it);
		}
		ps = ports_seq(a, &all);
		free(all.items);
		if (!ps || node_map_put(a, m, "name", node_new_str(a, dm->name)) < 0 ||
		    node_map_put(a, m, "ports", ps) < 0 || node_map_put(a, m, "ranges", ranges) < 0 ||
		    node_map_put(a, m, "rule", rule_ref(a, dm->obj, dm->rule, dm->peer)) < 0)
			return NULL;
		node_seq_add(seq, m);
	}
	return seq;
}

/* ClusterNetworkPolicy: two policies of one tier and priority that decide differently */
static int
ambiguity(struct arena *a, struct node *warnings, const struct reach_dirsum *d, const char *dir)
{
	const struct node *x = d->ambiguous[0], *y = d->ambiguous[1];
	const struct node *spec = node_map_get(x, "spec");

	if (!x)
		return 0;
	return seq_str(a, warnings, arena_sprintf(a, "ClusterNetworkPolicy %s and %s (%s tier, priority %s) "
						  "decide some %s connections differently and the API leaves "
						  "their order undefined: this answer takes name order",
						  mget(x, "name") ? mget(x, "name") : "?",
						  mget(y, "name") ? mget(y, "name") : "?",
						  sval(node_map_get(spec, "tier")) ? sval(node_map_get(spec, "tier")) : "?",
						  sval(node_map_get(spec, "priority")) ? sval(node_map_get(spec, "priority")) : "?",
						  dir));
}

static const char *
guard_limits(const char *enf)
{
	if (strcmp(enf, "cilium") == 0)
		return "deny rules take no toFQDNs: a second policy can widen an allowlist to other "
		       "public addresses, or open port 53 without DNS rules (names then resolve "
		       "freely); ingress from other cluster Pods is left to the per-agent policy";
	if (strcmp(enf, "clusternetworkpolicy") == 0)
		return "ingress from outside the cluster is left to the NetworkPolicy; DNS is passed "
		       "to the NetworkPolicy tier; an Admin-tier policy with a priority below 100 "
		       "comes first";
	return "no guard: another NetworkPolicy that selects the Pod, a deleted policy or a "
	       "changed label widens the agent (enforcement: cilium or clusternetworkpolicy "
	       "holds a fence)";
}

static struct node *
agent_tree(struct explain *e, struct arena *a, const struct explain_agent *ag)
{
	struct reach_objs o = { e->objs, e->nobjs };
	struct reach_summary s;
	struct reach_pod pod;
	struct reach_ports open_ports = { NULL, 0 };
	struct node *m = node_new_map(a), *eg = node_new_map(a), *in = node_new_map(a),
		    *dns = node_new_map(a), *servers = node_new_seq(a), *pods = node_new_seq(a),
		    *sources = node_new_seq(a), *warnings = node_new_seq(a), *guard = node_new_map(a),
		    *gobjs = node_new_seq(a), *domains = node_new_seq(a), *names, *fam, *ps;
	const struct node *podobj = NULL, *egw = NULL;
	const char *lim;
	char *t;

	memset(&s, 0, sizeof(s));
	NN(m && eg && in && dns && servers && pods && sources && warnings && guard && gobjs && domains);
	for (size_t i = ag->first; i < ag->first + ag->n; i++) {
		if (kind_is(e->objs[i], "Pod"))
			podobj = e->objs[i];
		if (kind_is(e->objs[i], "CiliumEgressGatewayPolicy"))
			egw = e->objs[i];
	}
	memset(&pod, 0, sizeof(pod));
	pod.ns = ag->ns;
	pod.labels = node_map_get(node_map_get(podobj, "metadata"), "labels");
	TRY(reach_summarize(&o, &pod, &s));

	TRY(node_map_put(a, m, "namespace", node_new_str(a, ag->ns)));
	TRY(node_map_put(a, m, "name", node_new_str(a, ag->name)));
	TRY(node_map_put(a, m, "mode", node_new_str(a, spec_mode_name((enum spec_mode)ag->mode))));

	/* egress: DNS servers are the peers open on DNS ports only */
	for (size_t i = 0; i < s.egress.nsels; i++) {
		const struct reach_sel *x = &s.egress.sels[i];

		if (x->field && strcmp(x->field, "names") == 0) {   /* Cilium toFQDNs */
			TRY(sel_item(a, domains, x, REACH_EGRESS));
			TRY(reach_ports_union(&open_ports, &x->ports));
		} else if (x->deny) {
			TRY(sel_item(a, pods, x, REACH_EGRESS));
		} else if (ports_dns_only(&x->ports)) {
			TRY(sel_item(a, servers, x, REACH_EGRESS));
		} else {
			TRY(sel_item(a, pods, x, REACH_EGRESS));
			TRY(reach_ports_union(&open_ports, &x->ports));
		}
	}
	for (int f = 0; f < 2; f++) {
		const struct reach_range *r = f ? s.egress.v6 : s.egress.v4;
		size_t n = f ? s.egress.nv6 : s.egress.nv4;

		for (size_t i = 0; i < n; i++)
			if (dns_range(&r[i])) {
				struct node *it = node_new_map(a), *rp = ports_seq(a, &r[i].ports);
				char c[CIDR_STRLEN];

				NN(it && rp);
				cidr_format(&r[i].c, c, 0);
				TRY(node_map_put(a, it, "peer", node_new_strf(a, "%s", c)));
				TRY(node_map_put(a, it, "ports", rp));
				node_seq_add(servers, it);
			}
	}
	TRY(node_map_put(a, dns, "servers", servers));
	NN(names = node_new_seq(a));
	for (size_t i = 0; s.egress.cilium && !s.egress.dns_any && i < s.egress.ndns; i++) {
		const char *nm = sval(node_map_get(s.egress.dns[i], "matchName"));

		nm = nm ? nm : sval(node_map_get(s.egress.dns[i], "matchPattern"));
		if (nm && !seq_has(names, nm))
			TRY(seq_str(a, names, nm));
	}
	TRY(node_map_put(a, dns, "names", names));
	NN(t = items_line(a, servers, "peer"));
	if (!servers->count)
		t = "none";
	else if (!s.egress.cilium)
		NN(t = arena_sprintf(a, "%s; names: any (%s does not filter DNS)", t,
				     s.egress.tiered ? "ClusterNetworkPolicy" : "NetworkPolicy"));
	else if (s.egress.dns_any)
		NN(t = arena_sprintf(a, "%s; names: any (no DNS rule filters them)", t));
	else {
		char *nl = list_line(a, names);

		NN(nl);
		NN(t = arena_sprintf(a, "%s; names: %s", t, nl));
	}
	TRY(node_map_put(a, dns, "summary", node_new_str(a, t)));
	if (s.egress.cilium) {
		TRY(node_map_put(a, dns, "anyName", node_new_bool(a, s.egress.dns_any)));
		TRY(node_map_put(a, dns, "domains", domains));
		NN(t = items_line(a, domains, "peer"));
		TRY(node_map_put(a, dns, "domainsSummary", node_new_str(a, *t ? t : "none")));
	}

	TRY(node_map_put(a, eg, "isolated", node_new_bool(a, s.egress.isolated)));
	if (s.egress.cilium)
		TRY(node_map_put(a, eg, "addresses", node_new_lit(a, "world")));
	if (!s.egress.isolated)
		TRY(seq_str(a, warnings, "no policy isolates the Pod's egress: it can reach every address"));
	TRY(node_map_put(a, eg, "dns", dns));
	NN(fam = family_tree(a, CIDR_V4, s.egress.v4, s.egress.nv4, warnings, &open_ports));
	TRY(node_map_put(a, eg, "ipv4", fam));
	NN(fam = family_tree(a, CIDR_V6, s.egress.v6, s.egress.nv6, warnings, &open_ports));
	TRY(node_map_put(a, eg, "ipv6", fam));
	TRY(node_map_put(a, eg, "pods", pods));
	NN(ps = ports_seq(a, &open_ports));
	TRY(node_map_put(a, eg, "ports", ps));
	if (s.egress.tiered)   /* ClusterNetworkPolicy */
		TRY(node_map_put(a, eg, "domains", domains_seq(a, &s.egress)));
	TRY(node_map_put(a, m, "egress", eg));

	/* ingress: selector sources, then address sources */
	TRY(node_map_put(a, in, "isolated", node_new_bool(a, s.ingress.isolated)));
	if (s.ingress.cilium)
		TRY(node_map_put(a, in, "addresses", node_new_lit(a, "world")));
	if (!s.ingress.isolated)
		TRY(seq_str(a, warnings, "no policy isolates the Pod's ingress: anything can connect to it"));
	for (size_t i = 0; i < s.ingress.nsels; i++)
		TRY(sel_item(a, sources, &s.ingress.sels[i], REACH_INGRESS));
	for (int f = 0; f < 2; f++) {
		const struct reach_range *r = f ? s.ingress.v6 : s.ingress.v4;
		size_t n = f ? s.ingress.nv6 : s.ingress.nv4;

		for (size_t i = 0; i < n; i++) {
			struct node *it = node_new_map(a), *rp = ports_seq(a, &r[i].ports);
			char c[CIDR_STRLEN];

			NN(it && rp);
			cidr_format(&r[i].c, c, 1);
			TRY(node_map_put(a, it, "peer", node_new_strf(a, "%s", c)));
			TRY(node_map_put(a, it, "ports", rp));
			node_seq_add(sources, it);
		}
	}
	TRY(node_map_put(a, in, "sources", sources));
	NN(t = items_line(a, sources, "peer"));
	if (!s.ingress.isolated)
		t = "anything (not isolated)";
	else if (!sources->count)
		t = "none";
	TRY(node_map_put(a, in, "summary", node_new_str(a, t)));
	TRY(node_map_put(a, m, "ingress", in));

	/* the static egress IP */
	if (egw) {
		const struct node *gw = node_map_get(node_map_get(egw, "spec"), "egressGateway");
		const struct node *nsel = node_map_get(gw, "nodeSelector");
		struct node *g = node_new_map(a);
		char *st;

		NN(g);
		NN(st = selector_text(a, nsel));
		TRY(node_map_put(a, g, "egressIP", node_new_str(a, sval(node_map_get(gw, "egressIP")) ?
							     sval(node_map_get(gw, "egressIP")) : "")));
		TRY(node_map_put(a, g, "nodeSelector", node_new_str(a, st)));
		TRY(node_map_put(a, g, "object", node_new_strf(a, "CiliumEgressGatewayPolicy/%s",
								mget(egw, "name") ? mget(egw, "name") : "")));
		TRY(node_map_put(a, m, "gateway", g));
	}

	/* the guard of the namespace */
	for (size_t i = 0; i < e->nguards; i++)
		if (strcmp(e->guards[i].ns, ag->ns) == 0)
			for (size_t j = e->guards[i].first; j < e->guards[i].first + e->guards[i].n; j++) {
				const char *k = sval(node_map_get(e->objs[j], "kind")), *nm = mget(e->objs[j], "name");

				if (kind_is(e->objs[j], "ServiceAccount"))
					continue;   /* the agents' identity, not a fence */
				TRY(seq_str(a, gobjs, arena_sprintf(a, "%s/%s", k ? k : "?", nm ? nm : "?")));
			}
	TRY(ambiguity(a, warnings, &s.egress, "egress"));   /* ClusterNetworkPolicy */
	TRY(ambiguity(a, warnings, &s.ingress, "ingress"));
	TRY(node_map_put(a, guard, "objects", gobjs));
	lim = guard_limits(e->enforcement);
	for (const struct node *g = gobjs->head; g; g = g->next)
		if (strncmp(g->str, "ValidatingAdmissionPolicy/", 26) == 0) {
			NN(lim = arena_sprintf(a, "%s; the admission policy leaves policy and label writes "
					       "in the namespace to its writers", lim));
			break;
		}
	TRY(node_map_put(a, guard, "cannotHold", node_new_str(a, lim)));
	TRY(node_map_put(a, m, "guard", guard));
	TRY(node_map_put(a, m, "warnings", warnings));
	free(open_ports.items);
	reach_summary_free(&s);
	return m;
oom:
	free(open_ports.items);
	reach_summary_free(&s);
	return NULL;
}

int
explain_build(struct explain *e, struct arena *a, struct node **out)
{
	struct node *root = node_new_map(a), *agents = node_new_seq(a), *it;

	NN(root && agents);
	TRY(node_map_put(a, root, "apiVersion", node_new_lit(a, "agentfence.dev/v1alpha1")));
	TRY(node_map_put(a, root, "kind", node_new_lit(a, "Explanation")));
	TRY(node_map_put(a, root, "enforcement", node_new_str(a, e->enforcement)));
	for (size_t i = 0; i < e->nagents; i++) {
		NN(it = agent_tree(e, a, &e->agents[i]));
		node_seq_add(agents, it);
	}
	TRY(node_map_put(a, root, "agents", agents));
	*out = root;
	return 0;
oom:
	return -1;
}

/* --- --at --- */

static const char *const why_names[] = { "not isolated", "rule", "denied", "no rule" };

int
explain_at(struct explain *e, struct arena *a, const struct cidr *addr, unsigned port,
	   struct node **out)
{
	struct reach_objs o = { e->objs, e->nobjs };
	struct node *root = node_new_map(a), *agents = node_new_seq(a);
	char at[CIDR_STRLEN];

	NN(root && agents);
	cidr_format(addr, at, 0);
	TRY(node_map_put(a, root, "apiVersion", node_new_lit(a, "agentfence.dev/v1alpha1")));
	TRY(node_map_put(a, root, "kind", node_new_lit(a, "Reachability")));
	TRY(node_map_put(a, root, "address", node_new_strf(a, "%s", at)));
	TRY(node_map_put(a, root, "port", node_new_int(a, (long)port)));
	for (size_t i = 0; i < e->nagents; i++) {
		const struct explain_agent *ag = &e->agents[i];
		struct node *m = node_new_map(a), *via = node_new_seq(a);
		struct reach_pod pod;
		const struct node *podobj = NULL;
		int any = 0;

		NN(m && via);
		for (size_t j = ag->first; j < ag->first + ag->n; j++)
			if (kind_is(e->objs[j], "Pod"))
				podobj = e->objs[j];
		memset(&pod, 0, sizeof(pod));
		pod.ns = ag->ns;
		pod.labels = node_map_get(node_map_get(podobj, "metadata"), "labels");
		TRY(node_map_put(a, m, "namespace", node_new_str(a, ag->ns)));
		TRY(node_map_put(a, m, "name", node_new_str(a, ag->name)));
		for (unsigned pr = 0; pr < REACH_NPROTO; pr++) {
			struct reach_query q;
			struct reach_verdict v;
			struct reach_ports open = { NULL, 0 };
			struct reach_summary s;

			memset(&q, 0, sizeof(q));
			q.dir = REACH_EGRESS;
			q.addr = *addr;
			q.proto = (enum reach_proto)pr;
			if (port) {
				q.port = port;
			} else {
				/* any port: the first open one of this protocol, from the summary */
				const struct reach_range *r;
				size_t n;

				TRY(reach_summarize(&o, &pod, &s));
				r = addr->family == CIDR_V4 ? s.egress.v4 : s.egress.v6;
				n = addr->family == CIDR_V4 ? s.egress.nv4 : s.egress.nv6;
				q.port = 0;
				for (size_t k = 0; k < n; k++)
					if (cidr_contains(&r[k].c, addr))
						for (size_t x = 0; x < r[k].ports.n; x++)
							if (r[k].ports.items[x].proto == pr) {
								struct reach_port p = r[k].ports.items[x];

								if (reach_ports_union(&open, &(struct reach_ports){ &p, 1 }) < 0) {
									reach_summary_free(&s);
									free(open.items);
									goto oom;
								}
							}
				if (!s.egress.isolated) {
					free(open.items);
					open.items = NULL;
					open.n = 0;
					q.port = 1;
				}
				reach_summary_free(&s);
				if (open.n)
					q.port = open.items[0].lo;
				if (!q.port) {
					free(open.items);
					continue;
				}
			}
			if (reach_query(&o, &pod, &q, &v) < 0) {
				free(open.items);
				goto oom;
			}
			if (v.allowed) {
				struct node *w = node_new_map(a), *ps = NULL;

				if (port || !open.n) {
					struct reach_port p = { (unsigned char)pr, (unsigned short)q.port,
								(unsigned short)q.port };

					if (!port)
						p.lo = 1, p.hi = 65535;
					ps = ports_seq(a, &(struct reach_ports){ &p, 1 });
				} else {
					ps = ports_seq(a, &open);
				}
				free(open.items);
				NN(w && ps);
				TRY(node_map_put(a, w, "ports", ps));
				TRY(node_map_put(a, w, "why", node_new_str(a, why_names[v.why])));
				if (v.obj) {
					struct node *r = rule_ref(a, v.obj, v.rule, v.peer);

					NN(r);
					TRY(cilium_section(a, r, v.obj, v.specs, v.deny, REACH_EGRESS));
					TRY(node_map_put(a, w, "rule", r));
				}
				node_seq_add(via, w);
				any = 1;
			} else {
				free(open.items);
			}
		}
		TRY(node_map_put(a, m, "reachable", node_new_bool(a, any)));
		TRY(node_map_put(a, m, "via", via));
		node_seq_add(agents, m);
	}
	TRY(node_map_put(a, root, "agents", agents));
	*out = root;
	return 0;
oom:
	return -1;
}

/* --- the table --- */

static void
row(struct buf *b, const char *label, const char *text)
{
	buf_printf(b, "  %-11s %s\n", label, text && *text ? text : "none");
}

static const char *
sub(const struct node *n, const char *k1, const char *k2)
{
	const struct node *x = node_map_get(n, k1);

	return sval(k2 ? node_map_get(x, k2) : x);
}

static void
table_at(struct buf *b, const struct node *tree, int colour)
{
	const struct node *agents = node_map_get(tree, "agents");
	const char *port = sub(tree, "port", NULL);

	buf_printf(b, "%s%s%s:\n", sub(tree, "address", NULL),
		   port && strcmp(port, "0") ? ":" : "", port && strcmp(port, "0") ? port : "");
	for (const struct node *ag = agents ? agents->head : NULL; ag; ag = ag->next) {
		const struct node *via = node_map_get(ag, "via");

		buf_printf(b, "  %s%s/%s%s ", colour ? "\033[1m" : "", sub(ag, "namespace", NULL),
			   sub(ag, "name", NULL), colour ? "\033[0m" : "");
		if (!via || !via->count) {
			buf_puts(b, "cannot reach it\n");
			continue;
		}
		buf_puts(b, "can reach it:");
		for (const struct node *w = via->head; w; w = w->next) {
			const struct node *ps = node_map_get(w, "ports"), *r = node_map_get(w, "rule");

			buf_puts(b, "\n      ");
			for (const struct node *p = ps ? ps->head : NULL; p; p = p->next)
				buf_printf(b, "%s%s", p == ps->head ? "" : ", ", p->str);
			if (r)
				buf_printf(b, " by %s %s%s%s %s rule %s", sub(r, "kind", NULL),
					   sub(r, "namespace", NULL), *sub(r, "namespace", NULL) ? "/" : "",
					   sub(r, "name", NULL),
					   sub(r, "section", NULL) ? sub(r, "section", NULL) : "egress",
					   sub(r, "rule", NULL));
			else
				buf_printf(b, " (%s)", sub(w, "why", NULL));
		}
		buf_putc(b, '\n');
	}
}

void
explain_table(struct buf *b, const struct node *tree, int colour)
{
	const struct node *agents = node_map_get(tree, "agents");

	if (sval(node_map_get(tree, "kind")) && strcmp(sval(node_map_get(tree, "kind")), "Reachability") == 0) {
		table_at(b, tree, colour);
		return;
	}
	for (const struct node *ag = agents ? agents->head : NULL; ag; ag = ag->next) {
		const struct node *eg = node_map_get(ag, "egress"), *w = node_map_get(ag, "warnings");
		const struct node *ps = node_map_get(eg, "ports"), *pods = node_map_get(eg, "pods");
		const struct node *gw = node_map_get(ag, "gateway"), *guard = node_map_get(ag, "guard");
		const struct node *gobjs = node_map_get(guard, "objects"), *dms;

		if (ag != agents->head)
			buf_putc(b, '\n');
		buf_printf(b, "%s%s/%s%s (%s)\n", colour ? "\033[1m" : "", sub(ag, "namespace", NULL),
			   sub(ag, "name", NULL), colour ? "\033[0m" : "", sub(ag, "mode", NULL));
		row(b, "DNS", sub(node_map_get(eg, "dns"), "summary", NULL));
		if (sub(node_map_get(eg, "dns"), "domainsSummary", NULL))   /* Cilium */
			row(b, "names", sub(node_map_get(eg, "dns"), "domainsSummary", NULL));
		row(b, "IPv4", sub(eg, "ipv4", "summary"));
		row(b, "IPv6", sub(eg, "ipv6", "summary"));
		buf_printf(b, "  %-11s ", "ports");
		if (!ps || !ps->count)
			buf_puts(b, "none");
		for (const struct node *p = ps ? ps->head : NULL; p; p = p->next)
			buf_printf(b, "%s%s", p == ps->head ? "" : ", ", p->str);
		buf_putc(b, '\n');
		if (pods && pods->count) {
			for (const struct node *p = pods->head; p; p = p->next) {
				const struct node *pp = node_map_get(p, "ports");

				buf_printf(b, "  %-11s %s (", p == pods->head ? "pods" : "", sub(p, "peer", NULL));
				for (const struct node *x = pp ? pp->head : NULL; x; x = x->next)
					buf_printf(b, "%s%s", x == pp->head ? "" : ", ", x->str);
				buf_puts(b, ")\n");
			}
		}
		if ((dms = node_map_get(eg, "domains")) && dms->count) {   /* ClusterNetworkPolicy */
			buf_printf(b, "  %-11s ", "names");
			for (const struct node *d = dms->head; d; d = d->next) {
				const struct node *pp = node_map_get(d, "ports");

				buf_printf(b, "%s%s (", d == dms->head ? "" : "; ", sub(d, "name", NULL));
				for (const struct node *x = pp ? pp->head : NULL; x; x = x->next)
					buf_printf(b, "%s%s", x == pp->head ? "" : ", ", x->str);
				buf_putc(b, ')');
			}
			buf_putc(b, '\n');
		}
		row(b, "ingress", sub(node_map_get(ag, "ingress"), "summary", NULL));
		if (gw)
			buf_printf(b, "  %-11s %s via nodes %s (%s)\n", "egress IP", sub(gw, "egressIP", NULL),
				   sub(gw, "nodeSelector", NULL), sub(gw, "object", NULL));
		buf_printf(b, "  %-11s ", "guard");
		if (!gobjs || !gobjs->count)
			buf_puts(b, "none");
		for (const struct node *g = gobjs ? gobjs->head : NULL; g; g = g->next)
			buf_printf(b, "%s%s", g == gobjs->head ? "" : ", ", g->str);
		buf_putc(b, '\n');
		row(b, "cannot hold", sub(guard, "cannotHold", NULL));
		for (const struct node *x = w ? w->head : NULL; x; x = x->next)
			buf_printf(b, "  %s%-11s%s %s\n", colour ? "\033[33m" : "",
				   x == w->head ? "warning" : "", colour ? "\033[0m" : "", x->str);
	}
}
