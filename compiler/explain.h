/* SPDX-License-Identifier: Apache-2.0 */
/*
 * explain: what each compiled agent can reach, from its emitted objects.
 *
 * Collects the objects the compiler hands out (every agent's and every
 * guard's, copied), then runs the reach evaluator for each agent's Pod
 * under all of them and writes the answer as a node tree: the JSON shape
 * of docs/explain.md. The table is rendered from that same tree, so the
 * two formats cannot disagree. Nothing here prints.
 *
 * Ownership: struct explain owns its copies (explain_free); result trees
 * live in the arena the caller passes.
 */
#ifndef AGENTFENCE_EXPLAIN_H
#define AGENTFENCE_EXPLAIN_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "cidr.h"
#include "node.h"

struct spec_agent;

struct explain_agent {
	const char *ns, *name;
	int mode;               /* enum spec_mode */
	size_t first, n;        /* its objects in explain.objs */
};

struct explain_guard {
	const char *ns;
	size_t first, n;
};

struct explain {
	struct arena a;          /* the copies */
	struct node **objs;
	size_t nobjs;
	struct explain_agent *agents;
	size_t nagents;
	struct explain_guard *guards;
	size_t nguards;
	const char *enforcement;  /* the profile's, by name */
};

void explain_init(struct explain *e, const char *enforcement);
/* Keep an agent's (guard = 0) or a namespace's guard (guard = 1) objects. 0 or -1 (out of memory). */
int explain_add(struct explain *e, const struct spec_agent *ag, struct node **objs, size_t n,
		int guard);
/* The first object the evaluator does not evaluate yet, or NULL. */
const struct node *explain_unsupported(const struct explain *e);
/* The whole answer as a tree (docs/explain.md). 0 or -1 (out of memory). */
int explain_build(struct explain *e, struct arena *a, struct node **out);
/* --at: which agents reach addr (port 0: any port). 0 or -1. */
int explain_at(struct explain *e, struct arena *a, const struct cidr *addr, unsigned port,
	       struct node **out);
/* Render an explain_build or explain_at tree as the table; colour: ANSI bold names. */
void explain_table(struct buf *b, const struct node *tree, int colour);
void explain_free(struct explain *e);

#endif
