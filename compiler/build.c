/* SPDX-License-Identifier: Apache-2.0 */
#include "build.h"

#include <stdio.h>
#include <string.h>

void
build_netpol_name(char *out, const struct spec_agent *ag)
{
	snprintf(out, 256, "isolate-%s", ag->name);
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

static int
add_dns_rule(struct arena *a, struct node *egress, const struct profile *p)
{
	static const uint16_t dns[] = { 53 };
	struct node *rule = node_new_map(a), *to, *peer, *ports, *tcp;

	NN(rule);
	NN(to = node_new_seq(a));
	NN(peer = ns_peer(a, p->dns_namespace, p->dns_labels, p->dns_nlabels));
	node_seq_add(to, peer);
	if (p->has_nodelocal) {
		NN(peer = ip_block(a, &p->nodelocal, NULL));
		node_seq_add(to, peer);
	}
	TRY(node_map_put(a, rule, "to", to));
	NN(ports = port_list(a, "UDP", dns, 1));
	NN(tcp = port_list(a, "TCP", dns, 1));
	node_seq_add(ports, tcp->head);
	TRY(node_map_put(a, rule, "ports", ports));
	node_seq_add(egress, rule);
	return 0;
}

static int
add_public_rule(struct arena *a, struct node *egress, const struct spec_agent *ag,
		const struct profile *p)
{
	struct node *rule, *to, *peer;

	NN(to = node_new_seq(a));
	if (ag->mode == MODE_ALLOWLIST) {
		for (size_t i = 0; i < ag->allow.n; i++) {
			if (ag->allow.items[i].family == CIDR_V4 && !p->ipv4)
				continue;   /* reached through NAT64 only */
			NN(peer = ip_block(a, &ag->allow.items[i], NULL));
			node_seq_add(to, peer);
		}
		if (p->nat64) {
			/* an IPv6-only Pod reaches an allowed IPv4 range through NAT64 */
			for (size_t i = 0; i < ag->allow.n; i++) {
				struct cidr img;

				if (ag->allow.items[i].family != CIDR_V4)
					continue;
				img = cidr_nat64(&ag->allow.items[i]);
				NN(peer = ip_block(a, &img, NULL));
				node_seq_add(to, peer);
			}
		}
	} else {
		for (size_t i = 0; i < p->nblocks; i++) {
			/* gateway mode: IPv4 alone (the gateway carries IPv4; IPv6
			 * would leave without the static IP) */
			if (ag->mode == MODE_GATEWAY && p->blocks[i].cidr.family != CIDR_V4)
				continue;
			NN(peer = ip_block(a, &p->blocks[i].cidr, p->blocks[i].except_node));
			node_seq_add(to, peer);
		}
	}
	if (!to->count)
		return 0;   /* the profile blocks everything */
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

		if (!eg || add_dns_rule(a, eg, p) < 0 || add_public_rule(a, eg, ag, p) < 0 ||
		    node_map_put(a, spec, "egress", eg) < 0)
			return NULL;
	}
	return np;
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

static struct node *
str_seq(struct arena *a, const char *const *v, size_t n)
{
	struct node *seq = node_new_seq(a), *s;

	if (!seq)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(s = str(a, v[i])))
			return NULL;
		node_seq_add(seq, s);
	}
	return seq;
}

/* The agent's own container fields, in order: name, image, command, args, env, resources. */
static struct node *
agent_container(struct arena *a, const struct spec_agent *ag)
{
	struct node *c = node_new_map(a), *env, *e, *res, *lim, *req;

	if (!c || node_map_put(a, c, "name", node_new_lit(a, "agent")) < 0 ||
	    node_map_put(a, c, "image", str(a, ag->image)) < 0)
		return NULL;
	if (ag->has_command && node_map_put(a, c, "command", str_seq(a, ag->command, ag->ncommand)) < 0)
		return NULL;
	if (ag->has_args && node_map_put(a, c, "args", str_seq(a, ag->args, ag->nargs)) < 0)
		return NULL;
	if (ag->nenv) {
		if (!(env = node_new_seq(a)))
			return NULL;
		for (size_t i = 0; i < ag->nenv; i++) {
			if (!(e = node_new_map(a)) ||
			    node_map_put(a, e, "name", str(a, ag->env[i].name)) < 0 ||
			    node_map_put(a, e, "value", str(a, ag->env[i].value)) < 0)
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
	    !(req = node_map_sub_put(a, res, "requests")) ||
	    node_map_put(a, req, "cpu", str(a, ag->cpu)) < 0 ||
	    node_map_put(a, req, "memory", str(a, ag->memory)) < 0)
		return NULL;
	return c;
}

static struct node *
pod(const struct spec_agent *ag, const struct tmpl *t, struct arena *a)
{
	struct node *pod = node_clone(a, t->obj[TMPL_POD]), *spec, *sc, *seccomp, *ctr, *csc,
		    *caps, *drop, *cs;

	if (!pod || set_metadata(a, pod, ag, ag->name, 1, "0") < 0 ||
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
	return pod;
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
	NN(objs[n++] = netpol(ag, ctx->p, ctx->t, a));
	if (ag->mode == MODE_GATEWAY)
		NN(objs[n++] = egw(ag, ctx->p, ctx->t, a));
	NN(objs[n++] = pod(ag, ctx->t, a));
	*nobjs = n;
	return 0;
}
