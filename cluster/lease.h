/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lease: mutual exclusion between agentfence runs on a cluster, one
 * coordination.k8s.io/v1 Lease named "agentfence" per agent namespace.
 *
 * apply, delete and prune hold the Lease of every namespace they write
 * while they write it, so the writes of two runs never interleave (one run
 * deleting a Pod and its policies while another stores the policy and
 * creates the Pod anew would leave that Pod running without its policy).
 *
 * Acquire: GET the Lease; absent: create it (POST; 409 AlreadyExists means
 * another run won: read again); free (no holder) or ours: update it (PUT
 * with the resourceVersion read; 409 Conflict: read again); held by
 * another run: wait, polling, until it is released or expired, or until
 * the wait is over. The namespaces are taken one after the other in the
 * order given (sorted by the caller), so two runs never wait for each
 * other in a cycle.
 *
 * Expiry without trusting clocks: the holder's renewTime is a time on the
 * holder's clock, so it is never compared with ours. The Lease is
 * expired when the same holder and renewTime have been seen for longer
 * than its leaseDurationSeconds by our monotonic clock (client-go's
 * leader election does the same). A run that died therefore costs the
 * next one at most one lease duration (LEASE_DURATION_S) of waiting.
 *
 * Renew: a held Lease is renewed (PUT, renewTime now) when a third of its
 * duration has passed; leases_tick() queues the renewals due and is called
 * from the kapi loop's callbacks while work goes on. A renewal answered 409
 * (someone took the Lease over: we were stalled past its duration) marks it
 * lost. Release: DELETE with a resourceVersion precondition, so a Lease
 * another run has taken since is left alone.
 *
 * RBAC: get, create, update and delete on leases.coordination.k8s.io in
 * each agent namespace.
 *
 * Nothing here prints: what happens goes to the note callback. Ownership:
 * leases_new() returns a set released by leases_free(); the kapi client is
 * borrowed and must outlive it. Strings passed to the callback are
 * borrowed until it returns.
 */
#ifndef AGENTFENCE_LEASE_H
#define AGENTFENCE_LEASE_H

#include <stddef.h>

#include "kapi.h"

#define LEASE_NAME "agentfence"
#define LEASE_DURATION_S 30

enum lease_note {
	LEASE_WAITING,          /* another run holds it: message names it */
	LEASE_TAKEN_OVER,       /* an expired Lease of another run was taken */
	LEASE_FAILED,           /* not acquired: message says why */
	LEASE_LOST,             /* a held Lease was taken over by another run */
	LEASE_NOT_RELEASED,     /* the release failed: it expires on its own */
};

typedef void (*lease_note_fn)(void *ctx, const char *ns, enum lease_note type, const char *msg,
			      const struct kapi_response *r);

struct lease_opts {
	long wait_ms;           /* the longest wait for a held Lease, all namespaces together */
	lease_note_fn note;
	void *ctx;
};

struct leases;

/* 0, or -1 when out of memory. The holder identity is host/pid/random. */
int leases_new(struct leases **lp, struct kapi *k, const struct lease_opts *o);
void leases_free(struct leases *l);
const char *leases_identity(const struct leases *l);

/*
 * Acquire the Lease of each of the n namespaces (sorted, unique; borrowed
 * until leases_free), one after the other. Runs the kapi loop. Returns
 * how many were not acquired (see leases_held), or -1 when out of memory.
 */
long leases_acquire(struct leases *l, const char *const *ns, size_t n);
/* Do we hold the Lease of namespace ns (acquired and not lost)? */
int leases_held(const struct leases *l, const char *ns);
/* Queue a renewal of each held Lease that is due. Cheap; call it often. */
void leases_tick(struct leases *l);
/* Release every held Lease. Runs the kapi loop (nothing else may be queued). */
void leases_release(struct leases *l);

#endif
