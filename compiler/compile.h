/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile: the pipeline shared by compile/validate/check and apply.
 *
 * For each document of each SPEC: read it, check it, refuse duplicates,
 * build its objects and hand them to a callback; then free the document.
 * Before the first agent of each namespace, its guard objects (if the
 * enforcement has any) go to on_guard.
 * One document is in memory at a time. Objects are built only while the
 * run has no errors (nothing is emitted after the first bad input), but
 * every document is still checked so all errors are reported.
 *
 * Ownership: struct compiler owns the profile, templates and agent set;
 * objects passed to the callback live until it returns.
 */
#ifndef AGENTFENCE_COMPILE_H
#define AGENTFENCE_COMPILE_H

#include "agents.h"
#include "arena.h"
#include "build.h"
#include "diag.h"
#include "profile.h"
#include "spec.h"
#include "tmpl.h"

struct spec_agent;

/* Called with the guard objects of ag->ns before the first agent of that
 * namespace, ag (cilium and clusternetworkpolicy enforcement); 0 or -1. */
typedef int (*compile_guard_fn)(void *ctx, const struct spec_agent *ag, struct node **objs,
				size_t nobjs);

struct compiler {
	struct profile profile;
	struct tmpl tmpl;
	struct build_ctx bctx;
	struct agents seen;
	struct agents namespaces;   /* those whose guard was handed out */
	compile_guard_fn on_guard;  /* NULL: guards are not wanted */
	struct arena doc_arena;
	struct diags *d;
	int build;           /* 0: check only (validate) */
};

/* Called for each valid agent with its objects in apply order; returns 0 or -1. */
typedef int (*compile_agent_fn)(void *ctx, const struct spec_agent *ag,
				struct node **objs, size_t nobjs);
/* Called after each document (e.g. to print and drop diagnostics). */
typedef void (*compile_doc_fn)(void *ctx);

/* cluster/templates may be NULL (built-in). 0, or -1 with errors in d. */
int compile_open(struct compiler *c, const char *cluster, const char *templates,
		 int build, struct diags *d);
void compile_file(struct compiler *c, const char *path, compile_agent_fn on_agent,
		  compile_doc_fn on_doc, void *ctx);
void compile_close(struct compiler *c);

#endif
