/* SPDX-License-Identifier: Apache-2.0 */
/*
 * duration: the one reader of durations on the command line, in Go's
 * form as kubectl takes them ("1m30s", "1.5s", "300ms", "2h45m"; units
 * ns, us, µs, ms, s, m, h), and a plain number of seconds ("30").
 *
 * duration_parse is Go's time.ParseDuration, case for case (its own test
 * table is tests/unit/test_duration.c); duration_ms is what the options
 * use. No allocation, no state.
 */
#ifndef AGENTFENCE_DURATION_H
#define AGENTFENCE_DURATION_H

#include <stdint.h>

/* Go's time.ParseDuration: 0 with *ns set, or -1 (not a duration, or
 * outside int64 nanoseconds). */
int duration_parse(const char *s, int64_t *ns);

/*
 * An option's duration in milliseconds: digits alone are seconds (as
 * kubectl's --request-timeout takes them), anything else Go's form; a
 * part of a millisecond counts as a whole one, so 1ns is not 0.
 * 0 with *ms set (0 only for a zero duration), -1 when not a duration,
 * -2 when negative or longer than max_ms.
 */
int duration_ms(const char *s, long max_ms, long *ms);

#endif
