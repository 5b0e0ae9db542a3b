/* SPDX-License-Identifier: Apache-2.0 */
/* kubeconfig: see kubeconfig.h */
#include "kubeconfig.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "reader.h"
#include "sys.h"
#include "xalloc.h"

#define KC_MAX_FILE (4u << 20)        /* a kubeconfig, a PEM bundle, a token */
#define KC_MAX_FILES 32               /* files in $KUBECONFIG */
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* --- small helpers --- */

static void
wipe_str(char **s)
{
	if (*s)
		sys_wipe_free(*s, strlen(*s));
	*s = NULL;
}

static void
blob_free(struct kubeconfig_blob *b)
{
	sys_wipe_free(b->p, b->n);
	b->p = NULL;
	b->n = 0;
}

static char *
join_path(const char *dir, const char *rel)
{
	size_t n;
	char *p;

	if (rel[0] == '/' || !dir)
		return xstrdup(rel);
	n = strlen(dir) + strlen(rel) + 2;
	if (!(p = xmalloc(n)))
		return NULL;
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	if (!(d = xmalloc((size_t)(slash - path) + 1)))
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = 0;
	return d;
}

/* "readable by group or others" is a warning, as kubectl users expect
 * from ssh: the file holds credentials. */
static void
check_mode(const char *path, mode_t mode, const char *what, struct diags *d)
{
	if (mode & 077)
		diag_warning(d, path, 0, 0,
			     "%s is accessible by group or others (mode %04o): anyone who can read it "
			     "can use these credentials; run chmod 600 %s",
			     what, (unsigned)(mode & 07777), path);
}

/*
 * Read a whole credential file (at most KC_MAX_FILE bytes; its buffers are
 * wiped). `warn_mode`: warn when group or others can read it. 0, or -1
 * with an error at origin:line:col.
 */
static int
read_file(const char *path, struct kubeconfig_blob *out, const char *what, int warn_mode,
	  const char *origin, int line, int col, struct diags *d)
{
	struct stat st;
	char *p;
	size_t n;
	int rc;

	out->p = NULL;
	out->n = 0;
	st.st_mode = 0;   /* set once the file is open, even when reading it fails */
	rc = sys_read_file(path, KC_MAX_FILE, SYS_SECRET, &p, &n, &st);
	if (S_ISREG(st.st_mode) && warn_mode)
		check_mode(path, st.st_mode, what, d);
	if (rc < 0 && errno == EFBIG)
		diag_error(d, origin, line, col, "%s %s is larger than %u bytes", what, path,
			   KC_MAX_FILE);
	else if (rc < 0 && errno == ENOMEM)
		diag_error(d, origin, line, col, "out of memory");
	else if (rc < 0)
		diag_error(d, origin, line, col, "cannot read %s %s: %s", what, path, strerror(errno));
	if (rc < 0)
		return -1;
	out->p = (unsigned char *)p;
	out->n = n;
	return 0;
}

/* --- base64 --- */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
kubeconfig_base64_decode(const char *s, size_t len, struct kubeconfig_blob *out)
{
	unsigned char *p = xmalloc(len / 4 * 3 + 4);
	size_t n = 0, q = 0, pad = 0;
	unsigned acc = 0;

	out->p = NULL;
	out->n = 0;
	if (!p)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val(c)) < 0)
			goto bad;
		acc = acc << 6 | (unsigned)v;
		if (++q == 4) {
			p[n++] = (unsigned char)(acc >> 16);
			p[n++] = (unsigned char)(acc >> 8);
			p[n++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	/* padding required, as Go's StdEncoding requires it */
	if ((q == 0 && pad != 0) || (q == 1) || (q == 2 && pad != 2) || (q == 3 && pad != 1))
		goto bad;
	if (q == 2)
		p[n++] = (unsigned char)(acc >> 4);
	else if (q == 3) {
		p[n++] = (unsigned char)(acc >> 10);
		p[n++] = (unsigned char)(acc >> 2);
	}
	p[n] = 0;
	out->p = p;
	out->n = n;
	return 0;
bad:
	sys_wipe_free(p, len / 4 * 3 + 4);
	return -1;
}

/* --- reading the YAML --- */

struct kfile {
	char *path;
	char *dir;
	struct node *doc;           /* NULL: empty file */
};

struct loader {
	struct kfile files[KC_MAX_FILES];
	size_t nfiles;
	struct arena arena;
	struct diags *d;
	int bad;                    /* an error was recorded */
};

/* A found entry of a named list (clusters, users, contexts). */
struct entry {
	const struct kfile *f;
	const struct node *body;    /* the "cluster"/"user"/"context" map */
	const char *name;
	char where[96];             /* "users[2].user" */
};

static const struct node *
get(const struct node *map, const char *key)
{
	const struct node *v;

	if (!map || map->kind != NODE_MAP || !(v = node_map_get(map, key)))
		return NULL;
	if (v->kind == NODE_SCALAR && v->type == NT_NULL)
		return NULL;
	return v;
}

/* A string field; NULL when absent; an error when not a scalar. */
static const char *
get_str(struct loader *l, const struct kfile *f, const struct node *map, const char *where,
	const char *key)
{
	const struct node *v = get(map, key);

	if (!v)
		return NULL;
	if (v->kind != NODE_SCALAR) {
		diag_error(l->d, f->path, v->line, v->col, "%s.%s: must be a string, not %s",
			   where, key, node_type_name(v));
		l->bad = 1;
		return NULL;
	}
	return v->str;
}

static int
get_bool(struct loader *l, const struct kfile *f, const struct node *map, const char *where,
	 const char *key)
{
	const struct node *v = get(map, key);

	if (!v)
		return 0;
	if (v->kind != NODE_SCALAR || v->type != NT_BOOL) {
		diag_error(l->d, f->path, v->line, v->col, "%s.%s: must be true or false, not %s",
			   where, key, node_type_name(v));
		l->bad = 1;
		return 0;
	}
	return v->str[0] == 't' || v->str[0] == 'T' || v->str[0] == 'y' || v->str[0] == 'Y' ||
	       ((v->str[0] == 'o' || v->str[0] == 'O') && (v->str[1] == 'n' || v->str[1] == 'N'));
}

static int
load_file(struct loader *l, const char *path, int must_exist)
{
	static const struct reader_limits lim = {
		.max_file_bytes = KC_MAX_FILE,
		.max_documents = 2,
		.max_depth = 32,
		.max_string = 1u << 20,
		.max_nodes = 200000,
	};
	struct reader *r;
	struct kfile *f;
	struct stat st;
	struct node *doc = NULL;
	int rc;

	for (size_t i = 0; i < l->nfiles; i++)
		if (strcmp(l->files[i].path, path) == 0)
			return 0;   /* listed twice */
	if (stat(path, &st) != 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		diag_error(l->d, path, 0, 0, "cannot read the kubeconfig: %s", strerror(errno));
		return -1;
	}
	if (l->nfiles == KC_MAX_FILES) {
		diag_error(l->d, path, 0, 0, "more than %d kubeconfig files", KC_MAX_FILES);
		return -1;
	}
	if (S_ISREG(st.st_mode))
		check_mode(path, st.st_mode, "the kubeconfig", l->d);
	if (reader_open(&r, path, &lim, l->d) < 0)
		return -1;
	rc = reader_next(r, &l->arena, &doc);
	reader_close(r);
	if (rc < 0)
		return -1;
	if (doc && doc->kind != NODE_MAP) {
		diag_error(l->d, path, doc->line, doc->col,
			   "a kubeconfig is a mapping (apiVersion: v1, kind: Config), not %s",
			   node_type_name(doc));
		return -1;
	}
	f = &l->files[l->nfiles];
	f->path = xstrdup(path);
	f->dir = dir_of(path);
	f->doc = doc;
	if (!f->path || !f->dir) {
		free(f->path);
		free(f->dir);
		diag_error(l->d, path, 0, 0, "out of memory");
		return -1;
	}
	l->nfiles++;
	return 0;
}

/* The first entry named `name` in list `list` of any file (kubectl's merge:
 * the first file to define a name wins). */
static int
find_named(struct loader *l, const char *list, const char *field, const char *name,
	   struct entry *out)
{
	for (size_t i = 0; i < l->nfiles; i++) {
		const struct kfile *f = &l->files[i];
		const struct node *seq = get(f->doc, list), *it;
		size_t k = 0;

		if (!seq)
			continue;
		if (seq->kind != NODE_SEQ) {
			diag_error(l->d, f->path, seq->line, seq->col, "%s: must be a list, not %s",
				   list, node_type_name(seq));
			l->bad = 1;
			continue;
		}
		for (it = seq->head; it; it = it->next, k++) {
			char where[64];
			const char *n;

			snprintf(where, sizeof(where), "%s[%zu]", list, k);
			n = get_str(l, f, it, where, "name");
			if (!n || strcmp(n, name) != 0)
				continue;
			out->f = f;
			out->name = n;
			out->body = get(it, field);
			snprintf(out->where, sizeof(out->where), "%s[%zu].%s", list, k, field);
			if (out->body && out->body->kind != NODE_MAP) {
				diag_error(l->d, f->path, out->body->line, out->body->col,
					   "%s: must be a mapping, not %s", out->where,
					   node_type_name(out->body));
				l->bad = 1;
				out->body = NULL;
			}
			return 1;
		}
	}
	return 0;
}

/* A PEM from `key-data` (base64) or the file `key`; *-data wins, as in kubectl. */
static int
pem_field(struct loader *l, const struct entry *e, const char *file_key, const char *data_key,
	  const char *what, int secret, struct kubeconfig_blob *out, char **origin)
{
	const char *data = get_str(l, e->f, e->body, e->where, data_key);
	const char *file = get_str(l, e->f, e->body, e->where, file_key);
	const struct node *v;
	char buf[256];

	if (data) {
		v = get(e->body, data_key);
		if (kubeconfig_base64_decode(data, strlen(data), out) < 0) {
			/* never quote the value: it may be a key */
			diag_error(l->d, e->f->path, v->line, v->col,
				   "%s.%s: not valid base64 (the %s, base64-encoded PEM)", e->where,
				   data_key, what);
			l->bad = 1;
			return -1;
		}
		/* "certificate-authority-data of cluster "x" in FILE" */
		snprintf(buf, sizeof(buf), "%s of %s \"%.64s\" in %.120s", data_key,
			 strrchr(e->where, '.') + 1, e->name, e->f->path);
	} else if (file) {
		char *path = join_path(e->f->dir, file);
		int rc;

		v = get(e->body, file_key);
		if (!path) {
			diag_error(l->d, NULL, 0, 0, "out of memory");
			return -1;
		}
		rc = read_file(path, out, what, secret, e->f->path, v->line, v->col, l->d);
		snprintf(buf, sizeof(buf), "%s", path);
		free(path);
		if (rc < 0) {
			l->bad = 1;
			return -1;
		}
	} else {
		return 0;
	}
	if (origin && !(*origin = xstrdup(buf)))
		return -1;
	return 0;
}

static char *
trimmed_dup(const char *s, size_t n)
{
	char *o;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'))
		s++, n--;
	if (!(o = xmalloc(n + 1)))
		return NULL;
	memcpy(o, s, n);
	o[n] = 0;
	return o;
}

static int
read_token_file(const char *path, char **token, int secret, const char *origin, int line,
		int col, struct diags *d)
{
	struct kubeconfig_blob b;

	if (read_file(path, &b, "token file", secret, origin, line, col, d) < 0)
		return -1;
	*token = trimmed_dup((const char *)b.p, b.n);
	blob_free(&b);
	if (!*token) {
		diag_error(d, origin, line, col, "out of memory");
		return -1;
	}
	if (!**token) {
		diag_error(d, origin, line, col, "the token file %s is empty", path);
		return -1;
	}
	return 0;
}

static int
read_exec(struct loader *l, struct kubeconfig *kc, const struct entry *u, const struct node *ex)
{
	struct execcred *e = xcalloc(1, sizeof(*e));
	const struct kfile *f = u->f;
	const struct node *args, *env, *it;
	const char *s;
	char where[128];
	size_t k;

	if (!e)
		return -1;
	kc->exec = e;
	snprintf(where, sizeof(where), "%s.exec", u->where);
	if (ex->kind != NODE_MAP) {
		diag_error(l->d, f->path, ex->line, ex->col, "%s: must be a mapping, not %s", where,
			   node_type_name(ex));
		return -1;
	}
	s = get_str(l, f, ex, where, "apiVersion");
	if (!s || (strcmp(s, EXECCRED_V1) && strcmp(s, EXECCRED_V1BETA1))) {
		diag_error(l->d, f->path, ex->line, ex->col,
			   "%s.apiVersion: must be %s or %s%s%s%s", where, EXECCRED_V1, EXECCRED_V1BETA1,
			   s ? " (not \"" : "", s ? s : "", s ? "\")" : "");
		return -1;
	}
	e->api_version = xstrdup(s);
	s = get_str(l, f, ex, where, "command");
	if (!s || !*s) {
		diag_error(l->d, f->path, ex->line, ex->col, "%s.command: required", where);
		return -1;
	}
	/* a command with a '/' is relative to the kubeconfig, as in client-go */
	e->command = strchr(s, '/') ? join_path(f->dir, s) : xstrdup(s);
	if ((s = get_str(l, f, ex, where, "installHint")))
		e->install_hint = xstrdup(s);
	e->provide_cluster_info = get_bool(l, f, ex, where, "provideClusterInfo");
	e->interactive = EXECCRED_IF_AVAILABLE;
	if ((s = get_str(l, f, ex, where, "interactiveMode"))) {
		if (strcmp(s, "Never") == 0)
			e->interactive = EXECCRED_NEVER;
		else if (strcmp(s, "Always") == 0)
			e->interactive = EXECCRED_ALWAYS;
		else if (strcmp(s, "IfAvailable") != 0) {
			const struct node *v = get(ex, "interactiveMode");

			diag_error(l->d, f->path, v->line, v->col,
				   "%s.interactiveMode: must be Never, IfAvailable or Always", where);
			return -1;
		}
	}
	args = get(ex, "args");
	if (args && args->kind != NODE_SEQ) {
		diag_error(l->d, f->path, args->line, args->col, "%s.args: must be a list", where);
		return -1;
	}
	e->nargs = 1 + (args ? args->count : 0);
	if (!(e->args = xcalloc(e->nargs + 1, sizeof(char *))))
		return -1;
	e->args[0] = e->command ? xstrdup(e->command) : NULL;
	for (it = args ? args->head : NULL, k = 1; it; it = it->next, k++) {
		if (it->kind != NODE_SCALAR) {
			diag_error(l->d, f->path, it->line, it->col, "%s.args[%zu]: must be a string",
				   where, k - 1);
			return -1;
		}
		e->args[k] = xstrdup(it->str);
	}
	env = get(ex, "env");
	if (env && env->kind != NODE_SEQ) {
		diag_error(l->d, f->path, env->line, env->col, "%s.env: must be a list", where);
		return -1;
	}
	if (env && !(e->env = xcalloc(env->count + 1, sizeof(char *))))
		return -1;
	for (it = env ? env->head : NULL, k = 0; it; it = it->next, k++) {
		char w[160];
		const char *n, *v;
		size_t len;

		snprintf(w, sizeof(w), "%s.env[%zu]", where, k);
		n = get_str(l, f, it, w, "name");
		v = get_str(l, f, it, w, "value");
		if (!n || !*n || strchr(n, '=')) {
			diag_error(l->d, f->path, it->line, it->col, "%s.name: required (a variable name)",
				   w);
			return -1;
		}
		len = strlen(n) + strlen(v ? v : "") + 2;
		if (!(e->env[e->nenv] = xmalloc(len)))
			return -1;
		snprintf(e->env[e->nenv++], len, "%s=%s", n, v ? v : "");
	}
	if (!e->api_version || !e->command || !e->args[0])
		return -1;
	for (k = 1; k < e->nargs; k++)
		if (!e->args[k])
			return -1;
	return l->bad ? -1 : 0;
}

static int
read_user(struct loader *l, struct kubeconfig *kc, const struct entry *u)
{
	const struct kfile *f = u->f;
	const struct node *b = u->body, *v;
	const char *tok, *tokfile;
	static const char *const unsupported[] = { "as", "as-uid", "as-groups", "as-user-extra" };

	if (!b)
		return 0;   /* a user with no credentials */
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++)
		if ((v = get(b, unsupported[i]))) {
			/* running as ourselves instead would be a silent change of identity */
			diag_error(l->d, f->path, v->line, v->col,
				   "%s.%s: impersonation is not supported; use credentials of the "
				   "identity itself", u->where, unsupported[i]);
			return -1;
		}
	if ((v = get(b, "auth-provider"))) {
		diag_error(l->d, f->path, v->line, v->col,
			   "%s.auth-provider: not supported (kubectl removed auth providers in 1.26); "
			   "use an exec credential plugin such as gke-gcloud-auth-plugin or kubelogin",
			   u->where);
		return -1;
	}
	if ((v = get(b, "username")) || (v = get(b, "password"))) {
		diag_error(l->d, f->path, v->line, v->col,
			   "%s: basic authentication (username/password) is not supported by "
			   "Kubernetes since 1.19; use a token, a client certificate or an exec plugin",
			   u->where);
		return -1;
	}
	if (pem_field(l, u, "client-certificate", "client-certificate-data", "client certificate",
		      0, &kc->cert, NULL) < 0 ||
	    pem_field(l, u, "client-key", "client-key-data", "client key", 1, &kc->key, NULL) < 0)
		return -1;
	if (!kc->cert.p != !kc->key.p) {
		diag_error(l->d, f->path, b->line, b->col,
			   "%s: a client certificate needs its key (client-certificate%s and "
			   "client-key%s both)", u->where, "[-data]", "[-data]");
		return -1;
	}
	tok = get_str(l, f, b, u->where, "token");
	tokfile = get_str(l, f, b, u->where, "tokenFile");
	if (tokfile) {
		/* client-go: the file wins over an inline token */
		char *path = join_path(f->dir, tokfile);
		int rc;

		v = get(b, "tokenFile");
		if (!path)
			return -1;
		rc = read_token_file(path, &kc->token, 1, f->path, v->line, v->col, l->d);
		free(path);
		if (rc < 0)
			return -1;
	} else if (tok && *tok) {
		if (!(kc->token = xstrdup(tok)))
			return -1;
	}
	if ((v = get(b, "exec")) && read_exec(l, kc, u, v) < 0)
		return -1;
	return l->bad ? -1 : 0;
}

static int
read_cluster(struct loader *l, struct kubeconfig *kc, const struct entry *c)
{
	const struct kfile *f = c->f;
	const struct node *b = c->body, *v;
	const char *s;
	size_t n;

	if (!b || !(s = get_str(l, f, b, c->where, "server")) || !*s) {
		diag_error(l->d, f->path, b ? b->line : 0, b ? b->col : 0,
			   "%s.server: required (the API server's URL)", c->where);
		return -1;
	}
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
		v = get(b, "server");
		diag_error(l->d, f->path, v->line, v->col,
			   "%s.server: \"%s\" is not an https:// URL", c->where, s);
		return -1;
	}
	n = strlen(s);
	while (n > 8 && s[n - 1] == '/')
		n--;
	if (!(kc->server = xmalloc(n + 1)))
		return -1;
	memcpy(kc->server, s, n);
	kc->server[n] = 0;
	if ((s = get_str(l, f, b, c->where, "tls-server-name")) && *s &&
	    !(kc->tls_server_name = xstrdup(s)))
		return -1;
	if ((s = get_str(l, f, b, c->where, "proxy-url")) && *s && !(kc->proxy_url = xstrdup(s)))
		return -1;
	kc->insecure = get_bool(l, f, b, c->where, "insecure-skip-tls-verify");
	if (pem_field(l, c, "certificate-authority", "certificate-authority-data",
		      "certificate authority", 0, &kc->ca, &kc->ca_origin) < 0)
		return -1;
	if (kc->insecure && kc->ca.p) {
		/* kubectl refuses this combination too */
		v = get(b, "insecure-skip-tls-verify");
		diag_error(l->d, f->path, v->line, v->col,
			   "%s: insecure-skip-tls-verify and a certificate authority exclude each "
			   "other; remove one", c->where);
		return -1;
	}
	if (kc->insecure) {
		v = get(b, "insecure-skip-tls-verify");
		diag_warning(l->d, f->path, v->line, v->col,
			     "%s.insecure-skip-tls-verify: the API server's certificate is not "
			     "checked; anyone on the path can impersonate it and read the credentials",
			     c->where);
	}
	if (strncmp(kc->server, "http://", 7) == 0)
		diag_warning(l->d, f->path, b->line, b->col,
			     "%s.server: plain http: requests and credentials are not encrypted",
			     c->where);
	return l->bad ? -1 : 0;
}

static int
in_cluster_possible(void)
{
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");

	return h && *h && p && *p;
}

/* rest.InClusterConfig(): the service account of the Pod we run in. */
static int
load_in_cluster(struct kubeconfig *kc, struct diags *d)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("AGENTFENCE_SERVICEACCOUNT_DIR");
	char path[4096];
	size_t n;
	int v6;

	if (!host || !port)
		return -1;   /* in_cluster_possible() said they are set */
	if (!dir || !*dir)
		dir = SA_DIR;
	v6 = strchr(host, ':') != NULL;
	n = strlen(host) + strlen(port) + 16;
	if (!(kc->server = xmalloc(n)) || !(kc->source = xstrdup("in-cluster")))
		goto oom;
	snprintf(kc->server, n, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	kc->in_cluster = 1;
	/* no mode warning here: the kubelet mounts these 0644 inside the Pod */
	snprintf(path, sizeof(path), "%s/token", dir);
	if (read_token_file(path, &kc->token, 0, NULL, 0, 0, d) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	if (read_file(path, &kc->ca, "service account CA", 0, NULL, 0, 0, d) < 0)
		return -1;
	if (!(kc->ca_origin = xstrdup(path)))
		goto oom;
	return 0;
oom:
	diag_error(d, NULL, 0, 0, "out of memory");
	return -1;
}

static int
merged_has_contexts(const struct loader *l)
{
	for (size_t i = 0; i < l->nfiles; i++) {
		const struct node *c = get(l->files[i].doc, "contexts");

		if (c && c->kind == NODE_SEQ && c->count)
			return 1;
	}
	return 0;
}

static int
load_files(struct loader *l, const char *path)
{
	const char *env = getenv("KUBECONFIG");

	if (path)
		return load_file(l, path, 1);
	if (env && *env) {
		char *list = xstrdup(env), *save = NULL, *p;
		int rc = 0;

		if (!list)
			return -1;
		for (p = strtok_r(list, ":", &save); p && rc == 0; p = strtok_r(NULL, ":", &save))
			if (*p)
				rc = load_file(l, p, 0);
		free(list);
		return rc;
	} else {
		const char *home = getenv("HOME");
		char buf[4096];

		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return 0;
		snprintf(buf, sizeof(buf), "%s/.kube/config", home);
		return load_file(l, buf, 0);
	}
}

int
kubeconfig_load(struct kubeconfig *kc, const char *path, const char *context, struct diags *d)
{
	struct loader l;
	struct entry ctx, cl, us;
	const char *cname = context, *cluster_name, *user_name;
	const struct kfile *cur_file = NULL;
	int rc = -1;

	memset(kc, 0, sizeof(*kc));
	memset(&l, 0, sizeof(l));
	l.d = d;
	if (load_files(&l, path) < 0)
		goto out;
	if (!l.nfiles || (!merged_has_contexts(&l) && !context)) {
		if (!path && in_cluster_possible()) {
			rc = load_in_cluster(kc, d);
			goto out;
		}
		if (!l.nfiles)
			diag_error(d, NULL, 0, 0,
				   "no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, or create "
				   "~/.kube/config (inside a Pod, its service account is used)");
		else
			diag_error(d, l.files[0].path, 0, 0, "the kubeconfig defines no context");
		goto out;
	}
	if (!cname) {
		for (size_t i = 0; i < l.nfiles && !cname; i++) {
			const char *s = get_str(&l, &l.files[i], l.files[i].doc, "kubeconfig",
						"current-context");

			if (s && *s) {
				cname = s;
				cur_file = &l.files[i];
			}
		}
		if (!cname) {
			diag_error(d, l.files[0].path, 0, 0,
				   "no current-context: pass --context NAME or run kubectl config "
				   "use-context NAME");
			goto out;
		}
	}
	if (!find_named(&l, "contexts", "context", cname, &ctx)) {
		diag_error(d, cur_file ? cur_file->path : l.files[0].path, 0, 0,
			   "context \"%s\" is not defined in the kubeconfig%s", cname,
			   l.nfiles > 1 ? " files" : "");
		goto out;
	}
	kc->context = xstrdup(cname);
	kc->source = xstrdup(ctx.f->path);
	if (!kc->context || !kc->source)
		goto oom;
	cluster_name = get_str(&l, ctx.f, ctx.body, ctx.where, "cluster");
	user_name = get_str(&l, ctx.f, ctx.body, ctx.where, "user");
	if (!cluster_name || !*cluster_name) {
		diag_error(d, ctx.f->path, ctx.body ? ctx.body->line : 0, ctx.body ? ctx.body->col : 0,
			   "%s.cluster: required (context \"%s\")", ctx.where, cname);
		goto out;
	}
	if (!find_named(&l, "clusters", "cluster", cluster_name, &cl)) {
		diag_error(d, ctx.f->path, ctx.body->line, ctx.body->col,
			   "context \"%s\" names cluster \"%s\", which is not defined", cname,
			   cluster_name);
		goto out;
	}
	if (!(kc->cluster = xstrdup(cluster_name)))
		goto oom;
	if (read_cluster(&l, kc, &cl) < 0)
		goto out;
	if (user_name && *user_name) {
		if (!find_named(&l, "users", "user", user_name, &us)) {
			diag_error(d, ctx.f->path, ctx.body->line, ctx.body->col,
				   "context \"%s\" names user \"%s\", which is not defined", cname,
				   user_name);
			goto out;
		}
		if (!(kc->user = xstrdup(user_name)))
			goto oom;
		if (read_user(&l, kc, &us) < 0)
			goto out;
	}
	rc = l.bad ? -1 : 0;
	goto out;
oom:
	diag_error(d, NULL, 0, 0, "out of memory");
out:
	for (size_t i = 0; i < l.nfiles; i++) {
		free(l.files[i].path);
		free(l.files[i].dir);
	}
	/* the arena held the kubeconfig text, inline tokens and keys included */
	arena_free(&l.arena);
	if (rc < 0 && !d->errors)
		diag_error(d, NULL, 0, 0, "cannot read the kubeconfig");
	return rc;
}

/* --- the exec credential plugin (execcred.c) runs; we take what it printed --- */

int
kubeconfig_exec(struct kubeconfig *kc, struct diags *d)
{
	struct execcred_cluster c = {
		kc->server, kc->tls_server_name, kc->proxy_url, kc->insecure, kc->ca.p, kc->ca.n,
	};
	struct execcred_cred cred;

	if (!kc->exec)
		return 0;
	if (execcred_run(kc->exec, &c, kc->source, &cred, d) < 0)
		return -1;
	if (cred.token) {
		wipe_str(&kc->token);
		kc->token = cred.token;
	}
	if (cred.cert) {
		blob_free(&kc->cert);
		blob_free(&kc->key);
		kc->cert.p = (unsigned char *)cred.cert;
		kc->cert.n = strlen(cred.cert);
		kc->key.p = (unsigned char *)cred.key;
		kc->key.n = strlen(cred.key);
	}
	return 0;
}

const char *
kubeconfig_auth_kind(const struct kubeconfig *kc)
{
	if (kc->exec)
		return "exec plugin";
	if (kc->in_cluster)
		return "service account token";
	if (kc->cert.p && kc->token)
		return "client certificate and bearer token";
	if (kc->cert.p)
		return "client certificate";
	if (kc->token)
		return "bearer token";
	return "no credentials";
}

void
kubeconfig_free(struct kubeconfig *kc)
{
	execcred_free(kc->exec);
	free(kc->source);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->proxy_url);
	free(kc->ca_origin);
	blob_free(&kc->ca);
	blob_free(&kc->cert);
	blob_free(&kc->key);
	wipe_str(&kc->token);
	memset(kc, 0, sizeof(*kc));
}
