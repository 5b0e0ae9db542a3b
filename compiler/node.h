/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node: a small YAML tree with source marks: mappings, lists and typed
 * scalars.
 *
 * Input: reader.c builds one document's tree at a time, each node with
 * its line and column for diagnostics. Output: the compiler builds the
 * objects it emits as node trees too (node_new_*, node_map_set), and
 * emit.c writes them.
 *
 * Ownership: nodes live in the arena they were made in.
 */
#ifndef AGENTFENCE_NODE_H
#define AGENTFENCE_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

/* What a scalar is, as the YAML 1.2 core schema (and Kubernetes) reads it. */
enum node_type {
	NT_STR,    /* quoted, !!str, or a plain scalar that is nothing else */
	NT_NULL,
	NT_BOOL,
	NT_INT,
	NT_FLOAT,
};

struct node {
	uint8_t kind;      /* enum node_kind */
	uint8_t type;      /* enum node_type, scalars only */
	uint8_t quoted;    /* input: written quoted; output: must stay a string */
	uint8_t plain;     /* output: a literal of ours known to need no quotes */
	int line, col;     /* 1-based; 0 for built nodes */
	const char *str;   /* scalar text, NUL-terminated */
	size_t len;
	struct node *head, *tail;  /* MAP: keys (key->val is the value); SEQ: items */
	struct node *next;         /* next key or item in the parent */
	struct node *val;          /* for a map key: its value */
	size_t count;              /* keys or items */
};

/* Lookups. NULL when absent. */
struct node *node_map_getn(const struct node *map, const char *key, size_t len);
/* (inline: a literal key's length is known when compiling) */
static inline struct node *
node_map_get(const struct node *map, const char *key)
{
	return node_map_getn(map, key, strlen(key));
}

/* Building. All return NULL when out of memory. */
struct node *node_new_map(struct arena *a);
struct node *node_new_seq(struct arena *a);
/* A string: the emitter quotes it when YAML would read it as something else. */
struct node *node_new_str(struct arena *a, const char *s);
/* A string built with printf into the arena (at most 511 bytes). */
struct node *node_new_strf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A sequence of the n strings of v. */
struct node *node_new_str_seq(struct arena *a, const char *const *v, size_t n);
/* A plain scalar written as is (integers, booleans). */
struct node *node_new_raw(struct arena *a, const char *s, enum node_type t);
struct node *node_new_int(struct arena *a, long v);
struct node *node_new_bool(struct arena *a, int v);

/*
 * Literals of the compiler's own ("podSelector", "TCP"): known to need no
 * quotes, so the emitter skips the check. The "" key "" concatenation
 * only compiles for string literals, so user data cannot come this way.
 */
#define node_map_put(a, map, key, val) node_map_set_plain((a), (map), "" key "", (val))
#define node_map_sub_put(a, map, key) node_map_sub_plain((a), (map), "" key "")
#define node_new_lit(a, s) node_new_plain((a), "" s "")
int node_map_setn(struct arena *a, struct node *map, const char *key, size_t len,
		  struct node *val, int plain);
static inline int
node_map_set_plain(struct arena *a, struct node *map, const char *key, struct node *val)
{
	return node_map_setn(a, map, key, strlen(key), val, 1);
}
struct node *node_map_sub_plain(struct arena *a, struct node *map, const char *key);
struct node *node_new_plain(struct arena *a, const char *s);

/* Append an item to a sequence. */
void node_seq_add(struct node *seq, struct node *item);
/* Append a child: an item to a list, or a key to a map (its value in key->val). */
void node_append(struct node *parent, struct node *child);
/* Set key to val: replaces the value in place if the key exists, else appends. Returns 0 or -1. */
int node_map_set(struct arena *a, struct node *map, const char *key, struct node *val);
/* Set and return the map under `key`, creating it when absent. */
struct node *node_map_sub(struct arena *a, struct node *map, const char *key);
/* Deep copy into `a` (marks kept). */
struct node *node_clone(struct arena *a, const struct node *n);

/* "a string", "a mapping", "an integer", ... for messages. */
const char *node_type_name(const struct node *n);
/* Resolve a plain scalar's type (YAML 1.2 core schema, plus YAML 1.1's
 * yes/no/on/off, which Kubernetes' YAML reader takes as booleans). */
enum node_type node_resolve_plain(const char *s, size_t len);

#endif
