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

#include "compile.h"
#include "apply.h"
#include "buf.h"
#include "build.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
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
	EXIT_CLUSTER = 3,   /* apply/delete: something failed on the cluster */
};

/* --- the command line, as data --- */

enum cmd { CMD_COMPILE, CMD_VALIDATE, CMD_CHECK, CMD_APPLY, CMD_DELETE, CMD_PROBE, CMD_COUNT };

#define IN(c) (1u << (c))
#define IN_COMPILE (IN(CMD_COMPILE) | IN(CMD_VALIDATE) | IN(CMD_CHECK))
#define IN_CLUSTER (IN(CMD_APPLY) | IN(CMD_DELETE))
#define IN_SPECS (IN_COMPILE | IN_CLUSTER)   /* the commands that read specs */
#define IN_ALL (IN_SPECS | IN(CMD_PROBE))

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
};

enum opt_id {
	OPT_CLUSTER, OPT_TEMPLATES, OPT_OUTPUT, OPT_FORMAT, OPT_LAYOUT, OPT_KUBECONFIG, OPT_CONTEXT,
	OPT_DRY_RUN, OPT_PRUNE, OPT_RECREATE, OPT_WAIT, OPT_REQUEST_TIMEOUT, OPT_TIMEOUT,
	OPT_PROBE_TIMEOUT, OPT_PROBE_WAIT, OPT_VERBOSE, OPT_PROBE_VERBOSE, OPT_HELP, OPT_COUNT
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
		"one file per agent plus kustomization.yaml; -o json\n"
		"and -o yaml are refused (that is --format; a folder\n"
		"named json is -o ./json)" },
	[OPT_FORMAT] = { "format", 0, "yaml|json", IN(CMD_COMPILE) | IN(CMD_CHECK), 0,
		"output format (default yaml)" },
	[OPT_LAYOUT] = { "layout", 0, "flat|flux", IN(CMD_COMPILE) | IN(CMD_CHECK), 0,
		"with -o: flat (default) one folder; flux: DIR/policies,\n"
		"DIR/pods and DIR/flux.yaml, two Flux Kustomizations,\n"
		"the Pods' one dependsOn the policies' one (DIR relative\n"
		"to the repository root)" },
	[OPT_KUBECONFIG] = { "kubeconfig", 0, "FILE", IN_CLUSTER, 0,
		"credentials (default: $KUBECONFIG, ~/.kube/config, or the\n"
		"Pod's service account when run in a cluster)" },
	[OPT_CONTEXT] = { "context", 0, "NAME", IN_CLUSTER, 0,
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
	[OPT_REQUEST_TIMEOUT] = { "request-timeout", 0, "D", IN_CLUSTER, 0,
		"the limit of each request attempt (default 30s;\n"
		"e.g. 10s, 500ms, 2m)" },
	[OPT_TIMEOUT] = { "timeout", 0, "D", IN_CLUSTER, 0,
		"how long to wait for a Pod to be gone (default 5m)" },
	[OPT_PROBE_TIMEOUT] = { "timeout", 0, "D", IN(CMD_PROBE), 0,
		"the limit of each connect attempt (default 1s)" },
	[OPT_PROBE_WAIT] = { "wait", 0, "D", IN(CMD_PROBE), 0,
		"retry the reachable destinations until none is left\n"
		"or D has passed (default 30s; 0: one attempt): some\n"
		"CNIs fence a new Pod only seconds after it starts" },
	[OPT_VERBOSE] = { "verbose", 'v', NULL, IN_CLUSTER, 0,
		"one line per request (never headers, tokens or keys)" },
	[OPT_PROBE_VERBOSE] = { "verbose", 'v', NULL, IN(CMD_PROBE), 0,
		"one line per destination: its verdict and why" },
	[OPT_HELP] = { "help", 'h', NULL, IN_ALL, 0,
		"this help" },
};

static const struct {
	int code;
	unsigned cmds;
	const char *text;
} exit_codes[] = {
	{ EXIT_OK, IN_ALL, "success" },
	{ EXIT_INVALID, IN_SPECS,
	  "invalid input (specs, profile, templates, kubeconfig), or stale\n"
	  "output (check); nothing was written or sent" },
	{ EXIT_INVALID, IN(CMD_PROBE),
	  "probe: a destination the agent must never reach is reachable" },
	{ EXIT_USAGE, IN_ALL, "usage error" },
	{ EXIT_CLUSTER, IN_CLUSTER, "apply/delete: something failed on the cluster (or reaching it)" },
};

static const char intro_text[] =
	"Compile AgentIsolation specs (agentfence.dev/v1alpha1) into the Kubernetes\n"
	"objects that isolate each agent: a NetworkPolicy, a CiliumEgressGatewayPolicy\n"
	"in gateway mode, and a hardened Pod, in that order.\n";

static const char spec_text[] =
	"SPEC is a file or - (standard input): a YAML or JSON stream of documents.\n";

#define HELP_WIDTH 80

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
	int indent = fprintf(f, "%sagentfence %-*s ", lead, pad, commands[c].name), col = indent;

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
	put_word(f, commands[c].operands ? commands[c].operands : "SPEC...", indent, &col);
	fputc('\n', f);
}

static void
print_usage_lines(FILE *f)
{
	for (int c = 0; c < CMD_COUNT; c++)
		print_usage_line(f, c ? "       " : "usage: ", (enum cmd)c, 8);
	fprintf(f, "       agentfence help [CMD]\n"
		   "       agentfence version\n");
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
	printf("\n%s\nexamples:\n  ", commands[c].operands_text ? commands[c].operands_text : spec_text);
	print_text(stdout, 2, commands[c].examples);
	print_exit_codes(stdout, IN(c));
}

/* --- parsing --- */

#define OPTS_MAX_CLUSTERS 64

struct opts {
	enum cmd cmd;
	const char *cluster, *templates, *outdir, *kubeconfig, *context;
	const char *clusters[OPTS_MAX_CLUSTERS];   /* every --cluster, in order */
	int nclusters;
	int json, verbose, flux;
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
	fprintf(stderr, "\ntry 'agentfence %s --help'\n", commands[c].name);
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

/* "30", "30s", "500ms", "5m" -> milliseconds; -1 when not a duration. */
static long
parse_duration(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v <= 0 || v > 86400000)
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		return v > 86400 ? -1 : v * 1000;
	if (strcmp(end, "ms") == 0)
		return v;
	if (strcmp(end, "m") == 0)
		return v > 1440 ? -1 : v * 60000;
	return -1;
}

static int
set_option(struct opts *o, enum opt_id id, char *arg)
{
	long ms;

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
		if (strcmp(arg, "json") == 0 || strcmp(arg, "yaml") == 0)
			return cmd_error(o->cmd, "-o takes a folder, not a format: use --format %s "
					 "(for a folder named %s, write -o ./%s)", arg, arg, arg);
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
	case OPT_TIMEOUT:
		if ((ms = parse_duration(arg)) < 0)
			return cmd_error(o->cmd, "--%s: \"%s\" is not a duration (e.g. 30s, 500ms, 2m)",
					 options[id].name, arg);
		if (id == OPT_REQUEST_TIMEOUT)
			o->request_timeout_ms = ms;
		else
			o->ao.wait_timeout_ms = ms;
		break;
	case OPT_PROBE_TIMEOUT:
	case OPT_PROBE_WAIT:
		/* --wait 0: one attempt, no retry */
		ms = id == OPT_PROBE_WAIT && strcmp(arg, "0") == 0 ? 0 : parse_duration(arg);
		if (ms < 0)
			return cmd_error(o->cmd, "--%s: \"%s\" is not a duration (e.g. 30s, 500ms, 2m)",
					 options[id].name, arg);
		if (id == OPT_PROBE_WAIT)
			o->probe_wait_ms = ms;
		else
			o->probe_timeout_ms = ms;
		break;
	case OPT_VERBOSE:
	case OPT_PROBE_VERBOSE:
		o->verbose = 1;
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
	if (o->nspecs == 0 && o->cmd != CMD_PROBE)
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
	struct sink out;
	struct target *t;      /* the targets (-o); t[cur] is being compiled */
	int nt, cur;
	struct buf file;       /* one agent's file for -o */
	size_t nobjects;
};

/* Objects to stdout, or (dir) to one file of the folder named `stem`.yaml or .json;
 * file:line:col is where diagnostics point. */
static int
emit_objects(struct run *r, const struct spec_agent *ag, const char *stem, struct node **objs,
	     size_t n, struct outdir *dir)
{
	struct buf *b = dir ? &r->file : &r->out.b;

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
		return outdir_add(dir, name, b->p, b->n, &r->d);
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
}

/* A failed run: take back what went to a regular file. */
static void
abort_output(struct sink *s)
{
	if (sink_abort(s) < 0)
		fprintf(stderr, "agentfence: error: cannot take back the partial output: %s\n",
			strerror(errno));
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
 * The folders of target t, once its profile is loaded: DIR/NAME with
 * several profiles (NAME a DNS-1123 label, no other profile's), and with
 * the flux layout DIR/policies and DIR/pods in it. 0, or -1 (errors in d).
 */
static int
open_target(struct run *r, struct target *t)
{
	const struct profile *p = &r->c.profile;
	int check = r->o->cmd == CMD_CHECK;
	char *sub;

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
	if (outdir_open(&t->top, t->dir, check, &r->d) < 0)
		return -1;
	if (!r->o->flux)
		return 0;
	if (!(sub = path_join(t->dir, "policies"))) {
		diag_error(&r->d, NULL, 0, 0, "out of memory");
		return -1;
	}
	if (outdir_open(&t->pol, sub, check, &r->d) < 0) {
		free(sub);
		return -1;
	}
	free(sub);
	if (!(sub = path_join(t->dir, "pods"))) {
		diag_error(&r->d, NULL, 0, 0, "out of memory");
		return -1;
	}
	if (outdir_open(&t->pods, sub, check, &r->d) < 0) {
		free(sub);
		return -1;
	}
	free(sub);
	return 0;
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
 * folder compared. 0, or -1 (errors in d).
 */
static int
commit_targets(struct run *r)
{
	int bad = 0;

	for (int i = 0; i < r->nt; i++) {
		struct outdir *dirs[3] = { r->t[i].pol, r->t[i].pods, r->t[i].top };

		for (int j = 0; j < 3; j++)
			if (dirs[j] && outdir_prepare(dirs[j], &r->d) < 0)
				bad = 1;
	}
	for (int i = 0; i < r->nt; i++) {
		struct outdir *dirs[3] = { r->t[i].pol, r->t[i].pods, r->t[i].top };

		for (int j = 0; j < 3; j++)
			if (dirs[j] && outdir_finish(dirs[j], !bad, &r->d) < 0)
				bad = 1;
	}
	return bad ? -1 : 0;
}

static int
cmd_compile(struct opts *o)
{
	struct run r;
	int code = EXIT_OK, check = o->cmd == CMD_CHECK, validate = o->cmd == CMD_VALIDATE;
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
			code = EXIT_INVALID;
			compile_close(&r.c);
			continue;
		}
		r.c.on_guard = emit_guard;
		for (int i = 0; i < o->nspecs; i++)
			compile_file(&r.c, o->specs[i], emit_agent, after_doc, &r);
		if (o->flux && !r.d.errors && code == EXIT_OK && emit_flux(&r, &r.t[r.cur]) < 0)
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
		code = EXIT_INVALID;
		goto out;
	}
	if (validate)
		goto out;
	if (r.nt) {
		if (commit_targets(&r) < 0) {
			print_diags(&r.d);
			if (check)
				fprintf(stderr, "agentfence: %s is stale; run agentfence compile -o %s%s\n",
					o->outdir, o->outdir, o->nclusters > 1 || o->flux ? " (with the same options)" : "");
			code = EXIT_INVALID;
		}
		print_diags(&r.d);
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
	close_targets(&r, -1);
	sink_close(&r.out);
	buf_free(&r.file);
	diags_free(&r.d);
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

static int
run_cluster(struct arun *r)
{
	struct opts *o = r->o;
	struct kubeconfig kc;
	struct kapi *k = NULL;
	struct kapi_opts ko;
	struct apply_summary s;
	const char *version = NULL;
	int del = o->cmd == CMD_DELETE, code = EXIT_CLUSTER;

	if (kubeconfig_load(&kc, o->kubeconfig, o->context, &r->d) < 0) {
		print_diags(&r->d);
		fprintf(stderr, "agentfence: nothing sent to the cluster\n");
		kubeconfig_free(&kc);
		return EXIT_INVALID;
	}
	print_diags(&r->d);
	if (o->verbose) {
		if (kc.in_cluster)
			fprintf(stderr, "agentfence: in-cluster service account, server %s\n", kc.server);
		else
			fprintf(stderr, "agentfence: context %s from %s: cluster %s at %s, user %s (%s%s%s)\n",
				kc.context, kc.source, kc.cluster, kc.server, kc.user ? kc.user : "none",
				kubeconfig_auth_kind(&kc), kc.exec ? " " : "",
				kc.exec ? kc.exec->command : "");
	}
	memset(&ko, 0, sizeof(ko));
	ko.request_timeout_ms = o->request_timeout_ms;
	if (o->verbose) {
		ko.trace = on_trace;
		ko.trace_ctx = r;
	}
	if (kapi_open(&k, &kc, &ko, &r->d) < 0 || kapi_check(k, &version, &r->d) < 0) {
		print_diags(&r->d);
		fprintf(stderr, "agentfence: nothing applied\n");
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "agentfence: server version %s\n", version);
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

static int
cmd_apply(struct opts *o)
{
	struct arun r;
	int code = EXIT_INVALID;

	/* every spec is read and checked before anything is sent */
	memset(&r, 0, sizeof(r));
	r.o = o;
	if (apply_plan_new(&r.plan) < 0) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		return EXIT_INVALID;
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
	code = run_cluster(&r);
out:
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
		fprintf(stderr, "try 'agentfence --help'\n");
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

	if (argc < 2) {
		fprintf(stderr, "agentfence: a command is required\n");
		print_usage_lines(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return cmd_help(argc, argv);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "agentfence: %s takes no arguments\n", argv[1]);
			return EXIT_USAGE;
		}
		printf("agentfence %s\n", AGENTFENCE_VERSION);
		return EXIT_OK;
	}
	if ((c = find_command(argv[1])) < 0) {
		fprintf(stderr, "agentfence: unknown command \"%s\"\ntry 'agentfence --help'\n", argv[1]);
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
	return IN(o.cmd) & IN_CLUSTER ? cmd_apply(&o) : cmd_compile(&o);
}
