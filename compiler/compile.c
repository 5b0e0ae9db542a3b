/* SPDX-License-Identifier: Apache-2.0 */
#include "compile.h"

#include <string.h>

#include "reader.h"

int
compile_open(struct compiler *c, const char *cluster, const char *templates, int build,
	     struct diags *d)
{
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->build = build;
	if ((cluster ? profile_load(&c->profile, cluster, d) : profile_default(&c->profile, d)) < 0)
		return -1;
	if (tmpl_load(&c->tmpl, templates, d) < 0)
		return -1;
	if (build_init(&c->bctx, &c->profile, &c->tmpl) < 0) {
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* The guard of ag's namespace, the first time the run meets it. */
static int
emit_guard(struct compiler *c, const struct spec_agent *ag, void *ctx)
{
	struct node *objs[BUILD_MAX_GUARDS];
	const char *ff;
	size_t n, errs = c->d->errors;
	int fl, rc;

	if (!c->on_guard || (c->profile.enforcement == ENF_NETPOL && !c->profile.writers))
		return 0;
	rc = agents_add(&c->namespaces, ag->ns, "", ag->file, ag->line, &ff, &fl);
	if (rc > 0)
		return 0;
	if (rc < 0 || build_guard(&c->bctx, ag->ns, &c->doc_arena, objs, &n) < 0) {
		diag_error(c->d, ag->file, ag->line, ag->col, "out of memory");
		return -1;
	}
	if (c->on_guard(ctx, ag, objs, n) < 0) {
		if (c->d->errors == errs)
			diag_error(c->d, ag->file, ag->line, ag->col,
				   "the guard of namespace %s could not be written", ag->ns);
		return -1;
	}
	return 0;
}

void
compile_file(struct compiler *c, const char *path, compile_agent_fn on_agent,
	     compile_doc_fn on_doc, void *ctx)
{
	struct reader *rd;
	struct node *doc;
	struct spec_agent ag;
	struct node *objs[BUILD_MAX_OBJECTS];
	size_t nobjs;
	int rc;

	if (reader_open(&rd, path, NULL, c->d) < 0) {
		if (on_doc)
			on_doc(ctx);
		return;
	}
	while (reader_next(rd, &c->doc_arena, &doc) == 1) {
		const char *file = reader_name(rd);

		if (spec_read(&ag, doc, file, &c->profile, &c->doc_arena, c->d) == 0) {
			const char *first_file;
			int first_line;

			rc = agents_add(&c->seen, ag.ns, ag.name, file, ag.line, &first_file, &first_line);
			if (rc > 0) {
				diag_error(c->d, file, ag.line, ag.col,
					   "duplicate agent %s/%s (first defined at %s:%d)",
					   ag.ns, ag.name, first_file, first_line);
			} else if (rc < 0) {
				diag_error(c->d, file, ag.line, ag.col, "out of memory");
			} else if (!c->d->errors && c->build && emit_guard(c, &ag, ctx) == 0) {
				if (build_agent(&c->bctx, &ag, &c->doc_arena, objs, &nobjs) < 0)
					diag_error(c->d, file, ag.line, ag.col, "out of memory");
				else if (on_agent) {
					size_t errs = c->d->errors;

					/* a failed callback must fail the run, recorded or not */
					if (on_agent(ctx, &ag, objs, nobjs) < 0 && c->d->errors == errs)
						diag_error(c->d, file, ag.line, ag.col,
							   "the objects of agent %s/%s could not be written",
							   ag.ns, ag.name);
				}
			}
			spec_free(&ag);
		}
		arena_reset(&c->doc_arena);
		if (on_doc)
			on_doc(ctx);
	}
	reader_close(rd);
	arena_reset(&c->doc_arena);
	if (on_doc)
		on_doc(ctx);
}

void
compile_close(struct compiler *c)
{
	build_free(&c->bctx);
	agents_free(&c->seen);
	agents_free(&c->namespaces);
	arena_free(&c->doc_arena);
	tmpl_free(&c->tmpl);
	profile_free(&c->profile);
}
