/* SPDX-License-Identifier: Apache-2.0 */
#include "agents.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* 64-bit FNV-1a over "ns/name" from a given offset basis, then a
 * murmur3 finalizer so every bit of the result depends on every byte. */
static uint64_t
hash(const char *ns, const char *name, uint64_t h)
{
	const char *p;

	for (p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t *
slot(uint32_t *slots, size_t cap, const struct agent_rec *recs, uint64_t h1, uint64_t h2)
{
	size_t i = (size_t)h1 & (cap - 1);

	while (slots[i] && !(recs[slots[i] - 1].h1 == h1 && recs[slots[i] - 1].h2 == h2))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int
grow(struct agents *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint32_t *t;

	if (cap > UINT32_MAX)
		return -1;
	t = xcalloc(cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		*slot(t, cap, s->recs, s->recs[i].h1, s->recs[i].h2) = (uint32_t)i + 1;
	free(s->slots);
	s->slots = t;
	s->cap = cap;
	return 0;
}

static int
intern(struct agents *s, const char *file, uint32_t *idx)
{
	char **p;

	if (s->nfiles && strcmp(s->files[s->nfiles - 1], file) == 0) {
		*idx = (uint32_t)(s->nfiles - 1);
		return 0;
	}
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], file) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	p = xreallocarray(s->files, s->nfiles + 1, sizeof(*p));
	if (!p)
		return -1;
	s->files = p;
	if (!(p[s->nfiles] = xstrdup(file)))
		return -1;
	*idx = (uint32_t)s->nfiles++;
	return 0;
}

int
agents_add(struct agents *s, const char *ns, const char *name, const char *file, int line,
	   const char **first_file, int *first_line)
{
	uint64_t h1 = hash(ns, name, 1469598103934665603ULL);
	uint64_t h2 = hash(ns, name, 0x9e3779b97f4a7c15ULL);
	uint32_t *sl, fidx;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	sl = slot(s->slots, s->cap, s->recs, h1, h2);
	if (*sl) {
		const struct agent_rec *r = &s->recs[*sl - 1];

		*first_file = s->files[r->file];
		*first_line = r->line;
		return 1;
	}
	if (s->n == s->rcap) {
		size_t rcap = s->rcap ? s->rcap * 2 : 1024;
		struct agent_rec *p = xreallocarray(s->recs, rcap, sizeof(*p));

		if (!p)
			return -1;
		s->recs = p;
		s->rcap = rcap;
	}
	if (intern(s, file, &fidx) < 0)
		return -1;
	s->recs[s->n].h1 = h1;
	s->recs[s->n].h2 = h2;
	s->recs[s->n].file = fidx;
	s->recs[s->n].line = line;
	*sl = (uint32_t)++s->n;
	return 0;
}

void
agents_free(struct agents *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->slots);
	free(s->recs);
	memset(s, 0, sizeof(*s));
}
