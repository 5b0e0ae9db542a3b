/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cidr_driver: the address module on lines of standard input, for
 * tests/diff/test_cidr_diff.py to hold against Python's ipaddress.
 *
 *     cidr_driver parse       each line: "RC CANONICAL" (cidr_parse; on a
 *                             host-bits error, the masked prefix), or "RC -"
 *     cidr_driver addr        the same with cidr_parse_addr (no "/LEN")
 *     cidr_driver subtract    each line "FROM MINUS...": the result, one
 *                             line of prefixes separated by spaces
 *     cidr_driver normalize   each line "CIDR...": the normalized list
 *
 * Lines may hold any byte but '\n' (NUL included): the parser takes a
 * length, so the driver never looks for a terminator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static void
print_list(const struct cidr_list *l)
{
	char buf[CIDR_STRLEN];

	for (size_t i = 0; i < l->n; i++) {
		cidr_format(&l->items[i], buf, 1);
		printf("%s%s", i ? " " : "", buf);
	}
	putchar('\n');
}

/* Space-separated prefixes into `l`; -1 when one does not parse. */
static int
read_list(char *s, struct cidr_list *l)
{
	char *save = NULL, *tok;
	struct cidr c;

	for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (cidr_parse(tok, strlen(tok), &c) != CIDR_OK || cidr_list_add(l, &c) < 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	char *line = NULL, buf[CIDR_STRLEN];
	size_t cap = 0;
	ssize_t n;

	if (strcmp(mode, "parse") && strcmp(mode, "addr") && strcmp(mode, "subtract") &&
	    strcmp(mode, "normalize")) {
		fprintf(stderr, "usage: cidr_driver parse|addr|subtract|normalize <LINES\n");
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		struct cidr c;
		struct cidr_list l = { NULL, 0, 0 }, out = { NULL, 0, 0 };
		int rc;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (mode[0] == 'p' || mode[0] == 'a') {
			rc = mode[0] == 'p' ? cidr_parse(line, (size_t)n, &c)
					    : cidr_parse_addr(line, (size_t)n, &c);
			if (rc == CIDR_OK || rc == CIDR_E_HOSTBITS) {
				cidr_format(&c, buf, mode[0] == 'p');
				printf("%d %s\n", rc, buf);
			} else {
				printf("%d -\n", rc);
			}
			continue;
		}
		if (memchr(line, '\0', (size_t)n) || read_list(line, &l) < 0) {
			printf("ERR\n");
		} else if (mode[0] == 'n') {
			cidr_list_normalize(&l);
			print_list(&l);
		} else if (l.n == 0) {
			printf("ERR\n");
		} else {
			struct cidr_list minus = { l.items + 1, l.n - 1, l.n - 1 };

			if (cidr_subtract(&l.items[0], &minus, &out) < 0)
				printf("ERR\n");
			else
				print_list(&out);
		}
		cidr_list_free(&l);
		cidr_list_free(&out);
	}
	free(line);
	return fflush(stdout) == 0 ? 0 : 1;
}
