/* SPDX-License-Identifier: Apache-2.0 */
#include "admission.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

#define TRY(x) do { if ((x) < 0) return -1; } while (0)
#define NN(x) do { if (!(x)) return -1; } while (0)

#define LABEL_PREFIX "agentfence.dev/"
#define LABEL_JOB_ID "agentfence.dev/job-id"

void
admission_name(char *out, const char *ns)
{
	snprintf(out, 256, "agentfence-admission.%s", ns);
}

static struct node *
str(struct arena *a, const char *s)
{
	return s ? node_new_str(a, s) : NULL;
}

/* What the policy sees: the resources it guards, with their operations. */
static const struct rule {
	const char *group;
	const char *version;
	const char *ops[3];
	size_t nops;
	const char *resources[3];
	size_t nres;
} rules[] = {
	{ "networking.k8s.io", "*", { "CREATE", "UPDATE", "DELETE" }, 3, { "networkpolicies" }, 1 },
	{ "cilium.io", "*", { "CREATE", "UPDATE", "DELETE" }, 3, { "ciliumnetworkpolicies" }, 1 },
	/* the Pod object through each way of writing it (labels, ephemeral containers) */
	{ "", "v1", { "CREATE", "UPDATE" }, 2,
	  { "pods", "pods/ephemeralcontainers", "pods/status" }, 3 },
	{ "", "v1", { "CREATE", "UPDATE", "DELETE" }, 3, { "serviceaccounts" }, 1 },
};

static struct node *
resource_rules(struct arena *a)
{
	struct node *seq = node_new_seq(a), *r;

	if (!seq)
		return NULL;
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
		const char *group = rules[i].group, *version = rules[i].version;

		if (!(r = node_new_map(a)) ||
		    node_map_put(a, r, "apiGroups", node_new_str_seq(a, &group, 1)) < 0 ||
		    node_map_put(a, r, "apiVersions", node_new_str_seq(a, &version, 1)) < 0 ||
		    node_map_put(a, r, "operations", node_new_str_seq(a, rules[i].ops, rules[i].nops)) < 0 ||
		    node_map_put(a, r, "resources", node_new_str_seq(a, rules[i].resources, rules[i].nres)) < 0 ||
		    node_map_put(a, r, "scope", node_new_lit(a, "Namespaced")) < 0)
			return NULL;
		node_seq_add(seq, r);
	}
	return seq;
}

/*
 * The CEL. A variable is evaluated for every request the policy sees, so
 * each holds for every guarded kind and for DELETE (object is null) and
 * CREATE (oldObject is null); what is particular to a kind sits behind a
 * test of request.resource.resource, which || and && skip (an error on
 * the other side does not count).
 */
#define LABELS_OF(o) "(" o " != null && has(" o ".metadata.labels) ? " o ".metadata.labels : {})"

static const char *const var_names[] = { "newLabels", "oldLabels", "agentObject", "labelsChanged",
	"cleanup" };
static const char *const var_exprs[] = {
	LABELS_OF("object"),
	LABELS_OF("oldObject"),
	("'" LABEL_JOB_ID "' in variables.newLabels || '" LABEL_JOB_ID "' in variables.oldLabels"),
	/* added or altered, then removed */
	("variables.newLabels.exists(k, k.startsWith('" LABEL_PREFIX "') && "
	 "(!(k in variables.oldLabels) || variables.oldLabels[k] != variables.newLabels[k])) || "
	 "variables.oldLabels.exists(k, k.startsWith('" LABEL_PREFIX "') && !(k in variables.newLabels))"),
	/* the namespace controller empties a namespace being deleted */
	("request.operation == 'DELETE' && namespaceObject != null && "
	 "has(namespaceObject.metadata.deletionTimestamp)"),
};

static const struct validation {
	const char *expr;
	const char *msg;        /* after "agentfence admission guard of namespace NS: " */
} validations[] = {
	{ "!(request.resource.resource in ['networkpolicies', 'ciliumnetworkpolicies']) || "
	  "variables.writer || variables.cleanup",
	  "only the agent writers (the profile's spec.admission.writers) may create, change or "
	  "delete NetworkPolicies and CiliumNetworkPolicies" },
	{ "request.resource.resource != 'pods' || variables.writer || !variables.labelsChanged",
	  "only the agent writers (the profile's spec.admission.writers) may create a Pod with "
	  "agentfence.dev/ labels, or add, change or remove such a label" },
	{ "request.resource.resource != 'pods' || request.subResource != 'ephemeralcontainers' || "
	  "!variables.agentObject",
	  "no one may add ephemeral containers to an agent Pod" },
	{ "request.resource.resource != 'pods' || object == null || !variables.agentObject || "
	  "!has(object.spec.volumes) || !object.spec.volumes.exists(v, has(v.projected) && "
	  "has(v.projected.sources) && v.projected.sources.exists(s, has(s.serviceAccountToken)))",
	  "an agent Pod may not have a projected service account token volume (a webhook that "
	  "injects cloud credentials adds one)" },
	{ "request.resource.resource != 'serviceaccounts' || variables.writer || variables.cleanup || "
	  "(object != null ? object : oldObject).metadata.name != '" ADMISSION_SA "'",
	  "only the agent writers (the profile's spec.admission.writers) may create, change or "
	  "delete the ServiceAccount " ADMISSION_SA },
};

/* request.userInfo.username in ['w1', ...]: profile.c refuses quotes and
 * backslashes, so every name is a plain CEL string literal */
static struct node *
writer_expr(struct arena *a, const struct profile *p)
{
	struct buf b = BUF_INIT;
	struct node *n = NULL;
	char *s;

	buf_puts(&b, "request.userInfo.username in [");
	for (size_t i = 0; i < p->nwriters; i++) {
		buf_puts(&b, i ? ", '" : "'");
		buf_puts(&b, p->writers[i]);
		buf_putc(&b, '\'');
	}
	buf_putc(&b, ']');
	if (!b.err && (s = arena_strndup(a, b.p, b.n)))
		n = node_new_str(a, s);
	buf_free(&b);
	return n;
}

static struct node *
variable(struct arena *a, const char *name, struct node *expression)
{
	struct node *v = node_new_map(a);

	if (!v || node_map_put(a, v, "name", str(a, name)) < 0 ||
	    node_map_put(a, v, "expression", expression) < 0)
		return NULL;
	return v;
}

int
admission_policy(struct arena *a, const struct profile *p, const char *ns, struct node *obj)
{
	struct node *spec, *mc, *vars, *vals, *v;

	NN(spec = node_map_sub_put(a, obj, "spec"));
	TRY(node_map_put(a, spec, "failurePolicy", node_new_lit(a, "Fail")));
	NN(mc = node_map_sub_put(a, spec, "matchConstraints"));
	TRY(node_map_put(a, mc, "resourceRules", resource_rules(a)));
	NN(vars = node_new_seq(a));
	NN(v = variable(a, "writer", writer_expr(a, p)));
	node_seq_add(vars, v);
	for (size_t i = 0; i < sizeof(var_names) / sizeof(*var_names); i++) {
		NN(v = variable(a, var_names[i], str(a, var_exprs[i])));
		node_seq_add(vars, v);
	}
	TRY(node_map_put(a, spec, "variables", vars));
	NN(vals = node_new_seq(a));
	for (size_t i = 0; i < sizeof(validations) / sizeof(*validations); i++) {
		NN(v = node_new_map(a));
		TRY(node_map_put(a, v, "expression", str(a, validations[i].expr)));
		TRY(node_map_put(a, v, "message",
				 node_new_strf(a, "agentfence admission guard of namespace %s: %s", ns,
				      validations[i].msg)));
		TRY(node_map_put(a, v, "reason", node_new_lit(a, "Forbidden")));
		node_seq_add(vals, v);
	}
	return node_map_put(a, spec, "validations", vals);
}

int
admission_binding(struct arena *a, const char *ns, struct node *obj)
{
	struct node *spec, *acts, *mr, *sel, *ml;
	char name[256];

	admission_name(name, ns);
	NN(spec = node_map_sub_put(a, obj, "spec"));
	TRY(node_map_put(a, spec, "policyName", str(a, arena_strndup(a, name, strlen(name)))));
	NN(acts = node_new_seq(a));
	node_seq_add(acts, node_new_lit(a, "Deny"));
	NN(acts->head);
	TRY(node_map_put(a, spec, "validationActions", acts));
	NN(mr = node_map_sub_put(a, spec, "matchResources"));
	NN(sel = node_map_sub_put(a, mr, "namespaceSelector"));
	NN(ml = node_map_sub_put(a, sel, "matchLabels"));
	return node_map_put(a, ml, "kubernetes.io/metadata.name", str(a, ns));
}
