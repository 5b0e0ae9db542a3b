#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

struct outdir {
	char *dir;
	char *stage;          /* DIR/.agentfence-XXXXXX, NULL in check mode */
	int check_only;
	char **owned;         /* files the previous kustomization.yaml lists */
	size_t nowned;
	char **names;         /* files of this run */
	size_t nnames, cap;
	int stale;
};

static char *
join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = xmalloc(na + nb + 2);

	if (p) {
		memcpy(p, a, na);
		p[na] = '/';
		memcpy(p + na + 1, b, nb + 1);
	}
	return p;
}

/* The whole file, or NULL (errno ENOENT when it does not exist). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f) || b.err) {
		fclose(f);
		buf_free(&b);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf_putc(&b, '\0');
	if (b.err) {
		buf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	*len = b.n - 1;
	return b.p;
}

static int
mkdir_p(const char *dir)
{
	char *p = xstrdup(dir), *s;
	int rc = 0;

	if (!p)
		return -1;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0777) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* Read the file list of our previous kustomization.yaml. */
static int
read_owned(struct outdir *o, struct diags *d)
{
	char *path = join(o->dir, "kustomization.yaml"), *text, *line, *save = NULL;
	size_t len;
	int in_res = 0;

	if (!path)
		return -1;
	text = slurp(path, &len);
	if (!text) {
		int e = errno;

		if (e == ENOENT) {
			free(path);
			return 0;
		}
		diag_error(d, path, 0, 0, "cannot read: %s", strerror(e));
		free(path);
		return -1;
	}
	if (strncmp(text, OUTDIR_HEADER, strlen(OUTDIR_HEADER)) != 0) {
		diag_error(d, path, 1, 1, "was not written by agentfence; refusing to replace it (use an empty folder)");
		free(text);
		free(path);
		return -1;
	}
	/* our own format: a "resources:" line, then "- NAME" lines */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "resources:") == 0) {
			in_res = 1;
		} else if (in_res && strncmp(line, "- ", 2) == 0 && !strchr(line + 2, '/') &&
			   line[2] != '.' && line[2] != '\0') {
			char **p = xreallocarray(o->owned, o->nowned + 1, sizeof(*p));

			if (!p || !(p[o->nowned] = xstrdup(line + 2))) {
				if (p)
					o->owned = p;
				free(text);
				free(path);
				diag_error(d, NULL, 0, 0, "out of memory");
				return -1;
			}
			o->owned = p;
			o->nowned++;
		} else {
			in_res = 0;
		}
	}
	free(text);
	free(path);
	return 0;
}

static int
is_owned(const struct outdir *o, const char *name)
{
	for (size_t i = 0; i < o->nowned; i++)
		if (strcmp(o->owned[i], name) == 0)
			return 1;
	return 0;
}

int
outdir_open(struct outdir **op, const char *dir, int check_only, struct diags *d)
{
	struct outdir *o = xcalloc(1, sizeof(*o));
	struct stat st;

	*op = NULL;
	if (!o || !(o->dir = xstrdup(dir))) {
		free(o);
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	o->check_only = check_only;
	if (stat(dir, &st) < 0) {
		if (check_only) {
			diag_error(d, dir, 0, 0, "no such folder: the output is missing");
			outdir_close(o);
			return -1;
		}
		if (mkdir_p(dir) < 0) {
			diag_error(d, dir, 0, 0, "cannot create folder: %s", strerror(errno));
			outdir_close(o);
			return -1;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		diag_error(d, dir, 0, 0, "is not a folder");
		outdir_close(o);
		return -1;
	}
	if (read_owned(o, d) < 0) {
		outdir_close(o);
		return -1;
	}
	if (!check_only) {
		o->stage = join(dir, ".agentfence-XXXXXX");
		if (!o->stage || !mkdtemp(o->stage)) {
			diag_error(d, dir, 0, 0, "cannot create a staging folder: %s", strerror(errno));
			free(o->stage);
			o->stage = NULL;
			outdir_close(o);
			return -1;
		}
	}
	*op = o;
	return 0;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	return close(fd);
}

int
outdir_add(struct outdir *o, const char *name, const char *data, size_t len, struct diags *d)
{
	char *path;
	int rc = 0;

	if (o->nnames == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		char **p = xreallocarray(o->names, cap, sizeof(*p));

		if (!p) {
			diag_error(d, NULL, 0, 0, "out of memory");
			return -1;
		}
		o->names = p;
		o->cap = cap;
	}
	if (!(o->names[o->nnames] = xstrdup(name))) {
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	o->nnames++;
	if (o->check_only) {
		size_t have;
		char *old;

		if (!(path = join(o->dir, name)))
			return -1;
		old = slurp(path, &have);
		if (!old) {
			diag_error(d, path, 0, 0, "missing: compile would write it");
			o->stale = 1;
		} else if (have != len || memcmp(old, data, len) != 0) {
			diag_error(d, path, 0, 0, "stale: differs from what compile writes");
			o->stale = 1;
		}
		free(old);
		free(path);
		return 0;
	}
	if (!(path = join(o->dir, name)))
		return -1;
	if (access(path, F_OK) == 0 && !is_owned(o, name)) {
		diag_error(d, path, 0, 0, "exists and was not written by agentfence; refusing to replace it");
		free(path);
		return -1;
	}
	free(path);
	if (!(path = join(o->stage, name)))
		return -1;
	if (write_file(path, data, len) < 0) {
		diag_error(d, path, 0, 0, "cannot write: %s", strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
kustomization(struct outdir *o, struct buf *b)
{
	buf_puts(b, OUTDIR_HEADER);
	buf_puts(b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
	if (!o->nnames) {
		buf_puts(b, "resources: []\n");
		return;
	}
	buf_puts(b, "resources:\n");
	for (size_t i = 0; i < o->nnames; i++) {
		buf_puts(b, "- ");
		buf_puts(b, o->names[i]);
		buf_putc(b, '\n');
	}
}

static void
remove_stage(struct outdir *o)
{
	DIR *dp;
	struct dirent *e;

	if (!o->stage)
		return;
	if ((dp = opendir(o->stage)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			char *p;

			if (e->d_name[0] == '.')
				continue;
			if ((p = join(o->stage, e->d_name)) != NULL) {
				unlink(p);
				free(p);
			}
		}
		closedir(dp);
	}
	rmdir(o->stage);
	free(o->stage);
	o->stage = NULL;
}

int
outdir_finish(struct outdir *o, int commit, struct diags *d)
{
	struct buf k = BUF_INIT;
	char *path = NULL, *from = NULL;
	int rc = -1;

	if (!commit) {
		remove_stage(o);
		return 0;
	}
	qsort(o->names, o->nnames, sizeof(*o->names), name_cmp);
	kustomization(o, &k);
	if (k.err) {
		diag_error(d, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (o->check_only) {
		size_t have;
		char *old;

		if (!(path = join(o->dir, "kustomization.yaml")))
			goto out;
		old = slurp(path, &have);
		if (!old || have != k.n || memcmp(old, k.p, k.n) != 0) {
			diag_error(d, path, 0, 0, old ? "stale: differs from what compile writes"
						      : "missing: compile would write it");
			o->stale = 1;
		}
		free(old);
		for (size_t i = 0; i < o->nowned; i++)
			if (!bsearch(&o->owned[i], o->names, o->nnames, sizeof(*o->names), name_cmp)) {
				char *p = join(o->dir, o->owned[i]);

				diag_error(d, p ? p : o->owned[i], 0, 0,
					   "stale: its agent is no longer in the specs");
				free(p);
			}
		rc = o->stale ? -1 : 0;
		goto out;
	}
	/* all staged: move each file in, then the list, then drop stale files */
	if (!(from = join(o->stage, "kustomization.yaml")) || write_file(from, k.p, k.n) < 0) {
		diag_error(d, o->dir, 0, 0, "cannot write kustomization.yaml: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < o->nnames; i++) {
		char *src = join(o->stage, o->names[i]), *dst = join(o->dir, o->names[i]);

		if (!src || !dst || rename(src, dst) < 0) {
			diag_error(d, dst ? dst : o->names[i], 0, 0, "cannot move into place: %s",
				   strerror(errno));
			free(src);
			free(dst);
			goto out;
		}
		free(src);
		free(dst);
	}
	if (!(path = join(o->dir, "kustomization.yaml")) || rename(from, path) < 0) {
		diag_error(d, o->dir, 0, 0, "cannot move kustomization.yaml into place: %s",
			   strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < o->nowned; i++) {
		if (bsearch(&o->owned[i], o->names, o->nnames, sizeof(*o->names), name_cmp))
			continue;
		char *p = join(o->dir, o->owned[i]);

		if (p && unlink(p) < 0 && errno != ENOENT)
			diag_warning(d, p, 0, 0, "cannot remove stale file: %s", strerror(errno));
		free(p);
	}
	rc = 0;
out:
	remove_stage(o);
	free(path);
	free(from);
	buf_free(&k);
	return rc;
}

void
outdir_close(struct outdir *o)
{
	if (!o)
		return;
	remove_stage(o);
	for (size_t i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	for (size_t i = 0; i < o->nnames; i++)
		free(o->names[i]);
	free(o->owned);
	free(o->names);
	free(o->dir);
	free(o);
}
