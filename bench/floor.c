/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor: the read floor of the benchmark. Parses a YAML stream with
 * libyaml's event parser (yaml_parser_parse, nothing built, nothing
 * checked) and prints the number of events. No compiler that reads YAML
 * can be faster than this; agentfence is measured against it.
 *
 * usage: floor FILE   (- or no argument: standard input)
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int
main(int argc, char **argv)
{
	FILE *f = argc > 1 && strcmp(argv[1], "-") != 0 ? fopen(argv[1], "rb") : stdin;
	yaml_parser_t parser;
	yaml_event_t event;
	unsigned long events = 0;
	int done = 0;

	if (!f) {
		perror(argv[1]);
		return 1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "floor: out of memory\n");
		return 1;
	}
	yaml_parser_set_input_file(&parser, f);
	while (!done) {
		if (!yaml_parser_parse(&parser, &event)) {
			fprintf(stderr, "floor: %s:%zu:%zu: %s\n", argc > 1 ? argv[1] : "<stdin>",
				parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				parser.problem ? parser.problem : "parse error");
			yaml_parser_delete(&parser);
			return 1;
		}
		done = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
		events++;
	}
	yaml_parser_delete(&parser);
	if (f != stdin)
		fclose(f);
	printf("%lu\n", events);
	return 0;
}
