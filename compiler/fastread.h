/*
 * fastread: a scanner for the plain block YAML that agent specs are
 * written in, several times faster than libyaml's event parser.
 *
 * It reads one document and gives the events libyaml would give for it
 * (same order, values, scalar styles and start marks), or says it cannot:
 * anything outside a small subset makes it give up on the document, and
 * node.c then reads that document and the rest of the stream with libyaml.
 * The subset: block mappings with simple plain keys, block sequences
 * (also indentless), single-line plain, single- and double-quoted scalars
 * (no backslash escapes), one-line flow sequences of those, comments,
 * "---" document starts, an implicit first document; printable ASCII,
 * spaces and LF only. No tabs, CR, non-ASCII, anchors, aliases, tags,
 * directives, "...", block scalars, flow mappings, multi-line scalars,
 * empty values, complex keys. A syntax error is never reported here:
 * the scanner gives up and libyaml reports it with its own words.
 *
 * Why giving up is always safe: the scanner only starts at the start of
 * the stream or at a "---" line that follows a document it read in full,
 * where a fresh libyaml parser is in the same state as one that had read
 * everything before.
 *
 * tests/reader/ checks the claim: every document is read both ways and
 * the trees compared (also under libFuzzer: tests/fuzz/fuzz_reader.c).
 */
#ifndef AGENTFENCE_FASTREAD_H
#define AGENTFENCE_FASTREAD_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

enum fr_type {
	FR_DOC_START,
	FR_DOC_END,
	FR_MAP_START,
	FR_MAP_END,
	FR_SEQ_START,
	FR_SEQ_END,
	FR_SCALAR,
	FR_ALIAS,            /* libyaml only */
	FR_OTHER,            /* libyaml only: stream start */
};

struct fr_event {
	uint8_t type;        /* enum fr_type */
	uint8_t quoted;      /* FR_SCALAR: single- or double-quoted */
	int line, col;       /* 0-based, as libyaml's marks */
	size_t index;        /* byte offset in the stream */
	const char *str;     /* FR_SCALAR: the value (not NUL-terminated) */
	size_t len;
};

struct fr_events {
	struct fr_event *ev;
	size_t n, cap;
};

enum fr_result {
	FR_DOC = 1,          /* a document: events in out, *used bytes read */
	FR_SKIP = 2,         /* only blank and comment lines: *used bytes */
	FR_MORE = 3,         /* the document goes on past text[len): read more */
	FR_GIVE_UP = 0,      /* not in the subset (or not YAML): use libyaml */
	FR_NOMEM = -1,
};

/*
 * Scan the document at text[0], which is at column 0 of line `line`,
 * byte `index` of the stream; text[0..valid) is known to hold only
 * printable ASCII and LF (fr_plain_prefix), a document that reaches past
 * it is given up. `first` says no document came before (an implicit
 * document may start here). `eof`: text[len) is the end of the stream.
 * Escaped quotes ('') are decoded into `a`; other values point into text.
 * On FR_DOC and FR_SKIP, *used is where the next document begins and
 * *lines the number of lines in text[0..*used).
 */
enum fr_result fr_document(const char *text, size_t len, size_t valid, int eof,
			   int first, int line, size_t index, struct arena *a,
			   struct fr_events *out, size_t *used, int *lines);

/* The length of the longest prefix of t[0..n) that is printable ASCII and LF. */
size_t fr_plain_prefix(const char *t, size_t n);

void fr_events_free(struct fr_events *e);

#endif
