/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the reader's bounds (compiler/reader.c): file size, document
 * count, nesting depth, string length and nodes per document, each at its
 * limit and one past it, with its exact message. The built-in limits are
 * far too large for a test file (512 MiB, two million documents), so the
 * same mechanism is driven here with small ones; tests/bad/08x-limit-*
 * check the built-in values end to end where a file can reach them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "reader.h"

static const struct reader_limits small = {
	.max_file_bytes = 200,
	.max_documents = 3,
	.max_depth = 4,
	.max_string = 8,
	.max_nodes = 20,
};

static char *
write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/af_limits.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Read every document of `text` with the small limits: 0, or the first error's message. */
static const char *
read_all(const char *text, struct diags *d, size_t *ndocs)
{
	struct reader *r;
	struct arena a = ARENA_INIT;
	struct node *doc;
	char *path = write_tmp(text);
	int rc;

	*ndocs = 0;
	rc = reader_open(&r, path, &small, d);
	unlink(path);
	if (rc == 0) {
		while ((rc = reader_next(r, &a, &doc)) == 1) {
			(*ndocs)++;
			arena_reset(&a);
		}
		reader_close(r);
	}
	arena_free(&a);
	if (rc < 0) {
		assert_true(d->errors > 0 && d->n > 0);
		return d->items[0].msg;
	}
	assert_int_equal(d->errors, 0);
	return NULL;
}

#define EXPECT_OK(text, docs) do { \
	struct diags d_ = DIAGS_INIT; size_t n_; \
	assert_null(read_all(text, &d_, &n_)); \
	assert_int_equal(n_, docs); \
	diags_free(&d_); \
} while (0)

#define EXPECT_ERR(text, msg) do { \
	struct diags d_ = DIAGS_INIT; size_t n_; \
	const char *m_ = read_all(text, &d_, &n_); \
	assert_non_null(m_); \
	assert_string_equal(m_, msg); \
	diags_free(&d_); \
} while (0)

static void
test_file_size(void **state)
{
	char text[256];

	(void)state;
	memset(text, 'x', 200);
	text[0] = '#';
	text[199] = '\n';
	text[200] = '\0';
	EXPECT_OK(text, 0);
	text[199] = 'x';
	text[200] = '\n';
	text[201] = '\0';
	EXPECT_ERR(text, "file is 201 bytes; the limit is 200");
}

/* A pipe has no size up front: the reader stops once it has read past the limit. */
static void
test_file_size_pipe(void **state)
{
	struct diags d = DIAGS_INIT;
	struct reader *r;
	struct arena a = ARENA_INIT;
	struct node *doc;
	int fds[2], saved, rc, status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* 300 bytes of one long flow list: past the limit inside a document */
		const char *head = "a: [";
		close(fds[0]);
		if (write(fds[1], head, 4) != 4)
			_exit(1);
		for (int i = 0; i < 148; i++)
			if (write(fds[1], "1,", 2) != 2)
				_exit(1);
		_exit(write(fds[1], "1]\n", 3) == 3 ? 0 : 1);
	}
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	clearerr(stdin);
	assert_int_equal(reader_open(&r, "-", &small, &d), 0);
	while ((rc = reader_next(r, &a, &doc)) == 1)
		arena_reset(&a);
	reader_close(r);
	dup2(saved, 0);
	close(saved);
	clearerr(stdin);
	waitpid(pid, &status, 0);
	assert_int_equal(rc, -1);
	assert_true(d.n > 0);
	/* the node limit (20) or the size limit stops it first: either is a bound */
	assert_true(strstr(d.items[0].msg, "larger than 200 bytes") ||
		    strstr(d.items[0].msg, "more than 20 nodes"));
	arena_free(&a);
	diags_free(&d);
}

static void
test_documents(void **state)
{
	(void)state;
	EXPECT_OK("a: 1\n---\na: 2\n---\na: 3\n", 3);
	EXPECT_ERR("a: 1\n---\na: 2\n---\na: 3\n---\na: 4\n", "more than 3 documents");
}

static void
test_depth(void **state)
{
	(void)state;
	EXPECT_OK("a: [[[1]]]\n", 1);                          /* 4 levels */
	EXPECT_ERR("a: [[[[1]]]]\n", "nesting deeper than 4 levels");
}

static void
test_string(void **state)
{
	(void)state;
	EXPECT_OK("a: \"12345678\"\n", 1);
	EXPECT_ERR("a: \"123456789\"\n", "string of 9 bytes is longer than the limit of 8");
	/* keys are strings too */
	EXPECT_ERR("123456789: 1\n", "string of 9 bytes is longer than the limit of 8");
}

static void
test_nodes(void **state)
{
	(void)state;
	/* a map, a key, a list and 17 items: 20 nodes */
	EXPECT_OK("a: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]\n", 1);
	EXPECT_ERR("a: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]\n", "document has more than 20 nodes");
}

/* A billion laughs fails at its first alias, before anything is expanded. */
static void
test_aliases(void **state)
{
	static const struct reader_limits big = {
		.max_file_bytes = 1 << 20, .max_documents = 10, .max_depth = 32,
		.max_string = 1 << 16, .max_nodes = 100000,
	};
	struct diags d = DIAGS_INIT;
	struct reader *r;
	struct arena a = ARENA_INIT;
	struct node *doc;
	char text[4096], *p = text, *path;

	(void)state;
	p += sprintf(p, "l0: &l0 [lol]\n");
	for (int i = 1; i < 10; i++) {
		p += sprintf(p, "l%d: &l%d [", i, i);
		for (int k = 0; k < 10; k++)
			p += sprintf(p, "%s*l%d", k ? "," : "", i - 1);
		p += sprintf(p, "]\n");
	}
	path = write_tmp(text);
	assert_int_equal(reader_open(&r, path, &big, &d), 0);
	unlink(path);
	assert_int_equal(reader_next(r, &a, &doc), -1);
	reader_close(r);
	assert_string_equal(d.items[0].msg, "aliases (*name) are not supported: write the value out");
	assert_int_equal(d.items[0].line, 2);
	assert_true(a.used < 64 * 1024);
	arena_free(&a);
	diags_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_file_size_pipe),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_aliases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
