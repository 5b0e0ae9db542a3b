/*
 * build: the Kubernetes objects of one agent, as node trees.
 *
 * build_agent() starts from the templates, sets every field the agent's
 * isolation depends on, and returns the objects in apply order: the
 * NetworkPolicy, the CiliumEgressGatewayPolicy (gateway mode), the Pod.
 *
 * Ownership: the objects live in the arena passed in; the profile and
 * templates are borrowed and must outlive them (shared subtrees, such as
 * the except lists, are not copied).
 */
#ifndef AGENTFENCE_BUILD_H
#define AGENTFENCE_BUILD_H

#include "arena.h"
#include "node.h"
#include "profile.h"
#include "spec.h"
#include "tmpl.h"

#define BUILD_MAX_OBJECTS 3

#define LABEL_JOB "agentfence.dev/job-id"
#define LABEL_NAMESPACE "agentfence.dev/namespace"
#define LABEL_MANAGED "app.kubernetes.io/managed-by"
#define MANAGED_BY "agentfence"

/* Object names, written into `out` (at least 256 bytes). */
void build_netpol_name(char *out, const struct spec_agent *ag);
void build_egw_name(char *out, const struct spec_agent *ag);

/*
 * What every agent of a run shares, built once: the templates with the
 * fixed security fields applied, and the constant parts (except lists,
 * the DNS rule, security contexts) rendered once as NODE_RAW values.
 * Owns its arena; the profile and templates are borrowed.
 */
struct build_ctx {
	struct arena arena;
	const struct profile *p;
	const struct tmpl *t;
	struct node *pod, *netpol, *egw;   /* prototypes: a placeholder agent's objects */
	struct node *netpol_meta_rest, *pod_meta_rest, *egw_meta_rest;
	struct node *policy_types; /* RAW */
	struct node *dns_rule;     /* RAW list item */
	struct node *public_to;    /* RAW: the ipBlocks of public mode */
	struct node *gateway_to;   /* RAW: gateway mode's (IPv4 only: the gateway carries IPv4) */
	struct node *egw_dst, *egw_excluded, *egw_default_sel;
};

/* 0, or -1 when out of memory. */
int build_init(struct build_ctx *ctx, const struct profile *p, const struct tmpl *t);
void build_free(struct build_ctx *ctx);
/* 0, or -1 when out of memory. */
int build_agent(const struct build_ctx *ctx, const struct spec_agent *ag,
		struct arena *a, struct node **objs, size_t *nobjs);

#endif
