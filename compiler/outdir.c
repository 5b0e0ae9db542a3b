/* SPDX-License-Identifier: Apache-2.0 */
/* syncfs(): one flush for every staged file */
#define _GNU_SOURCE
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "sys.h"
#include "xalloc.h"

struct outdir {
	char *dir;
	char *stage;          /* DIR/.agentfence-XXXXXX, NULL in check mode */
	int check_only;
	int lockfd;           /* DIR, flock()ed for the whole run */
	char **owned;         /* files the previous kustomization.yaml lists, sorted */
	size_t nowned;
	char **names;         /* files of this run */
	size_t nnames, cap;
	char **same;          /* of those, the ones already in DIR byte for byte: not rewritten */
	size_t nsame, capsame;
	int stagefd;          /* the staging folder */
	int failed;           /* an outdir_add() failed: no commit */
	struct outdir_stats st;
	int prepared;         /* outdir_prepare(): 1 done, 2 done and stale (check), -1 failed */
	int sfd, dfd;         /* prepared: the staging folder and DIR, for the renames */
};

/* kustomization.yaml or a journal: a list of a million agents is ~60 MiB */
#define LIST_MAX ((size_t)256 << 20)

static char *
join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = xmalloc(na + nb + 2);

	if (p) {
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): b's NUL follows */
		memcpy(p, a, na);
		p[na] = '/';
		memcpy(p + na + 1, b, nb + 1);
	}
	return p;
}

/*
 * Does the file `name` in the folder `dirfd` hold exactly data[0..len)?
 * 1 yes, 0 no, -1 with errno (ENOENT: it does not exist). A regular file
 * reads short only at its end, so a file up to the chunk's size takes one
 * read.
 */
static int
same_file(int dirfd, const char *name, const char *data, size_t len)
{
	char chunk[16384];
	size_t got = 0;
	ssize_t n;
	/* O_NONBLOCK: a FIFO put there must not hang the run */
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK), e, same = 1;

	if (fd < 0)
		return -1;
	for (;;) {
		size_t want = len + 1 - got < sizeof(chunk) ? len + 1 - got : sizeof(chunk);

		n = read(fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EISDIR || errno == EAGAIN)) {
			same = 0;   /* not a file */
			break;
		}
		if (n < 0)
			goto fail;
		if ((size_t)n > len - got || memcmp(chunk, data + got, (size_t)n) != 0) {
			same = 0;
			break;
		}
		got += (size_t)n;
		if ((size_t)n < want)
			break;   /* its end */
	}
	close(fd);
	return same && got == len;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
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

/*
 * Add the names a list of ours holds (a kustomization.yaml, or the journal
 * of a run that was killed) to o->owned. A missing file is an empty list.
 * `foreign`: the message for a file without our header (NULL: ignore it).
 */
static int
read_list(struct outdir *o, const char *path, const char *foreign, struct diags *d)
{
	char *text, *line, *save = NULL;
	size_t len;
	int in_res = 0;

	if (sys_read_file(path, LIST_MAX, 0, &text, &len, NULL) < 0) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)   /* ENOTDIR: a stray .agentfence-* file */
			return 0;
		diag_error(d, path, 0, 0, "cannot read: %s", strerror(e));
		return -1;
	}
	if (strncmp(text, OUTDIR_HEADER, strlen(OUTDIR_HEADER)) != 0) {
		free(text);
		if (!foreign)
			return 0;
		diag_error(d, path, 1, 1, "%s", foreign);
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
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove a staging folder and its files (no subfolders). Best effort. */
static void
remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *dp;
	struct dirent *e;

	if (fd < 0)
		return;
	if (!(dp = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(dp);
	rmdir(path);
}

#define STAGE_PREFIX ".agentfence-"
#define JOURNAL "agentfence-owned"

/*
 * A run killed while it moved its files in left its staging folder, and
 * in it the journal of every name it owned or was writing: those files
 * are ours (some may already be in DIR without being listed). Take them
 * over, then drop the folder. We hold the lock, so no live run owns it.
 */
static int
recover(struct outdir *o, struct diags *d)
{
	DIR *dp = opendir(o->dir);
	struct dirent *e;
	int rc = 0;

	if (!dp)
		return 0;
	while (rc == 0 && (e = readdir(dp)) != NULL) {
		char *stage, *journal;

		if (strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0)
			continue;
		if (!(stage = join(o->dir, e->d_name)) || !(journal = join(stage, JOURNAL))) {
			free(stage);
			diag_error(d, NULL, 0, 0, "out of memory");
			rc = -1;
			break;
		}
		rc = read_list(o, journal, NULL, d);
		if (rc == 0)
			remove_tree(stage);
		free(journal);
		free(stage);
	}
	closedir(dp);
	return rc;
}

/* name in a sorted list (bsearch(key, NULL, 0) is undefined) */
static int
in_list(char *const *list, size_t n, const char *name)
{
	return n && bsearch(&name, list, n, sizeof(*list), name_cmp);
}

static int
is_owned(const struct outdir *o, const char *name)
{
	return in_list(o->owned, o->nowned, name);
}

int
outdir_open(struct outdir **op, const char *dir, int check_only, struct diags *d)
{
	struct outdir *o = xcalloc(1, sizeof(*o));
	struct stat st;
	char *path;
	int rc;

	*op = NULL;
	if (!o || !(o->dir = xstrdup(dir))) {
		free(o);
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	o->check_only = check_only;
	o->lockfd = -1;
	o->stagefd = -1;
	o->sfd = -1;
	o->dfd = -1;
	if (stat(dir, &st) < 0) {
		if (check_only) {
			diag_error(d, dir, 0, 0, "no such folder: the output is missing");
			outdir_close(o);
			return OUTDIR_MISSING;
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
	/* one run at a time: a second one would stage, rename and remove
	 * files under the first one's feet (check only reads: it shares) */
	if ((o->lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(o->lockfd, (check_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			diag_error(d, dir, 0, 0, "another agentfence run is writing this folder; try again when it is done");
		else
			diag_error(d, dir, 0, 0, "cannot open folder: %s", strerror(errno));
		outdir_close(o);
		return -1;
	}
	if (!(path = join(dir, "kustomization.yaml"))) {
		diag_error(d, NULL, 0, 0, "out of memory");
		outdir_close(o);
		return -1;
	}
	rc = read_list(o, path, "was not written by agentfence; refusing to replace it (use an empty folder)", d);
	free(path);
	if (rc < 0 || (!check_only && recover(o, d) < 0)) {
		outdir_close(o);
		return -1;
	}
	if (o->nowned)   /* qsort(NULL, 0) is undefined */
		qsort(o->owned, o->nowned, sizeof(*o->owned), name_cmp);
	if (!check_only) {
		o->stage = join(dir, STAGE_PREFIX "XXXXXX");
		if (!o->stage || !mkdtemp(o->stage)) {
			diag_error(d, dir, 0, 0, "cannot create a staging folder: %s", strerror(errno));
			free(o->stage);
			o->stage = NULL;
			outdir_close(o);
			return -1;
		}
		if ((o->stagefd = open(o->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			diag_error(d, dir, 0, 0, "cannot open the staging folder: %s", strerror(errno));
			outdir_close(o);
			return -1;
		}
	}
	*op = o;
	return 0;
}

/*
 * Write the whole file. It is flushed to disk (outdir_finish: one syncfs
 * for all of them, an fsync each costs seconds on 20,000 files) before it
 * is renamed into place, so after a crash or power loss DIR holds the old
 * file or the new one, never an empty or short one. errno tells what failed.
 * `name` is in the folder `dirfd`.
 */
static int
write_file_at(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e;
	size_t off = 0;
	ssize_t n = -1;

	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	return close(fd);
fail:
	e = n == 0 ? ENOSPC : errno;
	close(fd);
	errno = e;
	return -1;
}

/* The same by path. */
static int
write_file(const char *path, const char *data, size_t len)
{
	return write_file_at(AT_FDCWD, path, data, len);
}

/* An error about DIR/name (base: DIR, or the staging folder for a write). */
static void
file_error(struct diags *d, const char *base, const char *name, const char *msg, int err)
{
	char *path = join(base, name);
	const char *shown = path ? path : name;

	if (err)
		diag_error(d, shown, 0, 0, "%s: %s", msg, strerror(err));
	else
		diag_error(d, shown, 0, 0, "%s", msg);
	free(path);
}

/* Compare or stage one file; `name` is o->names' copy. 0, or -1 (errors in d). */
static int
add_file(struct outdir *o, char *name, const char *data, size_t len, struct diags *d)
{
	if (o->check_only || is_owned(o, name)) {
		int same = same_file(o->lockfd, name, data, len);

		if (same < 0 && errno != ENOENT) {
			file_error(d, o->dir, name, "cannot read", errno);
			return -1;
		}
		if (same == 1)
			o->st.unchanged++;
		else if (same == 0)
			o->st.changed++;
		else
			o->st.added++;
		if (same == 1 && o->check_only)
			return 0;
		if (same == 1) {
			/* unchanged since the last run: leave the file alone (no write,
			 * no rename), which keeps a re-run over a large folder close to check */
			if (o->nsame == o->capsame) {
				size_t cap = o->capsame ? o->capsame * 2 : 64;
				char **p = xreallocarray(o->same, cap, sizeof(*p));

				if (!p) {
					diag_error(d, NULL, 0, 0, "out of memory");
					return -1;
				}
				o->same = p;
				o->capsame = cap;
			}
			o->same[o->nsame++] = name;   /* borrowed from names[]: freed with it */
			return 0;
		}
		if (o->check_only) {
			file_error(d, o->dir, name, same < 0 ? "missing: compile would write it"
					       : "stale: differs from what compile writes", 0);
			o->st.stale++;
			return 0;
		}
	} else if (faccessat(o->lockfd, name, F_OK, 0) == 0) {
		file_error(d, o->dir, name, "exists and was not written by agentfence; refusing to replace it", 0);
		return -1;
	} else {
		o->st.added++;
	}
	if (write_file_at(o->stagefd, name, data, len) < 0) {
		file_error(d, o->stage, name, "cannot write", errno);
		return -1;
	}
	return 0;
}

int
outdir_add(struct outdir *o, const char *name, const char *data, size_t len, struct diags *d)
{
	if (o->nnames == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		char **p = xreallocarray(o->names, cap, sizeof(*p));

		if (!p) {
			diag_error(d, NULL, 0, 0, "out of memory");
			o->failed = 1;
			return -1;
		}
		o->names = p;
		o->cap = cap;
	}
	if (!(o->names[o->nnames] = xstrdup(name))) {
		diag_error(d, NULL, 0, 0, "out of memory");
		o->failed = 1;
		return -1;
	}
	o->st.files = ++o->nnames;
	if (add_file(o, o->names[o->nnames - 1], data, len, d) < 0) {
		o->failed = 1;
		return -1;
	}
	return 0;
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
	if (!o->stage)
		return;
	remove_tree(o->stage);
	free(o->stage);
	o->stage = NULL;
}

/*
 * The journal: every name this commit may leave in DIR (the old list and
 * the new one), staged with the files. If we are killed while moving them
 * in, the next run reads it (recover()) and owns them all.
 */
static int
write_journal(struct outdir *o, struct diags *d)
{
	struct buf j = BUF_INIT;
	char *path = join(o->stage, JOURNAL);
	int rc = 0;

	buf_puts(&j, OUTDIR_HEADER "resources:\n");
	for (size_t i = 0; i < o->nowned + o->nnames; i++) {
		buf_puts(&j, "- ");
		buf_puts(&j, i < o->nowned ? o->owned[i] : o->names[i - o->nowned]);
		buf_putc(&j, '\n');
	}
	if (!path || j.err) {
		diag_error(d, NULL, 0, 0, "out of memory");
		rc = -1;
	} else if (write_file(path, j.p, j.n) < 0) {
		diag_error(d, path, 0, 0, "cannot write: %s", strerror(errno));
		rc = -1;
	}
	free(path);
	buf_free(&j);
	return rc;
}

/*
 * Everything of a commit that can fail for want of memory or space, before
 * the first rename: the list is staged (and synced) like the files, and
 * both folders are opened so the renames need no path building. In check
 * mode: the comparison of the list and the stale files.
 */
int
outdir_prepare(struct outdir *o, struct diags *d)
{
	struct buf k = BUF_INIT;
	char *path = NULL, *from = NULL;
	int rc = -1;

	if (o->prepared)
		return o->prepared == 1 ? 0 : o->prepared == 2 ? 1 : -1;
	o->prepared = -1;
	if (o->failed)
		return -1;   /* a file that could not be staged or read fails a commit */
	if (o->nnames)
		qsort(o->names, o->nnames, sizeof(*o->names), name_cmp);
	kustomization(o, &k);
	if (k.err) {
		diag_error(d, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (o->check_only) {
		size_t have;
		char *old;

		if (!(path = join(o->dir, "kustomization.yaml"))) {
			diag_error(d, NULL, 0, 0, "out of memory");
			goto out;
		}
		if (sys_read_file(path, LIST_MAX, 0, &old, &have, NULL) < 0 && errno != ENOENT) {
			diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (!old || have != k.n || memcmp(old, k.p, k.n) != 0) {
			diag_error(d, path, 0, 0, old ? "stale: differs from what compile writes"
						      : "missing: compile would write it");
			o->st.list_changed = 1;
			o->st.stale++;
		}
		free(old);
		for (size_t i = 0; i < o->nowned; i++)
			if (!in_list(o->names, o->nnames, o->owned[i])) {
				char *p = join(o->dir, o->owned[i]);

				diag_error(d, p ? p : o->owned[i], 0, 0,
					   "stale: its agent is no longer in the specs");
				free(p);
				o->st.removed++;
				o->st.stale++;
			}
		rc = o->st.stale ? 1 : 0;
		goto out;
	}
	if (!(from = join(o->stage, "kustomization.yaml")) || write_file(from, k.p, k.n) < 0) {
		diag_error(d, o->dir, 0, 0, "cannot write kustomization.yaml: %s",
			   from ? strerror(errno) : "out of memory");
		goto out;
	}
	if (write_journal(o, d) < 0)
		goto out;
	if ((o->sfd = open(o->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (o->dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		diag_error(d, o->dir, 0, 0, "cannot open folder: %s", strerror(errno));
		goto out;
	}
	/* the staged bytes on disk before any name points at them (a late
	 * write error, such as a full disk, surfaces here too) */
	if (syncfs(o->sfd) < 0) {
		diag_error(d, o->dir, 0, 0, "cannot write the staged files: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc >= 0)
		o->prepared = rc == 0 ? 1 : 2;   /* 2: check mode, stale */
	free(path);
	free(from);
	buf_free(&k);
	return rc;
}

static void
close_fds(struct outdir *o)
{
	if (o->sfd >= 0)
		close(o->sfd);
	if (o->dfd >= 0)
		close(o->dfd);
	o->sfd = o->dfd = -1;
}

int
outdir_finish(struct outdir *o, int commit, struct diags *d)
{
	int rc = -1;

	if (!commit || o->failed) {
		/* a file that could not be staged or read fails a commit */
		close_fds(o);
		remove_stage(o);
		return commit ? -1 : 0;
	}
	if ((rc = outdir_prepare(o, d)) < 0 || o->check_only)
		goto out;   /* check mode: 0 current, 1 stale */
	rc = -1;
	/*
	 * From here only an I/O error can stop us; each rename is atomic, so
	 * every agent's file is then its old or its new one, whole.
	 * Each file in, then the list (which names them), then drop stale files.
	 */
	if (o->nsame)
		qsort(o->same, o->nsame, sizeof(*o->same), name_cmp);
	for (size_t i = 0; i <= o->nnames; i++) {
		const char *name = i < o->nnames ? o->names[i] : "kustomization.yaml";

		if (i < o->nnames && in_list(o->same, o->nsame, name))
			continue;   /* already in place, byte for byte */
		if (renameat(o->sfd, name, o->dfd, name) < 0) {
			diag_error(d, o->dir, 0, 0, "cannot move %s into place: %s (the folder is partly updated; run compile again)",
				   name, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < o->nowned; i++) {
		if (in_list(o->names, o->nnames, o->owned[i]))
			continue;
		if (unlinkat(o->dfd, o->owned[i], 0) == 0)
			o->st.removed++;
		else if (errno != ENOENT) {
			char *p = join(o->dir, o->owned[i]);

			diag_warning(d, p ? p : o->owned[i], 0, 0, "cannot remove stale file: %s",
				     strerror(errno));
			free(p);
		}
	}
	/* the renames, durable: a crash after we exit 0 cannot bring back the old folder */
	fsync(o->dfd);
	rc = 0;
out:
	close_fds(o);
	remove_stage(o);
	return rc;
}

const struct outdir_stats *
outdir_stats(const struct outdir *o)
{
	return &o->st;
}

void
outdir_close(struct outdir *o)
{
	if (!o)
		return;
	if (o->stagefd >= 0)
		close(o->stagefd);
	close_fds(o);
	remove_stage(o);
	if (o->lockfd >= 0)
		close(o->lockfd);   /* and the lock with it */
	for (size_t i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	for (size_t i = 0; i < o->nnames; i++)
		free(o->names[i]);
	free(o->owned);
	free(o->names);
	free(o->same);
	free(o->dir);
	free(o);
}
