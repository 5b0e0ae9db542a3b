/* SPDX-License-Identifier: Apache-2.0 */
/* audit: see audit.h */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "build.h"
#include "cidr.h"
#include "jsonparse.h"
#include "node.h"
#include "reach.h"
#include "xalloc.h"

#define PATH_LEN 1400
#define PAGE_DEFAULT 500
#define MAX_PAGES 100000        /* a server that never stops paging */
#define MAX_RESTARTS 5          /* 410 Gone restarts of one list */
#define MAX_CONTINUE 4096       /* bytes of a continue token */
#define KEY_LEN 600
#define DETAIL_MAX 400          /* bytes of a rule's peers in a finding */

/* --- what audit reads (data, not code) --- */

enum ares { AR_NS, AR_NP, AR_CNP, AR_CCNP, AR_CLNP, AR_VAP, AR_VAPB, AR_POD, AR_COUNT };

static const struct ares_def {
	const char *kind, *path;        /* the cluster-wide collection */
	const char *api;                /* its apiVersion */
	int policy;                     /* selects Pods */
	int optional;                   /* 404: not installed, skipped */
} ares_defs[AR_COUNT] = {
	{ "Namespace", "/api/v1/namespaces", "v1", 0, 0 },
	{ "NetworkPolicy", "/apis/networking.k8s.io/v1/networkpolicies", "networking.k8s.io/v1", 1, 0 },
	{ "CiliumNetworkPolicy", "/apis/cilium.io/v2/ciliumnetworkpolicies", "cilium.io/v2", 1, 1 },
	{ "CiliumClusterwideNetworkPolicy", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies",
	  "cilium.io/v2", 1, 1 },
	{ "ClusterNetworkPolicy", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies",
	  "policy.networking.k8s.io/v1alpha2", 1, 1 },
	{ "ValidatingAdmissionPolicy",
	  "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
	  "admissionregistration.k8s.io/v1", 0, 1 },
	{ "ValidatingAdmissionPolicyBinding",
	  "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
	  "admissionregistration.k8s.io/v1", 0, 1 },
	{ "Pod", "/api/v1/pods", "v1", 0, 0 },
};

static const char *const kind_names[] = {
	[AUDIT_WIDENS] = "widens", [AUDIT_UNFENCED] = "unfenced", [AUDIT_DRIFT] = "drift",
	[AUDIT_GUARD_MISSING] = "guard-missing",
};

const char *
audit_kind_name(enum audit_kind k)
{
	return kind_names[k];
}

/* A policy, as much of it as a Pod's verdict needs. */
struct pol {
	enum ares res;
	char *ns;               /* "" when cluster-scoped */
	char *name;
	char *job;              /* its selector's matchLabels job-id, or "": an index */
	int managed;            /* agentfence wrote it (and not as a guard) */
	int ours;               /* agentfence wrote it (a guard too) */
	json_t *sel;            /* podSelector, endpointSelector, or subject */
	json_t *rules;          /* not agentfence's: [[rule, peers], ...] of what it allows */
	char *spec;             /* its spec, compact JSON: text is the smallest to keep */
	struct node *node;      /* obj for the evaluator, once a Pod needs it (in audit.nodes;
				 * a policy of one job-id's is converted per Pod, pol_node) */
};

struct audit {
	struct kapi *k;
	const struct audit_opts *o;
	struct audit_summary *s;
	char limit[16];
	struct pol *p;
	size_t np, capp;
	size_t nscoped;         /* p[0..nscoped): namespaced, sorted by ns, job */
	json_t *nslabels;       /* namespace -> its labels */
	json_t *present;        /* "Kind/ns/name" of every listed policy and admission object */
	json_t *agent_ns;       /* agent namespaces -> true */
	json_t *late;           /* namespaces found agentfence's from a Pod only -> that Pod's name */
	struct arena nodes;     /* the policies' node trees: converted once, for every Pod */
	struct arena scratch;   /* one Pod's evaluation */
	struct pol **hit;       /* the policies selecting the Pod being judged */
	size_t nhit, caphit;
	int oom;
	/* the list in progress */
	enum ares res;
	const char *late_ns;    /* the second Pod pass: this namespace only */
	char cont[MAX_CONTINUE + 1];
	char last[KEY_LEN];     /* the key of the last item taken (ns/name) */
	long status;
	int gone, missing;
	int (*item)(struct audit *au, json_t *it);
};

static void
note(struct audit *au, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct audit *au, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	if (!au->o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	au->o->note(au->o->ctx, line);
}

static void
finding(struct audit *au, const struct audit_finding *f)
{
	au->s->findings++;
	if (au->o->finding)
		au->o->finding(au->o->ctx, f);
}

static const char *
mstr(json_t *it, const char *key)
{
	return json_string_value(json_object_get(json_object_get(it, "metadata"), key));
}

static const char *
mlabel(json_t *it, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(it, "metadata"),
								 "labels"), key));
}

static int
is_ours(json_t *it)
{
	const char *m = mlabel(it, LABEL_MANAGED);

	return m && strcmp(m, MANAGED_BY) == 0;
}

static int
mark(json_t *set, const char *key)
{
	return json_object_get(set, key) ? 0 : json_object_set_new(set, key, json_true());
}

/* --- paging --- */

static void
on_page(void *ctx, const struct kapi_response *r)
{
	struct audit *au = ctx;
	json_t *items, *it;
	const char *c;
	size_t i;

	au->status = r->status;
	au->cont[0] = '\0';
	if (r->status == 410) {
		au->gone = 1;
		return;
	}
	if (r->status == 404 && ares_defs[au->res].optional) {
		au->missing = 1;
		return;
	}
	if (r->status < 200 || r->status > 299 || !json_is_array(items = json_object_get(r->json, "items"))) {
		snprintf(au->s->why, sizeof(au->s->why), "cannot list %s: %s%s%s",
			 ares_defs[au->res].kind, r->status ? "" : (r->error ? r->error : "no response"),
			 r->status ? r->reason : "", r->status && *r->message ? ": " : "");
		if (r->status && *r->message)
			strncat(au->s->why, r->message, sizeof(au->s->why) - strlen(au->s->why) - 1);
		if (r->status) {
			char st[24];

			snprintf(st, sizeof(st), " (HTTP %ld)", r->status);
			strncat(au->s->why, st, sizeof(au->s->why) - strlen(au->s->why) - 1);
		}
		au->s->failed = 1;
		return;
	}
	json_array_foreach(items, i, it) {
		char key[KEY_LEN];
		const char *ns = mstr(it, "namespace"), *name = mstr(it, "name");

		if (!name)
			continue;
		snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
		/* after a restart: what the first pass already took */
		if (au->last[0] && strcmp(key, au->last) <= 0)
			continue;
		memcpy(au->last, key, sizeof(key));
		if (au->item(au, it) < 0) {
			au->oom = 1;
			return;
		}
	}
	c = json_string_value(json_object_get(json_object_get(r->json, "metadata"), "continue"));
	if (c && *c) {
		if (strlen(c) > MAX_CONTINUE) {
			snprintf(au->s->why, sizeof(au->s->why), "cannot list %s: a continue token is too long",
				 ares_defs[au->res].kind);
			au->s->failed = 1;
			return;
		}
		memcpy(au->cont, c, strlen(c) + 1);   /* fits: checked above */
	}
}

/*
 * Every item of collection `path` to au->item, page by page. 0; 1 when the
 * API is not served (optional kinds); -1 when the list could not be read.
 */
static int
list_all(struct audit *au, enum ares res, const char *path, int (*item)(struct audit *, json_t *))
{
	int pages = 0, restarts = 0;

	au->res = res;
	au->item = item;
	au->cont[0] = au->last[0] = '\0';
	for (;;) {
		const char *query[] = { "limit", au->limit, "continue", au->cont[0] ? au->cont : NULL, NULL };
		struct kapi_req q = { "GET", path, query, NULL, NULL, 0, 0 };

		au->status = 0;
		au->gone = au->missing = 0;
		if (kapi_request(au->k, &q, on_page, au) < 0) {
			au->oom = 1;
			return -1;
		}
		kapi_run(au->k);
		au->s->requests++;
		if (au->oom || au->s->failed)
			return -1;
		if (au->missing) {
			note(au, "%s: not served (404): skipped", ares_defs[res].kind);
			return 1;
		}
		if (au->gone) {
			/* the continue token expired: from the top, skipping what was seen */
			if (++restarts > MAX_RESTARTS) {
				snprintf(au->s->why, sizeof(au->s->why),
					 "cannot list %s: the list expired (410 Gone) %d times", ares_defs[res].kind,
					 restarts);
				au->s->failed = 1;
				return -1;
			}
			au->s->restarts++;
			note(au, "%s: continue token expired (410 Gone): listing again from the start",
			     ares_defs[res].kind);
			au->cont[0] = '\0';
			continue;
		}
		if (!au->cont[0])
			return 0;
		if (++pages >= MAX_PAGES) {
			snprintf(au->s->why, sizeof(au->s->why), "cannot list %s: the server kept paging",
				 ares_defs[res].kind);
			au->s->failed = 1;
			return -1;
		}
	}
}

/* --- namespaces and policies --- */

static int
take_ns(struct audit *au, json_t *it)
{
	json_t *l = json_object_get(json_object_get(it, "metadata"), "labels");
	const char *name = mstr(it, "name");

	au->s->namespaces++;
	return json_object_set_new(au->nslabels, name, l ? json_deep_copy(l) : json_object());
}

/* [rule name, compact JSON of what it allows] for each rule that allows something */
static int
add_rules(json_t *out, json_t *list, const char *dir, int clnp)
{
	json_t *r;
	size_t i;

	if (!json_is_array(list))
		return 0;
	json_array_foreach(list, i, r) {
		char name[64], *txt;
		json_t *e;

		if (clnp) {
			/* ClusterNetworkPolicy: Accept allows; Pass hands over to the NetworkPolicies */
			const char *a = json_string_value(json_object_get(r, "action"));

			if (!a || (strcmp(a, "Accept") && strcmp(a, "Pass")))
				continue;
		}
		snprintf(name, sizeof(name), "%s[%zu]", dir, i);
		if (!(txt = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS)))
			return -1;
		if (strlen(txt) > DETAIL_MAX)
			memcpy(txt + DETAIL_MAX - 3, "...", 4);
		/* a rule that names nothing allows everything */
		e = json_pack("[ss]", name, strcmp(txt, "{}") ? txt : "{} (every peer, every port)");
		free(txt);
		if (!e || json_array_append_new(out, e) < 0)
			return -1;
	}
	return 0;
}

static int
take_pol(struct audit *au, json_t *it)
{
	json_t *spec = json_object_get(it, "spec"), *sel = NULL, *ml;
	const char *ns = mstr(it, "namespace"), *name = mstr(it, "name"), *job, *guard;
	char key[KEY_LEN];
	struct pol *p;

	snprintf(key, sizeof(key), "%s/%s/%s", ares_defs[au->res].kind, ns ? ns : "", name);
	if (mark(au->present, key) < 0)
		return -1;
	if (!ares_defs[au->res].policy)
		return 0;
	au->s->policies++;
	guard = mlabel(it, LABEL_GUARD);
	if (is_ours(it)) {
		/* its namespace is an agent namespace */
		const char *ans = ns ? ns : mlabel(it, LABEL_NAMESPACE);

		if (ans && mark(au->agent_ns, ans) < 0)
			return -1;
	}
	switch (au->res) {
	case AR_NP:
		sel = json_object_get(spec, "podSelector");
		break;
	case AR_CNP:
	case AR_CCNP:
		sel = json_object_get(spec, "endpointSelector");
		break;
	case AR_CLNP:
		sel = json_object_get(spec, "subject");
		break;
	default:
		break;
	}
	if (!json_is_object(sel))
		return 0;   /* selects no Pod (a Cilium nodeSelector, say) */
	if (au->np == au->capp) {
		size_t cap = au->capp ? au->capp * 2 : 256;
		struct pol *n = xreallocarray(au->p, cap, sizeof(*n));

		if (!n)
			return -1;
		au->p = n;
		au->capp = cap;
	}
	p = &au->p[au->np];
	memset(p, 0, sizeof(*p));
	p->res = au->res;
	ml = json_object_get(sel, "matchLabels");
	job = au->res == AR_NP || au->res == AR_CNP ? json_string_value(json_object_get(ml, LABEL_JOB))
						     : NULL;
	p->managed = is_ours(it) && !guard;
	p->ours = is_ours(it);
	if (!(p->ns = xstrdup(ns ? ns : "")) || !(p->name = xstrdup(name)) ||
	    !(p->job = xstrdup(job ? job : "")) || !(p->sel = json_deep_copy(sel)) ||
	    !(p->spec = json_dumps(spec, JSON_COMPACT))) {
		free(p->ns);
		free(p->name);
		free(p->job);
		json_decref(p->sel);
		return -1;
	}
	au->np++;
	if (is_ours(it))
		return 0;
	if (!(p->rules = json_array()))
		return -1;
	switch (au->res) {
	case AR_NP: {
		/* policyTypes absent: Ingress, and Egress when it has egress rules */
		json_t *types = json_object_get(spec, "policyTypes"), *t;
		int in = !json_array_size(types), eg = 0;
		size_t i;

		json_array_foreach(types, i, t) {
			in |= json_string_value(t) && !strcmp(json_string_value(t), "Ingress");
			eg |= json_string_value(t) && !strcmp(json_string_value(t), "Egress");
		}
		if (!json_array_size(types))
			eg = json_array_size(json_object_get(spec, "egress")) > 0;
		if ((in && add_rules(p->rules, json_object_get(spec, "ingress"), "ingress", 0) < 0) ||
		    (eg && add_rules(p->rules, json_object_get(spec, "egress"), "egress", 0) < 0))
			return -1;
		break;
	}
	case AR_CNP:
	case AR_CCNP:
		if (add_rules(p->rules, json_object_get(spec, "ingress"), "ingress", 0) < 0 ||
		    add_rules(p->rules, json_object_get(spec, "egress"), "egress", 0) < 0)
			return -1;
		break;
	default:
		if (add_rules(p->rules, json_object_get(spec, "ingress"), "ingress", 1) < 0 ||
		    add_rules(p->rules, json_object_get(spec, "egress"), "egress", 1) < 0)
			return -1;
		break;
	}
	return 0;
}

/* --- selectors --- */

/* A Pod's label for a selector of policy kind res ("k8s:" keys of Cilium's, too). */
struct podview {
	const char *ns;
	json_t *labels, *nslabels;
};

static const char *
label_for(const struct podview *v, enum ares res, const char *key)
{
	if (res == AR_CNP || res == AR_CCNP) {
		static const char nsl[] = "io.cilium.k8s.namespace.labels.";

		if (!strncmp(key, "k8s:", 4) || !strncmp(key, "any:", 4))
			key += 4;
		if (!strcmp(key, "io.kubernetes.pod.namespace"))
			return v->ns;
		if (!strncmp(key, nsl, sizeof(nsl) - 1))
			return json_string_value(json_object_get(v->nslabels, key + sizeof(nsl) - 1));
	}
	return json_string_value(json_object_get(v->labels, key));
}

static int
in_values(json_t *vals, const char *v)
{
	json_t *x;
	size_t i;

	json_array_foreach(vals, i, x)
		if (v && json_string_value(x) && !strcmp(json_string_value(x), v))
			return 1;
	return 0;
}

/* A LabelSelector: matchLabels and matchExpressions ({} selects everything). */
static int
sel_match(json_t *sel, const struct podview *v, enum ares res)
{
	json_t *x, *e;
	const char *k;
	size_t i;

	if (!json_is_object(sel))
		return 0;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, x) {
		const char *have = label_for(v, res, k);

		if (!have || !json_string_value(x) || strcmp(have, json_string_value(x)))
			return 0;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		const char *have = key ? label_for(v, res, key) : NULL;
		json_t *vals = json_object_get(e, "values");

		if (!op)
			return 0;
		if ((!strcmp(op, "In") && !in_values(vals, have)) ||
		    (!strcmp(op, "NotIn") && have && in_values(vals, have)) ||
		    (!strcmp(op, "Exists") && !have) || (!strcmp(op, "DoesNotExist") && have))
			return 0;
		if (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") &&
		    strcmp(op, "DoesNotExist"))
			return 0;
	}
	return 1;
}

/* Does policy p select the Pod? */
static int
selects(const struct pol *p, const struct podview *v)
{
	if (p->res == AR_CLNP) {
		/* subject: {namespaces: sel} or {pods: {namespaceSelector, podSelector}} */
		json_t *nss = json_object_get(p->sel, "namespaces"), *pods = json_object_get(p->sel, "pods");
		struct podview nv = { v->ns, v->nslabels, NULL };

		if (nss)
			return sel_match(nss, &nv, AR_NP);
		return pods && sel_match(json_object_get(pods, "namespaceSelector"), &nv, AR_NP) &&
		       sel_match(json_object_get(pods, "podSelector"), v, AR_NP);
	}
	if (p->res == AR_CNP || p->res == AR_NP)
		return !strcmp(p->ns, v->ns) && sel_match(p->sel, v, p->res);
	return sel_match(p->sel, v, p->res);
}

static int
cmp_pol(const void *x, const void *y)
{
	const struct pol *a = x, *b = y;
	int c, sa = a->res == AR_NP || a->res == AR_CNP, sb = b->res == AR_NP || b->res == AR_CNP;

	if (sa != sb)
		return sb - sa;   /* the namespaced ones first */
	if ((c = strcmp(a->ns, b->ns)))
		return c;
	if ((c = strcmp(a->job, b->job)))
		return c;
	if ((c = (int)a->res - (int)b->res))
		return c;
	return strcmp(a->name, b->name);
}

/* The first namespaced policy at or after (ns, job) in sort order. */
static size_t
lower_bound(const struct audit *au, const char *ns, const char *job)
{
	size_t lo = 0, hi = au->nscoped;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(au->p[mid].ns, ns);

		if (!c)
			c = strcmp(au->p[mid].job, job);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The evaluator runs only where a policy not agentfence's selects a Pod:
 * with no such policy cluster-scoped, the specs of a namespace without one
 * are never read. Released before the Pods are listed (a clean cluster
 * keeps no spec).
 */
static void
drop_specs(struct audit *au)
{
	size_t i, j;

	for (i = au->nscoped; i < au->np; i++)
		if (!au->p[i].ours)
			return;
	for (i = 0; i < au->nscoped; i = j) {
		int foreign = 0;

		for (j = i; j < au->nscoped && !strcmp(au->p[j].ns, au->p[i].ns); j++)
			foreign |= !au->p[j].ours;
		for (size_t k = i; k < j && !foreign; k++) {
			free(au->p[k].spec);
			au->p[k].spec = NULL;
		}
	}
}

/* --- the Pods --- */

/* --- what a policy lets a Pod reach: the evaluator (reach.h) on node trees --- */

/* A node tree of j in arena a (strings copied). NULL when out of memory. */
static struct node *
to_node(struct arena *a, json_t *j)
{
	struct node *n = NULL;
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if (!(n = node_new_map(a)))
			return NULL;
		json_object_foreach(j, k, v) {
			struct node *c = to_node(a, v);

			if (!c || node_map_set(a, n, arena_strndup(a, k, strlen(k)), c) < 0)
				return NULL;
		}
		return n;
	case JSON_ARRAY:
		if (!(n = node_new_seq(a)))
			return NULL;
		json_array_foreach(j, i, v) {
			struct node *c = to_node(a, v);

			if (!c)
				return NULL;
			node_seq_add(n, c);
		}
		return n;
	case JSON_STRING:
		return node_new_str(a, arena_strndup(a, json_string_value(j), json_string_length(j)));
	case JSON_INTEGER:
		return node_new_int(a, (long)json_integer_value(j));
	case JSON_TRUE:
	case JSON_FALSE:
		return node_new_bool(a, json_is_true(j));
	default:
		return node_new_raw(a, "null", NT_NULL);
	}
}

static void
ports_text(char *out, size_t n, const struct reach_ports *p)
{
	size_t w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n && w < n; i++) {
		const struct reach_port *r = &p->items[i];
		const char *pr = reach_proto_name((enum reach_proto)r->proto);
		int k;

		if (r->lo == 1 && r->hi == 65535)
			k = snprintf(out + w, n - w, "%s%s all", i ? "," : "", pr);
		else if (r->lo == r->hi)
			k = snprintf(out + w, n - w, "%s%s/%u", i ? "," : "", pr, r->lo);
		else
			k = snprintf(out + w, n - w, "%s%s/%u-%u", i ? "," : "", pr, r->lo, r->hi);
		w += k > 0 ? (size_t)k : 0;
	}
}

/*
 * The policy p's node tree. NULL when out of memory. A policy that may
 * select many Pods is converted once and kept; one selecting an agent's
 * job-id (agentfence's own, one Pod) is converted for this Pod only: kept,
 * ten thousand of them would hold a hundred MiB for nothing.
 */
static struct node *
pol_node(struct audit *au, struct pol *p)
{
	struct arena *a = p->job[0] ? &au->scratch : &au->nodes;
	struct node *n, *meta;
	json_t *spec;

	if (p->node)
		return p->node;
	/* a typed list's items carry no kind: the evaluator needs it */
	if (!(n = node_new_map(a)) || !(meta = node_new_map(a)) ||
	    node_map_set(a, n, "apiVersion", node_new_str(a, ares_defs[p->res].api)) < 0 ||
	    node_map_set(a, n, "kind", node_new_str(a, ares_defs[p->res].kind)) < 0 ||
	    node_map_set(a, n, "metadata", meta) < 0 ||
	    node_map_set(a, meta, "name", node_new_str(a, p->name)) < 0 ||
	    (*p->ns && node_map_set(a, meta, "namespace", node_new_str(a, p->ns)) < 0))
		return NULL;
	if (!p->spec || !(spec = json_loads(p->spec, 0, NULL)))
		return NULL;   /* no spec: drop_specs found no use for it */
	if (node_map_set(a, n, "spec", to_node(a, spec)) < 0)
		n = NULL;
	json_decref(spec);
	if (!p->job[0])
		p->node = n;
	return n;
}

/* What one rule of a policy adds to an agent's fence: a finding's `reaches`. */
struct grp {
	struct pol *p;
	enum reach_dir dir;
	int rule;                     /* -1: not known */
	struct reach_summary add;     /* its parts, in add.egress or add.ingress */
};

struct widen {
	struct audit *au;
	struct pol **f;         /* the policies not agentfence's selecting the Pod */
	struct node **fn;       /* their node trees */
	size_t nf;
	struct reach_objs fo;
	const struct reach_pod *pod;
	struct grp *g;
	size_t ng;
	int oom;
};

/* The group of (policy, direction, rule); NULL when out of memory. */
static struct grp *
group_of(struct widen *w, struct pol *p, enum reach_dir dir, int rule)
{
	struct grp *g;

	for (size_t i = 0; i < w->ng; i++)
		if (w->g[i].p == p && w->g[i].dir == dir && w->g[i].rule == rule)
			return &w->g[i];
	if (!(g = xreallocarray(w->g, w->ng + 1, sizeof(struct grp)))) {
		w->oom = 1;
		return NULL;
	}
	w->g = g;
	g = &w->g[w->ng++];
	memset(g, 0, sizeof(*g));
	g->p = p;
	g->dir = dir;
	g->rule = rule;
	g->add.egress.isolated = g->add.ingress.isolated = 1;
	return g;
}

static struct reach_dirsum *
grp_dir(struct grp *g)
{
	return g->dir == REACH_EGRESS ? &g->add.egress : &g->add.ingress;
}

/* Port range `pt` of address range c to group g (the ranges come in order). */
static void
grp_range(struct widen *w, struct grp *g, const struct cidr *c, const struct reach_port *pt)
{
	struct reach_dirsum *d = grp_dir(g);
	struct reach_range **v = c->family == CIDR_V4 ? &d->v4 : &d->v6;
	size_t *n = c->family == CIDR_V4 ? &d->nv4 : &d->nv6;

	if (!*n || cidr_cmp(&(*v)[*n - 1].c, c)) {
		struct reach_range *nv = xreallocarray(*v, *n + 1, sizeof(struct reach_range));

		if (!nv) {
			w->oom = 1;
			return;
		}
		*v = nv;
		memset(&nv[*n], 0, sizeof(nv[*n]));
		nv[(*n)++].c = *c;
	}
	{
		struct reach_port one = *pt;
		struct reach_ports p1 = { &one, 1 };

		if (reach_ports_union(&(*v)[*n - 1].ports, &p1) < 0)
			w->oom = 1;
	}
}

/* The foreign policy a node is, or the first one. */
static struct pol *
pol_of(const struct widen *w, const struct node *obj)
{
	for (size_t i = 0; i < w->nf; i++)
		if (w->fn[i] == obj)
			return w->f[i];
	return w->f[0];
}

/* An address range of what the Pod gains: each port range blamed on the
 * foreign rule that allows the range's first address on its first port. */
static void
blame_range(struct widen *w, enum reach_dir dir, const struct reach_range *r)
{
	for (size_t i = 0; i < r->ports.n; i++) {
		struct reach_query q;
		struct reach_verdict vd = { 0 };
		struct grp *g;

		memset(&q, 0, sizeof(q));
		q.dir = dir;
		q.addr = r->c;
		q.addr.len = r->c.family == CIDR_V4 ? 32 : 128;
		q.proto = (enum reach_proto)r->ports.items[i].proto;
		q.port = r->ports.items[i].lo;
		if (reach_query(&w->fo, w->pod, &q, &vd) < 0 || vd.why != REACH_RULE)
			g = group_of(w, w->f[0], dir, -1);
		else
			g = group_of(w, pol_of(w, vd.obj), dir, vd.rule);
		if (g)
			grp_range(w, g, &r->c, &r->ports.items[i]);
	}
}

static void
blame_dir(struct widen *w, enum reach_dir dir, const struct reach_dirsum *d)
{
	for (size_t i = 0; i < d->nv4; i++)
		blame_range(w, dir, &d->v4[i]);
	for (size_t i = 0; i < d->nv6; i++)
		blame_range(w, dir, &d->v6[i]);
	for (size_t i = 0; i < d->nsels; i++) {
		const struct reach_sel *s = &d->sels[i];
		struct grp *g = group_of(w, pol_of(w, s->obj), dir, s->obj ? s->rule : -1);
		struct reach_dirsum *gd;
		struct reach_sel *n;

		if (!g)
			return;
		gd = grp_dir(g);
		if (!(n = xreallocarray(gd->sels, gd->nsels + 1, sizeof(struct reach_sel)))) {
			w->oom = 1;
			return;
		}
		gd->sels = n;
		n[gd->nsels] = *s;
		memset(&n[gd->nsels].ports, 0, sizeof(n[gd->nsels].ports));
		if (reach_ports_union(&n[gd->nsels++].ports, &s->ports) < 0)
			w->oom = 1;
	}
}

/* A group's parts as a line: "egress: 10.0.0.0/8 (TCP/443) the Pods of to[1] (UDP/53)".
 * Merged first (a difference with nothing is the canonical form). 0 or -1. */
static int
grp_text(struct grp *g, char *out, size_t n)
{
	struct reach_summary none, m;
	const struct reach_dirsum *d;
	char c[CIDR_STRLEN], pt[200];
	size_t w;
	int k;

	memset(&none, 0, sizeof(none));
	none.egress.isolated = none.ingress.isolated = 1;
	if (reach_summary_minus(&g->add, &none, &m) < 0)
		return -1;
	d = g->dir == REACH_EGRESS ? &m.egress : &m.ingress;
	k = snprintf(out, n, "%s:", g->dir == REACH_EGRESS ? "egress" : "ingress");
	w = k > 0 ? (size_t)k : 0;
	for (size_t i = 0; i < d->nv4 + d->nv6 + d->nsels && w < n; i++) {
		if (i < d->nv4 + d->nv6) {
			const struct reach_range *r = i < d->nv4 ? &d->v4[i] : &d->v6[i - d->nv4];

			cidr_format(&r->c, c, 1);
			ports_text(pt, sizeof(pt), &r->ports);
			k = snprintf(out + w, n - w, " %s (%s)", c, pt);
		} else {
			const struct reach_sel *s = &d->sels[i - d->nv4 - d->nv6];

			ports_text(pt, sizeof(pt), &s->ports);
			if (s->peer < 0)
				k = snprintf(out + w, n - w, " every Pod (%s)", pt);
			else
				k = snprintf(out + w, n - w, " the Pods of %s[%d] (%s)",
					     g->dir == REACH_EGRESS ? "to" : "from", s->peer, pt);
		}
		w += k > 0 ? (size_t)k : 0;
	}
	if (w >= n)
		memcpy(out + n - 4, "...", 4);
	reach_summary_free(&m);
	return 0;
}

static void
widen_finding(struct audit *au, const struct podview *v, const char *pod, const struct pol *p,
	      const char *rule, const char *detail, const char *reaches)
{
	struct audit_finding f;

	memset(&f, 0, sizeof(f));
	f.kind = AUDIT_WIDENS;
	f.ns = v->ns;
	f.pod = pod;
	f.okind = ares_defs[p->res].kind;
	f.ons = p->ns;
	f.oname = p->name;
	f.rule = rule;
	f.detail = detail;
	f.reaches = reaches;
	finding(au, &f);
}

/* The rule's text of policy p (its compact JSON), by name. */
static const char *
rule_detail(const struct pol *p, const char *name)
{
	json_t *r;
	size_t i;

	json_array_foreach(p->rules, i, r) {
		if (!strcmp(json_string_value(json_array_get(r, 0)), name))
			return json_string_value(json_array_get(r, 1));
	}
	return NULL;
}

/*
 * The evaluator cannot read an object of the set: each allowing rule of
 * each foreign policy, as it is, and which object stopped the evaluation.
 */
static void
widen_unevaluated(struct audit *au, const struct podview *v, const char *pod, struct widen *w,
		  const struct pol *bad)
{
	char why[DETAIL_MAX];

	snprintf(why, sizeof(why), "not evaluated: the evaluator does not read %s %s%s%s yet",
		 ares_defs[bad->res].kind, bad->ns, *bad->ns ? "/" : "", bad->name);
	for (size_t i = 0; i < w->nf; i++) {
		json_t *r;
		size_t k;

		json_array_foreach(w->f[i]->rules, k, r) {
			widen_finding(au, v, pod, w->f[i], json_string_value(json_array_get(r, 0)),
				      json_string_value(json_array_get(r, 1)), why);
		}
	}
}

/*
 * Policies not agentfence's select the Pod (au->hit holds every selecting
 * one): what the Pod reaches under all of them (A) less what it reaches
 * under agentfence's own (B), each part blamed on the foreign rule that
 * allows it. 0, or -1 when out of memory.
 */
static int
widen(struct audit *au, const struct podview *v, const char *pod)
{
	struct arena *a = &au->scratch;
	struct node **all, **own, *labels = NULL, *nsl = NULL;
	struct reach_summary sa, sb, d;
	struct widen w;
	size_t na = 0, nb = 0;
	int rc = -1;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	memset(&d, 0, sizeof(d));
	memset(&w, 0, sizeof(w));
	w.au = au;
	if (!(all = arena_alloc(a, au->nhit * sizeof(struct node *))) ||
	    !(own = arena_alloc(a, au->nhit * sizeof(struct node *))) ||
	    !(w.fn = arena_alloc(a, au->nhit * sizeof(struct node *))) ||
	    !(w.f = arena_alloc(a, au->nhit * sizeof(struct pol *))))
		goto out;
	for (size_t i = 0; i < au->nhit; i++) {
		struct pol *p = au->hit[i];
		struct node *n = pol_node(au, p);

		if (!n)
			goto out;
		all[na++] = n;
		if (p->ours)
			own[nb++] = n;
		else {
			w.f[w.nf] = p;
			w.fn[w.nf++] = n;
		}
	}
	{
		struct reach_objs ra = { all, na }, rb = { own, nb };
		const struct node *bad = reach_unsupported(&ra);
		struct reach_pod rp = { v->ns, NULL, NULL, NULL };

		if (bad) {
			size_t k = 0;

			while (k + 1 < na && all[k] != bad)
				k++;
			widen_unevaluated(au, v, pod, &w, au->hit[k]);
			rc = 0;
			goto out;
		}
		if ((v->labels && !(labels = to_node(a, v->labels))) ||
		    (v->nslabels && !(nsl = to_node(a, v->nslabels))))
			goto out;
		rp.ns_labels = nsl;
		rp.labels = labels;
		w.fo.objs = w.fn;
		w.fo.n = w.nf;
		w.pod = &rp;
		if (reach_summarize(&ra, &rp, &sa) < 0 || reach_summarize(&rb, &rp, &sb) < 0 ||
		    reach_summary_minus(&sa, &sb, &d) < 0)
			goto out;
		blame_dir(&w, REACH_EGRESS, &d.egress);
		blame_dir(&w, REACH_INGRESS, &d.ingress);
		if (w.oom)
			goto out;
	}
	for (size_t i = 0; i < w.ng; i++) {
		char rule[32], text[DETAIL_MAX];

		if (grp_text(&w.g[i], text, sizeof(text)) < 0)
			goto out;
		if (w.g[i].rule >= 0)
			snprintf(rule, sizeof(rule), "%s[%d]", w.g[i].dir == REACH_EGRESS ? "egress" : "ingress",
				 w.g[i].rule);
		widen_finding(au, v, pod, w.g[i].p, w.g[i].rule >= 0 ? rule : NULL,
			      w.g[i].rule >= 0 ? rule_detail(w.g[i].p, rule) : NULL, text);
	}
	/* a foreign policy that adds nothing to the fence is no finding */
	for (size_t i = 0; i < w.nf; i++) {
		size_t k = 0;

		while (k < w.ng && w.g[k].p != w.f[i])
			k++;
		if (k == w.ng)
			note(au, "%s/%s: %s %s/%s selects it and adds nothing to agentfence's objects%s",
			     v->ns, pod, ares_defs[w.f[i]->res].kind, w.f[i]->ns, w.f[i]->name,
			     w.ng ? " that the findings' rules do not add already" : "");
	}
	rc = 0;
out:
	reach_summary_free(&sa);
	reach_summary_free(&sb);
	reach_summary_free(&d);
	for (size_t i = 0; i < w.ng; i++)
		reach_summary_free(&w.g[i].add);
	free(w.g);
	arena_reset(a);
	return rc;
}

struct verdict {
	int fenced;
	size_t foreign;
};

/* Note whether p selects the Pod (au->hit). 0, or -1 when out of memory. */
static int
judge(struct audit *au, struct pol *p, const struct podview *v, struct verdict *vd)
{
	if (!selects(p, v))
		return 0;
	if (au->nhit == au->caphit) {
		size_t cap = au->caphit ? au->caphit * 2 : 16;
		struct pol **n = xreallocarray(au->hit, cap, sizeof(struct pol *));

		if (!n)
			return -1;
		au->hit = n;
		au->caphit = cap;
	}
	au->hit[au->nhit++] = p;
	vd->fenced |= p->managed;
	vd->foreign += !p->ours;
	return 0;
}

static int
take_pod(struct audit *au, json_t *it)
{
	const char *ns = mstr(it, "namespace"), *name = mstr(it, "name"), *job;
	struct podview v;
	struct verdict vd = { 0, 0 };
	int ours = is_ours(it);
	size_t i;

	if (!ns)
		return 0;
	au->s->pods += !au->late_ns;
	/* the first pass judged agentfence's Pods and every Pod after the first of them */
	if (au->late_ns && (ours || strcmp(name, json_string_value(json_object_get(au->late, ns))) >= 0))
		return 0;
	if (!ours && !json_object_get(au->agent_ns, ns))
		return 0;
	if (ours && !json_object_get(au->agent_ns, ns)) {
		/* agentfence's Pod where nothing else of agentfence is: its other Pods later */
		if (json_object_set_new(au->late, ns, json_string(name)) < 0 || mark(au->agent_ns, ns) < 0)
			return -1;
	}
	au->s->agent_pods++;
	v.ns = ns;
	v.labels = json_object_get(json_object_get(it, "metadata"), "labels");
	v.nslabels = json_object_get(au->nslabels, ns);
	au->nhit = 0;
	/* namespaced: those whose selector names no job, then those naming this Pod's */
	for (i = lower_bound(au, ns, ""); i < au->nscoped && !strcmp(au->p[i].ns, ns) &&
	     !au->p[i].job[0]; i++)
		if (judge(au, &au->p[i], &v, &vd) < 0)
			return -1;
	job = json_string_value(json_object_get(v.labels, LABEL_JOB));
	if (job && *job)
		for (i = lower_bound(au, ns, job); i < au->nscoped && !strcmp(au->p[i].ns, ns) &&
		     !strcmp(au->p[i].job, job); i++)
			if (judge(au, &au->p[i], &v, &vd) < 0)
				return -1;
	for (i = au->nscoped; i < au->np; i++)
		if (judge(au, &au->p[i], &v, &vd) < 0)
			return -1;
	if (vd.foreign && widen(au, &v, name) < 0)
		return -1;
	if (!vd.fenced) {
		struct audit_finding f;

		memset(&f, 0, sizeof(f));
		f.kind = AUDIT_UNFENCED;
		f.ns = ns;
		f.pod = name;
		f.okind = "Pod";
		f.ons = ns;
		f.oname = name;
		f.detail = job ? "no policy of agentfence's selects it (its policy is missing, or "
				 "its labels changed)"
			       : "no policy of agentfence's selects it (its agentfence.dev/job-id "
				 "label is gone)";
		finding(au, &f);
	}
	return 0;
}

/* --- the guards the profile asks for --- */

struct saq {
	struct audit *au;
	const char *ns;
};

/* The agents' ServiceAccount (build.h): present, and mounting no token. */
static void
on_sa(void *ctx, const struct kapi_response *r)
{
	struct saq *q = ctx;
	struct audit *au = q->au;
	struct audit_finding f;
	json_t *m;
	char detail[200];

	au->s->requests++;
	memset(&f, 0, sizeof(f));
	f.ns = q->ns;
	f.okind = "ServiceAccount";
	f.ons = q->ns;
	f.oname = AGENT_SERVICE_ACCOUNT;
	if (r->status == 404) {
		f.kind = AUDIT_GUARD_MISSING;
		f.detail = "every agent Pod runs as this ServiceAccount; it is missing";
		finding(au, &f);
		return;
	}
	if (r->status < 200 || r->status > 299 || !r->json) {
		snprintf(au->s->why, sizeof(au->s->why), "cannot read ServiceAccount %s/%s: %s (HTTP %ld)",
			 q->ns, AGENT_SERVICE_ACCOUNT,
			 r->status ? r->reason : (r->error ? r->error : "no response"), r->status);
		au->s->failed = 1;
		return;
	}
	m = json_object_get(r->json, "automountServiceAccountToken");
	if (json_is_false(m))
		return;
	snprintf(detail, sizeof(detail), "agentfence sets false (no token mounted), the cluster holds %s",
		 json_is_true(m) ? "true" : "nothing (a token is mounted)");
	f.kind = AUDIT_DRIFT;
	f.rule = ".automountServiceAccountToken";
	f.detail = detail;
	finding(au, &f);
}

static int
check_guards(struct audit *au)
{
	const char *ns;
	json_t *v;

	json_object_foreach(au->agent_ns, ns, v) {
		char path[PATH_LEN];
		struct saq q = { au, ns };
		struct kapi_req r = { "GET", path, NULL, NULL, NULL, 0, 0 };

		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/serviceaccounts/%s", ns,
			 AGENT_SERVICE_ACCOUNT);
		if (kapi_request(au->k, &r, on_sa, &q) < 0)
			return -1;
		kapi_run(au->k);
		if (au->s->failed)
			return 0;
	}
	json_object_foreach(au->agent_ns, ns, v) {
		char names[BUILD_MAX_GUARDS][256], key[KEY_LEN];
		enum ares kinds[BUILD_MAX_GUARDS];
		size_t n = 0, k = 0;

		build_guard_names(names, &n, au->o->profile, ns);
		/* in build_guard_names' order */
		if (au->o->profile->enforcement == ENF_CILIUM)
			kinds[k++] = AR_CCNP;
		if (au->o->profile->enforcement == ENF_CNP) {
			kinds[k++] = AR_CLNP;
			kinds[k++] = AR_CLNP;
		}
		if (au->o->profile->writers) {
			kinds[k++] = AR_VAP;
			kinds[k++] = AR_VAPB;
		}
		for (size_t i = 0; i < n && i < k; i++) {
			struct audit_finding f;

			snprintf(key, sizeof(key), "%s//%s", ares_defs[kinds[i]].kind, names[i]);
			if (json_object_get(au->present, key))
				continue;
			memset(&f, 0, sizeof(f));
			f.kind = AUDIT_GUARD_MISSING;
			f.ns = ns;
			f.okind = ares_defs[kinds[i]].kind;
			f.ons = "";
			f.oname = names[i];
			f.detail = kinds[i] >= AR_VAP ? "the profile asks for an admission guard; it is missing"
						      : "the profile's enforcement asks for this guard; it is missing";
			finding(au, &f);
		}
	}
	return 0;
}

/* --- drift: the plan's objects against the live ones --- */

struct driftq {
	struct audit *au;
	const struct apply_obj *o;
};

static void
on_get(void *ctx, const struct kapi_response *r)
{
	struct driftq *dq = ctx;
	struct audit *au = dq->au;
	const struct apply_obj *o = dq->o;
	struct audit_finding f;
	char at[512] = "", detail[700];
	json_t *want;

	au->s->requests++;
	memset(&f, 0, sizeof(f));
	f.kind = AUDIT_DRIFT;
	f.ns = *o->ns ? o->ns : NULL;
	f.pod = o->agent;
	f.okind = o->kind;
	f.ons = o->ns;
	f.oname = o->name;
	if (r->status == 404) {
		f.detail = "missing: the spec compiles to it, the cluster does not hold it";
		finding(au, &f);
		return;
	}
	if (r->status < 200 || r->status > 299 || !r->json) {
		snprintf(au->s->why, sizeof(au->s->why), "cannot read %s %s: %s (HTTP %ld)", o->kind,
			 o->name, r->status ? r->reason : (r->error ? r->error : "no response"), r->status);
		au->s->failed = 1;
		return;
	}
	if (!(want = json_parse(o->body, o->len, NULL))) {
		au->oom = 1;
		return;
	}
	if (!apply_holds(want, r->json, at, sizeof(at))) {
		json_t *w = want, *l = r->json;
		char *ws = NULL, *ls = NULL;
		const char *p = at;

		/* the values at that path, spec and live */
		while (*p && w) {
			char seg[256];
			size_t n;

			if (*p == '.') {
				n = strcspn(p + 1, ".[");
				snprintf(seg, sizeof(seg), "%.*s", (int)n, p + 1);
				w = json_object_get(w, seg);
				l = json_object_get(l, seg);
				p += n + 1;
			} else {
				size_t idx = strtoul(p + 1, NULL, 10);

				w = json_array_get(w, idx);
				l = json_array_get(l, idx);
				p += strcspn(p, "]") + (p[strcspn(p, "]")] ? 1 : 0);
			}
		}
		ws = w ? json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		ls = l ? json_dumps(l, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		snprintf(detail, sizeof(detail), "the spec sets %.250s, the cluster holds %.250s",
			 ws ? ws : "?", ls ? ls : "nothing");
		free(ws);
		free(ls);
		f.rule = at;
		f.detail = detail;
		finding(au, &f);
	}
	json_decref(want);
}

struct drift_all {
	struct audit *au;
	size_t n;
};

static int
drift_one(void *ctx, const struct apply_obj *o)
{
	struct drift_all *da = ctx;
	struct audit *au = da->au;
	struct driftq dq = { au, o };
	struct kapi_req q = { "GET", o->path, NULL, NULL, NULL, 0, 0 };

	if (au->oom || au->s->failed)
		return 1;
	/* one at a time: the plan is the user's specs, and the object is borrowed */
	if (kapi_request(au->k, &q, on_get, &dq) < 0) {
		au->oom = 1;
		return 1;
	}
	kapi_run(au->k);
	da->n++;
	return 0;
}

/* --- the run --- */

static void
audit_free(struct audit *au)
{
	for (size_t i = 0; i < au->np; i++) {
		free(au->p[i].ns);
		free(au->p[i].name);
		free(au->p[i].job);
		json_decref(au->p[i].rules);
		json_decref(au->p[i].sel);
		free(au->p[i].spec);
	}
	free(au->p);
	free(au->hit);
	arena_free(&au->nodes);
	arena_free(&au->scratch);
	json_decref(au->nslabels);
	json_decref(au->present);
	json_decref(au->agent_ns);
	json_decref(au->late);
}

static int
plan_ns(void *ctx, const struct apply_obj *o)
{
	struct audit *au = ctx;
	json_t *j;
	const char *ns;

	if (au->oom)
		return 1;
	if (*o->ns) {
		ns = o->ns;
		if (mark(au->agent_ns, ns) < 0)
			au->oom = 1;
		return au->oom;
	}
	/* a cluster-scoped object: its namespace label */
	if (!(j = json_parse(o->body, o->len, NULL))) {
		au->oom = 1;
		return 1;
	}
	if ((ns = mlabel(j, LABEL_NAMESPACE)) && mark(au->agent_ns, ns) < 0)
		au->oom = 1;
	json_decref(j);
	return au->oom;
}

int
audit_run(struct kapi *k, const struct audit_opts *o, struct audit_summary *s)
{
	struct audit au;
	int rc = -1;

	memset(&au, 0, sizeof(au));
	memset(s, 0, sizeof(*s));
	au.k = k;
	au.o = o;
	au.s = s;
	snprintf(au.limit, sizeof(au.limit), "%d", o->page_limit > 0 ? o->page_limit : PAGE_DEFAULT);
	if (!(au.nslabels = json_object()) || !(au.present = json_object()) ||
	    !(au.agent_ns = json_object()) || !(au.late = json_object()))
		goto oom;
	if (o->plan) {
		if (apply_plan_each(o->plan, plan_ns, &au) < 0)
			au.oom = 1;
		if (au.oom)
			goto oom;
	}
	/* namespaces and policies first: a Pod is judged as it streams by */
	for (int r = AR_NS; r < AR_POD; r++)
		if (list_all(&au, (enum ares)r, ares_defs[r].path, r == AR_NS ? take_ns : take_pol) < 0)
			goto out;
	qsort(au.p, au.np, sizeof(*au.p), cmp_pol);
	while (au.nscoped < au.np && (au.p[au.nscoped].res == AR_NP || au.p[au.nscoped].res == AR_CNP))
		au.nscoped++;
	drop_specs(&au);
	note(&au, "%zu namespaces, %zu policies (%zu agent namespaces); now the Pods", s->namespaces,
	     s->policies, json_object_size(au.agent_ns));
	if (list_all(&au, AR_POD, ares_defs[AR_POD].path, take_pod) < 0)
		goto out;
	{
		/* namespaces whose only trace of agentfence is a Pod: their other Pods */
		const char *ns;
		json_t *v;

		json_object_foreach(au.late, ns, v) {
			char path[PATH_LEN];

			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
			au.late_ns = ns;
			if (list_all(&au, AR_POD, path, take_pod) < 0)
				goto out;
		}
		au.late_ns = NULL;
	}
	if (o->profile && check_guards(&au) < 0)
		goto oom;
	if (s->failed)
		goto out;
	if (o->plan) {
		struct drift_all da = { &au, 0 };

		if (apply_plan_each(o->plan, drift_one, &da) < 0)
			au.oom = 1;
		if (au.oom)
			goto oom;
		if (s->failed)
			goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(s->why, sizeof(s->why), "out of memory");
	s->failed = 1;
out:
	if (au.oom && !s->why[0])
		snprintf(s->why, sizeof(s->why), "out of memory");
	if (au.oom)
		s->failed = 1;
	audit_free(&au);
	return s->failed ? -1 : rc;
}
