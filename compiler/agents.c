#include "agents.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t
hash(const char *ns, const char *name)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	const char *p;

	for (p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static int
key_eq(const char *key, const char *ns, const char *name)
{
	size_t n = strlen(ns);

	return strncmp(key, ns, n) == 0 && key[n] == '/' && strcmp(key + n + 1, name) == 0;
}

static struct agent_rec *
slot(const struct agents *s, const char *ns, const char *name)
{
	size_t i = (size_t)hash(ns, name) & (s->cap - 1);

	while (s->slots[i].key && !key_eq(s->slots[i].key, ns, name))
		i = (i + 1) & (s->cap - 1);
	return &s->slots[i];
}

static int
grow(struct agents *s)
{
	struct agents t = *s;
	size_t cap = s->cap ? s->cap * 2 : 1024;

	t.slots = xcalloc(cap, sizeof(*t.slots));
	if (!t.slots)
		return -1;
	t.cap = cap;
	for (size_t i = 0; i < s->cap; i++) {
		struct agent_rec *r = &s->slots[i];
		const char *slash;

		if (!r->key)
			continue;
		/* rehash from the key: "ns/name" */
		slash = strchr(r->key, '/');
		{
			char ns[64];
			size_t n = (size_t)(slash - r->key);

			memcpy(ns, r->key, n);
			ns[n] = '\0';
			*slot(&t, ns, slash + 1) = *r;
		}
	}
	free(s->slots);
	s->slots = t.slots;
	s->cap = cap;
	return 0;
}

static const char *
intern(struct agents *s, const char *file)
{
	char **p;

	if (s->nfiles && strcmp(s->files[s->nfiles - 1], file) == 0)
		return s->files[s->nfiles - 1];
	p = xreallocarray(s->files, s->nfiles + 1, sizeof(*p));
	if (!p)
		return NULL;
	s->files = p;
	if (!(p[s->nfiles] = xstrdup(file)))
		return NULL;
	return p[s->nfiles++];
}

int
agents_add(struct agents *s, const char *ns, const char *name, const char *file, int line)
{
	struct agent_rec *r;
	size_t n;

	if (strlen(ns) > 63 || strlen(name) > 63)
		return -1;
	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	r = slot(s, ns, name);
	if (r->key)
		return 1;
	n = strlen(ns) + strlen(name) + 2;
	if (!(r->key = xmalloc(n)))
		return -1;
	snprintf(r->key, n, "%s/%s", ns, name);
	if (!(r->file = intern(s, file))) {
		free(r->key);
		r->key = NULL;
		return -1;
	}
	r->line = line;
	s->n++;
	return 0;
}

const struct agent_rec *
agents_find(const struct agents *s, const char *ns, const char *name)
{
	struct agent_rec *r;

	if (!s->cap)
		return NULL;
	r = slot(s, ns, name);
	return r->key ? r : NULL;
}

void
agents_free(struct agents *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->slots);
	free(s->files);
	memset(s, 0, sizeof(*s));
}
