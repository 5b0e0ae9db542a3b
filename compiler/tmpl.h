/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tmpl: the base objects the compiler starts from.
 *
 * The files of templates/ are embedded at build time; --templates DIR
 * reads a site's own: DIR holds any of pod.yaml, networkpolicy.yaml and
 * egressgatewaypolicy.yaml (the embedded one for each file it lacks),
 * at least one of them, and nothing else but hidden files (.gitkeep).
 * A DIR that is missing, not a folder, holds none of them, or holds a
 * file of another name is an error, never a silent fall-back.
 * Each template is checked against a table of what a site may set:
 * scheduling and metadata fields, security-critical fields only to their
 * secure value, everything else is an error. Labels and annotations may
 * not hold agentfence's own keys nor the keys a CNI, runtime, security
 * module or mesh injector reads to change the Pod's network or sandbox
 * (the `forbidden` table of tmpl.c); tolerations must name their key.
 * The compiler then overwrites the security-critical fields anyway.
 *
 * Ownership: struct tmpl owns its arena; release with tmpl_free().
 */
#ifndef AGENTFENCE_TMPL_H
#define AGENTFENCE_TMPL_H

#include "arena.h"
#include "diag.h"
#include "node.h"

enum tmpl_kind { TMPL_POD, TMPL_NETPOL, TMPL_EGW, TMPL_COUNT };

struct tmpl {
	struct arena arena;
	struct node *obj[TMPL_COUNT];
};

/* dir NULL: the embedded templates. 0, or -1 with errors in d (every
 * error found in DIR and its files). */
int tmpl_load(struct tmpl *t, const char *dir, struct diags *d);
void tmpl_free(struct tmpl *t);

#endif
