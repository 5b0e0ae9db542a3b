/* SPDX-License-Identifier: Apache-2.0 */
/*
 * difftool: two folders, LIVE and MERGED, one file per object, compared
 * by a diff program, as kubectl diff does.
 *
 * The folders are made with mkdtemp under $TMPDIR (else /tmp), mode
 * 0700, named LIVE-XXXXXX and MERGED-XXXXXX. An object absent from one
 * side has no file there (diff -N takes it as empty). The program is
 * "diff -u -N", or the command given (AGENTFENCE_EXTERNAL_DIFF, else
 * KUBECTL_EXTERNAL_DIFF): its words split at spaces, the first the
 * program (found on $PATH), each further one an argument made of letters,
 * digits, '-' and '=' only (kubectl's rule, though kubectl drops the
 * others silently: here they are refused). The program is given the two
 * folders and writes straight to standard output.
 *
 * Nothing here prints: errors go to diags. difftool_close() removes both
 * folders and the files in them, whatever happened before.
 */
#ifndef AGENTFENCE_DIFFTOOL_H
#define AGENTFENCE_DIFFTOOL_H

#include <stddef.h>

#include "diag.h"

#define DIFFTOOL_DEFAULT "diff -u -N"

struct difftool {
	char live[4096], merged[4096];  /* "" until made */
};

/* 0, or -1 with an error in d. */
int difftool_open(struct difftool *t, struct diags *d);
/* Write one object's sides (NULL: absent) as `name` in each folder. 0, or -1 (d). */
int difftool_add(struct difftool *t, const char *name, const char *live, size_t live_len,
		 const char *merged, size_t merged_len, struct diags *d);
/*
 * Run `cmd` (NULL: DIFFTOOL_DEFAULT) on LIVE and MERGED: 0 when it says
 * they are the same, 1 when they differ, -1 when it failed (its exit
 * status above 1, a signal, not found, a bad argument: the error in d).
 */
int difftool_run(struct difftool *t, const char *cmd, const char *var, struct diags *d);
void difftool_close(struct difftool *t);

#endif
