/* SPDX-License-Identifier: Apache-2.0 */
/* kapi: see kapi.h */
#include "kapi.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "jsonparse.h"
#include "sys.h"
#include "xalloc.h"

#ifndef AGENTFENCE_VERSION
#define AGENTFENCE_VERSION "0.1.0"
#endif

#define KAPI_MAX_BODY (256u << 20)    /* a list page is far smaller */
#define KAPI_BACKOFF_MS 200           /* first retry; doubled each time */
#define KAPI_BACKOFF_MAX_MS 5000
#define KAPI_RETRY_AFTER_MAX_S 60
#define KAPI_MAX_REFRESH 3            /* exec plugin runs after a 401 */
#define KAPI_MAX_OLD_HDRS (3 * KAPI_MAX_REFRESH + 3)

struct kreq {
	struct kreq *next;
	struct kapi *k;
	char *method;
	char *target;               /* path?query, for the trace */
	CURLU *url;
	const char *ctype, *body;
	size_t len;
	kapi_done_fn done;
	void *ctx;
	int attempts;
	long due;                   /* monotonic ms: when to start */
	long started;
	unsigned cred_gen;          /* the credentials it was sent with */
	CURL *easy;
	struct buf resp;
	struct buf warn;
	long retry_after;           /* seconds; -1: no header */
	char errbuf[CURL_ERROR_SIZE];
};

struct kapi {
	struct kubeconfig *kc;
	struct kapi_opts o;
	struct diags *d;
	CURLM *multi;
	CURLSH *share;
	CURLU *base;                /* the server's URL (host: tls-server-name, if set) */
	char *prefix;               /* the server URL's path, before every API path */
	struct curl_slist *connect_to;
	struct curl_slist *hdr_get, *hdr_patch, *hdr_json;   /* no body, apply patch, JSON */
	struct curl_slist *old_hdrs[KAPI_MAX_OLD_HDRS];
	size_t nold;
	unsigned cred_gen, refreshes;
	struct kreq *ready, *ready_tail;    /* FIFO */
	struct kreq *delayed;               /* sorted by due */
	int running;
	char version[64];
	unsigned rng;
};

static void
trace(struct kapi *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
trace(struct kapi *k, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!k->o.trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	k->o.trace(k->o.trace_ctx, line);
}

static void
slist_wipe_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static struct curl_slist *
add(struct curl_slist *l, const char *s, int *bad)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (!n) {
		*bad = 1;
		return l;
	}
	return n;
}

/* The header lists; rebuilt when the token changes (the old ones may
 * still be in use by requests in flight, so they are kept until close). */
static int
build_headers(struct kapi *k)
{
	struct curl_slist *g = NULL, *p, *j;
	int bad = 0;

	g = add(g, "Accept: application/json", &bad);
	g = add(g, "User-Agent: agentfence/" AGENTFENCE_VERSION, &bad);
	g = add(g, "Expect:", &bad);   /* no 100-continue round trip */
	if (k->kc->token) {
		size_t n = strlen(k->kc->token) + 32;
		char *h = xmalloc(n);

		if (!h) {
			bad = 1;
		} else {
			snprintf(h, n, "Authorization: Bearer %s", k->kc->token);
			g = add(g, h, &bad);
			explicit_bzero(h, n);
			free(h);
		}
	}
	p = NULL;
	j = NULL;
	for (struct curl_slist *it = g; it; it = it->next) {
		p = add(p, it->data, &bad);
		j = add(j, it->data, &bad);
	}
	p = add(p, "Content-Type: " KAPI_APPLY_TYPE, &bad);
	j = add(j, "Content-Type: " KAPI_JSON_TYPE, &bad);
	if (bad) {
		slist_wipe_free(g);
		slist_wipe_free(p);
		slist_wipe_free(j);
		return -1;
	}
	if (k->hdr_get && k->nold + 3 <= KAPI_MAX_OLD_HDRS) {
		k->old_hdrs[k->nold++] = k->hdr_get;
		k->old_hdrs[k->nold++] = k->hdr_patch;
		k->old_hdrs[k->nold++] = k->hdr_json;
	} else if (k->hdr_get) {
		slist_wipe_free(k->hdr_get);
		slist_wipe_free(k->hdr_patch);
		slist_wipe_free(k->hdr_json);
	}
	k->hdr_get = g;
	k->hdr_patch = p;
	k->hdr_json = j;
	return 0;
}

/* Parse the server's URL once; with tls-server-name, that name goes in
 * the URL (the certificate must carry it) and CONNECT_TO sends the
 * connection to the server's real address. 0, or a CURLUcode. */
static int
parse_server(struct kapi *k)
{
	char *host = NULL, *port = NULL, *path = NULL, tmp[1200];
	int rc;

	if (!(k->base = curl_url()))
		return CURLUE_OUT_OF_MEMORY;
	if ((rc = curl_url_set(k->base, CURLUPART_URL, k->kc->server, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(k->base, CURLUPART_PATH, &path, 0)) != CURLUE_OK)
		goto out;
	if (!(k->prefix = xstrdup(strcmp(path, "/") == 0 ? "" : path))) {
		rc = CURLUE_OUT_OF_MEMORY;
		goto out;
	}
	if (!k->kc->tls_server_name)
		goto out;
	if ((rc = curl_url_get(k->base, CURLUPART_HOST, &host, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(k->base, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) != CURLUE_OK ||
	    (rc = curl_url_set(k->base, CURLUPART_HOST, k->kc->tls_server_name, 0)) != CURLUE_OK ||
	    (rc = curl_url_set(k->base, CURLUPART_PORT, port, 0)) != CURLUE_OK)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s:%s:%s:%s", k->kc->tls_server_name, port, host, port);
	if (!(k->connect_to = curl_slist_append(NULL, tmp)))
		rc = CURLUE_OUT_OF_MEMORY;
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	return rc;
}

int
kapi_open(struct kapi **kp, struct kubeconfig *kc, const struct kapi_opts *o, struct diags *d)
{
	struct kapi *k;
	int rc;

	*kp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		diag_error(d, NULL, 0, 0, "cannot initialize libcurl");
		return -1;
	}
	if (!(k = xcalloc(1, sizeof(*k)))) {
		curl_global_cleanup();
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	k->kc = kc;
	k->d = d;
	k->o = *o;
	if (k->o.request_timeout_ms <= 0)
		k->o.request_timeout_ms = 30000;
	if (k->o.connect_timeout_ms <= 0)
		k->o.connect_timeout_ms = 10000;
	if (k->o.connect_timeout_ms > k->o.request_timeout_ms)
		k->o.connect_timeout_ms = k->o.request_timeout_ms;
	if (k->o.max_inflight <= 0)
		k->o.max_inflight = 16;
	if (k->o.max_attempts <= 0)
		k->o.max_attempts = 5;
	k->rng = (unsigned)sys_now_ms() ^ 0x9e3779b9u;
	*kp = k;
	if (kc->exec && kubeconfig_exec(kc, d) < 0)
		return -1;
	if ((rc = parse_server(k)) != CURLUE_OK && rc != CURLUE_OUT_OF_MEMORY) {
		diag_error(d, NULL, 0, 0, "cannot connect to the API server %s: %s", kc->server,
			   curl_url_strerror((CURLUcode)rc));
		return -1;
	}
	if (rc != CURLUE_OK || !(k->multi = curl_multi_init()) || !(k->share = curl_share_init()) ||
	    build_headers(k) < 0) {
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	/* several requests per connection with h2; keep every connection we open */
	curl_multi_setopt(k->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->o.max_inflight);
	curl_multi_setopt(k->multi, CURLMOPT_MAXCONNECTS, (long)k->o.max_inflight);
	curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return 0;
}

static void
req_free(struct kreq *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	buf_free(&r->resp);
	buf_free(&r->warn);
	curl_url_cleanup(r->url);
	free(r->method);
	free(r->target);
	free(r);
}

void
kapi_close(struct kapi *k)
{
	struct kreq *r, *n;

	if (!k)
		return;
	for (r = k->ready; r; r = n) {
		n = r->next;
		req_free(r);
	}
	for (r = k->delayed; r; r = n) {
		n = r->next;
		req_free(r);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	if (k->share)
		curl_share_cleanup(k->share);
	slist_wipe_free(k->hdr_get);
	slist_wipe_free(k->hdr_patch);
	slist_wipe_free(k->hdr_json);
	for (size_t i = 0; i < k->nold; i++)
		slist_wipe_free(k->old_hdrs[i]);
	curl_slist_free_all(k->connect_to);
	curl_url_cleanup(k->base);
	free(k->prefix);
	free(k);
	curl_global_cleanup();
}

static void
enqueue_ready(struct kapi *k, struct kreq *r)
{
	r->next = NULL;
	if (k->ready_tail)
		k->ready_tail->next = r;
	else
		k->ready = r;
	k->ready_tail = r;
}

static void
enqueue_delayed(struct kapi *k, struct kreq *r)
{
	struct kreq **pp = &k->delayed;

	while (*pp && (*pp)->due <= r->due)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
}

/*
 * The request's target, path?query with each query value escaped by
 * libcurl (curl_easy_escape: %XX in upper case, as the API server's own
 * clients send it), and its URL: the target resolved against the server's
 * URL and prefix. 0, or -1 when out of memory.
 */
static int
set_url(struct kapi *k, struct kreq *r, const struct kapi_req *q)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	buf_puts(&b, q->path);
	for (const char *const *kv = q->query; kv && kv[0] && kv[1]; kv += 2) {
		char *v = curl_easy_escape(NULL, kv[1], 0);

		if (!v)
			goto out;
		buf_printf(&b, "%c%s=%s", kv == q->query ? '?' : '&', kv[0], v);
		curl_free(v);
	}
	buf_putc(&b, 0);
	if (b.err || !(r->target = xstrdup(b.p)))
		goto out;
	b.n = 0;
	buf_printf(&b, "%s%s", k->prefix, r->target);
	buf_putc(&b, 0);
	/* a reference from the root: scheme, host and port stay the server's */
	if (!b.err && (r->url = curl_url_dup(k->base)) &&
	    curl_url_set(r->url, CURLUPART_URL, b.p, 0) == CURLUE_OK)
		rc = 0;
out:
	buf_free(&b);
	return rc;
}

int
kapi_request(struct kapi *k, const struct kapi_req *q, kapi_done_fn done, void *ctx)
{
	struct kreq *r = xcalloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->k = k;
	if (!(r->method = xstrdup(q->method)) || set_url(k, r, q) < 0) {
		req_free(r);
		return -1;
	}
	r->ctype = q->ctype;
	r->body = q->body;
	r->len = q->len;
	r->done = done;
	r->ctx = ctx;
	r->resp.limit = KAPI_MAX_BODY;
	r->warn.limit = 64u << 10;
	if (q->delay_ms > 0) {
		r->due = sys_now_ms() + q->delay_ms;
		enqueue_delayed(k, r);
	} else {
		enqueue_ready(k, r);
	}
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct kreq *r = ud;
	size_t n = size * nmemb;

	buf_add(&r->resp, p, n);
	return r->resp.err ? 0 : n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct kreq *r = ud;
	size_t n = size * nmemb, len = n;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue, say) */
		r->retry_after = -1;
		r->warn.n = 0;
	} else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		char *e;
		long v;

		memcpy(tmp, p + 12, k);
		tmp[k] = 0;
		v = strtol(tmp, &e, 10);
		if (e != tmp && v >= 0)
			r->retry_after = v;   /* an HTTP-date is treated as absent */
	} else if (len > 8 && strncasecmp(p, "Warning:", 8) == 0) {
		/* Warning: 299 - "text" */
		const char *s = p + 8, *end = p + len, *q1 = memchr(s, '"', (size_t)(end - s));

		if (q1 && end - q1 >= 2 && end[-1] == '"') {
			buf_add(&r->warn, q1 + 1, (size_t)(end - 1 - (q1 + 1)));
			buf_putc(&r->warn, '\n');
		}
	}
	return n;
}

static int
start(struct kapi *k, struct kreq *r)
{
	struct kubeconfig *kc = k->kc;
	CURL *e = curl_easy_init();
	int bad = 0;

	if (!e)
		return -1;
	r->easy = e;
	r->resp.n = 0;
	r->resp.err = 0;
	r->warn.n = 0;
	r->warn.err = 0;
	r->retry_after = -1;
	r->errbuf[0] = 0;
	r->cred_gen = k->cred_gen;
	r->started = sys_now_ms();
	bad |= curl_easy_setopt(e, CURLOPT_CURLU, r->url) != CURLE_OK;
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_SHARE, k->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, k->o.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, k->o.request_timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	if (k->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, k->connect_to);
	if (kc->proxy_url)
		curl_easy_setopt(e, CURLOPT_PROXY, kc->proxy_url);
	/* TLS: always verified, unless the kubeconfig says otherwise */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, kc->insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, kc->insecure ? 0L : 2L);
	if (kc->ca.p) {
		struct curl_blob b = { kc->ca.p, kc->ca.n, CURL_BLOB_COPY };

		/* only this CA: no system store next to it */
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) != CURLE_OK;
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (kc->cert.p) {
		/* copied: a credential refresh may free the originals meanwhile */
		struct curl_blob c = { kc->cert.p, kc->cert.n, CURL_BLOB_COPY };
		struct curl_blob kb = { kc->key.p, kc->key.n, CURL_BLOB_COPY };

		bad |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK;
	}
	if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->ctype) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, strcmp(r->ctype, KAPI_JSON_TYPE) == 0 ?
				 k->hdr_json : k->hdr_patch);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->hdr_get);
	}
	if (bad || curl_multi_add_handle(k->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		r->easy = NULL;
		return -1;
	}
	k->running++;
	return 0;
}

static int
retryable_transport(CURLcode c, int *costly)
{
	*costly = 0;
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*costly = 1;   /* likely to fail the same way: fewer attempts */
		return 1;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int
tls_code(CURLcode c)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static unsigned
rnd(struct kapi *k)
{
	k->rng = k->rng * 1103515245u + 12345u;
	return k->rng >> 8;
}

static long
backoff_ms(struct kapi *k, int attempt)
{
	long d = KAPI_BACKOFF_MS;

	for (int i = 1; i < attempt && d < KAPI_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > KAPI_BACKOFF_MAX_MS)
		d = KAPI_BACKOFF_MAX_MS;
	/* jitter: 75%..125%, so many clients do not retry in step */
	return d * 3 / 4 + (long)(rnd(k) % (unsigned)(d / 2 + 1));
}

/*
 * A transport failure (no HTTP response): its text in msg, into res.
 * Returns whether another attempt may help; lowers *limit for failures
 * likely to repeat.
 */
static int
transport_error(const struct kreq *r, CURLcode cc, struct kapi_response *res, char *msg,
		size_t n, int *limit)
{
	int costly, retry;

	if (cc == CURLE_WRITE_ERROR && r->resp.err)
		snprintf(msg, n, "the response is larger than %u bytes", KAPI_MAX_BODY);
	else
		snprintf(msg, n, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
	res->error = msg;
	res->tls = tls_code(cc);
	retry = retryable_transport(cc, &costly);
	if ((cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) && strstr(msg, " alert ")) {
		/* the server refused the handshake (our certificate): no retry helps */
		res->tls = 1;
		retry = 0;
	}
	if (costly && *limit > 3)
		*limit = 3;
	return retry;
}

/*
 * An HTTP response into res: the body (NUL-terminated), its JSON object,
 * a Status's reason, message and details (and its retryAfterSeconds when
 * no Retry-After header came), else the first line of an error's text
 * body (into msg), and the Warning headers. res->json belongs to the caller.
 */
static void
parse_response(struct kreq *r, struct kapi_response *res, char *msg, size_t n)
{
	json_t *j = NULL, *details;

	buf_putc(&r->resp, 0);   /* NUL-terminate for the text case */
	if (!r->resp.err)
		r->resp.n--;
	res->body = r->resp.p ? r->resp.p : "";
	res->len = r->resp.n;
	if (r->resp.n && r->resp.p && r->resp.p[0] == '{')
		j = json_parse(r->resp.p, r->resp.n, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	res->json = j;
	if (j && strcmp(jstr(j, "kind"), "Status") == 0) {
		json_int_t after;

		res->reason = jstr(j, "reason");
		res->message = jstr(j, "message");
		details = json_object_get(j, "details");
		res->details_kind = jstr(details, "kind");
		after = json_integer_value(json_object_get(details, "retryAfterSeconds"));
		if (r->retry_after < 0 && after > 0)
			r->retry_after = (long)after;
	} else if (!j && res->status >= 400) {
		/* a text body (the max-inflight 429, a proxy's page): its first line */
		size_t len = strcspn(res->body, "\r\n");

		snprintf(msg, n, "%.*s", (int)(len < 300 ? len : 300), res->body);
		res->message = msg;
	}
	if (r->warn.n && !r->warn.err) {
		buf_putc(&r->warn, 0);
		if (!r->warn.err)
			res->warnings = r->warn.p;
	}
}

/*
 * Whether an HTTP response is worth another attempt: 429 and 5xx (but a
 * schema error), and a 401 once the exec plugin has given new
 * credentials. *delay: when (ms), or -1 for the backoff.
 */
static int
retry_status(struct kapi *k, struct kreq *r, const struct kapi_response *res, long *delay)
{
	long status = res->status;
	int retry = status == 429 || status == 500 || status == 502 || status == 503 ||
		    status == 504;

	*delay = -1;
	/* a schema error is a 500 that will not go away */
	if (status == 500 && strstr(res->message, "failed to create typed patch object"))
		retry = 0;
	if ((status == 429 || status == 503) && r->retry_after >= 0)
		*delay = (r->retry_after > KAPI_RETRY_AFTER_MAX_S ? KAPI_RETRY_AFTER_MAX_S
								 : r->retry_after) * 1000;
	if (status == 401 && k->kc->exec) {
		/* the plugin's token may have expired: ask again, once per generation */
		if (r->cred_gen != k->cred_gen) {
			retry = 1;
			*delay = 0;
		} else if (k->refreshes < KAPI_MAX_REFRESH) {
			k->refreshes++;
			trace(k, "401 Unauthorized: running the exec plugin %s again",
			      k->kc->exec->command);
			if (kubeconfig_exec(k->kc, k->d) == 0 && build_headers(k) == 0) {
				k->cred_gen++;
				retry = 1;
				*delay = 0;
			}
		}
	}
	return retry;
}

/* An attempt has ended: retry it, or hand the response to its callback. */
static void
finish(struct kapi *k, struct kreq *r, CURLcode cc)
{
	struct kapi_response res;
	long status = 0, delay = -1;
	int retry, limit = k->o.max_attempts;
	char msgbuf[512];
	long ms = sys_now_ms() - r->started;

	memset(&res, 0, sizeof(res));
	r->attempts++;
	curl_multi_remove_handle(k->multi, r->easy);
	k->running--;
	if (cc == CURLE_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	res.status = status;
	res.reason = res.message = res.details_kind = "";
	res.attempts = r->attempts;
	if (cc != CURLE_OK) {
		retry = transport_error(r, cc, &res, msgbuf, sizeof(msgbuf), &limit);
	} else {
		parse_response(r, &res, msgbuf, sizeof(msgbuf));
		retry = retry_status(k, r, &res, &delay);
	}
	if (retry && r->attempts < limit) {
		if (delay < 0)
			delay = backoff_ms(k, r->attempts);
		if (res.error)
			trace(k, "%s %s -> %s; retry %d in %ld ms", r->method, r->target, res.error,
			      r->attempts, delay);
		else
			trace(k, "%s %s -> %ld %s; retry %d in %ld ms", r->method, r->target, status,
			      res.reason, r->attempts, delay);
		json_decref(res.json);
		r->due = sys_now_ms() + delay;
		enqueue_delayed(k, r);
		return;
	}
	if (res.error)
		trace(k, "%s %s -> %s (%ld ms)", r->method, r->target, res.error, ms);
	else
		trace(k, "%s %s -> %ld%s%s (%ld ms)", r->method, r->target, status,
		      *res.reason ? " " : "", res.reason, ms);
	r->done(r->ctx, &res);
	json_decref(res.json);
	req_free(r);
}

void
kapi_run(struct kapi *k)
{
	for (;;) {
		long now = sys_now_ms(), wait = 1000;
		CURLMsg *m;
		int left, still;

		while (k->delayed && k->delayed->due <= now) {
			struct kreq *r = k->delayed;

			k->delayed = r->next;
			enqueue_ready(k, r);
		}
		while (k->ready && k->running < k->o.max_inflight) {
			struct kreq *r = k->ready;

			k->ready = r->next;
			if (!k->ready)
				k->ready_tail = NULL;
			if (start(k, r) < 0) {
				struct kapi_response res;

				memset(&res, 0, sizeof(res));
				res.reason = res.message = res.details_kind = "";
				res.error = "out of memory";
				res.attempts = r->attempts;
				r->done(r->ctx, &res);
				req_free(r);
			}
		}
		if (!k->running && !k->ready && !k->delayed)
			break;
		curl_multi_perform(k->multi, &still);
		while ((m = curl_multi_info_read(k->multi, &left))) {
			struct kreq *r = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			finish(k, r, m->data.result);
		}
		if (k->ready && k->running < k->o.max_inflight)
			continue;
		if (k->delayed) {
			long d = k->delayed->due - sys_now_ms();

			if (d < wait)
				wait = d < 0 ? 0 : d;
		}
		if (k->running)
			curl_multi_poll(k->multi, NULL, 0, (int)wait, NULL);
		else if (k->delayed && wait > 0) {
			struct timespec ts = { wait / 1000, (wait % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
}

struct check {
	long status;
	char *error;
	int tls;
	char *reason, *message;
	char version[64];
};

static void
check_done(void *ctx, const struct kapi_response *r)
{
	struct check *c = ctx;

	c->status = r->status;
	c->tls = r->tls;
	c->error = r->error ? xstrdup(r->error) : NULL;
	c->reason = xstrdup(r->reason);
	c->message = xstrdup(r->message);
	if (r->status == 200 && r->json)
		snprintf(c->version, sizeof(c->version), "%s", jstr(r->json, "gitVersion"));
}

int
kapi_check(struct kapi *k, const char **version, struct diags *d)
{
	struct check c;
	const char *server = k->kc->server;
	int rc = -1;
	static const struct kapi_req get_version = { "GET", "/version", NULL, NULL, NULL, 0, 0 };

	memset(&c, 0, sizeof(c));
	if (kapi_request(k, &get_version, check_done, &c) < 0) {
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	kapi_run(k);
	if (c.error && c.tls && strstr(c.error, " alert ") && k->kc->cert.p)
		diag_error(d, NULL, 0, 0,
			   "cannot connect to the API server %s: %s (TLS: the server refused the "
			   "client certificate of user \"%s\")", server, c.error,
			   k->kc->user ? k->kc->user : "");
	else if (c.error && c.tls && k->kc->ca.p)
		diag_error(d, NULL, 0, 0,
			   "cannot connect to the API server %s: %s (TLS: the server's certificate "
			   "must be signed by the certificate authority in %s and name the host)",
			   server, c.error, k->kc->ca_origin ? k->kc->ca_origin : "the kubeconfig");
	else if (c.error && c.tls)
		diag_error(d, NULL, 0, 0,
			   "cannot connect to the API server %s: %s (TLS: the kubeconfig names no "
			   "certificate authority, so the system's trust store was used; set "
			   "certificate-authority-data)", server, c.error);
	else if (c.error)
		diag_error(d, NULL, 0, 0, "cannot connect to the API server %s: %s", server, c.error);
	else if (c.status == 401)
		diag_error(d, NULL, 0, 0,
			   "the API server %s rejected the credentials (401 Unauthorized): the %s of "
			   "user \"%s\" is wrong or expired", server, kubeconfig_auth_kind(k->kc),
			   k->kc->user ? k->kc->user : "(in-cluster)");
	else if (c.status != 200)
		diag_error(d, NULL, 0, 0, "the API server %s answered GET /version with %ld%s%s%s%s",
			   server, c.status, c.reason && *c.reason ? " " : "", c.reason ? c.reason : "",
			   c.message && *c.message ? ": " : "", c.message ? c.message : "");
	else
		rc = 0;
	if (rc == 0) {
		/* server-side apply: beta (on by default) since 1.16, GA in 1.22 */
		const char *v = c.version;
		char *end;
		long major, minor = 0;

		if (*v == 'v')
			v++;
		major = strtol(v, &end, 10);
		if (*end == '.')
			minor = strtol(end + 1, NULL, 10);
		if (end != v && *end == '.' && major == 1 && minor < 16) {
			diag_error(d, NULL, 0, 0,
				   "the API server %s runs Kubernetes %s; server-side apply needs 1.16 "
				   "or later", server, c.version);
			rc = -1;
		}
		snprintf(k->version, sizeof(k->version), "%s", c.version[0] ? c.version : "unknown");
		*version = k->version;
	}
	free(c.error);
	free(c.reason);
	free(c.message);
	return rc;
}
