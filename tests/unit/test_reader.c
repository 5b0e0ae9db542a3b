/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the stream reader (compiler/reader.c): documents one at a
 * time, the marks of nodes, scalar typing on the way in, and what it
 * refuses (aliases, tags other than !!str, nesting, too many documents,
 * syntax errors), each with its exact message and position. The bounds
 * at their limits are tested in test_limits.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "reader.h"

static const struct reader_limits lim = {
	.max_file_bytes = 1 << 20,
	.max_documents = 3,
	.max_depth = 4,
	.max_string = 1 << 10,
	.max_nodes = 1000,
};

#define MAX_DOCS 8

struct result {
	struct arena arena;
	struct diags d;
	struct node *docs[MAX_DOCS];
	size_t ndocs;
	int rc;                 /* reader_next's last return */
};

/* Read every document of `text` from a file, as a spec is read. */
static void
read_file(struct result *res, const char *text)
{
	char path[] = "/tmp/af_reader.XXXXXX";
	struct reader *r;
	struct node *doc;
	int fd;

	memset(res, 0, sizeof(*res));
	res->arena = (struct arena)ARENA_INIT;
	res->d = (struct diags)DIAGS_INIT;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(reader_open(&r, path, &lim, &res->d), 0);
	unlink(path);
	assert_string_equal(reader_name(r), path);
	while ((res->rc = reader_next(r, &res->arena, &doc)) == 1) {
		assert_non_null(doc);
		assert_true(res->ndocs < MAX_DOCS);
		res->docs[res->ndocs++] = doc;
	}
	/* after the end or an error, the reader stays there */
	assert_int_equal(reader_next(r, &res->arena, &doc), 0);
	assert_null(doc);
	reader_close(r);
}

static void
result_free(struct result *res)
{
	arena_free(&res->arena);
	diags_free(&res->d);
}

/* The one error of a failed read: its message, line and column. */
static void
expect_error(const char *text, const char *msg, int line, int col)
{
	struct result res;

	read_file(&res, text);
	assert_int_equal(res.rc, -1);
	assert_int_equal(res.d.errors, 1);
	assert_string_equal(res.d.items[0].msg, msg);
	assert_int_equal(res.d.items[0].line, line);
	assert_int_equal(res.d.items[0].col, col);
	result_free(&res);
}

static void
test_two_documents(void **state)
{
	struct result res;
	const struct node *v;

	(void)state;
	read_file(&res, "name: a\nport: 80\n---\nname: b\nlist: [x, \"y\"]\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.d.n, 0);
	assert_int_equal(res.ndocs, 2);
	assert_int_equal(res.docs[0]->kind, NODE_MAP);
	assert_int_equal(res.docs[0]->count, 2);
	v = node_map_get(res.docs[0], "name");
	assert_non_null(v);
	assert_string_equal(v->str, "a");
	v = node_map_get(res.docs[0], "port");
	assert_non_null(v);
	assert_int_equal(v->type, NT_INT);
	assert_int_equal(v->quoted, 0);
	assert_string_equal(node_map_get(res.docs[1], "name")->str, "b");
	v = node_map_get(res.docs[1], "list");
	assert_non_null(v);
	assert_int_equal(v->kind, NODE_SEQ);
	assert_int_equal(v->count, 2);
	assert_string_equal(v->head->str, "x");
	assert_int_equal(v->head->quoted, 0);
	assert_string_equal(v->tail->str, "y");
	assert_int_equal(v->tail->quoted, 1);
	assert_null(node_map_get(res.docs[1], "port"));
	result_free(&res);
}

static void
test_marks(void **state)
{
	struct result res;
	const struct node *spec, *k, *item;

	(void)state;
	read_file(&res, "# comment\n"
			"kind: Agent\n"
			"spec:\n"
			"  image: \"x\"\n"
			"  ports:\n"
			"    - 80\n"
			"    -   443\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 1);
	/* the document's map starts at its first key */
	assert_int_equal(res.docs[0]->line, 2);
	assert_int_equal(res.docs[0]->col, 1);
	k = res.docs[0]->head;
	assert_string_equal(k->str, "kind");
	assert_int_equal(k->line, 2);
	assert_int_equal(k->col, 1);
	assert_int_equal(k->val->line, 2);
	assert_int_equal(k->val->col, 7);
	spec = node_map_get(res.docs[0], "spec");
	assert_non_null(spec);
	assert_int_equal(spec->line, 4);
	assert_int_equal(spec->col, 3);
	/* a quoted scalar's mark is its opening quote */
	assert_int_equal(node_map_get(spec, "image")->line, 4);
	assert_int_equal(node_map_get(spec, "image")->col, 10);
	item = node_map_get(spec, "ports")->head;
	assert_int_equal(item->line, 6);
	assert_int_equal(item->col, 7);
	assert_int_equal(item->next->line, 7);
	assert_int_equal(item->next->col, 9);
	result_free(&res);
}

/* Aliases are refused where they are, before anything is expanded. */
static void
test_alias(void **state)
{
	(void)state;
	expect_error("a: &x [1, 2]\nb: *x\n",
		     "aliases (*name) are not supported: write the value out", 2, 4);
	/* an anchor alone is harmless */
	{
		struct result res;

		read_file(&res, "a: &x [1, 2]\n");
		assert_int_equal(res.rc, 0);
		assert_int_equal(res.ndocs, 1);
		result_free(&res);
	}
}

static void
test_depth(void **state)
{
	struct result res;

	(void)state;
	read_file(&res, "a:\n  b:\n    c: [1]\n");   /* 4 levels */
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 1);
	result_free(&res);
	expect_error("a:\n  b:\n    c:\n      d:\n        e: 1\n",
		     "nesting deeper than 4 levels", 5, 9);
}

static void
test_tags(void **state)
{
	(void)state;
	expect_error("port: !!int 80\n", "YAML tags are not supported here (only !!str)", 1, 7);
	expect_error("a: !custom x\n", "YAML tags are not supported here (only !!str)", 1, 4);
	expect_error("a: !!map {b: 1}\n", "YAML tags are not supported here (only !!str)", 1, 4);
	expect_error("a: !!str [x]\n", "YAML tags are not supported here (only !!str)", 1, 4);
}

/* !!str keeps a scalar a string, written out or in its long form. */
static void
test_str_tag(void **state)
{
	struct result res;
	const struct node *v;

	(void)state;
	read_file(&res, "a: !!str 80\nb: !<tag:yaml.org,2002:str> true\nc: 80\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 1);
	v = node_map_get(res.docs[0], "a");
	assert_string_equal(v->str, "80");
	assert_int_equal(v->type, NT_STR);
	assert_int_equal(v->quoted, 1);
	v = node_map_get(res.docs[0], "b");
	assert_string_equal(v->str, "true");
	assert_int_equal(v->type, NT_STR);
	v = node_map_get(res.docs[0], "c");
	assert_int_equal(v->type, NT_INT);
	result_free(&res);
}

static void
test_empty(void **state)
{
	struct result res;

	(void)state;
	/* nothing, or only comments: no document */
	read_file(&res, "");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 0);
	result_free(&res);
	read_file(&res, "# nothing here\n\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 0);
	result_free(&res);
	/* an empty document is a document whose value is null */
	read_file(&res, "---\n---\na: 1\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 2);
	assert_int_equal(res.docs[0]->kind, NODE_SCALAR);
	assert_int_equal(res.docs[0]->type, NT_NULL);
	assert_int_equal(res.docs[0]->len, 0);
	assert_int_equal(res.docs[1]->kind, NODE_MAP);
	result_free(&res);
}

static void
test_max_documents(void **state)
{
	struct result res;

	(void)state;
	read_file(&res, "a: 1\n---\na: 2\n---\na: 3\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 3);
	result_free(&res);
	/* the fourth is refused at its start, after the three before it */
	read_file(&res, "a: 1\n---\na: 2\n---\na: 3\n---\na: 4\n");
	assert_int_equal(res.rc, -1);
	assert_int_equal(res.ndocs, 3);
	assert_int_equal(res.d.errors, 1);
	assert_string_equal(res.d.items[0].msg, "more than 3 documents");
	assert_int_equal(res.d.items[0].line, 6);
	assert_int_equal(res.d.items[0].col, 1);
	result_free(&res);
}

static void
test_refusals(void **state)
{
	(void)state;
	expect_error("a: 1\nb: 2\na: 3\n", "duplicate key \"a\" (first at line 1)", 3, 1);
	expect_error("? [x]\n: 1\n", "mapping keys must be strings, not a list", 1, 3);
	expect_error("a: \"x\\0y\"\n", "string contains a NUL character", 1, 4);
	/* libyaml's own message, at libyaml's mark */
	expect_error("a: [1, 2\nb: 3\n",
		     "invalid YAML: did not find expected ',' or ']' while parsing a flow sequence",
		     2, 2);
}

/* JSON is YAML: a spec may be written in it. */
static void
test_json(void **state)
{
	struct result res;
	const struct node *v;

	(void)state;
	read_file(&res, "{\"a\": {\"b\": [1, \"2\", true, null]}}\n");
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.ndocs, 1);
	v = node_map_get(node_map_get(res.docs[0], "a"), "b");
	assert_non_null(v);
	assert_int_equal(v->count, 4);
	assert_int_equal(v->head->type, NT_INT);
	assert_int_equal(v->head->next->type, NT_STR);
	assert_int_equal(v->head->next->next->type, NT_BOOL);
	assert_int_equal(v->tail->type, NT_NULL);
	result_free(&res);
}

/* Templates are read from strings, with a count of documents allowed. */
static void
test_string(void **state)
{
	struct arena a = ARENA_INIT;
	struct diags d = DIAGS_INIT;
	struct node *docs[2];
	size_t n;
	const char *two = "a: 1\n---\nb: 2\n";

	(void)state;
	assert_int_equal(reader_string("t.yaml", two, strlen(two), &a, &d, docs, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_non_null(node_map_get(docs[1], "b"));
	assert_int_equal(d.n, 0);
	assert_int_equal(reader_string("t.yaml", two, strlen(two), &a, &d, docs, 1, &n), -1);
	assert_int_equal(n, 1);
	assert_string_equal(d.items[0].msg, "expected at most 1 documents");
	assert_string_equal(d.items[0].file, "t.yaml");
	assert_int_equal(d.items[0].line, 3);
	assert_int_equal(reader_string("e.yaml", "", 0, &a, &d, docs, 1, &n), 0);
	assert_int_equal(n, 0);
	arena_free(&a);
	diags_free(&d);
}

static void
test_open_errors(void **state)
{
	struct diags d = DIAGS_INIT;
	struct reader *r;

	(void)state;
	assert_int_equal(reader_open(&r, "/nonexistent/spec.yaml", NULL, &d), -1);
	assert_null(r);
	assert_string_equal(d.items[0].msg, "cannot open: No such file or directory");
	assert_int_equal(reader_open(&r, "/tmp", NULL, &d), -1);
	assert_string_equal(d.items[1].msg, "is a directory, not a spec file");
	assert_int_equal(reader_open(&r, "-", NULL, &d), 0);
	assert_string_equal(reader_name(r), "<stdin>");
	reader_close(r);
	diags_free(&d);
}

/*
 * A pipe has no size up front: the reader reads at most one byte past the
 * limit, so a huge stream (here one long string) is never held whole.
 */
static void
test_pipe_bound(void **state)
{
	static const struct reader_limits small = {
		.max_file_bytes = 200, .max_documents = 3, .max_depth = 4,
		.max_string = 1 << 20, .max_nodes = 1000,
	};
	struct diags d = DIAGS_INIT;
	struct arena a = ARENA_INIT;
	struct reader *r;
	struct node *doc;
	int fds[2], saved, rc, status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char chunk[4096];

		close(fds[0]);
		memset(chunk, 'x', sizeof(chunk));
		if (write(fds[1], "a: ", 3) != 3)
			_exit(1);
		/* 4 MiB, far more than the pipe holds: the reader stops early */
		for (int i = 0; i < 1024; i++)
			if (write(fds[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(0);   /* the reader closed its end */
		_exit(0);
	}
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	assert_int_equal(reader_open(&r, "-", &small, &d), 0);
	rc = reader_next(r, &a, &doc);
	reader_close(r);
	dup2(saved, 0);
	close(saved);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_int_equal(rc, -1);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].file, "<stdin>");
	assert_string_equal(d.items[0].msg, "input is larger than 200 bytes");
	assert_int_equal(d.items[0].line, 1);
	arena_free(&a);
	diags_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_str_tag),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_max_documents),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_pipe_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
