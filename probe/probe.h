/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: proof at run time that the fence holds. From inside an agent's
 * Pod (an init container shares its network namespace, hence its
 * policies), try every destination the agent must never reach with a
 * non-blocking TCP connect, all at once, each with a short timeout.
 *
 * A destination is reachable when the connect succeeds or is refused
 * (a RST came back: packets got through), unreachable on a timeout, no
 * route, or a local policy reject (EACCES, EPERM). Some CNIs enforce a
 * new Pod's policy only seconds after it starts, so probe_run() retries
 * the reachable ones until none is left or the wait is over.
 *
 * Only main.c prints: this module records results in the set.
 * Ownership: a probe_set owns its targets; release with probe_set_free().
 */
#ifndef AGENTFENCE_PROBE_H
#define AGENTFENCE_PROBE_H

#include <stddef.h>
#include <sys/socket.h>

#include "cidr.h"

/* At most this many targets in a set; connects run this many at a time. */
#define PROBE_MAX 1024
#define PROBE_BATCH 128
#define PROBE_LABEL_MAX 120

struct probe_target {
	char text[CIDR_STRLEN + 8];     /* "169.254.169.254:80", "[fd00:ec2::254]:80" */
	char label[PROBE_LABEL_MAX + 1];/* "cloud metadata: ..."; may be empty */
	struct sockaddr_storage sa;
	socklen_t salen;
	int reachable;                  /* the last attempt's verdict */
	int err;                        /* its errno: 0 connected, ETIMEDOUT on our timeout */
};

struct probe_set {
	struct probe_target *t;
	size_t n, cap;
};

/* probe_add and the env source: 0, PROBE_DUP (already in the set: not
 * added), or a negative error (probe_strerror names it). */
enum {
	PROBE_DUP = 1,
	PROBE_E_SYNTAX = -1,    /* not ADDRESS:PORT or [ADDRESS]:PORT */
	PROBE_E_ADDR = -2,      /* not an IP address */
	PROBE_E_PORT = -3,      /* not a port 1..65535 */
	PROBE_E_LABEL = -4,     /* label too long or not printable */
	PROBE_E_MANY = -5,      /* more than PROBE_MAX targets */
	PROBE_E_NOMEM = -6,
};

const char *probe_strerror(int err);

/* "ADDR:PORT", "[V6]:PORT", each with an optional "=label". */
int probe_add(struct probe_set *s, const char *arg);
/* A bare address (no brackets) and a port, with a label. */
int probe_add_addr(struct probe_set *s, const char *addr, unsigned port, const char *label);
/* The cloud metadata endpoints of the catalogue (compiler/catalog.c). */
int probe_add_catalog(struct probe_set *s);

/*
 * The environment's sources, read with `get` (getenv, or a test's):
 * the API server (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT,
 * default 443) and the node (AGENTFENCE_NODE_IP, the kubelet's 10250).
 * An unset or empty variable adds nothing. On an error, *bad names the
 * variable at fault.
 */
int probe_add_env(struct probe_set *s, const char *(*get)(const char *name), const char **bad);

/* 1 when a connect that ended with errno `err` (0: connected) proves the
 * destination reachable. */
int probe_reached(int err);

/* One attempt at every target whose `reachable` is set (probe_run sets
 * them all first), timeout_ms each, in parallel. Returns how many are
 * reachable after it. */
size_t probe_round(struct probe_set *s, long timeout_ms);

/*
 * Rounds of probe_round until no target is reachable or wait_ms has
 * passed (0: a single round); a round starts at most every interval_ms.
 * `on_round` (may be NULL) sees each round's set and reachable count.
 * Returns how many are reachable at the end.
 */
size_t probe_run(struct probe_set *s, long timeout_ms, long wait_ms, long interval_ms,
		 void (*on_round)(void *ctx, const struct probe_set *s, size_t reachable),
		 void *ctx);

void probe_set_free(struct probe_set *s);

#endif
