/* SPDX-License-Identifier: Apache-2.0 */
#include "probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cidr.h"
#include "sys.h"
#include "xalloc.h"

const char *
probe_strerror(int err)
{
	switch (err) {
	case PROBE_E_SYNTAX:
		return "expected ADDRESS:PORT or [IPv6]:PORT, with an optional =LABEL";
	case PROBE_E_ADDR:
		return "not an IP address";
	case PROBE_E_PORT:
		return "not a port (1 to 65535)";
	case PROBE_E_LABEL:
		return "the label is longer than 120 characters or not printable";
	case PROBE_E_MANY:
		return "more than 1024 destinations";
	case PROBE_E_NOMEM:
		return "out of memory";
	default:
		return "no error";
	}
}

/* "1".."65535", decimal digits only, no leading zero */
static int
parse_port(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

static int
same_dest(const struct probe_target *a, const struct probe_target *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

/* addr: n bytes, a bare address (the cidr module reads it, strictly) */
static int
add_parsed(struct probe_set *s, const char *addr, size_t n, unsigned port, const char *label,
	   size_t label_len)
{
	struct probe_target t;
	struct cidr c;
	char buf[CIDR_STRLEN];

	if (cidr_parse_addr(addr, n, &c) != CIDR_OK)
		return PROBE_E_ADDR;
	if (port < 1 || port > 65535)
		return PROBE_E_PORT;
	if (label_len > PROBE_LABEL_MAX)
		return PROBE_E_LABEL;
	for (size_t i = 0; i < label_len; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return PROBE_E_LABEL;
	memset(&t, 0, sizeof(t));
	cidr_format(&c, buf, 0);
	if (c.family == CIDR_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t.sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, c.addr, 4);
		t.salen = sizeof(*sin);
		snprintf(t.text, sizeof(t.text), "%s:%u", buf, port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t.sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, c.addr, 16);
		t.salen = sizeof(*sin6);
		snprintf(t.text, sizeof(t.text), "[%s]:%u", buf, port);
	}
	memcpy(t.label, label, label_len);
	t.label[label_len] = '\0';
	for (size_t i = 0; i < s->n; i++)
		if (same_dest(&s->t[i], &t))
			return PROBE_DUP;
	if (s->n == PROBE_MAX)
		return PROBE_E_MANY;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct probe_target *nt = xreallocarray(s->t, cap, sizeof(*nt));

		if (!nt)
			return PROBE_E_NOMEM;
		s->t = nt;
		s->cap = cap;
	}
	s->t[s->n++] = t;
	return 0;
}

int
probe_add(struct probe_set *s, const char *arg)
{
	const char *eq = strchr(arg, '='), *end = eq ? eq : arg + strlen(arg);
	const char *label = eq ? eq + 1 : "", *colon, *a = arg, *ae;
	unsigned port;

	if (*arg == '[') {
		a = arg + 1;
		if (!(ae = memchr(a, ']', (size_t)(end - a))) || ae[1] != ':')
			return PROBE_E_SYNTAX;
		colon = ae + 1;
	} else {
		/* an IPv6 address needs its brackets: "::1:80" reads two ways */
		colon = memchr(arg, ':', (size_t)(end - arg));
		if (!colon || memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return PROBE_E_SYNTAX;
		ae = colon;
	}
	if (parse_port(colon + 1, (size_t)(end - colon - 1), &port) < 0)
		return PROBE_E_PORT;
	return add_parsed(s, a, (size_t)(ae - a), port, label, strlen(label));
}

int
probe_add_addr(struct probe_set *s, const char *addr, unsigned port, const char *label)
{
	return add_parsed(s, addr, strlen(addr), port, label, strlen(label));
}

int
probe_add_catalog(struct probe_set *s)
{
	for (size_t i = 0; i < catalog_endpoints_len; i++) {
		const struct catalog_endpoint *e = &catalog_endpoints[i];
		int rc = probe_add_addr(s, e->addr, e->port, e->what);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int
probe_add_env(struct probe_set *s, const char *(*get)(const char *name), const char **bad)
{
	const char *host = get("KUBERNETES_SERVICE_HOST"), *port = get("KUBERNETES_SERVICE_PORT");
	const char *node = get("AGENTFENCE_NODE_IP");
	unsigned p = 443;
	int rc;

	*bad = NULL;
	if (host && *host) {
		if (port && *port && parse_port(port, strlen(port), &p) < 0) {
			*bad = "KUBERNETES_SERVICE_PORT";
			return PROBE_E_PORT;
		}
		if ((rc = probe_add_addr(s, host, p, "API server, from KUBERNETES_SERVICE_HOST")) < 0) {
			*bad = "KUBERNETES_SERVICE_HOST";
			return rc;
		}
	}
	if (node && *node &&
	    (rc = probe_add_addr(s, node, 10250, "kubelet, from AGENTFENCE_NODE_IP")) < 0) {
		*bad = "AGENTFENCE_NODE_IP";
		return rc;
	}
	return 0;
}

int
probe_reached(int err)
{
	/* connected, or refused/reset by the far end: packets got through */
	return err == 0 || err == ECONNREFUSED || err == ECONNRESET;
}

/* Start a connect; returns the socket (in progress) or -1 with t decided. */
static int
start(struct probe_target *t)
{
	int fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		t->err = errno;     /* e.g. EAFNOSUPPORT: no IPv6 in this Pod */
		t->reachable = 0;
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&t->sa, t->salen) == 0) {
		t->err = 0;
		t->reachable = 1;
	} else if (errno == EINPROGRESS) {
		return fd;
	} else {
		t->err = errno;
		t->reachable = probe_reached(errno);
	}
	close(fd);
	return -1;
}

/* One batch of at most PROBE_BATCH targets, all at once. */
static void
batch(struct probe_target **ts, size_t n, long timeout_ms)
{
	struct pollfd pfd[PROBE_BATCH];
	size_t idx[PROBE_BATCH], np = 0;
	long deadline = sys_now_ms() + timeout_ms;

	for (size_t i = 0; i < n; i++) {
		int fd = start(ts[i]);

		if (fd >= 0) {
			pfd[np].fd = fd;
			pfd[np].events = POLLOUT;
			pfd[np].revents = 0;
			idx[np++] = i;
		}
	}
	for (size_t left = np; left > 0;) {
		long wait = deadline - sys_now_ms();
		int rc;

		if (wait <= 0)
			break;
		rc = poll(pfd, np, (int)wait);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		for (size_t j = 0; j < np; j++) {
			struct probe_target *t = ts[idx[j]];
			int err = 0;
			socklen_t len = sizeof(err);

			if (pfd[j].fd < 0 || !pfd[j].revents)
				continue;
			if (getsockopt(pfd[j].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			t->err = err;
			t->reachable = probe_reached(err);
			close(pfd[j].fd);
			pfd[j].fd = -1;     /* poll ignores it from now on */
			left--;
		}
	}
	for (size_t j = 0; j < np; j++) {
		if (pfd[j].fd < 0)
			continue;
		/* no answer in time: dropped on the way (the fence), or nobody there */
		ts[idx[j]]->err = ETIMEDOUT;
		ts[idx[j]]->reachable = 0;
		close(pfd[j].fd);
	}
}

size_t
probe_round(struct probe_set *s, long timeout_ms)
{
	struct probe_target *ts[PROBE_BATCH];
	size_t n = 0, reachable = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->t[i].reachable)
			continue;
		ts[n++] = &s->t[i];
		if (n == PROBE_BATCH) {
			batch(ts, n, timeout_ms);
			n = 0;
		}
	}
	if (n)
		batch(ts, n, timeout_ms);
	for (size_t i = 0; i < s->n; i++)
		reachable += s->t[i].reachable != 0;
	return reachable;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

size_t
probe_run(struct probe_set *s, long timeout_ms, long wait_ms, long interval_ms,
	  void (*on_round)(void *ctx, const struct probe_set *s, size_t reachable), void *ctx)
{
	long t0 = sys_now_ms(), start_ms;
	size_t reachable;

	/* every target is a suspect until an attempt clears it */
	for (size_t i = 0; i < s->n; i++)
		s->t[i].reachable = 1;
	for (;;) {
		start_ms = sys_now_ms();
		reachable = probe_round(s, timeout_ms);
		if (on_round)
			on_round(ctx, s, reachable);
		if (reachable == 0 || sys_now_ms() - t0 >= wait_ms)
			return reachable;
		{
			long next = start_ms + interval_ms, end = t0 + wait_ms, now = sys_now_ms();

			if (next > end)
				next = end;
			if (next > now)
				sleep_ms(next - now);
		}
	}
}

void
probe_set_free(struct probe_set *s)
{
	free(s->t);
	s->t = NULL;
	s->n = s->cap = 0;
}
