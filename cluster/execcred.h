/* SPDX-License-Identifier: Apache-2.0 */
/*
 * execcred: the exec credential plugin of a kubeconfig user
 * (client.authentication.k8s.io/v1 and v1beta1), the way client-go runs
 * it: the command with its args, our environment plus the plugin's env
 * and KUBERNETES_EXEC_INFO (the ExecCredential request, with the cluster
 * when provideClusterInfo is set); standard input is ours only when the
 * plugin may be interactive; standard error is ours (it may prompt). Its
 * standard output must be an ExecCredential of the same apiVersion whose
 * status holds a token, or a client certificate and key. A plugin that
 * does not answer within two minutes is killed.
 *
 * kubeconfig.c fills struct execcred from the user's `exec` map; kapi.c
 * runs it (through kubeconfig_exec) before the first request and after
 * a 401.
 *
 * Secrets: the plugin's output, the token, certificate and key are never
 * put in a diagnostic, and every buffer that held them is wiped.
 *
 * Ownership: struct execcred owns its strings (execcred_free). A struct
 * execcred_cred filled by execcred_run() belongs to the caller, who takes
 * its strings or releases them with execcred_cred_free().
 */
#ifndef AGENTFENCE_EXECCRED_H
#define AGENTFENCE_EXECCRED_H

#include <stddef.h>

#include "diag.h"

#define EXECCRED_V1 "client.authentication.k8s.io/v1"
#define EXECCRED_V1BETA1 "client.authentication.k8s.io/v1beta1"

enum execcred_interactive { EXECCRED_NEVER, EXECCRED_IF_AVAILABLE, EXECCRED_ALWAYS };

struct execcred {
	char *api_version;          /* EXECCRED_V1 or EXECCRED_V1BETA1 */
	char *command;              /* resolved against the kubeconfig's folder if it has a '/' */
	char **args;                /* NULL-terminated argv, args[0] = command */
	size_t nargs;
	char **env;                 /* "NAME=value" */
	size_t nenv;
	char *install_hint;
	int provide_cluster_info;
	enum execcred_interactive interactive;
};

/* What the plugin is told about the cluster (provideClusterInfo). Borrowed. */
struct execcred_cluster {
	const char *server;
	const char *tls_server_name;    /* NULL: none */
	const char *proxy_url;          /* NULL: none */
	int insecure;
	const unsigned char *ca;        /* PEM; NULL: none */
	size_t ca_len;
};

/* What the plugin printed: a token, or a PEM certificate and key (NULL when absent). */
struct execcred_cred {
	char *token;
	char *cert, *key;
};

/*
 * Run the plugin and read its ExecCredential into *out. `source` (the
 * kubeconfig) names the file in the error about interactiveMode Always.
 * Returns 0, or -1 with an error in d (out is then empty).
 */
int execcred_run(struct execcred *e, const struct execcred_cluster *c, const char *source,
		 struct execcred_cred *out, struct diags *d);

/* Wipe and free what *c holds (NULL fields are fine). */
void execcred_cred_free(struct execcred_cred *c);

/* Free what e holds, and e (NULL is fine). */
void execcred_free(struct execcred *e);

#endif
