/*
 * agentfence: compile agent-isolation specs into Kubernetes objects.
 *
 * The only file that prints or exits: it reads the command line, runs
 * the pipeline (read a document, check it, build its objects, emit them,
 * free them) and turns recorded diagnostics into messages and exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "buf.h"
#include "build.h"
#include "diag.h"
#include "emit.h"
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
	"\n"
	"options:\n"
	"  --cluster PROFILE   a ClusterProfile file (cluster ranges, DNS, defaults)\n"
	"  --templates DIR     base objects of the site (pod.yaml, networkpolicy.yaml,\n"
	"                      egressgatewaypolicy.yaml); built-in ones otherwise\n"
	"  -o, --output DIR    write (or check) a folder instead of stdout\n"
	"  --format yaml|json  output format (default yaml)\n"
	"\n"
	"SPEC is a file or - (standard input), a YAML or JSON stream of documents.\n"
	"\n"
	"exit codes:\n"
	"  0  success\n"
	"  1  invalid input, or stale output (check); nothing was written\n"
	"  2  usage error\n";

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
 * The stdout sink: output is held back until every input checked clean
 * ("nothing written on error"). It stays in memory up to SPILL bytes,
 * then goes to an unlinked temporary file, so memory stays flat.
 */
#define SPILL (1u << 20)

struct sink {
	struct buf b;
	FILE *spill;
	int err;
};

static void
sink_flush(struct sink *s)
{
	if (!s->b.n)
		return;
	if (!s->spill && !(s->spill = tmpfile())) {
		s->err = errno ? errno : EIO;
		return;
	}
	if (fwrite(s->b.p, 1, s->b.n, s->spill) != s->b.n)
		s->err = errno ? errno : EIO;
	s->b.n = 0;
}

static int
sink_commit(struct sink *s)
{
	char chunk[1 << 16];
	size_t n;

	if (s->spill) {
		sink_flush(s);
		if (s->err || fflush(s->spill) != 0 || fseek(s->spill, 0, SEEK_SET) != 0)
			return -1;
		while ((n = fread(chunk, 1, sizeof(chunk), s->spill)) > 0)
			if (fwrite(chunk, 1, n, stdout) != n)
				return -1;
		if (ferror(s->spill))
			return -1;
	} else if (s->b.n && fwrite(s->b.p, 1, s->b.n, stdout) != s->b.n) {
		return -1;
	}
	return fflush(stdout) == 0 ? 0 : -1;
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
		goto fail;
	}
	if (o->outdir && strcmp(o->cmd, "validate") != 0 &&
	    outdir_open(&r.dir, o->outdir, check, &r.d) < 0) {
		print_diags(&r.d);
		goto fail;
	}
	if (o->json && !r.dir)
		buf_puts(&r.out.b, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [");
	for (int i = 0; i < o->nspecs; i++)
		compile_file(&r.c, o->specs[i], emit_agent, after_doc, &r);
	if (o->json && !r.dir)
		buf_puts(&r.out.b, r.nobjects ? "\n  ]\n}\n" : "]\n}\n");
fail:
	if (r.d.errors) {
		fprintf(stderr, "agentfence: %zu error%s; nothing written\n", r.d.errors,
			r.d.errors == 1 ? "" : "s");
		if (r.dir)
			outdir_finish(r.dir, 0, &r.d);
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
