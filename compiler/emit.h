/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emit: write node trees as YAML (block style, two-space indent, lists
 * at their key's indent, as kubectl writes them) or JSON (jansson).
 *
 * Strings are written plain only when every YAML 1.1 and 1.2 reader
 * takes them back as the same string; otherwise double-quoted with
 * escapes. Output depends on nothing but the tree: same tree, same bytes.
 */
#ifndef AGENTFENCE_EMIT_H
#define AGENTFENCE_EMIT_H

#include <jansson.h>

#include "buf.h"
#include "node.h"

/* One document body (no "---" line). Errors surface as b->err. */
void emit_yaml(struct buf *b, const struct node *doc);
/* A string scalar as YAML would need it (plain or double-quoted). */
void emit_yaml_string(struct buf *b, const char *s, size_t len);
/*
 * Mark every string of `tree` that needs no quotes as `plain`, so the
 * emitter writes it without checking again. Only for trees whose strings
 * never change afterwards (templates).
 */
void emit_mark_plain(struct node *tree);
/* One JSON value, indented by 2, followed by no newline. Returns 0 or -1
 * (invalid UTF-8, or out of memory). */
int emit_json(struct buf *b, const struct node *doc, size_t indent_level);
/* The same value as a jansson tree (NULL: invalid UTF-8, or out of memory). */
json_t *emit_to_json(const struct node *doc);

#endif
