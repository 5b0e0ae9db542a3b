/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile: the cluster an agent runs on (kind: ClusterProfile), and the
 * address lists derived from it once per run.
 *
 * profile_load() reads and checks a --cluster file; profile_default()
 * gives the built-in profile. Both then compute, once, everything every
 * agent shares: the except lists of the public ipBlocks, the gateway's
 * excluded CIDRs, the full blocked set for allowlist checks.
 *
 * Ownership: struct profile owns everything it points to (its arena and
 * cidr lists); release with profile_free().
 */
#ifndef AGENTFENCE_PROFILE_H
#define AGENTFENCE_PROFILE_H

#include "arena.h"
#include "check.h"
#include "cidr.h"
#include "diag.h"
#include "node.h"

#define PROFILE_MAX_DNS_PORTS 8

/* One ipBlock that opens public space: `cidr` minus `except`. */
struct profile_block {
	struct cidr cidr;
	struct cidr_list except;
	struct node *except_node;   /* the except list, formatted once */
};

/* How the fence is enforced (spec.enforcement). */
enum enforcement {
	ENF_NETPOL,     /* networkpolicy: one NetworkPolicy per agent */
	ENF_CILIUM,     /* cilium: CiliumNetworkPolicy per agent + a clusterwide guard */
	ENF_CNP,        /* clusternetworkpolicy: NetworkPolicy + ClusterNetworkPolicy per agent + guards */
};

/* Pod limits: built-in defaults and the bound of activeDeadlineSeconds. */
#define PROFILE_DEFAULT_EPHEMERAL "1Gi"
#define PROFILE_DEFAULT_DEADLINE 86400L      /* one day */
#define PROFILE_MAX_DEADLINE 2592000L        /* thirty days */

struct profile {
	struct arena arena;
	const char *file;           /* NULL: the built-in profile */
	const char *name;

	struct cidr_list pod, service, node, blocked;
	int ipv4, ipv6;
	int nat64;
	enum enforcement enforcement;

	const char *dns_namespace;
	struct kv *dns_labels;
	size_t dns_nlabels;
	const uint16_t *dns_ports;  /* the DNS Pods' ports (UDP and TCP), sorted; default 53 */
	size_t dns_nports;
	struct kv *lrp_labels;      /* dns.localRedirect.podLabels: node-local-dns Pods a
				     * Cilium Local Redirect Policy sends queries to (53) */
	size_t lrp_nlabels;
	int has_nodelocal;
	struct cidr nodelocal;      /* a host prefix (/32 or /128) */

	const char *default_namespace;
	const char *default_runtime_class;
	const char *default_cpu, *default_memory;
	const char *default_ephemeral;     /* ephemeral-storage limit = request */
	long default_deadline;             /* activeDeadlineSeconds, when the spec
					    * and the template say none */
	int read_only_root;                /* readOnlyRootFilesystem on the agent */
	int require_digest;                /* images.requireDigest */

	/* spec.admission.writers: the usernames that may write agents (NULL:
	 * no admission guard) */
	const char **writers;
	size_t nwriters;
	const char *probe_image;    /* NULL: no probe init container */
	long probe_wait_s;          /* its --wait, in seconds */

	/* derived */
	struct cidr_list never;         /* catalogue + profile ranges: what no agent reaches */
	struct profile_block blocks[3]; /* IPv4, IPv6 global unicast, NAT64 */
	size_t nblocks;
	struct cidr_list gw_excluded;   /* the cluster's IPv4 ranges */
	struct cidr_list closed;        /* the complement of the public blocks, both
					 * families: what a guard denies */
};

const char *profile_enforcement_name(enum enforcement e);

/* 0, or -1 with every error recorded in d. */
int profile_load(struct profile *p, const char *path, struct diags *d);
/* The same from one document in memory; `name` is the file shown in diagnostics. */
int profile_read(struct profile *p, const char *name, const char *text, size_t len,
		 struct diags *d);
int profile_default(struct profile *p, struct diags *d);
void profile_free(struct profile *p);

/* 1 when the NAT64 image `img` overlaps one of the profile's own IPv6 ranges. */
int profile_never_nat64(const struct profile *p, const struct cidr *img, struct cidr *hit);
/* 1 when `c` overlaps anything no agent may reach (sets *hit to that range). */
int profile_never(const struct profile *p, const struct cidr *c, struct cidr *hit);

#endif
