/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reach: what a set of policy objects lets one Pod reach.
 *
 * The one evaluator of agentfence: `explain` runs it on the objects the
 * compiler emitted, `audit` on the objects read from a cluster (converted
 * to node trees). It reads objects, never a spec, so it doubles as a check
 * of the compiler. Semantics (tests/tools/netpol.py states them; the tests
 * compare both evaluators):
 *   NetworkPolicy (networking.k8s.io/v1): a Pod is isolated for a
 *   direction iff a policy of its namespace selects it and has that type
 *   (policyTypes defaulting as the API server does); an isolated direction
 *   allows the union of the rules of every selecting policy; ipBlock with
 *   except, namespaceSelector AND podSelector, matchLabels and
 *   matchExpressions, ports with endPort, named ports (a Pod peer only).
 *   CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: when the set
 *   holds one, the whole set is evaluated as Cilium enforces it
 *   (reach_cilium.c; tests/tools/cilium.py states the semantics).
 *   ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2): when the
 *   objects hold one (and no Cilium policy), the tiers of
 *   tests/tools/cnp.py (reach_cnp.c): Admin, NetworkPolicy (the semantics
 *   above), Baseline, default allow.
 *   Not evaluated: AdminNetworkPolicy and BaselineAdminNetworkPolicy, a
 *   ClusterNetworkPolicy beside a Cilium policy, and fields outside either
 *   model (see reach_cilium.c, reach_cnp.c): reach_unsupported() names the
 *   first such object, and the callers refuse rather than answer for part
 *   of the policy.
 *
 * Ownership: the objects and the Pod are borrowed for the duration of a
 * call; a verdict borrows strings from the objects; a summary owns its
 * lists (reach_summary_free).
 */
#ifndef AGENTFENCE_REACH_H
#define AGENTFENCE_REACH_H

#include <stddef.h>

#include "cidr.h"
#include "node.h"

/* The objects a Pod is evaluated under (any kinds; others are skipped). */
struct reach_objs {
	struct node *const *objs;
	size_t n;
};

/* A Pod: its namespace, the namespace's labels (kubernetes.io/metadata.name
 * is implied) and its own labels; label maps are NODE_MAP nodes or NULL. */
struct reach_pod {
	const char *ns;
	const struct node *ns_labels;
	const struct node *labels;
	const struct node *ports;   /* containers[].ports-like list for named ports, or NULL */
};

enum reach_dir { REACH_EGRESS, REACH_INGRESS };
enum reach_proto { REACH_TCP, REACH_UDP, REACH_SCTP, REACH_NPROTO };

/* One connection: from the Pod (egress) or to it (ingress). */
struct reach_query {
	enum reach_dir dir;
	struct cidr addr;              /* the remote address (/32 or /128); family 0: none */
	const struct reach_pod *peer;  /* the remote Pod, or NULL (outside the cluster) */
	enum reach_proto proto;
	unsigned port;                 /* 1..65535 */
	const char *name;              /* the DNS name (FQDN rules), or NULL */
};

enum reach_why {
	REACH_OPEN,        /* allowed: no policy isolates the Pod for this direction */
	REACH_RULE,        /* allowed by a rule (obj, rule, peer) */
	REACH_DENIED,      /* denied by a rule (deny/egressDeny kinds) */
	REACH_NO_RULE,     /* isolated and no rule matches: denied */
};

struct reach_verdict {
	int allowed;
	enum reach_why why;
	const struct node *obj;   /* the deciding object, NULL for OPEN (and NO_RULE) */
	const char *kind, *ns, *name;   /* its kind and metadata (borrowed), or NULL */
	int rule;                 /* index in its egress/ingress list; -1 */
	int peer;                 /* index in that rule's to/from list; -1: every peer */
	int npolicies;            /* how many policies isolate the Pod this way */
	/* Cilium */
	int specs;                /* 1 + index in the object's specs, 0: its spec */
	int deny;                 /* rule indexes egressDeny/ingressDeny */
	/* ClusterNetworkPolicy */
	const struct node *ambiguous[2];   /* two same-priority policies that decide differently, or NULL */
};

/* The first object this evaluator does not read in full (an
 * AdminNetworkPolicy, a ClusterNetworkPolicy beside a Cilium policy, a
 * field outside the Cilium or ClusterNetworkPolicy model: see
 * reach_cilium.c, reach_cnp.c), or NULL. Never fails. */
const struct node *reach_unsupported(const struct reach_objs *o);

/* 1 when obj is a policy this evaluator reads that applies to the Pod
 * (selects it for some direction). */
int reach_selects(const struct node *obj, const struct reach_pod *p);

/* Evaluate one connection. Returns 0, or -1 when an object is malformed
 * where it matters (the verdict then says nothing). */
int reach_query(const struct reach_objs *o, const struct reach_pod *pod,
		const struct reach_query *q, struct reach_verdict *v);

/* --- the summary --- */

/* A port range of one protocol. */
struct reach_port {
	unsigned char proto;      /* enum reach_proto */
	unsigned short lo, hi;    /* inclusive; 1..65535 is "every port" */
};

/* A sorted, merged set of port ranges. */
struct reach_ports {
	struct reach_port *items;
	size_t n;
};

/* A prefix and the ports it is open on. */
struct reach_range {
	struct cidr c;
	struct reach_ports ports;
};

/* A peer given by selectors (Pods, namespaces), with the rule that names it. */
struct reach_sel {
	const struct node *obj;              /* the policy */
	int rule, peer;
	const struct node *ns_sel, *pod_sel; /* NULL: absent */
	struct reach_ports ports;
	/* Cilium */
	int specs, deny;                     /* as in reach_verdict */
	const char *field;                   /* "endpoints", "entities", "nodes", "names"
						(toFQDNs), NULL: a NetworkPolicy peer or every peer */
	const struct node *cil;              /* its selector, entity list or FQDN selector */
	/* ClusterNetworkPolicy */
	const struct node *node_sel;         /* a nodes peer (ns_sel, pod_sel NULL), or NULL */
};

/* ClusterNetworkPolicy: a domainNames entry and where a connection by that name is accepted. */
struct reach_domain {
	const char *name;                    /* the entry, borrowed */
	const struct node *obj;              /* the first rule that names it */
	int rule, peer;
	struct reach_range *v4, *v6;         /* the addresses the name may resolve to and still connect */
	size_t nv4, nv6;
};

struct reach_dirsum {
	int isolated;              /* 0: every connection is allowed */
	struct reach_range *v4, *v6;   /* address peers: canonical, sorted, disjoint */
	size_t nv4, nv6;
	struct reach_sel *sels;    /* selector peers, in object and rule order */
	size_t nsels;
	/* Cilium: v4/v6 hold world addresses only (outside the cluster) */
	int cilium;
	int dns_any;                       /* every name may be asked (no DNS filter) */
	const struct node **dns;           /* else the rules.dns entries (matchName/matchPattern) */
	size_t ndns;
	/* ClusterNetworkPolicy */
	int tiered;                /* evaluated with the tiers (domains, ambiguous are set) */
	struct reach_domain *domains;
	size_t ndomains;
	const struct node *ambiguous[2];   /* two same-priority policies that decide differently */
};

struct reach_summary {
	struct reach_dirsum egress, ingress;
};

/* Summarize what the Pod may reach (egress) and be reached from (ingress).
 * Returns 0, or -1 when out of memory (out is then empty). */
int reach_summarize(const struct reach_objs *o, const struct reach_pod *pod,
		    struct reach_summary *out);
void reach_summary_free(struct reach_summary *s);

/* out := what a allows and b does not, per direction: the address ranges
 * with the ports a opens there and b does not; a's selector peers less the
 * ports b opens to the same selectors or to every peer. A direction no
 * policy isolates allows everything. out's directions are marked isolated
 * (a difference lists what it holds); its selector peers borrow a's nodes.
 * 0, or -1 when out of memory (out is then empty). */
int reach_summary_minus(const struct reach_summary *a, const struct reach_summary *b,
			struct reach_summary *out);

/* 1 when ports holds (proto, port). */
int reach_ports_has(const struct reach_ports *p, enum reach_proto proto, unsigned port);
/* dst := dst and src, normalized. 0 or -1 (out of memory). */
int reach_ports_union(struct reach_ports *dst, const struct reach_ports *src);
/* 1 when a and b are the same set. */
int reach_ports_equal(const struct reach_ports *a, const struct reach_ports *b);
/* "TCP", "UDP", "SCTP" */
const char *reach_proto_name(enum reach_proto p);

#endif
