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
proto_netpol(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t,
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
proto_egw(const struct spec_agent *ag, const struct profile *p, const struct tmpl *t,
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
proto_pod(const struct spec_agent *ag, const struct tmpl *t, struct arena *a)
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

/* --- per agent: the prototypes, specialized --- */

#include "emit.h"

/* Render the value of every key of `map` not in `skip` once (keys at `indent`). */
static int
prerender_values(struct arena *a, struct node *map, size_t indent, const char *const *skip)
{
	for (struct node *k = map->head; k; k = k->next) {
		const char *const *s;

		for (s = skip; *s && strcmp(*s, k->str); s++)
			;
		if (!*s && !(k->val = emit_prerender(a, k->val, indent, 0)))
			return -1;
	}
	return 0;
}

static int
set_key(struct arena *a, struct node *map, struct node *key_from, struct node *val)
{
	struct node *k = arena_alloc(a, sizeof(*k));

	if (!k || !val)
		return -1;
	*k = *key_from;
	k->val = val;
	node_seq_add(map, k);   /* keys are appended like list items */
	return 0;
}

/* metadata: name, namespace, then the prototype's keys with the agent's labels. */
static struct node *
agent_meta(struct arena *a, const struct node *proto, const struct spec_agent *ag,
	   const char *name, int namespaced)
{
	struct node *m = node_new_map(a);

	if (!m || node_map_put(a, m, "name", str(a, name)) < 0 ||
	    (namespaced && node_map_put(a, m, "namespace", str(a, ag->ns)) < 0))
		return NULL;
	for (struct node *k = proto->head; k; k = k->next) {
		struct node *v = k->val;

		if (!strcmp(k->str, "name") || !strcmp(k->str, "namespace"))
			continue;
		if (!strcmp(k->str, "labels")) {
			struct node *l = node_new_map(a);

			if (!l)
				return NULL;
			for (struct node *lk = v->head; lk; lk = lk->next) {
				struct node *lv = !strcmp(lk->str, LABEL_JOB) ? str(a, ag->name)
						: !strcmp(lk->str, LABEL_NAMESPACE) ? str(a, ag->ns)
						: lk->val;

				if (set_key(a, l, lk, lv) < 0)
					return NULL;
			}
			v = l;
		}
		if (set_key(a, m, k, v) < 0)
			return NULL;
	}
	return m;
}

/* The same top-level keys as the prototype, with agent-specific metadata and spec. */
static struct node *
agent_object(struct arena *a, const struct node *proto, struct node *meta, struct node *spec)
{
	struct node *o = node_new_map(a);

	if (!o || !meta || !spec)
		return NULL;
	for (struct node *k = proto->head; k; k = k->next) {
		struct node *v = !strcmp(k->str, "metadata") ? meta : !strcmp(k->str, "spec") ? spec : k->val;

		if (set_key(a, o, k, v) < 0)
			return NULL;
	}
	return o;
}

static struct node *
agent_netpol(const struct build_ctx *ctx, const struct spec_agent *ag, struct arena *a)
{
	const struct profile *p = ctx->p;
	struct node *spec = node_new_map(a), *sel, *meta;
	struct kv job = { LABEL_JOB, ag->name };
	char name[256];

	build_netpol_name(name, ag);
	if (!spec || !(meta = agent_meta(a, ctx->netpol_meta_rest, ag, arena_strndup(a, name, strlen(name)), 1)) ||
	    !(sel = match_labels(a, &job, 1)) || node_map_put(a, spec, "podSelector", sel) < 0 ||
	    node_map_put(a, spec, "policyTypes", ctx->policy_types) < 0)
		return NULL;
	if (ag->ningress && node_map_put(a, spec, "ingress", ingress_rules(a, ag)) < 0)
		return NULL;
	if (ag->mode != MODE_NONE) {
		struct node *eg = node_new_seq(a), *rule = NULL, *to = NULL;

		if (!eg)
			return NULL;
		/* node_seq_add() drops a NULL item: an unchecked clone would lose DNS */
		if (!(rule = node_clone(a, ctx->dns_rule)))
			return NULL;
		node_seq_add(eg, rule);
		rule = NULL;
		if (ag->mode == MODE_ALLOWLIST) {
			struct node *tmp = node_new_seq(a);

			if (!tmp || add_public_rule(a, tmp, ag, p) < 0)
				return NULL;
			rule = tmp->head;
		} else if (ag->mode == MODE_GATEWAY ? ctx->gateway_to : ctx->public_to) {
			if (!(rule = node_new_map(a)) ||
			    !(to = node_clone(a, ag->mode == MODE_GATEWAY ? ctx->gateway_to : ctx->public_to)) ||
			    node_map_put(a, rule, "to", to) < 0)
				return NULL;
			if (ag->nports) {
				struct node *ports = port_list(a, "TCP", ag->ports, ag->nports);

				if (!ports || node_map_put(a, rule, "ports", ports) < 0)
					return NULL;
			}
		}
		if (rule)
			node_seq_add(eg, rule);
		if (eg->count < 1 || node_map_put(a, spec, "egress", eg) < 0)
			return NULL;
	}
	return agent_object(a, ctx->netpol, meta, spec);
}

static struct node *
agent_egw(const struct build_ctx *ctx, const struct spec_agent *ag, struct arena *a)
{
	struct node *spec = node_new_map(a), *sels, *sel, *ps, *ml, *gw, *meta;
	char name[256], buf[CIDR_STRLEN];

	build_egw_name(name, ag);
	if (!spec || !(meta = agent_meta(a, ctx->egw_meta_rest, ag, arena_strndup(a, name, strlen(name)), 0)) ||
	    !(sels = node_new_seq(a)) || !(sel = node_new_map(a)) ||
	    !(ps = node_map_sub_put(a, sel, "podSelector")) || !(ml = node_map_sub_put(a, ps, "matchLabels")) ||
	    node_map_put(a, ml, LABEL_JOB, str(a, ag->name)) < 0 ||
	    /* the policy is cluster-scoped: pin the namespace too */
	    node_map_put(a, ml, "io.kubernetes.pod.namespace", str(a, ag->ns)) < 0)
		return NULL;
	node_seq_add(sels, sel);
	if (node_map_put(a, spec, "selectors", sels) < 0 ||
	    node_map_put(a, spec, "destinationCIDRs", ctx->egw_dst) < 0 ||
	    (ctx->egw_excluded && node_map_put(a, spec, "excludedCIDRs", ctx->egw_excluded) < 0))
		return NULL;
	cidr_format(&ag->static_ip, buf, 0);
	if (!(gw = node_map_sub_put(a, spec, "egressGateway")) ||
	    node_map_put(a, gw, "nodeSelector", ag->gw_nselector
			 ? match_labels(a, ag->gw_selector, ag->gw_nselector)
			 : ctx->egw_default_sel) < 0 ||
	    node_map_put(a, gw, "egressIP", str(a, arena_strndup(a, buf, strlen(buf)))) < 0)
		return NULL;
	return agent_object(a, ctx->egw, meta, spec);
}

static struct node *
agent_pod(const struct build_ctx *ctx, const struct spec_agent *ag, struct arena *a)
{
	const struct node *proto = ctx->pod;
	const struct node *pspec = node_map_get(proto, "spec");
	struct node *spec = node_new_map(a), *meta, *cs, *ctr;

	if (!spec || !(meta = agent_meta(a, node_map_get(proto, "metadata"), ag, ag->name, 1)))
		return NULL;
	for (struct node *k = pspec->head; k; k = k->next) {
		struct node *v = k->val;

		if (!strcmp(k->str, "runtimeClassName")) {
			v = str(a, ag->runtime_class);
		} else if (!strcmp(k->str, "containers")) {
			if (!(cs = node_new_seq(a)) || !(ctr = agent_container(a, ag)))
				return NULL;
			/* the prototype's other container fields: template extras, securityContext */
			for (struct node *ck = v->head->head; ck; ck = ck->next)
				if (strcmp(ck->str, "name") && strcmp(ck->str, "image") &&
				    strcmp(ck->str, "resources") && set_key(a, ctr, ck, ck->val) < 0)
					return NULL;
			node_seq_add(cs, ctr);
			v = cs;
		}
		if (set_key(a, spec, k, v) < 0)
			return NULL;
	}
	return agent_object(a, proto, meta, spec);
}

int
build_init(struct build_ctx *ctx, const struct profile *p, const struct tmpl *t)
{
	static const char *const meta_skip[] = { "name", "namespace", "labels", NULL };
	static const char *const spec_skip[] = { "runtimeClassName", "containers", NULL };
	static const char *const ctr_skip[] = { "name", "image", "resources", NULL };
	struct spec_agent dummy;
	struct arena *a = &ctx->arena;
	struct node *np, *egw, *spec, *ctr, *eg, *rule, *to, *sel;
	struct kv def = { "egress-gateway", "true" };

	memset(ctx, 0, sizeof(*ctx));
	ctx->p = p;
	ctx->t = t;
	/* a placeholder agent in public and gateway mode gives every shared part */
	memset(&dummy, 0, sizeof(dummy));
	dummy.name = "x";
	dummy.ns = "x";
	dummy.image = "x";
	dummy.cpu = dummy.memory = "1";
	dummy.runtime_class = "x";
	dummy.mode = MODE_PUBLIC;
	if (!(np = proto_netpol(&dummy, p, t, a)) || !(ctx->pod = proto_pod(&dummy, t, a)))
		return -1;
	dummy.mode = MODE_GATEWAY;
	if (!(egw = proto_egw(&dummy, p, t, a)))
		return -1;
	ctx->netpol = np;
	ctx->egw = egw;
	ctx->netpol_meta_rest = node_map_get(np, "metadata");
	ctx->egw_meta_rest = node_map_get(egw, "metadata");
	spec = node_map_get(np, "spec");
	eg = node_map_get(spec, "egress");
	if (!(ctx->policy_types = emit_prerender(a, node_map_get(spec, "policyTypes"), 2, 0)) ||
	    !(ctx->dns_rule = emit_prerender(a, eg->head, 2, 1)))
		return -1;
	rule = eg->head->next;
	to = rule ? node_map_get(rule, "to") : NULL;
	if (to && !(ctx->public_to = emit_prerender(a, to, 4, 0)))
		return -1;
	/* gateway mode: the IPv4 block alone (IPv6 would leave without the static IP) */
	for (size_t i = 0; to && i < p->nblocks; i++) {
		struct node *gto, *peer;

		if (p->blocks[i].cidr.family != CIDR_V4)
			continue;
		if (!(gto = node_new_seq(a)) ||
		    !(peer = ip_block(a, &p->blocks[i].cidr, p->blocks[i].except_node)))
			return -1;
		node_seq_add(gto, peer);
		if (!(ctx->gateway_to = emit_prerender(a, gto, 4, 0)))
			return -1;
	}
	spec = node_map_get(egw, "spec");
	if (!(ctx->egw_dst = emit_prerender(a, node_map_get(spec, "destinationCIDRs"), 2, 0)))
		return -1;
	if (node_map_get(spec, "excludedCIDRs") &&
	    !(ctx->egw_excluded = emit_prerender(a, node_map_get(spec, "excludedCIDRs"), 2, 0)))
		return -1;
	if (!(sel = match_labels(a, &def, 1)) || !(ctx->egw_default_sel = emit_prerender(a, sel, 4, 0)))
		return -1;
	if (prerender_values(a, ctx->netpol_meta_rest, 2, meta_skip) < 0 ||
	    prerender_values(a, ctx->egw_meta_rest, 2, meta_skip) < 0 ||
	    prerender_values(a, node_map_get(ctx->pod, "metadata"), 2, meta_skip) < 0)
		return -1;
	spec = node_map_get(ctx->pod, "spec");
	ctr = node_map_get(spec, "containers")->head;
	if (prerender_values(a, spec, 2, spec_skip) < 0 || prerender_values(a, ctr, 4, ctr_skip) < 0)
		return -1;
	/* the prototypes do not change from here on: their keys and strings
	 * that need no quotes are marked so, not checked for every agent */
	emit_mark_plain(ctx->pod);
	emit_mark_plain(ctx->netpol);
	emit_mark_plain(ctx->egw);
	return 0;
}

void
build_free(struct build_ctx *ctx)
{
	arena_free(&ctx->arena);
}

int
build_agent(const struct build_ctx *ctx, const struct spec_agent *ag, struct arena *a,
	    struct node **objs, size_t *nobjs)
{
	size_t n = 0;

	*nobjs = 0;
	NN(objs[n++] = agent_netpol(ctx, ag, a));
	if (ag->mode == MODE_GATEWAY)
		NN(objs[n++] = agent_egw(ctx, ag, a));
	NN(objs[n++] = agent_pod(ctx, ag, a));
	*nobjs = n;
	return 0;
}
