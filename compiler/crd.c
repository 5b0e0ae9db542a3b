/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crd: schema/NAME.schema.json (JSON Schema 2020-12) to the structural
 * OpenAPI v3 schema a CustomResourceDefinition holds, and the two CRDs.
 *
 * A CRD's schema is OpenAPI v3.0 and must be structural: every node has
 * a type (or x-kubernetes-int-or-string), and allOf/anyOf/oneOf/not hold
 * value validations only. conv() walks one schema node:
 *
 *   $ref              the $defs target inlined; the node's own keywords
 *                     (a description) override the target's
 *   allOf             each member merged into the node when none of its
 *                     keywords is already there; the others stay in allOf
 *   if/then/else      anyOf: [allOf: [if, then], allOf: [not: if, else]]
 *   const             enum with the one value
 *   type: [string, integer, number]
 *                     x-kubernetes-int-or-string (a quantity such as 0.5
 *                     must then be written as a string, "0.5")
 *   exclusiveMinimum: N, exclusiveMaximum: N
 *                     minimum/maximum N and exclusiveMinimum/Maximum true
 *   uniqueItems       x-kubernetes-list-type: set (a CRD forbids uniqueItems)
 *   pattern           Go RE2 syntax: \uHHHH becomes \x{HHHH}; RE2 has no
 *                     lookarounds: ^(?=A)(?!B)R becomes pattern ^R with
 *                     allOf [pattern ^A, not: pattern ^B]; one elsewhere is
 *                     cut out (the pattern accepts more; the compiler checks)
 *   no type           inferred from const, enum, properties, items, or the
 *                     one type of all anyOf/oneOf members
 *   dropped           $schema, $id, $defs, $comment, title; additionalProperties
 *                     false (a CRD forbids it beside properties: the API server
 *                     prunes unknown fields, or refuses them under
 *                     fieldValidation=Strict); propertyNames (OpenAPI has no
 *                     such keyword, and a CEL rule over keys of unbounded length
 *                     would exceed the API server's cost budget)
 *   in a junctor      (allOf, anyOf, oneOf, not) no type, description,
 *                     additionalProperties, list type or int-or-string
 *
 * Any other keyword is an error: a new keyword in schema/ must be taught
 * here, never passed through into a CRD the API server would refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "crd.h"
#include "emit.h"
#include "jsonparse.h"
#include "node.h"
#include "xalloc.h"

#define CRD_DEPTH 32   /* schema/ nests 8 deep; this bounds $ref chains */
#define CRD_GROUP "agentfence.dev"
#define CRD_VERSION "v1alpha1"

/* embedded by tests/embed.sh (Makefile: $(BUILD)/schemas.c) */
extern const char schema_text_agentisolation[], schema_text_clusterprofile[];
extern const size_t schema_len_agentisolation, schema_len_clusterprofile;

struct conv {
	json_t *defs;   /* the document's $defs */
	int err;        /* out of memory, or an input this walk does not know */
};

/* Value keywords OpenAPI v3 shares with JSON Schema: copied as they are. */
static const char *const value_keys[] = {
	"enum", "required", "minimum", "maximum", "minLength", "maxLength", "minItems",
	"maxItems", "minProperties", "maxProperties", "multipleOf", "format", NULL
};
/* Keywords a CRD has no use or no room for (see above). */
static const char *const dropped_keys[] = {
	"$schema", "$id", "$defs", "$comment", "title", "propertyNames", NULL
};

static json_t *conv(struct conv *c, json_t *in, int junctor, int depth);

static int
in_list(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (strcmp(*list, k) == 0)
			return 1;
	return 0;
}

/* o[k] = v, v a new reference (stolen, also on failure); NULL v records an error */
static void
put(struct conv *c, json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v) != 0)
		c->err = 1;
}

static void
append(struct conv *c, json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v) != 0)
		c->err = 1;
}

/* A shallow copy of an object; NULL when out of memory (jansson's
 * json_copy ignores a failure to set a key and returns a partial copy). */
static json_t *
copy(json_t *o)
{
	json_t *out = json_object();

	if (out && json_object_update(out, o) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The target of `in`'s "$ref" with `in`'s other keywords over it: a new
 * reference, NULL on error. */
static json_t *
deref(struct conv *c, json_t *in)
{
	const char *ref = json_string_value(json_object_get(in, "$ref"));
	json_t *target, *out;

	if (!ref || strncmp(ref, "#/$defs/", 8) != 0 ||
	    !json_is_object(target = json_object_get(c->defs, ref + 8))) {
		c->err = 1;
		return NULL;
	}
	if (!(out = copy(target)) || json_object_update(out, in) != 0 ||
	    json_object_del(out, "$ref") != 0) {
		json_decref(out);
		c->err = 1;
		return NULL;
	}
	return out;
}

/* `in` with each allOf member merged in whose keywords are all new to it;
 * the others stay in allOf. A new reference, NULL on error. */
static json_t *
merge_allof(struct conv *c, json_t *in)
{
	json_t *all = json_object_get(in, "allOf"), *out, *rest, *m, *d, *v;
	const char *k;
	size_t i;

	if (!all)
		return json_incref(in);
	out = copy(in);
	rest = json_array();
	if (!out || !rest || !json_is_array(all) || json_object_del(out, "allOf") != 0)
		goto fail;
	json_array_foreach(all, i, m) {
		int clash = 0;

		if (!json_is_object(m))
			goto fail;
		if (!(d = json_object_get(m, "$ref") ? deref(c, m) : json_incref(m)))
			goto fail;
		json_object_foreach(d, k, v) {
			clash |= json_object_get(out, k) != NULL;
		}
		if (clash ? json_array_append(rest, m) : json_object_update(out, d)) {
			json_decref(d);
			goto fail;
		}
		json_decref(d);
	}
	if (json_array_size(rest))
		put(c, out, "allOf", rest);
	else
		json_decref(rest);
	return out;
fail:
	json_decref(out);
	json_decref(rest);
	c->err = 1;
	return NULL;
}

/* The OpenAPI type name of a JSON value. */
static const char *
value_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_NULL: break;
	}
	return NULL;
}

/* A schema node's one type, when its keywords tell; NULL when they do not. */
static const char *
type_of(struct conv *c, json_t *s, int depth)
{
	json_t *v, *m;
	const char *t = NULL, *mt;
	size_t i;

	if (!json_is_object(s) || depth > CRD_DEPTH)
		return NULL;
	if ((v = json_object_get(s, "type")))
		return json_string_value(v);
	if ((v = json_object_get(s, "$ref"))) {
		const char *ref = json_string_value(v);

		if (ref && strncmp(ref, "#/$defs/", 8) == 0)
			return type_of(c, json_object_get(c->defs, ref + 8), depth + 1);
		return NULL;
	}
	if ((v = json_object_get(s, "const")))
		return value_type(v);
	if ((v = json_object_get(s, "enum"))) {
		json_array_foreach(v, i, m) {
			mt = value_type(m);
			if (!mt || (t && strcmp(t, mt) != 0))
				return NULL;
			t = mt;
		}
		return t;
	}
	if (json_object_get(s, "properties"))
		return "object";
	if (json_object_get(s, "items"))
		return "array";
	if (!(v = json_object_get(s, "anyOf")) && !(v = json_object_get(s, "oneOf")))
		return NULL;
	json_array_foreach(v, i, m) {
		mt = type_of(c, m, depth + 1);
		if (!mt || (t && strcmp(t, mt) != 0))
			return NULL;
		t = mt;
	}
	return t;
}

/* "type": a name, or [string, integer(, number)]: int-or-string */
static void
conv_type(struct conv *c, json_t *out, json_t *v)
{
	int str = 0, num = 0, other = 0;
	json_t *m;
	size_t i;

	if (json_is_string(v)) {
		put(c, out, "type", json_incref(v));
		return;
	}
	json_array_foreach(v, i, m) {
		const char *t = json_string_value(m);

		if (t && strcmp(t, "string") == 0)
			str = 1;
		else if (t && (strcmp(t, "integer") == 0 || strcmp(t, "number") == 0))
			num = 1;
		else
			other = 1;
	}
	if (str && num && !other)
		put(c, out, "x-kubernetes-int-or-string", json_true());
	else
		c->err = 1;
}

/* The end of the group that opens at p[i] ('('): the index after its ')'. */
static size_t
group_end(const char *p, size_t i, size_t n)
{
	int depth = 0, class = 0;

	for (; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		else if (class)
			class = p[i] != ']';
		else if (p[i] == '[')
			class = 1;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* (?=  (?!  (?<=  (?<! */
static int
lookaround(const char *p, size_t n)
{
	return n >= 3 && p[0] == '(' && p[1] == '?' &&
	       (p[2] == '=' || p[2] == '!' || (n >= 4 && p[2] == '<' && (p[3] == '=' || p[3] == '!')));
}

static int
is_hex4(const char *p)
{
	for (int i = 0; i < 4; i++)
		if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
			return 0;
	return 1;
}

/* caret (^) or nothing, then p[0..n) in Go RE2 syntax: \uHHHH as \x{HHHH},
 * lookarounds cut out */
static json_t *
re2(struct conv *c, int caret, const char *p, size_t n)
{
	size_t i = 0, o = 0;
	int class = 0;
	char *out;
	json_t *r;

	/* \uHHHH (6 bytes) grows to \x{HHHH} (8): never twice as long */
	if (n > ((size_t)-1 - 8) / 2 || !(out = xmalloc(2 * n + 2))) {
		c->err = 1;
		return NULL;
	}
	if (caret)
		out[o++] = '^';
	while (i < n) {
		if (p[i] == '\\' && i + 5 < n && p[i + 1] == 'u' && is_hex4(p + i + 2)) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = '{';
			memcpy(out + o, p + i + 2, 4);
			o += 4;
			out[o++] = '}';
			i += 6;
		} else if (p[i] == '\\' && i + 1 < n) {
			out[o++] = p[i++];
			out[o++] = p[i++];
		} else if (!class && lookaround(p + i, n - i)) {
			i = group_end(p, i, n);
		} else {
			if (class)
				class = p[i] != ']';
			else
				class = p[i] == '[';
			out[o++] = p[i++];
		}
	}
	r = json_stringn(out, o);
	free(out);
	if (!r)
		c->err = 1;
	return r;
}

/*
 * "pattern": lookaheads right after the leading ^ become their own
 * patterns, which RE2 can say: ^(?=A)(?!B)R is pattern ^R with allOf
 * [pattern ^A, not: pattern ^B]. A lookaround elsewhere is cut out.
 */
static void
conv_pattern(struct conv *c, json_t *out, json_t *v)
{
	const char *p = json_string_value(v);
	json_t *all = json_object_get(out, "allOf");
	size_t i = 1, n, end;

	if (!p) {
		c->err = 1;
		return;
	}
	n = strlen(p);
	while (p[0] == '^' && i < n && lookaround(p + i, n - i) && p[i + 2] != '<') {
		json_t *look = json_object();

		end = group_end(p, i, n);
		if (!all && look)
			put(c, out, "allOf", all = json_array());
		if (look && p[i + 2] == '!')
			put(c, look, "not",
			    json_pack("{s:o}", "pattern", re2(c, 1, p + i + 3, end - i - 4)));
		else if (look)
			put(c, look, "pattern", re2(c, 1, p + i + 3, end - i - 4));
		append(c, all, look);
		i = end;
	}
	put(c, out, "pattern", p[0] == '^' ? re2(c, 1, p + i, n - i) : re2(c, 0, p, n));
}

/* Each schema of a map (properties) or list (allOf ...) converted. */
static json_t *
conv_each(struct conv *c, json_t *v, int junctor, int depth)
{
	json_t *out, *m;
	const char *k;
	size_t i;

	if (json_is_object(v)) {
		if (!(out = json_object()))
			return NULL;
		json_object_foreach(v, k, m) {
			put(c, out, k, conv(c, m, junctor, depth + 1));
		}
		return out;
	}
	if (!json_is_array(v) || !(out = json_array()))
		return NULL;
	json_array_foreach(v, i, m) {
		append(c, out, conv(c, m, 1, depth + 1));
	}
	return out;
}

/* if/then/else as anyOf: [allOf: [if, then], allOf: [not: if, else]] */
static void
conv_if(struct conv *c, json_t *in, json_t *out, int depth)
{
	json_t *when = json_object_get(in, "if"), *then = json_object_get(in, "then");
	json_t *els = json_object_get(in, "else"), *yes, *no, *not, *any;

	if (!when || (!then && !els))
		return;
	yes = json_array();
	no = json_array();
	not = json_object();
	any = json_array();
	if (!yes || !no || !not || !any) {
		json_decref(yes);
		json_decref(no);
		json_decref(not);
		json_decref(any);
		c->err = 1;
		return;
	}
	append(c, yes, conv(c, when, 1, depth + 1));
	if (then)
		append(c, yes, conv(c, then, 1, depth + 1));
	put(c, not, "not", conv(c, when, 1, depth + 1));
	append(c, no, not);
	if (els)
		append(c, no, conv(c, els, 1, depth + 1));
	append(c, any, json_pack("{s:o}", "allOf", yes));
	append(c, any, json_pack("{s:o}", "allOf", no));
	if (!json_object_get(out, "anyOf")) {
		put(c, out, "anyOf", any);
		return;
	}
	if (!json_object_get(out, "allOf"))
		put(c, out, "allOf", json_array());
	append(c, json_object_get(out, "allOf"), json_pack("{s:o}", "anyOf", any));
}

static json_t *
conv(struct conv *c, json_t *in0, int junctor, int depth)
{
	json_t *in, *out, *v;
	const char *k, *t;

	if (depth > CRD_DEPTH || !json_is_object(in0)) {
		c->err = 1;
		return NULL;
	}
	if (json_object_get(in0, "$ref")) {
		if (!(in = deref(c, in0)))
			return NULL;
		out = conv(c, in, junctor, depth + 1);
		json_decref(in);
		return out;
	}
	if (!(in = merge_allof(c, in0)))
		return NULL;
	if (!(out = json_object())) {
		json_decref(in);
		c->err = 1;
		return NULL;
	}
	json_object_foreach(in, k, v) {
		if (in_list(value_keys, k))
			put(c, out, k, json_incref(v));
		else if (strcmp(k, "type") == 0) {
			if (!junctor)
				conv_type(c, out, v);
		} else if (strcmp(k, "description") == 0) {
			if (!junctor)
				put(c, out, k, json_incref(v));
		} else if (strcmp(k, "const") == 0)
			put(c, out, "enum", json_pack("[O]", v));
		else if (strcmp(k, "properties") == 0)
			put(c, out, k, conv_each(c, v, junctor, depth));
		else if (strcmp(k, "items") == 0)
			put(c, out, k, conv(c, v, junctor, depth + 1));
		else if (strcmp(k, "not") == 0)
			put(c, out, k, conv(c, v, 1, depth + 1));
		else if (strcmp(k, "allOf") == 0 && json_object_get(out, k)) {
			json_t *more = conv_each(c, v, 1, depth);   /* after a pattern's */

			if (!more || json_array_extend(json_object_get(out, k), more) != 0)
				c->err = 1;
			json_decref(more);
		} else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0)
			put(c, out, k, conv_each(c, v, 1, depth));
		else if (strcmp(k, "additionalProperties") == 0) {
			if (json_is_object(v) && !junctor)   /* a map's values */
				put(c, out, k, conv(c, v, 0, depth + 1));
		} else if (strcmp(k, "exclusiveMinimum") == 0 || strcmp(k, "exclusiveMaximum") == 0) {
			put(c, out, strcmp(k, "exclusiveMinimum") == 0 ? "minimum" : "maximum",
			    json_incref(v));
			put(c, out, k, json_true());
		} else if (strcmp(k, "uniqueItems") == 0) {
			if (json_is_true(v) && !junctor)
				put(c, out, "x-kubernetes-list-type", json_string("set"));
		} else if (strcmp(k, "pattern") == 0)
			conv_pattern(c, out, v);
		else if (strcmp(k, "if") != 0 && strcmp(k, "then") != 0 && strcmp(k, "else") != 0 &&
			 !in_list(dropped_keys, k))
			c->err = 1;   /* a keyword this walk does not know */
	}
	conv_if(c, in, out, depth);
	if (!junctor && !json_object_get(out, "type") &&
	    !json_object_get(out, "x-kubernetes-int-or-string")) {
		if ((t = type_of(c, in, depth)))
			put(c, out, "type", json_string(t));
		else
			c->err = 1;   /* structural: every node has a type */
	}
	json_decref(in);
	return out;
}

json_t *
crd_schema(const json_t *json_schema)
{
	struct conv c = { NULL, 0 };
	json_t *out;

	if (!json_is_object(json_schema))
		return NULL;
	c.defs = json_object_get(json_schema, "$defs");
	out = conv(&c, (json_t *)json_schema, 0, 0);
	if (c.err) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* A custom resource's root: apiVersion, kind and metadata are the API
 * server's (it routes by apiVersion and kind, and metadata is ObjectMeta,
 * of which a CRD may restrict name only). */
static int
fix_root(json_t *root)
{
	struct conv c = { NULL, 0 };
	json_t *props = json_object_get(root, "properties"), *req = json_object_get(root, "required");
	json_t *name = json_object_get(json_object_get(json_object_get(props, "metadata"),
						       "properties"), "name");
	json_t *meta = json_pack("{s:s}", "type", "object"), *keep = json_array(), *v;
	size_t i;

	if (name && meta)
		put(&c, meta, "properties", json_pack("{s:O}", "name", name));
	put(&c, props, "metadata", meta);
	put(&c, props, "apiVersion", json_pack("{s:s,s:s}", "description",
					       CRD_GROUP "/" CRD_VERSION, "type", "string"));
	put(&c, props, "kind", json_pack("{s:s}", "type", "string"));
	json_array_foreach(req, i, v) {
		const char *r = json_string_value(v);

		if (r && strcmp(r, "apiVersion") != 0 && strcmp(r, "kind") != 0 &&
		    strcmp(r, "metadata") != 0)
			append(&c, keep, json_incref(v));
	}
	put(&c, root, "required", keep);
	return c.err ? -1 : 0;
}

static const struct crd_kind {
	const char *text;
	const size_t *len;
	const char *kind, *singular, *plural, *scope;
	const char *columns[3][3];   /* name, type, jsonPath */
} kinds[] = {
	{ schema_text_agentisolation, &schema_len_agentisolation, "AgentIsolation",
	  "agentisolation", "agentisolations", "Namespaced",
	  { { "Image", "string", ".spec.image" }, { "Egress", "string", ".spec.egress.mode" },
	    { "Age", "date", ".metadata.creationTimestamp" } } },
	{ schema_text_clusterprofile, &schema_len_clusterprofile, "ClusterProfile",
	  "clusterprofile", "clusterprofiles", "Cluster",
	  { { "Enforcement", "string", ".spec.enforcement" },
	    { "Age", "date", ".metadata.creationTimestamp" }, { NULL, NULL, NULL } } },
};

/* The CRD of one kind, as JSON; NULL on error. */
static json_t *
crd_json(const struct crd_kind *k)
{
	json_t *src = json_parse(k->text, *k->len, NULL), *schema = NULL, *cols, *crd = NULL;
	char name[64], list[64];

	if (!src || !(schema = crd_schema(src)) || fix_root(schema) < 0 || !(cols = json_array()))
		goto out;
	for (int i = 0; i < 3 && k->columns[i][0]; i++)
		if (json_array_append_new(cols, json_pack("{s:s,s:s,s:s}", "name", k->columns[i][0],
							  "type", k->columns[i][1], "jsonPath",
							  k->columns[i][2])) != 0) {
			json_decref(cols);
			goto out;
		}
	snprintf(name, sizeof(name), "%s.%s", k->plural, CRD_GROUP);
	snprintf(list, sizeof(list), "%sList", k->kind);
	crd = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:{s:s,s:s,s:s,s:s,s:[s]},s:s,"
			"s:[{s:s,s:b,s:b,s:{s:O},s:o}]}}",
			"apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition",
			"metadata", "name", name,
			"spec", "group", CRD_GROUP,
			"names", "kind", k->kind, "listKind", list, "plural", k->plural,
			"singular", k->singular, "categories", "agentfence",
			"scope", k->scope,
			"versions", "name", CRD_VERSION, "served", 1, "storage", 1,
			"schema", "openAPIV3Schema", schema, "additionalPrinterColumns", cols);
out:
	json_decref(src);
	json_decref(schema);
	return crd;
}

/* A JSON value as a node tree for emit_yaml; NULL when out of memory. */
static struct node *
to_node(struct arena *a, json_t *j)
{
	struct node *n, *v;
	const char *k;
	json_t *m;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if (!(n = node_new_map(a)))
			return NULL;
		json_object_foreach(j, k, m) {
			if (!(v = to_node(a, m)) || node_map_setn(a, n, k, strlen(k), v, 0) < 0)
				return NULL;
		}
		return n;
	case JSON_ARRAY:
		if (!(n = node_new_seq(a)))
			return NULL;
		json_array_foreach(j, i, m) {
			if (!(v = to_node(a, m)))
				return NULL;
			node_seq_add(n, v);
		}
		return n;
	case JSON_STRING:
		return node_new_str(a, json_string_value(j));
	case JSON_INTEGER:
		return node_new_int(a, (long)json_integer_value(j));
	case JSON_REAL: {
		const char *s = arena_sprintf(a, "%.17g", json_real_value(j));

		return s ? node_new_raw(a, s, NT_FLOAT) : NULL;
	}
	case JSON_TRUE:
	case JSON_FALSE:
		return node_new_bool(a, json_is_true(j));
	case JSON_NULL:
		break;
	}
	return node_new_raw(a, "null", NT_NULL);
}

static const char header[] =
	"# CustomResourceDefinitions of agentfence.dev/v1alpha1, written by `agentfence crd`\n"
	"# from schema/NAME.schema.json: AgentIsolation (namespaced), ClusterProfile (cluster).\n"
	"# A CRD cannot say all of schema/ (agentfence validate and compile still check it):\n"
	"# - unknown fields are pruned by the API server, not refused, unless the client\n"
	"#   asks for strict validation (kubectl apply --validate=strict, the default of\n"
	"#   recent kubectl; fieldValidation=Strict in the API);\n"
	"# - Go RE2 has no lookaheads: one at a pattern's start is a pattern of its own\n"
	"#   (allOf, not), one elsewhere is cut out (domain names: the pattern accepts more);\n"
	"# - label keys are not checked (propertyNames has no OpenAPI equivalent);\n"
	"# - a quantity is an integer or a string (\"0.5\", never the number 0.5);\n"
	"# - metadata is the API server's ObjectMeta (labels, annotations are allowed).\n";

int
crd_write(struct buf *out, int json)
{
	struct arena a = ARENA_INIT;
	int rc = 0;

	/* JSON: a v1 List, as compile --format json writes (the notes are YAML only) */
	buf_puts(out, json ? "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [" : header);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++) {
		json_t *crd = crd_json(&kinds[i]);
		struct node *n = crd ? to_node(&a, crd) : NULL;

		if (!n) {
			rc = -1;
		} else if (json) {
			buf_puts(out, i ? ",\n    " : "\n    ");
			rc = emit_json(out, n, 4);
		} else {
			buf_puts(out, "---\n");
			emit_yaml(out, n);
		}
		json_decref(crd);
	}
	if (json)
		buf_puts(out, "\n  ]\n}\n");
	arena_free(&a);
	return rc == 0 && !out->err ? 0 : -1;
}
