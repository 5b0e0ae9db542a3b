/* SPDX-License-Identifier: Apache-2.0 */
/* lease: see lease.h */
#include "lease.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "build.h"
#include "sys.h"
#include "xalloc.h"

#define LEASE_PREFIX "/apis/coordination.k8s.io/v1/namespaces/"
#define POLL_MS 500             /* a waiting run reads the Lease this often */
#define PATH_MAX_LEN 400
#define MAX_RACES 20            /* writes lost in a row: something else is wrong */

enum lstate { L_IDLE, L_WAITING, L_HELD, L_FAILED, L_LOST, L_RELEASED };

struct lease {
	struct leases *set;
	const char *ns;
	enum lstate state;
	char rv[64];
	long transitions;
	char acquired[40];      /* our acquireTime */
	long renewed_ms;        /* monotonic time our last successful write was sent */
	long sent_ms;
	int renewing;
	char *body;             /* the request body in flight */
	/* another holder, as last seen */
	char seen_holder[256], seen_renew[64];
	long seen_ms, seen_dur;
	int announced;
	int creating;           /* the write in flight is a create */
	int races;              /* writes lost to another run in a row */
};

struct leases {
	struct kapi *k;
	struct lease_opts o;
	char id[300];
	struct lease *l;
	size_t n, cur;
	long deadline;
	int oom;
};

static void
micro_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%.20s.%06dZ", s, (int)(ts.tv_nsec / 1000) % 1000000);
}

static void
make_identity(char *out, size_t n)
{
	char host[256] = "";
	unsigned char r[6] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	uint64_t x = (uint64_t)sys_now_ms() ^ ((uint64_t)getpid() << 32);

	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		for (size_t i = 0; i < sizeof(r); i++, x >>= 8)
			r[i] ^= (unsigned char)x;
	}
	if (fd >= 0)
		close(fd);
	if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
		snprintf(host, sizeof(host), "unknown-host");
	host[sizeof(host) - 1] = 0;
	snprintf(out, n, "%.200s/%ld/%02x%02x%02x%02x%02x%02x", host, (long)getpid(), r[0], r[1],
		 r[2], r[3], r[4], r[5]);
}

int
leases_new(struct leases **lp, struct kapi *k, const struct lease_opts *o)
{
	struct leases *l = xcalloc(1, sizeof(*l));

	*lp = l;
	if (!l)
		return -1;
	l->k = k;
	l->o = *o;
	make_identity(l->id, sizeof(l->id));
	return 0;
}

void
leases_free(struct leases *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->l[i].body);
	free(l->l);
	free(l);
}

const char *
leases_identity(const struct leases *l)
{
	return l->id;
}

static void
note(struct lease *ls, enum lease_note t, const char *msg, const struct kapi_response *r)
{
	if (ls->set->o.note)
		ls->set->o.note(ls->set->o.ctx, ls->ns, t, msg, r);
}

static void
lease_path(char *out, size_t n, const struct lease *ls, int named)
{
	snprintf(out, n, LEASE_PREFIX "%s/leases%s", ls->ns, named ? "/" LEASE_NAME : "");
}

/* The Lease we write: held by us, renewed now. */
static char *
lease_body(struct lease *ls, int with_rv)
{
	char now[40];
	json_t *meta, *o;
	char *s;

	micro_now(now, sizeof(now));
	if (!*ls->acquired)
		snprintf(ls->acquired, sizeof(ls->acquired), "%s", now);
	meta = json_pack("{s:s, s:s, s:{s:s}}", "name", LEASE_NAME, "namespace", ls->ns, "labels",
			 LABEL_MANAGED, MANAGED_BY);
	if (meta && with_rv && json_object_set_new(meta, "resourceVersion", json_string(ls->rv)) < 0) {
		json_decref(meta);
		meta = NULL;
	}
	if (!meta)
		return NULL;
	o = json_pack("{s:s, s:s, s:o, s:{s:s, s:i, s:s, s:s, s:I}}", "apiVersion",
		      "coordination.k8s.io/v1", "kind", "Lease", "metadata", meta, "spec",
		      "holderIdentity", ls->set->id, "leaseDurationSeconds", LEASE_DURATION_S,
		      "acquireTime", ls->acquired, "renewTime", now, "leaseTransitions",
		      (json_int_t)ls->transitions);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int
send(struct lease *ls, const char *method, int named, char *body, long delay, kapi_done_fn fn)
{
	char path[PATH_MAX_LEN];
	static const char *const q_manager[] = { "fieldManager", "agentfence", NULL };
	struct kapi_req q;

	lease_path(path, sizeof(path), ls, named);
	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = path;
	q.query = strcmp(method, "GET") && strcmp(method, "DELETE") ? q_manager : NULL;
	q.ctype = body ? KAPI_JSON_TYPE : NULL;
	q.body = body;
	q.len = body ? strlen(body) : 0;
	q.delay_ms = delay;
	free(ls->body);
	ls->body = body;
	ls->sent_ms = sys_now_ms();
	if (kapi_request(ls->set->k, &q, fn, ls) == 0)
		return 0;
	ls->set->oom = 1;
	return -1;
}

static const char *
spec_str(const struct kapi_response *r, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(r->json, "spec"), key));

	return s ? s : "";
}

static void acquire_next(struct leases *l);
static void tick(struct leases *l);
static void on_get(void *ctx, const struct kapi_response *r);

static void
settle(struct lease *ls, enum lstate st)
{
	ls->state = st;
	if (st == L_HELD)
		ls->renewed_ms = ls->sent_ms;
	ls->set->cur++;
	acquire_next(ls->set);
}

static void
fail(struct lease *ls, const char *what, const struct kapi_response *r)
{
	note(ls, LEASE_FAILED, what, r);
	settle(ls, L_FAILED);
}

static void
reread(struct lease *ls, long delay)
{
	if (send(ls, "GET", 1, NULL, delay, on_get) < 0)
		settle(ls, L_FAILED);
}

static void
take_rv(struct lease *ls, const struct kapi_response *r)
{
	const char *rv = json_string_value(json_object_get(json_object_get(r->json, "metadata"),
							   "resourceVersion"));

	snprintf(ls->rv, sizeof(ls->rv), "%s", rv ? rv : "");
}

/* the answer to a create or an update that would make us the holder */
static void
on_write(void *ctx, const struct kapi_response *r)
{
	struct lease *ls = ctx;

	tick(ls->set);
	if (!r->error && r->status >= 200 && r->status < 300) {
		take_rv(ls, r);
		settle(ls, L_HELD);
		return;
	}
	/* 409: another run won the race; 404 on an update: it was released.
	 * Look again. (404 on a create: the namespace does not exist.) */
	if (!r->error && (r->status == 409 || (r->status == 404 && !ls->creating)) &&
	    ++ls->races < MAX_RACES) {
		reread(ls, 0);
		return;
	}
	fail(ls, "cannot write the lease", r);
}

static void
write_lease(struct lease *ls, int create)
{
	char *body = lease_body(ls, !create);

	if (!body) {
		ls->set->oom = 1;
		settle(ls, L_FAILED);
		return;
	}
	ls->creating = create;
	if (send(ls, create ? "POST" : "PUT", !create, body, 0, on_write) < 0)
		settle(ls, L_FAILED);
}

static void
on_get(void *ctx, const struct kapi_response *r)
{
	struct lease *ls = ctx;
	struct leases *l = ls->set;
	const char *holder, *renew;
	json_t *dur, *tr;
	long now = sys_now_ms(), d;
	char msg[700];

	tick(l);
	if (!r->error && r->status == 404) {
		ls->transitions = 0;
		write_lease(ls, 1);
		return;
	}
	if (r->error || r->status != 200 || !r->json) {
		fail(ls, "cannot read the lease", r);
		return;
	}
	take_rv(ls, r);
	holder = spec_str(r, "holderIdentity");
	renew = spec_str(r, "renewTime");
	dur = json_object_get(json_object_get(r->json, "spec"), "leaseDurationSeconds");
	tr = json_object_get(json_object_get(r->json, "spec"), "leaseTransitions");
	d = json_is_integer(dur) && json_integer_value(dur) > 0 && json_integer_value(dur) < 86400
		? (long)json_integer_value(dur) : LEASE_DURATION_S;
	ls->transitions = json_is_integer(tr) ? (long)json_integer_value(tr) : 0;
	if (!*holder || strcmp(holder, l->id) == 0) {
		/* free (released by its holder), or ours already */
		if (*holder)
			ls->acquired[0] = 0;
		write_lease(ls, 0);
		return;
	}
	if (strcmp(holder, ls->seen_holder) != 0 || strcmp(renew, ls->seen_renew) != 0) {
		/* renewed since we last looked: the holder is alive; start counting again */
		snprintf(ls->seen_holder, sizeof(ls->seen_holder), "%s", holder);
		snprintf(ls->seen_renew, sizeof(ls->seen_renew), "%s", renew);
		ls->seen_ms = now;
		ls->seen_dur = d;
	} else if (now - ls->seen_ms > ls->seen_dur * 1000) {
		/* not renewed for a whole duration by our clock: its holder is gone */
		snprintf(msg, sizeof(msg),
			 "took over the lease of %s, not renewed for %ld s (last renewTime %s)",
			 holder, ls->seen_dur, *renew ? renew : "none");
		note(ls, LEASE_TAKEN_OVER, msg, NULL);
		ls->transitions++;
		ls->acquired[0] = 0;
		write_lease(ls, 0);
		return;
	}
	if (now >= l->deadline) {
		snprintf(msg, sizeof(msg),
			 "another agentfence run (%s) still holds the lease coordination.k8s.io/%s "
			 "after the wait", holder, LEASE_NAME);
		note(ls, LEASE_FAILED, msg, NULL);
		settle(ls, L_FAILED);
		return;
	}
	if (!ls->announced) {
		ls->announced = 1;
		snprintf(msg, sizeof(msg),
			 "waiting for the lease coordination.k8s.io/%s, held by %s (renewed %s, for "
			 "%ld s)", LEASE_NAME, holder, *renew ? renew : "never", d);
		note(ls, LEASE_WAITING, msg, NULL);
	}
	ls->state = L_WAITING;
	reread(ls, POLL_MS);
}

static void
acquire_next(struct leases *l)
{
	if (l->oom) {
		for (; l->cur < l->n; l->cur++)
			l->l[l->cur].state = L_FAILED;
		return;
	}
	if (l->cur < l->n)
		reread(&l->l[l->cur], 0);
}

long
leases_acquire(struct leases *l, const char *const *ns, size_t n)
{
	long missing = 0;

	if (!n)
		return 0;
	if (!(l->l = xcalloc(n, sizeof(*l->l))))
		return -1;
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		l->l[i].set = l;
		l->l[i].ns = ns[i];
	}
	l->cur = 0;
	l->deadline = sys_now_ms() + l->o.wait_ms;
	acquire_next(l);
	kapi_run(l->k);
	if (l->oom)
		return -1;
	for (size_t i = 0; i < n; i++)
		missing += l->l[i].state != L_HELD;
	return missing;
}

int
leases_held(const struct leases *l, const char *ns)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->l[i].ns, ns) == 0)
			return l->l[i].state == L_HELD;
	return 0;
}

static void
on_renew(void *ctx, const struct kapi_response *r)
{
	struct lease *ls = ctx;

	ls->renewing = 0;
	if (ls->state != L_HELD)
		return;
	if (!r->error && r->status == 200) {
		take_rv(ls, r);
		ls->renewed_ms = ls->sent_ms;
		return;
	}
	if (!r->error && (r->status == 409 || r->status == 404)) {
		ls->state = L_LOST;
		note(ls, LEASE_LOST, "another run took the lease over while this one was writing", r);
	}
	/* anything else: try again at the next tick */
}

static void
tick(struct leases *l)
{
	long now = sys_now_ms();

	for (size_t i = 0; i < l->n; i++) {
		struct lease *ls = &l->l[i];
		char *body;

		if (ls->state != L_HELD || ls->renewing ||
		    now - ls->renewed_ms < LEASE_DURATION_S * 1000 / 3)
			continue;
		if (!(body = lease_body(ls, 1)))
			continue;
		ls->renewing = 1;
		if (send(ls, "PUT", 1, body, 0, on_renew) < 0)
			ls->renewing = 0;
	}
}

void
leases_tick(struct leases *l)
{
	if (l)
		tick(l);
}

static void
on_release(void *ctx, const struct kapi_response *r)
{
	struct lease *ls = ctx;

	char msg[200];

	/* 404: gone already; 409: another run took it since; either way not ours */
	ls->state = L_RELEASED;
	if (r->error || ((r->status < 200 || r->status >= 300) && r->status != 404 &&
			 r->status != 409)) {
		snprintf(msg, sizeof(msg),
			 "cannot release the lease (it expires %d s after its last renewal)",
			 LEASE_DURATION_S);
		note(ls, LEASE_NOT_RELEASED, msg, r);
	}
}

void
leases_release(struct leases *l)
{
	int sent = 0;

	for (size_t i = 0; l && i < l->n; i++) {
		struct lease *ls = &l->l[i];
		json_t *o;
		char *body;

		if (ls->state != L_HELD)
			continue;
		o = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
			      "preconditions", "resourceVersion", ls->rv);
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (body && send(ls, "DELETE", 1, body, 0, on_release) == 0)
			sent = 1;
		else if (!body)
			l->oom = 1;
	}
	if (sent)
		kapi_run(l->k);
}
