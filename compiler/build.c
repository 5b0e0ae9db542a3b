/* SPDX-License-Identifier: Apache-2.0 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admission.h"

void
build_netpol_name(char *out, const struct spec_agent *ag)
{
	snprintf(out, 256, "isolate-%s", ag->name);
}

void
build_cnp_name(char *out, const struct spec_agent *ag)
{
	snprintf(out, 256, "isolate-%s.%s", ag->ns, ag->name);
}

void
build_egw_name(char *out, const struct spec_agent *ag)
{
	/* cluster-scoped: namespace and name are DNS labels (no dots), so
	 * "<ns>.<name>" is unique across namespaces */
	snprintf(out, 256, "egress-%s.%s", ag->ns, ag->name);
}

#define TRY(x) do { if ((x) < 0) return -1; } while (0)
#define NN(x) do { if (!(x)) return -1; } while (0)

/* s may be NULL (a failed arena_strndup): then so is the node, and the
 * node_map_set() it goes to fails. */
static struct node *
str(struct arena *a, const char *s)
{
	return s ? node_new_str(a, s) : NULL;
}

static struct node *
cidr_str(struct arena *a, const struct cidr *c)
{
	char buf[CIDR_STRLEN];

	cidr_format(c, buf, 1);
	return str(a, arena_strndup(a, buf, strlen(buf)));
}

static struct node *
match_labels(struct arena *a, const struct kv *kv, size_t n)
{
	struct node *sel = node_new_map(a), *ml;

	if (!sel)
		return NULL;
	if (!n)
		return sel;     /* {}: every Pod (of a pinned namespace) */
	ml = node_map_sub_put(a, sel, "matchLabels");
	if (!ml)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (node_map_set(a, ml, kv[i].k, str(a, kv[i].v)) < 0)
			return NULL;
	return sel;
}

/* A peer: Pods with `labels` in namespace `ns`, pinned by its name label
 * (a bare podSelector would match a look-alike in any namespace). */
static struct node *
ns_peer(struct arena *a, const char *ns, const struct kv *labels, size_t n)
{
	struct kv kv = { "kubernetes.io/metadata.name", ns };
	struct node *peer = node_new_map(a);

	if (!peer || node_map_put(a, peer, "namespaceSelector", match_labels(a, &kv, 1)) < 0 ||
	    node_map_put(a, peer, "podSelector", match_labels(a, labels, n)) < 0)
		return NULL;
	return peer;
}

static int
set_metadata(struct arena *a, struct node *obj, const struct spec_agent *ag,
	     const char *name, int namespaced, const char *wave)
{
	struct node *meta = node_map_sub_put(a, obj, "metadata"), *labels, *ann;

	NN(meta);
	/* name and namespace first, as kubectl writes them */
	{
		struct node *m2 = node_new_map(a);

		NN(m2);
		TRY(node_map_put(a, m2, "name", str(a, name)));
		if (namespaced)
			TRY(node_map_put(a, m2, "namespace", str(a, ag->ns)));
		for (struct node *k = meta->head; k; k = k->next)
			if (strcmp(k->str, "name") && strcmp(k->str, "namespace"))
				TRY(node_map_set(a, m2, k->str, k->val));
		meta = m2;
		TRY(node_map_put(a, obj, "metadata", meta));
	}
	NN(labels = node_map_sub_put(a, meta, "labels"));
	TRY(node_map_put(a, labels, LABEL_MANAGED, node_new_lit(a, MANAGED_BY)));
	TRY(node_map_put(a, labels, LABEL_JOB, str(a, ag->name)));
	if (!namespaced)
		TRY(node_map_put(a, labels, LABEL_NAMESPACE, str(a, ag->ns)));
	NN(ann = node_map_sub_put(a, meta, "annotations"));
	TRY(node_map_put(a, ann, "argocd.argoproj.io/sync-wave", str(a, wave)));
	return 0;
}

static struct node *
port_list(struct arena *a, const char *proto, const uint16_t *ports, size_t n)
{
	struct node *seq = node_new_seq(a), *pm;

	if (!seq)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(pm = node_new_map(a)) || node_map_put(a, pm, "protocol", str(a, proto)) < 0 ||
		    node_map_put(a, pm, "port", node_new_int(a, ports[i])) < 0)
			return NULL;
		node_seq_add(seq, pm);
	}
	return seq;
}

static struct node *
ip_block(struct arena *a, const struct cidr *c, struct node *except)
{
	char buf[CIDR_STRLEN];
	struct node *peer = node_new_map(a), *ib;
	char *s;

	cidr_format(c, buf, 1);
	if (!peer || !(ib = node_map_sub_put(a, peer, "ipBlock")) ||
	    !(s = arena_strndup(a, buf, strlen(buf))) ||
	    node_map_put(a, ib, "cidr", str(a, s)) < 0)
		return NULL;
	if (except && except->count && node_map_put(a, ib, "except", except) < 0)
		return NULL;
	return peer;
}

/* ports: UDP then TCP, each port of `ports` */
static struct node *
udp_tcp_ports(struct arena *a, const uint16_t *ports, size_t n)
{
	struct node *udp = port_list(a, "UDP", ports, n), *tcp = port_list(a, "TCP", ports, n);

	if (!udp || !tcp)
		return NULL;
	for (struct node *it = tcp->head, *next; it; it = next) {
		next = it->next;
		node_seq_add(udp, it);
	}
	return udp;
}

static const uint16_t dns_port[] = { 53 };

/* 1 when the DNS Pods listen on 53 alone, as NodeLocal DNSCache does */
static int
dns_pods_on_53(const struct profile *p)
{
	return p->dns_nports == 1 && p->dns_ports[0] == 53;
}

/* The peers that serve DNS on port 53 beside the DNS Pods: NodeLocal
 * DNSCache, on the host (an address) or as Pods behind a Cilium Local
 * Redirect Policy. */
static int
add_nodelocal_peers(struct arena *a, struct node *to, const struct profile *p)
{
	struct node *peer;

	if (p->has_nodelocal) {
		NN(peer = ip_block(a, &p->nodelocal, NULL));
		node_seq_add(to, peer);
	}
	if (p->lrp_nlabels) {
		NN(peer = ns_peer(a, p->dns_namespace, p->lrp_labels, p->lrp_nlabels));
		node_seq_add(to, peer);
	}
	return 0;
}

/* DNS: the DNS Pods on their ports, NodeLocal DNSCache on 53 (one rule
 * when those are the same ports) */
static int
add_dns_rule(struct arena *a, struct node *egress, const struct profile *p)
{
	struct node *rule = node_new_map(a), *to, *peer;
	const int one = dns_pods_on_53(p);

	NN(rule);
	NN(to = node_new_seq(a));
	NN(peer = ns_peer(a, p->dns_namespace, p->dns_labels, p->dns_nlabels));
	node_seq_add(to, peer);
	if (one)
		TRY(add_nodelocal_peers(a, to, p));
	TRY(node_map_put(a, rule, "to", to));
	TRY(node_map_put(a, rule, "ports", udp_tcp_ports(a, p->dns_ports, p->dns_nports)));
	node_seq_add(egress, rule);
	if (!one && (p->has_nodelocal || p->lrp_nlabels)) {
		NN(rule = node_new_map(a));
		NN(to = node_new_seq(a));
		TRY(add_nodelocal_peers(a, to, p));
		TRY(node_map_put(a, rule, "to", to));
		TRY(node_map_put(a, rule, "ports", udp_tcp_ports(a, dns_port, 1)));
		node_seq_add(egress, rule);
	}
	return 0;
}

/*
 * The agent's intent, decided once for every backend.
 */

/* The public blocks the agent may reach (cidr minus except): all of the
 * profile's, but in gateway mode IPv4 alone (the gateway carries IPv4;
 * IPv6 would leave without the static IP). */
static size_t
public_blocks(const struct spec_agent *ag, const struct profile *p,
	      const struct profile_block **out)
{
	size_t n = 0;

	if (ag->mode != MODE_PUBLIC && ag->mode != MODE_GATEWAY)
		return 0;
	for (size_t i = 0; i < p->nblocks; i++)
		if (ag->mode != MODE_GATEWAY || p->blocks[i].cidr.family == CIDR_V4)
			out[n++] = &p->blocks[i];
	return n;
}

/* The allowlist's prefixes as the Pod reaches them: IPv4 entries directly
 * when the cluster has IPv4, and through their NAT64 image with nat64. */
static int
allowed_prefixes(const struct spec_agent *ag, const struct profile *p, struct arena *a,
		 struct cidr **out, size_t *n)
{
	size_t k = 0;

	*n = 0;
	if (ag->mode != MODE_ALLOWLIST || !ag->allow.n)
		return 0;
	NN(*out = arena_alloc(a, 2 * ag->allow.n * sizeof(**out)));
	for (size_t i = 0; i < ag->allow.n; i++)
		if (ag->allow.items[i].family != CIDR_V4 || p->ipv4)
			(*out)[k++] = ag->allow.items[i];
	if (p->nat64)
		for (size_t i = 0; i < ag->allow.n; i++)
			if (ag->allow.items[i].family == CIDR_V4)
				(*out)[k++] = cidr_nat64(&ag->allow.items[i]);
	*n = k;
	return 0;
}

/* Whether the agent may use DNS, and (Cilium) which names it may ask. */
static int
dns_open(const struct spec_agent *ag, const struct profile *p)
{
	if (ag->mode == MODE_NONE || !ag->dns)
		return 0;
	/* with DNS filtering, an allowlist resolves only the names it lists */
	if (p->enforcement == ENF_CILIUM && ag->mode == MODE_ALLOWLIST)
		return ag->nnames > 0;
	return 1;
}

/* --- NetworkPolicy --- */

static int
add_public_rule(struct arena *a, struct node *egress, const struct spec_agent *ag,
		const struct profile *p)
{
	const struct profile_block *blocks[3];
	struct node *rule, *to, *peer;
	struct cidr *pre;
	size_t npre, nb = public_blocks(ag, p, blocks);

	NN(to = node_new_seq(a));
	TRY(allowed_prefixes(ag, p, a, &pre, &npre));
	for (size_t i = 0; i < npre; i++) {
		NN(peer = ip_block(a, &pre[i], NULL));
		node_seq_add(to, peer);
	}
	for (size_t i = 0; i < nb; i++) {
		NN(peer = ip_block(a, &blocks[i]->cidr, blocks[i]->except_node));
		node_seq_add(to, peer);
	}
	if (!to->count)
		return 0;   /* the profile blocks everything, or only names are allowed */
	NN(rule = node_new_map(a));
	TRY(node_map_put(a, rule, "to", to));
	if (ag->nports) {
		struct node *ports = port_list(a, "TCP", ag->ports, ag->nports);

		NN(ports);
		TRY(node_map_put(a, rule, "ports", ports));
	}
	node_seq_add(egress, rule);
	return 0;
}

/* spec.ingress: from the named namespace's Pods (pinned), on TCP ports */
static struct node *
ingress_rules(struct arena *a, const struct spec_agent *ag)
{
	struct node *ing = node_new_seq(a);

	if (!ing)
		return NULL;
	for (size_t i = 0; i < ag->ningress; i++) {
		const struct spec_ingress *in = &ag->ingress[i];
		struct node *rule = node_new_map(a), *from, *peer, *ports;

		if (!rule || !(from = node_new_seq(a)) ||
		    !(peer = ns_peer(a, in->ns, in->labels, in->nlabels)))
			return NULL;
		node_seq_add(from, peer);
		if (node_map_put(a, rule, "from", from) < 0 ||
		    !(ports = port_list(a, "TCP", in->ports, in->nports)) ||
		    node_map_put(a, rule, "ports", ports) < 0)
			return NULL;
		node_seq_add(ing, rule);
	}
	return ing;
}

static struct node *
netpol(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t,
	     struct arena *a)
{
	struct node *np = node_clone(a, t->obj[TMPL_NETPOL]), *spec, *types, *sel;
	struct kv job = { LABEL_JOB, ag->name };
	char name[256];

	if (!np)
		return NULL;
	build_netpol_name(name, ag);
	if (set_metadata(a, np, ag, arena_strndup(a, name, strlen(name)), 1, "-1") < 0 ||
	    !(spec = node_map_sub_put(a, np, "spec")) ||
	    !(sel = match_labels(a, &job, 1)) ||
	    node_map_put(a, spec, "podSelector", sel) < 0 ||
	    !(types = node_new_seq(a)))
		return NULL;
	/* both: an Egress-only policy leaves ingress open */
	node_seq_add(types, node_new_lit(a, "Ingress"));
	node_seq_add(types, node_new_lit(a, "Egress"));
	if (types->count != 2 || node_map_put(a, spec, "policyTypes", types) < 0)
		return NULL;
	if (ag->ningress && node_map_put(a, spec, "ingress", ingress_rules(a, ag)) < 0)
		return NULL;
	if (ag->mode != MODE_NONE) {
		struct node *eg = node_new_seq(a);

		if (!eg || (dns_open(ag, p) && add_dns_rule(a, eg, p) < 0) ||
		    add_public_rule(a, eg, ag, p) < 0 ||
		    node_map_put(a, spec, "egress", eg) < 0)
			return NULL;
	}
	return np;
}

/* --- Cilium (cilium.io/v2) --- */

#define CIL_NS "k8s:io.kubernetes.pod.namespace"

/* {matchLabels: {k8s:io.kubernetes.pod.namespace: ns, labels...}} */
static struct node *
cil_endpoints(struct arena *a, const char *ns, const struct kv *labels, size_t n)
{
	struct node *sel = node_new_map(a), *ml;

	if (!sel || !(ml = node_map_sub_put(a, sel, "matchLabels")) ||
	    node_map_put(a, ml, CIL_NS, str(a, ns)) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (node_map_set(a, ml, labels[i].k, str(a, labels[i].v)) < 0)
			return NULL;
	return sel;
}

#define CIL_MAX_PORTS 40     /* ports of one toPorts entry (the CRD's maxItems) */

/* toPorts: [{ports: [{port: "N", protocol: P}, ...]}, ...]: every port for
 * each protocol in protos, CIL_MAX_PORTS an entry. */
static struct node *
cil_ports(struct arena *a, const char *const *protos, size_t nprotos, const uint16_t *ports,
	  size_t n)
{
	struct node *tp = node_new_seq(a), *pr, *list = NULL, *pm;

	if (!tp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nprotos; k++) {
			if (!list || list->count == CIL_MAX_PORTS) {
				if (!(pr = node_new_map(a)) || !(list = node_new_seq(a)) ||
				    node_map_put(a, pr, "ports", list) < 0)
					return NULL;
				node_seq_add(tp, pr);
			}
			if (!(pm = node_new_map(a)) ||
			    node_map_put(a, pm, "port", node_new_strf(a, "%u", (unsigned)ports[i])) < 0 ||
			    node_map_put(a, pm, "protocol", str(a, protos[k])) < 0)
				return NULL;
			node_seq_add(list, pm);
		}
	}
	return tp;
}

/* A DNS pattern: exact names as matchName, "*.x" as "**.x" (Cilium's "*."
 * is exactly one label; the spec's wildcard is one or more). */
static struct node *
cil_name(struct arena *a, const struct spec_name *nm)
{
	struct node *m = node_new_map(a);

	if (!m)
		return NULL;
	if (!nm->wildcard)
		return node_map_put(a, m, "matchName", str(a, nm->name)) < 0 ? NULL : m;
	return node_map_put(a, m, "matchPattern", node_new_strf(a, "*%s", nm->name)) < 0 ? NULL : m;
}

/* The rule to the DNS Pods (and NodeLocal DNSCache, the host entity on
 * Cilium), always with L7 DNS rules: an L4-only rule on port 53 would void
 * another rule's name filter. */
static int
cil_dns_rules(struct arena *a, struct node *egress, const struct spec_agent *ag,
	      const struct profile *p)
{
	static const char *const udp_tcp[] = { "UDP", "TCP" };
	struct node *names = node_new_seq(a), *m;

	NN(names);
	if (ag->mode == MODE_ALLOWLIST) {
		for (size_t i = 0; i < ag->nnames; i++) {
			NN(m = cil_name(a, &ag->names[i]));
			node_seq_add(names, m);
		}
	} else {
		NN(m = node_new_map(a));
		TRY(node_map_put(a, m, "matchPattern", str(a, "*")));
		node_seq_add(names, m);
	}
	/* 0: the DNS Pods; 1: NodeLocal DNSCache Pods behind a Local Redirect
	 * Policy; 2: NodeLocal DNSCache on the host */
	for (int k = 0; k < 3; k++) {
		struct node *rule, *to, *tp, *rules;

		if ((k == 1 && !p->lrp_nlabels) || (k == 2 && !p->has_nodelocal))
			continue;
		NN(rule = node_new_map(a));
		NN(to = node_new_seq(a));
		if (k < 2) {
			NN(m = k == 0 ? cil_endpoints(a, p->dns_namespace, p->dns_labels, p->dns_nlabels) :
				        cil_endpoints(a, p->dns_namespace, p->lrp_labels, p->lrp_nlabels));
			node_seq_add(to, m);
			TRY(node_map_put(a, rule, "toEndpoints", to));
		} else {
			node_seq_add(to, node_new_lit(a, "host"));
			NN(to->head);
			TRY(node_map_put(a, rule, "toEntities", to));
		}
		NN(tp = k ? cil_ports(a, udp_tcp, 2, dns_port, 1) :
			    cil_ports(a, udp_tcp, 2, p->dns_ports, p->dns_nports));
		NN(rules = node_map_sub_put(a, tp->head, "rules"));
		TRY(node_map_put(a, rules, "dns", names));
		TRY(node_map_put(a, rule, "toPorts", tp));
		node_seq_add(egress, rule);
	}
	return 0;
}

/* Append `rule` with the agent's egress ports (none: every port). */
static int
cil_add_with_ports(struct arena *a, struct node *egress, struct node *rule,
		   const struct spec_agent *ag)
{
	static const char *const tcp[] = { "TCP" };

	if (ag->nports && node_map_put(a, rule, "toPorts", cil_ports(a, tcp, 1, ag->ports, ag->nports)) < 0)
		return -1;
	node_seq_add(egress, rule);
	return 0;
}

static struct node *
cil_egress(struct arena *a, const struct spec_agent *ag, const struct profile *p)
{
	const struct profile_block *blocks[3];
	struct node *eg = node_new_seq(a), *rule, *set, *e;
	struct cidr *pre;
	size_t npre, nb = public_blocks(ag, p, blocks);

	if (!eg || (dns_open(ag, p) && cil_dns_rules(a, eg, ag, p) < 0) ||
	    allowed_prefixes(ag, p, a, &pre, &npre) < 0 || !(set = node_new_seq(a)))
		return NULL;
	for (size_t i = 0; i < npre; i++) {
		if (!(e = node_new_map(a)) || node_map_put(a, e, "cidr", cidr_str(a, &pre[i])) < 0)
			return NULL;
		node_seq_add(set, e);
	}
	for (size_t i = 0; i < nb; i++) {
		if (!(e = node_new_map(a)) || node_map_put(a, e, "cidr", cidr_str(a, &blocks[i]->cidr)) < 0 ||
		    (blocks[i]->except.n && node_map_put(a, e, "except", blocks[i]->except_node) < 0))
			return NULL;
		node_seq_add(set, e);
	}
	if (set->count && (!(rule = node_new_map(a)) || node_map_put(a, rule, "toCIDRSet", set) < 0 ||
			   cil_add_with_ports(a, eg, rule, ag) < 0))
		return NULL;
	if (ag->nnames) {
		struct node *fq = node_new_seq(a);

		if (!fq)
			return NULL;
		for (size_t i = 0; i < ag->nnames; i++) {
			if (!(e = cil_name(a, &ag->names[i])))
				return NULL;
			node_seq_add(fq, e);
		}
		if (!(rule = node_new_map(a)) || node_map_put(a, rule, "toFQDNs", fq) < 0 ||
		    cil_add_with_ports(a, eg, rule, ag) < 0)
			return NULL;
	}
	return eg;
}

/* The agent's CiliumNetworkPolicy: its whole allow list, in place of the
 * NetworkPolicy (whose DNS rule, an L4 rule, would void the name filter). */
static struct node *
cil_policy(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t,
	   struct arena *a)
{
	static const char *const tcp[] = { "TCP" };
	struct node *o = node_new_map(a), *meta, *spec, *sel, *dd, *eg;
	struct kv job = { LABEL_JOB, ag->name };
	char name[256];
	const struct node *tm = node_map_get(t->obj[TMPL_NETPOL], "metadata");

	if (!o || node_map_put(a, o, "apiVersion", node_new_lit(a, "cilium.io/v2")) < 0 ||
	    node_map_put(a, o, "kind", node_new_lit(a, "CiliumNetworkPolicy")) < 0)
		return NULL;
	/* the site's labels and annotations for the agent's policy */
	if (tm && (!(meta = node_clone(a, tm)) || node_map_put(a, o, "metadata", meta) < 0))
		return NULL;
	build_netpol_name(name, ag);
	if (set_metadata(a, o, ag, arena_strndup(a, name, strlen(name)), 1, "-1") < 0 ||
	    !(spec = node_map_sub_put(a, o, "spec")) || !(sel = match_labels(a, &job, 1)) ||
	    node_map_put(a, spec, "endpointSelector", sel) < 0 ||
	    !(dd = node_map_sub_put(a, spec, "enableDefaultDeny")) ||
	    node_map_put(a, dd, "egress", node_new_bool(a, 1)) < 0 ||
	    node_map_put(a, dd, "ingress", node_new_bool(a, 1)) < 0)
		return NULL;
	if (ag->ningress) {
		struct node *ing = node_new_seq(a), *rule, *from, *peer;

		if (!ing)
			return NULL;
		for (size_t i = 0; i < ag->ningress; i++) {
			const struct spec_ingress *in = &ag->ingress[i];

			if (!(rule = node_new_map(a)) || !(from = node_new_seq(a)) ||
			    !(peer = cil_endpoints(a, in->ns, in->labels, in->nlabels)))
				return NULL;
			node_seq_add(from, peer);
			if (node_map_put(a, rule, "fromEndpoints", from) < 0 ||
			    node_map_put(a, rule, "toPorts", cil_ports(a, tcp, 1, in->ports, in->nports)) < 0)
				return NULL;
			node_seq_add(ing, rule);
		}
		if (node_map_put(a, spec, "ingress", ing) < 0)
			return NULL;
	}
	if (!(eg = cil_egress(a, ag, p)))
		return NULL;
	if (eg->count && node_map_put(a, spec, "egress", eg) < 0)
		return NULL;
	if (ag->mode == MODE_NONE) {
		/* no egress at all, said outright (a policy needs some rule) */
		static const char *const all[] = { "all" };
		struct node *deny = node_new_seq(a), *r = node_new_map(a);

		if (!deny || !r || node_map_put(a, r, "toEntities", node_new_str_seq(a, all, 1)) < 0)
			return NULL;
		node_seq_add(deny, r);
		if (node_map_put(a, spec, "egressDeny", deny) < 0)
			return NULL;
	}
	return o;
}

/* --- ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) --- */

#define CNP_API "policy.networking.k8s.io/v1alpha2"
#define CNP_MAX 25              /* items per list: rules, peers, networks, names, protocols */
#define CNP_PRIO_GUARD_EGRESS 100
#define CNP_PRIO_AGENT 200
#define CNP_PRIO_GUARD_INGRESS 300

/* protocols: [{proto: {destinationPort: {number: N}}}, ...] */
static struct node *
cnp_protocols(struct arena *a, const char *const *protos, size_t nprotos, const uint16_t *ports,
	      size_t n)
{
	struct node *seq = node_new_seq(a), *it, *pr, *dp;

	if (!seq)
		return NULL;
	for (size_t k = 0; k < nprotos; k++) {
		for (size_t i = 0; i < n; i++) {
			if (!(it = node_new_map(a)) || !(pr = node_map_sub(a, it, protos[k])) ||
			    !(dp = node_map_sub_put(a, pr, "destinationPort")) ||
			    node_map_put(a, dp, "number", node_new_int(a, ports[i])) < 0)
				return NULL;
			node_seq_add(seq, it);
		}
	}
	return seq;
}

static struct node *
cnp_rule(struct arena *a, const char *name, const char *action)
{
	struct node *r = node_new_map(a);

	if (!r || node_map_put(a, r, "name", str(a, name)) < 0 ||
	    node_map_put(a, r, "action", str(a, action)) < 0)
		return NULL;
	return r;
}

/*
 * Rules `action` to a list of strings (CIDRs or names) as peers of kind
 * `field` (networks, domainNames): CNP_MAX strings a peer, CNP_MAX peers a
 * rule, as many rules as it takes. `protocols` (may be NULL) goes on each.
 */
static int
cnp_add_list_rules(struct arena *a, struct node *rules, const char *name, const char *action,
		   const char *field, struct node *const *items, size_t n, struct node *protocols)
{
	for (size_t i = 0; i < n;) {
		struct node *r = cnp_rule(a, name, action), *to, *peer, *list;

		NN(r);
		NN(to = node_new_seq(a));
		for (size_t pi = 0; pi < CNP_MAX && i < n; pi++) {
			NN(peer = node_new_map(a));
			NN(list = node_new_seq(a));
			TRY(node_map_set(a, peer, field, list));
			for (size_t k = 0; k < CNP_MAX && i < n; k++, i++)
				node_seq_add(list, items[i]);
			node_seq_add(to, peer);
		}
		TRY(node_map_put(a, r, "to", to));
		if (protocols)
			TRY(node_map_put(a, r, "protocols", protocols));
		node_seq_add(rules, r);
	}
	return 0;
}

static int
cnp_deny_everything(struct arena *a, struct node *rules, const char *name, int v4, int v6)
{
	struct node *items[2];
	size_t n = 0;

	if (v4)
		NN(items[n++] = node_new_lit(a, "0.0.0.0/0"));
	if (v6)
		NN(items[n++] = str(a, "::/0"));
	return cnp_add_list_rules(a, rules, name, "Deny", "networks", items, n, NULL);
}

/* The agent's ClusterNetworkPolicy (Admin tier, after the egress guard):
 * Accepts for what its spec opens that a NetworkPolicy could widen, then
 * Deny, so no other policy widens an allowlist. NULL *out: nothing to say. */
static int
cnp_agent(const struct spec_agent *ag, const struct profile *p, struct arena *a, struct node **out)
{
	static const char *const tcp[] = { "tcp" };
	struct node *o, *spec, *subj, *pods, *eg, *ing, *protocols = NULL, **items;
	struct kv nsl = { "kubernetes.io/metadata.name", ag->ns }, job = { LABEL_JOB, ag->name };
	struct cidr *pre;
	size_t npre;
	char name[256];

	*out = NULL;
	NN(eg = node_new_seq(a));
	NN(ing = node_new_seq(a));
	if (ag->nports)
		NN(protocols = cnp_protocols(a, tcp, 1, ag->ports, ag->nports));
	switch (ag->mode) {
	case MODE_NONE:
		TRY(cnp_deny_everything(a, eg, "no-egress", 1, 1));
		break;
	case MODE_GATEWAY:
		TRY(cnp_deny_everything(a, eg, "ipv4-only", 0, 1));
		break;
	case MODE_ALLOWLIST:
		TRY(allowed_prefixes(ag, p, a, &pre, &npre));
		NN(items = arena_alloc(a, (npre + ag->nnames + 1) * sizeof(struct node *)));
		for (size_t i = 0; i < npre; i++)
			NN(items[i] = cidr_str(a, &pre[i]));
		TRY(cnp_add_list_rules(a, eg, "allowlist", "Accept", "networks", items, npre, protocols));
		for (size_t i = 0; i < ag->nnames; i++)
			NN(items[i] = str(a, ag->names[i].name));
		TRY(cnp_add_list_rules(a, eg, "allowlist-names", "Accept", "domainNames", items,
				       ag->nnames, protocols));
		TRY(cnp_deny_everything(a, eg, "not-allowed", 1, 1));
		break;
	case MODE_PUBLIC:
		break;   /* the egress guard denies all that is not public */
	}
	for (size_t i = 0; i < ag->ningress; i++) {
		const struct spec_ingress *in = &ag->ingress[i];
		struct node *r, *from, *peer;
		char rn[100];

		snprintf(rn, sizeof(rn), "from-%s", in->ns);
		NN(r = cnp_rule(a, arena_strndup(a, rn, strlen(rn)), "Accept"));
		NN(from = node_new_seq(a));
		NN(peer = node_new_map(a));
		TRY(node_map_put(a, peer, "pods", ns_peer(a, in->ns, in->labels, in->nlabels)));
		node_seq_add(from, peer);
		TRY(node_map_put(a, r, "from", from));
		TRY(node_map_put(a, r, "protocols", cnp_protocols(a, tcp, 1, in->ports, in->nports)));
		node_seq_add(ing, r);
	}
	if (!eg->count && !ing->count)
		return 0;
	build_cnp_name(name, ag);
	NN(o = node_new_map(a));
	TRY(node_map_put(a, o, "apiVersion", node_new_lit(a, CNP_API)));
	TRY(node_map_put(a, o, "kind", node_new_lit(a, "ClusterNetworkPolicy")));
	TRY(set_metadata(a, o, ag, arena_strndup(a, name, strlen(name)), 0, "-1"));
	NN(spec = node_map_sub_put(a, o, "spec"));
	TRY(node_map_put(a, spec, "tier", node_new_lit(a, "Admin")));
	TRY(node_map_put(a, spec, "priority", node_new_int(a, CNP_PRIO_AGENT)));
	NN(subj = node_map_sub_put(a, spec, "subject"));
	NN(pods = node_map_sub_put(a, subj, "pods"));
	TRY(node_map_put(a, pods, "namespaceSelector", match_labels(a, &nsl, 1)));
	TRY(node_map_put(a, pods, "podSelector", match_labels(a, &job, 1)));
	if (ing->count)
		TRY(node_map_put(a, spec, "ingress", ing));
	if (eg->count)
		TRY(node_map_put(a, spec, "egress", eg));
	*out = o;
	return 0;
}

static struct node *
egw(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t,
	  struct arena *a)
{
	struct node *o = node_clone(a, t->obj[TMPL_EGW]), *spec, *sels, *sel, *ps, *ml, *dst, *gw;
	struct kv def = { "egress-gateway", "true" };
	char name[256], buf[CIDR_STRLEN];

	if (!o)
		return NULL;
	build_egw_name(name, ag);
	if (set_metadata(a, o, ag, arena_strndup(a, name, strlen(name)), 0, "-1") < 0 ||
	    !(spec = node_map_sub_put(a, o, "spec")) || !(sels = node_new_seq(a)) ||
	    !(sel = node_new_map(a)) || !(ps = node_map_sub_put(a, sel, "podSelector")) ||
	    !(ml = node_map_sub_put(a, ps, "matchLabels")) ||
	    node_map_put(a, ml, LABEL_JOB, str(a, ag->name)) < 0 ||
	    /* the policy is cluster-scoped: pin the namespace too */
	    node_map_put(a, ml, "io.kubernetes.pod.namespace", str(a, ag->ns)) < 0)
		return NULL;
	node_seq_add(sels, sel);
	if (node_map_put(a, spec, "selectors", sels) < 0 || !(dst = node_new_seq(a)))
		return NULL;
	node_seq_add(dst, node_new_lit(a, "0.0.0.0/0"));
	if (!dst->head || node_map_put(a, spec, "destinationCIDRs", dst) < 0)
		return NULL;
	if (p->gw_excluded.n) {
		struct node *ex = node_new_seq(a), *s;

		if (!ex)
			return NULL;
		for (size_t i = 0; i < p->gw_excluded.n; i++) {
			cidr_format(&p->gw_excluded.items[i], buf, 1);
			if (!(s = str(a, arena_strndup(a, buf, strlen(buf)))))
				return NULL;
			node_seq_add(ex, s);
		}
		if (node_map_put(a, spec, "excludedCIDRs", ex) < 0)
			return NULL;
	}
	cidr_format(&ag->static_ip, buf, 0);
	if (!(gw = node_map_sub_put(a, spec, "egressGateway")) ||
	    !(sel = ag->gw_nselector ? match_labels(a, ag->gw_selector, ag->gw_nselector)
				     : match_labels(a, &def, 1)) ||
	    node_map_put(a, gw, "nodeSelector", sel) < 0 ||
	    node_map_put(a, gw, "egressIP", str(a, arena_strndup(a, buf, strlen(buf)))) < 0)
		return NULL;
	return o;
}

/* One env entry: a value, or {valueFrom: {secretKeyRef|configMapKeyRef: ...}}. */
static struct node *
env_entry(struct arena *a, const struct spec_env *v)
{
	struct node *e = node_new_map(a), *vf, *ref;

	if (!e || node_map_put(a, e, "name", str(a, v->name)) < 0)
		return NULL;
	if (v->from == ENV_VALUE)
		return node_map_put(a, e, "value", str(a, v->value)) < 0 ? NULL : e;
	if (!(vf = node_map_sub_put(a, e, "valueFrom")) ||
	    !(ref = v->from == ENV_SECRET ? node_map_sub_put(a, vf, "secretKeyRef")
					  : node_map_sub_put(a, vf, "configMapKeyRef")) ||
	    node_map_put(a, ref, "name", str(a, v->ref_name)) < 0 ||
	    node_map_put(a, ref, "key", str(a, v->ref_key)) < 0 ||
	    (v->has_optional && node_map_put(a, ref, "optional", node_new_bool(a, v->optional)) < 0))
		return NULL;
	return e;
}

#define SCRATCH_VOLUME "scratch"

/* The agent's own container fields, in order: name, image, command, args,
 * env, resources, volumeMounts. */
static struct node *
agent_container(struct arena *a, const struct spec_agent *ag)
{
	struct node *c = node_new_map(a), *env, *e, *res, *lim, *req, *mounts, *m;

	if (!c || node_map_put(a, c, "name", node_new_lit(a, "agent")) < 0 ||
	    node_map_put(a, c, "image", str(a, ag->image)) < 0)
		return NULL;
	if (ag->has_command && node_map_put(a, c, "command", node_new_str_seq(a, ag->command, ag->ncommand)) < 0)
		return NULL;
	if (ag->has_args && node_map_put(a, c, "args", node_new_str_seq(a, ag->args, ag->nargs)) < 0)
		return NULL;
	if (ag->nenv) {
		if (!(env = node_new_seq(a)))
			return NULL;
		for (size_t i = 0; i < ag->nenv; i++) {
			if (!(e = env_entry(a, &ag->env[i])))
				return NULL;
			node_seq_add(env, e);
		}
		if (node_map_put(a, c, "env", env) < 0)
			return NULL;
	}
	/* limits = requests: Guaranteed QoS, and a hard ceiling for the agent */
	if (!(res = node_map_sub_put(a, c, "resources")) ||
	    !(lim = node_map_sub_put(a, res, "limits")) ||
	    node_map_put(a, lim, "cpu", str(a, ag->cpu)) < 0 ||
	    node_map_put(a, lim, "memory", str(a, ag->memory)) < 0 ||
	    node_map_put(a, lim, "ephemeral-storage", str(a, ag->ephemeral)) < 0 ||
	    !(req = node_map_sub_put(a, res, "requests")) ||
	    node_map_put(a, req, "cpu", str(a, ag->cpu)) < 0 ||
	    node_map_put(a, req, "memory", str(a, ag->memory)) < 0 ||
	    node_map_put(a, req, "ephemeral-storage", str(a, ag->ephemeral)) < 0)
		return NULL;
	if (ag->has_scratch) {
		if (!(mounts = node_new_seq(a)) || !(m = node_new_map(a)) ||
		    node_map_put(a, m, "name", node_new_lit(a, SCRATCH_VOLUME)) < 0 ||
		    node_map_put(a, m, "mountPath", str(a, ag->scratch.mount_path)) < 0)
			return NULL;
		node_seq_add(mounts, m);
		if (node_map_put(a, c, "volumeMounts", mounts) < 0)
			return NULL;
	}
	return c;
}

/* "ADDR:PORT=LABEL" for the first host address of each range (the
 * network address itself for a /31, /32, /127, /128). */
static int
probe_range_args(struct arena *a, struct node *args, const struct cidr_list *l, unsigned port,
		 const char *what)
{
	for (size_t i = 0; i < l->n; i++) {
		struct cidr h = l->items[i];
		char addr[CIDR_STRLEN], range[CIDR_STRLEN];
		struct node *arg;
		int v6 = h.family == CIDR_V6;

		cidr_format(&l->items[i], range, 1);
		if (h.len < (v6 ? 127 : 31))
			h.addr[v6 ? 15 : 3] |= 1;  /* host bits are zero: no carry */
		h.len = v6 ? 128 : 32;
		cidr_format(&h, addr, 0);
		if (!(arg = node_new_strf(a, v6 ? "[%s]:%u=%s %s" : "%s:%u=%s %s", addr, port, what, range)))
			return -1;
		node_seq_add(args, arg);
	}
	return 0;
}

/*
 * The init container that runs `agentfence probe` (profile spec.probe):
 * it shares the Pod's network namespace, hence its fence, and fails the
 * Pod before the agent starts when a destination it must never reach
 * answers. `csc` is the agent container's securityContext, copied.
 */
static struct node *
probe_container(struct arena *a, const struct profile *p, const struct node *csc)
{
	struct node *c = node_new_map(a), *args = node_new_seq(a), *env = node_new_seq(a), *e, *vf,
		    *fr, *res, *lim, *req;

	if (!c || !args || !env || node_map_put(a, c, "name", node_new_lit(a, "probe")) < 0 ||
	    node_map_put(a, c, "image", str(a, p->probe_image)) < 0)
		return NULL;
	node_seq_add(args, node_new_lit(a, "probe"));
	node_seq_add(args, str(a, "--wait"));   /* a leading - : not a literal */
	node_seq_add(args, p->probe_wait_s ? node_new_strf(a, "%lds", p->probe_wait_s) : str(a, "0"));
	if (args->count != 3 ||
	    probe_range_args(a, args, &p->pod, 80, "pod range") < 0 ||
	    probe_range_args(a, args, &p->service, 443, "service range") < 0 ||
	    probe_range_args(a, args, &p->node, 10250, "node range") < 0 ||
	    node_map_put(a, c, "args", args) < 0)
		return NULL;
	/* the node's address, for its kubelet (10250) */
	if (!(e = node_new_map(a)) ||
	    node_map_put(a, e, "name", node_new_lit(a, "AGENTFENCE_NODE_IP")) < 0 ||
	    !(vf = node_map_sub_put(a, e, "valueFrom")) ||
	    !(fr = node_map_sub_put(a, vf, "fieldRef")) ||
	    node_map_put(a, fr, "fieldPath", node_new_lit(a, "status.hostIP")) < 0)
		return NULL;
	node_seq_add(env, e);
	if (node_map_put(a, c, "env", env) < 0 ||
	    !(res = node_map_sub_put(a, c, "resources")) ||
	    !(lim = node_map_sub_put(a, res, "limits")) ||
	    node_map_put(a, lim, "cpu", str(a, "100m")) < 0 ||
	    node_map_put(a, lim, "memory", str(a, "32Mi")) < 0 ||
	    !(req = node_map_sub_put(a, res, "requests")) ||
	    node_map_put(a, req, "cpu", str(a, "100m")) < 0 ||
	    node_map_put(a, req, "memory", str(a, "32Mi")) < 0 ||
	    node_map_put(a, c, "securityContext", node_clone(a, csc)) < 0)
		return NULL;
	return c;
}

/*
 * A Pod's spec is immutable: an apply of a changed one fails. These let
 * Argo CD and Flux delete and recreate the Pod instead. Argo CD's
 * Replace=true alone is a PUT, refused for a Pod like a patch; with
 * Force=true it deletes and creates (Argo CD sync options, "Force Sync").
 * Flux's force annotation replaces an object whose apply failed on an
 * immutable field. Pods only: a policy deleted and recreated would leave
 * its Pod unfenced for a moment (tmpl.c refuses both keys in templates).
 */
static int
pod_replace(struct arena *a, struct node *pod)
{
	struct node *meta = node_map_get(pod, "metadata"), *ann;

	NN(meta);
	NN(ann = node_map_sub_put(a, meta, "annotations"));
	TRY(node_map_put(a, ann, "argocd.argoproj.io/sync-options",
			 str(a, "Force=true,Replace=true")));
	TRY(node_map_put(a, ann, "kustomize.toolkit.fluxcd.io/force", node_new_lit(a, "enabled")));
	return 0;
}

static struct node *
pod(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t, struct arena *a)
{
	struct node *pod = node_clone(a, t->obj[TMPL_POD]), *spec, *sc, *seccomp, *ctr, *csc,
		    *caps, *drop, *cs;

	if (!pod || set_metadata(a, pod, ag, ag->name, 1, "0") < 0 || pod_replace(a, pod) < 0 ||
	    !(spec = node_map_sub_put(a, pod, "spec")))
		return NULL;
	{
		/* runtimeClassName first: the reader sees the microVM at once */
		struct node *s2 = node_new_map(a);

		if (!s2 || node_map_put(a, s2, "runtimeClassName", str(a, ag->runtime_class)) < 0)
			return NULL;
		for (struct node *k = spec->head; k; k = k->next)
			if (strcmp(k->str, "runtimeClassName") && node_map_set(a, s2, k->str, k->val) < 0)
				return NULL;
		spec = s2;
		if (node_map_put(a, pod, "spec", spec) < 0)
			return NULL;
	}
	/* the fields isolation depends on, whatever the template said */
	if (node_map_put(a, spec, "restartPolicy", node_new_lit(a, "Never")) < 0 ||
	    node_map_put(a, spec, "serviceAccountName", node_new_lit(a, AGENT_SERVICE_ACCOUNT)) < 0 ||
	    node_map_put(a, spec, "automountServiceAccountToken", node_new_bool(a, 0)) < 0 ||
	    node_map_put(a, spec, "enableServiceLinks", node_new_bool(a, 0)) < 0 ||
	    !(sc = node_map_sub_put(a, spec, "securityContext")) ||
	    node_map_put(a, sc, "runAsNonRoot", node_new_bool(a, 1)) < 0 ||
	    !(seccomp = node_map_sub_put(a, sc, "seccompProfile")) ||
	    node_map_put(a, seccomp, "type", node_new_lit(a, "RuntimeDefault")) < 0)
		return NULL;
	cs = node_map_get(spec, "containers");
	if (!cs || cs->kind != NODE_SEQ || !cs->head) {
		if (!(cs = node_new_seq(a)) || !(ctr = node_new_map(a)))
			return NULL;
		node_seq_add(cs, ctr);
		if (node_map_put(a, spec, "containers", cs) < 0)
			return NULL;
	}
	ctr = cs->head;
	{
		/* name, image, command, args, env, resources first; template extras after */
		struct node *c2 = agent_container(a, ag);

		if (!c2)
			return NULL;
		for (struct node *k = ctr->head; k; k = k->next)
			if (!node_map_get(c2, k->str) && node_map_set(a, c2, k->str, k->val) < 0)
				return NULL;
		ctr = c2;
		cs->head = cs->tail = ctr;
		ctr->next = NULL;
		cs->count = 1;
	}
	if (!(csc = node_map_sub_put(a, ctr, "securityContext")) ||
	    node_map_put(a, csc, "allowPrivilegeEscalation", node_new_bool(a, 0)) < 0 ||
	    node_map_put(a, csc, "privileged", node_new_bool(a, 0)) < 0 ||
	    node_map_put(a, csc, "runAsNonRoot", node_new_bool(a, 1)) < 0 ||
	    !(caps = node_map_sub_put(a, csc, "capabilities")) || !(drop = node_new_seq(a)))
		return NULL;
	node_seq_add(drop, node_new_lit(a, "ALL"));
	if (!drop->head || node_map_put(a, caps, "drop", drop) < 0 ||
	    !(seccomp = node_map_sub_put(a, csc, "seccompProfile")) ||
	    node_map_put(a, seccomp, "type", node_new_lit(a, "RuntimeDefault")) < 0)
		return NULL;
	if (p->probe_image) {
		struct node *ics = node_new_seq(a), *pc = probe_container(a, p, csc);

		if (!ics || !pc)
			return NULL;
		node_seq_add(ics, pc);
		if (node_map_put(a, spec, "initContainers", ics) < 0)
			return NULL;
	}
	return pod;
}

/* imagePullSecrets: the template's (a site's registry credentials) and
 * then the spec's, each name once. */
static int
pull_secrets(struct arena *a, struct node *spec, const struct spec_agent *ag)
{
	struct node *tl = node_map_get(spec, "imagePullSecrets"), *seq, *e;

	if (!ag->npull_secrets)
		return 0;
	NN(seq = node_new_seq(a));
	if (tl && tl->kind == NODE_SEQ) {
		for (struct node *it = tl->head, *next; it; it = next) {
			next = it->next;
			node_seq_add(seq, it);
		}
	}
	for (size_t i = 0; i < ag->npull_secrets; i++) {
		int seen = 0;

		for (struct node *it = seq->head; it && !seen; it = it->next) {
			const struct node *nm = it->kind == NODE_MAP ? node_map_get(it, "name") : NULL;

			seen = nm && nm->kind == NODE_SCALAR && strcmp(nm->str, ag->pull_secrets[i]) == 0;
		}
		if (seen)
			continue;
		if (!(e = node_new_map(a)) || node_map_put(a, e, "name", str(a, ag->pull_secrets[i])) < 0)
			return -1;
		node_seq_add(seq, e);
	}
	return node_map_put(a, spec, "imagePullSecrets", seq);
}

/*
 * The Pod's limits: activeDeadlineSeconds (the spec's, else the
 * template's, else the profile's default), imagePullSecrets, the scratch
 * volume the agent container mounts (agent_container()), and the
 * read-only root filesystem the profile asks for.
 */
static int
pod_limits(const struct spec_agent *ag, const struct profile *p, struct node *pod,
	   struct arena *a)
{
	struct node *spec = node_map_get(pod, "spec"), *cs, *csc, *vols, *vol, *ed;

	NN(spec);
	if (ag->deadline)
		TRY(node_map_put(a, spec, "activeDeadlineSeconds", node_new_int(a, ag->deadline)));
	else if (!node_map_get(spec, "activeDeadlineSeconds"))
		TRY(node_map_put(a, spec, "activeDeadlineSeconds", node_new_int(a, p->default_deadline)));
	TRY(pull_secrets(a, spec, ag));
	if (ag->has_scratch) {
		/* a template has no volumes (tmpl.c refuses them): this is the only one */
		if (!(vols = node_new_seq(a)) || !(vol = node_new_map(a)) ||
		    node_map_put(a, vol, "name", node_new_lit(a, SCRATCH_VOLUME)) < 0 ||
		    !(ed = node_map_sub_put(a, vol, "emptyDir")) ||
		    node_map_put(a, ed, "sizeLimit", str(a, ag->scratch.size_limit)) < 0)
			return -1;
		node_seq_add(vols, vol);
		TRY(node_map_put(a, spec, "volumes", vols));
	}
	if (p->read_only_root) {
		if (!(cs = node_map_get(spec, "containers")) || !cs->head ||
		    !(csc = node_map_get(cs->head, "securityContext")))
			return -1;
		TRY(node_map_put(a, csc, "readOnlyRootFilesystem", node_new_bool(a, 1)));
		/* the probe init container (the compiler's own: it writes nothing) */
		if ((cs = node_map_get(spec, "initContainers")))
			for (struct node *ic = cs->head; ic; ic = ic->next)
				if ((csc = node_map_get(ic, "securityContext")))
					TRY(node_map_put(a, csc, "readOnlyRootFilesystem",
							 node_new_bool(a, 1)));
	}
	return 0;
}

/* --- the guard: one set per agent namespace, selecting every Pod in it --- */

void
build_guard_names(char out[][256], size_t *n, const struct profile *p, const char *ns)
{
	*n = 0;
	if (p->enforcement == ENF_CILIUM)
		snprintf(out[(*n)++], 256, "agentfence-guard.%s", ns);
	if (p->enforcement == ENF_CNP) {
		snprintf(out[(*n)++], 256, "agentfence-guard-egress.%s", ns);
		snprintf(out[(*n)++], 256, "agentfence-guard-ingress.%s", ns);
	}
	if (p->writers) {
		/* the policy, then its binding (one name for both) */
		admission_name(out[(*n)++], ns);
		admission_name(out[(*n)++], ns);
	}
}

static struct node *
guard_object(struct arena *a, const char *api, const char *kind, const char *name, const char *ns)
{
	struct node *o = node_new_map(a), *meta, *labels, *ann;

	if (!o || node_map_put(a, o, "apiVersion", str(a, api)) < 0 ||
	    node_map_put(a, o, "kind", str(a, kind)) < 0 || !(meta = node_map_sub_put(a, o, "metadata")) ||
	    node_map_put(a, meta, "name", str(a, arena_strndup(a, name, strlen(name)))) < 0 ||
	    !(labels = node_map_sub_put(a, meta, "labels")) ||
	    node_map_put(a, labels, LABEL_MANAGED, node_new_lit(a, MANAGED_BY)) < 0 ||
	    node_map_put(a, labels, LABEL_NAMESPACE, str(a, ns)) < 0 ||
	    node_map_put(a, labels, LABEL_GUARD, str(a, "true")) < 0 ||
	    !(ann = node_map_sub_put(a, meta, "annotations")) ||
	    /* before every agent object */
	    node_map_put(a, ann, "argocd.argoproj.io/sync-wave", str(a, "-2")) < 0)
		return NULL;
	return o;
}

/* {key, operator, values: [v]} (v NULL: no values, for Exists) */
static struct node *
expr(struct arena *a, const char *key, const char *op, const char *v)
{
	struct node *e = node_new_map(a), *vals;

	if (!e || node_map_put(a, e, "key", str(a, key)) < 0 ||
	    node_map_put(a, e, "operator", str(a, op)) < 0)
		return NULL;
	if (v && (!(vals = node_new_str_seq(a, &v, 1)) || node_map_put(a, e, "values", vals) < 0))
		return NULL;
	return e;
}

/* toPorts: every port but `ports` (sorted, without repeats), any protocol */
static struct node *
cil_all_but(struct arena *a, const uint16_t *ports, size_t n)
{
	struct node *tp = node_new_seq(a), *pr = node_new_map(a), *list, *pm;
	unsigned lo = 1;

	if (!tp || !pr || !(list = node_new_seq(a)))
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)ports[i] - 1 : 65535;

		if (hi >= lo) {
			if (!(pm = node_new_map(a)) || node_map_put(a, pm, "port", node_new_strf(a, "%u", lo)) < 0 ||
			    (hi > lo && node_map_put(a, pm, "endPort", node_new_int(a, (long)hi)) < 0) ||
			    node_map_put(a, pm, "protocol", node_new_lit(a, "ANY")) < 0)
				return NULL;
			node_seq_add(list, pm);
		}
		if (i < n)
			lo = (unsigned)ports[i] + 1;
	}
	if (node_map_put(a, pr, "ports", list) < 0)
		return NULL;
	node_seq_add(tp, pr);
	return tp;
}

/*
 * Cilium: a CiliumClusterwideNetworkPolicy whose deny rules (which win over
 * every allow of every policy) close, for every Pod of the namespace,
 * whatever its labels: every cluster Pod but the DNS Pods on port 53, the
 * nodes and the host (but NodeLocal DNSCache's port 53), the API server,
 * and every address outside the public blocks; and ingress from outside
 * the cluster Pods.
 */
static struct node *
guard_cilium(struct arena *a, const struct profile *p, const char *ns, const char *name)
{
	static const char *const ent_out[] = { "host", "remote-node", "kube-apiserver", "health",
		"ingress", "init", "unmanaged" };
	static const char *const ent_in[] = { "world", "host", "remote-node", "kube-apiserver",
		"health", "ingress", "init", "unmanaged" };
	struct node *o = guard_object(a, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", name, ns);
	struct node *spec, *sel, *ml, *deny, *r, *to, *e, *exprs, *ingd;
	const int nl = p->has_nodelocal;

	if (!o || !(spec = node_map_sub_put(a, o, "spec")) ||
	    node_map_put(a, spec, "description",
			 node_new_strf(a, "agentfence guard of namespace %s: no Pod in it reaches the cluster or a non-public address, whatever its labels and other policies", ns)) < 0 ||
	    !(sel = node_map_sub_put(a, spec, "endpointSelector")) ||
	    !(ml = node_map_sub_put(a, sel, "matchLabels")) ||
	    node_map_put(a, ml, CIL_NS, str(a, ns)) < 0 || !(deny = node_new_seq(a)))
		return NULL;
	/* the nodes and cluster entities (the host but port 53 with NodeLocal DNSCache) */
	if (!(r = node_new_map(a)) || node_map_put(a, r, "toEntities", node_new_str_seq(a, ent_out + nl, 7 - (size_t)nl)) < 0)
		return NULL;
	node_seq_add(deny, r);
	if (nl) {
		if (!(r = node_new_map(a)) || node_map_put(a, r, "toEntities", node_new_str_seq(a, ent_out, 1)) < 0 ||
		    node_map_put(a, r, "toPorts", cil_all_but(a, dns_port, 1)) < 0)
			return NULL;
		node_seq_add(deny, r);
	}
	/* every Pod but the DNS Pods */
	if (!(r = node_new_map(a)) || !(to = node_new_seq(a)) || !(e = node_new_map(a)) ||
	    !(exprs = node_new_seq(a)))
		return NULL;
	/* Exists first: NotIn alone also matches an identity without the
	 * label, such as world's, and the deny would close the internet */
	node_seq_add(exprs, expr(a, CIL_NS, "Exists", NULL));
	node_seq_add(exprs, expr(a, CIL_NS, "NotIn", p->dns_namespace));
	if (exprs->count != 2 || !exprs->tail || node_map_put(a, e, "matchExpressions", exprs) < 0)
		return NULL;
	node_seq_add(to, e);
	/* a Pod of the DNS namespace that fails the DNS Pods' selector (one of
	 * its labels differs) and, with a Local Redirect Policy, also fails the
	 * node-local-dns Pods' (one of theirs differs): one entry per pair */
	for (size_t i = 0; i < p->dns_nlabels; i++) {
		for (size_t j = 0; j < (p->lrp_nlabels ? p->lrp_nlabels : 1); j++) {
			struct node *key = node_new_strf(a, "k8s:%s", p->dns_labels[i].k);
			struct node *lkey = p->lrp_nlabels ? node_new_strf(a, "k8s:%s", p->lrp_labels[j].k) : NULL;

			if (!key || (p->lrp_nlabels && !lkey) || !(e = node_new_map(a)) ||
			    !(exprs = node_new_seq(a)))
				return NULL;
			node_seq_add(exprs, expr(a, CIL_NS, "In", p->dns_namespace));
			node_seq_add(exprs, expr(a, key->str, "NotIn", p->dns_labels[i].v));
			if (lkey)
				node_seq_add(exprs, expr(a, lkey->str, "NotIn", p->lrp_labels[j].v));
			if (exprs->count != 2 + (lkey != NULL) || !exprs->head || !exprs->tail ||
			    node_map_put(a, e, "matchExpressions", exprs) < 0)
				return NULL;
			node_seq_add(to, e);
		}
	}
	if (node_map_put(a, r, "toEndpoints", to) < 0)
		return NULL;
	node_seq_add(deny, r);
	/* the DNS Pods on every other port (node-local-dns Pods: but 53) */
	for (int k = 0; k < 1 + (p->lrp_nlabels != 0); k++) {
		if (!(r = node_new_map(a)) || !(to = node_new_seq(a)) ||
		    !(e = k ? cil_endpoints(a, p->dns_namespace, p->lrp_labels, p->lrp_nlabels) :
			      cil_endpoints(a, p->dns_namespace, p->dns_labels, p->dns_nlabels)))
			return NULL;
		node_seq_add(to, e);
		if (node_map_put(a, r, "toEndpoints", to) < 0 ||
		    node_map_put(a, r, "toPorts", k ? cil_all_but(a, dns_port, 1) :
					cil_all_but(a, p->dns_ports, p->dns_nports)) < 0)
			return NULL;
		node_seq_add(deny, r);
	}
	/* every address outside the public blocks */
	if (p->closed.n) {
		if (!(r = node_new_map(a)) || !(to = node_new_seq(a)))
			return NULL;
		for (size_t i = 0; i < p->closed.n; i++) {
			if (!(e = node_new_map(a)) || node_map_put(a, e, "cidr", cidr_str(a, &p->closed.items[i])) < 0)
				return NULL;
			node_seq_add(to, e);
		}
		if (node_map_put(a, r, "toCIDRSet", to) < 0)
			return NULL;
		node_seq_add(deny, r);
	}
	if (node_map_put(a, spec, "egressDeny", deny) < 0 || !(ingd = node_new_seq(a)) ||
	    !(r = node_new_map(a)) || node_map_put(a, r, "fromEntities", node_new_str_seq(a, ent_in, 8)) < 0)
		return NULL;
	node_seq_add(ingd, r);
	if (node_map_put(a, spec, "ingressDeny", ingd) < 0)
		return NULL;
	return o;
}

static struct node *
cnp_guard_spec(struct arena *a, struct node *o, const char *ns, int prio)
{
	struct kv nsl = { "kubernetes.io/metadata.name", ns };
	struct node *spec, *subj;

	if (!(spec = node_map_sub_put(a, o, "spec")) ||
	    node_map_put(a, spec, "tier", node_new_lit(a, "Admin")) < 0 ||
	    node_map_put(a, spec, "priority", node_new_int(a, prio)) < 0 ||
	    !(subj = node_map_sub_put(a, spec, "subject")) ||
	    node_map_put(a, subj, "namespaces", match_labels(a, &nsl, 1)) < 0)
		return NULL;
	return spec;
}

/*
 * ClusterNetworkPolicy: two Admin-tier policies for the namespace, around
 * the agents' own (CNP_PRIO_AGENT). Egress, first: DNS Pods on their ports
 * (and NodeLocal DNSCache on 53) are passed on (to the NetworkPolicy tier), every Pod and node and every
 * address outside the public blocks denied. Ingress, last: denied from
 * every Pod, after the agents' own Accepts for what their specs open.
 */
static int
guard_cnp(struct arena *a, const struct profile *p, const char *ns, char names[][256],
	  struct node **objs)
{
	static const char *const udp_tcp[] = { "udp", "tcp" };
	struct node *spec, *eg, *r, *to, *peer, **items, *ing;
	const int one = dns_pods_on_53(p);

	NN(objs[0] = guard_object(a, CNP_API, "ClusterNetworkPolicy", names[0], ns));
	NN(spec = cnp_guard_spec(a, objs[0], ns, CNP_PRIO_GUARD_EGRESS));
	NN(eg = node_new_seq(a));
	NN(r = cnp_rule(a, "dns", "Pass"));
	NN(to = node_new_seq(a));
	NN(peer = node_new_map(a));
	TRY(node_map_put(a, peer, "pods", ns_peer(a, p->dns_namespace, p->dns_labels, p->dns_nlabels)));
	node_seq_add(to, peer);
	if (!one) {
		/* the DNS Pods on their ports; NodeLocal DNSCache's 53 in a rule of its own */
		TRY(node_map_put(a, r, "to", to));
		TRY(node_map_put(a, r, "protocols",
				 cnp_protocols(a, udp_tcp, 2, p->dns_ports, p->dns_nports)));
		node_seq_add(eg, r);
		NN(r = cnp_rule(a, "dns-nodelocal", "Pass"));
		NN(to = node_new_seq(a));
	}
	if (p->has_nodelocal) {
		struct node *nets;

		NN(peer = node_new_map(a));
		NN(nets = node_new_seq(a));
		node_seq_add(nets, cidr_str(a, &p->nodelocal));
		NN(nets->head);
		TRY(node_map_put(a, peer, "networks", nets));
		node_seq_add(to, peer);
	}
	if (p->lrp_nlabels) {
		NN(peer = node_new_map(a));
		TRY(node_map_put(a, peer, "pods", ns_peer(a, p->dns_namespace, p->lrp_labels,
							  p->lrp_nlabels)));
		node_seq_add(to, peer);
	}
	if (to->count) {
		TRY(node_map_put(a, r, "to", to));
		TRY(node_map_put(a, r, "protocols", cnp_protocols(a, udp_tcp, 2, dns_port, 1)));
		node_seq_add(eg, r);
	}
	NN(r = cnp_rule(a, "cluster", "Deny"));
	NN(to = node_new_seq(a));
	NN(peer = node_new_map(a));
	TRY(node_map_put(a, peer, "namespaces", node_new_map(a)));
	node_seq_add(to, peer);
	NN(peer = node_new_map(a));
	TRY(node_map_put(a, peer, "nodes", node_new_map(a)));
	node_seq_add(to, peer);
	TRY(node_map_put(a, r, "to", to));
	node_seq_add(eg, r);
	NN(items = arena_alloc(a, (p->closed.n + 1) * sizeof(struct node *)));
	for (size_t i = 0; i < p->closed.n; i++)
		NN(items[i] = cidr_str(a, &p->closed.items[i]));
	TRY(cnp_add_list_rules(a, eg, "not-public", "Deny", "networks", items, p->closed.n, NULL));
	TRY(node_map_put(a, spec, "egress", eg));

	NN(objs[1] = guard_object(a, CNP_API, "ClusterNetworkPolicy", names[1], ns));
	NN(spec = cnp_guard_spec(a, objs[1], ns, CNP_PRIO_GUARD_INGRESS));
	NN(ing = node_new_seq(a));
	NN(r = cnp_rule(a, "cluster", "Deny"));
	NN(to = node_new_seq(a));
	NN(peer = node_new_map(a));
	TRY(node_map_put(a, peer, "namespaces", node_new_map(a)));
	node_seq_add(to, peer);
	TRY(node_map_put(a, r, "from", to));
	node_seq_add(ing, r);
	TRY(node_map_put(a, spec, "ingress", ing));
	return 0;
}

/*
 * The agents' own ServiceAccount: the namespace's `default` account may
 * carry a cloud identity (eks.amazonaws.com/role-arn, Azure workload
 * identity), and the webhooks that read it inject credentials into every
 * Pod that runs as it, whatever the Pod says. This one carries no
 * annotation at all, and no token is mounted from it.
 */
static struct node *
service_account(struct arena *a, const char *ns)
{
	struct node *o = node_new_map(a), *meta, *labels;

	if (!o || node_map_put(a, o, "apiVersion", node_new_lit(a, "v1")) < 0 ||
	    node_map_put(a, o, "kind", node_new_lit(a, "ServiceAccount")) < 0 ||
	    !(meta = node_map_sub_put(a, o, "metadata")) ||
	    node_map_put(a, meta, "name", node_new_lit(a, AGENT_SERVICE_ACCOUNT)) < 0 ||
	    node_map_put(a, meta, "namespace", str(a, ns)) < 0 ||
	    !(labels = node_map_sub_put(a, meta, "labels")) ||
	    node_map_put(a, labels, LABEL_MANAGED, node_new_lit(a, MANAGED_BY)) < 0 ||
	    node_map_put(a, labels, LABEL_NAMESPACE, str(a, ns)) < 0 ||
	    node_map_put(a, labels, LABEL_GUARD, str(a, "true")) < 0 ||
	    node_map_put(a, o, "automountServiceAccountToken", node_new_bool(a, 0)) < 0)
		return NULL;
	return o;
}

int
build_guard(const struct build_ctx *ctx, const char *ns, struct arena *a, struct node **objs,
	    size_t *nobjs)
{
	char names[BUILD_MAX_GUARDS][256];
	size_t n;

	*nobjs = 0;
	NN(objs[0] = service_account(a, ns));
	build_guard_names(names, &n, ctx->p, ns);
	if (ctx->p->enforcement == ENF_CILIUM)
		NN(objs[1] = guard_cilium(a, ctx->p, ns, names[0]));
	else if (ctx->p->enforcement == ENF_CNP)
		TRY(guard_cnp(a, ctx->p, ns, names, objs + 1));
	if (ctx->p->writers) {
		size_t k = n - 2;

		NN(objs[1 + k] = guard_object(a, ADMISSION_API, "ValidatingAdmissionPolicy", names[k], ns));
		TRY(admission_policy(a, ctx->p, ns, objs[1 + k]));
		NN(objs[2 + k] = guard_object(a, ADMISSION_API, "ValidatingAdmissionPolicyBinding",
					      names[k + 1], ns));
		TRY(admission_binding(a, ns, objs[2 + k]));
	}
	*nobjs = 1 + n;
	return 0;
}

int
build_init(struct build_ctx *ctx, const struct profile *p, const struct tmpl *t)
{
	ctx->p = p;
	ctx->t = t;
	return 0;
}

void
build_free(struct build_ctx *ctx)
{
	ctx->p = NULL;
	ctx->t = NULL;
}

int
build_agent(const struct build_ctx *ctx, const struct spec_agent *ag, struct arena *a,
	    struct node **objs, size_t *nobjs)
{
	size_t n = 0;

	*nobjs = 0;
	if (ctx->p->enforcement == ENF_CILIUM) {
		NN(objs[n++] = cil_policy(ag, ctx->p, ctx->t, a));
	} else {
		NN(objs[n++] = netpol(ag, ctx->p, ctx->t, a));
		if (ctx->p->enforcement == ENF_CNP) {
			TRY(cnp_agent(ag, ctx->p, a, &objs[n]));
			n += objs[n] != NULL;
		}
	}
	if (ag->mode == MODE_GATEWAY)
		NN(objs[n++] = egw(ag, ctx->p, ctx->t, a));
	NN(objs[n++] = pod(ag, ctx->p, ctx->t, a));
	TRY(pod_limits(ag, ctx->p, objs[n - 1], a));
	*nobjs = n;
	return 0;
}

/* One Flux Kustomization of the flux layout: `what` is policies or pods. */
static struct node *
flux_kustomization(struct arena *a, const char *dir, const char *what, int prune)
{
	struct node *o = node_new_map(a), *meta, *labels, *spec, *src;

	if (!o || node_map_put(a, o, "apiVersion", node_new_lit(a, "kustomize.toolkit.fluxcd.io/v1")) < 0 ||
	    node_map_put(a, o, "kind", node_new_lit(a, "Kustomization")) < 0 ||
	    !(meta = node_map_sub_put(a, o, "metadata")) ||
	    node_map_put(a, meta, "name", node_new_strf(a, "agentfence-%s", what)) < 0 ||
	    node_map_put(a, meta, "namespace", node_new_lit(a, "flux-system")) < 0 ||
	    !(labels = node_map_sub_put(a, meta, "labels")) ||
	    node_map_put(a, labels, LABEL_MANAGED, node_new_lit(a, MANAGED_BY)) < 0 ||
	    !(spec = node_map_sub_put(a, o, "spec")) ||
	    node_map_put(a, spec, "interval", str(a, "10m")) < 0 ||
	    node_map_put(a, spec, "path", node_new_strf(a, "./%s/%s", dir, what)) < 0 ||
	    node_map_put(a, spec, "prune", node_new_bool(a, prune)) < 0 ||
	    !(src = node_map_sub_put(a, spec, "sourceRef")) ||
	    node_map_put(a, src, "kind", node_new_lit(a, "GitRepository")) < 0 ||
	    node_map_put(a, src, "name", node_new_lit(a, "flux-system")) < 0)
		return NULL;
	return o;
}

int
build_flux(struct arena *a, const char *dir, struct node **objs)
{
	struct node *spec, *dep, *ref;

	/* the policies: wait, so that "ready" means every object was applied
	 * and is current; no prune, which would delete an agent's policy
	 * before the Pods' Kustomization deletes its Pod */
	NN(objs[0] = flux_kustomization(a, dir, "policies", 0));
	NN(spec = node_map_get(objs[0], "spec"));
	TRY(node_map_put(a, spec, "wait", node_new_bool(a, 1)));
	TRY(node_map_put(a, spec, "timeout", str(a, "5m")));
	/* the Pods: only once the policies' Kustomization is ready */
	NN(objs[1] = flux_kustomization(a, dir, "pods", 1));
	NN(spec = node_map_get(objs[1], "spec"));
	NN(dep = node_new_seq(a));
	NN(ref = node_new_map(a));
	TRY(node_map_put(a, ref, "name", node_new_lit(a, "agentfence-policies")));
	node_seq_add(dep, ref);
	TRY(node_map_put(a, spec, "dependsOn", dep));
	return 0;
}
