/*
 * agentfence: compile agent-isolation specs into Kubernetes objects.
 *
 * The only file that prints or exits: it reads the command line, runs
 * the pipeline (read a document, check it, build its objects, emit them,
 * free them) and turns recorded diagnostics into messages and exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "apply.h"
#include "buf.h"
#include "build.h"
#include "diag.h"
#include "emit.h"
#include "kapi.h"
#include "kubeconfig.h"
#include "node.h"
#include "outdir.h"
#include "profile.h"
#include "spec.h"
#include "tmpl.h"

#ifndef AGENTFENCE_VERSION
#define AGENTFENCE_VERSION "0.1.0"
#endif

/* Exit codes: a contract, documented in README and --help. */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,   /* invalid input, stale output, or output not written */
	EXIT_USAGE = 2,
	EXIT_CLUSTER = 3,   /* apply: something failed on the cluster */
};

static const char usage_text[] =
	"usage: agentfence compile [--cluster PROFILE] [--templates DIR] [-o DIR] [--format yaml|json] SPEC...\n"
	"       agentfence validate [--cluster PROFILE] [--templates DIR] SPEC...\n"
	"       agentfence check [--cluster PROFILE] [--templates DIR] -o DIR SPEC...\n"
	"       agentfence apply [--cluster PROFILE] [--kubeconfig F] [--context NAME] [--dry-run]\n"
	"                        [--prune] [--recreate] [--wait] SPEC...\n"
	"       agentfence delete [--kubeconfig F] [--context NAME] SPEC...\n"
	"       agentfence --help | --version\n";

static const char help_text[] =
	"\n"
	"Compile AgentIsolation specs (agentfence.dev/v1alpha1) into the Kubernetes\n"
	"objects that isolate each agent: a NetworkPolicy, a CiliumEgressGatewayPolicy\n"
	"in gateway mode, and a hardened Pod, in that order.\n"
	"\n"
	"commands:\n"
	"  compile    write the objects: a YAML stream on stdout, or with -o DIR one\n"
	"             file per agent plus kustomization.yaml\n"
	"  validate   check the specs; write nothing\n"
	"  check      exit 1 when DIR differs from what compile -o DIR would write\n"
	"  apply      put the agents on the cluster (server-side apply): each agent's\n"
	"             policies first, its Pod only once the server stored them all;\n"
	"             an agent whose policies fail gets no Pod (an old one is deleted)\n"
	"             (--apply is the same)\n"
	"  delete     take the agents off the cluster: each Pod first, its policies\n"
	"             once the Pod is gone\n"
	"\n"
	"options:\n"
	"  --cluster PROFILE   a ClusterProfile file (cluster ranges, DNS, defaults)\n"
	"  --templates DIR     base objects of the site (pod.yaml, networkpolicy.yaml,\n"
	"                      egressgatewaypolicy.yaml); built-in ones otherwise\n"
	"  -o, --output DIR    write (or check) a folder instead of stdout\n"
	"  --format yaml|json  output format (default yaml)\n"
	"\n"
	"apply and delete:\n"
	"  --kubeconfig FILE   credentials (default: $KUBECONFIG, ~/.kube/config, or the\n"
	"                      Pod's service account when run in a cluster)\n"
	"  --context NAME      the kubeconfig context (default: current-context)\n"
	"  --dry-run           the server checks every object (dryRun=All); nothing stored\n"
	"  --prune             also delete agents labelled managed-by=agentfence that are\n"
	"                      no longer in the specs (in the specs' namespaces only)\n"
	"  --recreate          replace a Pod whose spec changed (Pods are immutable);\n"
	"                      without it such a Pod is reported and left as it is\n"
	"  --wait              also wait until the Pod of a failed agent is gone\n"
	"  --request-timeout D each request attempt's limit (default 30s; e.g. 10s, 500ms)\n"
	"  --timeout D         how long to wait for a Pod to be gone (default 5m)\n"
	"  -v, --verbose       one line per request (never headers, tokens or keys)\n"
	"\n"
	"SPEC is a file or - (standard input), a YAML or JSON stream of documents.\n"
	"\n"
	"exit codes:\n"
	"  0  success\n"
	"  1  invalid input (specs, profile, kubeconfig), or stale output (check);\n"
	"     nothing was written or sent\n"
	"  2  usage error\n"
	"  3  apply/delete: something failed on the cluster (or reaching it)\n";

struct opts {
	const char *cmd;
	const char *cluster;
	const char *templates;
	const char *outdir;
	int json;
	char **specs;
	int nspecs;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentfence: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
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

/*
 * The stdout sink: nothing may be written unless every input checked
 * clean. How that is kept depends on what stdout is:
 * - a regular file (`> out.yaml`): written as we go, and cut back to its
 *   old length if the run fails (one write, no copy);
 * - /dev/null: nothing to keep;
 * - a pipe or a terminal: held back, in memory up to SPILL bytes, then in
 *   an unlinked temporary file, and copied out at the end.
 * Memory stays flat in every case.
 */
#define SPILL (1u << 20)

enum sink_mode { SINK_HOLD, SINK_FILE, SINK_NULL };

struct sink {
	struct buf b;
	enum sink_mode mode;
	off_t start;           /* SINK_FILE: where our output begins */
	FILE *spill;
	int err;
};

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
sink_open(struct sink *s)
{
	struct stat st, dn;

	s->mode = SINK_HOLD;
	if (fstat(STDOUT_FILENO, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		int fl = fcntl(STDOUT_FILENO, F_GETFL);

		/* with O_APPEND (">>") writes go to the end, whatever the offset says */
		s->start = fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(STDOUT_FILENO, 0, SEEK_CUR);
		if (fl >= 0 && s->start >= 0)
			s->mode = SINK_FILE;
	} else if (S_ISCHR(st.st_mode) && stat("/dev/null", &dn) == 0 && st.st_rdev == dn.st_rdev) {
		s->mode = SINK_NULL;
	}
}

static void
sink_flush(struct sink *s)
{
	if (!s->b.n || s->err)
		return;
	if (s->mode == SINK_FILE) {
		if (write_all(STDOUT_FILENO, s->b.p, s->b.n) < 0)
			s->err = errno ? errno : EIO;
	} else if (s->mode == SINK_HOLD) {
		if (!s->spill && !(s->spill = tmpfile())) {
			s->err = errno ? errno : EIO;
			return;
		}
		if (fwrite(s->b.p, 1, s->b.n, s->spill) != s->b.n)
			s->err = errno ? errno : EIO;
	}
	s->b.n = 0;
}

static int
sink_commit(struct sink *s)
{
	char chunk[1 << 16];
	size_t n;

	sink_flush(s);
	if (s->err)
		return -1;
	if (s->mode != SINK_HOLD || !s->spill)
		return 0;
	if (fflush(s->spill) != 0 || fseek(s->spill, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), s->spill)) > 0)
		if (write_all(STDOUT_FILENO, chunk, n) < 0)
			return -1;
	return ferror(s->spill) ? -1 : 0;
}

/* A failed run: take back what went to a regular file. */
static void
sink_abort(struct sink *s)
{
	if (s->mode == SINK_FILE && s->start >= 0 &&
	    (ftruncate(STDOUT_FILENO, s->start) < 0 || lseek(STDOUT_FILENO, s->start, SEEK_SET) < 0))
		fprintf(stderr, "agentfence: error: cannot take back the partial output: %s\n",
			strerror(errno));
}

struct run {
	struct opts *o;
	struct compiler c;
	struct diags d;
	struct sink out;
	struct outdir *dir;
	struct buf file;       /* one agent's file for -o */
	size_t nobjects;
};

static int
emit_agent(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	struct run *r = ctx;
	struct buf *b = r->dir ? &r->file : &r->out.b;

	if (r->dir) {
		r->file.n = 0;
		if (!r->o->json)
			buf_puts(b, OUTDIR_HEADER);
		else
			buf_puts(b, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [");
	}
	for (size_t i = 0; i < n; i++) {
		if (r->o->json) {
			buf_puts(b, r->nobjects || (r->dir && i) ? ",\n    " : "\n    ");
			if (emit_json(b, objs[i], 4) < 0) {
				diag_error(&r->d, ag->file, ag->line, ag->col,
					   "cannot write JSON (a string is not valid UTF-8)");
				return -1;
			}
		} else {
			buf_puts(b, "---\n");
			emit_yaml(b, objs[i]);
		}
		if (!r->dir)
			r->nobjects++;
	}
	if (b->err) {
		diag_error(&r->d, ag->file, ag->line, ag->col, "out of memory");
		return -1;
	}
	if (r->dir) {
		char name[300];

		if (r->o->json)
			buf_puts(b, "\n  ]\n}\n");
		snprintf(name, sizeof(name), "%s.%s.%s", ag->ns, ag->name, r->o->json ? "json" : "yaml");
		return outdir_add(r->dir, name, b->p, b->n, &r->d);
	}
	if (r->out.b.n >= SPILL)
		sink_flush(&r->out);
	return 0;
}

static void
after_doc(void *ctx)
{
	print_diags(&((struct run *)ctx)->d);
}

static int
cmd_compile(struct opts *o)
{
	struct run r;
	int code = EXIT_OK, check = strcmp(o->cmd, "check") == 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	if (compile_open(&r.c, o->cluster, o->templates, strcmp(o->cmd, "validate") != 0,
			 &r.d) < 0) {
		print_diags(&r.d);
		code = EXIT_INVALID;
		goto fail;
	}
	if (o->outdir && strcmp(o->cmd, "validate") != 0 &&
	    outdir_open(&r.dir, o->outdir, check, &r.d) < 0) {
		print_diags(&r.d);
		code = EXIT_INVALID;
		goto fail;
	}
	if (!r.dir && strcmp(o->cmd, "validate") != 0)
		sink_open(&r.out);
	if (o->json && !r.dir)
		buf_puts(&r.out.b, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [");
	for (int i = 0; i < o->nspecs; i++)
		compile_file(&r.c, o->specs[i], emit_agent, after_doc, &r);
	if (o->json && !r.dir)
		buf_puts(&r.out.b, r.nobjects ? "\n  ]\n}\n" : "]\n}\n");
	/* the folder's files are written by a second thread: its errors count too */
	if (r.dir)
		outdir_sync(r.dir, &r.d);
fail:
	if (r.d.errors || code != EXIT_OK) {
		fprintf(stderr, "agentfence: %zu error%s; nothing written\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		if (r.dir)
			outdir_finish(r.dir, 0, &r.d);
		sink_abort(&r.out);
		code = EXIT_INVALID;
		goto out;
	}
	if (strcmp(o->cmd, "validate") == 0)
		goto out;
	if (r.dir) {
		if (outdir_finish(r.dir, 1, &r.d) < 0) {
			print_diags(&r.d);
			if (check)
				fprintf(stderr, "agentfence: %s is stale; run agentfence compile -o %s\n",
					o->outdir, o->outdir);
			code = EXIT_INVALID;
		}
		print_diags(&r.d);
		goto out;
	}
	if (r.out.b.err || r.out.err || sink_commit(&r.out) < 0) {
		fprintf(stderr, "agentfence: error: cannot write the output: %s\n",
			strerror(r.out.err ? r.out.err : errno ? errno : EIO));
		sink_abort(&r.out);
		code = EXIT_INVALID;
	}
out:
	print_diags(&r.d);
	outdir_close(r.dir);
	if (r.out.spill)
		fclose(r.out.spill);
	buf_free(&r.out.b);
	buf_free(&r.file);
	compile_close(&r.c);
	diags_free(&r.d);
	return code;
}

/* --- apply and delete --- */

struct aopts {
	const char *cmd;            /* "apply" or "delete" */
	const char *cluster, *templates, *kubeconfig, *context;
	struct apply_opts ao;
	long request_timeout_ms;
	int verbose;
	char **specs;
	int nspecs;
};

struct arun {
	struct aopts *o;
	struct compiler c;
	struct diags d;
	struct apply_plan *plan;
	int tty;                    /* stderr is a terminal: progress line */
	int out_tty;                /* stdout too: clear the progress line first */
	int progress_shown;
	long t0, last_progress;
};

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		now = mono_ms();
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

static void
after_plan_doc(void *ctx)
{
	print_diags(&((struct arun *)ctx)->d);
}

static int
run_cluster(struct arun *r)
{
	struct aopts *o = r->o;
	struct kubeconfig kc;
	struct kapi *k = NULL;
	struct kapi_opts ko;
	struct apply_summary s;
	const char *version = NULL;
	int del = strcmp(o->cmd, "delete") == 0, code = EXIT_CLUSTER;

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
	r->t0 = mono_ms();
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
cmd_apply(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "templates", required_argument, NULL, 't' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'x' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", no_argument, NULL, 'p' },
		{ "recreate", no_argument, NULL, 'r' },
		{ "wait", no_argument, NULL, 'w' },
		{ "request-timeout", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aopts o;
	struct arun r;
	int ch, code, del;

	memset(&o, 0, sizeof(o));
	o.cmd = strcmp(argv[1], "delete") == 0 ? "delete" : "apply";
	del = strcmp(o.cmd, "delete") == 0;
	optind = 2;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.cluster = optarg;
			break;
		case 't':
			o.templates = optarg;
			break;
		case 'k':
			o.kubeconfig = optarg;
			break;
		case 'x':
			o.context = optarg;
			break;
		case 'n':
			o.ao.dry_run = 1;
			break;
		case 'p':
		case 'r':
			if (del)
				return usage_error("delete takes no --%s", ch == 'p' ? "prune" : "recreate");
			if (ch == 'p')
				o.ao.prune = 1;
			else
				o.ao.recreate = 1;
			break;
		case 'w':
			o.ao.wait = 1;
			break;
		case 'T':
		case 'W':
			if (parse_duration(optarg) < 0)
				return usage_error("--%s: \"%s\" is not a duration (e.g. 30s, 500ms, 2m)",
						   ch == 'T' ? "request-timeout" : "timeout", optarg);
			if (ch == 'T')
				o.request_timeout_ms = parse_duration(optarg);
			else
				o.ao.wait_timeout_ms = parse_duration(optarg);
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			printf("%s%s", usage_text, help_text);
			return EXIT_OK;
		case ':':
			return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	o.specs = argv + optind;
	o.nspecs = argc - optind;
	if (o.nspecs == 0)
		return usage_error("%s", "no SPEC given (a file, or - for standard input)");

	/* every spec is read and checked before anything is sent */
	memset(&r, 0, sizeof(r));
	r.o = &o;
	code = EXIT_INVALID;
	if (apply_plan_new(&r.plan) < 0) {
		fprintf(stderr, "agentfence: error: out of memory\n");
		return EXIT_INVALID;
	}
	if (compile_open(&r.c, o.cluster, o.templates, 1, &r.d) == 0)
		for (int i = 0; i < o.nspecs; i++)
			compile_file(&r.c, o.specs[i], plan_agent, after_plan_doc, &r);
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "templates", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	int ch;

	memset(&o, 0, sizeof(o));
	if (argc < 2)
		return usage_error("%s", "a command is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("%s%s", usage_text, help_text);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("agentfence %s\n", AGENTFENCE_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "apply") == 0 || strcmp(argv[1], "--apply") == 0 ||
	    strcmp(argv[1], "delete") == 0)
		return cmd_apply(argc, argv);
	o.cmd = argv[1];
	if (strcmp(o.cmd, "compile") && strcmp(o.cmd, "validate") && strcmp(o.cmd, "check"))
		return usage_error("unknown command \"%s\"", o.cmd);
	optind = 2;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.cluster = optarg;
			break;
		case 't':
			o.templates = optarg;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				o.json = 1;
			else if (strcmp(optarg, "yaml") != 0)
				return usage_error("--format: \"%s\" is not yaml or json", optarg);
			break;
		case 'h':
			printf("%s%s", usage_text, help_text);
			return EXIT_OK;
		case 'V':
			printf("agentfence %s\n", AGENTFENCE_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	o.specs = argv + optind;
	o.nspecs = argc - optind;
	if (o.nspecs == 0)
		return usage_error("%s", "no SPEC given (a file, or - for standard input)");
	if (strcmp(o.cmd, "check") == 0 && !o.outdir)
		return usage_error("%s", "check needs -o DIR");
	if (strcmp(o.cmd, "validate") == 0 && o.outdir)
		return usage_error("%s", "validate writes nothing; -o is for compile and check");
	return cmd_compile(&o);
}
