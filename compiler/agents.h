/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agents: the set of agents seen in one run, to refuse duplicates.
 *
 * One small record per agent: a 128-bit fingerprint of "namespace/name"
 * and where it was first defined (24 bytes, plus a 4-byte slot). The
 * only thing the compiler keeps across documents, so memory stays flat
 * as the input grows. Two different agents share a fingerprint with
 * probability about n^2 / 2^129: never, for any real input.
 *
 * Ownership: struct agents owns its records; release with agents_free().
 * `file` strings are interned: one copy per input file.
 */
#ifndef AGENTFENCE_AGENTS_H
#define AGENTFENCE_AGENTS_H

#include <stddef.h>
#include <stdint.h>

struct agent_rec {
	uint64_t h1, h2;
	uint32_t file;      /* index into files */
	int32_t line;
};

struct agents {
	uint32_t *slots;    /* 0: empty; else record index + 1 */
	size_t cap;
	struct agent_rec *recs;
	size_t n, rcap;
	char **files;
	size_t nfiles;
};

/* 0 added, 1 already present (*first_file, *first_line set), -1 out of memory. */
int agents_add(struct agents *s, const char *ns, const char *name, const char *file, int line,
	       const char **first_file, int *first_line);
void agents_free(struct agents *s);

#endif
