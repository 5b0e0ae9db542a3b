/* SPDX-License-Identifier: Apache-2.0 */
/* apply: see apply.h */
#include "apply.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "build.h"
#include "emit.h"
#include "lease.h"
#include "sys.h"
#include "xalloc.h"

#define CONTAINER(p, T, m) ((T *)(void *)((char *)(p) - offsetof(T, m)))
#define PATH_LEN 1400
#define LIST_PAGE "500"
#define LIST_MAX_PAGES 10000          /* a server that never stops paging */
#define LIST_MAX_CONTINUE 4096        /* bytes of a continue token */
#define POLL_FIRST_MS 250
#define POLL_MAX_MS 2000

/* --- the resources agentfence writes (data, not code) --- */

/* Policies in the order delete and prune name them; the Pod last. */
enum res { RES_NETPOL, RES_CNP, RES_CLUSTERNP, RES_CEGP, RES_CCNP, RES_VAP, RES_VAPB, RES_SA,
	   RES_POD, RES_COUNT };

static const struct resdef {
	const char *kind;
	const char *prefix;     /* API group/version path (its discovery document) */
	const char *plural;
	const char *lower;      /* kubectl's name in output lines */
	int namespaced;
	int agent;              /* an agent's object: delete and prune remove it */
	int guard;              /* a namespace's guard may be of this kind */
	const char *crd;        /* a CRD: what to do when it is not installed; NULL: built in */
} resdefs[RES_COUNT] = {
	{ "NetworkPolicy", "/apis/networking.k8s.io/v1", "networkpolicies", "networkpolicy",
	  1, 1, 0, NULL },
	{ "CiliumNetworkPolicy", "/apis/cilium.io/v2", "ciliumnetworkpolicies",
	  "ciliumnetworkpolicy", 1, 1, 0,
	  "the CiliumNetworkPolicy CRD (cilium.io/v2) is not installed: install Cilium, or set "
	  "the cluster profile's spec.enforcement to networkpolicy" },
	{ "ClusterNetworkPolicy", "/apis/policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies",
	  "clusternetworkpolicy", 0, 1, 1,
	  "the ClusterNetworkPolicy CRD (policy.networking.k8s.io/v1alpha2) is not installed: "
	  "install the experimental-channel CRDs of kubernetes-sigs/network-policy-api v0.2.0 and "
	  "a network plugin that enforces them, or set the cluster profile's spec.enforcement to "
	  "networkpolicy" },
	{ "CiliumEgressGatewayPolicy", "/apis/cilium.io/v2", "ciliumegressgatewaypolicies",
	  "ciliumegressgatewaypolicy", 0, 1, 0,
	  "the CiliumEgressGatewayPolicy CRD (cilium.io/v2) is not installed: install Cilium with "
	  "its egress gateway enabled (egressGateway.enabled=true), or use egress mode public" },
	{ "CiliumClusterwideNetworkPolicy", "/apis/cilium.io/v2", "ciliumclusterwidenetworkpolicies",
	  "ciliumclusterwidenetworkpolicy", 0, 0, 1,
	  "the CiliumClusterwideNetworkPolicy CRD (cilium.io/v2) is not installed: install Cilium, "
	  "or set the cluster profile's spec.enforcement to networkpolicy" },
	/* the admission guard (built in since Kubernetes 1.30) */
	{ "ValidatingAdmissionPolicy", "/apis/admissionregistration.k8s.io/v1",
	  "validatingadmissionpolicies", "validatingadmissionpolicy", 0, 0, 1, NULL },
	{ "ValidatingAdmissionPolicyBinding", "/apis/admissionregistration.k8s.io/v1",
	  "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", 0, 0, 1, NULL },
	{ "ServiceAccount", "/api/v1", "serviceaccounts", "serviceaccount", 1, 0, 1, NULL },
	{ "Pod", "/api/v1", "pods", "pod", 1, 1, 0, NULL },
};

/* The API path of an object, or of the collection when name is NULL. */
static void
obj_path(char *out, size_t n, enum res r, const char *ns, const char *name)
{
	const struct resdef *d = &resdefs[r];
	int w;

	if (d->namespaced)
		w = snprintf(out, n, "%s/namespaces/%s/%s", d->prefix, ns, d->plural);
	else
		w = snprintf(out, n, "%s/%s", d->prefix, d->plural);
	if (name && w > 0 && (size_t)w < n)
		snprintf(out + w, n - (size_t)w, "/%s", name);
}

/* the queries (key, value, ..., NULL); force: see apply.h */
static const char *const q_apply[] = { "fieldManager", APPLY_FIELD_MANAGER, "force", "true", NULL };
static const char *const q_apply_dry[] = { "fieldManager", APPLY_FIELD_MANAGER, "force", "true",
					   "dryRun", "All", NULL };
static const char *const q_dry[] = { "dryRun", "All", NULL };

/* --- the plan --- */

struct run;
struct podwait;

enum { PW_GONE, PW_ABSENT, PW_FAILED };
typedef void (*pw_then_fn)(struct podwait *pw, int result);

/*
 * Delete a Pod and (when `wait`) poll until a GET says it is gone. With
 * `precond`, only the Pod whose uid is `pre` (read first when empty) is
 * deleted: a Pod created anew in between is another Pod.
 */
struct podwait {
	struct run *run;
	const char *ns, *agent, *name;
	int wait, precond;
	char pre[80];
	char uid[80];
	char body[200];         /* DeleteOptions with the precondition */
	long deadline, delay;
	pw_then_fn then;
};

struct pobj {
	enum res res;
	char *name;
	json_t *json;           /* the object (what an unchanged one must hold) */
	char *body;             /* it as compact JSON, made when first sent */
	size_t len;
};

struct pagent;

struct step {
	struct run *run;
	struct pagent *ag;
	size_t idx;
};

struct pagent {
	char *ns, *name;
	size_t nobjs;           /* policies first, the Pod last */
	struct pobj objs[BUILD_MAX_OBJECTS];
	/* run state */
	const struct pguard *guard;     /* its namespace's, or NULL */
	struct step steps[BUILD_MAX_OBJECTS];
	size_t pending;
	int policy_failed, recreated, finished, ok;
	int blocked;            /* its namespace's lease is not ours: nothing is sent */
	int missing;            /* read back after the Pod write: a policy is gone */
	struct podwait pw;
};

struct gstep {
	struct run *run;
	struct pguard *g;
	size_t idx;
};

/* A namespace's guard: confirmed stored before any object of its agents is sent. */
struct pguard {
	char *ns;
	size_t nobjs;
	struct pobj objs[BUILD_MAX_GUARDS];
	/* run state */
	struct gstep steps[BUILD_MAX_GUARDS];
	int failed, blocked;
	int sa_absent;          /* a dry run found no ServiceAccount to run the Pods as */
};

struct apply_plan {
	struct pagent *a;
	size_t n, cap;
	struct pguard *g;
	size_t ng, capg;
};

int
apply_plan_new(struct apply_plan **pp)
{
	return (*pp = xcalloc(1, sizeof(**pp))) ? 0 : -1;
}

size_t
apply_plan_count(const struct apply_plan *p)
{
	return p->n;
}

/* o's body: the compact JSON sent, written when first needed. 0 or -1 (out of memory). */
static int
pobj_body(struct pobj *o)
{
	if (!o->body) {
		o->body = json_dumps(o->json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		if (!o->body)
			return -1;
		o->len = strlen(o->body);
	}
	return 0;
}

int
apply_plan_each(struct apply_plan *p, apply_obj_fn fn, void *ctx)
{
	char path[PATH_LEN];
	int rc = 0;

	for (size_t i = 0; i < p->ng + p->n && !rc; i++) {
		const char *ns = i < p->ng ? p->g[i].ns : p->a[i - p->ng].ns;
		const char *agent = i < p->ng ? NULL : p->a[i - p->ng].name;
		struct pobj *ob = i < p->ng ? p->g[i].objs : p->a[i - p->ng].objs;
		size_t no = i < p->ng ? p->g[i].nobjs : p->a[i - p->ng].nobjs;

		for (size_t j = 0; j < no && !rc; j++) {
			const struct resdef *d = &resdefs[ob[j].res];
			struct apply_obj o;

			if (pobj_body(&ob[j]) < 0)
				return -1;
			obj_path(path, sizeof(path), ob[j].res, ns, ob[j].name);
			o = (struct apply_obj){ d->kind, d->namespaced ? ns : "", ob[j].name, agent, path,
						ob[j].body, ob[j].len };
			rc = fn(ctx, &o);
		}
	}
	return rc;
}

static void
pobjs_free(struct pobj *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].name);
		free(o[i].body);
		json_decref(o[i].json);
	}
}

void
apply_plan_free(struct apply_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->a[i].ns);
		free(p->a[i].name);
		pobjs_free(p->a[i].objs, p->a[i].nobjs);
	}
	for (size_t i = 0; i < p->ng; i++) {
		free(p->g[i].ns);
		pobjs_free(p->g[i].objs, p->g[i].nobjs);
	}
	free(p->a);
	free(p->g);
	free(p);
}

static int
res_of_kind(const char *kind)
{
	for (int r = 0; r < RES_COUNT; r++)
		if (strcmp(resdefs[r].kind, kind) == 0)
			return r;
	return -1;
}

static const char *
meta_str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j, "metadata"), key));
}

static const char *
label_of(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(j, "metadata"),
								 "labels"), key));
}

/*
 * Serialize obj into o (compact JSON), reading back what is sent: its
 * resource and name come from the object itself. 0 with *jp (the caller
 * checks it, then releases it); -1 with *why when it cannot be written;
 * -2 when out of memory.
 */
static int
serialize(struct node *obj, struct pobj *o, json_t **jp, int *rp, const char **why)
{
	const char *kind, *name;
	json_t *j;

	if (!(j = emit_to_json(obj))) {
		*why = "cannot write JSON (a string is not valid UTF-8)";
		return -1;
	}
	kind = json_string_value(json_object_get(j, "kind"));
	name = meta_str(j, "name");
	*rp = kind ? res_of_kind(kind) : -1;
	*jp = j;
	if (*rp < 0 || !name)
		return 0;
	o->res = (enum res)*rp;
	if (!(o->name = xstrdup(name))) {
		json_decref(j);
		return -2;
	}
	o->json = json_incref(j);
	return 0;
}

int
apply_plan_add(struct apply_plan *p, const struct spec_agent *ag, struct node **objs,
	       size_t nobjs, struct diags *d)
{
	struct pagent *a;
	const char *why = NULL;

	if (nobjs < 2 || nobjs > BUILD_MAX_OBJECTS) {
		diag_error(d, ag->file, ag->line, ag->col, "internal error: %zu objects", nobjs);
		return -1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct pagent *na = xreallocarray(p->a, cap, sizeof(*na));

		if (!na)
			goto oom;
		p->a = na;
		p->cap = cap;
	}
	a = &p->a[p->n];
	memset(a, 0, sizeof(*a));
	p->n++;   /* from here on apply_plan_free() releases what is set */
	if (!(a->ns = xstrdup(ag->ns)) || !(a->name = xstrdup(ag->name)))
		goto oom;
	for (size_t i = 0; i < nobjs; i++) {
		json_t *j = NULL;
		const char *ns;
		int r = -1, e = serialize(objs[i], &a->objs[i], &j, &r, &why);

		if (e == -1)
			goto fail;
		if (e == -2)
			goto oom;
		a->nobjs++;
		ns = meta_str(j, "namespace");
		/* the contract with build.c: policies first, the Pod last, names set */
		if (r < 0 || !a->objs[i].name || !resdefs[r].agent || (r == RES_POD) != (i == nobjs - 1) ||
		    (resdefs[r].namespaced && (!ns || strcmp(ns, ag->ns) != 0))) {
			diag_error(d, ag->file, ag->line, ag->col,
				   "internal error: unexpected object %zu (%s)", i,
				   r >= 0 ? resdefs[r].kind : "no kind");
			json_decref(j);
			goto out;
		}
		json_decref(j);
	}
	return 0;
oom:
	why = "out of memory";
fail:
	diag_error(d, ag->file, ag->line, ag->col, "%s", why);
out:
	return -1;
}

int
apply_plan_add_guard(struct apply_plan *p, const char *ns, struct node **objs, size_t nobjs,
		     struct diags *d)
{
	struct pguard *g;
	const char *why = NULL;

	for (size_t i = 0; i < p->ng; i++)
		if (strcmp(p->g[i].ns, ns) == 0) {
			diag_error(d, NULL, 0, 0, "internal error: a second guard for namespace %s", ns);
			return -1;
		}
	if (!nobjs || nobjs > BUILD_MAX_GUARDS) {
		diag_error(d, NULL, 0, 0, "internal error: %zu guard objects", nobjs);
		return -1;
	}
	if (p->ng == p->capg) {
		size_t cap = p->capg ? p->capg * 2 : 16;
		struct pguard *ng = xreallocarray(p->g, cap, sizeof(*ng));

		if (!ng)
			goto oom;
		p->g = ng;
		p->capg = cap;
	}
	g = &p->g[p->ng];
	memset(g, 0, sizeof(*g));
	p->ng++;
	if (!(g->ns = xstrdup(ns)))
		goto oom;
	for (size_t i = 0; i < nobjs; i++) {
		json_t *j = NULL;
		const char *lns, *job;
		int r = -1, e = serialize(objs[i], &g->objs[i], &j, &r, &why);

		if (e == -1)
			goto fail;
		if (e == -2)
			goto oom;
		g->nobjs++;
		lns = label_of(j, LABEL_NAMESPACE);
		job = label_of(j, LABEL_JOB);
		/* labelled with its namespace, never an agent's
		 * (delete and prune take agents' objects by their job label) */
		if (r < 0 || !g->objs[i].name || !resdefs[r].guard || !lns || strcmp(lns, ns) != 0 || job) {
			diag_error(d, NULL, 0, 0, "internal error: unexpected guard object %zu (%s)", i,
				   r >= 0 ? resdefs[r].kind : "no kind");
			json_decref(j);
			goto out;
		}
		json_decref(j);
	}
	return 0;
oom:
	why = "out of memory";
fail:
	diag_error(d, NULL, 0, 0, "namespace %s's guard: %s", ns, why);
out:
	return -1;
}

/* --- a run --- */

struct found;

/* An agent being deleted (delete, prune): its Pods, then its policies. */
struct victim {
	struct run *run;
	const char *ns, *job;
	struct found *objs;     /* Pods first */
	size_t nobjs, npods;
	size_t cur, pending;
	int failed;
	int live;               /* its agent stays (prune of a stale policy): no Pod check */
	struct podwait pw;
};

/* An object found by a list (prune), or named by the plan (delete). */
struct found {
	enum res res;
	char *ns, *job, *name;
	char uid[80];           /* as listed (prune); "" when named by the plan */
	int skip;
	int live;               /* an object of an agent still in the plan (prune) */
	struct victim *v;
};

struct nsstate {
	const char *ns;
	int failed;
};

struct lister {
	struct run *run;
	struct nsstate *nss;
	enum res res;
	unsigned pages;
	kapi_done_fn fn;
};

struct run {
	struct apply_plan *p;
	struct kapi *k;
	struct apply_opts o;
	apply_event_fn fn;
	void *ctx;
	struct apply_summary *s;
	size_t next, active, done, failed;
	int oom;
	int pruning;
	/* delete and prune: the kinds the server serves (discovery) */
	int served[RES_COUNT];
	struct disc {
		struct run *run;
		int res;
	} disc[RES_COUNT];
	/* delete and prune */
	struct found *found;
	size_t nfound, capfound;
	struct victim *victims;
	size_t nvictims;
	/* the namespaces of the plan (sorted, unique) and their leases */
	const char **nss;
	size_t nns;
	struct leases *leases;
	/*
	 * apply, decided as each LIST page arrives (no page is kept), for each
	 * object of the plan (`want`: "res/ns/name" -> the object) found live:
	 * `live`: its resourceVersion; `same`: true when it already holds what
	 * agentfence sets (no request is sent for it).
	 */
	json_t *live, *same, *want;
};

static void
report(struct run *run, enum apply_event_type t, const char *ns, const char *agent, int res,
       const char *name, const char *action, const char *msg, const char *hint)
{
	struct apply_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	ev.ns = ns;
	ev.agent = agent;
	ev.resource = res >= 0 ? resdefs[res].lower : NULL;
	ev.name = name;
	ev.action = action;
	ev.message = msg;
	ev.hint = hint;
	ev.dry_run = run->o.dry_run;
	ev.done = run->done;
	ev.total = run->p->n;
	ev.failed = run->failed;
	run->fn(run->ctx, &ev);
}

static void
report_warnings(struct run *run, const char *ns, const char *agent, int res, const char *name,
	        const struct kapi_response *r)
{
	const char *s = r->warnings;

	while (s && *s) {
		size_t n = strcspn(s, "\n");
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)(n < 500 ? n : 500), s);
		report(run, APPLY_EV_WARNING, ns, agent, res, name, NULL, line, NULL);
		s += n + (s[n] != 0);
	}
}

/* What went wrong, in one line. Never anything we sent. */
static void
describe(const struct kapi_response *r, char *out, size_t n)
{
	int w;

	if (r->error)
		w = snprintf(out, n, "%s", r->error);
	else
		w = snprintf(out, n, "%s (%ld%s%s)", *r->message ? r->message : "no message",
			     r->status, *r->reason ? " " : "", r->reason);
	if (r->attempts > 1 && w > 0 && (size_t)w < n)
		snprintf(out + w, n - (size_t)w, ", after %d attempts", r->attempts);
}

static int
ok2xx(const struct kapi_response *r)
{
	return !r->error && r->status >= 200 && r->status < 300;
}

/* The name in `RuntimeClass "NAME" not found`, else NULL. */
static int
runtime_class_missing(const struct kapi_response *r, char *name, size_t n)
{
	const char *p = strstr(r->message, "RuntimeClass \""), *q;

	if (r->status != 403 || !p || !strstr(p, "not found"))
		return 0;
	p += strlen("RuntimeClass \"");
	q = strchr(p, '"');
	snprintf(name, n, "%.*s", q ? (int)(q - p) : 0, p);
	return 1;
}

static int
crd_missing(int res, const struct kapi_response *r)
{
	/* the route does not exist: "the server could not find the requested
	 * resource", with no details.kind (a missing object names its kind) */
	return res >= 0 && resdefs[res].crd && r->status == 404 && !*r->details_kind;
}

static int
namespace_missing(const struct kapi_response *r)
{
	return r->status == 404 && strcmp(r->details_kind, "namespaces") == 0;
}

static int
pod_immutable(const struct kapi_response *r)
{
	return r->status == 422 && strstr(r->message, "pod updates may not change fields");
}

/* What to do about a failed request, or NULL. */
static const char *
hint_for(int res, const char *ns, const struct kapi_response *r, char *out, size_t n)
{
	char rc[256];

	if (r->error && r->tls)
		return "the TLS connection failed: check the cluster's certificate-authority and the "
		       "client certificate in the kubeconfig";
	if (r->error)
		return "the API server did not answer in time or dropped the connection; check that "
		       "it is reachable and try again (--request-timeout sets the limit per request)";
	if (runtime_class_missing(r, rc, sizeof(rc))) {
		snprintf(out, n,
			 "RuntimeClass \"%s\" does not exist on this cluster: install its runtime "
			 "(e.g. Kata Containers) or set spec.runtimeClassName, or the profile's "
			 "defaults.runtimeClassName, to one that `kubectl get runtimeclass` lists", rc);
		return out;
	}
	if (namespace_missing(r)) {
		snprintf(out, n,
			 "namespace \"%s\" does not exist: create it (kubectl create namespace %s) or "
			 "set metadata.namespace to an existing one", ns, ns);
		return out;
	}
	if (crd_missing(res, r))
		return resdefs[res].crd;
	switch (r->status) {
	case 401:
		return "the API server rejected the credentials: they are wrong or expired";
	case 403:
		return "the credentials lack permission: agentfence needs get, list, patch and "
		       "delete on pods and networkpolicies.networking.k8s.io, and on the kinds of "
		       "these that are installed: ciliumnetworkpolicies, "
		       "ciliumclusterwidenetworkpolicies and ciliumegressgatewaypolicies (cilium.io), "
		       "clusternetworkpolicies.policy.networking.k8s.io; and get, create, update "
		       "and delete on leases.coordination.k8s.io in the agent namespaces";
	case 409:
		return "another writer changed the object at the same time; run again";
	case 422:
		return "the server refused the object as invalid; check the site templates "
		       "(--templates) and the spec";
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return "the API server is overloaded or failing; try again later";
	default:
		return NULL;
	}
}

static void
report_failure(struct run *run, const char *ns, const char *agent, int res, const char *name,
	       const char *what, const struct kapi_response *r)
{
	char desc[1024], msg[1400], hint[600];
	const char *h = hint_for(res, ns, r, hint, sizeof(hint));

	describe(r, desc, sizeof(desc));
	snprintf(msg, sizeof(msg), "%s%s", what ? what : "", desc);
	report(run, APPLY_EV_ERROR, ns, agent, res, name, NULL, msg, h);
}

/* A request; a body is an apply patch unless ctype says otherwise. */
static int
submit_ct(struct run *run, const char *method, const char *path, const char *const *query,
	  const char *ctype, const char *body, size_t len, long delay, kapi_done_fn fn, void *ctx)
{
	struct kapi_req q = { method, path, query, body ? ctype : NULL, body, len, delay };

	leases_tick(run->leases);   /* renewed while there is work */
	if (kapi_request(run->k, &q, fn, ctx) == 0)
		return 0;
	run->oom = 1;
	run->s->errors = 1;
	report(run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
	return -1;
}

static int
submit(struct run *run, const char *method, const char *path, const char *const *query,
       const char *body, size_t len, long delay, kapi_done_fn fn, void *ctx)
{
	return submit_ct(run, method, path, query, KAPI_APPLY_TYPE, body, len, delay, fn, ctx);
}

static const char *const *
apply_query(const struct run *run)
{
	return run->o.dry_run ? q_apply_dry : q_apply;
}

/* Server-side apply of o (its body is written when first needed). */
static int
submit_apply(struct run *run, const char *path, struct pobj *o, kapi_done_fn fn, void *ctx)
{
	if (pobj_body(o) < 0) {
		run->oom = 1;
		run->s->errors = 1;
		report(run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
		return -1;
	}
	return submit(run, "PATCH", path, apply_query(run), o->body, o->len, 0, fn, ctx);
}

static const char *const *
delete_query(const struct run *run)
{
	return run->o.dry_run ? q_dry : NULL;
}

/* --- Pod deletion, and waiting until it is gone --- */

static void pw_on_get(void *ctx, const struct kapi_response *r);

static void
pw_poll(struct podwait *pw)
{
	char path[PATH_LEN];

	obj_path(path, sizeof(path), RES_POD, pw->ns, pw->name);
	if (submit(pw->run, "GET", path, NULL, NULL, 0, pw->delay, pw_on_get, pw) < 0)
		pw->then(pw, PW_FAILED);
}

static const char *
uid_of(const struct kapi_response *r)
{
	const char *s = json_string_value(json_object_get(json_object_get(r->json, "metadata"),
							  "uid"));

	return s ? s : "";
}

static void
pw_on_get(void *ctx, const struct kapi_response *r)
{
	struct podwait *pw = ctx;
	struct run *run = pw->run;
	char msg[512];

	if (!r->error && r->status == 404) {
		pw->then(pw, PW_GONE);
		return;
	}
	if (!ok2xx(r)) {
		report_failure(run, pw->ns, pw->agent, RES_POD, pw->name,
			       "cannot tell whether the Pod is gone: ", r);
		pw->then(pw, PW_FAILED);
		return;
	}
	if (*pw->uid && strcmp(uid_of(r), pw->uid) != 0) {
		/* someone created it again: it is not the Pod we deleted */
		report(run, APPLY_EV_ERROR, pw->ns, pw->agent, RES_POD, pw->name, NULL,
		       "a new Pod of that name appeared while the old one was being deleted", NULL);
		pw->then(pw, PW_FAILED);
		return;
	}
	if (sys_now_ms() >= pw->deadline) {
		snprintf(msg, sizeof(msg), "the Pod is still terminating after %ld s",
			 (run->o.wait_timeout_ms + 999) / 1000);
		report(run, APPLY_EV_ERROR, pw->ns, pw->agent, RES_POD, pw->name, NULL, msg,
		       "wait for it to stop (kubectl get pod -w), then run again; --timeout sets how "
		       "long to wait");
		pw->then(pw, PW_FAILED);
		return;
	}
	pw->delay = !pw->delay ? POLL_FIRST_MS : pw->delay * 2 > POLL_MAX_MS ? POLL_MAX_MS
									     : pw->delay * 2;
	pw_poll(pw);
}

static void
pw_on_delete(void *ctx, const struct kapi_response *r)
{
	struct podwait *pw = ctx;
	struct run *run = pw->run;

	if (!r->error && r->status == 404) {
		pw->then(pw, PW_ABSENT);
		return;
	}
	if (pw->precond && !r->error && r->status == 409) {
		/* the uid precondition: the Pod of that name is not the one we saw */
		report(run, APPLY_EV_ERROR, pw->ns, pw->agent, RES_POD, pw->name, NULL,
		       "not deleted: another writer replaced the Pod with a new one in the meantime",
		       NULL);
		pw->then(pw, PW_FAILED);
		return;
	}
	if (!ok2xx(r)) {
		report_failure(run, pw->ns, pw->agent, RES_POD, pw->name, "cannot delete the Pod: ", r);
		pw->then(pw, PW_FAILED);
		return;
	}
	snprintf(pw->uid, sizeof(pw->uid), "%s", uid_of(r));
	report(run, APPLY_EV_OBJECT, pw->ns, pw->agent, RES_POD, pw->name, "deleted", NULL, NULL);
	report_warnings(run, pw->ns, pw->agent, RES_POD, pw->name, r);
	if (run->o.dry_run || !pw->wait) {
		pw->then(pw, PW_GONE);
		return;
	}
	pw->deadline = sys_now_ms() + run->o.wait_timeout_ms;
	pw->delay = 0;   /* at once: most Pods without a grace period are gone already */
	pw_poll(pw);
}

static void
pw_delete(struct podwait *pw)
{
	char path[PATH_LEN];
	const char *body = NULL;

	pw->uid[0] = 0;
	obj_path(path, sizeof(path), RES_POD, pw->ns, pw->name);
	if (pw->precond) {
		snprintf(pw->body, sizeof(pw->body),
			 "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":"
			 "{\"uid\":\"%s\"}}", pw->pre);
		body = pw->body;
	}
	if (submit_ct(pw->run, "DELETE", path, delete_query(pw->run), KAPI_JSON_TYPE, body,
		      body ? strlen(body) : 0, 0, pw_on_delete, pw) < 0)
		pw->then(pw, PW_FAILED);
}

/* the Pod as it is before a delete with a precondition */
static void
pw_on_seen(void *ctx, const struct kapi_response *r)
{
	struct podwait *pw = ctx;
	const char *uid = uid_of(r);

	if (!r->error && r->status == 404) {
		pw->then(pw, PW_ABSENT);
		return;
	}
	if (!ok2xx(r) || !*uid || strlen(uid) >= sizeof(pw->pre) || strchr(uid, '"') ||
	    strchr(uid, '\\')) {
		report_failure(pw->run, pw->ns, pw->agent, RES_POD, pw->name,
			       "cannot read the Pod to delete: ", r);
		pw->then(pw, PW_FAILED);
		return;
	}
	snprintf(pw->pre, sizeof(pw->pre), "%s", uid);
	pw_delete(pw);
}

/* Delete the Pod (with precond: the one whose uid is pre, read first when pre is ""). */
static void
pw_start(struct podwait *pw)
{
	char path[PATH_LEN];

	if (pw->precond && !*pw->pre) {
		obj_path(path, sizeof(path), RES_POD, pw->ns, pw->name);
		if (submit(pw->run, "GET", path, NULL, NULL, 0, 0, pw_on_seen, pw) < 0)
			pw->then(pw, PW_FAILED);
		return;
	}
	if (pw->precond && (strchr(pw->pre, '"') || strchr(pw->pre, '\\'))) {
		pw->then(pw, PW_FAILED);
		return;
	}
	pw_delete(pw);
}

/* --- apply: the state machine of one agent --- */

static void start_agents(struct run *run);
static void on_pod(void *ctx, const struct kapi_response *r);

static void
agent_done(struct run *run, struct pagent *a, int ok, const char *why)
{
	a->finished = 1;
	a->ok = ok;
	if (ok) {
		run->s->applied++;
	} else {
		run->s->failed++;
		run->failed++;
		run->s->errors = 1;
		report(run, APPLY_EV_AGENT_FAILED, a->ns, a->name, -1, NULL, NULL, why, NULL);
	}
	run->active--;
	run->done++;
	report(run, APPLY_EV_PROGRESS, NULL, NULL, -1, NULL, NULL, NULL, NULL);
	start_agents(run);
}

static int unchanged(struct run *run, const char *ns, const struct pobj *o);
static const char *patched(struct run *run, const char *ns, const struct pobj *o,
			   const struct kapi_response *r);

static void
submit_pod(struct run *run, struct pagent *a)
{
	struct pobj *o = &a->objs[a->nobjs - 1];
	char path[PATH_LEN];

	if (run->o.dry_run && a->guard && a->guard->sa_absent) {
		/* the server's ServiceAccount admission would refuse the Pod of a
		 * dry run: the account it runs as is not stored until a real run */
		report(run, APPLY_EV_WARNING, a->ns, a->name, RES_POD, o->name, NULL,
		       "not checked: the ServiceAccount it runs as does not exist yet (a dry run "
		       "stores nothing)", NULL);
		agent_done(run, a, 1, NULL);
		return;
	}
	if (!a->recreated && unchanged(run, a->ns, o)) {
		report(run, APPLY_EV_OBJECT, a->ns, a->name, RES_POD, o->name, "unchanged", NULL, NULL);
		agent_done(run, a, 1, NULL);
		return;
	}
	obj_path(path, sizeof(path), RES_POD, a->ns, o->name);
	if (submit_apply(run, path, o, on_pod, &a->steps[a->nobjs - 1]) < 0)
		agent_done(run, a, 0, "not applied (out of memory)");
}

static void
on_cleanup_done(struct podwait *pw, int result)
{
	struct pagent *a = CONTAINER(pw, struct pagent, pw);
	int guard = a->guard && a->guard->failed;
	char why[300];

	snprintf(why, sizeof(why), "%s%s",
		 guard ? "its namespace's guard could not be applied" :
			 "its policies could not all be applied",
		 result == PW_GONE ? ", so its Pod was deleted" :
		 result == PW_ABSENT ? ", so its Pod was not created" :
		 ", and its existing Pod could not be deleted: it may be running without them; "
		 "delete it now (kubectl delete pod)");
	agent_done(pw->run, a, 0, why);
}

static void
policies_settled(struct run *run, struct pagent *a)
{
	if (!a->policy_failed) {
		submit_pod(run, a);
		return;
	}
	/* never leave a Pod running without its isolation */
	a->pw.precond = 0;
	a->pw.run = run;
	a->pw.ns = a->ns;
	a->pw.agent = a->name;
	a->pw.name = a->objs[a->nobjs - 1].name;
	a->pw.wait = run->o.wait;
	a->pw.then = on_cleanup_done;
	pw_start(&a->pw);
}

static void
on_policy(void *ctx, const struct kapi_response *r)
{
	struct step *st = ctx;
	struct run *run = st->run;
	struct pagent *a = st->ag;
	struct pobj *o = &a->objs[st->idx];

	if (ok2xx(r)) {
		report(run, APPLY_EV_OBJECT, a->ns, a->name, (int)o->res, o->name,
		       patched(run, a->ns, o, r), NULL, NULL);
		report_warnings(run, a->ns, a->name, (int)o->res, o->name, r);
	} else {
		a->policy_failed = 1;
		report_failure(run, a->ns, a->name, (int)o->res, o->name, NULL, r);
	}
	if (--a->pending == 0)
		policies_settled(run, a);
}

static void
on_recreate_gone(struct podwait *pw, int result)
{
	struct pagent *a = CONTAINER(pw, struct pagent, pw);
	struct run *run = pw->run;

	if (result == PW_FAILED) {
		agent_done(run, a, 0, "its Pod could not be replaced");
		return;
	}
	if (run->o.dry_run) {
		/* the old Pod is still there, so the new one cannot be checked */
		agent_done(run, a, 1, NULL);
		return;
	}
	submit_pod(run, a);
}

static void
on_readback_cleanup(struct podwait *pw, int result)
{
	struct pagent *a = CONTAINER(pw, struct pagent, pw);

	agent_done(pw->run, a, 0,
		   result == PW_FAILED ?
		   "a policy of it was deleted by another writer while its Pod was written, and the "
		   "Pod could not be deleted: it may be running without it; delete it now "
		   "(kubectl delete pod), then run again" :
		   "a policy of it was deleted by another writer while its Pod was written, so the "
		   "Pod was deleted; run again");
}

/* A policy read back after the Pod write. */
static void
on_readback(void *ctx, const struct kapi_response *r)
{
	struct step *st = ctx;
	struct run *run = st->run;
	struct pagent *a = st->ag;
	struct pobj *o = &a->objs[st->idx];

	if (!ok2xx(r)) {
		/* gone, or cannot tell: the Pod must not run on a guess */
		a->missing = 1;
		report_failure(run, a->ns, a->name, (int)o->res, o->name,
			       !r->error && r->status == 404 ?
			       "missing right after its Pod was written (another writer deleted it): " :
			       "cannot be read back after its Pod was written: ", r);
	}
	if (--a->pending)
		return;
	if (!a->missing) {
		agent_done(run, a, 1, NULL);
		return;
	}
	a->pw.run = run;
	a->pw.ns = a->ns;
	a->pw.agent = a->name;
	a->pw.name = a->objs[a->nobjs - 1].name;
	a->pw.wait = run->o.wait;
	a->pw.then = on_readback_cleanup;
	pw_start(&a->pw);
}

/*
 * Read the agent's policies back once its Pod is written: a writer that
 * does not take the lease may have deleted one in between. The Pod
 * written (its uid) is deleted if one is missing.
 */
static void
readback(struct run *run, struct pagent *a, const struct kapi_response *r)
{
	char path[PATH_LEN];
	const char *uid = uid_of(r);
	size_t sent = 0;

	a->missing = 0;
	a->pw.precond = 1;
	snprintf(a->pw.pre, sizeof(a->pw.pre), "%s", strlen(uid) < sizeof(a->pw.pre) ? uid : "");
	for (size_t i = 0; i + 1 < a->nobjs; i++) {
		obj_path(path, sizeof(path), a->objs[i].res, a->ns, a->objs[i].name);
		if (submit(run, "GET", path, NULL, NULL, 0, 0, on_readback, &a->steps[i]) == 0)
			sent++;
		else
			a->missing = 1;
	}
	a->pending = sent;
	if (!sent)
		agent_done(run, a, !a->missing, "not checked (out of memory)");
}

static void
on_pod(void *ctx, const struct kapi_response *r)
{
	struct step *st = ctx;
	struct run *run = st->run;
	struct pagent *a = st->ag;
	struct pobj *o = &a->objs[st->idx];

	if (ok2xx(r)) {
		report(run, APPLY_EV_OBJECT, a->ns, a->name, RES_POD, o->name,
		       patched(run, a->ns, o, r), NULL, NULL);
		report_warnings(run, a->ns, a->name, RES_POD, o->name, r);
		if (run->o.dry_run)
			agent_done(run, a, 1, NULL);
		else
			readback(run, a, r);
		return;
	}
	if (pod_immutable(r) && run->o.recreate && !a->recreated) {
		a->recreated = 1;
		report(run, APPLY_EV_WARNING, a->ns, a->name, RES_POD, o->name, NULL,
		       "its spec changed, and a Pod's spec cannot change in place: recreating it",
		       NULL);
		a->pw.precond = 0;
		a->pw.run = run;
		a->pw.ns = a->ns;
		a->pw.agent = a->name;
		a->pw.name = o->name;
		a->pw.wait = 1;
		a->pw.then = on_recreate_gone;
		pw_start(&a->pw);
		return;
	}
	if (pod_immutable(r)) {
		report(run, APPLY_EV_ERROR, a->ns, a->name, RES_POD, o->name, NULL,
		       "its spec changed, and a running Pod's spec cannot change in place",
		       "run again with --recreate to delete the Pod and create it anew (the agent "
		       "restarts)");
		agent_done(run, a, 0, "its running Pod was left as it was (old spec, current policies)");
		return;
	}
	report_failure(run, a->ns, a->name, RES_POD, o->name, NULL, r);
	agent_done(run, a, 0, "its Pod could not be applied (its policies are in place)");
}

static void
agent_start(struct run *run, struct pagent *a)
{
	char path[PATH_LEN];
	size_t npol = a->nobjs - 1, sent = 0;

	for (size_t i = 0; i < a->nobjs; i++) {
		a->steps[i].run = run;
		a->steps[i].ag = a;
		a->steps[i].idx = i;
	}
	if (a->blocked) {
		/* another run holds its namespace: nothing of it is sent */
		agent_done(run, a, 0, "not applied: its namespace's lease was not taken (see above)");
		return;
	}
	if (a->guard && a->guard->failed) {
		/* nothing of it is sent; an existing Pod goes */
		a->policy_failed = 1;
		policies_settled(run, a);
		return;
	}
	for (size_t i = 0; i < npol; i++) {
		struct pobj *o = &a->objs[i];

		if (unchanged(run, a->ns, o)) {
			/* stored as it should be: no request */
			report(run, APPLY_EV_OBJECT, a->ns, a->name, (int)o->res, o->name, "unchanged",
			       NULL, NULL);
			continue;
		}
		obj_path(path, sizeof(path), o->res, a->ns, o->name);
		if (submit_apply(run, path, o, on_policy, &a->steps[i]) == 0)
			sent++;
		else
			a->policy_failed = 1;
	}
	a->pending = sent;
	if (sent == 0)
		policies_settled(run, a);
}

static void
start_agents(struct run *run)
{
	while (!run->oom && run->active < (size_t)run->o.max_active && run->next < run->p->n) {
		struct pagent *a = &run->p->a[run->next++];

		run->active++;
		agent_start(run, a);
	}
}

/* --- guards: each stored before any object of its namespace's agents --- */

static void
on_guard(void *ctx, const struct kapi_response *r)
{
	struct gstep *st = ctx;
	struct run *run = st->run;
	struct pguard *g = st->g;
	struct pobj *o = &g->objs[st->idx];

	if (ok2xx(r)) {
		report(run, APPLY_EV_OBJECT, g->ns, NULL, (int)o->res, o->name,
		       patched(run, g->ns, o, r), NULL, NULL);
		if (run->o.dry_run && o->res == RES_SA && r->status == 201)
			g->sa_absent = 1;
		report_warnings(run, g->ns, NULL, (int)o->res, o->name, r);
		return;
	}
	g->failed = 1;
	run->s->errors = 1;
	report_failure(run, g->ns, NULL, (int)o->res, o->name,
		       "the guard of the namespace could not be applied, so none of its agents is: ",
		       r);
}

static int
cmp_guard(const void *x, const void *y)
{
	return strcmp(((const struct pguard *)x)->ns, ((const struct pguard *)y)->ns);
}

/* Send every guard, and tie each agent to its namespace's. */
static void
start_guards(struct run *run)
{
	struct apply_plan *p = run->p;
	char path[PATH_LEN];

	if (!p->ng)
		return;
	qsort(p->g, p->ng, sizeof(*p->g), cmp_guard);
	for (size_t i = 0; i < p->n; i++) {
		struct pguard key;

		memset(&key, 0, sizeof(key));
		key.ns = p->a[i].ns;
		p->a[i].guard = bsearch(&key, p->g, p->ng, sizeof(*p->g), cmp_guard);
	}
	for (size_t i = 0; i < p->ng; i++) {
		struct pguard *g = &p->g[i];

		g->failed = 0;
		g->sa_absent = 0;
		for (size_t j = 0; j < g->nobjs && !g->blocked; j++) {
			struct pobj *o = &g->objs[j];

			if (unchanged(run, g->ns, o)) {
				report(run, APPLY_EV_OBJECT, g->ns, NULL, (int)o->res, o->name,
				       "unchanged", NULL, NULL);
				continue;
			}
			g->steps[j].run = run;
			g->steps[j].g = g;
			g->steps[j].idx = j;
			obj_path(path, sizeof(path), o->res, g->ns, o->name);
			if (submit_apply(run, path, o, on_guard, &g->steps[j]) < 0)
				g->failed = 1;
		}
	}
}

/* --- discovery: the CRDs the server serves (delete and prune ask only for those) --- */

static void
on_discovery(void *ctx, const struct kapi_response *r)
{
	struct disc *dc = ctx;
	struct run *run = dc->run;
	const char *prefix = resdefs[dc->res].prefix;
	json_t *list = json_object_get(r->json, "resources"), *it;
	size_t i;

	/* not answered: every kind is asked for (a 404 then is fine) */
	if (r->error || (r->status != 404 && (!ok2xx(r) || !json_is_array(list))))
		return;
	for (int k = 0; k < RES_COUNT; k++) {
		if (!resdefs[k].crd || strcmp(resdefs[k].prefix, prefix) != 0)
			continue;
		run->served[k] = 0;
		json_array_foreach(list, i, it) {
			const char *name = json_string_value(json_object_get(it, "name"));

			if (name && strcmp(name, resdefs[k].plural) == 0)
				run->served[k] = 1;
		}
	}
}

/* GET the discovery document of each CRD group version, once. */
static void
discover(struct run *run)
{
	for (int r = 0; r < RES_COUNT; r++)
		run->served[r] = 1;
	for (int r = 0; r < RES_COUNT; r++) {
		int first = resdefs[r].crd != NULL;

		for (int q = 0; q < r && first; q++)
			if (resdefs[q].crd && strcmp(resdefs[q].prefix, resdefs[r].prefix) == 0)
				first = 0;
		if (!first)
			continue;
		run->disc[r].run = run;
		run->disc[r].res = r;
		if (submit(run, "GET", resdefs[r].prefix, NULL, NULL, 0, 0, on_discovery,
			   &run->disc[r]) < 0)
			return;
	}
	kapi_run(run->k);
}

/* --- delete: Pods first, policies once the Pods are gone --- */

static void start_victims(struct run *run);
static void victim_next_pod(struct victim *v);

static void
victim_done(struct victim *v, int ok)
{
	struct run *run = v->run;

	if (run->pruning) {
		if (ok)
			run->s->pruned++;
		else
			run->s->prune_failed++;
	} else if (ok) {
		run->s->applied++;
	} else {
		run->s->failed++;
		run->failed++;
	}
	if (!ok)
		run->s->errors = 1;
	run->active--;
	run->done++;
	if (!run->pruning)
		report(run, APPLY_EV_PROGRESS, NULL, NULL, -1, NULL, NULL, NULL, NULL);
	start_victims(run);
}

static void
on_policy_deleted(void *ctx, const struct kapi_response *r)
{
	struct found *f = ctx;
	struct victim *v = f->v;
	struct run *run = v->run;

	if (ok2xx(r)) {
		report(run, APPLY_EV_OBJECT, v->ns, v->job, (int)f->res, f->name, "deleted", NULL, NULL);
		report_warnings(run, v->ns, v->job, (int)f->res, f->name, r);
	} else if (r->error || r->status != 404) {
		/* 404: already gone, or its CRD is not installed */
		report_failure(run, v->ns, v->job, (int)f->res, f->name, "cannot delete: ", r);
		v->failed = 1;
	}
	if (--v->pending == 0) {
		if (v->failed)
			report(run, APPLY_EV_AGENT_FAILED, v->ns, v->job, -1, NULL, NULL,
			       "some of its policies could not be deleted (its Pod is gone)", NULL);
		victim_done(v, !v->failed);
	}
}

static void
victim_policies(struct victim *v)
{
	struct run *run = v->run;
	char path[PATH_LEN];
	size_t sent = 0;

	for (size_t i = v->npods; i < v->nobjs; i++) {
		struct found *f = &v->objs[i];

		obj_path(path, sizeof(path), f->res, v->ns, f->name);
		if (submit(run, "DELETE", path, delete_query(run), NULL, 0, 0, on_policy_deleted, f) == 0)
			sent++;
		else
			v->failed = 1;
	}
	v->pending = sent;
	if (sent == 0)
		victim_done(v, !v->failed);
}

static void
victim_pod_done(struct podwait *pw, int result)
{
	struct victim *v = CONTAINER(pw, struct victim, pw);

	if (result == PW_FAILED) {
		report(v->run, APPLY_EV_AGENT_FAILED, v->ns, v->job, -1, NULL, NULL,
		       "its policies were kept: its Pod is not gone, and must not run without them",
		       NULL);
		victim_done(v, 0);
		return;
	}
	v->cur++;
	victim_next_pod(v);
}

/* After its Pods are gone: does a Pod of the agent exist (a new one)? */
static void
on_agent_pods(void *ctx, const struct kapi_response *r)
{
	struct victim *v = ctx;
	struct run *run = v->run;
	json_t *items = json_object_get(r->json, "items");
	const char *name;
	char msg[600];

	if (!ok2xx(r) || !json_is_array(items)) {
		report_failure(run, v->ns, v->job, -1, NULL,
			       "its policies were kept: cannot tell whether a Pod of it exists: ", r);
		victim_done(v, 0);
		return;
	}
	if (json_array_size(items)) {
		name = json_string_value(json_object_get(json_object_get(json_array_get(items, 0),
									 "metadata"), "name"));
		snprintf(msg, sizeof(msg),
			 "its policies were kept: a Pod of it exists again (%s), created by another "
			 "writer in the meantime", name ? name : "?");
		report(run, APPLY_EV_AGENT_FAILED, v->ns, v->job, -1, NULL, NULL, msg, NULL);
		victim_done(v, 0);
		return;
	}
	victim_policies(v);
}

static void
victim_check_pods(struct victim *v)
{
	struct run *run = v->run;
	char path[PATH_LEN], sel[512];
	const char *query[] = { "labelSelector", sel, NULL };

	if (run->o.dry_run || v->live) {
		/* nothing was deleted: the Pods are still there (or rightly so) */
		victim_policies(v);
		return;
	}
	snprintf(sel, sizeof(sel), "%s=%s,%s=%s", LABEL_MANAGED, MANAGED_BY, LABEL_JOB, v->job);
	obj_path(path, sizeof(path), RES_POD, v->ns, NULL);
	if (submit(run, "GET", path, query, NULL, 0, 0, on_agent_pods, v) < 0)
		victim_done(v, 0);
}

static void
victim_next_pod(struct victim *v)
{
	if (v->cur >= v->npods) {
		victim_check_pods(v);
		return;
	}
	v->pw.precond = 1;
	snprintf(v->pw.pre, sizeof(v->pw.pre), "%s", v->objs[v->cur].uid);
	v->pw.run = v->run;
	v->pw.ns = v->ns;
	v->pw.agent = v->job;
	v->pw.name = v->objs[v->cur].name;
	v->pw.wait = 1;
	v->pw.then = victim_pod_done;
	pw_start(&v->pw);
}

static void
start_victims(struct run *run)
{
	while (!run->oom && run->active < (size_t)run->o.max_active && run->next < run->nvictims) {
		struct victim *v = &run->victims[run->next++];

		run->active++;
		v->cur = 0;
		if (!leases_held(run->leases, v->ns) && !run->o.dry_run) {
			report(run, APPLY_EV_AGENT_FAILED, v->ns, v->job, -1, NULL, NULL,
			       "not deleted: its namespace's lease was not taken (see above)", NULL);
			victim_done(v, 0);
			continue;
		}
		victim_next_pod(v);
	}
}

static int
add_found(struct run *run, enum res res, const char *ns, const char *job, const char *name,
	  const char *uid)
{
	struct found *f;

	if (run->nfound == run->capfound) {
		size_t cap = run->capfound ? run->capfound * 2 : 64;
		struct found *nf = xreallocarray(run->found, cap, sizeof(*nf));

		if (!nf)
			return -1;
		run->found = nf;
		run->capfound = cap;
	}
	f = &run->found[run->nfound];
	memset(f, 0, sizeof(*f));
	f->res = res;
	f->ns = xstrdup(ns);
	f->job = xstrdup(job);
	f->name = xstrdup(name);
	if (uid && strlen(uid) < sizeof(f->uid))
		snprintf(f->uid, sizeof(f->uid), "%s", uid);
	if (!f->ns || !f->job || !f->name) {
		free(f->ns);
		free(f->job);
		free(f->name);
		return -1;
	}
	run->nfound++;
	return 0;
}

static int
cmp_found(const void *x, const void *y)
{
	const struct found *a = x, *b = y;
	int c;

	if ((c = strcmp(a->ns, b->ns)) || (c = strcmp(a->job, b->job)))
		return c;
	if ((a->res == RES_POD) != (b->res == RES_POD))
		return a->res == RES_POD ? -1 : 1;   /* Pods first */
	return strcmp(a->name, b->name);
}

/* Group the (unskipped) found objects into victims and delete them. */
static void
run_victims(struct run *run)
{
	size_t i, j, n = 0;

	if (!run->nfound)
		return;
	qsort(run->found, run->nfound, sizeof(*run->found), cmp_found);
	for (i = 0; i < run->nfound; i = j) {
		for (j = i + 1; j < run->nfound && strcmp(run->found[i].ns, run->found[j].ns) == 0 &&
			     strcmp(run->found[i].job, run->found[j].job) == 0; j++)
			;
		n++;
	}
	if (!n)
		return;
	if (!(run->victims = xcalloc(n, sizeof(*run->victims)))) {
		run->s->errors = 1;
		report(run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
		return;
	}
	for (i = 0; i < run->nfound; i = j) {
		struct victim *v = &run->victims[run->nvictims++];

		for (j = i + 1; j < run->nfound && strcmp(run->found[i].ns, run->found[j].ns) == 0 &&
			     strcmp(run->found[i].job, run->found[j].job) == 0; j++)
			;
		v->run = run;
		v->ns = run->found[i].ns;
		v->job = run->found[i].job;
		v->objs = &run->found[i];
		v->nobjs = j - i;
		for (size_t k = i; k < j; k++) {
			run->found[k].v = v;
			v->live |= run->found[k].live;
			if (run->found[k].res == RES_POD)
				v->npods++;
		}
	}
	run->next = run->active = run->done = 0;
	start_victims(run);
	kapi_run(run->k);
}

static void
free_found(struct run *run)
{
	for (size_t i = 0; i < run->nfound; i++) {
		free(run->found[i].ns);
		free(run->found[i].job);
		free(run->found[i].name);
	}
	free(run->found);
	free(run->victims);
	run->found = NULL;
	run->victims = NULL;
	run->nfound = run->capfound = run->nvictims = 0;
}

/* --- prune: list what agentfence manages, delete agents not in the plan --- */

static void list_page(struct lister *l, const char *cont);

static void
on_list(void *ctx, const struct kapi_response *r)
{
	struct lister *l = ctx;
	struct run *run = l->run;
	json_t *items, *it;
	const char *cont;
	size_t i;

	if (!ok2xx(r) || !r->json) {
		char what[300];

		if (crd_missing((int)l->res, r))
			return;   /* its CRD is not installed: nothing of that kind to prune */
		snprintf(what, sizeof(what), "cannot list %s in namespace %s, so it was not pruned: ",
			 resdefs[l->res].plural, l->nss->ns);
		report_failure(run, l->nss->ns, NULL, -1, NULL, what, r);
		l->nss->failed = 1;
		run->s->errors = 1;
		return;
	}
	items = json_object_get(r->json, "items");
	json_array_foreach(items, i, it) {
		json_t *meta = json_object_get(it, "metadata");
		const char *name = json_string_value(json_object_get(meta, "name"));
		const char *job = json_string_value(json_object_get(json_object_get(meta, "labels"),
								     LABEL_JOB));

		if (!name || !job || label_of(it, LABEL_GUARD))
			continue;   /* not an agent's object (a guard is never pruned) */
		if (add_found(run, l->res, l->nss->ns, job, name,
			      json_string_value(json_object_get(meta, "uid"))) < 0) {
			l->nss->failed = 1;
			run->oom = 1;
			return;
		}
	}
	cont = json_string_value(json_object_get(json_object_get(r->json, "metadata"), "continue"));
	if (cont && *cont) {
		if (++l->pages >= LIST_MAX_PAGES) {
			report(run, APPLY_EV_ERROR, l->nss->ns, NULL, -1, NULL, NULL,
			         "the server kept paging a list; namespace not pruned", NULL);
			l->nss->failed = 1;
			run->s->errors = 1;
			return;
		}
		list_page(l, cont);
	}
}

static void
list_page(struct lister *l, const char *cont)
{
	char path[PATH_LEN], sel[512];
	const char *query[] = { "labelSelector", sel, "limit", LIST_PAGE, "continue", cont, NULL };

	if (resdefs[l->res].namespaced)
		snprintf(sel, sizeof(sel), "%s=%s", LABEL_MANAGED, MANAGED_BY);
	else
		snprintf(sel, sizeof(sel), "%s=%s,%s=%s", LABEL_MANAGED, MANAGED_BY, LABEL_NAMESPACE,
			 l->nss->ns);
	if (cont && strlen(cont) > LIST_MAX_CONTINUE) {
		report(l->run, APPLY_EV_ERROR, l->nss->ns, NULL, -1, NULL, NULL,
		       "a list continue token is too long; namespace not pruned", NULL);
		l->nss->failed = 1;
		l->run->s->errors = 1;
		return;
	}
	obj_path(path, sizeof(path), l->res, l->nss->ns, NULL);
	/* no continue on the first page: the query ends there */
	if (submit(l->run, "GET", path, query, NULL, 0, 0, l->fn ? l->fn : on_list, l) < 0)
		l->nss->failed = 1;
}

static struct apply_plan *sort_plan;   /* qsort has no context argument in C11 */

static int
cmp_agent(const void *x, const void *y)
{
	const struct pagent *a = &sort_plan->a[*(const size_t *)x];
	const struct pagent *b = &sort_plan->a[*(const size_t *)y];
	int c = strcmp(a->ns, b->ns);

	return c ? c : strcmp(a->name, b->name);
}

static struct pagent *
find_agent(struct apply_plan *p, const size_t *idx, const char *ns, const char *name)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct pagent *a = &p->a[idx[mid]];
		int c = strcmp(ns, a->ns);

		if (!c)
			c = strcmp(name, a->name);
		if (!c)
			return a;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
prune(struct run *run)
{
	struct nsstate *nss = NULL;
	struct lister *ls = NULL;
	size_t *idx = NULL, nns = 0, i, w;

	if (!run->p->n)
		return;
	idx = xcalloc(run->p->n, sizeof(*idx));
	nss = xcalloc(run->p->n, sizeof(*nss));
	if (!idx || !nss)
		goto oom;
	for (i = 0; i < run->p->n; i++)
		idx[i] = i;
	sort_plan = run->p;
	qsort(idx, run->p->n, sizeof(*idx), cmp_agent);
	for (i = 0; i < run->p->n; i++) {
		const char *ns = run->p->a[idx[i]].ns;

		if (!nns || strcmp(nss[nns - 1].ns, ns) != 0)
			nss[nns++].ns = ns;
	}
	if (!(ls = xcalloc(nns * RES_COUNT, sizeof(*ls))))
		goto oom;
	for (i = 0; i < nns; i++)
		if (!run->o.dry_run && !leases_held(run->leases, nss[i].ns))
			nss[i].failed = 1;   /* another run's: not ours to prune */
	run->pruning = 1;
	discover(run);
	for (i = 0; i < nns && !run->oom; i++)
		for (int r = 0; r < RES_COUNT; r++) {
			struct lister *l = &ls[i * RES_COUNT + (size_t)r];

			if (!resdefs[r].agent || !run->served[r])
				continue;
			l->run = run;
			l->nss = &nss[i];
			l->res = (enum res)r;
			list_page(l, NULL);
		}
	kapi_run(run->k);
	if (run->oom)
		goto oom;
	/* keep what belongs to an agent of the plan, and everything of a
	 * namespace not fully listed */
	for (i = 0, w = 0; i < run->nfound; i++) {
		struct found *f = &run->found[i];
		struct pagent *a = find_agent(run->p, idx, f->ns, f->job);
		int keep = 0;

		for (size_t k = 0; k < nns; k++)
			if (strcmp(nss[k].ns, f->ns) == 0 && nss[k].failed)
				keep = 1;
		if (a) {
			/* an object of a live agent that its spec no longer makes (the
			 * egress policy of an agent that left gateway mode): once its
			 * Pod is applied, it goes; never a live agent's Pod */
			keep = keep || f->res == RES_POD || !a->finished || !a->ok;
			for (size_t k = 0; k < a->nobjs && !keep; k++)
				if (a->objs[k].res == f->res && strcmp(a->objs[k].name, f->name) == 0)
					keep = 1;
		}
		f->live = a != NULL;
		if (keep) {
			free(f->ns);
			free(f->job);
			free(f->name);
			continue;
		}
		run->found[w++] = *f;
	}
	run->nfound = w;
	run_victims(run);
	goto out;
oom:
	run->s->errors = 1;
	report(run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory; nothing pruned", NULL);
out:
	free(ls);
	free(nss);
	free(idx);
}

/* --- the namespaces of the plan, and their leases --- */

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int
plan_namespaces(struct run *run)
{
	struct apply_plan *p = run->p;
	size_t n = 0;

	if (!p->n && !p->ng)
		return 0;
	if (!(run->nss = xcalloc(p->n + p->ng, sizeof(*run->nss))))
		return -1;
	for (size_t i = 0; i < p->n; i++)
		run->nss[n++] = p->a[i].ns;
	for (size_t i = 0; i < p->ng; i++)
		run->nss[n++] = p->g[i].ns;
	qsort(run->nss, n, sizeof(*run->nss), cmp_str);
	run->nns = 0;
	for (size_t i = 0; i < n; i++)
		if (!run->nns || strcmp(run->nss[run->nns - 1], run->nss[i]) != 0)
			run->nss[run->nns++] = run->nss[i];
	return 0;
}

static const char *
lease_hint(const char *ns, const struct kapi_response *r, char *out, size_t n)
{
	if (r && !r->error && r->status == 403)
		return "the credentials lack permission: agentfence needs get, create, update and "
		       "delete on leases.coordination.k8s.io in each agent namespace";
	if (r)
		return hint_for(-1, ns, r, out, n);
	return "another agentfence run (apply, delete or prune) is writing this namespace's "
	       "agents: run again once it is done, or give --timeout more time";
}

static void
on_lease_note(void *ctx, const char *ns, enum lease_note t, const char *msg,
	      const struct kapi_response *r)
{
	struct run *run = ctx;
	char desc[1024], line[1800], hint[600];

	if (r) {
		describe(r, desc, sizeof(desc));
		snprintf(line, sizeof(line), "%s: %s", msg, desc);
	} else {
		snprintf(line, sizeof(line), "%s", msg);
	}
	switch (t) {
	case LEASE_WAITING:
	case LEASE_TAKEN_OVER:
	case LEASE_NOT_RELEASED:
		report(run, APPLY_EV_WARNING, ns, NULL, -1, NULL, NULL, line, NULL);
		break;
	case LEASE_FAILED:
	case LEASE_LOST:
		run->s->errors = 1;
		report(run, APPLY_EV_ERROR, ns, NULL, -1, NULL, NULL, line,
		       t == LEASE_LOST ? "another run may have written this namespace at the same "
					  "time: run again to make sure every agent is as specified"
				       : lease_hint(ns, r, hint, sizeof(hint)));
		break;
	}
}

/* Take the lease of every namespace of the plan (not for a dry run: it writes nothing). */
static int
take_leases(struct run *run)
{
	struct lease_opts lo;
	long missing;

	if (run->o.dry_run || !run->nns)
		return 0;
	memset(&lo, 0, sizeof(lo));
	lo.wait_ms = run->o.wait_timeout_ms;
	lo.note = on_lease_note;
	lo.ctx = run;
	if (leases_new(&run->leases, run->k, &lo) < 0)
		return -1;
	missing = leases_acquire(run->leases, run->nss, run->nns);
	if (missing < 0)
		return -1;
	for (size_t i = 0; i < run->p->n; i++)
		run->p->a[i].blocked = !leases_held(run->leases, run->p->a[i].ns);
	for (size_t i = 0; i < run->p->ng; i++)
		run->p->g[i].blocked = !leases_held(run->leases, run->p->g[i].ns);
	return 0;
}

static void
drop_leases(struct run *run)
{
	leases_release(run->leases);
	leases_free(run->leases);
	run->leases = NULL;
}

/* --- unchanged: what is live already holds what agentfence sets --- */

static void
live_key(char *out, size_t n, int res, const char *ns, const char *name)
{
	snprintf(out, n, "%d/%s/%s", res, ns, name);
}

/*
 * Does `live` hold every field of `want` with the same value (lists: same
 * length)? On a difference, at[0..n) holds its path when at is not NULL.
 */
static int
holds_at(json_t *want, json_t *live, int top, char *at, size_t n, size_t len)
{
	const char *k;
	json_t *v;
	size_t i;

	if (at && len < n)
		at[len] = '\0';
	if (json_is_object(want)) {
		if (!json_is_object(live))
			return 0;
		json_object_foreach(want, k, v) {
			int w = 0;

			/* a typed list's items have no kind and apiVersion: the URL says them */
			if (top && (!strcmp(k, "kind") || !strcmp(k, "apiVersion")))
				continue;
			if (at && len < n)
				w = snprintf(at + len, n - len, ".%s", k);
			if (!holds_at(v, json_object_get(live, k), 0, at, n, len + (w > 0 ? (size_t)w : 0)))
				return 0;
		}
		return 1;
	}
	if (json_is_array(want)) {
		if (!json_is_array(live) || json_array_size(live) != json_array_size(want))
			return 0;
		json_array_foreach(want, i, v) {
			int w = 0;

			if (at && len < n)
				w = snprintf(at + len, n - len, "[%zu]", i);
			if (!holds_at(v, json_array_get(live, i), 0, at, n, len + (w > 0 ? (size_t)w : 0)))
				return 0;
		}
		return 1;
	}
	return live && json_equal(want, live);
}

static int
holds(json_t *want, json_t *live, int top)
{
	return holds_at(want, live, top, NULL, 0, 0);
}

int
apply_holds(json_t *want, json_t *live, char *at, size_t n)
{
	return holds_at(want, live, 1, n ? at : NULL, n, 0);
}

/* The element of list `want` that the fieldsV1 key "k:{...}" names, or NULL. */
static json_t *
keyed_item(json_t *want, const char *key)
{
	json_t *spec = json_loads(key + 2, 0, NULL), *it, *found = NULL;
	size_t i;

	if (!json_is_object(spec)) {
		json_decref(spec);
		return NULL;
	}
	json_array_foreach(want, i, it) {
		const char *k;
		json_t *v;
		int all = 1;

		json_object_foreach(spec, k, v)
			if (!json_equal(v, json_object_get(it, k)))
				all = 0;
		if (all) {
			found = it;
			break;
		}
	}
	json_decref(spec);
	return found;
}

/*
 * Does agentfence's own entry of managedFields (fieldsV1 `f`) own no
 * field that `want` no longer sets (an apply would remove it)?
 */
static int
owns_only(json_t *f, json_t *want)
{
	const char *k;
	json_t *c;
	size_t nitems = 0;

	if (!json_is_object(f))
		return 0;
	json_object_foreach(f, k, c) {
		json_t *w = NULL;

		if (!strcmp(k, "."))
			continue;
		if (!strncmp(k, "f:", 2) && json_is_object(want))
			w = json_object_get(want, k + 2);
		else if (!strncmp(k, "k:", 2) && json_is_array(want))
			w = keyed_item(want, k);
		else if (!strncmp(k, "i:", 2) && json_is_array(want))
			w = json_array_get(want, strtoul(k + 2, NULL, 10));
		else if (!strncmp(k, "v:", 2) && json_is_array(want))
			w = want;   /* a set's value: counted below */
		if (!w)
			return 0;
		if (k[0] != 'f')
			nitems++;
		if (k[0] != 'v' && json_object_size(c) && !owns_only(c, w))
			return 0;
	}
	return !nitems || nitems == json_array_size(want);
}

/* Does another manager's fieldsV1 `f` own a field that `want` sets? */
static int
owns_any(json_t *f, json_t *want)
{
	const char *k;
	json_t *c;

	json_object_foreach(f, k, c) {
		json_t *w;

		if (!strncmp(k, "f:", 2) && json_is_object(want) &&
		    (w = json_object_get(want, k + 2))) {
			if (!json_is_object(w) || !json_is_object(c) || owns_any(c, w))
				return 1;
		}
	}
	return 0;
}

/*
 * Is `live` stored with every field of `want` (what agentfence sets), owned
 * as an apply leaves it? 0 when want is NULL (not in the plan).
 */
static int
holds_applied(json_t *want, json_t *live)
{
	json_t *meta, *mf, *e;
	int own = 0, ok = 1;
	size_t i;

	if (!want)
		return 0;
	meta = json_object_get(live, "metadata");
	mf = json_object_get(meta, "managedFields");
	if (json_object_get(meta, "deletionTimestamp") || !json_is_array(mf))
		return 0;   /* going away, or who set what is unknown */
	if (!holds(want, live, 1))
		return 0;
	json_array_foreach(mf, i, e) {
		const char *mgr = json_string_value(json_object_get(e, "manager"));
		const char *op = json_string_value(json_object_get(e, "operation"));
		const char *sub = json_string_value(json_object_get(e, "subresource"));
		json_t *f = json_object_get(e, "fieldsV1");

		if (!ok)
			break;
		if (mgr && op && !strcmp(mgr, APPLY_FIELD_MANAGER) && !strcmp(op, "Apply") &&
		    (!sub || !*sub)) {
			own = 1;
			ok = owns_only(f, want);
		} else if (!json_is_object(f) || owns_any(f, want)) {
			ok = 0;   /* another manager shares a field: write, force takes it */
		}
	}
	return ok && own;
}

/*
 * What a 2xx PATCH did: "created"; "unchanged" when the server left the
 * object as the LIST saw it (the same resourceVersion, as kubectl says;
 * a dry run stores nothing, so it tells nothing); else "configured".
 */
static const char *
patched(struct run *run, const char *ns, const struct pobj *o, const struct kapi_response *r)
{
	char key[PATH_LEN];
	const char *before, *after;

	if (r->status == 201)
		return "created";
	if (run->o.dry_run || !run->live)
		return "configured";
	live_key(key, sizeof(key), (int)o->res, ns, o->name);
	before = json_string_value(json_object_get(run->live, key));
	after = meta_str(r->json, "resourceVersion");
	return before && after && strcmp(before, after) == 0 ? "unchanged" : "configured";
}

static void
on_live(void *ctx, const struct kapi_response *r)
{
	struct lister *l = ctx;
	struct run *run = l->run;
	json_t *items = json_object_get(r->json, "items"), *it, *want, *rv;
	const char *cont;
	char key[PATH_LEN];
	size_t i;

	if (!ok2xx(r) || !json_is_array(items))
		return;   /* not known: written as usual */
	json_array_foreach(items, i, it) {
		const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"),
								     "name"));

		if (!name)
			continue;
		live_key(key, sizeof(key), (int)l->res, l->nss->ns, name);
		want = json_object_get(run->want, key);
		rv = json_object_get(json_object_get(it, "metadata"), "resourceVersion");
		if (!want)
			continue;
		if ((json_is_string(rv) && json_object_set(run->live, key, rv) < 0) ||
		    (holds_applied(want, it) && json_object_set_new(run->same, key, json_true()) < 0)) {
			run->oom = 1;
			return;
		}
	}
	cont = json_string_value(json_object_get(json_object_get(r->json, "metadata"), "continue"));
	if (cont && *cont && ++l->pages < LIST_MAX_PAGES && strlen(cont) <= LIST_MAX_CONTINUE)
		list_page(l, cont);
}

/*
 * One paginated LIST per namespace and kind of the plan, of the objects
 * agentfence manages (cluster-scoped kinds: by their namespace label).
 */
static void
list_live(struct run *run)
{
	struct apply_plan *p = run->p;
	unsigned *kinds = NULL;
	struct nsstate *nss = NULL;
	struct lister *ls = NULL;

	if (!run->nns)
		return;
	kinds = xcalloc(run->nns, sizeof(*kinds));
	nss = xcalloc(run->nns, sizeof(*nss));
	ls = xcalloc(run->nns * RES_COUNT, sizeof(*ls));
	if (!kinds || !nss || !ls || !(run->live = json_object()) || !(run->same = json_object()) ||
	    !(run->want = json_object())) {
		run->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < p->n + p->ng; i++) {
		const char *ns = i < p->n ? p->a[i].ns : p->g[i - p->n].ns;
		const struct pobj *o = i < p->n ? p->a[i].objs : p->g[i - p->n].objs;
		size_t no = i < p->n ? p->a[i].nobjs : p->g[i - p->n].nobjs;
		const char **at = bsearch(&ns, run->nss, run->nns, sizeof(*run->nss), cmp_str);
		char key[PATH_LEN];

		for (size_t j = 0; j < no; j++) {
			live_key(key, sizeof(key), (int)o[j].res, ns, o[j].name);
			if (json_object_set(run->want, key, o[j].json) < 0) {
				run->oom = 1;
				goto out;
			}
		}

		for (size_t j = 0; at && j < no; j++)
			kinds[at - run->nss] |= 1u << o[j].res;
	}
	for (size_t i = 0; i < run->nns && !run->oom; i++) {
		nss[i].ns = run->nss[i];
		if (!run->o.dry_run && !leases_held(run->leases, run->nss[i]))
			continue;
		for (int r = 0; r < RES_COUNT; r++) {
			struct lister *l = &ls[i * RES_COUNT + (size_t)r];

			if (!(kinds[i] & (1u << r)))
				continue;
			l->run = run;
			l->nss = &nss[i];
			l->res = (enum res)r;
			l->fn = on_live;
			list_page(l, NULL);
		}
	}
	kapi_run(run->k);
out:
	free(ls);
	free(nss);
	free(kinds);
}

/* Did the LIST find the object stored as an apply of it would leave it? */
static int
unchanged(struct run *run, const char *ns, const struct pobj *o)
{
	char key[PATH_LEN];

	if (!run->same)
		return 0;
	live_key(key, sizeof(key), (int)o->res, ns, o->name);
	return json_object_get(run->same, key) != NULL;
}

static void
run_init(struct run *run, struct apply_plan *p, struct kapi *k, const struct apply_opts *o,
	 apply_event_fn fn, void *ctx, struct apply_summary *s)
{
	memset(run, 0, sizeof(*run));
	memset(s, 0, sizeof(*s));
	run->p = p;
	run->k = k;
	run->o = *o;
	if (run->o.max_active <= 0)
		run->o.max_active = 16;
	if (run->o.wait_timeout_ms <= 0)
		run->o.wait_timeout_ms = 300000;
	run->fn = fn;
	run->ctx = ctx;
	run->s = s;
	s->agents = p->n;
}

void
apply_run(struct apply_plan *p, struct kapi *k, const struct apply_opts *o, apply_event_fn fn,
	  void *ctx, struct apply_summary *s)
{
	struct run run;

	run_init(&run, p, k, o, fn, ctx, s);
	if (plan_namespaces(&run) < 0 || take_leases(&run) < 0)
		run.oom = 1;
	if (!run.oom)
		list_live(&run);
	if (!run.oom) {
		start_guards(&run);
		kapi_run(k);
	}
	if (!run.oom) {
		start_agents(&run);
		kapi_run(k);
	}
	if (run.oom) {
		s->errors = 1;
		report(&run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
	}
	if (o->prune && !run.oom)
		prune(&run);
	free_found(&run);
	drop_leases(&run);
	json_decref(run.live);
	json_decref(run.same);
	json_decref(run.want);
	free(run.nss);
}

void
apply_delete(struct apply_plan *p, struct kapi *k, const struct apply_opts *o, apply_event_fn fn,
	     void *ctx, struct apply_summary *s)
{
	struct run run;
	char name[256];

	run_init(&run, p, k, o, fn, ctx, s);
	if (plan_namespaces(&run) < 0 || take_leases(&run) < 0) {
		s->errors = 1;
		report(&run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
		drop_leases(&run);
		free(run.nss);
		return;
	}
	discover(&run);
	for (size_t i = 0; i < p->n && !run.oom; i++) {
		struct pagent *a = &p->a[i];
		struct spec_agent ag;
		int err = add_found(&run, RES_POD, a->ns, a->name, a->objs[a->nobjs - 1].name, NULL);

		/* every policy kind the agent may have (from an earlier enforcement
		 * or egress mode too: a 404 is fine), never its namespace's guard */
		memset(&ag, 0, sizeof(ag));
		ag.ns = a->ns;
		ag.name = a->name;
		for (int r = 0; r < RES_COUNT && !err; r++) {
			if (r == RES_POD || !resdefs[r].agent || !run.served[r])
				continue;
			if (r == RES_CLUSTERNP)
				build_cnp_name(name, &ag);
			else if (r == RES_CEGP)
				build_egw_name(name, &ag);
			else
				build_netpol_name(name, &ag);   /* NetworkPolicy, CiliumNetworkPolicy */
			err = add_found(&run, (enum res)r, a->ns, a->name, name, NULL);
		}
		if (err < 0) {
			s->errors = 1;
			report(&run, APPLY_EV_ERROR, NULL, NULL, -1, NULL, NULL, "out of memory", NULL);
			run.oom = 1;
			break;
		}
	}
	if (!run.oom)
		run_victims(&run);
	if (run.oom)
		s->errors = 1;
	free_found(&run);
	drop_leases(&run);
	free(run.nss);
}
