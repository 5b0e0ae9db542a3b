/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sink: transactional output to a file descriptor (stdout): nothing may
 * be written unless every input checked clean. How that is kept depends
 * on what the descriptor is:
 * - a regular file (`> out.yaml`): written as we go, and cut back to its
 *   old length if the run fails (one write, no copy);
 * - /dev/null: nothing to keep;
 * - a pipe or a terminal: held back, in memory up to SINK_SPILL bytes,
 *   then in an unlinked temporary file, and copied out at the end.
 * Memory stays flat in every case.
 *
 * The caller appends to `b` and calls sink_flush() once b.n reaches
 * SINK_SPILL. Errors are returned (an errno value in `err`); the sink
 * never prints.
 *
 * Ownership: the caller owns the struct; sink_close() releases the
 * buffer and the spill file.
 */
#ifndef AGENTFENCE_SINK_H
#define AGENTFENCE_SINK_H

#include <stdio.h>
#include <sys/types.h>

#include "buf.h"

#define SINK_SPILL (1u << 20)

enum sink_mode { SINK_HOLD, SINK_FILE, SINK_NULL };

struct sink {
	struct buf b;          /* what is not yet flushed */
	int fd;
	enum sink_mode mode;
	off_t start;           /* SINK_FILE: where our output begins */
	FILE *spill;           /* SINK_HOLD: past SINK_SPILL bytes */
	int err;               /* the first errno value; 0: none */
};

/* Start output to fd; zero the struct first. Never fails (hold back). */
void sink_open(struct sink *s, int fd);

/* Move b's bytes on (to the file, or the spill); -1 with s->err set. */
int sink_flush(struct sink *s);

/* The run succeeded: write everything held back. 0, or -1 with s->err. */
int sink_commit(struct sink *s);

/* The run failed: take back what went to a regular file. 0, or -1 with
 * errno set (the partial output stays). */
int sink_abort(struct sink *s);

void sink_close(struct sink *s);

#endif
