/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig: where the API server is and how to prove who we are, found
 * the way kubectl finds it.
 *
 * kubeconfig_load() takes --kubeconfig FILE, else every file of
 * $KUBECONFIG (merged as kubectl merges them: the first file that sets a
 * value, or defines a name, wins), else ~/.kube/config; the context is
 * --context or the current-context. With no kubeconfig at all inside a
 * Pod (KUBERNETES_SERVICE_HOST/PORT set), the service account's token and
 * CA are used (their folder can be moved with AGENTFENCE_SERVICEACCOUNT_DIR,
 * for tests). Credentials: server CA, client certificate and key (file or
 * base64 *-data), bearer token or tokenFile, or an exec credential plugin
 * (client.authentication.k8s.io/v1 and v1beta1): read here, run by
 * execcred.c when kubeconfig_exec() is called.
 *
 * Secrets (tokens, keys) stay in memory: they are never written to disk,
 * never put in a diagnostic, and wiped by kubeconfig_free(). A kubeconfig,
 * token file or key file that group or others can read gets a warning;
 * insecure-skip-tls-verify gets a warning.
 *
 * Ownership: struct kubeconfig owns every string and blob in it; release
 * with kubeconfig_free(). Errors and warnings go to the diags passed in.
 */
#ifndef AGENTFENCE_KUBECONFIG_H
#define AGENTFENCE_KUBECONFIG_H

#include <stddef.h>

#include "diag.h"
#include "execcred.h"

/* Bytes (PEM text) held in memory. */
struct kubeconfig_blob {
	unsigned char *p;
	size_t n;
};

struct kubeconfig {
	char *source;               /* the file the context came from, or "in-cluster" */
	char *context, *cluster, *user;   /* names, for messages (NULL in-cluster) */
	char *server;               /* base URL, without a trailing '/' */
	char *tls_server_name;      /* NULL: the server's host name */
	char *proxy_url;
	int insecure;               /* insecure-skip-tls-verify */
	struct kubeconfig_blob ca;  /* PEM; empty: the system's trust store */
	char *ca_origin;            /* where the CA came from, for messages */
	struct kubeconfig_blob cert, key;   /* PEM client certificate and key */
	char *token;                /* bearer token (from token, tokenFile, the
				     * service account, or the exec plugin) */
	struct execcred *exec;      /* the user's exec plugin, or NULL */
	int in_cluster;
};

/*
 * Find and read the credentials. `path` (--kubeconfig) and `context`
 * (--context) may be NULL. Returns 0, or -1 with errors in d (warnings
 * may be recorded either way).
 */
int kubeconfig_load(struct kubeconfig *kc, const char *path, const char *context,
		    struct diags *d);

/*
 * Run the exec plugin (when kc->exec is set; execcred_run) and take the
 * token or the client certificate and key it prints. Called before the first request
 * and again when the server answers 401. Returns 0, or -1 with an error
 * in d. The plugin's standard error goes to ours (it may prompt).
 */
int kubeconfig_exec(struct kubeconfig *kc, struct diags *d);

/* How we authenticate, for -v ("client certificate", "exec plugin aws",
 * ...). Never a secret. Borrowed (static or from kc). */
const char *kubeconfig_auth_kind(const struct kubeconfig *kc);

void kubeconfig_free(struct kubeconfig *kc);

/* Strict base64 (standard alphabet, padding required; whitespace
 * skipped), for the *-data fields. 0, or -1 when not base64. The output
 * belongs to the caller (free it; it is NUL-terminated for convenience). */
int kubeconfig_base64_decode(const char *s, size_t len, struct kubeconfig_blob *out);

#endif
