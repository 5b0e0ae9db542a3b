/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build: the Kubernetes objects of one agent, as node trees.
 *
 * build_agent() starts from the templates, sets every field the agent's
 * isolation depends on, and returns the objects in apply order: the
 * NetworkPolicy, the CiliumEgressGatewayPolicy (gateway mode), the Pod.
 * Each object has one builder, and each isolation rule (families per mode,
 * the blocked catalogue, DNS, the gateway's IPv4-only rule) is written once,
 * in build.c.
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

/* The profile and templates every agent of a run is built from (borrowed). */
struct build_ctx {
	const struct profile *p;
	const struct tmpl *t;
};


/* Always 0. */
int build_init(struct build_ctx *ctx, const struct profile *p, const struct tmpl *t);
void build_free(struct build_ctx *ctx);
/* 0, or -1 when out of memory. */
int build_agent(const struct build_ctx *ctx, const struct spec_agent *ag,
		struct arena *a, struct node **objs, size_t *nobjs);

#endif
