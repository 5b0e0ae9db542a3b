/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reach_cnp: ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2,
 * network-policy-api v0.2.0) with NetworkPolicy, in tiers (the semantics
 * of tests/tools/cnp.py): Admin, then NetworkPolicy, then Baseline, then
 * the default (allow).
 *
 * Every answer is one walk over a set U of undecided ports, for one remote
 * end: in a tier, the policies that select the Pod and have rules for the
 * direction go by ascending priority (then name), rules in order; a rule
 * whose peer matches takes its ports that are still in U: Accept allows
 * them, Deny drops them, Pass hands them to the NetworkPolicy tier. What
 * the Admin tier leaves or passes, the NetworkPolicy tier decides when one
 * isolates the Pod (the union of its allows, reach.c), else Baseline does
 * (a Pass there reaches the default), and the rest is allowed.
 *
 * A remote end is an address (the summary's intervals, queries), a Pod
 * (queries), a DNS name, or a rule's peer taken as a set of Pods or Nodes
 * (the summary's selector peers): an earlier rule matches such a set when
 * its peer selects every Pod (an empty selector) or the same selectors;
 * networks rules, which match Pod addresses too, cannot be applied to it
 * (the address ranges show them).
 *
 * Policies of one tier with the same priority have no defined order: when
 * two of them decide some port differently the walk takes name order and
 * records both (reach_verdict.ambiguous, reach_dirsum.ambiguous).
 *
 * Not modelled (reach_cnp_unsupported names the object): another apiVersion,
 * a tier other than Admin and Baseline, a priority outside 0..1000, a
 * subject that sets neither namespaces nor pods, an action other than
 * Accept, Deny and Pass, domainNames outside an Accept rule or with a '*'
 * anywhere but a leading "*.", and a ClusterNetworkPolicy beside a Cilium
 * policy. A peer that sets no field known here fails closed as cnp.py
 * says: it matches nothing in an Accept rule and makes a Deny or Pass rule
 * "Deny all".
 */
#include "reach.h"
#include "reach_int.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define CNP_API "policy.networking.k8s.io/v1alpha2"
#define NS_NAME_LABEL "kubernetes.io/metadata.name"

enum act { ACT_ACCEPT, ACT_DENY, ACT_PASS, NACT };
enum tier { TIER_ADMIN, TIER_BASELINE, NTIER };

/* an absent namespaceSelector or podSelector of a pods peer: every one */
static const struct node empty_sel = { .kind = NODE_MAP };

static int
present(const struct node *n)
{
	return n && !(n->kind == NODE_SCALAR && n->type == NT_NULL);
}

int
reach_cnp_is(const struct node *obj)
{
	return reach_str_is(node_map_get(obj, "kind"), "ClusterNetworkPolicy") &&
	       reach_str_is(node_map_get(obj, "apiVersion"), CNP_API);
}

static int
is_cilium(const struct node *obj)
{
	return reach_str_is(node_map_get(obj, "kind"), "CiliumNetworkPolicy") ||
	       reach_str_is(node_map_get(obj, "kind"), "CiliumClusterwideNetworkPolicy");
}

static int
tier_of(const struct node *obj)
{
	const struct node *t = node_map_get(node_map_get(obj, "spec"), "tier");

	return reach_str_is(t, "Admin") ? TIER_ADMIN : reach_str_is(t, "Baseline") ? TIER_BASELINE : -1;
}

static long
priority_of(const struct node *obj)
{
	long p = reach_port_num(node_map_get(node_map_get(obj, "spec"), "priority"));

	return p > 1000 ? -1 : p;
}

static int
action_of(const struct node *rule)
{
	const struct node *a = node_map_get(rule, "action");

	return reach_str_is(a, "Accept") ? ACT_ACCEPT : reach_str_is(a, "Deny") ? ACT_DENY :
	       reach_str_is(a, "Pass") ? ACT_PASS : -1;
}

static const struct node *
rules_of(const struct node *obj, enum reach_dir dir)
{
	const struct node *r = node_map_get(node_map_get(obj, "spec"),
					    dir == REACH_EGRESS ? "egress" : "ingress");

	return r && r->kind == NODE_SEQ && r->count ? r : NULL;
}

static const char *
peers_key(enum reach_dir dir)
{
	return dir == REACH_EGRESS ? "to" : "from";
}

/* --- domain names --- */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* the length of a name without its trailing dot */
static size_t
name_len(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '.' ? n - 1 : n;
}

static int
same_text(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* One domainNames entry against a name (or another entry: "*.a.b" is
 * covered by "*.b"): case-insensitive, trailing dot ignored. */
static int
domain_matches(const char *entry, const char *name)
{
	size_t ne = name_len(entry), nn = name_len(name);

	if (ne == nn && same_text(entry, name, ne))
		return 1;
	if (ne >= 2 && entry[0] == '*' && entry[1] == '.')
		return nn > ne - 1 && same_text(entry + 1, name + nn - (ne - 1), ne - 1);
	return 0;
}

static int
domain_ok(const char *s)
{
	const char *star = s ? strchr(s, '*') : NULL;

	return s && *s && (!star || (star == s && s[1] == '.' && !strchr(s + 1, '*')));
}

/* --- what is modelled --- */

static int
subject_ok(const struct node *obj)
{
	const struct node *subj = node_map_get(node_map_get(obj, "spec"), "subject");

	return present(node_map_get(subj, "namespaces")) || present(node_map_get(subj, "pods"));
}

static int
rules_ok(const struct node *obj, enum reach_dir dir)
{
	const struct node *rules = node_map_get(node_map_get(obj, "spec"),
						dir == REACH_EGRESS ? "egress" : "ingress");

	if (!present(rules))
		return 1;
	if (rules->kind != NODE_SEQ)
		return 0;
	for (const struct node *r = rules->head; r; r = r->next) {
		const struct node *peers = node_map_get(r, peers_key(dir));
		int act = action_of(r);

		if (act < 0)
			return 0;
		if (!present(peers))
			continue;
		if (peers->kind != NODE_SEQ)
			return 0;
		for (const struct node *p = peers->head; p; p = p->next) {
			const struct node *dn = node_map_get(p, "domainNames");

			if (!present(dn))
				continue;
			if (act != ACT_ACCEPT || dn->kind != NODE_SEQ)
				return 0;
			for (const struct node *d = dn->head; d; d = d->next)
				if (!domain_ok(reach_str(d)))
					return 0;
		}
	}
	return 1;
}

int
reach_cnp_present(const struct reach_objs *o)
{
	int cnp = 0;

	for (size_t i = 0; i < o->n; i++) {
		if (is_cilium(o->objs[i]))
			return 0;
		cnp |= reach_cnp_is(o->objs[i]);
	}
	return cnp;
}

const struct node *
reach_cnp_unsupported(const struct reach_objs *o)
{
	int cilium = 0;

	for (size_t i = 0; i < o->n; i++)
		cilium |= is_cilium(o->objs[i]);
	for (size_t i = 0; i < o->n; i++) {
		const struct node *obj = o->objs[i];

		if (!reach_str_is(node_map_get(obj, "kind"), "ClusterNetworkPolicy"))
			continue;
		if (!reach_cnp_is(obj) || cilium || tier_of(obj) < 0 || priority_of(obj) < 0 ||
		    !subject_ok(obj) || !rules_ok(obj, REACH_EGRESS) || !rules_ok(obj, REACH_INGRESS))
			return obj;
	}
	return NULL;
}

static int
subject_selects(const struct node *obj, const struct reach_pod *p)
{
	const struct node *subj = node_map_get(node_map_get(obj, "spec"), "subject");
	const struct node *nss = node_map_get(subj, "namespaces"), *pods = node_map_get(subj, "pods");

	if (present(nss))
		return reach_selector_matches(nss, p, 1);
	if (present(pods))
		return reach_selector_matches(node_map_get(pods, "namespaceSelector"), p, 1) &&
		       reach_selector_matches(node_map_get(pods, "podSelector"), p, 0);
	return 0;
}

int
reach_cnp_selects(const struct node *obj, const struct reach_pod *p)
{
	return reach_cnp_is(obj) && tier_of(obj) >= 0 && subject_selects(obj, p) &&
	       (rules_of(obj, REACH_EGRESS) || rules_of(obj, REACH_INGRESS));
}

/* --- selectors as sets --- */

static int
node_equal(const struct node *a, const struct node *b)
{
	const struct node *x, *y;

	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->count != b->count)
		return 0;
	if (a->kind == NODE_SCALAR)
		return a->str && b->str && strcmp(a->str, b->str) == 0;
	for (x = a->head, y = b->head; x && y; x = x->next, y = y->next)
		if (!node_equal(x, y) || !node_equal(x->val, y->val))
			return 0;
	return !x && !y;
}

/* A selector that selects everything: absent, or no labels and no expressions. */
static int
sel_empty(const struct node *s)
{
	const struct node *ml = node_map_get(s, "matchLabels"), *me = node_map_get(s, "matchExpressions");

	return (!ml || ml->kind != NODE_MAP || !ml->count) && (!me || me->kind != NODE_SEQ || !me->count);
}

/* s selects exactly the namespace ns by its name label */
static int
sel_names_ns(const struct node *s, const char *ns)
{
	const struct node *ml = node_map_get(s, "matchLabels"), *me = node_map_get(s, "matchExpressions");

	return ns && ml && ml->kind == NODE_MAP && ml->count == 1 && (!me || !me->count) &&
	       reach_str_is(node_map_get(ml, NS_NAME_LABEL), ns);
}

/* The namespace selector x (NULL: the namespace x_ns) holds every namespace of the peer s. */
static int
ns_covers(const struct node *x, const char *x_ns, const struct reach_sel *s)
{
	const char *s_ns = reach_meta(s->obj, "namespace");

	if (s->node_sel)
		return 0;
	if (!x)
		return s->ns_sel ? sel_names_ns(s->ns_sel, x_ns) : s_ns && x_ns && strcmp(s_ns, x_ns) == 0;
	if (sel_empty(x))
		return 1;
	if (s->ns_sel)
		return node_equal(x, s->ns_sel);
	return sel_names_ns(x, s_ns);
}

static int
pod_covers(const struct node *x, const struct reach_sel *s)
{
	return !s->node_sel && (sel_empty(x) || (s->pod_sel && node_equal(x, s->pod_sel)));
}

/* --- one remote end --- */

struct remote {
	const struct cidr *addr;        /* or NULL */
	const struct reach_pod *pod;    /* a known Pod, or NULL */
	const struct reach_sel *sel;    /* a peer taken as a set, or NULL */
	const char *name;               /* a DNS name or a domainNames entry, or NULL */
};

/* 1 or 0; -1: a peer that sets no field known here */
static int
peer_matches(const struct node *pr, enum reach_dir dir, const struct remote *r)
{
	const struct node *x;

	if (present(x = node_map_get(pr, "namespaces"))) {
		if (r->pod)
			return reach_selector_matches(x, r->pod, 1);
		return r->sel && ns_covers(x, NULL, r->sel) && pod_covers(NULL, r->sel);
	}
	if (present(x = node_map_get(pr, "pods"))) {
		const struct node *nss = node_map_get(x, "namespaceSelector"), *ps = node_map_get(x, "podSelector");

		if (r->pod)
			return reach_selector_matches(nss, r->pod, 1) && reach_selector_matches(ps, r->pod, 0);
		return r->sel && ns_covers(present(nss) ? nss : &empty_sel, NULL, r->sel) && pod_covers(ps, r->sel);
	}
	if (dir == REACH_INGRESS)
		return -1;
	if (present(x = node_map_get(pr, "nodes")))
		return r->sel && r->sel->node_sel && (sel_empty(x) || node_equal(x, r->sel->node_sel));
	if (present(x = node_map_get(pr, "networks"))) {
		if (!r->addr || x->kind != NODE_SEQ)
			return 0;
		for (const struct node *c = x->head; c; c = c->next) {
			const char *s = reach_str(c);
			struct cidr n;

			if (s && cidr_parse(s, strlen(s), &n) == CIDR_OK && cidr_contains(&n, r->addr))
				return 1;
		}
		return 0;
	}
	if (present(x = node_map_get(pr, "domainNames"))) {
		if (!r->name || x->kind != NODE_SEQ)
			return 0;
		for (const struct node *d = x->head; d; d = d->next)
			if (reach_str(d) && domain_matches(reach_str(d), r->name))
				return 1;
		return 0;
	}
	return -1;
}

static int
all_ports(struct reach_ports *out)
{
	for (unsigned p = 0; p < REACH_NPROTO; p++)
		if (reach_ports_add(out, p, 1, 65535) < 0)
			return -1;
	return 0;
}

static int
add_clamped(struct reach_ports *out, unsigned proto, long lo, long hi)
{
	if (lo < 1)
		lo = 1;
	if (hi > 65535)
		hi = 65535;
	return lo <= hi ? reach_ports_add(out, proto, (unsigned)lo, (unsigned)hi) : 0;
}

/* A named port of a Pod, added to out. */
static int
named_ports(const struct reach_pod *p, const char *name, struct reach_ports *out)
{
	if (!p || !name || !p->ports || p->ports->kind != NODE_SEQ)
		return 0;
	for (const struct node *it = p->ports->head; it; it = it->next) {
		long n = reach_port_num(node_map_get(it, "containerPort"));
		int proto = reach_proto_of(it);

		if (reach_str_is(node_map_get(it, "name"), name) && proto >= 0 && n > 0 &&
		    reach_ports_add(out, (unsigned)proto, (unsigned)n, (unsigned)n) < 0)
			return -1;
	}
	return 0;
}

/* A rule's protocols as a set (named ports: the destination Pod's, known or not). */
static int
rule_ports(const struct node *protos, enum reach_dir dir, const struct reach_pod *subject,
	   const struct remote *r, struct reach_ports *out)
{
	static const char *const keys[REACH_NPROTO] = { "tcp", "udp", "sctp" };

	if (!protos || protos->kind != NODE_SEQ || !protos->count)
		return all_ports(out);
	for (const struct node *it = protos->head; it; it = it->next) {
		const struct node *nm = node_map_get(it, "destinationNamedPort");

		if (present(nm)) {
			if (named_ports(dir == REACH_EGRESS ? r->pod : subject, reach_str(nm), out) < 0)
				return -1;
			continue;
		}
		for (unsigned p = 0; p < REACH_NPROTO; p++) {
			const struct node *e = node_map_get(it, keys[p]), *dp, *num, *rng;

			if (!present(e))
				continue;
			dp = node_map_get(e, "destinationPort");
			if (!present(dp)) {
				if (reach_ports_add(out, p, 1, 65535) < 0)
					return -1;
				continue;
			}
			num = node_map_get(dp, "number");
			rng = node_map_get(dp, "range");
			if (present(num) && reach_port_num(num) >= 0 &&
			    add_clamped(out, p, reach_port_num(num), reach_port_num(num)) < 0)
				return -1;
			if (present(rng) && reach_port_num(node_map_get(rng, "start")) >= 0 &&
			    add_clamped(out, p, reach_port_num(node_map_get(rng, "start")),
					reach_port_num(node_map_get(rng, "end"))) < 0)
				return -1;
		}
	}
	reach_ports_normalize(out);
	return 0;
}

static int
ports_overlap(const struct reach_ports *a, const struct reach_ports *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (a->items[i].proto == b->items[j].proto && a->items[i].lo <= b->items[j].hi &&
			    b->items[j].lo <= a->items[i].hi)
				return 1;
	return 0;
}

static int
ports_copy(struct reach_ports *dst, const struct reach_ports *src)
{
	dst->n = 0;
	return reach_ports_union(dst, src);
}

/* --- the walk --- */

struct ref {
	const struct node *obj;
	int rule, peer, act;
};

struct walk {
	const struct reach_objs *o;
	const struct reach_pod *pod;
	enum reach_dir dir;
	const struct node **tier[NTIER];   /* the tier's policies for the Pod and dir, in order */
	size_t ntier[NTIER];
	int np_isolated;
	struct reach_dirsum np;            /* the NetworkPolicy tier, summarized (not for queries) */
	const char *name;                  /* the summary's intervals: a domainNames entry */
	const struct node *ambiguous[2];
};

static int
policy_cmp(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
	long px = priority_of(x), py = priority_of(y);
	const char *nx = reach_meta(x, "name"), *ny = reach_meta(y, "name");

	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(nx ? nx : "", ny ? ny : "");
}

static void
walk_free(struct walk *w)
{
	for (int t = 0; t < NTIER; t++)
		free(w->tier[t]);
	reach_dirsum_free(&w->np);
}

static int
walk_init(struct walk *w, const struct reach_objs *o, const struct reach_pod *pod, enum reach_dir dir)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->pod = pod;
	w->dir = dir;
	for (size_t i = 0; i < o->n; i++) {
		const struct node *obj = o->objs[i];
		const struct node **n;
		int t;

		if (reach_np_isolates(obj, pod, dir))
			w->np_isolated = 1;
		if (!reach_cnp_is(obj) || (t = tier_of(obj)) < 0 || !rules_of(obj, dir) || !subject_selects(obj, pod))
			continue;
		if (!(n = xreallocarray(w->tier[t], w->ntier[t] + 1, sizeof(struct node *))))
			return -1;
		w->tier[t] = n;
		n[w->ntier[t]++] = obj;
	}
	for (int t = 0; t < NTIER; t++)
		if (w->ntier[t])
			qsort(w->tier[t], w->ntier[t], sizeof(struct node *), policy_cmp);
	return 0;
}

/* One policy on the ports u: what each action takes (sets of its own), and
 * the first rule of each action that took something. */
static int
policy_walk(const struct walk *w, const struct node *obj, const struct remote *r,
	    const struct reach_ports *u, struct reach_ports take[NACT], struct ref refs[NACT])
{
	struct reach_ports left = { NULL, 0 }, p = { NULL, 0 };
	int ri = 0, rc = -1;

	if (ports_copy(&left, u) < 0)
		goto out;
	for (const struct node *rule = rules_of(obj, w->dir)->head; rule && left.n; rule = rule->next, ri++) {
		const struct node *peers = node_map_get(rule, peers_key(w->dir));
		int act = action_of(rule), hit = 0, pi = -1, i = 0;

		if (act < 0)
			continue;
		for (const struct node *pr = peers && peers->kind == NODE_SEQ ? peers->head : NULL; pr;
		     pr = pr->next, i++) {
			int m = peer_matches(pr, w->dir, r);

			if (m < 0 && act != ACT_ACCEPT) {   /* fail closed: "Deny all" */
				hit = 2;
				pi = i;
				break;
			}
			if (m > 0 && !hit) {
				hit = 1;
				pi = i;
			}
		}
		if (!hit)
			continue;
		p.n = 0;
		if (hit == 2) {
			act = ACT_DENY;
			if (all_ports(&p) < 0)
				goto out;
		} else if (rule_ports(node_map_get(rule, "protocols"), w->dir, w->pod, r, &p) < 0) {
			goto out;
		}
		if (reach_ports_intersect(&p, &left) < 0)
			goto out;
		if (!p.n)
			continue;
		if (reach_ports_union(&take[act], &p) < 0 || reach_ports_minus(&left, &p) < 0)
			goto out;
		if (!refs[act].obj) {
			refs[act].obj = obj;
			refs[act].rule = ri;
			refs[act].peer = hit == 2 ? -1 : pi;
			refs[act].act = act;
		}
	}
	rc = 0;
out:
	free(left.items);
	free(p.items);
	return rc;
}

static void
sets_free(struct reach_ports s[NACT])
{
	for (int a = 0; a < NACT; a++) {
		free(s[a].items);
		s[a].items = NULL;
		s[a].n = 0;
	}
}

/*
 * One tier on u: what it accepts is added to acc, what it passes to passed;
 * u keeps what it left undecided. dec: the first decision (for a query's
 * one port). Policies of one priority each walk the same u; their
 * decisions are taken in name order, a port two of them decide differently
 * makes the pair ambiguous.
 */
static int
tier_walk(struct walk *w, int t, const struct remote *r, struct reach_ports *u,
	  struct reach_ports *acc, struct reach_ports *passed, struct ref *dec)
{
	struct reach_ports grp[NACT], own[NACT], tmp = { NULL, 0 };
	int rc = -1;

	memset(grp, 0, sizeof(grp));
	memset(own, 0, sizeof(own));
	for (size_t i = 0; i < w->ntier[t] && u->n;) {
		long prio = priority_of(w->tier[t][i]);
		const struct node *first = NULL;

		for (; i < w->ntier[t] && priority_of(w->tier[t][i]) == prio; i++) {
			struct ref refs[NACT];
			int took = 0;

			memset(refs, 0, sizeof(refs));
			sets_free(own);
			if (policy_walk(w, w->tier[t][i], r, u, own, refs) < 0)
				goto out;
			for (int a = 0; a < NACT; a++)
				for (int b = 0; b < NACT; b++)
					if (a != b && !w->ambiguous[0] && first && ports_overlap(&own[a], &grp[b])) {
						w->ambiguous[0] = first;
						w->ambiguous[1] = w->tier[t][i];
					}
			for (int a = 0; a < NACT; a++) {
				if (ports_copy(&tmp, &own[a]) < 0)
					goto out;
				for (int b = 0; b < NACT; b++)
					if (reach_ports_minus(&tmp, &grp[b]) < 0)
						goto out;
				if (!tmp.n)
					continue;
				took = 1;
				if (dec && !dec->obj)
					*dec = refs[a];
				if (reach_ports_union(&grp[a], &tmp) < 0)
					goto out;
			}
			if (took && !first)
				first = w->tier[t][i];
		}
		if (reach_ports_union(acc, &grp[ACT_ACCEPT]) < 0 || reach_ports_union(passed, &grp[ACT_PASS]) < 0)
			goto out;
		for (int a = 0; a < NACT; a++)
			if (reach_ports_minus(u, &grp[a]) < 0)
				goto out;
		sets_free(grp);
	}
	rc = 0;
out:
	sets_free(grp);
	sets_free(own);
	free(tmp.items);
	return rc;
}

/* The NetworkPolicy tier's allows for r, from its summary. */
static int
np_allows(const struct walk *w, const struct remote *r, struct reach_ports *out)
{
	const struct reach_dirsum *d = &w->np;

	if (r->addr) {
		const struct reach_range *v = r->addr->family == CIDR_V4 ? d->v4 : d->v6;
		size_t n = r->addr->family == CIDR_V4 ? d->nv4 : d->nv6;

		for (size_t i = 0; i < n; i++)
			if (cidr_contains(&v[i].c, r->addr))
				return reach_ports_union(out, &v[i].ports);
		return 0;
	}
	if (!r->sel)
		return 0;
	for (size_t i = 0; i < d->nsels; i++) {
		const struct reach_sel *s = &d->sels[i];
		int hit;

		if (!s->ns_sel && !s->pod_sel)
			hit = 1;    /* a rule without peers */
		else
			hit = ns_covers(s->ns_sel, reach_meta(s->obj, "namespace"), r->sel) &&
			      pod_covers(s->pod_sel ? s->pod_sel : &empty_sel, r->sel);
		if (hit && reach_ports_union(out, &s->ports) < 0)
			return -1;
	}
	return 0;
}

/* The ports open to r, added to out (the summary). */
static int
walk_ports(struct walk *w, const struct remote *r, struct reach_ports *out)
{
	struct reach_ports u = { NULL, 0 }, passed = { NULL, 0 }, np = { NULL, 0 };
	int rc = -1;

	if (all_ports(&u) < 0 || tier_walk(w, TIER_ADMIN, r, &u, out, &passed, NULL) < 0 ||
	    reach_ports_union(&u, &passed) < 0)
		goto out;
	passed.n = 0;
	if (w->np_isolated) {
		if (np_allows(w, r, &np) < 0 || reach_ports_intersect(&u, &np) < 0 || reach_ports_union(out, &u) < 0)
			goto out;
	} else if (tier_walk(w, TIER_BASELINE, r, &u, out, &passed, NULL) < 0 ||
		   reach_ports_union(out, &passed) < 0 || reach_ports_union(out, &u) < 0) {
		goto out;
	}
	rc = 0;
out:
	free(u.items);
	free(passed.items);
	free(np.items);
	return rc;
}

/* --- queries --- */

static void
verdict_ref(struct reach_verdict *v, const struct ref *d, int allowed)
{
	v->allowed = allowed;
	v->why = allowed ? REACH_RULE : REACH_DENIED;
	v->obj = d->obj;
	v->rule = d->rule;
	v->peer = d->peer;
}

int
reach_cnp_query(const struct reach_objs *o, const struct reach_pod *pod,
		const struct reach_query *q, struct reach_verdict *v)
{
	struct reach_ports u = { NULL, 0 }, acc = { NULL, 0 }, passed = { NULL, 0 };
	struct remote r = { q->addr.family ? &q->addr : NULL, q->peer, NULL, q->name };
	struct walk w;
	struct ref dec;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->rule = v->peer = -1;
	memset(&dec, 0, sizeof(dec));
	if (walk_init(&w, o, pod, q->dir) < 0)
		goto out;
	v->npolicies = (int)(w.ntier[TIER_ADMIN] + w.ntier[TIER_BASELINE]);
	if (reach_ports_add(&u, q->proto, q->port, q->port) < 0 ||
	    tier_walk(&w, TIER_ADMIN, &r, &u, &acc, &passed, &dec) < 0)
		goto out;
	if (acc.n || (!u.n && !passed.n)) {
		verdict_ref(v, &dec, acc.n > 0);
	} else if (w.np_isolated) {
		int n = v->npolicies;

		if (reach_np_query(o, pod, q, v) < 0)
			goto out;
		v->npolicies += n;
	} else {
		memset(&dec, 0, sizeof(dec));
		u.n = acc.n = passed.n = 0;
		if (reach_ports_add(&u, q->proto, q->port, q->port) < 0 ||
		    tier_walk(&w, TIER_BASELINE, &r, &u, &acc, &passed, &dec) < 0)
			goto out;
		if (acc.n || (!u.n && !passed.n))
			verdict_ref(v, &dec, acc.n > 0);
		else
			v->allowed = 1, v->why = REACH_OPEN;
	}
	if (v->obj) {
		v->kind = reach_str(node_map_get(v->obj, "kind"));
		v->ns = reach_meta(v->obj, "namespace");
		v->name = reach_meta(v->obj, "name");
	}
	v->ambiguous[0] = w.ambiguous[0];
	v->ambiguous[1] = w.ambiguous[1];
	rc = 0;
out:
	walk_free(&w);
	free(u.items);
	free(acc.items);
	free(passed.items);
	return rc;
}

/* --- the summary --- */

static int
at_address(void *ctx, const struct cidr *a, struct reach_ports *out)
{
	struct walk *w = ctx;
	struct remote r = { a, NULL, NULL, w->name };

	return walk_ports(w, &r, out);
}

/* The boundaries of every networks prefix and of the NetworkPolicy tier's ranges. */
static int
cuts_of(const struct walk *w, int family, struct reach_cuts *k)
{
	const struct reach_range *v = family == CIDR_V4 ? w->np.v4 : w->np.v6;
	size_t n = family == CIDR_V4 ? w->np.nv4 : w->np.nv6;

	for (size_t i = 0; i < n; i++)
		if (reach_cut_add(k, reach_to_u128(&v[i].c)) < 0 ||
		    (reach_last_of(&v[i].c) != reach_top_of(family) && reach_cut_add(k, reach_last_of(&v[i].c) + 1) < 0))
			return -1;
	for (int t = 0; t < NTIER; t++)
		for (size_t i = 0; i < w->ntier[t]; i++)
			for (const struct node *rule = rules_of(w->tier[t][i], w->dir)->head; rule; rule = rule->next) {
				const struct node *peers = node_map_get(rule, peers_key(w->dir));

				for (const struct node *pr = peers && peers->kind == NODE_SEQ ? peers->head : NULL; pr;
				     pr = pr->next) {
					const struct node *nets = node_map_get(pr, "networks");

					for (const struct node *c = nets && nets->kind == NODE_SEQ ? nets->head : NULL; c;
					     c = c->next)
						if (reach_cut_prefix(k, reach_str(c), family) < 0)
							return -1;
				}
			}
	return 0;
}

static int
intervals(struct walk *w, int family, struct reach_range **v, size_t *n)
{
	struct reach_cuts k = { NULL, 0 };
	int rc = cuts_of(w, family, &k);

	if (rc == 0)
		rc = reach_intervals(&k, family, at_address, w, v, n);
	free(k.v);
	return rc;
}

/* A selector peer of an allowing rule, with the ports the walk leaves open to it. */
static int
sel_add(struct walk *w, struct reach_dirsum *d, const struct reach_sel *s)
{
	struct remote r = { NULL, NULL, s, NULL };
	struct reach_ports p = { NULL, 0 };
	struct reach_sel *n;

	/* the same Pods or Nodes: the same walk; the first rule (the earlier tier) keeps them */
	for (size_t i = 0; i < d->nsels; i++)
		if (node_equal(d->sels[i].ns_sel, s->ns_sel) && node_equal(d->sels[i].pod_sel, s->pod_sel) &&
		    node_equal(d->sels[i].node_sel, s->node_sel))
			return 0;
	if (walk_ports(w, &r, &p) < 0)
		goto oom;
	if (!p.n) {
		free(p.items);
		return 0;
	}
	if (!(n = xreallocarray(d->sels, d->nsels + 1, sizeof(struct reach_sel))))
		goto oom;
	d->sels = n;
	n[d->nsels] = *s;
	n[d->nsels++].ports = p;
	return 0;
oom:
	free(p.items);
	return -1;
}

/* The same Pods listed by an Admin Pass rule: the NetworkPolicy rule s allows them. */
static void
pass_credit(struct reach_dirsum *d, const struct reach_sel *s, enum reach_dir dir)
{
	for (size_t i = 0; i < d->nsels; i++) {
		struct reach_sel *x = &d->sels[i];
		const struct node *r = reach_cnp_is(x->obj) ? rules_of(x->obj, dir) : NULL;

		if (!r || x->node_sel || !node_equal(x->ns_sel, s->ns_sel) || !node_equal(x->pod_sel, s->pod_sel))
			continue;
		r = r->head;
		for (int k = 0; r && k < x->rule; k++)
			r = r->next;
		if (r && action_of(r) == ACT_PASS) {
			x->obj = s->obj;
			x->rule = s->rule;
			x->peer = s->peer;
		}
	}
}

/* The selector peers of a tier's Accept and Pass rules (a Pass hands them to the
 * NetworkPolicy tier, which may allow them). */
static int
tier_sels(struct walk *w, int t, struct reach_dirsum *d)
{
	for (size_t i = 0; i < w->ntier[t]; i++) {
		int ri = 0;

		for (const struct node *rule = rules_of(w->tier[t][i], w->dir)->head; rule; rule = rule->next, ri++) {
			const struct node *peers = node_map_get(rule, peers_key(w->dir));
			int pi = 0;

			if (action_of(rule) == ACT_DENY)
				continue;
			for (const struct node *pr = peers && peers->kind == NODE_SEQ ? peers->head : NULL; pr;
			     pr = pr->next, pi++) {
				const struct node *x;
				struct reach_sel s;

				memset(&s, 0, sizeof(s));
				s.obj = w->tier[t][i];
				s.rule = ri;
				s.peer = pi;
				if (present(x = node_map_get(pr, "namespaces"))) {
					s.ns_sel = x;
				} else if (present(x = node_map_get(pr, "pods"))) {
					s.ns_sel = present(node_map_get(x, "namespaceSelector")) ?
						   node_map_get(x, "namespaceSelector") : &empty_sel;
					s.pod_sel = present(node_map_get(x, "podSelector")) ?
						    node_map_get(x, "podSelector") : &empty_sel;
				} else if (w->dir == REACH_EGRESS && present(x = node_map_get(pr, "nodes"))) {
					s.node_sel = x;
				} else {
					continue;
				}
				if (sel_add(w, d, &s) < 0)
					return -1;
			}
		}
	}
	return 0;
}

/* Every domainNames entry of an Accept rule, once, with where the name may connect. */
static int
domains(struct walk *w, struct reach_dirsum *d)
{
	for (int t = 0; t < NTIER; t++)
		for (size_t i = 0; i < w->ntier[t]; i++) {
			int ri = 0;

			for (const struct node *rule = rules_of(w->tier[t][i], w->dir)->head; rule;
			     rule = rule->next, ri++) {
				const struct node *peers = node_map_get(rule, peers_key(w->dir));
				int pi = 0;

				if (action_of(rule) != ACT_ACCEPT)
					continue;
				for (const struct node *pr = peers && peers->kind == NODE_SEQ ? peers->head : NULL; pr;
				     pr = pr->next, pi++) {
					const struct node *dn = node_map_get(pr, "domainNames");

					for (const struct node *e = dn && dn->kind == NODE_SEQ ? dn->head : NULL; e;
					     e = e->next) {
						struct reach_domain *nd;
						size_t k;

						if (!reach_str(e))
							continue;
						for (k = 0; k < d->ndomains && strcmp(d->domains[k].name, e->str); k++)
							;
						if (k < d->ndomains)
							continue;
						if (!(nd = xreallocarray(d->domains, d->ndomains + 1, sizeof(*nd))))
							return -1;
						d->domains = nd;
						nd += d->ndomains++;
						memset(nd, 0, sizeof(*nd));
						nd->name = e->str;
						nd->obj = w->tier[t][i];
						nd->rule = ri;
						nd->peer = pi;
						w->name = e->str;
						if (intervals(w, CIDR_V4, &nd->v4, &nd->nv4) < 0 ||
						    intervals(w, CIDR_V6, &nd->v6, &nd->nv6) < 0) {
							w->name = NULL;
							return -1;
						}
						w->name = NULL;
					}
				}
			}
		}
	return 0;
}

static int
summarize_dir(const struct reach_objs *o, const struct reach_pod *pod, enum reach_dir dir,
	      struct reach_dirsum *d)
{
	struct walk w;
	int rc = -1;

	d->tiered = 1;
	if (walk_init(&w, o, pod, dir) < 0 || reach_np_summarize_dir(o, pod, dir, &w.np) < 0)
		goto out;
	d->isolated = w.np_isolated || w.ntier[TIER_ADMIN] || w.ntier[TIER_BASELINE];
	if (intervals(&w, CIDR_V4, &d->v4, &d->nv4) < 0 || intervals(&w, CIDR_V6, &d->v6, &d->nv6) < 0 ||
	    tier_sels(&w, TIER_ADMIN, d) < 0)
		goto out;
	for (size_t i = 0; i < w.np.nsels; i++) {
		struct reach_sel s = w.np.sels[i];

		s.ports.items = NULL;
		s.ports.n = 0;
		if (!s.ns_sel && !s.pod_sel)
			s.ns_sel = s.pod_sel = &empty_sel;   /* every Pod */
		pass_credit(d, &s, dir);
		if (sel_add(&w, d, &s) < 0)
			goto out;
		/* the NetworkPolicy's own ports bound what it allows */
		if (d->nsels && d->sels[d->nsels - 1].obj == w.np.sels[i].obj &&
		    d->sels[d->nsels - 1].rule == w.np.sels[i].rule && d->sels[d->nsels - 1].peer == w.np.sels[i].peer) {
			if (!w.np.sels[i].ns_sel && !w.np.sels[i].pod_sel)
				d->sels[d->nsels - 1].ns_sel = d->sels[d->nsels - 1].pod_sel = NULL;
			if (reach_ports_intersect(&d->sels[d->nsels - 1].ports, &w.np.sels[i].ports) < 0)
				goto out;
		}
	}
	if (tier_sels(&w, TIER_BASELINE, d) < 0 || (dir == REACH_EGRESS && domains(&w, d) < 0))
		goto out;
	d->ambiguous[0] = w.ambiguous[0];
	d->ambiguous[1] = w.ambiguous[1];
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

int
reach_cnp_summarize(const struct reach_objs *o, const struct reach_pod *pod, struct reach_summary *out)
{
	return summarize_dir(o, pod, REACH_EGRESS, &out->egress) < 0 ||
	       summarize_dir(o, pod, REACH_INGRESS, &out->ingress) < 0 ? -1 : 0;
}
