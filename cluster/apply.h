/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apply: put agents on a cluster in the safe order, and take them off.
 *
 * Leases first (lease.h): apply, delete and prune hold the Lease of every
 * namespace of the plan while they write it, so two runs never interleave
 * their writes; a namespace whose Lease cannot be taken (held by another
 * run past the wait, forbidden) is not written, and its agents are
 * reported failed. A dry run writes nothing and takes none.
 *
 * Unchanged costs a LIST: before writing, apply lists each namespace's
 * objects labelled app.kubernetes.io/managed-by=agentfence, one paginated
 * LIST per kind (cluster-scoped kinds by their namespace label), and sends
 * nothing for an object whose live state holds every field agentfence
 * sets with the same value (lists: same length, element by element; server
 * defaults are extra fields, ignored), whose agentfence entry in
 * managedFields owns no field the apply would drop, and where no other
 * manager owns a field agentfence sets; it is reported "unchanged".
 * Anything uncertain (a list not read, a field missing, another owner, a
 * Pod being deleted) is written as before.
 * A PATCH the server takes as a no-op (the resourceVersion it returns is
 * the one listed) is reported "unchanged" too, as kubectl does; a dry run
 * stores nothing, so its PATCHes never are.
 *
 * Guards first: each agent namespace has a guard: the agents'
 * ServiceAccount and, with cilium or clusternetworkpolicy enforcement,
 * cluster-scoped objects that hold every Pod of the namespace to what no
 * agent may exceed. Every guard of the plan is
 * applied, and stored (2xx), before any object of any agent is sent; the
 * agents of a namespace whose guard failed are not applied (an existing
 * Pod of theirs is deleted, as below) and reported failed.
 *
 * Apply, per agent: server-side apply (fieldManager=agentfence,
 * force=true) of its policies (a NetworkPolicy, a CiliumNetworkPolicy, or a
 * NetworkPolicy and a ClusterNetworkPolicy, as the enforcement says) and, in
 * gateway mode, its CiliumEgressGatewayPolicy; then, only once the server
 * has stored every one of them (2xx), its Pod. When a policy fails, the Pod
 * is not applied and an existing Pod of the agent is deleted (it must not
 * run without its isolation); the agent is reported failed and the others
 * carry on. A Pod whose spec changed is left running and reported, or with
 * `recreate` deleted, waited for until gone, and created again.
 *
 * A stale view is never acted on (for writers that take no lease): once
 * its Pod is written, apply reads the agent's policies back, and if one is
 * missing deletes the Pod it wrote (uid precondition) and reports the
 * agent failed.
 *
 * Delete (the delete command, and prune): the Pod first, with a uid
 * precondition (the Pod read, or listed, before: a Pod re-created since is
 * not deleted); its policies only once a GET says that Pod is gone
 * (bounded by wait_timeout_ms) and a LIST finds no Pod of the agent (a
 * re-created one keeps its policies; the agent is reported failed). Delete
 * removes, by name, the agent's policy of every kind an enforcement or
 * egress mode makes, whichever it was applied with; a kind whose CRD the
 * server does not serve (its discovery document, read first, lacks it) is
 * not asked for. Prune lists the objects labelled
 * app.kubernetes.io/managed-by=agentfence in the namespaces of the plan
 * (the cluster-scoped ones by their agentfence.dev/namespace label; a kind
 * whose CRD is missing has none) and deletes, in that order, the agents no
 * longer in the plan. A namespace is pruned only when all its lists were
 * read.
 *
 * Guards are never deleted, by delete or by prune: the other agents of the
 * namespace rely on them (kubectl delete by label agentfence.dev/guard
 * removes them by hand). They carry no agentfence.dev/job-id label, and a
 * listed object labelled agentfence.dev/guard is never taken for an
 * agent's.
 *
 * Force: the isolation must be what the spec says, so agentfence takes
 * back fields another manager (kubectl edit, a controller) changed; a
 * conflict error would instead leave a weakened policy in place.
 *
 * Nothing here prints: outcomes go to the event callback.
 *
 * Ownership: struct apply_plan owns copies of every agent's and guard's
 * names and serialized objects (compact JSON); release with apply_plan_free(). The
 * kapi client is borrowed. Strings in an apply_event are borrowed until
 * the callback returns.
 */
#ifndef AGENTFENCE_APPLY_H
#define AGENTFENCE_APPLY_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "kapi.h"
#include "node.h"
#include "spec.h"

#define APPLY_FIELD_MANAGER "agentfence"

struct apply_plan;

struct apply_opts {
	int dry_run;            /* dryRun=All: the server checks everything, stores nothing */
	int prune;              /* delete agents no longer in the plan (their namespaces only) */
	int recreate;           /* replace a Pod whose spec changed */
	int wait;               /* also wait until the Pod of a failed agent is gone */
	long wait_timeout_ms;   /* each wait for a Pod to be gone; 0: 5 minutes */
	int max_active;         /* agents in progress at once; 0: 16 */
};

enum apply_event_type {
	APPLY_EV_OBJECT,        /* resource/name action ("created", "configured", "deleted") */
	APPLY_EV_ERROR,         /* an object or request failed: message, hint */
	APPLY_EV_WARNING,       /* a server Warning header, or a note: message */
	APPLY_EV_AGENT_FAILED,  /* an agent's outcome: message says what state it was left in */
	APPLY_EV_PROGRESS,      /* done of total agents (failed of them) */
};

struct apply_event {
	enum apply_event_type type;
	const char *ns, *agent;         /* NULL for run-wide events */
	const char *resource, *name;    /* "pod", "job-1"; NULL when not about an object */
	const char *action;
	const char *message;
	const char *hint;               /* what to do; NULL if nothing useful */
	int dry_run;
	size_t done, total, failed;
};

typedef void (*apply_event_fn)(void *ctx, const struct apply_event *ev);

struct apply_summary {
	size_t agents;          /* in the plan */
	size_t applied, failed; /* apply: agents; delete: agents deleted / failed */
	size_t pruned, prune_failed;
	int errors;             /* anything failed on the cluster */
};

int apply_plan_new(struct apply_plan **pp);
/* Serialize one agent's objects (compile's callback). 0, or -1 with an error in d. */
int apply_plan_add(struct apply_plan *p, const struct spec_agent *ag, struct node **objs,
		   size_t nobjs, struct diags *d);
/*
 * Serialize the guard of namespace ns (compile's on_guard callback, before
 * the namespace's first agent; once per namespace). 0, or -1 with an error in d.
 */
int apply_plan_add_guard(struct apply_plan *p, const char *ns, struct node **objs, size_t nobjs,
			 struct diags *d);
size_t apply_plan_count(const struct apply_plan *p);

/* One object of the plan (borrowed from the plan). */
struct apply_obj {
	const char *kind, *ns, *name;   /* ns "" when cluster-scoped */
	const char *agent;              /* NULL for a guard's object */
	const char *path;               /* its API path */
	const char *body;               /* compact JSON */
	size_t len;
};
/*
 * Call fn for every object of the plan: each guard's, then each agent's
 * policies and Pod. Stops at, and returns, fn's first nonzero return;
 * -1 when out of memory; else 0.
 */
typedef int (*apply_obj_fn)(void *ctx, const struct apply_obj *o);
int apply_plan_each(struct apply_plan *p, apply_obj_fn fn, void *ctx);
/*
 * Does `live` hold every field of `want` with the same value (lists: same
 * length, element by element; kind and apiVersion at the top ignored)?
 * The test apply's "unchanged" makes. When not, `at` (n bytes, may be
 * NULL) gets the path of the first field that differs (".spec.egress[0]").
 */
int apply_holds(json_t *want, json_t *live, char *at, size_t n);
void apply_plan_free(struct apply_plan *p);

/* Apply every agent of the plan (then prune, if asked). */
void apply_run(struct apply_plan *p, struct kapi *k, const struct apply_opts *o,
	       apply_event_fn fn, void *ctx, struct apply_summary *s);
/* Delete every agent of the plan: Pod, then its policies. */
void apply_delete(struct apply_plan *p, struct kapi *k, const struct apply_opts *o,
		  apply_event_fn fn, void *ctx, struct apply_summary *s);

#endif
