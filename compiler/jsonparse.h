/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonparse: json_loadb that fails when memory does.
 *
 * jansson 2.14's lexer ignores a failure to grow a string's buffer: the
 * character is dropped and the document returned all the same (found by
 * the allocation walk of tests/alloc.sh). Every JSON the program reads (a
 * server's response, a credential plugin's output, an embedded schema)
 * goes through json_parse, which counts the allocations that failed while
 * jansson parsed and refuses a parse that saw one.
 */
#ifndef AGENTFENCE_JSONPARSE_H
#define AGENTFENCE_JSONPARSE_H

#include <stddef.h>

#include <jansson.h>

/* As json_loadb(text, len, 0, err); NULL (err: "out of memory") when an
 * allocation failed during the parse. err may be NULL. */
json_t *json_parse(const char *text, size_t len, json_error_t *err);

#endif
