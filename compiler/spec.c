/* SPDX-License-Identifier: Apache-2.0 */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "names.h"
#include "check.h"

static const char *const mode_names[] = { "none", "public", "allowlist", "gateway" };

const char *
spec_mode_name(enum spec_mode m)
{
	return mode_names[m];
}

/* Out of memory is an error like any other: a spec is never taken half-read
 * (spec_read() judges by the error count, so an unrecorded failure would
 * pass an agent with, say, no port list: every port open). */
static int
oom(struct check *c, const struct node *at)
{
	check_error(c, at, "out of memory");
	return -1;
}

/* A string that may be empty (env values, args). */
static const char *
str_or_empty(struct check *c, const struct node *n, const char *path)
{
	if (n && n->kind == NODE_SCALAR && n->type == NT_STR)
		return n->str;
	return check_str(c, n, path);
}

static int
read_strings(struct check *c, const struct node *seq, const char *path,
	     const char ***out, size_t *n)
{
	const struct node *it;
	char p[CHECK_PATH];
	size_t i = 0;
	int bad = 0;

	if (check_is_seq(c, seq, path) < 0)
		return -1;
	if (seq->count > SPEC_MAX_ARGS) {
		check_error(c, seq, "%s: %zu entries; the limit is %d", path, seq->count, SPEC_MAX_ARGS);
		return -1;
	}
	*out = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof(**out));
	if (!*out)
		return oom(c, seq);
	for (it = seq->head; it; it = it->next, i++) {
		(*out)[i] = str_or_empty(c, it, check_index(p, path, i));
		bad |= !(*out)[i];
	}
	*n = i;
	return bad ? -1 : 0;
}


/* One allowlist entry that is not an address: a DNS name (names.h). */
static int
read_name(struct check *c, struct spec_agent *ag, const struct node *it, const char *path,
	  const struct profile *p, size_t max)
{
	enum name_kind kind;
	char why[160];

	if (names_check(it->str, it->len, &kind, why, sizeof(why)) < 0) {
		check_error(c, it, "%s: \"%s\" is not a valid DNS name: %s", path, it->str, why);
		return -1;
	}
	if (p->enforcement == ENF_NETPOL) {
		check_error(c, it, "%s: \"%s\" is a DNS name; names need spec.enforcement: cilium or clusternetworkpolicy in the cluster profile (%s enforces with NetworkPolicy, which matches addresses only)",
			    path, it->str, p->file ? p->file : "the built-in profile");
		return -1;
	}
	for (size_t k = 0; k < ag->nnames; k++) {
		if (strcmp(ag->names[k].name, it->str) == 0) {
			check_error(c, it, "%s: \"%s\" is listed twice", path, it->str);
			return -1;
		}
	}
	if (!ag->names && !(ag->names = arena_alloc(c->a, max * sizeof(*ag->names)))) {
		check_error(c, it, "out of memory");
		return -1;
	}
	ag->names[ag->nnames].name = it->str;
	ag->names[ag->nnames].wildcard = kind == NAME_WILDCARD;
	ag->nnames++;
	return 0;
}

static int
read_allow(struct check *c, struct spec_agent *ag, const struct node *seq,
	   const struct profile *p)
{
	const struct node *it;
	char path[CHECK_PATH], b1[CIDR_STRLEN], b2[CIDR_STRLEN], b3[CIDR_STRLEN];
	struct cidr v, hit, global, img;
	size_t i = 0;
	int bad = 0;

	if (check_is_seq(c, seq, "spec.egress.allow") < 0)
		return -1;
	if (seq->count == 0 || seq->count > SPEC_MAX_ALLOW) {
		check_error(c, seq, "spec.egress.allow: needs 1 to %d CIDRs or DNS names, got %zu",
			    SPEC_MAX_ALLOW, seq->count);
		return -1;
	}
	cidr_parse(CATALOG_V6_GLOBAL, strlen(CATALOG_V6_GLOBAL), &global);
	for (it = seq->head; it; it = it->next, i++) {
		check_index(path, "spec.egress.allow", i);
		if (it->kind == NODE_SCALAR && it->type == NT_STR && !names_is_address_like(it->str, it->len)) {
			bad |= read_name(c, ag, it, path, p, seq->count) < 0;
			continue;
		}
		if (check_cidr(c, it, path, &v) < 0) {
			bad = 1;
			continue;
		}
		cidr_format(&v, b1, 1);
		/* an IPv6-only cluster with NAT64 reaches IPv4 ranges through their NAT64 image */
		if ((v.family == CIDR_V4 && !p->ipv4 && !p->nat64) || (v.family == CIDR_V6 && !p->ipv6)) {
			check_error(c, it, "%s: %s is IPv%d, but the cluster profile has no IPv%d%s",
				    path, b1, v.family, v.family, v.family == CIDR_V4 ? " (nor nat64)" : "");
			bad = 1;
		} else if (profile_never(p, &v, &hit)) {
			cidr_format(&hit, b2, 1);
			check_error(c, it, "%s: %s overlaps %s, which no agent may reach",
				    path, b1, b2);
			bad = 1;
		} else if (v.family == CIDR_V4 && p->nat64 &&
			   (img = cidr_nat64(&v), profile_never_nat64(p, &img, &hit))) {
			/* the NAT64 image is opened too: it must not reach the cluster's own ranges */
			cidr_format(&img, b2, 1);
			cidr_format(&hit, b3, 1);
			check_error(c, it, "%s: %s reaches %s through NAT64, which overlaps %s, which no agent may reach",
				    path, b1, b2, b3);
			bad = 1;
		} else if (v.family == CIDR_V6 && !cidr_contains(&global, &v)) {
			check_error(c, it, "%s: %s is outside global unicast %s, so it is not public",
				    path, b1, CATALOG_V6_GLOBAL);
			bad = 1;
		} else if (cidr_list_add(&ag->allow, &v) < 0) {
			check_error(c, it, "out of memory");
			return -1;
		}
	}
	cidr_list_normalize(&ag->allow);
	return bad ? -1 : 0;
}

static int
read_static_ip(struct check *c, struct spec_agent *ag, const struct node *n)
{
	static const struct { const char *cidr, *what; } bad_ranges[] = {
		{ "0.0.0.0/8", "an unspecified (\"this network\") address" },
		{ "127.0.0.0/8", "a loopback address" },
		{ "169.254.0.0/16", "a link-local address" },
		{ "224.0.0.0/4", "a multicast address" },
		{ "255.255.255.255/32", "the broadcast address" },
		{ "240.0.0.0/4", "a reserved address" },
	};
	const char *s = check_str(c, n, "spec.egress.staticIP");
	struct cidr v, r;
	int rc;

	if (!s)
		return -1;
	if (memchr(s, '/', n->len)) {
		check_error(c, n, "spec.egress.staticIP: \"%s\" is a CIDR; write the address alone", s);
		return -1;
	}
	if ((rc = cidr_parse_addr(s, n->len, &v)) < 0) {
		check_error(c, n, "spec.egress.staticIP: \"%s\" is not an IP address: %s", s,
			    cidr_strerror(rc));
		return -1;
	}
	if (v.family != CIDR_V4) {
		check_error(c, n, "spec.egress.staticIP: \"%s\" is IPv6; a Cilium egress gateway takes an IPv4 address", s);
		return -1;
	}
	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++) {
		cidr_parse(bad_ranges[i].cidr, strlen(bad_ranges[i].cidr), &r);
		if (cidr_contains(&r, &v)) {
			check_error(c, n, "spec.egress.staticIP: %s is %s, not a unicast host address",
				    s, bad_ranges[i].what);
			return -1;
		}
	}
	ag->static_ip = v;
	return 0;
}

/* A ClusterNetworkPolicy list (rules, protocols) holds at most 25 items. */
#define CNP_MAX_ITEMS 25

static int
cnp_limit(struct check *c, const struct profile *p, const struct node *n, const char *path,
	  size_t count, const char *what)
{
	if (p->enforcement != ENF_CNP || count <= CNP_MAX_ITEMS)
		return 0;
	check_error(c, n, "%s: %zu %s; with enforcement: clusternetworkpolicy the limit is %d (a ClusterNetworkPolicy rule holds at most %d)",
		    path, count, what, CNP_MAX_ITEMS, CNP_MAX_ITEMS);
	return -1;
}

static int
read_egress(struct check *c, struct spec_agent *ag, const struct node *eg,
	    const struct profile *p)
{
	static const char *const keys[] = { "mode", "allow", "ports", "staticIP", "gateway", "dns", NULL };
	static const char *const gw_keys[] = { "nodeSelector", NULL };
	const struct node *m, *v;
	const char *s;
	int bad = 0;
	size_t i;

	if (check_is_map(c, eg, "spec.egress") < 0)
		return -1;
	bad |= check_keys(c, eg, "spec.egress", keys) != 0;
	m = node_map_get(eg, "mode");
	if (!m) {
		check_error(c, eg, "spec.egress.mode is required; expected one of: none, public, allowlist, gateway");
		return -1;
	}
	if (!(s = check_str(c, m, "spec.egress.mode")))
		return -1;
	for (i = 0; i < 4; i++)
		if (strcmp(s, mode_names[i]) == 0)
			break;
	if (i == 4) {
		check_error(c, m, "spec.egress.mode: \"%s\" is not a mode; expected one of: none, public, allowlist, gateway", s);
		return -1;
	}
	ag->mode = (enum spec_mode)i;

	if ((v = node_map_get(eg, "allow"))) {
		if (ag->mode != MODE_ALLOWLIST) {
			check_error(c, v, "spec.egress.allow is only valid with mode: allowlist (mode is %s)", s);
			bad = 1;
		} else {
			bad |= read_allow(c, ag, v, p) < 0;
		}
	} else if (ag->mode == MODE_ALLOWLIST) {
		check_error(c, eg, "spec.egress.allow is required with mode: allowlist (a non-empty list of public CIDRs or DNS names)");
		bad = 1;
	}
	if ((v = node_map_get(eg, "staticIP"))) {
		if (ag->mode != MODE_GATEWAY) {
			check_error(c, v, "spec.egress.staticIP is only valid with mode: gateway (mode is %s)", s);
			bad = 1;
		} else {
			bad |= read_static_ip(c, ag, v) < 0;
		}
	} else if (ag->mode == MODE_GATEWAY) {
		check_error(c, eg, "spec.egress.staticIP is required with mode: gateway");
		bad = 1;
	}
	if ((v = node_map_get(eg, "gateway"))) {
		if (ag->mode != MODE_GATEWAY) {
			check_error(c, v, "spec.egress.gateway is only valid with mode: gateway (mode is %s)", s);
			bad = 1;
		} else if (check_is_map(c, v, "spec.egress.gateway") < 0) {
			bad = 1;
		} else {
			const struct node *ns;

			bad |= check_keys(c, v, "spec.egress.gateway", gw_keys) != 0;
			if ((ns = node_map_get(v, "nodeSelector"))) {
				bad |= check_labels(c, ns, "spec.egress.gateway.nodeSelector",
						   &ag->gw_selector, &ag->gw_nselector) < 0;
				if (ns->kind == NODE_MAP && ns->count == 0) {
					check_error(c, ns, "spec.egress.gateway.nodeSelector: must select the gateway nodes (empty matches every node)");
					bad = 1;
				}
			}
		}
	}
	if (ag->mode == MODE_GATEWAY && !p->ipv4) {
		check_error(c, m, "spec.egress.mode: gateway needs IPv4, but the cluster profile has no IPv4");
		bad = 1;
	}
	ag->dns = ag->mode != MODE_NONE;
	if ((v = node_map_get(eg, "dns"))) {
		if (ag->mode == MODE_NONE) {
			check_error(c, v, "spec.egress.dns is not valid with mode: none (no egress at all)");
			bad = 1;
		} else if (check_bool(c, v, "spec.egress.dns", &ag->dns) < 0) {
			bad = 1;
		} else if (!ag->dns && ag->nnames) {
			check_error(c, v, "spec.egress.dns: false, but spec.egress.allow names %s: a name is reached only through DNS",
				    ag->names[0].name);
			bad = 1;
		}
	}
	if ((v = node_map_get(eg, "ports"))) {
		if (ag->mode == MODE_NONE) {
			check_error(c, v, "spec.egress.ports is not valid with mode: none (no egress at all)");
			bad = 1;
		} else {
			bad |= check_ports(c, v, "spec.egress.ports", SPEC_MAX_PORTS, &ag->ports, &ag->nports) < 0 ||
			       cnp_limit(c, p, v, "spec.egress.ports", ag->nports, "ports") < 0;
		}
	}
	return bad ? -1 : 0;
}

static int
read_ingress(struct check *c, struct spec_agent *ag, const struct node *seq,
	     const struct profile *p)
{
	static const char *const keys[] = { "from", "ports", NULL };
	static const char *const from_keys[] = { "namespace", "podLabels", NULL };
	const struct node *it, *from, *v;
	char path[CHECK_PATH], p2[CHECK_PATH];
	size_t i = 0;
	int bad = 0;

	if (check_is_seq(c, seq, "spec.ingress") < 0)
		return -1;
	if (seq->count > SPEC_MAX_INGRESS) {
		check_error(c, seq, "spec.ingress: %zu entries; the limit is %d", seq->count, SPEC_MAX_INGRESS);
		return -1;
	}
	if (cnp_limit(c, p, seq, "spec.ingress", seq->count, "entries") < 0)
		return -1;
	ag->ingress = arena_zalloc(c->a, (seq->count ? seq->count : 1) * sizeof(*ag->ingress));
	if (!ag->ingress)
		return oom(c, seq);
	for (it = seq->head; it; it = it->next, i++) {
		struct spec_ingress *in = &ag->ingress[i];

		check_index(path, "spec.ingress", i);
		if (check_is_map(c, it, path) < 0) {
			bad = 1;
			continue;
		}
		bad |= check_keys(c, it, path, keys) != 0;
		from = check_required(c, it, path, "from");
		if (from && check_is_map(c, from, check_path(p2, path, "from")) == 0) {
			bad |= check_keys(c, from, p2, from_keys) != 0;
			v = check_required(c, from, p2, "namespace");
			if (v) {
				char p3[CHECK_PATH];

				in->ns = check_str(c, v, check_path(p3, p2, "namespace"));
				if (in->ns && !check_dns_label(in->ns)) {
					check_error(c, v, "%s: \"%s\" is not a valid namespace name", p3, in->ns);
					in->ns = NULL;
				}
				bad |= !in->ns;
			} else {
				bad = 1;
			}
			/* whom, said aloud: {} is every Pod of the namespace, and
			 * leaving it out must not quietly mean that */
			if ((v = node_map_get(from, "podLabels"))) {
				char p3[CHECK_PATH];

				bad |= check_labels(c, v, check_path(p3, p2, "podLabels"),
						   &in->labels, &in->nlabels) < 0;
			} else {
				check_error(c, from, "%s: podLabels is required: name the Pods that may "
					    "connect, or write podLabels: {} for every Pod of namespace %s",
					    p2, in->ns ? in->ns : "the namespace");
				bad = 1;
			}
		} else {
			bad = 1;
		}
		/* ports are required: an ingress rule never opens every port */
		v = check_required(c, it, path, "ports");
		if (v)
			bad |= check_ports(c, v, check_path(p2, path, "ports"), SPEC_MAX_PORTS, &in->ports,
					  &in->nports) < 0 ||
			       cnp_limit(c, p, v, p2, in->nports, "ports") < 0;
		else
			bad = 1;
	}
	ag->ningress = i;
	return bad ? -1 : 0;
}

/* A Secret or ConfigMap key (Kubernetes IsConfigMapKey): [-._a-zA-Z0-9]+,
 * at most 253, not "." or ".." nor starting with "..". */
static int
config_key_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || strcmp(s, ".") == 0 || strncmp(s, "..", 2) == 0)
		return 0;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.'))
			return 0;
	return 1;
}

/* valueFrom: exactly one of secretKeyRef, configMapKeyRef. The Downward
 * API (fieldRef, resourceFieldRef) is refused: it would tell the agent its
 * node's name and address and its Pod's IP, what it must not map. */
static int
read_value_from(struct check *c, struct spec_env *e, const struct node *vf, const char *path)
{
	static const char *const keys[] = { "secretKeyRef", "configMapKeyRef", "fieldRef",
		"resourceFieldRef", NULL };
	static const char *const ref_keys[] = { "name", "key", "optional", NULL };
	static const char *const refused[] = { "fieldRef", "resourceFieldRef" };
	const struct node *ref = NULL, *v;
	char p[CHECK_PATH], p2[CHECK_PATH];
	int bad = 0;

	if (check_is_map(c, vf, path) < 0)
		return -1;
	bad |= check_keys(c, vf, path, keys) != 0;
	for (size_t i = 0; i < 2; i++) {
		if ((v = node_map_get(vf, refused[i]))) {
			check_error(c, v, "%s: not supported; expected secretKeyRef or configMapKeyRef (the Downward API would tell the agent its node and Pod addresses)",
				    check_path(p, path, refused[i]));
			bad = 1;
		}
	}
	if ((v = node_map_get(vf, "secretKeyRef"))) {
		ref = v;
		e->from = ENV_SECRET;
		check_path(p, path, "secretKeyRef");
	}
	if ((v = node_map_get(vf, "configMapKeyRef"))) {
		if (ref) {
			check_error(c, v, "%s: takes one of secretKeyRef or configMapKeyRef, not both", path);
			return -1;
		}
		ref = v;
		e->from = ENV_CONFIGMAP;
		check_path(p, path, "configMapKeyRef");
	}
	if (!ref) {
		if (!bad)
			check_error(c, vf, "%s: needs secretKeyRef or configMapKeyRef", path);
		return -1;
	}
	if (check_is_map(c, ref, p) < 0)
		return -1;
	bad |= check_keys(c, ref, p, ref_keys) != 0;
	if ((v = check_required(c, ref, p, "name"))) {
		e->ref_name = check_str(c, v, check_path(p2, p, "name"));
		if (e->ref_name && !check_dns_subdomain(e->ref_name)) {
			check_error(c, v, "%s: \"%s\" is not a valid %s name (a DNS subdomain)", p2,
				    e->ref_name, e->from == ENV_SECRET ? "Secret" : "ConfigMap");
			e->ref_name = NULL;
		}
	}
	bad |= !e->ref_name;
	if ((v = check_required(c, ref, p, "key"))) {
		e->ref_key = check_str(c, v, check_path(p2, p, "key"));
		if (e->ref_key && !config_key_ok(e->ref_key)) {
			check_error(c, v, "%s: \"%s\" is not a valid key (letters, digits, '-', '_' and '.'; not . or ..)",
				    p2, e->ref_key);
			e->ref_key = NULL;
		}
	}
	bad |= !e->ref_key;
	if ((v = node_map_get(ref, "optional"))) {
		e->has_optional = 1;
		bad |= check_bool(c, v, check_path(p2, p, "optional"), &e->optional) < 0;
	}
	return bad ? -1 : 0;
}

static int
read_env(struct check *c, struct spec_agent *ag, const struct node *seq)
{
	static const char *const keys[] = { "name", "value", "valueFrom", NULL };
	const struct node *it, *v, *vf;
	char path[CHECK_PATH], p2[CHECK_PATH];
	size_t i = 0, j;
	int bad = 0;

	if (check_is_seq(c, seq, "spec.env") < 0)
		return -1;
	if (seq->count > SPEC_MAX_ENV) {
		check_error(c, seq, "spec.env: %zu entries; the limit is %d", seq->count, SPEC_MAX_ENV);
		return -1;
	}
	ag->env = arena_zalloc(c->a, (seq->count ? seq->count : 1) * sizeof(*ag->env));
	if (!ag->env)
		return oom(c, seq);
	for (it = seq->head; it; it = it->next, i++) {
		struct spec_env *e = &ag->env[i];

		check_index(path, "spec.env", i);
		if (check_is_map(c, it, path) < 0) {
			bad = 1;
			continue;
		}
		bad |= check_keys(c, it, path, keys) != 0;
		if ((v = check_required(c, it, path, "name"))) {
			e->name = check_str(c, v, check_path(p2, path, "name"));
			if (e->name && !check_env_name(e->name)) {
				check_error(c, v, "%s: \"%s\" is not a valid environment variable name", p2, e->name);
				e->name = NULL;
			}
			for (j = 0; e->name && j < i; j++) {
				if (ag->env[j].name && strcmp(ag->env[j].name, e->name) == 0) {
					check_error(c, v, "%s: \"%s\" is set twice", p2, e->name);
					e->name = NULL;
				}
			}
		}
		bad |= !e->name;
		v = node_map_get(it, "value");
		vf = node_map_get(it, "valueFrom");
		if (v && vf) {
			check_error(c, vf, "%s: takes value or valueFrom, not both", path);
			bad = 1;
		} else if (vf) {
			bad |= read_value_from(c, e, vf, check_path(p2, path, "valueFrom")) < 0;
		} else if (v) {
			e->from = ENV_VALUE;
			e->value = str_or_empty(c, v, check_path(p2, path, "value"));
			bad |= !e->value;
		} else {
			check_error(c, it, "%s: needs value or valueFrom", path);
			bad = 1;
		}
	}
	ag->nenv = i;
	return bad ? -1 : 0;
}

/* An image reference: no white space; a digest, when there is one, is
 * sha256 (64) or sha512 (128) lowercase hex; with images.requireDigest
 * in the profile, a digest is required. */
static int
read_image(struct check *c, struct spec_agent *ag, const struct node *v, const struct profile *p)
{
	const char *s = check_str(c, v, "spec.image"), *at, *hex;
	size_t want = 0, n;

	if (!s)
		return -1;
	if (strchr(s, ' ') || strchr(s, '\n') || strchr(s, '\t')) {
		check_error(c, v, "spec.image: \"%s\" contains white space", s);
		return -1;
	}
	if ((at = strchr(s, '@'))) {
		if (strncmp(at + 1, "sha256:", 7) == 0)
			want = 64;
		else if (strncmp(at + 1, "sha512:", 7) == 0)
			want = 128;
		hex = at + 8;
		n = want ? strspn(hex, "0123456789abcdef") : 0;
		if (at == s || !want || n != want || hex[n]) {
			check_error(c, v, "spec.image: \"%s\" has a malformed digest; expected NAME@sha256:<64 lowercase hex digits> (or sha512:<128>)",
				    s);
			return -1;
		}
	} else if (p->require_digest) {
		check_error(c, v, "spec.image: \"%s\" is not pinned by digest, which the cluster profile (%s) requires (images.requireDigest); expected NAME@sha256:<64 lowercase hex digits>",
			    s, p->file ? p->file : "the built-in profile");
		return -1;
	}
	ag->image = s;
	return 0;
}

/* A mount path for the scratch volume: absolute, no "." or ".." part, not
 * the root, and not under /proc, /sys or /dev (the runtime owns those). */
static int
mount_path_ok(const char *s, const char **why)
{
	static const char *const owned[] = { "/proc", "/sys", "/dev" };
	const char *q = s;

	if (*s != '/') {
		*why = "is not an absolute path";
		return 0;
	}
	if (strlen(s) > 1024) {
		*why = "is longer than 1024 bytes";
		return 0;
	}
	for (const char *r = s; *r; r++) {
		if ((unsigned char)*r < 0x20 || *r == 0x7f || *r == ':') {
			*why = "has a control character or ':' in it";
			return 0;
		}
	}
	while (*q) {
		size_t n;

		while (*q == '/')
			q++;
		n = strcspn(q, "/");
		if ((n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.')) {
			*why = "has a '.' or '..' part";
			return 0;
		}
		q += n;
	}
	if (strspn(s, "/") == strlen(s)) {
		*why = "is the root (the scratch volume would hide the whole image)";
		return 0;
	}
	s += strspn(s, "/") - 1;     /* "//proc" is /proc */
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		size_t n = strlen(owned[i]);

		if (strncmp(s, owned[i], n) == 0 && (s[n] == '/' || s[n] == '\0')) {
			*why = "is under /proc, /sys or /dev, which the container runtime owns";
			return 0;
		}
	}
	return 1;
}

static int
read_scratch(struct check *c, struct spec_agent *ag, const struct node *v)
{
	static const char *const keys[] = { "sizeLimit", "mountPath", NULL };
	const struct node *w;
	const char *why = NULL;
	int bad = 0;

	if (check_is_map(c, v, "spec.scratch") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.scratch", keys) != 0;
	ag->has_scratch = 1;
	/* no sizeLimit: the Pod's ephemeral-storage limit bounds it (the
	 * kubelet counts an emptyDir on disk against it) */
	ag->scratch.size_limit = ag->ephemeral;
	ag->scratch.mount_path = "/tmp";
	if ((w = node_map_get(v, "sizeLimit")))
		bad |= !(ag->scratch.size_limit = check_quantity(c, w, "spec.scratch.sizeLimit"));
	if ((w = node_map_get(v, "mountPath"))) {
		const char *s = check_str(c, w, "spec.scratch.mountPath");

		if (s && !mount_path_ok(s, &why)) {
			check_error(c, w, "spec.scratch.mountPath: \"%s\" %s; expected an absolute path like /tmp or /scratch",
				    s, why);
			s = NULL;
		}
		bad |= !s;
		ag->scratch.mount_path = s;
	}
	return bad ? -1 : 0;
}

static int
read_pull_secrets(struct check *c, struct spec_agent *ag, const struct node *seq)
{
	const struct node *it;
	char path[CHECK_PATH];
	size_t i = 0;
	int bad = 0;

	if (check_is_seq(c, seq, "spec.imagePullSecrets") < 0)
		return -1;
	if (seq->count > SPEC_MAX_PULL_SECRETS) {
		check_error(c, seq, "spec.imagePullSecrets: %zu entries; the limit is %d", seq->count,
			    SPEC_MAX_PULL_SECRETS);
		return -1;
	}
	ag->pull_secrets = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof(const char *));
	if (!ag->pull_secrets)
		return oom(c, seq);
	for (it = seq->head; it; it = it->next, i++) {
		const char *s = check_str(c, it, check_index(path, "spec.imagePullSecrets", i));

		if (s && !check_dns_subdomain(s)) {
			check_error(c, it, "%s: \"%s\" is not a valid Secret name (a DNS subdomain)", path, s);
			s = NULL;
		}
		for (size_t j = 0; s && j < ag->npull_secrets; j++) {
			if (strcmp(ag->pull_secrets[j], s) == 0) {
				check_error(c, it, "%s: \"%s\" is listed twice", path, s);
				s = NULL;
			}
		}
		if (!s) {
			bad = 1;
			continue;
		}
		ag->pull_secrets[ag->npull_secrets++] = s;
	}
	return bad ? -1 : 0;
}

static int
read_spec(struct check *c, struct spec_agent *ag, const struct node *spec,
	  const struct profile *p)
{
	static const char *const keys[] = { "image", "command", "args", "env", "resources",
		"runtimeClassName", "activeDeadlineSeconds", "scratch", "imagePullSecrets",
		"egress", "ingress", NULL };
	static const char *const res_keys[] = { "cpu", "memory", "ephemeralStorage", NULL };
	const struct node *v, *q;
	int bad = 0;

	if (check_is_map(c, spec, "spec") < 0)
		return -1;
	bad |= check_keys(c, spec, "spec", keys) != 0;
	if ((v = check_required(c, spec, "spec", "image")))
		read_image(c, ag, v, p);
	bad |= !ag->image;
	if ((v = node_map_get(spec, "command"))) {
		ag->has_command = 1;
		bad |= read_strings(c, v, "spec.command", &ag->command, &ag->ncommand) < 0;
	}
	if ((v = node_map_get(spec, "args"))) {
		ag->has_args = 1;
		bad |= read_strings(c, v, "spec.args", &ag->args, &ag->nargs) < 0;
	}
	if ((v = node_map_get(spec, "env")))
		bad |= read_env(c, ag, v) < 0;
	ag->cpu = p->default_cpu;
	ag->memory = p->default_memory;
	ag->ephemeral = p->default_ephemeral;
	if ((v = node_map_get(spec, "resources"))) {
		if (check_is_map(c, v, "spec.resources") < 0) {
			bad = 1;
		} else {
			bad |= check_keys(c, v, "spec.resources", res_keys) != 0;
			if ((q = node_map_get(v, "cpu")))
				bad |= !(ag->cpu = check_quantity(c, q, "spec.resources.cpu"));
			if ((q = node_map_get(v, "memory")))
				bad |= !(ag->memory = check_quantity(c, q, "spec.resources.memory"));
			if ((q = node_map_get(v, "ephemeralStorage")))
				bad |= !(ag->ephemeral = check_quantity(c, q, "spec.resources.ephemeralStorage"));
		}
	}
	if ((v = node_map_get(spec, "activeDeadlineSeconds")))
		bad |= check_int(c, v, "spec.activeDeadlineSeconds", 1, PROFILE_MAX_DEADLINE,
				 &ag->deadline) < 0;
	if ((v = node_map_get(spec, "scratch"))) {
		bad |= read_scratch(c, ag, v) < 0;
	} else if (p->read_only_root) {
		/* a read-only root still needs somewhere to write: /tmp, bounded
		 * by the Pod's ephemeral-storage limit */
		ag->has_scratch = 1;
		ag->scratch.size_limit = ag->ephemeral;
		ag->scratch.mount_path = "/tmp";
	}
	if ((v = node_map_get(spec, "imagePullSecrets")))
		bad |= read_pull_secrets(c, ag, v) < 0;
	ag->runtime_class = p->default_runtime_class ? p->default_runtime_class : "kata-fc";
	if ((v = node_map_get(spec, "runtimeClassName"))) {
		ag->runtime_class = check_str(c, v, "spec.runtimeClassName");
		if (ag->runtime_class && !check_dns_subdomain(ag->runtime_class)) {
			check_error(c, v, "spec.runtimeClassName: \"%s\" is not a valid RuntimeClass name",
				    ag->runtime_class);
			ag->runtime_class = NULL;
		}
		bad |= !ag->runtime_class;
	}
	if ((v = node_map_get(spec, "egress")))
		bad |= read_egress(c, ag, v, p) < 0;
	else {
		/* no agent gets a network nobody wrote down */
		check_error(c, spec, "spec.egress is required: set egress.mode to none, public, allowlist or gateway");
		bad = 1;
	}
	if ((v = node_map_get(spec, "ingress")))
		bad |= read_ingress(c, ag, v, p) < 0;
	return bad ? -1 : 0;
}

int
spec_read(struct spec_agent *ag, const struct node *doc, const char *file,
	  const struct profile *p, struct arena *a, struct diags *d)
{
	static const char *const top_keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	static const char *const meta_keys[] = { "name", "namespace", NULL };
	struct check c = { d, file, a };
	const struct node *v, *meta;
	const char *s;
	size_t errs = d->errors;

	memset(ag, 0, sizeof(*ag));
	ag->file = file;
	/* an empty document (comments only, or a stray ---) holds no agent */
	if (!doc || (doc->kind == NODE_SCALAR && doc->type == NT_NULL))
		return 1;
	ag->line = doc->line;
	ag->col = doc->col;
	if (check_is_map(&c, doc, "document") < 0)
		return -1;
	check_keys(&c, doc, "", top_keys);
	if ((v = check_required(&c, doc, "", "apiVersion")) && (s = check_str(&c, v, "apiVersion")) &&
	    strcmp(s, SPEC_API_VERSION) != 0)
		check_error(&c, v, "apiVersion: \"%s\" is not supported; expected %s", s, SPEC_API_VERSION);
	if ((v = check_required(&c, doc, "", "kind")) && (s = check_str(&c, v, "kind"))) {
		if (strcmp(s, "ClusterProfile") == 0)
			check_error(&c, v, "kind: a ClusterProfile is given with --cluster FILE, not as a spec");
		else if (strcmp(s, "AgentIsolation") != 0)
			check_error(&c, v, "kind: \"%s\" is not supported; expected AgentIsolation", s);
	}
	if ((meta = check_required(&c, doc, "", "metadata")) && check_is_map(&c, meta, "metadata") == 0) {
		check_keys(&c, meta, "metadata", meta_keys);
		if ((v = check_required(&c, meta, "metadata", "name")) &&
		    (ag->name = check_str(&c, v, "metadata.name")) && !check_dns_label(ag->name)) {
			check_error(&c, v, "metadata.name: \"%s\" is not a valid job id (a DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)",
				    ag->name);
			ag->name = NULL;
		}
		ag->ns = p->default_namespace ? p->default_namespace : "default";
		if ((v = node_map_get(meta, "namespace")) &&
		    (ag->ns = check_str(&c, v, "metadata.namespace")) && !check_dns_label(ag->ns)) {
			check_error(&c, v, "metadata.namespace: \"%s\" is not a valid namespace name", ag->ns);
			ag->ns = NULL;
		}
	}
	if ((v = check_required(&c, doc, "", "spec")))
		read_spec(&c, ag, v, p);
	if (d->errors > errs) {
		spec_free(ag);
		return -1;
	}
	return 0;
}

void
spec_free(struct spec_agent *ag)
{
	cidr_list_free(&ag->allow);
}
