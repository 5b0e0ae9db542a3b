/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check: typed reads of a node tree with diagnostics.
 *
 * Shared by the spec and profile readers: each getter checks the node's
 * type and records "FILE:LINE:COL: error: PATH: ..." in the diags when it
 * is wrong. Unknown keys are always errors (a typo never falls back to a
 * default). Paths are like "spec.egress.allow[2]".
 */
#ifndef AGENTFENCE_CHECK_H
#define AGENTFENCE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cidr.h"
#include "diag.h"
#include "node.h"

/* A label pair, borrowed from an arena. */
struct kv {
	const char *k, *v;
};

#define CHECK_MAX_LABELS 64

struct check {
	struct diags *d;
	const char *file;
	struct arena *a;     /* for strings that outlive the call (paths) */
};

#define CHECK_PATH 512

/* "parent.key" or "key" into out (CHECK_PATH bytes); returns out. */
char *check_path(char *out, const char *parent, const char *key);
/* "parent[i]" */
char *check_index(char *out, const char *parent, size_t i);

/* Report every key of `map` not in `allowed` (NULL-terminated). Returns the count. */
int check_keys(struct check *c, const struct node *map, const char *path,
	       const char *const *allowed);
/* Error unless n is a mapping (or a list): 0 or -1. */
int check_is_map(struct check *c, const struct node *n, const char *path);
int check_is_seq(struct check *c, const struct node *n, const char *path);
/* A non-empty string; NULL after an error. */
const char *check_str(struct check *c, const struct node *n, const char *path);
/* An integer in [min, max]: 0 or -1. */
int check_int(struct check *c, const struct node *n, const char *path,
	      long min, long max, long *out);
/* A map of Kubernetes labels (valid keys and values, at most
 * CHECK_MAX_LABELS) into *out (from c->a): 0 or -1. */
int check_labels(struct check *c, const struct node *map, const char *path,
		 struct kv **out, size_t *n);
/* A strict CIDR ("ADDR/LEN", no host bits): 0 or -1 after naming the
 * problem (and, for host bits, the prefix that was probably meant). */
int check_cidr(struct check *c, const struct node *n, const char *path, struct cidr *out);
/* A positive Kubernetes resource quantity (like 500m, 2, 1Gi; a string or
 * a number): its text, or NULL after an error. */
const char *check_quantity(struct check *c, const struct node *n, const char *path);
/* A non-empty list of at most max ports (1-65535), sorted, without
 * repeats, into *out (from c->a): 0 or -1. */
int check_ports(struct check *c, const struct node *seq, const char *path, size_t max,
		uint16_t **out, size_t *n);
/* true/false: 0 or -1. */
int check_bool(struct check *c, const struct node *n, const char *path, int *out);
/* A required key: its value, or NULL after "PATH is required". */
const struct node *check_required(struct check *c, const struct node *map,
				  const char *path, const char *key);

/* Syntax checks (no diagnostics): 1 when valid. */
int check_dns_label(const char *s);       /* RFC 1123 label, <= 63 */
int check_dns_subdomain(const char *s);   /* RFC 1123 subdomain, <= 253 */
int check_label_key(const char *s);       /* Kubernetes label key (prefix/name) */
int check_label_value(const char *s);     /* Kubernetes label value */
int check_env_name(const char *s);        /* [-._a-zA-Z][-._a-zA-Z0-9]* */

void check_error(struct check *c, const struct node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
