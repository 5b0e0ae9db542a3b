/*
 * agents: the set of agents seen in one run, to refuse duplicates.
 *
 * One small record per agent (its namespace/name and where it was first
 * defined): the only thing the compiler keeps across documents.
 *
 * Ownership: struct agents owns its records; release with agents_free().
 * The `file` strings are interned: one copy per input file.
 */
#ifndef AGENTFENCE_AGENTS_H
#define AGENTFENCE_AGENTS_H

#include <stddef.h>

struct agent_rec {
	char *key;          /* "namespace/name" */
	const char *file;   /* interned */
	int line;
};

struct agents {
	struct agent_rec *slots;
	size_t cap, n;
	char **files;
	size_t nfiles;
};

/* 0 added, 1 already present, -1 out of memory. */
int agents_add(struct agents *s, const char *ns, const char *name, const char *file, int line);
const struct agent_rec *agents_find(const struct agents *s, const char *ns, const char *name);
void agents_free(struct agents *s);

#endif
