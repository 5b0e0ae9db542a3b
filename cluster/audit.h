/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: read the live cluster and report where an agent's fence is not
 * what agentfence made it.
 *
 * The cluster is read with paginated LISTs (audit_opts.page_limit items a
 * page, `continue` tokens; a 410 Gone for an expired token restarts that
 * list from the beginning, skipping what was already seen, as client-go's
 * pager does; bounded). Namespaces and every policy kind first (a kind
 * whose API the server does not serve, 404, is skipped), then the Pods,
 * page by page: a Pod is looked at once and dropped, so memory grows with
 * the policies and namespaces, never with the Pods.
 *
 * Agent Pods are the Pods agentfence labels (app.kubernetes.io/managed-by=
 * agentfence) and every Pod of their namespaces (the agent namespaces:
 * those holding a Pod or an object agentfence labels, and those of the
 * plan). Findings, each naming the object and the rule responsible:
 *
 *   widens         a policy agentfence did not write selects an agent Pod
 *                  and the Pod reaches more under every policy selecting it
 *                  (A) than under agentfence's own objects, guards included
 *                  (B): A minus B, from the evaluator (reach.h), each part
 *                  blamed on the foreign rule that allows it; one finding a
 *                  rule. When the evaluator cannot read an object of A
 *                  (reach_unsupported), every allowing rule of each foreign
 *                  policy, saying the reach was not evaluated
 *   unfenced       an agent Pod that no policy of agentfence's selects (its
 *                  policy is missing, or its labels changed)
 *   drift          (with a plan) an object of the plan is missing, or a
 *                  field agentfence sets has another value live
 *   guard-missing  (with a profile) a guard or admission object the profile
 *                  asks for is missing in an agent namespace, or the agents'
 *                  ServiceAccount (AGENT_SERVICE_ACCOUNT, one GET a namespace);
 *                  drift when that account mounts a token
 *
 * Nothing here prints: findings and notes go to the callbacks.
 *
 * Ownership: the kapi client, plan and profile are borrowed. Strings in a
 * finding are borrowed until the callback returns.
 */
#ifndef AGENTFENCE_AUDIT_H
#define AGENTFENCE_AUDIT_H

#include <stddef.h>

#include "apply.h"
#include "kapi.h"
#include "profile.h"

enum audit_kind { AUDIT_WIDENS, AUDIT_UNFENCED, AUDIT_DRIFT, AUDIT_GUARD_MISSING };

struct audit_finding {
	enum audit_kind kind;
	const char *ns, *pod;           /* the agent Pod; NULL when not about one */
	const char *okind, *ons, *oname; /* the object responsible ("" ons: cluster-scoped) */
	const char *rule;               /* "egress[0]", a field path, or NULL */
	const char *detail;             /* what it allows, what differs */
	const char *reaches;            /* widens: what the rule adds to agentfence's fence (A
					 * minus B), or "not evaluated: ..."; else NULL */
};

typedef void (*audit_finding_fn)(void *ctx, const struct audit_finding *f);
typedef void (*audit_note_fn)(void *ctx, const char *line);

struct audit_opts {
	int page_limit;                 /* 0: 500 */
	struct apply_plan *plan;        /* NULL: no drift check */
	const struct profile *profile;  /* NULL: no guard check */
	audit_finding_fn finding;
	audit_note_fn note;             /* verbose notes; NULL: none */
	void *ctx;
};

struct audit_summary {
	size_t namespaces, policies, pods, agent_pods, findings;
	size_t requests, restarts;
	int failed;                     /* the cluster could not be read: why says it */
	char why[512];
};

const char *audit_kind_name(enum audit_kind k);

/* Run the audit. 0, or -1 when the cluster could not be read (s->why). */
int audit_run(struct kapi *k, const struct audit_opts *o, struct audit_summary *s);

#endif
