/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentfence: compile agent-isolation specs into Kubernetes objects.
 *
 * The only file that prints or exits: it reads the command line, runs
 * the pipeline (read a document, check it, build its objects, emit them,
 * free them) and turns recorded diagnostics into messages and exit codes.
 * The command line is data: one table of commands and one of options,
 * which give getopt_long its arguments, the usage lines and every --help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "compile.h"
#include "apply.h"
#include "audit.h"
#include "buf.h"
#include "build.h"
#include "crd.h"
#include "check.h"
#include "diag.h"
#include "diff.h"
#include "difftool.h"
#include "duration.h"
#include "emit.h"
#include "explain.h"
#include "kapi.h"
#include "kubeconfig.h"
#include "node.h"
#include "outdir.h"
#include "probe.h"
#include "profile.h"
#include "sink.h"
#include "spec.h"
#include "sys.h"
#include "xalloc.h"

#ifndef AGENTFENCE_VERSION
#define AGENTFENCE_VERSION "0.1.0"
#endif

/* Exit codes: a contract, documented in README and --help (exit_codes[]). */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,   /* invalid input, stale output, or output not written */
	EXIT_USAGE = 2,
	EXIT_FINDINGS = 1,  /* audit: findings */
	EXIT_CLUSTER = 3,   /* apply/delete: something failed on the cluster; diff, audit: an error */
	EXIT_CHECK_ERROR = 4,   /* check: invalid input or an error (1 is stale), as kubectl diff */
};

/* --- the command line, as data --- */

enum cmd { CMD_COMPILE, CMD_VALIDATE, CMD_CHECK, CMD_APPLY, CMD_DELETE, CMD_DIFF, CMD_AUDIT,
	   CMD_PROBE, CMD_EXPLAIN, CMD_COMPLETION, CMD_CRD, CMD_COUNT };

#define IN(c) (1u << (c))
#define IN_COMPILE (IN(CMD_COMPILE) | IN(CMD_VALIDATE) | IN(CMD_CHECK))
#define IN_CLUSTER (IN(CMD_APPLY) | IN(CMD_DELETE))
#define IN_REMOTE (IN_CLUSTER | IN(CMD_DIFF) | IN(CMD_AUDIT))   /* the commands that talk to a cluster */
#define IN_SPECS (IN_COMPILE | IN_REMOTE | IN(CMD_EXPLAIN))   /* the commands that read specs */
#define IN_ALL (IN_SPECS | IN(CMD_PROBE) | IN(CMD_COMPLETION) | IN(CMD_CRD))

/* Help texts: a '\n' continues the text on the next line, indented. */
static const struct command {
	const char *name;
	const char *alias;      /* another name, or NULL */
	const char *about;
	const char *examples;
	const char *operands;   /* the usage line's last word; NULL: SPEC... */
	const char *operands_text;  /* what they are; NULL: spec_text */
} commands[CMD_COUNT] = {
	[CMD_COMPILE] = { "compile", NULL,
		"write the objects: a YAML stream on stdout (--format json: a v1\n"
		"List), or with -o DIR one file per agent plus kustomization.yaml",
		"agentfence compile agents.yaml > agents.k8s.yaml\n"
		"agentfence compile --cluster profile.yaml -o deploy/agents agents.yaml\n"
		"agentfence compile --format json - < agents.yaml", NULL, NULL },
	[CMD_VALIDATE] = { "validate", NULL,
		"check the specs (and the profile and templates); write nothing",
		"agentfence validate agents.yaml\n"
		"agentfence validate --cluster profile.yaml --templates site/ agents/*.yaml", NULL, NULL },
	[CMD_CHECK] = { "check", NULL,
		"exit 1 when DIR differs in any byte from what compile -o DIR would\n"
		"write (a CI gate for a committed folder)",
		"agentfence check -o deploy/agents agents.yaml\n"
		"agentfence check --cluster profile.yaml -o deploy/agents agents/*.yaml", NULL, NULL },
	[CMD_APPLY] = { "apply", "--apply",
		"put the agents on the cluster (server-side apply): each agent's\n"
		"policies first, its Pod only once the server stored them all; an\n"
		"agent whose policies fail gets no Pod (an old one is deleted)",
		"agentfence apply --dry-run agents.yaml\n"
		"agentfence apply --cluster profile.yaml --prune agents.yaml\n"
		"agentfence apply --context prod --recreate --wait agents.yaml", NULL, NULL },
	[CMD_DELETE] = { "delete", NULL,
		"take the agents off the cluster: each Pod first, its policies once\n"
		"the Pod is gone",
		"agentfence delete agents.yaml\n"
		"agentfence delete --context prod --timeout 2m agents.yaml", NULL, NULL },
	[CMD_DIFF] = { "diff", NULL,
		"show what apply would change, as kubectl diff does: each object's\n"
		"server-side dry run (dryRun=All) against the live object, both\n"
		"without the server's own fields, as YAML in two folders compared\n"
		"by diff -u -N (or $AGENTFENCE_EXTERNAL_DIFF, else\n"
		"$KUBECTL_EXTERNAL_DIFF); writes nothing and takes no Lease",
		"agentfence diff agents.yaml\n"
		"agentfence diff --context prod --cluster profile.yaml agents/*.yaml\n"
		"AGENTFENCE_EXTERNAL_DIFF='diff -uN' agentfence diff agents.yaml",
		NULL, NULL },
	[CMD_AUDIT] = { "audit", NULL,
		"read the live cluster and report, for every agent Pod, a policy\n"
		"not written by agentfence that widens it, a Pod that no policy of\n"
		"agentfence's selects, and (with SPEC) objects that differ from what\n"
		"the specs compile to, and (with --cluster) guards that are missing",
		"agentfence audit\n"
		"agentfence audit --cluster profile.yaml --format json agents.yaml\n"
		"agentfence audit --context prod -v", "[SPEC]...", NULL },
	[CMD_PROBE] = { "probe", NULL,
		"from inside an agent's Pod (its init container): exit 1, one\n"
		"line each, when a destination the agent must never reach is\n"
		"reachable: the cloud metadata endpoints, the API server\n"
		"($KUBERNETES_SERVICE_HOST), the node ($AGENTFENCE_NODE_IP:10250)\n"
		"and each TARGET",
		"agentfence probe\n"
		"agentfence probe --wait 1m 10.0.0.1:80=pod-range [fd00::1]:443",
		"[TARGET]...",
		"TARGET is ADDRESS:PORT or [IPv6]:PORT, with an optional =LABEL.\n"
		"A destination is reachable when a TCP connect succeeds or is refused\n"
		"(the refusal came back through the fence); a timeout, no route or a\n"
		"local reject makes it unreachable.\n" },
	[CMD_COMPLETION] = { "completion", NULL,
		"print the shell completion script for bash, zsh or fish",
		"agentfence completion bash > /etc/bash_completion.d/agentfence\n"
		"agentfence completion zsh > ~/.zfunc/_agentfence   # a folder in $fpath\n"
		"agentfence completion fish > ~/.config/fish/completions/agentfence.fish",
		"bash|zsh|fish",
		"The script completes the commands, their options, and the files or\n"
		"folders they take (make install and the Debian package install all three).\n" },
	[CMD_CRD] = { "crd", NULL,
		"print the CustomResourceDefinitions of AgentIsolation (namespaced)\n"
		"and ClusterProfile (cluster-scoped), generated from schema/",
		"agentfence crd | kubectl apply -f -\n"
		"agentfence crd --format json > agentfence-crds.json",
		"", "crd takes no operands.\n" },
	[CMD_EXPLAIN] = { "explain", NULL,
		"what each agent can reach, evaluated from the objects compile\n"
		"emits (NetworkPolicy semantics): DNS, IPv4, IPv6, ports,\n"
		"ingress, egress IP, guard, warnings; --at: who reaches ADDRESS",
		"agentfence explain agents.yaml\n"
		"agentfence explain --format json --cluster profile.yaml agents.yaml\n"
		"agentfence explain --at 169.254.169.254:80 agents.yaml", NULL, NULL },
};

enum opt_id {
	OPT_CLUSTER, OPT_TEMPLATES, OPT_OUTPUT, OPT_FORMAT, OPT_LAYOUT, OPT_KUBECONFIG, OPT_CONTEXT,
	OPT_DRY_RUN, OPT_PRUNE, OPT_RECREATE, OPT_WAIT, OPT_REQUEST_TIMEOUT, OPT_TIMEOUT,
	OPT_PROBE_TIMEOUT, OPT_PROBE_WAIT, OPT_QUIET, OPT_VERBOSE, OPT_PROBE_VERBOSE, OPT_AUDIT_FORMAT,
	OPT_EXPLAIN_FORMAT, OPT_AT, OPT_HELP, OPT_COUNT
};

/* getopt_long returns this plus the option's index for a long option */
#define OPT_LONG 256

/* In the order of the usage lines; an option a command requires comes last. */
static const struct option_def {
	const char *name;       /* the long name, after -- */
	char short_name;        /* 'o' for -o; 0: none */
	const char *arg;        /* the argument's name; NULL: takes none */
	unsigned cmds;          /* IN(CMD_...): the commands that take it */
	unsigned required;      /* ... and those that need it */
	const char *help;
} options[OPT_COUNT] = {
	[OPT_CLUSTER] = { "cluster", 0, "PROFILE", IN_SPECS, 0,
		"a ClusterProfile file (cluster ranges, DNS, defaults);\n"
		"compile -o and check take several: one folder\n"
		"DIR/NAME per profile (its metadata.name)" },
	[OPT_TEMPLATES] = { "templates", 0, "DIR", IN_SPECS, 0,
		"the site's base objects: a folder holding any of\n"
		"pod.yaml, networkpolicy.yaml, egressgatewaypolicy.yaml\n"
		"and nothing else (built-in ones for the files it lacks)" },
	[OPT_OUTPUT] = { "output", 'o', "DIR", IN(CMD_COMPILE) | IN(CMD_CHECK), IN(CMD_CHECK),
		"write (check: compare) a folder instead of stdout:\n"
		"one file per agent plus kustomization.yaml; kubectl's\n"
		"-o words (json, yaml, wide, name, jsonpath=...) are\n"
		"refused unless such a folder exists (that is --format;\n"
		"a new folder named json is -o ./json)" },
	[OPT_FORMAT] = { "format", 0, "yaml|json", IN(CMD_COMPILE) | IN(CMD_CHECK) | IN(CMD_CRD),
		0,
		"output format (default yaml)" },
	[OPT_LAYOUT] = { "layout", 0, "flat|flux", IN(CMD_COMPILE) | IN(CMD_CHECK), 0,
		"with -o: flat (default) one folder; flux: DIR/policies,\n"
		"DIR/pods and DIR/flux.yaml, two Flux Kustomizations,\n"
		"the Pods' one dependsOn the policies' one (DIR relative\n"
		"to the repository root)" },
	[OPT_KUBECONFIG] = { "kubeconfig", 0, "FILE", IN_REMOTE, 0,
		"credentials (default: $KUBECONFIG, ~/.kube/config, or the\n"
		"Pod's service account when run in a cluster)" },
	[OPT_CONTEXT] = { "context", 0, "NAME", IN_REMOTE, 0,
		"the kubeconfig context (default: current-context)" },
	[OPT_DRY_RUN] = { "dry-run", 0, NULL, IN_CLUSTER, 0,
		"the server checks every object (dryRun=All); nothing\n"
		"is stored" },
	[OPT_PRUNE] = { "prune", 0, NULL, IN(CMD_APPLY), 0,
		"also delete agents labelled managed-by=agentfence\n"
		"that are no longer in the specs (in the specs'\n"
		"namespaces only)" },
	[OPT_RECREATE] = { "recreate", 0, NULL, IN(CMD_APPLY), 0,
		"replace a Pod whose spec changed (Pods are immutable);\n"
		"without it such a Pod is reported and left as it is" },
	[OPT_WAIT] = { "wait", 0, NULL, IN_CLUSTER, 0,
		"also wait until the Pod of a failed agent is gone" },
	[OPT_REQUEST_TIMEOUT] = { "request-timeout", 0, "D", IN_REMOTE, 0,
		"the limit of each request attempt (default 30s);\n"
		"D in Go's form as kubectl takes it: 10s, 1m30s,\n"
		"500ms, 1h (a bare number is seconds)" },
	[OPT_TIMEOUT] = { "timeout", 0, "D", IN_CLUSTER, 0,
		"how long to wait for a Pod to be gone (default 5m)" },
	[OPT_PROBE_TIMEOUT] = { "timeout", 0, "D", IN(CMD_PROBE), 0,
		"the limit of each connect attempt (default 1s)" },
	[OPT_PROBE_WAIT] = { "wait", 0, "D", IN(CMD_PROBE), 0,
		"retry the reachable destinations until none is left\n"
		"or D has passed (default 30s; 0: one attempt): some\n"
		"CNIs fence a new Pod only seconds after it starts" },
	[OPT_QUIET] = { "quiet", 'q', NULL, IN(CMD_COMPILE) | IN(CMD_CHECK), 0,
		"no summary line on stderr (errors are still printed)" },
	[OPT_VERBOSE] = { "verbose", 'v', NULL, IN_REMOTE, 0,
		"one line per request (never headers, tokens or keys)" },
	[OPT_PROBE_VERBOSE] = { "verbose", 'v', NULL, IN(CMD_PROBE), 0,
		"one line per destination: its verdict and why" },
	[OPT_AUDIT_FORMAT] = { "format", 0, "table|json", IN(CMD_AUDIT), 0,
		"output format (default table; json: docs/audit.md)" },
	[OPT_EXPLAIN_FORMAT] = { "format", 0, "table|json", IN(CMD_EXPLAIN), 0,
		"output format (default table)" },
	[OPT_AT] = { "at", 0, "ADDRESS[:PORT]", IN(CMD_EXPLAIN), 0,
		"only this destination: which agents reach it (egress)\n"
		"and by which rule; [IPv6]:PORT; no port: any port" },
	[OPT_HELP] = { "help", 'h', NULL, IN_ALL, 0,
		"this help" },
};

static const struct {
	int code;
	unsigned cmds;
	const char *text;
} exit_codes[] = {
	{ EXIT_OK, IN_ALL & ~IN(CMD_DIFF), "success" },
	{ EXIT_OK, IN(CMD_DIFF), "diff: no difference" },
	{ EXIT_INVALID, IN_SPECS & ~IN(CMD_CHECK) & ~IN(CMD_DIFF) & ~IN(CMD_AUDIT),
	  "invalid input (specs, profile, templates, kubeconfig); nothing\n"
	  "was written or sent" },
	{ EXIT_INVALID, IN(CMD_CHECK), "check: the folder is stale (compile -o would change it)" },
	{ EXIT_INVALID, IN(CMD_PROBE),
	  "probe: a destination the agent must never reach is reachable" },
	{ EXIT_INVALID, IN(CMD_DIFF), "diff: the objects differ from the live ones" },
	{ EXIT_INVALID, IN(CMD_CRD), "crd: the output could not be written" },
	{ EXIT_FINDINGS, IN(CMD_AUDIT), "audit: findings (an agent's fence is not what agentfence made)" },
	{ EXIT_USAGE, IN_ALL, "usage error" },
	{ EXIT_CLUSTER, IN_CLUSTER, "apply/delete: something failed on the cluster (or reaching it)" },
	{ EXIT_CLUSTER, IN(CMD_DIFF),
	  "diff: an error (invalid input, the cluster or reaching it, the diff\n"
	  "program); what was shown, if anything, is incomplete" },
	{ EXIT_CLUSTER, IN(CMD_AUDIT),
	  "audit: an error (invalid input, the cluster could not be read or\n"
	  "reached); what was reported, if anything, is incomplete" },
	{ EXIT_CLUSTER, IN(CMD_EXPLAIN),
	  "explain: the objects hold a kind or field the evaluator does not read;\n"
	  "nothing was written" },
	{ EXIT_CHECK_ERROR, IN(CMD_CHECK),
	  "check: invalid input, or the folder could not be compared" },
};

static const char intro_text[] =
	"Compile AgentIsolation specs (agentfence.dev/v1alpha1) into the Kubernetes\n"
	"objects that isolate each agent: a NetworkPolicy, a CiliumEgressGatewayPolicy\n"
	"in gateway mode, and a hardened Pod, in that order.\n";

static const char spec_text[] =
	"SPEC is a file or - (standard input): a YAML or JSON stream of documents.\n";

#define HELP_WIDTH 80

/* how usage lines name the program: "kubectl agentfence" when kubectl runs it as a plugin */
static const char *prog = "agentfence";

/* text's first line, then each further one indented to `indent` */
static void
print_text(FILE *f, int indent, const char *text)
{
	const char *p = text, *nl;

	for (;;) {
		nl = strchr(p, '\n');
		fprintf(f, "%.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl || !nl[1])
			return;
		p = nl + 1;
		fprintf(f, "%*s", indent, "");
	}
}

/* "-o DIR", or in full "-o, --output DIR" ("--cluster PROFILE" either way) */
static void
flag_text(char *buf, size_t size, const struct option_def *od, int full)
{
	const char *arg = od->arg ? od->arg : "";

	if (od->short_name && !full)
		snprintf(buf, size, "-%c%s%s", od->short_name, *arg ? " " : "", arg);
	else if (od->short_name)
		snprintf(buf, size, "-%c, --%s%s%s", od->short_name, od->name, *arg ? " " : "", arg);
	else
		snprintf(buf, size, "--%s%s%s", od->name, *arg ? " " : "", arg);
}

/* one word of a usage line, wrapped under the first one */
static void
put_word(FILE *f, const char *w, int indent, int *col)
{
	int n = (int)strlen(w);

	if (*col > indent && *col + 1 + n > HELP_WIDTH) {
		fprintf(f, "\n%*s", indent, "");
		*col = indent;
	} else if (*col > indent) {
		fputc(' ', f);
		(*col)++;
	}
	fputs(w, f);
	*col += n;
}

/* `agentfence NAME [--option ARG]... --required ARG SPEC...` */
static void
print_usage_line(FILE *f, const char *lead, enum cmd c, int pad)
{
	int indent = fprintf(f, "%s%s %-*s ", lead, prog, pad, commands[c].name), col = indent;

	for (int req = 0; req < 2; req++) {
		for (int i = 0; i < OPT_HELP; i++) {
			char flag[48], word[52];

			if (!(options[i].cmds & IN(c)) || !(options[i].required & IN(c)) != !req)
				continue;
			flag_text(flag, sizeof(flag), &options[i], 0);
			snprintf(word, sizeof(word), req ? "%s" : "[%s]", flag);
			put_word(f, word, indent, &col);
		}
	}
	if (!commands[c].operands || *commands[c].operands)   /* "": none */
		put_word(f, commands[c].operands ? commands[c].operands : "SPEC...", indent, &col);
	fputc('\n', f);
}

static void
print_usage_lines(FILE *f)
{
	for (int c = 0; c < CMD_COUNT; c++)
		print_usage_line(f, c ? "       " : "usage: ", (enum cmd)c, 8);
	fprintf(f, "       %s help [CMD]\n"
		   "       %s version\n", prog, prog);
}

static void
print_exit_codes(FILE *f, unsigned cmds)
{
	fprintf(f, "\nexit codes:\n");
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		if (exit_codes[i].cmds & cmds) {
			fprintf(f, "  %d  ", exit_codes[i].code);
			print_text(f, 5, exit_codes[i].text);
		}
}

static void
print_help(void)
{
	print_usage_lines(stdout);
	printf("\n%s\ncommands:\n", intro_text);
	for (int c = 0; c < CMD_COUNT; c++) {
		printf("  %-10s ", commands[c].name);
		print_text(stdout, 13, commands[c].about);
	}
	printf("  %-10s ", "help");
	print_text(stdout, 13, "this text; help CMD (or CMD --help): that command's usage,\n"
			       "options and examples");
	printf("  %-10s %s\n", "version", "print agentfence " AGENTFENCE_VERSION);
	printf("\n%s", spec_text);
	print_exit_codes(stdout, IN_ALL);
}

static void
print_command_help(enum cmd c)
{
	print_usage_line(stdout, "usage: ", c, 0);
	printf("\n");
	print_text(stdout, 0, commands[c].about);
	if (commands[c].alias)
		printf("(%s is another name for %s)\n", commands[c].alias, commands[c].name);
	printf("\noptions:\n");
	for (int i = 0; i < OPT_COUNT; i++) {
		char flag[48];

		if (!(options[i].cmds & IN(c)))
			continue;
		flag_text(flag, sizeof(flag), &options[i], 1);
		printf("  %-20s ", flag);
		print_text(stdout, 23, options[i].help);
	}
	printf("\n%s\nexamples:\n", commands[c].operands_text ? commands[c].operands_text : spec_text);
	for (const char *p = commands[c].examples, *nl; *p; p = nl + !!*nl) {
		nl = p + strcspn(p, "\n");
		if (strncmp(p, "agentfence ", 11) == 0)
			printf("  %s%.*s\n", prog, (int)(nl - p - 10), p + 10);
		else
			printf("  %.*s\n", (int)(nl - p), p);
	}
	print_exit_codes(stdout, IN(c));
}

/* --- parsing --- */

#define OPTS_MAX_CLUSTERS 64

struct opts {
	enum cmd cmd;
	const char *cluster, *templates, *outdir, *kubeconfig, *context;
	const char *clusters[OPTS_MAX_CLUSTERS];   /* every --cluster, in order */
	int nclusters;
	int json, verbose, quiet, flux;
	const char *at;         /* explain --at */
	long request_timeout_ms;
	long probe_timeout_ms, probe_wait_ms;
	int probe_waiting;      /* "waiting for the fence" was said */
	struct apply_opts ao;
	char **specs;
	int nspecs;
};

static int cmd_error(enum cmd c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "agentfence: compile: MESSAGE" and where to look */
static int
cmd_error(enum cmd c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentfence: %s: ", commands[c].name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry '%s %s --help'\n", prog, commands[c].name);
	return EXIT_USAGE;
}

static int
find_command(const char *name)
{
	for (int c = 0; c < CMD_COUNT; c++)
		if (strcmp(name, commands[c].name) == 0 ||
		    (commands[c].alias && strcmp(name, commands[c].alias) == 0))
			return c;
	return -1;
}

/* kubectl's -o words: json, yaml, wide, name, and those that take a value
 * after '=' (jsonpath=..., go-template=..., custom-columns=...) */
static int
kubectl_format(const char *arg)
{
	static const char *const words[] = {
		"json", "yaml", "wide", "name", "jsonpath", "jsonpath-file", "jsonpath-as-json",
		"go-template", "go-template-file", "template", "templatefile", "custom-columns",
		"custom-columns-file",
	};
	size_t len = strcspn(arg, "=");

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && strncmp(arg, words[i], len) == 0)
			return 1;
	return 0;
}

static int
is_folder(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The longest duration an option takes. */
#define DURATION_MAX_MS 86400000L

/* a duration option's value (duration.h: Go's form, or seconds); zero only when
 * zero_ok. 0, or the usage error's exit code. */
static int
option_duration(struct opts *o, enum opt_id id, const char *arg, int zero_ok, long *ms)
{
	int rc = duration_ms(arg, DURATION_MAX_MS, ms);

	if (rc == -1)
		return cmd_error(o->cmd, "--%s: \"%s\" is not a duration (e.g. 30s, 1m30s, 500ms, 1h)",
				 options[id].name, arg);
	if (rc < 0 || (*ms == 0 && !zero_ok))
		return cmd_error(o->cmd, "--%s: \"%s\" is out of range (more than 0%s, at most 24h)",
				 options[id].name, arg, zero_ok ? " or 0" : "");
	return 0;
}

static int
set_option(struct opts *o, enum opt_id id, char *arg)
{
	switch (id) {
	case OPT_CLUSTER:
		if (o->nclusters == OPTS_MAX_CLUSTERS)
			return cmd_error(o->cmd, "at most %d --cluster profiles", OPTS_MAX_CLUSTERS);
		o->clusters[o->nclusters++] = arg;
		o->cluster = o->clusters[0];
		break;
	case OPT_TEMPLATES:
		o->templates = arg;
		break;
	case OPT_OUTPUT:
		/* kubectl's -o is a format: a folder named json is most likely that habit */
		if (kubectl_format(arg) && !is_folder(arg)) {
			int fmt = strcmp(arg, "json") == 0 || strcmp(arg, "yaml") == 0;

			return cmd_error(o->cmd, "-o takes a folder, not a format: %s%s (for a folder "
					 "named %s, write -o ./%s)", fmt ? "use --format " : "",
					 fmt ? arg : "agentfence writes yaml or json, chosen with --format", arg, arg);
		}
		o->outdir = arg;
		break;
	case OPT_FORMAT:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "yaml") != 0)
			return cmd_error(o->cmd, "--format: \"%s\" is not yaml or json", arg);
		o->json = strcmp(arg, "json") == 0;
		break;
	case OPT_LAYOUT:
		if (strcmp(arg, "flat") != 0 && strcmp(arg, "flux") != 0)
			return cmd_error(o->cmd, "--layout: \"%s\" is not flat or flux", arg);
		o->flux = strcmp(arg, "flux") == 0;
		break;
	case OPT_KUBECONFIG:
		o->kubeconfig = arg;
		break;
	case OPT_CONTEXT:
		o->context = arg;
		break;
	case OPT_DRY_RUN:
		o->ao.dry_run = 1;
		break;
	case OPT_PRUNE:
		o->ao.prune = 1;
		break;
	case OPT_RECREATE:
		o->ao.recreate = 1;
		break;
	case OPT_WAIT:
		o->ao.wait = 1;
		break;
	case OPT_REQUEST_TIMEOUT:
		return option_duration(o, id, arg, 0, &o->request_timeout_ms);
	case OPT_TIMEOUT:
		return option_duration(o, id, arg, 0, &o->ao.wait_timeout_ms);
	case OPT_PROBE_TIMEOUT:
		return option_duration(o, id, arg, 0, &o->probe_timeout_ms);
	case OPT_PROBE_WAIT:
		/* --wait 0: one attempt, no retry */
		return option_duration(o, id, arg, 1, &o->probe_wait_ms);
	case OPT_QUIET:
		o->quiet = 1;
		break;
	case OPT_AUDIT_FORMAT:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0)
			return cmd_error(o->cmd, "--format: \"%s\" is not table or json", arg);
		o->json = strcmp(arg, "json") == 0;
		break;
	case OPT_VERBOSE:
	case OPT_PROBE_VERBOSE:
		o->verbose = 1;
		break;
	case OPT_EXPLAIN_FORMAT:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0)
			return cmd_error(o->cmd, "--format: \"%s\" is not table or json", arg);
		o->json = strcmp(arg, "json") == 0;
		break;
	case OPT_AT:
		o->at = arg;
		break;
	case OPT_HELP:
	case OPT_COUNT:
		break;
	}
	return 0;
}

/* "(it is an option of apply)" when another command takes `name` */
static const char *
elsewhere(const char *name, size_t len, char short_name, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < OPT_COUNT; i++) {
		if (short_name ? options[i].short_name != short_name
			       : strlen(options[i].name) != len || strncmp(options[i].name, name, len))
			continue;
		for (int c = 0; c < CMD_COUNT && n < size; c++)
			if (options[i].cmds & IN(c))
				n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : " (it is an option of ",
						      commands[c].name);
	}
	/* after the loop: two options of one name (--wait) make one list */
	if (n && n < size)
		snprintf(buf + n, size - n, ")");
	return buf;
}

/*
 * --layout flux: DIR as the Flux Kustomizations' spec.path, which Flux reads
 * from the repository's root: DIR must be relative and stay inside it.
 * Returns DIR without a leading ./ (its length without trailing /s in *n),
 * or NULL.
 */
static const char *
flux_path(const char *dir, size_t *n)
{
	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	*n = strlen(dir);
	while (*n > 1 && dir[*n - 1] == '/')
		(*n)--;
	if (*n == 0 || dir[0] == '/' || strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0 ||
	    strncmp(dir, "../", 3) == 0 || strstr(dir, "/../") ||
	    (*n >= 3 && strncmp(dir + *n - 3, "/..", 3) == 0) || strstr(dir, "//"))
		return NULL;
	return dir;
}

/* the option whose short name getopt_long returned */
static int
by_short(int ch)
{
	int id = 0;

	while (id < OPT_HELP && options[id].short_name != ch)
		id++;
	return id;
}

/*
 * getopt_long's arguments come from options[]. It also takes a unique
 * prefix of a long name (the start of --cluster), which a script would
 * then depend on: refused, so that a new option never breaks one.
 * Returns -1 when the options are fine, else the exit code.
 */
static int
parse_options(struct opts *o, int argc, char **argv)
{
	struct option lo[OPT_COUNT + 1];
	char shorts[2 * OPT_COUNT + 2], hint[160];
	unsigned seen = 0;
	int nl = 0, ns = 0, ch;
	size_t rel_len;

	shorts[ns++] = ':';     /* ':' for a missing value, not '?' */
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct option_def *od = &options[i];

		if (!(od->cmds & IN(o->cmd)))
			continue;
		lo[nl].name = od->name;
		lo[nl].has_arg = od->arg ? required_argument : no_argument;
		lo[nl].flag = NULL;
		lo[nl++].val = OPT_LONG + i;
		if (od->short_name) {
			shorts[ns++] = od->short_name;
			if (od->arg)
				shorts[ns++] = ':';
		}
	}
	memset(&lo[nl], 0, sizeof(lo[nl]));
	shorts[ns] = '\0';
	optind = 2;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const char *el = argv[optind - 1];
		int id = -1;

		if (ch == ':') {
			if (optopt >= OPT_LONG)
				return cmd_error(o->cmd, "option --%s needs a value (--%s %s)",
						 options[optopt - OPT_LONG].name,
						 options[optopt - OPT_LONG].name, options[optopt - OPT_LONG].arg);
			return cmd_error(o->cmd, "option -%c needs a value (-%c %s)", optopt, optopt,
					 options[by_short(optopt)].arg);
		}
		if (ch == '?' && optopt >= OPT_LONG)
			return cmd_error(o->cmd, "option --%s takes no value (given: %s)",
					 options[optopt - OPT_LONG].name, el);
		if (ch == '?' && optopt)
			return cmd_error(o->cmd, "unknown option -%c%s", optopt,
					 elsewhere("", 0, (char)optopt, hint, sizeof(hint)));
		if (ch == '?') {
			size_t len = strcspn(el, "=");

			return cmd_error(o->cmd, "unknown option %.*s%s", (int)len, el,
					 strncmp(el, "--", 2) ? "" : elsewhere(el + 2, len - 2, 0, hint, sizeof(hint)));
		}
		if (ch >= OPT_LONG) {
			size_t len;

			id = ch - OPT_LONG;
			if (options[id].arg && optarg == el && optind >= 2)
				el = argv[optind - 2];
			len = strcspn(el, "=");
			if (len != strlen(options[id].name) + 2 || strncmp(el + 2, options[id].name, len - 2))
				return cmd_error(o->cmd, "unknown option %.*s (did you mean --%s?)", (int)len, el,
						 options[id].name);
		} else {
			id = by_short(ch);
		}
		if (id == OPT_HELP) {
			print_command_help(o->cmd);
			return EXIT_OK;
		}
		if (set_option(o, (enum opt_id)id, optarg) != 0)
			return EXIT_USAGE;
		seen |= 1u << id;
	}
	o->specs = argv + optind;
	o->nspecs = argc - optind;
	for (int i = 0; i < OPT_COUNT; i++)
		if ((options[i].required & IN(o->cmd)) && !(seen & (1u << i))) {
			char flag[48];

			flag_text(flag, sizeof(flag), &options[i], 0);
			return cmd_error(o->cmd, "needs %s", flag);
		}
	if (o->cmd == CMD_CRD && o->nspecs)
		return cmd_error(o->cmd, "takes no operands (given: %s)", o->specs[0]);
	if (o->nspecs == 0 && !commands[o->cmd].operands)
		return cmd_error(o->cmd, "no SPEC given (a file, or - for standard input)");
	if (o->nclusters > 1 && !o->outdir)
		return cmd_error(o->cmd, (options[OPT_OUTPUT].cmds & IN(o->cmd))
				 ? "several --cluster profiles need -o DIR: each profile's objects go to a folder of their own, DIR/NAME (one stream would mix clusters)"
				 : "takes one --cluster profile (several are for compile -o and check)");
	if (o->flux && !o->outdir)
		return cmd_error(o->cmd, "--layout flux writes folders: it needs -o DIR");
	if (o->flux && !flux_path(o->outdir, &rel_len))
		return cmd_error(o->cmd, "--layout flux: -o %s: a folder relative to the repository's root, inside it, "
				 "as Flux reads the Kustomizations' spec.path (e.g. -o deploy/agents, run from the root)",
				 o->outdir);
	for (int i = 0; i < o->nspecs && o->nclusters > 1; i++)
		if (strcmp(o->specs[i], "-") == 0)
			return cmd_error(o->cmd, "SPEC - (standard input) is read once: with several --cluster profiles, name files");
	return -1;
}

/* Print and drop the recorded diagnostics. */
static void
print_diags(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *e = &d->items[i];
		const char *lvl = e->level == DIAG_ERROR ? "error" : "warning";

		if (e->file && e->line)
			fprintf(stderr, "%s:%d:%d: %s: %s\n", e->file, e->line, e->col, lvl, e->msg);
		else if (e->file)
			fprintf(stderr, "%s: %s: %s\n", e->file, lvl, e->msg);
		else
			fprintf(stderr, "agentfence: %s: %s\n", lvl, e->msg);
	}
	if (d->oom)
		fprintf(stderr, "agentfence: error: out of memory (some messages were lost)\n");
	diags_clear(d);
}

/* One profile's output with -o: DIR, or DIR/NAME with several profiles. */
struct target {
	char *dir;
	const char *cluster;     /* its --cluster file (NULL: the built-in profile) */
	char *name;              /* its profile's metadata.name */
	struct outdir *top;      /* flat: the folder; flux: flux.yaml's */
	struct outdir *pol, *pods;   /* flux: DIR/policies and DIR/pods */
};

struct run {
	struct opts *o;
	struct compiler c;
	struct diags d;
	struct diags cd;       /* check: the folder's differences (the specs' errors stay in d,
				* which alone stops the building of further agents) */
	struct sink out;
	struct target *t;      /* the targets (-o); t[cur] is being compiled */
	int nt, cur;
	struct buf file;       /* one agent's file for -o */
	size_t nobjects;
	size_t nagents;
	int missing;           /* check: the folder does not exist (stale) */
};

/* Objects to stdout, or (dir) to one file of the folder named `stem`.yaml or .json;
 * file:line:col is where diagnostics point. */
static int
emit_objects(struct run *r, const struct spec_agent *ag, const char *stem, struct node **objs,
	     size_t n, struct outdir *dir)
{
	struct buf *b = dir ? &r->file : &r->out.b;

	if (r->missing)
		return 0;   /* check, a folder missing: the specs are read for their errors only */
	if (dir) {
		r->file.n = 0;
		if (!r->o->json)
			buf_puts(b, OUTDIR_HEADER);
		else
			buf_puts(b, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [");
	}
	for (size_t i = 0; i < n; i++) {
		if (r->o->json) {
			buf_puts(b, r->nobjects || (dir && i) ? ",\n    " : "\n    ");
			if (emit_json(b, objs[i], 4) < 0) {
				diag_error(&r->d, ag ? ag->file : NULL, ag ? ag->line : 0, ag ? ag->col : 0,
					   "cannot write JSON (a string is not valid UTF-8)");
				return -1;
			}
		} else {
			buf_puts(b, "---\n");
			emit_yaml(b, objs[i]);
		}
		if (!dir)
			r->nobjects++;
	}
	if (b->err) {
		diag_error(&r->d, ag ? ag->file : NULL, ag ? ag->line : 0, ag ? ag->col : 0,
			   "out of memory");
		return -1;
	}
	if (dir) {
		char name[300];

		if (r->o->json)
			buf_puts(b, "\n  ]\n}\n");
		snprintf(name, sizeof(name), "%s.%s", stem, r->o->json ? "json" : "yaml");
		return outdir_add(dir, name, b->p, b->n, r->o->cmd == CMD_CHECK ? &r->cd : &r->d);
	}
	if (r->out.b.n >= SINK_SPILL)
		sink_flush(&r->out);   /* an error stays in r->out.err, for sink_commit */
	return 0;
}

/* The flux layout: an agent's Pod to DIR/pods, the rest to DIR/policies
 * (each file only when it has objects: a guard has no Pod). */
static int
emit_split(struct run *r, const struct spec_agent *ag, const char *stem, struct node **objs,
	   size_t n)
{
	struct node *pol[BUILD_MAX_OBJECTS + BUILD_MAX_GUARDS], *pods[BUILD_MAX_OBJECTS];
	size_t npol = 0, npods = 0;
	struct target *t = &r->t[r->cur];

	for (size_t i = 0; i < n; i++) {
		const struct node *k = node_map_get(objs[i], "kind");

		if (k && strcmp(k->str, "Pod") == 0)
			pods[npods++] = objs[i];
		else
			pol[npol++] = objs[i];
	}
	if (npol && emit_objects(r, ag, stem, pol, npol, t->pol) < 0)
		return -1;
	return npods ? emit_objects(r, ag, stem, pods, npods, t->pods) : 0;
}

static int
emit_any(struct run *r, const struct spec_agent *ag, const char *stem, struct node **objs,
	 size_t n)
{
	if (!r->nt)
		return emit_objects(r, ag, stem, objs, n, NULL);
	if (r->o->flux)
		return emit_split(r, ag, stem, objs, n);
	return emit_objects(r, ag, stem, objs, n, r->t[r->cur].top);
}

static int
emit_agent(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	char stem[280];

	if (((struct run *)ctx)->cur == 0)
		((struct run *)ctx)->nagents++;   /* once, however many profiles */
	snprintf(stem, sizeof(stem), "%s.%s", ag->ns, ag->name);
	return emit_any(ctx, ag, stem, objs, n);
}

/* A namespace's guard: its own file, "<ns>._guard" ('_' is in no agent name). */
static int
emit_guard(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	char stem[280];

	snprintf(stem, sizeof(stem), "%s._guard", ag->ns);
	return emit_any(ctx, ag, stem, objs, n);
}

static void
after_doc(void *ctx)
{
	print_diags(&((struct run *)ctx)->d);
	print_diags(&((struct run *)ctx)->cd);
}

/* A failed run: take back what went to a regular file. */
static void
abort_output(struct sink *s)
{
	if (sink_abort(s) < 0)
		fprintf(stderr, "agentfence: error: cannot take back the partial output: %s\n",
			strerror(errno));
}

/* "1 file missing, 2 changed" from the non-zero counts; "" when none */
static void
count_text(char *buf, size_t size, const size_t *n, const char *const *what, size_t k)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < k && len < size; i++)
		if (n[i])
			len += (size_t)snprintf(buf + len, size - len, "%s%zu %s", len ? ", " : "",
						n[i], what[i]);
}

/* The line after compile -o and check (-q: none). */
static void
print_summary(const struct run *r, int stale)
{
	struct outdir_stats sum, *st = &sum;
	const char *dir = r->o->outdir;
	char parts[160];

	if (r->o->quiet)
		return;
	memset(&sum, 0, sizeof(sum));
	for (int i = 0; i < r->nt; i++) {
		struct outdir *dirs[3] = { r->t[i].pol, r->t[i].pods, r->t[i].top };

		for (int j = 0; j < 3; j++)
			if (dirs[j]) {
				const struct outdir_stats *x = outdir_stats(dirs[j]);

				sum.files += x->files;
				sum.added += x->added;
				sum.changed += x->changed;
				sum.removed += x->removed;
				sum.unchanged += x->unchanged;
				sum.stale += x->stale;
			}
	}
	if (r->missing) {   /* check: a folder is missing */
		fprintf(stderr, "agentfence: %s is stale (missing); run agentfence compile -o %s\n",
			dir, dir);
	} else if (r->o->cmd == CMD_COMPILE) {
		static const char *const what[] = { "new", "changed", "removed", "unchanged" };
		size_t n[] = { st->added, st->changed, st->removed, st->unchanged };

		count_text(parts, sizeof(parts), n, what, 4);
		fprintf(stderr, "agentfence: %zu agent%s, %zu file%s in %s%s%s\n", r->nagents,
			r->nagents == 1 ? "" : "s", st->files, st->files == 1 ? "" : "s", dir,
			*parts ? ": " : "", parts);
	} else if (!stale) {
		fprintf(stderr, "agentfence: %s is up to date (%zu agent%s, %zu file%s)\n", dir,
			r->nagents, r->nagents == 1 ? "" : "s", st->files, st->files == 1 ? "" : "s");
	} else {
		static const char *const what[] = { "missing", "changed", "to remove" };
		size_t n[] = { st->added, st->changed, st->removed };

		count_text(parts, sizeof(parts), n, what, 3);
		if (!*parts)
			snprintf(parts, sizeof(parts), "kustomization.yaml differs");
		fprintf(stderr, "agentfence: %s is stale (%s); run agentfence compile -o %s\n", dir,
			parts, dir);
	}
}

/* DIR/sub, allocated; NULL out of memory */
static char *
path_join(const char *dir, const char *sub)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, dir);
	if (b.n && b.p[b.n - 1] != '/')
		buf_putc(&b, '/');
	buf_puts(&b, sub);
	buf_putc(&b, '\0');
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

/*
 * Open DIR (or DIR/sub) as an output folder into *out: 0, 1 when check
 * finds it missing (stale: r->missing), or -1 (errors in d).
 */
static int
open_folder(struct run *r, struct outdir **out, const char *dir, const char *sub)
{
	int check = r->o->cmd == CMD_CHECK, rc;
	char *path = sub ? path_join(dir, sub) : NULL;

	if (sub && !path) {
		diag_error(&r->d, NULL, 0, 0, "out of memory");
		return -1;
	}
	rc = outdir_open(out, path ? path : dir, check, check ? &r->cd : &r->d);
	free(path);
	if (rc == OUTDIR_MISSING) {
		r->missing = 1;   /* check: stale; the specs still decide between 1 and 4 */
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

/*
 * The folders of target t, once its profile is loaded: DIR/NAME with
 * several profiles (NAME a DNS-1123 label, no other profile's), and with
 * the flux layout DIR/policies and DIR/pods in it. 0, or -1 (errors in d).
 */
static int
open_target(struct run *r, struct target *t)
{
	const struct profile *p = &r->c.profile;
	int rc;

	if (r->nt > 1) {
		if (!p->name || !check_dns_label(p->name)) {
			diag_error(&r->d, t->cluster, 0, 0,
				   "metadata.name %s%s%s: with several --cluster profiles it names the folder %s/NAME, "
				   "so it must be a DNS-1123 label (lower case letters, digits, '-')",
				   p->name ? "\"" : "", p->name ? p->name : "is missing", p->name ? "\" is not valid" : "",
				   r->o->outdir);
			return -1;
		}
		for (struct target *u = r->t; u < t; u++)
			if (u->name && strcmp(u->name, p->name) == 0) {
				diag_error(&r->d, t->cluster, 0, 0,
					   "profile name %s is already that of %s: both would write %s/%s; give each profile its own metadata.name",
					   p->name, u->cluster, r->o->outdir, p->name);
				return -1;
			}
	}
	if (!(t->name = xstrdup(p->name ? p->name : "")) ||
	    !(t->dir = r->nt > 1 ? path_join(r->o->outdir, p->name) : xstrdup(r->o->outdir))) {
		diag_error(&r->d, NULL, 0, 0, "out of memory");
		return -1;
	}
	if ((rc = open_folder(r, &t->top, t->dir, NULL)) != 0 || !r->o->flux)
		return rc < 0 ? -1 : 0;
	if ((rc = open_folder(r, &t->pol, t->dir, "policies")) != 0)
		return rc < 0 ? -1 : 0;
	return open_folder(r, &t->pods, t->dir, "pods") < 0 ? -1 : 0;
}

/*
 * The flux layout's DIR/flux.yaml. Flux reads spec.path from the root of
 * the repository, so DIR must be relative to it, inside it.
 */
static int
emit_flux(struct run *r, struct target *t)
{
	struct node *objs[2];
	const char *dir;
	size_t n;
	int rc;

	if (!(dir = flux_path(t->dir, &n)))
		return -1;   /* parse_options() refused it */
	{
		char *rel = arena_strndup(&r->c.doc_arena, dir, n);

		if (!rel || build_flux(&r->c.doc_arena, rel, objs) < 0) {
			diag_error(&r->d, NULL, 0, 0, "out of memory");
			arena_reset(&r->c.doc_arena);
			return -1;
		}
	}
	rc = emit_objects(r, NULL, "flux", objs, 2, t->top);
	arena_reset(&r->c.doc_arena);
	return rc;
}

static void
close_targets(struct run *r, int commit)
{
	for (int i = 0; i < r->nt; i++) {
		struct target *t = &r->t[i];
		struct outdir *dirs[3] = { t->pol, t->pods, t->top };

		for (int j = 0; j < 3; j++) {
			if (dirs[j] && commit >= 0)
				outdir_finish(dirs[j], commit, &r->d);
			outdir_close(dirs[j]);
		}
		free(t->dir);
		free(t->name);
	}
	free(r->t);
	r->t = NULL;
	r->nt = 0;
}

/*
 * Commit every folder of the run, or none: all are prepared (staged,
 * flushed) first, and only then is any file moved in. Check: every
 * folder compared (its differences in cd). 0, 1 (check: stale), or -1
 * (errors in d).
 */
static int
commit_targets(struct run *r)
{
	struct diags *d = r->o->cmd == CMD_CHECK ? &r->cd : &r->d;
	int bad = 0, stale = 0, rc;

	for (int i = 0; i < r->nt; i++) {
		struct outdir *dirs[3] = { r->t[i].pol, r->t[i].pods, r->t[i].top };

		for (int j = 0; j < 3; j++)
			if (dirs[j] && outdir_prepare(dirs[j], d) < 0)
				bad = 1;
	}
	for (int i = 0; i < r->nt; i++) {
		struct outdir *dirs[3] = { r->t[i].pol, r->t[i].pods, r->t[i].top };

		for (int j = 0; j < 3; j++) {
			if (!dirs[j])
				continue;
			if ((rc = outdir_finish(dirs[j], !bad, d)) < 0)
				bad = 1;
			else if (rc > 0 || outdir_stats(dirs[j])->stale)
				stale = 1;
		}
	}
	return bad ? -1 : stale;
}

static int
cmd_compile(struct opts *o)
{
	struct run r;
	int code = EXIT_OK, check = o->cmd == CMD_CHECK, validate = o->cmd == CMD_VALIDATE;
	int invalid = check ? EXIT_CHECK_ERROR : EXIT_INVALID;
	int nprof = o->nclusters > 1 ? o->nclusters : 1;

	memset(&r, 0, sizeof(r));
	r.o = o;
	if (o->outdir) {
		if (!(r.t = xcalloc((size_t)nprof, sizeof(struct target)))) {
			diag_error(&r.d, NULL, 0, 0, "out of memory");
			goto fail;
		}
		r.nt = nprof;
	} else if (!validate) {
		sink_open(&r.out, STDOUT_FILENO);
	}
	if (o->json && !r.nt)
		buf_puts(&r.out.b, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [");
	/* each profile in turn: its folders stay open (staged, locked) to the end */
	for (r.cur = 0; r.cur < nprof; r.cur++) {
		const char *cluster = o->nclusters ? o->clusters[r.cur] : NULL;

		if (r.nt)
			r.t[r.cur].cluster = cluster;
		if (compile_open(&r.c, cluster, o->templates, !validate, &r.d) < 0 ||
		    (r.nt && open_target(&r, &r.t[r.cur]) < 0)) {
			print_diags(&r.d);
			print_diags(&r.cd);
			code = EXIT_INVALID;
			compile_close(&r.c);
			continue;
		}
		r.c.on_guard = emit_guard;
		for (int i = 0; i < o->nspecs; i++)
			compile_file(&r.c, o->specs[i], emit_agent, after_doc, &r);
		if (o->flux && !r.missing && !r.d.errors && code == EXIT_OK &&
		    emit_flux(&r, &r.t[r.cur]) < 0)
			print_diags(&r.d);
		compile_close(&r.c);
	}
	if (o->json && !r.nt)
		buf_puts(&r.out.b, r.nobjects ? "\n  ]\n}\n" : "]\n}\n");
fail:
	if (r.d.errors || code != EXIT_OK) {
		fprintf(stderr, "agentfence: %zu error%s; nothing written\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		close_targets(&r, 0);
		abort_output(&r.out);
		code = invalid;
		goto out;
	}
	if (validate)
		goto out;
	if (r.missing) {
		print_summary(&r, 1);
		code = EXIT_INVALID;
		goto out;
	}
	if (r.nt) {
		int rc = commit_targets(&r);

		print_diags(&r.d);
		print_diags(&r.cd);
		if (rc < 0)
			code = invalid;
		else if (rc > 0)
			code = EXIT_INVALID;   /* check: stale */
		if (rc >= 0)
			print_summary(&r, code != EXIT_OK);
		goto out;
	}
	if (sink_commit(&r.out) < 0) {
		fprintf(stderr, "agentfence: error: cannot write the output: %s\n",
			strerror(r.out.err));
		abort_output(&r.out);
		code = EXIT_INVALID;
	}
out:
	print_diags(&r.d);
	print_diags(&r.cd);
	close_targets(&r, -1);
	sink_close(&r.out);
	buf_free(&r.file);
	diags_free(&r.d);
	diags_free(&r.cd);
	return code;
}

struct arun {
	struct opts *o;
	struct compiler c;
	struct diags d;
	struct apply_plan *plan;
	int tty;                    /* stderr is a terminal: progress line */
	int out_tty;                /* stdout too: clear the progress line first */
	int progress_shown;
	long t0, last_progress;
};

static void
clear_progress(struct arun *r)
{
	if (r->progress_shown) {
		fputs("\r\033[K", stderr);
		r->progress_shown = 0;
	}
}

static void
on_trace(void *ctx, const char *line)
{
	struct arun *r = ctx;

	clear_progress(r);
	fprintf(stderr, "agentfence: %s\n", line);
}

static void
print_who(const struct apply_event *ev)
{
	if (ev->resource && ev->agent)
		fprintf(stderr, "%s/%s (agent %s/%s): ", ev->resource, ev->name, ev->ns, ev->agent);
	else if (ev->resource)
		fprintf(stderr, "%s/%s: ", ev->resource, ev->name);
	else if (ev->agent)
		fprintf(stderr, "agent %s/%s: ", ev->ns, ev->agent);
}

static void
on_event(void *ctx, const struct apply_event *ev)
{
	struct arun *r = ctx;
	const char *dry = ev->dry_run ? " (server dry run)" : "";
	long now;

	if (ev->type == APPLY_EV_PROGRESS) {
		now = sys_now_ms();
		/* only on a terminal, only for runs long enough to need it */
		if (!r->tty || now - r->t0 < 1000 || now - r->last_progress < 100)
			return;
		r->last_progress = now;
		fprintf(stderr, "\r\033[Kagentfence: %zu/%zu agents done", ev->done, ev->total);
		if (ev->failed)
			fprintf(stderr, ", %zu failed", ev->failed);
		r->progress_shown = 1;
		return;
	}
	if (ev->type != APPLY_EV_OBJECT || r->out_tty)
		clear_progress(r);
	switch (ev->type) {
	case APPLY_EV_OBJECT:
		printf("%s/%s %s%s\n", ev->resource, ev->name, ev->action, dry);
		fflush(stdout);
		break;
	case APPLY_EV_ERROR:
		fputs("agentfence: error: ", stderr);
		print_who(ev);
		fprintf(stderr, "%s\n", ev->message);
		if (ev->hint)
			fprintf(stderr, "agentfence: hint: %s\n", ev->hint);
		break;
	case APPLY_EV_WARNING:
		fputs("agentfence: warning: ", stderr);
		print_who(ev);
		fprintf(stderr, "%s\n", ev->message);
		break;
	case APPLY_EV_AGENT_FAILED:
		fprintf(stderr, "agentfence: error: agent %s/%s failed: %s%s\n", ev->ns, ev->agent,
			ev->message, dry);
		break;
	case APPLY_EV_PROGRESS:
		break;
	}
}

static int
plan_agent(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	struct arun *r = ctx;

	return apply_plan_add(r->plan, ag, objs, n, &r->d);
}

/* A namespace's guard, applied before any agent of that namespace. */
static int
plan_guard(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	struct arun *r = ctx;

	return apply_plan_add_guard(r->plan, ag->ns, objs, n, &r->d);
}

static void
after_plan_doc(void *ctx)
{
	print_diags(&((struct arun *)ctx)->d);
}

/*
 * Read the kubeconfig (kc: the caller releases it with kubeconfig_free)
 * and reach the server: 0 with *kp (released with kapi_close), else the
 * exit code, after saying why.
 */
static int
connect_cluster(struct arun *r, struct kubeconfig *kc, struct kapi **kp)
{
	struct opts *o = r->o;
	struct kapi_opts ko;
	const char *version = NULL;

	*kp = NULL;
	if (kubeconfig_load(kc, o->kubeconfig, o->context, &r->d) < 0) {
		print_diags(&r->d);
		fprintf(stderr, "agentfence: nothing sent to the cluster\n");
		return o->cmd == CMD_DIFF || o->cmd == CMD_AUDIT ? EXIT_CLUSTER : EXIT_INVALID;
	}
	print_diags(&r->d);
	if (o->verbose) {
		if (kc->in_cluster)
			fprintf(stderr, "agentfence: in-cluster service account, server %s\n", kc->server);
		else
			fprintf(stderr, "agentfence: context %s from %s: cluster %s at %s, user %s (%s%s%s)\n",
				kc->context, kc->source, kc->cluster, kc->server, kc->user ? kc->user : "none",
				kubeconfig_auth_kind(kc), kc->exec ? " " : "",
				kc->exec ? kc->exec->command : "");
	}
	memset(&ko, 0, sizeof(ko));
	ko.request_timeout_ms = o->request_timeout_ms;
	if (o->verbose) {
		ko.trace = on_trace;
		ko.trace_ctx = r;
	}
	if (kapi_open(kp, kc, &ko, &r->d) < 0 || kapi_check(*kp, &version, &r->d) < 0) {
		print_diags(&r->d);
		fprintf(stderr, "agentfence: nothing %s\n", o->cmd == CMD_DIFF ? "compared" :
			o->cmd == CMD_AUDIT ? "read" : "applied");
		return EXIT_CLUSTER;
	}
	if (o->verbose)
		fprintf(stderr, "agentfence: server version %s\n", version);
	return 0;
}

static int
run_cluster(struct arun *r)
{
	struct opts *o = r->o;
	struct kubeconfig kc;
	struct kapi *k = NULL;
	struct apply_summary s;
	int del = o->cmd == CMD_DELETE, code;

	if ((code = connect_cluster(r, &kc, &k)) != 0)
		goto out;
	r->tty = isatty(2);
	r->out_tty = isatty(1);
	r->t0 = sys_now_ms();
	if (del)
		apply_delete(r->plan, k, &o->ao, on_event, r, &s);
	else
		apply_run(r->plan, k, &o->ao, on_event, r, &s);
	clear_progress(r);
	print_diags(&r->d);   /* a failed credential refresh */
	if (del) {
		fprintf(stderr, "agentfence: %zu agent%s: %zu deleted, %zu failed%s\n", s.agents,
			s.agents == 1 ? "" : "s", s.applied, s.failed,
			o->ao.dry_run ? " (server dry run)" : "");
	} else {
		fprintf(stderr, "agentfence: %zu agent%s: %zu applied, %zu failed", s.agents,
			s.agents == 1 ? "" : "s", s.applied, s.failed);
		if (o->ao.prune)
			fprintf(stderr, "; %zu pruned", s.pruned);
		if (s.prune_failed)
			fprintf(stderr, ", %zu could not be pruned", s.prune_failed);
		fprintf(stderr, "%s\n", o->ao.dry_run ? " (server dry run)" : "");
	}
	code = s.errors ? EXIT_CLUSTER : EXIT_OK;
out:
	kapi_close(k);
	kubeconfig_free(&kc);
	return code;
}

struct dview {
	struct arun *r;
	struct difftool t;
};

/* One object's two sides into the folders; a note when the server could not merge it. */
static int
on_diff_obj(void *ctx, const struct diff_obj *o)
{
	struct dview *v = ctx;

	if (o->note)
		fprintf(stderr, "agentfence: warning: %s: %s\n", o->file, o->note);
	return difftool_add(&v->t, o->file, o->live, o->live_len, o->merged, o->merged_len,
			    &v->r->d) < 0;
}

/* `agentfence diff`: 0 the same, 1 different, 3 an error. */
static int
run_diff(struct arun *r)
{
	struct kubeconfig kc;
	struct kapi *k = NULL;
	struct dview v;
	const char *cmd = getenv("AGENTFENCE_EXTERNAL_DIFF"), *var = "AGENTFENCE_EXTERNAL_DIFF";
	int code, failed, rc = -1;

	memset(&v, 0, sizeof(v));
	v.r = r;
	if ((code = connect_cluster(r, &kc, &k)) != 0)
		goto out;
	if (!cmd || !*cmd) {
		cmd = getenv("KUBECTL_EXTERNAL_DIFF");
		var = "KUBECTL_EXTERNAL_DIFF";
	}
	failed = difftool_open(&v.t, &r->d) < 0 || diff_run(r->plan, k, on_diff_obj, &v, &r->d) < 0;
	print_diags(&r->d);
	/* what could be read is shown even when an object failed */
	if (v.t.live[0] && v.t.merged[0]) {
		fflush(stdout);
		rc = difftool_run(&v.t, cmd, var, &r->d);
		print_diags(&r->d);
	}
	code = failed || rc < 0 ? EXIT_CLUSTER : rc ? EXIT_INVALID : EXIT_OK;
out:
	difftool_close(&v.t);
	kapi_close(k);
	kubeconfig_free(&kc);
	return code;
}

static int
cmd_apply(struct opts *o)
{
	struct arun r;
	int code = o->cmd == CMD_DIFF ? EXIT_CLUSTER : EXIT_INVALID;

	/* every spec is read and checked before anything is sent */
	memset(&r, 0, sizeof(r));
	r.o = o;
	if (apply_plan_new(&r.plan) < 0) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		return code;
	}
	if (compile_open(&r.c, o->cluster, o->templates, 1, &r.d) == 0) {
		r.c.on_guard = plan_guard;
		for (int i = 0; i < o->nspecs; i++)
			compile_file(&r.c, o->specs[i], plan_agent, after_plan_doc, &r);
	}
	print_diags(&r.d);
	compile_close(&r.c);
	if (r.d.errors) {
		fprintf(stderr, "agentfence: %zu error%s; nothing sent to the cluster\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		goto out;
	}
	code = o->cmd == CMD_DIFF ? run_diff(&r) : run_cluster(&r);
out:
	apply_plan_free(r.plan);
	diags_free(&r.d);
	return code;
}

/* --- audit --- */

struct aurun {
	struct opts *o;
	size_t n;
};

static void
json_str(const char *s)
{
	json_t *j;
	char *t;

	if (!s) {
		fputs("null", stdout);
		return;
	}
	j = json_string(s);   /* NULL: not UTF-8 (or out of memory) */
	t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	fputs(t ? t : "\"\"", stdout);
	free(t);
	json_decref(j);
}

static void
on_finding(void *ctx, const struct audit_finding *f)
{
	struct aurun *a = ctx;
	char obj[800];

	snprintf(obj, sizeof(obj), "%s %s%s%s", f->okind, f->ons && *f->ons ? f->ons : "",
		 f->ons && *f->ons ? "/" : "", f->oname);
	if (a->o->json) {
		printf("%s\n    {\"finding\": ", a->n ? "," : "");
		json_str(audit_kind_name(f->kind));
		printf(", \"namespace\": ");
		json_str(f->ns);
		printf(", \"pod\": ");
		json_str(f->pod);
		printf(", \"object\": {\"kind\": ");
		json_str(f->okind);
		printf(", \"namespace\": ");
		json_str(f->ons && *f->ons ? f->ons : NULL);
		printf(", \"name\": ");
		json_str(f->oname);
		printf("}, \"rule\": ");
		json_str(f->rule);
		printf(", \"detail\": ");
		json_str(f->detail);
		printf(", \"reaches\": ");
		json_str(f->reaches);
		printf("}");
	} else {
		char pod[300];

		if (!a->n)
			printf("%-14s %-34s %-52s %s\n", "FINDING", "AGENT POD", "OBJECT", "RULE: DETAIL");
		snprintf(pod, sizeof(pod), "%s%s%s", f->ns ? f->ns : "-", f->pod ? "/" : "",
			 f->pod ? f->pod : "");
		printf("%-14s %-34s %-52s %s%s%s%s%s\n", audit_kind_name(f->kind), pod, obj,
		       f->rule ? f->rule : "", f->rule ? ": " : "", f->detail ? f->detail : "",
		       f->reaches ? " -> reaches " : "", f->reaches ? f->reaches : "");
	}
	a->n++;
}

static void
on_audit_note(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "agentfence: %s\n", line);
}

/* `agentfence audit`: 0 clean, 1 findings, 3 an error (invalid input, the cluster unread). */
static int
cmd_audit(struct opts *o)
{
	struct arun r;
	struct aurun a = { o, 0 };
	struct kubeconfig kc;
	struct kapi *k = NULL;
	struct audit_opts ao;
	struct audit_summary s;
	int code = EXIT_CLUSTER, opened = 0;

	memset(&r, 0, sizeof(r));
	memset(&kc, 0, sizeof(kc));
	r.o = o;
	if (apply_plan_new(&r.plan) < 0) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		return EXIT_CLUSTER;
	}
	/* the compiler stays open: its profile says which guards to look for */
	if (compile_open(&r.c, o->cluster, o->templates, 1, &r.d) == 0) {
		opened = 1;
		r.c.on_guard = plan_guard;
		for (int i = 0; i < o->nspecs; i++)
			compile_file(&r.c, o->specs[i], plan_agent, after_plan_doc, &r);
	}
	print_diags(&r.d);
	if (r.d.errors || !opened) {
		fprintf(stderr, "agentfence: %zu error%s; nothing read from the cluster\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		goto out;
	}
	if ((code = connect_cluster(&r, &kc, &k)) != 0)
		goto out;
	memset(&ao, 0, sizeof(ao));
	ao.plan = o->nspecs ? r.plan : NULL;
	ao.profile = &r.c.profile;
	ao.finding = on_finding;
	ao.note = o->verbose ? on_audit_note : NULL;
	ao.ctx = &a;
	if (o->json)
		printf("{\n  \"apiVersion\": \"agentfence.dev/v1alpha1\",\n  \"kind\": \"AuditReport\",\n"
		       "  \"findings\": [");
	if (audit_run(k, &ao, &s) < 0) {
		if (o->json)
			printf("%s],\n  \"error\": ", a.n ? "\n  " : "");
		if (o->json) {
			json_str(s.why);
			printf("\n}\n");
		}
		print_diags(&r.d);
		fprintf(stderr, "agentfence: error: %s\nagentfence: the audit is incomplete\n", s.why);
		code = EXIT_CLUSTER;
		goto out;
	}
	if (o->json)
		printf("%s],\n  \"summary\": {\"namespaces\": %zu, \"policies\": %zu, \"pods\": %zu, "
		       "\"agentPods\": %zu, \"findings\": %zu}\n}\n", a.n ? "\n  " : "", s.namespaces,
		       s.policies, s.pods, s.agent_pods, s.findings);
	fprintf(stderr, "agentfence: audit: %zu agent Pod%s of %zu, %zu polic%s, %zu namespace%s: "
		"%zu finding%s\n", s.agent_pods, s.agent_pods == 1 ? "" : "s", s.pods, s.policies,
		s.policies == 1 ? "y" : "ies", s.namespaces, s.namespaces == 1 ? "" : "s", s.findings,
		s.findings == 1 ? "" : "s");
	code = s.findings ? EXIT_FINDINGS : EXIT_OK;
out:
	fflush(stdout);
	kapi_close(k);
	kubeconfig_free(&kc);
	compile_close(&r.c);
	apply_plan_free(r.plan);
	diags_free(&r.d);
	return code;
}

static const char *
env_get(const char *name)
{
	return getenv(name);
}

/* Before a retry: say what is still open, once. */
static void
on_probe_round(void *ctx, const struct probe_set *s, size_t reachable)
{
	struct opts *o = ctx;

	if (reachable && o->probe_wait_ms && !o->probe_waiting) {
		o->probe_waiting = 1;
		fprintf(stderr, "agentfence probe: %zu of %zu destinations reachable; waiting up to %ldms for the fence\n",
			reachable, s->n, o->probe_wait_ms);
	}
}

/* `agentfence probe`: the exit code says whether the fence holds. */
static int
cmd_probe(struct opts *o)
{
	struct probe_set s;
	const char *bad = NULL;
	size_t reachable;
	long t0;
	int rc, code = EXIT_USAGE;

	memset(&s, 0, sizeof(s));
	if ((rc = probe_add_catalog(&s)) < 0) {
		fprintf(stderr, "agentfence probe: error: the built-in destinations: %s\n", probe_strerror(rc));
		goto out;
	}
	for (int i = 0; i < o->nspecs; i++)
		if ((rc = probe_add(&s, o->specs[i])) < 0) {
			if (rc == PROBE_E_NOMEM)
				fprintf(stderr, "agentfence probe: error: out of memory\n");
			else
				cmd_error(o->cmd, "\"%s\": %s", o->specs[i], probe_strerror(rc));
			goto out;
		}
	if ((rc = probe_add_env(&s, env_get, &bad)) < 0 && rc == PROBE_E_NOMEM) {
		fprintf(stderr, "agentfence probe: error: out of memory\n");
		goto out;
	}
	if (rc < 0) {
		cmd_error(o->cmd, "$%s=\"%s\": %s", bad, getenv(bad), probe_strerror(rc));
		goto out;
	}
	t0 = sys_now_ms();
	reachable = probe_run(&s, o->probe_timeout_ms, o->probe_wait_ms, 1000, on_probe_round, o);
	for (size_t i = 0; i < s.n; i++) {
		const struct probe_target *t = &s.t[i];

		if (!t->reachable && !o->verbose)
			continue;
		fprintf(stderr, "agentfence probe: %s: %s%s%s%s", t->reachable ? "reachable" : "unreachable",
			t->text, *t->label ? " (" : "", t->label, *t->label ? ")" : "");
		if (o->verbose)
			fprintf(stderr, ": %s", t->err == 0 ? "connected" : t->err == ETIMEDOUT ?
				"no answer in time" : strerror(t->err));
		fputc('\n', stderr);
	}
	if (reachable) {
		fprintf(stderr, "agentfence probe: %zu of %zu destinations reachable after %ldms: the fence is not in place\n",
			reachable, s.n, sys_now_ms() - t0);
		code = EXIT_INVALID;
	} else {
		fprintf(stderr, "agentfence probe: all %zu destinations unreachable\n", s.n);
		code = EXIT_OK;
	}
out:
	probe_set_free(&s);
	return code;
}

/*
 * --- man pages (mdoc) and shell completion: the tables above in other forms ---
 * `agentfence __man [CMD]` (hidden; the Makefile runs it into build/man/) and
 * `agentfence completion SHELL`. Nothing here holds text of its own about an
 * option or a command: a new row in a table appears in every output.
 */
#ifndef AGENTFENCE_DATE
#define AGENTFENCE_DATE "December 1, 2026"      /* the Makefile's DATE: mdoc's form */
#endif

/* What an argument completes to, from its name in the table. */
enum arg_kind { ARG_WORD, ARG_FILE, ARG_DIR, ARG_LIST };

static enum arg_kind
arg_kind(const char *arg)
{
	if (strchr(arg, '|'))
		return ARG_LIST;        /* yaml|json: one of these words */
	if (strstr(arg, "DIR"))
		return ARG_DIR;
	if (strstr(arg, "FILE") || strstr(arg, "PROFILE") || strstr(arg, "SPEC"))
		return ARG_FILE;
	return ARG_WORD;                /* free text: nothing to offer */
}

/* a command's operand word: SPEC... -> SPEC, [TARGET]... -> TARGET */
static const char *
operand_name(enum cmd c, int *len)
{
	const char *w = commands[c].operands ? commands[c].operands : "SPEC...";

	w += *w == '[';
	*len = (int)strcspn(w, "[].");
	return w;
}

/*
 * The summary of a help text, as the length of its prefix: up to the first
 * ';' or ": " outside parentheses, without a trailing '(' clause left open.
 * Its '\n' are read as spaces.
 */
static int
summary_len(const char *t)
{
	int depth = 0, n = 0, open = -1;

	for (; t[n]; n++) {
		if (t[n] == '(' && depth++ == 0)
			open = n;
		else if (t[n] == ')' && depth > 0)
			depth--;
		else if (!depth && (t[n] == ';' || (t[n] == ':' && (t[n + 1] == ' ' || t[n + 1] == '\n' || !t[n + 1]))))
			break;
	}
	if (depth)
		n = open;
	while (n > 0 && strchr(" \n,:", t[n - 1]))
		n--;
	return n;
}

/* t's first n bytes, '\n' as a space, and `esc` characters after a backslash */
static void
put_escaped(const char *t, int n, const char *esc, const char *quote)
{
	for (int i = 0; i < n; i++) {
		if (t[i] == '\n')
			putchar(' ');
		else if (quote && t[i] == quote[0])
			fputs(quote + 1, stdout);
		else {
			if (strchr(esc, t[i]))
				putchar('\\');
			putchar(t[i]);
		}
	}
}

/* --- mdoc --- */

/* a word on a macro line: \& before one that a macro would take for its name */
static void
man_word(const char *w, int n)
{
	if (n >= 2 && n <= 3 && w[0] >= 'A' && w[0] <= 'Z')
		fputs("\\&", stdout);
	put_escaped(w, n, "", "\\\\e");
}

/* text lines: one sentence per line, as mdoc wants, of 80 bytes at most */
static void
man_text(const char *t)
{
	int col = 0;

	while (*t) {
		int n = (int)strcspn(t, " \n");

		if (!n) {
			t++;
			continue;
		}
		if (col && col + 1 + n > 80) {
			putchar('\n');
			col = 0;
		}
		if (col)
			col += putchar(' ') != EOF;
		if (!col && (*t == '.' || *t == '\''))
			col += fputs("\\&", stdout) != EOF ? 2 : 0;
		put_escaped(t, n, "", "\\\\e");
		col += n;
		if (n >= 4 && (strncmp(t + n - 4, "e.g.", 4) == 0 || strncmp(t + n - 4, "i.e.", 4) == 0)) {
			fputs("\\&", stdout);
			col += 2;
		} else if (strchr(".?!", t[n - 1]) || (n >= 2 && t[n - 1] == ')' && t[n - 2] == '.')) {
			putchar('\n');
			col = 0;
		}
		t += n;
	}
	if (col)
		putchar('\n');
}

static void
man_synopsis(enum cmd c)
{
	int n;
	const char *w = operand_name(c, &n);

	printf(".Nm agentfence\n.Cm %s\n", commands[c].name);
	for (int req = 0; req < 2; req++)
		for (int i = 0; i < OPT_HELP; i++) {
			if (!(options[i].cmds & IN(c)) || !(options[i].required & IN(c)) != !req)
				continue;
			printf("%s", req ? "" : ".Op ");
			printf("%s", req ? ".Fl " : "Fl ");
			if (options[i].short_name)
				printf("%c", options[i].short_name);
			else
				printf("-%s", options[i].name);
			if (options[i].arg) {
				fputs(" Ar ", stdout);
				man_word(options[i].arg, (int)strlen(options[i].arg));
			}
			putchar('\n');
		}
	if (n == 0)
		return;   /* "": takes none */
	printf("%s", commands[c].operands && commands[c].operands[0] == '[' ? ".Op Ar " : ".Ar ");
	man_word(w, n);
	printf("%s\n", strstr(w, "...") ? " ..." : "");
}

static void
man_exit_codes(unsigned cmds)
{
	printf(".Sh EXIT STATUS\n.Bl -tag -width Ds\n");
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		if (exit_codes[i].cmds & cmds) {
			printf(".It %d\n", exit_codes[i].code);
			man_text(exit_codes[i].text);
		}
	printf(".El\n");
}

/* the page of `agentfence` (c < 0) or of `agentfence CMD` */
static void
man_page(int c)
{
	int order[CMD_COUNT] = { 0 };

	printf(".\\\" SPDX-License-Identifier: Apache-2.0\n"
	       ".\\\" Generated by agentfence __man from the tables in compiler/main.c.\n"
	       ".Dd " AGENTFENCE_DATE "\n");
	if (c < 0) {
		printf(".Dt AGENTFENCE 1\n.Os\n.Sh NAME\n.Nm agentfence\n"
		       ".Nd compile agent-isolation specs into Kubernetes objects\n.Sh SYNOPSIS\n");
		for (int i = 0; i < CMD_COUNT; i++)
			man_synopsis((enum cmd)i);
		printf(".Nm\n.Cm help\n.Op Ar CMD\n.Nm\n.Cm version\n.Sh DESCRIPTION\n");
		man_text(intro_text);
		man_text(spec_text);
		printf(".Pp\nInstalled as\n.Nm kubectl-agentfence\n"
		       "(a link to it), it is also the kubectl plugin\n.Ql kubectl agentfence .\n"
		       ".Pp\nThe commands:\n.Bl -tag -width Ds\n");
		for (int i = 0; i < CMD_COUNT; i++) {
			printf(".It Cm %s\n", commands[i].name);
			man_text(commands[i].about);
			printf("See\n.Xr agentfence-%s 1 .\n", commands[i].name);
		}
		printf(".It Cm help Op Ar CMD\nthis text, or the usage, options and examples of CMD\n"
		       ".It Cm version\nprint the version\n.El\n");
		man_exit_codes(IN_ALL);
		printf(".Sh SEE ALSO\n");
		for (int i = 0; i < CMD_COUNT; i++) {   /* in name order, as mdoc wants */
			int j = i;

			for (; j > 0 && strcmp(commands[order[j - 1]].name, commands[i].name) > 0; j--)
				order[j] = order[j - 1];
			order[j] = i;
		}
		for (int i = 0; i < CMD_COUNT; i++)
			printf(".Xr agentfence-%s 1%s\n", commands[order[i]].name, i + 1 < CMD_COUNT ? " ," : "");
		return;
	}
	printf(".Dt AGENTFENCE-");
	for (const char *p = commands[c].name; *p; p++)
		putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	printf(" 1\n.Os\n.Sh NAME\n.Nm agentfence-%s\n.Nd ", commands[c].name);
	put_escaped(commands[c].about, summary_len(commands[c].about), "", "\\\\e");
	printf("\n.Sh SYNOPSIS\n");
	man_synopsis((enum cmd)c);
	printf(".Sh DESCRIPTION\n");
	man_text(commands[c].about);
	if (commands[c].alias)
		printf(".Pp\n.Cm %s\nis another name for\n.Cm %s .\n", commands[c].alias, commands[c].name);
	printf(".Pp\n");
	man_text(commands[c].operands_text ? commands[c].operands_text : spec_text);
	printf(".Pp\nThe options are as follows:\n.Bl -tag -width Ds\n");
	for (int i = 0; i < OPT_COUNT; i++) {
		if (!(options[i].cmds & IN(c)))
			continue;
		printf(".It ");
		if (options[i].short_name)
			printf("Fl %c , ", options[i].short_name);
		printf("Fl -%s", options[i].name);
		if (options[i].arg) {
			fputs(" Ar ", stdout);
			man_word(options[i].arg, (int)strlen(options[i].arg));
		}
		putchar('\n');
		man_text(options[i].help);
	}
	printf(".El\n");
	man_exit_codes(IN(c));
	printf(".Sh EXAMPLES\n.Bd -literal -offset indent\n");
	for (const char *p = commands[c].examples, *nl; *p; p = nl + !!*nl) {
		nl = p + strcspn(p, "\n");
		if (*p == '.' || *p == '\'')
			fputs("\\&", stdout);
		put_escaped(p, (int)(nl - p), "", "\\\\e");
		putchar('\n');
	}
	printf(".Ed\n.Sh SEE ALSO\n.Xr agentfence 1\n");
}

/* `agentfence __man`: agentfence(1); __man CMD: agentfence-CMD(1); __man --list: their names */
static int
cmd_man(int argc, char **argv)
{
	int c = -1;

	if (argc == 3 && strcmp(argv[2], "--list") == 0) {
		printf("agentfence\n");
		for (c = 0; c < CMD_COUNT; c++)
			printf("agentfence-%s\n", commands[c].name);
		return EXIT_OK;
	}
	if (argc > 3 || (argc == 3 && (c = find_command(argv[2])) < 0)) {
		fprintf(stderr, "agentfence: usage: agentfence __man [--list | CMD]\n");
		return EXIT_USAGE;
	}
	man_page(c);
	return EXIT_OK;
}

/* --- completion --- */

/* the command names, separated by spaces, then help and version */
static void
put_command_names(void)
{
	for (int c = 0; c < CMD_COUNT; c++)
		printf("%s ", commands[c].name);
	printf("help version");
}

/* an argument's choices yaml|json as "yaml json" */
static void
put_choices(const char *arg, int n)
{
	for (int i = 0; i < n; i++)
		putchar(arg[i] == '|' ? ' ' : arg[i]);
}

static void
complete_bash(void)
{
	printf("# bash completion for agentfence, generated by `agentfence completion bash`\n"
	       "_agentfence()\n{\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts= args=\n"
	       "\tCOMPREPLY=()\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W '");
	put_command_names();
	printf("' -- \"$cur\"))\n\t\treturn\n\tfi\n\tcase ${COMP_WORDS[1]} in\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		int n;
		const char *w = operand_name((enum cmd)c, &n);

		printf("\t%s)\n\t\tcase $prev in\n", commands[c].name);
		for (int i = 0; i < OPT_COUNT; i++) {
			const struct option_def *od = &options[i];

			if (!(od->cmds & IN(c)) || !od->arg)
				continue;
			printf("\t\t");
			if (od->short_name)
				printf("-%c|", od->short_name);
			printf("--%s) ", od->name);
			switch (arg_kind(od->arg)) {
			case ARG_FILE: printf("COMPREPLY=($(compgen -f -- \"$cur\"))"); break;
			case ARG_DIR: printf("COMPREPLY=($(compgen -d -- \"$cur\"))"); break;
			case ARG_LIST:
				printf("COMPREPLY=($(compgen -W '");
				put_choices(od->arg, (int)strlen(od->arg));
				printf("' -- \"$cur\"))");
				break;
			case ARG_WORD: printf("COMPREPLY=()"); break;
			}
			printf("; return ;;\n");
		}
		printf("\t\tesac\n\t\topts='");
		for (int i = 0, sp = 0; i < OPT_COUNT; i++) {
			if (!(options[i].cmds & IN(c)))
				continue;
			if (options[i].short_name)
				printf("%s-%c", sp++ ? " " : "", options[i].short_name);
			printf("%s--%s", sp++ ? " " : "", options[i].name);
		}
		printf("'\n\t\targs='");
		switch (arg_kind(w)) {
		case ARG_FILE: printf("-f"); break;
		case ARG_DIR: printf("-d"); break;
		case ARG_LIST: put_choices(w, n); break;
		case ARG_WORD: break;
		}
		printf("' ;;\n");
	}
	printf("\thelp)\n\t\t[ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W '");
	for (int c = 0; c < CMD_COUNT; c++)
		printf("%s%s", c ? " " : "", commands[c].name);
	printf("' -- \"$cur\"))\n\t\treturn ;;\n\t*) return ;;\n\tesac\n"
	       "\tcase $cur in\n"
	       "\t-*) COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")) ;;\n"
	       "\t*) case $args in\n"
	       "\t\t-f|-d) COMPREPLY=($(compgen $args -- \"$cur\")) ;;\n"
	       "\t\t?*) COMPREPLY=($(compgen -W \"$args\" -- \"$cur\")) ;;\n"
	       "\t\tesac ;;\n"
	       "\tesac\n}\n"
	       "complete -o filenames -F _agentfence agentfence kubectl-agentfence\n");
}

/* a description in a zsh _arguments spec or _describe item, inside '...' */
static void
zsh_desc(const char *t)
{
	put_escaped(t, summary_len(t), "[]:\\", "''\\''");
}

static void
complete_zsh(void)
{
	printf("#compdef agentfence kubectl-agentfence\n"
	       "# zsh completion for agentfence, generated by `agentfence completion zsh`\n\n"
	       "_agentfence() {\n"
	       "\tlocal curcontext=$curcontext\n"
	       "\tlocal -a cmds\n"
	       "\tif (( CURRENT == 2 )); then\n\t\tcmds=(\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		printf("\t\t\t'%s:", commands[c].name);
		zsh_desc(commands[c].about);
		printf("'\n");
	}
	printf("\t\t\t'help:the usage of agentfence or of a command'\n"
	       "\t\t\t'version:print the version'\n"
	       "\t\t)\n\t\t_describe -t commands 'agentfence command' cmds\n\t\treturn\n\tfi\n"
	       "\tshift words\n\t(( CURRENT-- ))\n"
	       "\tcurcontext=${curcontext%%:*:*}:agentfence-$words[1]:\n"
	       "\tcase $words[1] in\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		int n;
		const char *w = operand_name((enum cmd)c, &n);

		printf("\t%s)\n\t\t_arguments -s -S", commands[c].name);
		for (int i = 0; i < OPT_COUNT; i++) {
			const struct option_def *od = &options[i];

			if (!(od->cmds & IN(c)))
				continue;
			if (od->short_name)
				printf(" \\\n\t\t\t'(-%c --%s)'{-%c,--%s}'[", od->short_name, od->name,
				       od->short_name, od->name);
			else
				printf(" \\\n\t\t\t'--%s[", od->name);
			zsh_desc(od->help);
			putchar(']');
			if (od->arg) {
				printf(":%s:", od->arg);
				switch (arg_kind(od->arg)) {
				case ARG_FILE: printf("_files"); break;
				case ARG_DIR: printf("_files -/"); break;
				case ARG_LIST:
					putchar('(');
					put_choices(od->arg, (int)strlen(od->arg));
					putchar(')');
					break;
				case ARG_WORD: printf(" "); break;
				}
			}
			putchar('\'');
		}
		printf(" \\\n\t\t\t'%s:%.*s:", strstr(w, "...") ? "*" : "", n, w);
		switch (arg_kind(w)) {
		case ARG_FILE: printf("_files"); break;
		case ARG_DIR: printf("_files -/"); break;
		case ARG_LIST: putchar('('); put_choices(w, n); putchar(')'); break;
		case ARG_WORD: printf(" "); break;
		}
		printf("'\n\t\t;;\n");
	}
	printf("\thelp)\n\t\t_arguments ':command:(");
	for (int c = 0; c < CMD_COUNT; c++)
		printf("%s%s", c ? " " : "", commands[c].name);
	printf(")'\n\t\t;;\n\tesac\n}\n\n"
	       "if [ \"$funcstack[1]\" = _agentfence ]; then\n"
	       "\t_agentfence \"$@\"\n"
	       "else\n"
	       "\tcompdef _agentfence agentfence kubectl-agentfence\n"
	       "fi\n");
}

static void
complete_fish(void)
{
	printf("# fish completion for agentfence, generated by `agentfence completion fish`\n"
	       "function __agentfence_cmd\n"
	       "\tset -l w (commandline -opc)\n"
	       "\ttest (count $w) -ge 2; and contains -- $w[2] $argv\n"
	       "end\n"
	       "complete -c agentfence -f\n"
	       "complete -c kubectl-agentfence -w agentfence\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		printf("complete -c agentfence -n '__fish_is_nth_token 1' -a %s -d '", commands[c].name);
		put_escaped(commands[c].about, summary_len(commands[c].about), "\\'", NULL);
		printf("'\n");
	}
	printf("complete -c agentfence -n '__fish_is_nth_token 1' -a help -d 'the usage of agentfence or of a command'\n"
	       "complete -c agentfence -n '__fish_is_nth_token 1' -a version -d 'print the version'\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		int n;
		const char *w = operand_name((enum cmd)c, &n);

		for (int i = 0; i < OPT_COUNT; i++) {
			const struct option_def *od = &options[i];

			if (!(od->cmds & IN(c)))
				continue;
			printf("complete -c agentfence -n '__agentfence_cmd %s'", commands[c].name);
			if (od->short_name)
				printf(" -s %c", od->short_name);
			printf(" -l %s", od->name);
			if (od->arg)
				switch (arg_kind(od->arg)) {
				case ARG_FILE: printf(" -r -F"); break;
				case ARG_DIR: printf(" -x -a '(__fish_complete_directories)'"); break;
				case ARG_LIST:
					printf(" -x -a '");
					put_choices(od->arg, (int)strlen(od->arg));
					putchar('\'');
					break;
				case ARG_WORD: printf(" -x"); break;
				}
			printf(" -d '");
			put_escaped(od->help, summary_len(od->help), "\\'", NULL);
			printf("'\n");
		}
		printf("complete -c agentfence -n '__agentfence_cmd %s'", commands[c].name);
		switch (arg_kind(w)) {
		case ARG_FILE: printf(" -F\n"); break;
		case ARG_DIR: printf(" -a '(__fish_complete_directories)'\n"); break;
		case ARG_LIST: printf(" -a '"); put_choices(w, n); printf("'\n"); break;
		case ARG_WORD: printf(" -x\n"); break;
		}
	}
	printf("complete -c agentfence -n '__agentfence_cmd help; and __fish_is_nth_token 2' -a '");
	for (int c = 0; c < CMD_COUNT; c++)
		printf("%s%s", c ? " " : "", commands[c].name);
	printf("'\n");
}

/* `agentfence completion bash|zsh|fish` */
static int
cmd_completion(const struct opts *o)
{
	if (o->nspecs != 1)
		return cmd_error(CMD_COMPLETION, "needs one shell: bash, zsh or fish");
	if (strcmp(o->specs[0], "bash") == 0)
		complete_bash();
	else if (strcmp(o->specs[0], "zsh") == 0)
		complete_zsh();
	else if (strcmp(o->specs[0], "fish") == 0)
		complete_fish();
	else
		return cmd_error(CMD_COMPLETION, "\"%s\" is not bash, zsh or fish", o->specs[0]);
	return EXIT_OK;
}

/* `agentfence crd`: the CRDs on stdout */
static int
cmd_crd(const struct opts *o)
{
	struct buf b = BUF_INIT;
	int code = EXIT_OK;

	if (crd_write(&b, o->json) < 0) {
		fprintf(stderr, "agentfence: error: crd: out of memory\n");
		code = EXIT_INVALID;
	} else if (fwrite(b.p, 1, b.n, stdout) != b.n || fflush(stdout) != 0) {
		fprintf(stderr, "agentfence: error: cannot write the output: %s\n", strerror(errno));
		code = EXIT_INVALID;
	}
	buf_free(&b);
	return code;
}

/* --- explain --- */

struct erun {
	struct explain e;
	struct diags d;
};

static int
explain_agent_cb(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	return explain_add(&((struct erun *)ctx)->e, ag, objs, n, 0);
}

static int
explain_guard_cb(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	return explain_add(&((struct erun *)ctx)->e, ag, objs, n, 1);
}

static void
after_explain_doc(void *ctx)
{
	print_diags(&((struct erun *)ctx)->d);
}

/* "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:443" -> address and port (0: none) */
static int
parse_at(const char *s, struct cidr *addr, unsigned *port)
{
	const char *colon = strrchr(s, ':'), *end = s + strlen(s);
	size_t skip = 0;

	*port = 0;
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -1;
		skip = 1;
		colon = rb[1] ? rb + 1 : NULL;
		end = rb;
	} else if (colon && strchr(s, ':') != colon) {
		colon = NULL;   /* a bare IPv6 address */
	}
	if (colon) {
		char *e;
		long v;

		errno = 0;
		v = strtol(colon + 1, &e, 10);
		if (errno || e == colon + 1 || *e || v < 1 || v > 65535)
			return -1;
		*port = (unsigned)v;
		if (!skip)
			end = colon;
	}
	return cidr_parse_addr(s + skip, (size_t)(end - s - (long)skip), addr) == CIDR_OK ? 0 : -1;
}

/* `agentfence explain`: compile in process, evaluate what was emitted. */
static int
cmd_explain(struct opts *o)
{
	struct compiler c;
	struct erun r;
	struct arena a = ARENA_INIT;
	struct buf b = BUF_INIT;
	struct node *tree = NULL;
	const struct node *bad;
	struct cidr at;
	unsigned port = 0;
	int code = EXIT_INVALID;

	if (o->at && parse_at(o->at, &at, &port) < 0)
		return cmd_error(o->cmd, "--at: \"%s\" is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT", o->at);
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	explain_init(&r.e, "networkpolicy");
	if (compile_open(&c, o->cluster, o->templates, 1, &r.d) == 0) {
		r.e.enforcement = profile_enforcement_name(c.profile.enforcement);
		c.on_guard = explain_guard_cb;
		for (int i = 0; i < o->nspecs; i++)
			compile_file(&c, o->specs[i], explain_agent_cb, after_explain_doc, &r);
	}
	print_diags(&r.d);
	if (r.d.errors) {
		fprintf(stderr, "agentfence: %zu error%s; nothing explained\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		goto out;
	}
	if ((bad = explain_unsupported(&r.e))) {
		const struct node *md = node_map_get(bad, "metadata");
		const struct node *ns = node_map_get(md, "namespace"), *nm = node_map_get(md, "name");

		fprintf(stderr, "agentfence: explain: error: %s enforcement emits %s %s%s%s, which holds "
			"a kind or field the evaluator does not read; nothing explained\n",
			r.e.enforcement, node_map_get(bad, "kind")->str,
			ns && ns->kind == NODE_SCALAR ? ns->str : "", ns && ns->kind == NODE_SCALAR ? "/" : "",
			nm && nm->kind == NODE_SCALAR ? nm->str : "?");
		code = EXIT_CLUSTER;
		goto out;
	}
	if ((o->at ? explain_at(&r.e, &a, &at, port, &tree) : explain_build(&r.e, &a, &tree)) < 0) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		goto out;
	}
	if (o->json) {
		if (emit_json(&b, tree, 0) < 0)
			b.err = 1;
		buf_putc(&b, '\n');
	} else {
		explain_table(&b, tree, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	}
	if (b.err) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		goto out;
	}
	if (fwrite(b.p, 1, b.n, stdout) != b.n || fflush(stdout) != 0) {
		fprintf(stderr, "agentfence: error: cannot write the output: %s\n", strerror(errno));
		goto out;
	}
	code = EXIT_OK;
out:
	buf_free(&b);
	arena_free(&a);
	compile_close(&c);
	explain_free(&r.e);
	diags_free(&r.d);
	return code;
}

/* `agentfence help [CMD]` (and --help, -h) */
static int
cmd_help(int argc, char **argv)
{
	int c;

	if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
		print_help();
		return EXIT_OK;
	}
	if ((c = find_command(argv[2])) < 0 || argc > 3) {
		if (c < 0)
			fprintf(stderr, "agentfence: help: unknown command \"%s\"\n", argv[2]);
		else
			fprintf(stderr, "agentfence: help: one command at most\n");
		fprintf(stderr, "try '%s --help'\n", prog);
		return EXIT_USAGE;
	}
	print_command_help((enum cmd)c);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int c, code;

	{       /* kubectl runs a plugin by its path: .../kubectl-agentfence */
		const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;

		if (argc > 0 && argv[0] && strcmp(base ? base + 1 : argv[0], "kubectl-agentfence") == 0)
			prog = "kubectl agentfence";
	}
	if (argc < 2) {
		fprintf(stderr, "agentfence: a command is required\n");
		print_usage_lines(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return cmd_help(argc, argv);
	if (strcmp(argv[1], "__man") == 0)
		return cmd_man(argc, argv);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "agentfence: %s takes no arguments\n", argv[1]);
			return EXIT_USAGE;
		}
		printf("agentfence %s\n", AGENTFENCE_VERSION);
		return EXIT_OK;
	}
	if ((c = find_command(argv[1])) < 0) {
		fprintf(stderr, "agentfence: unknown command \"%s\"\ntry '%s --help'\n", argv[1], prog);
		return EXIT_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.cmd = (enum cmd)c;
	o.probe_timeout_ms = 1000;
	o.probe_wait_ms = 30000;
	if ((code = parse_options(&o, argc, argv)) >= 0)
		return code;
	if (o.cmd == CMD_PROBE)
		return cmd_probe(&o);
	if (o.cmd == CMD_COMPLETION)
		return cmd_completion(&o);
	if (o.cmd == CMD_CRD)
		return cmd_crd(&o);
	if (o.cmd == CMD_AUDIT)
		return cmd_audit(&o);
	if (o.cmd == CMD_EXPLAIN)
		return cmd_explain(&o);
	return IN(o.cmd) & IN_REMOTE ? cmd_apply(&o) : cmd_compile(&o);
}
