/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diff: what apply would change, as kubectl diff sees it.
 *
 * For each object of a plan, two requests: a GET of the live object (404:
 * absent) and a server-side dry-run apply (dryRun=All, with apply's field
 * manager and force), which is what the server would store. Nothing is
 * written and no Lease is taken. Both are stripped of what the server
 * keeps for itself (metadata.managedFields, resourceVersion, generation,
 * uid, creationTimestamp, selfLink, and status) and handed on as YAML
 * (emit.h, keys sorted as kubectl prints them), under kubectl's file name
 * group.version.kind.namespace.name.
 *
 * When the server cannot say (a Pod whose spec changed: "field is
 * immutable"; a Pod whose ServiceAccount the plan creates, which a dry run
 * does not store), the merged side is the live object with the compiled
 * one laid over it (maps merged, lists of the same length item by item,
 * others replaced), and a note says why.
 *
 * Nothing here prints: errors go to diags, objects to the callback.
 * Ownership: the plan and the client are borrowed; everything in a
 * diff_obj is borrowed until the callback returns.
 */
#ifndef AGENTFENCE_DIFF_H
#define AGENTFENCE_DIFF_H

#include <stddef.h>

#include "apply.h"
#include "diag.h"
#include "kapi.h"

#define DIFF_NOTE_RECREATE "its spec changed: apply would leave it, apply --recreate would replace it"
#define DIFF_NOTE_SA "not checked by the server: the ServiceAccount it runs as is not stored yet"

struct diff_obj {
	const char *file;           /* "networking.k8s.io.v1.NetworkPolicy.agents.isolate-job-1" */
	const char *path;           /* its API path */
	const char *live;           /* YAML; NULL: absent */
	size_t live_len;
	const char *merged;         /* YAML */
	size_t merged_len;
	const char *note;           /* DIFF_NOTE_*, or NULL: the server's dry run */
};

/* 0, or nonzero to stop (diff_run then returns -1). */
typedef int (*diff_fn)(void *ctx, const struct diff_obj *o);

/*
 * Every object of the plan to fn, in the plan's order. 0, or -1 when an
 * object could not be read or checked (one error each in d, and fn is not
 * called for it) or out of memory.
 */
int diff_run(struct apply_plan *p, struct kapi *k, diff_fn fn, void *ctx, struct diags *d);

#endif
