/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kapi: a small Kubernetes API client over libcurl.
 *
 * Requests are queued with kapi_request() and run by kapi_run(), an event
 * loop over one curl multi handle: up to max_inflight requests at once,
 * on connections that are kept and reused (HTTP/2 streams where the server
 * offers h2, HTTP/1.1 keep-alive otherwise; TLS sessions are shared).
 * Each request is retried with exponential backoff and jitter on 429
 * (Retry-After honoured), 5xx and dropped or timed-out connections; every
 * attempt has a connect and a total timeout, and attempts are bounded, so
 * a hung server cannot hang the run. Server-side apply, GET and DELETE are
 * idempotent, so a retry after a lost response is safe. A 401 re-runs the
 * exec credential plugin once and retries.
 *
 * TLS is verified against the kubeconfig's CA (or the system's store when
 * it names none), unless the kubeconfig says insecure-skip-tls-verify.
 * Certificates and keys are handed to libcurl from memory (blobs), never
 * through a file. Nothing here prints: the optional trace callback gets
 * one line per attempt (method, path, status, time; never a header or a
 * body), and errors go to diags or to the response passed to callbacks.
 *
 * Ownership: kapi_open() returns a client released by kapi_close(); it
 * borrows the kubeconfig (which must outlive it; a credential refresh
 * updates it) and the diags. A request body is borrowed until its
 * callback has run. A kapi_response and everything in it is borrowed
 * until the callback returns.
 */
#ifndef AGENTFENCE_KAPI_H
#define AGENTFENCE_KAPI_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "kubeconfig.h"

#define KAPI_APPLY_TYPE "application/apply-patch+yaml"
#define KAPI_JSON_TYPE "application/json"

struct kapi;

struct kapi_opts {
	long connect_timeout_ms;    /* 0: 10 s (never more than the request timeout) */
	long request_timeout_ms;    /* each attempt, all included; 0: 30 s */
	int max_inflight;           /* 0: 16 */
	int max_attempts;           /* 0: 5 (3 for timeouts and TLS handshake errors) */
	void (*trace)(void *ctx, const char *line);   /* NULL: quiet */
	void *trace_ctx;
};

struct kapi_response {
	long status;                /* HTTP status; 0: no response (see error) */
	const char *error;          /* transport failure text, or NULL */
	int tls;                    /* the transport failure is about TLS */
	const char *body;
	size_t len;
	json_t *json;               /* the body when it is a JSON object, else NULL */
	/* from a Status body (or the text of another error body); "" when absent */
	const char *reason, *message, *details_kind;
	const char *warnings;       /* Warning headers' texts, one per line; NULL if none */
	int attempts;
};

typedef void (*kapi_done_fn)(void *ctx, const struct kapi_response *r);

/* 0, or -1 with an error in d. Runs the exec plugin when there is one. */
int kapi_open(struct kapi **kp, struct kubeconfig *kc, const struct kapi_opts *o,
	      struct diags *d);
void kapi_close(struct kapi *k);

/* A request. Borrowed until kapi_request() returns, but body until done has run. */
struct kapi_req {
	const char *method;         /* GET, PATCH (with ctype and body) or DELETE */
	const char *path;           /* "/api/v1/namespaces/a/pods/x": its names are
				     * DNS-1123 names, which need no escaping */
	const char *const *query;   /* key, value, ..., NULL (a NULL value ends it too; each value is escaped
				     * by libcurl); NULL: no query */
	const char *ctype;          /* the body's Content-Type (KAPI_APPLY_TYPE or
				     * KAPI_JSON_TYPE); NULL: no body */
	const char *body;
	size_t len;
	long delay_ms;              /* start it after this long */
};

/*
 * Queue a request. `done` runs from kapi_run() once the request has
 * succeeded or given up. 0, or -1 when out of memory (done never runs).
 */
int kapi_request(struct kapi *k, const struct kapi_req *q, kapi_done_fn done, void *ctx);

/* Run until no request is queued, waiting or in flight (callbacks may queue more). */
void kapi_run(struct kapi *k);

/*
 * GET /version: can we reach and authenticate to the server? 0, or -1
 * with an error (and what to do) in d. On success *version is the
 * server's gitVersion (borrowed from k).
 */
int kapi_check(struct kapi *k, const char **version, struct diags *d);

#endif
