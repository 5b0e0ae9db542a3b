/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_spec: the whole compile pipeline on arbitrary bytes.
 *
 * The input is a spec stream, read through the real reader (from a
 * memfd, so reader_open's file path is the one exercised), checked,
 * built with the built-in profile and embedded templates, and emitted as
 * YAML and JSON. Invariants: nothing crashes or leaks; an accepted agent
 * emits non-empty YAML that our reader takes back as the very same tree
 * (every string stays a string), JSON that jansson parses, and objects
 * that keep the fields isolation depends on. The same bytes are also
 * read as a --cluster profile; a profile that loads is then used to
 * compile a fixed set of agents.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "emit.h"
#include "fuzz.h"
#include "memfile.h"
#include "reader.h"

static const char fixed_agents[] =
	"apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
	"metadata: {name: a-public, namespace: agents}\n"
	"spec: {image: x, egress: {mode: public, ports: [443]}}\n---\n"
	"apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
	"metadata: {name: a-allow}\n"
	"spec: {image: x, egress: {mode: allowlist, allow: [140.82.112.0/20, \"2606:50c0:8000::/46\"]}}\n---\n"
	"apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
	"metadata: {name: a-gw}\n"
	"spec: {image: x, egress: {mode: gateway, staticIP: 203.0.113.10},\n"
	"  ingress: [{from: {namespace: mon, podLabels: {app: p}}, ports: [9090]}]}\n---\n"
	"apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
	"metadata: {name: a-none}\nspec: {image: x, egress: {mode: none}}\n";

/* The emitted tree and the re-read one: same shape, same text, strings stay strings. */
static void
same_tree(const struct node *built, const struct node *read)
{
	const struct node *a, *b;

	FUZZ_CHECK(built != NULL && read != NULL);
	FUZZ_CHECK(built->kind == read->kind);
	if (built->kind == NODE_SCALAR) {
		FUZZ_CHECK(built->len == read->len && memcmp(built->str, read->str, built->len) == 0);
		FUZZ_CHECK((built->type == NT_STR) == (read->type == NT_STR));
		return;
	}
	FUZZ_CHECK(built->count == read->count);
	for (a = built->head, b = read->head; a && b; a = a->next, b = b->next) {
		same_tree(a, b);
		if (built->kind == NODE_MAP)
			same_tree(a->val, b->val);
	}
	FUZZ_CHECK(!a && !b);
}

static const struct node *
get(const struct node *n, const char *path)
{
	char key[64];

	while (n && *path) {
		size_t k = strcspn(path, ".");

		FUZZ_CHECK(k < sizeof(key));
		memcpy(key, path, k);
		key[k] = '\0';
		n = node_map_get(n, key);
		path += k + (path[k] == '.');
	}
	return n;
}

static int
is(const struct node *n, const char *s)
{
	return n && n->kind == NODE_SCALAR && strcmp(n->str, s) == 0;
}

struct run {
	size_t agents;
	int builtin;    /* the built-in profile: every mode but none has a public rule */
};

/* What no input may change in the output. */
static void
check_isolation(const struct run *run, const struct spec_agent *ag, struct node **objs, size_t n)
{
	const struct node *np = objs[0], *pod = objs[n - 1], *types, *ctr, *eg, *ports, *vols;

	FUZZ_CHECK(is(get(np, "kind"), "NetworkPolicy"));
	types = get(np, "spec.policyTypes");
	FUZZ_CHECK(types && types->kind == NODE_SEQ && types->count == 2 && is(types->head, "Ingress") &&
		   is(types->head->next, "Egress"));
	FUZZ_CHECK(is(node_map_get(get(np, "spec.podSelector.matchLabels"), LABEL_JOB), ag->name));
	FUZZ_CHECK(is(get(pod, "kind"), "Pod"));
	FUZZ_CHECK(is(get(pod, "spec.automountServiceAccountToken"), "false"));
	FUZZ_CHECK(is(get(pod, "spec.securityContext.runAsNonRoot"), "true"));
	FUZZ_CHECK(!get(pod, "spec.hostNetwork") || is(get(pod, "spec.hostNetwork"), "false"));
	/* the only volume is the agent's scratch emptyDir, with a size limit */
	vols = get(pod, "spec.volumes");
	FUZZ_CHECK(!vols || (vols->kind == NODE_SEQ && vols->count == 1 &&
			     is(get(vols->head, "name"), "scratch") && vols->head->count == 2 &&
			     get(vols->head, "emptyDir.sizeLimit") && !get(vols->head, "emptyDir.medium")));
	FUZZ_CHECK(!vols == !ag->has_scratch);
	ctr = get(pod, "spec.containers");
	FUZZ_CHECK(ctr && ctr->kind == NODE_SEQ && ctr->count == 1);
	FUZZ_CHECK(!run->builtin || is(get(ctr->head, "securityContext.readOnlyRootFilesystem"), "true"));
	FUZZ_CHECK(is(get(ctr->head, "resources.limits.ephemeral-storage"), ag->ephemeral) &&
		   is(get(ctr->head, "resources.requests.ephemeral-storage"), ag->ephemeral));
	FUZZ_CHECK(get(pod, "spec.activeDeadlineSeconds") != NULL);
	FUZZ_CHECK(is(get(ctr->head, "securityContext.privileged"), "false"));
	FUZZ_CHECK(is(get(ctr->head, "securityContext.allowPrivilegeEscalation"), "false"));
	FUZZ_CHECK(is(get(ctr->head, "image"), ag->image));
	FUZZ_CHECK(n == (ag->mode == MODE_GATEWAY ? 3u : 2u));
	/* egress: nothing in mode none; else DNS, then the public rule with every port asked for */
	eg = get(np, "spec.egress");
	if (ag->mode == MODE_NONE) {
		FUZZ_CHECK(!eg || eg->count == 0);
		return;
	}
	FUZZ_CHECK(eg && eg->kind == NODE_SEQ && eg->count >= 1 && eg->count <= 2);
	FUZZ_CHECK(!run->builtin || eg->count == 2);
	if (eg->count == 2) {
		ports = get(eg->head->next, "ports");
		FUZZ_CHECK(ag->nports ? ports && ports->count == ag->nports : !ports);
	}
}

static int
on_agent(void *ctx, const struct spec_agent *ag, struct node **objs, size_t n)
{
	struct run *run = ctx;

	run->agents++;
	check_isolation(run, ag, objs, n);
	for (size_t i = 0; i < n; i++) {
		struct buf y = BUF_INIT, j = BUF_INIT;
		struct arena a = ARENA_INIT;
		struct diags d = DIAGS_INIT;
		struct node *doc[1];
		size_t ndocs;
		json_t *back;

		emit_yaml(&y, objs[i]);
		FUZZ_CHECK(!y.err && y.n > 0);
		if (reader_string("<emitted>", y.p, y.n, &a, &d, doc, 1, &ndocs) != 0 ||
		    ndocs != 1) {
			fprintf(stderr, "emitted YAML does not read back:\n%.*s\n", (int)y.n, y.p);
			for (size_t k = 0; k < d.n; k++)
				fprintf(stderr, "  %d:%d: %s\n", d.items[k].line, d.items[k].col,
					d.items[k].msg);
			FUZZ_CHECK(0);
		}
		same_tree(objs[i], doc[0]);
		if (emit_json(&j, objs[i], 4) == 0) {
			FUZZ_CHECK(j.n > 0);
			back = json_loadb(j.p, j.n, 0, NULL);
			FUZZ_CHECK(back != NULL);
			json_decref(back);
		}
		diags_free(&d);
		arena_free(&a);
		buf_free(&y);
		buf_free(&j);
	}
	return 0;
}

static void
compile_with(struct compiler *c, const char *path, int builtin)
{
	struct diags d = DIAGS_INIT;
	struct run run = { 0, builtin };

	c->d = &d;
	compile_file(c, path, on_agent, NULL, &run);
	/* errors or agents; never "accepted" silently with nothing to show */
	FUZZ_CHECK(d.errors == 0 || d.n > 0 || d.oom);
	agents_free(&c->seen);
	diags_free(&d);
	c->d = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct compiler builtin;
	static int ready;
	char path[64], fixed[64];
	int fd, ffd;

	if (!ready) {
		struct diags d = DIAGS_INIT;

		FUZZ_CHECK(compile_open(&builtin, NULL, NULL, 1, &d) == 0);
		diags_free(&d);
		ready = 1;
	}
	if ((fd = mem_file(data, size, path, sizeof(path))) < 0)
		return 0;
	compile_with(&builtin, path, 1);

	/* the same bytes as a cluster profile */
	{
		struct compiler c;
		struct diags d = DIAGS_INIT;

		if (compile_open(&c, path, NULL, 1, &d) == 0 && d.errors == 0 &&
		    (ffd = mem_file(fixed_agents, sizeof(fixed_agents) - 1, fixed, sizeof(fixed))) >= 0) {
			compile_with(&c, fixed, 0);
			close(ffd);
		}
		compile_close(&c);
		diags_free(&d);
	}
	close(fd);
	return 0;
}
