/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reach_int: what reach.c shares with the evaluators of the other policy
 * languages (one file per language). Not for reach's callers: they use
 * reach.h.
 *
 * The summary of every language is made the same way: the language adds
 * the boundaries of every prefix its rules name to a reach_cuts, and
 * reach_intervals asks it, once per interval between two cuts, which ports
 * are open there; the language's own combination rule (a union, allow
 * minus deny, tiers) lives in that one callback.
 */
#ifndef AGENTFENCE_REACH_INT_H
#define AGENTFENCE_REACH_INT_H

#include "reach.h"

__extension__ typedef unsigned __int128 u128;

/* --- nodes --- */
const char *reach_str(const struct node *n);       /* a scalar's text, or NULL */
int reach_str_is(const struct node *n, const char *s);
const char *reach_meta(const struct node *obj, const char *key);   /* metadata.KEY */

/* A standard LabelSelector on the Pod's labels (ns = 0) or its namespace's
 * (ns = 1, kubernetes.io/metadata.name implied); {} matches everything. */
int reach_selector_matches(const struct node *sel, const struct reach_pod *p, int ns);
/* The same semantics over any labels: lookup(ctx, key) gives a value or NULL. */
typedef const char *(*reach_label_fn)(const void *ctx, const char *key);
int reach_selector_eval(const struct node *sel, reach_label_fn lookup, const void *ctx);

/* --- ports --- */
int reach_proto_of(const struct node *item);       /* "protocol": TCP (absent), UDP, SCTP; -1 */
long reach_port_num(const struct node *n);         /* digits 0..65535, or -1 */
int reach_ports_add(struct reach_ports *s, unsigned proto, unsigned lo, unsigned hi);
void reach_ports_normalize(struct reach_ports *s);
int reach_ports_minus(struct reach_ports *dst, const struct reach_ports *src);

/* --- addresses --- */
int reach_ipblock_has(const struct node *ib, const struct cidr *a);  /* {cidr, except} */
unsigned reach_bits_of(int family);
u128 reach_top_of(int family);
u128 reach_to_u128(const struct cidr *c);
struct cidr reach_from_u128(int family, u128 v, unsigned len);
u128 reach_last_of(const struct cidr *c);

struct reach_cuts {
	u128 *v;
	size_t n;
};
int reach_cut_add(struct reach_cuts *k, u128 v);
int reach_cut_prefix(struct reach_cuts *k, const char *s, int family);  /* not of family: none */
int reach_cut_ipblock(struct reach_cuts *k, const struct node *ib, int family);

/* The ports open at address a, added to out (empty on entry). 0 or -1. */
typedef int (*reach_ports_at_fn)(void *ctx, const struct cidr *a, struct reach_ports *out);
int reach_intervals(struct reach_cuts *k, int family, reach_ports_at_fn at_fn, void *ctx,
		    struct reach_range **v, size_t *n);
int reach_emit_interval(int family, u128 lo, u128 hi, const struct reach_ports *p,
			struct reach_range **v, size_t *n);

/* --- Cilium (reach_cilium.c), and the NetworkPolicy pieces it reuses --- */
int reach_cilium_present(const struct reach_objs *o);
const struct node *reach_cilium_unmodelled(const struct reach_objs *o);
int reach_cilium_selects(const struct node *obj, const struct reach_pod *p);
int reach_cilium_query(const struct reach_objs *o, const struct reach_pod *pod,
		       const struct reach_query *q, struct reach_verdict *v);
int reach_cilium_summarize(const struct reach_objs *o, const struct reach_pod *pod,
			   struct reach_summary *out);
int reach_np_isolates(const struct node *obj, const struct reach_pod *p, enum reach_dir dir);
int reach_np_ports_match(const struct node *ports, const struct reach_query *q);
int reach_np_peer_matches(const struct node *pr, const char *policy_ns, const struct reach_query *q);
int reach_np_ports_of(const struct node *ports, struct reach_ports *out);

/* --- ClusterNetworkPolicy (reach_cnp.c) and the NetworkPolicy tier it reuses --- */
int reach_np_query(const struct reach_objs *o, const struct reach_pod *pod,
		   const struct reach_query *q, struct reach_verdict *v);
int reach_np_summarize_dir(const struct reach_objs *o, const struct reach_pod *pod,
			   enum reach_dir dir, struct reach_dirsum *d);
void reach_dirsum_free(struct reach_dirsum *d);
int reach_ports_intersect(struct reach_ports *dst, const struct reach_ports *src);
int reach_cnp_is(const struct node *obj);
int reach_cnp_present(const struct reach_objs *o);
const struct node *reach_cnp_unsupported(const struct reach_objs *o);
int reach_cnp_selects(const struct node *obj, const struct reach_pod *p);
int reach_cnp_query(const struct reach_objs *o, const struct reach_pod *pod,
		    const struct reach_query *q, struct reach_verdict *v);
int reach_cnp_summarize(const struct reach_objs *o, const struct reach_pod *pod,
			struct reach_summary *out);

#endif
