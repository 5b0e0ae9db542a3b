/* SPDX-License-Identifier: Apache-2.0 */
/* diff: see diff.h */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "jsonparse.h"
#include "emit.h"
#include "node.h"
#include "reader.h"
#include "xalloc.h"

/* apply's query, and dryRun=All: the server checks and merges, stores nothing */
static const char *const q_dry_apply[] = { "fieldManager", APPLY_FIELD_MANAGER, "force", "true",
					   "dryRun", "All", NULL };

/* what the server keeps for itself (kubectl diff drops only managedFields) */
static const char *const server_meta[] = { "managedFields", "resourceVersion", "generation", "uid",
					   "creationTimestamp", "selfLink", NULL };

struct dobj {
	const char *body;       /* borrowed from the plan */
	size_t len;
	char *path;
	json_t *live, *merged;  /* the server's answers (NULL: none) */
	int get_done, patch_done;
	int immutable;          /* a Pod whose spec changed */
	int sa_missing;         /* a Pod whose ServiceAccount is not stored */
	char get_err[600], patch_err[600];
};

struct drun {
	struct dobj *o;
	size_t n, cap;
	int oom;
};

static void
describe(const struct kapi_response *r, char *out, size_t n)
{
	if (r->error)
		snprintf(out, n, "%s", r->error);
	else
		snprintf(out, n, "%s (%ld%s%s)", *r->message ? r->message : "no message", r->status,
			 *r->reason ? " " : "", r->reason);
}

static void
on_get(void *ctx, const struct kapi_response *r)
{
	struct dobj *o = ctx;

	o->get_done = 1;
	if (!r->error && r->status == 404 && strcmp(r->reason, "NotFound") == 0 && *r->details_kind)
		return;   /* absent (a missing route has no details.kind: an error) */
	if (!r->error && r->status == 200 && json_is_object(r->json)) {
		o->live = json_incref(r->json);
		return;
	}
	describe(r, o->get_err, sizeof(o->get_err));
}

static void
on_patch(void *ctx, const struct kapi_response *r)
{
	struct dobj *o = ctx;

	o->patch_done = 1;
	if (!r->error && r->status >= 200 && r->status < 300 && json_is_object(r->json)) {
		o->merged = json_incref(r->json);
		return;
	}
	if (!r->error && r->status == 422 && (strstr(r->message, "pod updates may not change fields") ||
					      strstr(r->message, "field is immutable"))) {
		o->immutable = 1;
		return;
	}
	if (!r->error && r->status == 403 && strstr(r->message, "error looking up service account")) {
		o->sa_missing = 1;
		return;
	}
	describe(r, o->patch_err, sizeof(o->patch_err));
}

static int
add_obj(void *ctx, const struct apply_obj *ao)
{
	struct drun *run = ctx;
	struct dobj *o;

	if (run->n == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 64;
		struct dobj *no = xreallocarray(run->o, cap, sizeof(*no));

		if (!no)
			return -1;
		run->o = no;
		run->cap = cap;
	}
	o = &run->o[run->n];
	memset(o, 0, sizeof(*o));
	if (!(o->path = xstrdup(ao->path)))
		return -1;
	run->n++;
	o->body = ao->body;
	o->len = ao->len;
	return 0;
}

/* Lay `top` over `base`: maps merged, lists of one length item by item, the rest replaced. */
static int
overlay(json_t *base, json_t *top)
{
	const char *k;
	json_t *v;

	json_object_foreach(top, k, v) {
		json_t *b = json_object_get(base, k);

		if (json_is_object(v) && json_is_object(b)) {
			if (overlay(b, v) < 0)
				return -1;
		} else if (json_is_array(v) && json_is_array(b) &&
			   json_array_size(v) == json_array_size(b)) {
			size_t i;
			json_t *it;

			json_array_foreach(v, i, it) {
				json_t *bi = json_array_get(b, i);

				if (json_is_object(it) && json_is_object(bi) ? overlay(bi, it) < 0 :
				    json_array_set(b, i, it) < 0)
					return -1;
			}
		} else if (json_object_set(base, k, v) < 0) {
			return -1;
		}
	}
	return 0;
}

static void
strip(json_t *j)
{
	json_t *m = json_object_get(j, "metadata");

	for (size_t i = 0; server_meta[i]; i++)
		json_object_del(m, server_meta[i]);
	json_object_del(j, "status");
}

/* j as YAML into b, keys sorted. 0, or -1 (out of memory, or not readable back). */
static int
to_yaml(json_t *j, struct buf *b, struct arena *a, struct diags *d)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	struct node *doc[1];
	size_t n = 0;
	int rc = -1;

	b->n = 0;
	arena_reset(a);
	if (s && reader_string("the server's object", s, strlen(s), a, d, doc, 1, &n) == 0 && n == 1) {
		emit_yaml(b, doc[0]);
		rc = b->err ? -1 : 0;
	}
	free(s);
	return rc;
}

/* kubectl's file name: group.version.kind.namespace.name (core: version.kind...) */
static void
file_name(char *out, size_t n, json_t *want)
{
	const char *av = json_string_value(json_object_get(want, "apiVersion"));
	const char *kind = json_string_value(json_object_get(want, "kind"));
	json_t *m = json_object_get(want, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));
	char gv[256];

	snprintf(gv, sizeof(gv), "%s", av ? av : "");
	for (char *p = gv; *p; p++)
		if (*p == '/')
			*p = '.';
	snprintf(out, n, "%s.%s.%s.%s", gv, kind ? kind : "", ns ? ns : "", name ? name : "");
}

/* One object's two sides to fn. 0, 1 when fn stopped, -1 on an error (in d). */
static int
finish(struct dobj *o, diff_fn fn, void *ctx, struct buf *lb, struct buf *mb, struct arena *a,
       struct diags *d)
{
	struct diff_obj out;
	json_t *want = NULL, *merged = NULL;
	char file[600];
	int rc = -1;

	if (!o->get_done || !o->patch_done) {
		diag_error(d, NULL, 0, 0, "%s: no answer from the server (out of memory?)", o->path);
		return -1;
	}
	if (*o->get_err) {
		diag_error(d, NULL, 0, 0, "%s: cannot read the live object: %s", o->path, o->get_err);
		return -1;
	}
	if (*o->patch_err) {
		diag_error(d, NULL, 0, 0, "%s: the server's dry run refused it: %s", o->path,
			   o->patch_err);
		return -1;
	}
	if (!(want = json_parse(o->body, o->len, NULL)))
		goto oom;
	memset(&out, 0, sizeof(out));
	if (o->immutable || o->sa_missing) {
		out.note = o->immutable ? DIFF_NOTE_RECREATE : DIFF_NOTE_SA;
		merged = o->live ? json_deep_copy(o->live) : json_deep_copy(want);
		if (!merged || (o->live && overlay(merged, want) < 0))
			goto oom;
	} else {
		merged = json_incref(o->merged);
	}
	strip(merged);
	if (o->live)
		strip(o->live);
	file_name(file, sizeof(file), want);
	if ((o->live && to_yaml(o->live, lb, a, d) < 0) || to_yaml(merged, mb, a, d) < 0)
		goto oom;
	out.file = file;
	out.path = o->path;
	out.live = o->live ? lb->p : NULL;
	out.live_len = o->live ? lb->n : 0;
	out.merged = mb->p;
	out.merged_len = mb->n;
	rc = fn(ctx, &out) ? 1 : 0;
	goto out;
oom:
	diag_error(d, NULL, 0, 0, "%s: out of memory", o->path);
out:
	json_decref(want);
	json_decref(merged);
	return rc;
}

int
diff_run(struct apply_plan *p, struct kapi *k, diff_fn fn, void *ctx, struct diags *d)
{
	struct drun run;
	struct buf lb = BUF_INIT, mb = BUF_INIT;
	struct arena a = ARENA_INIT;
	int failed = 0;

	memset(&run, 0, sizeof(run));
	if (apply_plan_each(p, add_obj, &run) < 0) {
		diag_error(d, NULL, 0, 0, "out of memory");
		failed = 1;
		goto out;
	}
	for (size_t i = 0; i < run.n; i++) {
		struct dobj *o = &run.o[i];
		struct kapi_req get = { "GET", o->path, NULL, NULL, NULL, 0, 0 };
		struct kapi_req patch = { "PATCH", o->path, q_dry_apply, KAPI_APPLY_TYPE, o->body,
					  o->len, 0 };

		if (kapi_request(k, &get, on_get, o) < 0 || kapi_request(k, &patch, on_patch, o) < 0) {
			diag_error(d, NULL, 0, 0, "out of memory");
			run.oom = failed = 1;
			break;
		}
	}
	kapi_run(k);   /* what was queued runs to its end, so that it is freed */
	for (size_t i = 0; i < run.n && !run.oom; i++) {
		int rc = finish(&run.o[i], fn, ctx, &lb, &mb, &a, d);

		if (rc)
			failed = 1;
		if (rc > 0)
			break;
	}
out:
	for (size_t i = 0; i < run.n; i++) {
		free(run.o[i].path);
		json_decref(run.o[i].live);
		json_decref(run.o[i].merged);
	}
	free(run.o);
	buf_free(&lb);
	buf_free(&mb);
	arena_free(&a);
	return failed ? -1 : 0;
}
