/* SPDX-License-Identifier: Apache-2.0 */
/* difftool: see difftool.h */
#include "difftool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_WORDS 16

static int
make_dir(char *out, size_t n, const char *base, const char *stem, struct diags *d)
{
	int w = snprintf(out, n, "%s/%s-XXXXXX", base, stem);

	if (w < 0 || (size_t)w >= n) {
		out[0] = '\0';
		diag_error(d, NULL, 0, 0, "$TMPDIR is too long");
		return -1;
	}
	if (!mkdtemp(out)) {
		diag_error(d, NULL, 0, 0, "cannot make a folder in %s: %s", base, strerror(errno));
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
difftool_open(struct difftool *t, struct diags *d)
{
	const char *base = getenv("TMPDIR");

	t->live[0] = t->merged[0] = '\0';
	if (!base || !*base)
		base = "/tmp";
	if (make_dir(t->live, sizeof(t->live), base, "LIVE", d) < 0 ||
	    make_dir(t->merged, sizeof(t->merged), base, "MERGED", d) < 0)
		return -1;
	return 0;
}

static int
write_file(const char *dir, const char *name, const char *text, size_t len, struct diags *d)
{
	char path[4400];
	int fd, w = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (w < 0 || (size_t)w >= sizeof(path)) {
		diag_error(d, NULL, 0, 0, "%s: the name is too long", name);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		diag_error(d, NULL, 0, 0, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			diag_error(d, NULL, 0, 0, "cannot write %s: %s", path,
				   n < 0 ? strerror(errno) : "nothing written");
			close(fd);
			return -1;
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0) {
		diag_error(d, NULL, 0, 0, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
difftool_add(struct difftool *t, const char *name, const char *live, size_t live_len,
	     const char *merged, size_t merged_len, struct diags *d)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		diag_error(d, NULL, 0, 0, "\"%s\" cannot be a file name", name);
		return -1;
	}
	if (live && write_file(t->live, name, live, live_len, d) < 0)
		return -1;
	if (merged && write_file(t->merged, name, merged, merged_len, d) < 0)
		return -1;
	return 0;
}

/* kubectl's rule for the words after the program */
static int
arg_ok(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-=") ==
		     strlen(s);
}

int
difftool_run(struct difftool *t, const char *cmd, const char *var, struct diags *d)
{
	char words[1024], *argv[MAX_WORDS + 3], *save = NULL, *w;
	int argc = 0, status, e;
	pid_t pid;

	if (!cmd || !*cmd) {
		cmd = DIFFTOOL_DEFAULT;
		var = NULL;
	}
	if (strlen(cmd) >= sizeof(words)) {
		diag_error(d, NULL, 0, 0, "$%s is too long", var ? var : "diff");
		return -1;
	}
	memcpy(words, cmd, strlen(cmd) + 1);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (argc == MAX_WORDS) {
			diag_error(d, NULL, 0, 0, "$%s: more than %d words", var, MAX_WORDS);
			return -1;
		}
		if (argc && !arg_ok(w)) {
			diag_error(d, NULL, 0, 0, "$%s: argument \"%s\" may hold only letters, digits, "
				   "'-' and '='", var, w);
			return -1;
		}
		argv[argc++] = w;
	}
	if (!argc) {
		diag_error(d, NULL, 0, 0, "$%s names no program", var);
		return -1;
	}
	argv[argc++] = t->live;
	argv[argc++] = t->merged;
	argv[argc] = NULL;
	if ((e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ)) != 0) {
		diag_error(d, NULL, 0, 0, "cannot run %s: %s", argv[0], strerror(e));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			diag_error(d, NULL, 0, 0, "%s: %s", argv[0], strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 1)
		return WEXITSTATUS(status);
	if (WIFEXITED(status))
		diag_error(d, NULL, 0, 0, "%s failed (exit status %d)", argv[0], WEXITSTATUS(status));
	else
		diag_error(d, NULL, 0, 0, "%s was killed by signal %d", argv[0],
			   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/* Remove a folder of ours and its files (it holds no folder). */
static void
remove_dir(char *dir)
{
	DIR *dp;
	struct dirent *de;

	if (!*dir)
		return;
	if ((dp = opendir(dir))) {
		int fd = dirfd(dp);

		while ((de = readdir(dp)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(fd, de->d_name, 0);
		closedir(dp);
	}
	rmdir(dir);
	dir[0] = '\0';
}

void
difftool_close(struct difftool *t)
{
	remove_dir(t->live);
	remove_dir(t->merged);
}
