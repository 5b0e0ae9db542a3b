/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build: the Kubernetes objects of one agent, as node trees.
 *
 * build_agent() starts from the templates, sets every field the agent's
 * isolation depends on, and returns the objects in apply order: the
 * policy (per the profile's enforcement: a NetworkPolicy; a CiliumNetworkPolicy;
 * or a NetworkPolicy and a ClusterNetworkPolicy), the CiliumEgressGatewayPolicy
 * (gateway mode), the Pod.
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

#define BUILD_MAX_OBJECTS 4
#define BUILD_MAX_GUARDS 5

#define LABEL_JOB "agentfence.dev/job-id"
#define LABEL_NAMESPACE "agentfence.dev/namespace"
#define LABEL_GUARD "agentfence.dev/guard"
#define LABEL_MANAGED "app.kubernetes.io/managed-by"
#define MANAGED_BY "agentfence"
/* every agent Pod runs as this ServiceAccount of its namespace (a guard object) */
#define AGENT_SERVICE_ACCOUNT "agentfence-agent"

/* Object names, written into `out` (at least 256 bytes). */
void build_netpol_name(char *out, const struct spec_agent *ag);
void build_egw_name(char *out, const struct spec_agent *ag);
/* The agent's ClusterNetworkPolicy (cluster-scoped: "isolate-<ns>.<name>"). */
void build_cnp_name(char *out, const struct spec_agent *ag);
/* The guard objects' names for namespace ns (none with networkpolicy enforcement). */
void build_guard_names(char out[][256], size_t *n, const struct profile *p, const char *ns);

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
/*
 * The guard of agent namespace `ns`, the objects its agents rely on,
 * applied before any of them: first the agents' ServiceAccount
 * (AGENT_SERVICE_ACCOUNT); then, with cilium or clusternetworkpolicy
 * enforcement, cluster-scoped policies that select every Pod of the
 * namespace, whatever its labels, and deny what no agent may reach with
 * precedence over every NetworkPolicy; then, with spec.admission in the
 * profile, the admission guard (admission.h): a ValidatingAdmissionPolicy
 * and its binding. At most BUILD_MAX_GUARDS objects. 0, or -1 out of memory.
 */
int build_guard(const struct build_ctx *ctx, const char *ns, struct arena *a,
		struct node **objs, size_t *nobjs);
/*
 * The flux layout's two Flux Kustomizations (kustomize.toolkit.fluxcd.io/v1,
 * namespace flux-system, source the GitRepository flux-system):
 * agentfence-policies for ./DIR/policies, with wait and without prune (a
 * pruned policy could go before its Pod), and agentfence-pods for
 * ./DIR/pods, with prune, which dependsOn it: Flux applies no Pod before
 * every policy is ready. `dir` is relative to the repository root, without a
 * leading ./ or a trailing /. 0, or -1 out of memory.
 */
int build_flux(struct arena *a, const char *dir, struct node **objs);

#endif
