/* SPDX-License-Identifier: Apache-2.0 */
/*
 * execcred: run a kubeconfig's exec credential plugin and read the
 * ExecCredential it prints (see execcred.h).
 */
#include "execcred.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "jsonparse.h"
#include "sys.h"
#include "xalloc.h"

extern char **environ;

#define EXEC_MAX_OUTPUT (1u << 20)
#define EXEC_TIMEOUT_MS 120000      /* a plugin that never answers */

static void
wipe_str(char **s)
{
	if (*s)
		sys_wipe_free(*s, strlen(*s));
	*s = NULL;
}

void
execcred_cred_free(struct execcred_cred *c)
{
	wipe_str(&c->token);
	wipe_str(&c->cert);
	wipe_str(&c->key);
}

void
execcred_free(struct execcred *e)
{
	if (!e)
		return;
	free(e->api_version);
	free(e->command);
	for (size_t i = 0; e->args && i < e->nargs; i++)
		free(e->args[i]);
	free(e->args);
	for (size_t i = 0; i < e->nenv; i++)
		wipe_str(&e->env[i]);
	free(e->env);
	free(e->install_hint);
	free(e);
}

/* --- the request: KUBERNETES_EXEC_INFO and the environment --- */

static char *
base64_encode(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = xmalloc((n + 2) / 3 * 4 + 1), *w = o;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*w++ = tab[v >> 18 & 63];
		*w++ = tab[v >> 12 & 63];
		*w++ = (char)(i + 1 < n ? tab[v >> 6 & 63] : '=');
		*w++ = (char)(i + 2 < n ? tab[v & 63] : '=');
	}
	*w = 0;
	return o;
}

/* The ExecCredential request, as KUBERNETES_EXEC_INFO carries it. */
static json_t *
exec_info(const struct execcred *e, const struct execcred_cluster *cl, int interactive)
{
	json_t *j = json_object(), *spec = json_object();

	if (!j || !spec)
		goto fail;
	json_object_set_new(j, "kind", json_string("ExecCredential"));
	json_object_set_new(j, "apiVersion", json_string(e->api_version));
	json_object_set_new(spec, "interactive", json_boolean(interactive));
	if (e->provide_cluster_info) {
		json_t *c = json_object();

		if (!c)
			goto fail;
		json_object_set_new(c, "server", json_string(cl->server));
		if (cl->tls_server_name)
			json_object_set_new(c, "tls-server-name", json_string(cl->tls_server_name));
		if (cl->insecure)
			json_object_set_new(c, "insecure-skip-tls-verify", json_true());
		if (cl->ca) {
			char *b = base64_encode(cl->ca, cl->ca_len);

			if (!b) {
				json_decref(c);
				goto fail;
			}
			json_object_set_new(c, "certificate-authority-data", json_string(b));
			free(b);
		}
		if (cl->proxy_url)
			json_object_set_new(c, "proxy-url", json_string(cl->proxy_url));
		json_object_set_new(spec, "cluster", c);
	}
	json_object_set_new(j, "spec", spec);
	return j;
fail:
	json_decref(j);
	json_decref(spec);
	return NULL;
}

/* environ + the plugin's env + KUBERNETES_EXEC_INFO (later entries replace
 * earlier ones). The last entry is allocated here; the others are borrowed. */
static char **
exec_env(const struct execcred *e, const char *info)
{
	size_t n = 0, k = 0, len;
	char **env, *s;

	while (environ[n])
		n++;
	if (!(env = xcalloc(n + e->nenv + 2, sizeof(char *))))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strcspn(environ[i], "=");
		int replaced = strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) == 0;

		for (size_t j = 0; j < e->nenv && !replaced; j++)
			if (strncmp(e->env[j], environ[i], nl + 1) == 0)
				replaced = 1;
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < e->nenv; j++)
		env[k++] = e->env[j];
	len = strlen(info) + sizeof("KUBERNETES_EXEC_INFO=");
	if (!(s = xmalloc(len))) {
		free(env);
		return NULL;
	}
	snprintf(s, len, "KUBERNETES_EXEC_INFO=%s", info);
	env[k++] = s;
	env[k] = NULL;
	return env;
}

static void
env_free(char **env)
{
	size_t i = 0;

	if (!env)
		return;
	while (env[i])
		i++;
	free(env[i - 1]);   /* the last entry is ours: KUBERNETES_EXEC_INFO */
	free(env);
}

/* --- the process --- */

/* Start the plugin with its standard output on a pipe. 0 with *pid and
 * *fd (the pipe's read end), or -1 with an error. */
static int
spawn(const struct execcred *e, char **env, int interactive, pid_t *pid, int *fd,
      struct diags *d)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], rc;

	if (pipe(pfd) < 0) {
		diag_error(d, NULL, 0, 0, "exec plugin %s: pipe: %s", e->command, strerror(errno));
		return -1;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	if (!interactive)
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(pid, e->command, &fa, NULL, e->args, env);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		diag_error(d, NULL, 0, 0, "exec plugin: cannot run \"%s\": %s%s%s", e->command,
			   strerror(rc), e->install_hint ? "\n" : "",
			   e->install_hint ? e->install_hint : "");
		close(pfd[0]);
		return -1;
	}
	*fd = pfd[0];
	return 0;
}

/* Read the plugin's standard output until it closes it, at most
 * EXEC_MAX_OUTPUT bytes and EXEC_TIMEOUT_MS. 0 with *buf (NUL-terminated,
 * capacity *cap + 1) and *n, or -1 with an error (the caller kills it). */
static int
read_output(const struct execcred *e, int fd, unsigned char **bufp, size_t *np, size_t *capp,
	    struct diags *d)
{
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	long deadline = sys_now_ms() + EXEC_TIMEOUT_MS;
	int rc = -1;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - sys_now_ms();
		ssize_t r;
		int pr;

		if (left <= 0) {
			diag_error(d, NULL, 0, 0,
				   "exec plugin %s: no answer after %d seconds; it was stopped",
				   e->command, EXEC_TIMEOUT_MS / 1000);
			goto out;
		}
		pr = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (pr <= 0)
			continue;   /* EINTR, or a second without output */
		if (n == cap) {
			unsigned char *q;

			if (cap >= EXEC_MAX_OUTPUT) {
				diag_error(d, NULL, 0, 0, "exec plugin %s: printed more than %u bytes",
					   e->command, EXEC_MAX_OUTPUT);
				goto out;
			}
			if (!(q = xmalloc(cap ? cap * 2 + 1 : 4097))) {
				diag_error(d, NULL, 0, 0, "out of memory");
				goto out;
			}
			if (buf) {
				memcpy(q, buf, n);
				sys_wipe_free(buf, cap + 1);
			}
			buf = q;
			cap = cap ? cap * 2 : 4096;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!buf && !(buf = xmalloc(1)))
		goto out;
	buf[n] = 0;
	rc = 0;
out:
	if (rc < 0) {
		sys_wipe_free(buf, cap + 1);
		buf = NULL;
		n = cap = 0;
	}
	*bufp = buf;
	*np = n;
	*capp = cap;
	return rc;
}

/* Wait for the plugin; killed first when `kill_it`. 0 when it exited with
 * status 0, else -1 with an error (unless it was killed on purpose). */
static int
reap(const struct execcred *e, pid_t pid, int kill_it, struct diags *d)
{
	int status = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (kill_it)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		diag_error(d, NULL, 0, 0,
			   "exec plugin %s failed with exit status %d (its messages, if any, "
			   "are above)%s%s", e->command, WEXITSTATUS(status),
			   e->install_hint && WEXITSTATUS(status) == 127 ? "\n" : "",
			   e->install_hint && WEXITSTATUS(status) == 127 ? e->install_hint : "");
	else
		diag_error(d, NULL, 0, 0, "exec plugin %s was killed by signal %d", e->command,
			   WTERMSIG(status));
	return -1;
}

/* --- the answer --- */

static char *
dup_nonempty(const char *s, int *oom)
{
	char *p;

	if (!s || !*s)
		return NULL;
	if (!(p = xstrdup(s)))
		*oom = 1;
	return p;
}

/* The ExecCredential in text[0..n) into *out. 0, or -1 with an error. */
static int
parse_cred(const struct execcred *e, const char *text, size_t n, struct execcred_cred *out,
	   struct diags *d)
{
	json_t *cred, *status;
	json_error_t jerr;
	const char *kind, *api, *tok, *cert, *key;
	int rc = -1, oom = 0;

	/* jansson's error text quotes the input: never show it (a token) */
	if (!(cred = json_parse(text, n, &jerr)) || !json_is_object(cred)) {
		diag_error(d, NULL, 0, 0,
			   "exec plugin %s: its output is not an ExecCredential JSON object (line %d)",
			   e->command, cred ? 1 : jerr.line);
		goto out;
	}
	kind = json_string_value(json_object_get(cred, "kind"));
	api = json_string_value(json_object_get(cred, "apiVersion"));
	if (!kind || strcmp(kind, "ExecCredential") != 0) {
		diag_error(d, NULL, 0, 0, "exec plugin %s: its output is not an ExecCredential",
			   e->command);
		goto out;
	}
	if (!api || strcmp(api, e->api_version) != 0) {
		diag_error(d, NULL, 0, 0,
			   "exec plugin %s is configured to use API version %s, but it returned %s",
			   e->command, e->api_version, api ? api : "none");
		goto out;
	}
	status = json_object_get(cred, "status");
	tok = json_string_value(json_object_get(status, "token"));
	cert = json_string_value(json_object_get(status, "clientCertificateData"));
	key = json_string_value(json_object_get(status, "clientKeyData"));
	if (!json_is_object(status) || (!(tok && *tok) && !(cert && *cert))) {
		diag_error(d, NULL, 0, 0,
			   "exec plugin %s: status has neither a token nor clientCertificateData",
			   e->command);
		goto out;
	}
	if ((cert && *cert) != (key && *key)) {
		diag_error(d, NULL, 0, 0,
			   "exec plugin %s: clientCertificateData and clientKeyData come together",
			   e->command);
		goto out;
	}
	out->token = dup_nonempty(tok, &oom);
	out->cert = dup_nonempty(cert, &oom);
	out->key = dup_nonempty(key, &oom);
	if (oom) {
		diag_error(d, NULL, 0, 0, "out of memory");
		execcred_cred_free(out);
		goto out;
	}
	rc = 0;
out:
	if (cred) {
		/* wipe the token and key jansson holds */
		const char *k;
		json_t *v, *st = json_object_get(cred, "status");

		json_object_foreach(st, k, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v), json_string_length(v));
		json_decref(cred);
	}
	return rc;
}

int
execcred_run(struct execcred *e, const struct execcred_cluster *c, const char *source,
	     struct execcred_cred *out, struct diags *d)
{
	json_t *info = NULL;
	char *info_s = NULL, **env = NULL;
	unsigned char *text = NULL;
	size_t n = 0, cap = 0;
	pid_t pid;
	int fd, interactive, rc = -1;

	memset(out, 0, sizeof(*out));
	interactive = e->interactive != EXECCRED_NEVER && isatty(0);
	if (e->interactive == EXECCRED_ALWAYS && !interactive) {
		diag_error(d, source, 0, 0,
			   "exec plugin %s needs a terminal (interactiveMode: Always), and standard "
			   "input is not one", e->command);
		return -1;
	}
	if (!(info = exec_info(e, c, interactive)) ||
	    !(info_s = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER)) ||
	    !(env = exec_env(e, info_s))) {
		diag_error(d, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (spawn(e, env, interactive, &pid, &fd, d) < 0)
		goto out;
	rc = read_output(e, fd, &text, &n, &cap, d);
	close(fd);
	if (reap(e, pid, rc < 0, d) < 0) {
		rc = -1;
		goto out;
	}
	rc = parse_cred(e, (const char *)text, n, out, d);
out:
	sys_wipe_free(text, cap + 1);
	env_free(env);
	free(info_s);
	json_decref(info);
	return rc;
}
