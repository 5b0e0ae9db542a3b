/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec: one agent (kind: AgentIsolation), read from a document and checked.
 *
 * spec_read() checks a document tree against the v1alpha1 schema and
 * the profile (allowlist entries against the blocked set, families,
 * defaults) and fills a struct spec_agent. Every problem is recorded in
 * the diags; a spec with errors is never compiled.
 *
 * Ownership: strings and arrays in a spec_agent are borrowed from the
 * document's arena, except the cidr_list (released by spec_free()).
 */
#ifndef AGENTFENCE_SPEC_H
#define AGENTFENCE_SPEC_H

#include <stdint.h>

#include "cidr.h"
#include "node.h"
#include "profile.h"

#define SPEC_API_VERSION "agentfence.dev/v1alpha1"

enum spec_mode { MODE_NONE, MODE_PUBLIC, MODE_ALLOWLIST, MODE_GATEWAY };

/* List limits: large enough for any real agent, small enough to bound work. */
#define SPEC_MAX_ALLOW 1000
#define SPEC_MAX_PORTS 64
#define SPEC_MAX_INGRESS 32
#define SPEC_MAX_ENV 1000
#define SPEC_MAX_ARGS 1000

#define SPEC_MAX_PULL_SECRETS 32

/* An environment variable: a literal value, or one key of a Secret or a
 * ConfigMap (valueFrom), so credentials never sit in the spec. */
enum spec_env_from { ENV_VALUE, ENV_SECRET, ENV_CONFIGMAP };

struct spec_env {
	const char *name, *value;     /* value: ENV_VALUE only */
	enum spec_env_from from;
	const char *ref_name, *ref_key;
	int has_optional, optional;
};

/* spec.scratch: a writable emptyDir for a read-only root filesystem.
 * With the profile's readOnlyRootFilesystem (the default) there is always
 * one: /tmp, as large as the ephemeral-storage limit, unless the spec
 * says otherwise. */
struct spec_scratch {
	const char *size_limit;       /* a quantity */
	const char *mount_path;       /* absolute, default /tmp */
};

/* An allowlist entry that is a DNS name (names.h): exact, or "*.suffix". */
struct spec_name {
	const char *name;         /* as written: "api.example.com", "*.example.com" */
	int wildcard;
};

struct spec_ingress {
	const char *ns;
	struct kv *labels;        /* NULL: every Pod of the namespace */
	size_t nlabels;
	uint16_t *ports;
	size_t nports;
};

struct spec_agent {
	const char *file;
	int line, col;            /* where the document starts */
	const char *name, *ns;
	const char *image;
	const char **command, **args;
	size_t ncommand, nargs;
	int has_command, has_args;
	struct spec_env *env;
	size_t nenv;
	const char *cpu, *memory, *ephemeral;
	long deadline;            /* spec.activeDeadlineSeconds, 0: not set */
	int has_scratch;
	struct spec_scratch scratch;
	const char **pull_secrets;   /* spec.imagePullSecrets, in spec order */
	size_t npull_secrets;
	const char *runtime_class;
	enum spec_mode mode;
	struct cidr_list allow;   /* allowlist: normalized */
	struct spec_name *names;  /* allowlist: DNS names, in spec order */
	size_t nnames;
	int dns;                  /* egress.dns (default 1): may resolve names */
	struct cidr static_ip;    /* gateway: a /32 */
	struct kv *gw_selector;
	size_t gw_nselector;
	uint16_t *ports;          /* egress TCP ports; none: all ports */
	size_t nports;
	struct spec_ingress *ingress;
	size_t ningress;
};

/*
 * Read one document. Returns 0 (agent filled), 1 (the document is not an
 * agent: an empty document), -1 (errors recorded in d).
 */
int spec_read(struct spec_agent *ag, const struct node *doc, const char *file,
	      const struct profile *p, struct arena *a, struct diags *d);
void spec_free(struct spec_agent *ag);

const char *spec_mode_name(enum spec_mode m);

#endif
