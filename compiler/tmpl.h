/*
 * tmpl: the base objects the compiler starts from.
 *
 * The files of templates/ are embedded at build time; --templates DIR
 * reads a site's own (any of pod.yaml, networkpolicy.yaml,
 * egressgatewaypolicy.yaml; the embedded one for each missing file).
 * Each template is checked against a table of what a site may set:
 * scheduling and metadata fields freely, security-critical fields only
 * to their secure value, everything else is an error. The compiler then
 * overwrites the security-critical fields anyway.
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

/* dir NULL: the embedded templates. 0, or -1 with errors in d. */
int tmpl_load(struct tmpl *t, const char *dir, struct diags *d);
void tmpl_free(struct tmpl *t);

/* The embedded text of a template (for --print-templates and tests). */
const char *tmpl_embedded(enum tmpl_kind k, size_t *len);
const char *tmpl_file_name(enum tmpl_kind k);

#endif
