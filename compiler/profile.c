/* SPDX-License-Identifier: Apache-2.0 */
#include "profile.h"

#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "check.h"
#include "reader.h"

#define PROFILE_MAX_CIDRS 4096

static int
parse_cidr_list(struct check *c, const struct node *seq, const char *path,
		struct cidr_list *out)
{
	const struct node *it;
	char p[CHECK_PATH];
	struct cidr v;
	size_t i = 0;
	int bad = 0;

	if (check_is_seq(c, seq, path) < 0)
		return -1;
	if (seq->count > PROFILE_MAX_CIDRS) {
		check_error(c, seq, "%s: %zu entries; the limit is %d", path, seq->count,
			    PROFILE_MAX_CIDRS);
		return -1;
	}
	for (it = seq->head; it; it = it->next, i++) {
		if (check_cidr(c, it, check_index(p, path, i), &v) < 0) {
			bad = 1;
		} else if (cidr_list_add(out, &v) < 0) {
			check_error(c, it, "out of memory");
			return -1;
		}
	}
	return bad ? -1 : 0;
}


static const uint16_t dns_ports_default[] = { 53 };

static void
profile_init(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	p->ipv4 = p->ipv6 = 1;
	p->dns_namespace = "kube-system";
	p->dns_ports = dns_ports_default;
	p->dns_nports = 1;
	p->default_cpu = "1";
	p->default_memory = "1Gi";
	p->probe_wait_s = 30;
	p->default_ephemeral = PROFILE_DEFAULT_EPHEMERAL;
	p->default_deadline = PROFILE_DEFAULT_DEADLINE;
	p->read_only_root = 1;
}

static const char *const dns_labels_default_k[] = { "k8s-app" };
static const char *const dns_labels_default_v[] = { "kube-dns" };

static int
parse_families(struct profile *p, struct check *c, const struct node *v)
{
	char path[CHECK_PATH];
	const struct node *it;
	size_t i = 0;
	int bad = 0;

	p->ipv4 = p->ipv6 = 0;
	if (check_is_seq(c, v, "spec.ipFamilies") < 0)
		return -1;
	if (v->count == 0) {
		check_error(c, v, "spec.ipFamilies: must name IPv4, IPv6 or both");
		return -1;
	}
	for (it = v->head; it; it = it->next, i++) {
		const char *s = check_str(c, it, check_index(path, "spec.ipFamilies", i));

		if (s && strcmp(s, "IPv4") == 0 && !p->ipv4)
			p->ipv4 = 1;
		else if (s && strcmp(s, "IPv6") == 0 && !p->ipv6)
			p->ipv6 = 1;
		else if (s) {
			check_error(c, it, "%s: \"%s\" is not an IP family (or is listed twice); expected IPv4 or IPv6",
				    path, s);
			bad = 1;
		} else
			bad = 1;
	}
	return bad ? -1 : 0;
}

/* 1 when one of the profile's own ranges is of the family (4 or 6). */
static int
names_family(const struct profile *p, int fam)
{
	const struct cidr_list *own[] = { &p->pod, &p->service, &p->node, &p->blocked };

	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < own[k]->n; i++)
			if ((own[k]->items[i].family == CIDR_V6) == (fam == 6))
				return 1;
	return 0;
}

/*
 * Families fail closed. IPv6 is open only where the profile names its
 * internal IPv6 ranges (podCIDRs, serviceCIDRs, nodeCIDRs, blockedCIDRs):
 * a VPC's IPv6 is global unicast, and a dual-stack cluster whose IPv6
 * ranges nobody named would open them with 2000::/3. IPv4's private space
 * is in the catalogue, so IPv4 may open with no range named (a public one
 * must be named all the same). Without ipFamilies: IPv6 when an IPv6 range
 * is named, IPv4 when an IPv4 range is named or no IPv6 one is (the
 * built-in profile: IPv4 alone). An ipFamilies that lists IPv6 with no
 * IPv6 range is an error.
 */
static int
check_families(struct profile *p, struct check *c, const struct node *fam)
{
	int has4 = names_family(p, 4), has6 = names_family(p, 6);

	if (!fam) {
		p->ipv6 = has6;
		p->ipv4 = has4 || !has6;
		return 0;
	}
	if (p->ipv6 && !has6) {
		check_error(c, fam, "spec.ipFamilies: IPv6 is open, but no IPv6 range is named "
			    "(podCIDRs, serviceCIDRs, nodeCIDRs or blockedCIDRs): name the cluster's and "
			    "the VPC's IPv6 ranges, or drop IPv6");
		return -1;
	}
	return 0;
}

static int
parse_local_redirect(struct profile *p, struct check *c, const struct node *v,
		     const struct node *nodelocal)
{
	static const char *const keys[] = { "podLabels", NULL };
	const struct node *w;
	int bad = 0;

	if (check_is_map(c, v, "spec.dns.localRedirect") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.dns.localRedirect", keys) != 0;
	if (nodelocal) {
		check_error(c, v, "spec.dns.localRedirect: NodeLocal DNSCache runs either on the host "
			    "(spec.dns.nodeLocal) or behind a Local Redirect Policy, not both");
		bad = 1;
	}
	if (!(w = check_required(c, v, "spec.dns.localRedirect", "podLabels")))
		return -1;
	bad |= check_labels(c, w, "spec.dns.localRedirect.podLabels", &p->lrp_labels,
			    &p->lrp_nlabels) < 0;
	if (w->kind == NODE_MAP && w->count == 0) {
		check_error(c, w, "spec.dns.localRedirect.podLabels: must select the node-local-dns "
			    "Pods (empty matches every Pod)");
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int
parse_dns(struct profile *p, struct check *c, const struct node *v)
{
	static const char *const keys[] = { "namespace", "podLabels", "ports", "nodeLocal",
		"localRedirect", NULL };
	const struct node *w;
	int bad = 0, rc;

	if (check_is_map(c, v, "spec.dns") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.dns", keys) != 0;
	if ((w = node_map_get(v, "namespace"))) {
		const char *s = check_str(c, w, "spec.dns.namespace");

		if (s && !check_dns_label(s)) {
			check_error(c, w, "spec.dns.namespace: \"%s\" is not a valid namespace name", s);
			bad = 1;
		}
		bad |= !s;
		p->dns_namespace = s;
	}
	if ((w = node_map_get(v, "podLabels"))) {
		bad |= check_labels(c, w, "spec.dns.podLabels", &p->dns_labels,
				    &p->dns_nlabels) < 0;
		if (w->kind == NODE_MAP && w->count == 0) {
			/* an empty selector would trust every Pod in the namespace */
			check_error(c, w, "spec.dns.podLabels: must select the DNS Pods (empty matches every Pod)");
			bad = 1;
		}
	}
	/* where the DNS Pods listen (OpenShift's: 5353, behind a Service on 53):
	 * a NetworkPolicy sees the Pod's port, after the Service's translation */
	if ((w = node_map_get(v, "ports"))) {
		uint16_t *ports;
		size_t n;

		if (check_ports(c, w, "spec.dns.ports", PROFILE_MAX_DNS_PORTS, &ports, &n) == 0) {
			p->dns_ports = ports;
			p->dns_nports = n;
		} else {
			bad = 1;
		}
	}
	if ((w = node_map_get(v, "localRedirect")))
		bad |= parse_local_redirect(p, c, w, node_map_get(v, "nodeLocal")) < 0;
	if ((w = node_map_get(v, "nodeLocal"))) {
		const char *s = check_str(c, w, "spec.dns.nodeLocal");

		if (s && memchr(s, '/', w->len)) {
			check_error(c, w, "spec.dns.nodeLocal: \"%s\" is a CIDR; write the address alone", s);
			bad = 1;
		} else if (s && (rc = cidr_parse_addr(s, w->len, &p->nodelocal)) < 0) {
			check_error(c, w, "spec.dns.nodeLocal: \"%s\" is not an IP address: %s",
				    s, cidr_strerror(rc));
			bad = 1;
		} else if (s) {
			p->has_nodelocal = 1;
		} else {
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int
parse_defaults(struct profile *p, struct check *c, const struct node *v)
{
	static const char *const keys[] = { "namespace", "runtimeClassName", "resources",
		"activeDeadlineSeconds", "readOnlyRootFilesystem", NULL };
	static const char *const res_keys[] = { "cpu", "memory", "ephemeralStorage", NULL };
	const struct node *w, *q;
	const char *s;
	int bad = 0;

	if (check_is_map(c, v, "spec.defaults") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.defaults", keys) != 0;
	if ((w = node_map_get(v, "namespace"))) {
		s = check_str(c, w, "spec.defaults.namespace");
		if (s && !check_dns_label(s)) {
			check_error(c, w, "spec.defaults.namespace: \"%s\" is not a valid namespace name", s);
			s = NULL;
		}
		bad |= !s;
		p->default_namespace = s;
	}
	if ((w = node_map_get(v, "runtimeClassName"))) {
		s = check_str(c, w, "spec.defaults.runtimeClassName");
		if (s && !check_dns_subdomain(s)) {
			check_error(c, w, "spec.defaults.runtimeClassName: \"%s\" is not a valid RuntimeClass name", s);
			s = NULL;
		}
		bad |= !s;
		p->default_runtime_class = s;
	}
	if ((w = node_map_get(v, "resources"))) {
		if (check_is_map(c, w, "spec.defaults.resources") < 0)
			return -1;
		bad |= check_keys(c, w, "spec.defaults.resources", res_keys) != 0;
		if ((q = node_map_get(w, "cpu")))
			bad |= !(p->default_cpu = check_quantity(c, q, "spec.defaults.resources.cpu"));
		if ((q = node_map_get(w, "memory")))
			bad |= !(p->default_memory = check_quantity(c, q, "spec.defaults.resources.memory"));
		if ((q = node_map_get(w, "ephemeralStorage")))
			bad |= !(p->default_ephemeral = check_quantity(c, q, "spec.defaults.resources.ephemeralStorage"));
	}
	if ((w = node_map_get(v, "activeDeadlineSeconds")))
		bad |= check_int(c, w, "spec.defaults.activeDeadlineSeconds", 1, PROFILE_MAX_DEADLINE,
				 &p->default_deadline) < 0;
	if ((w = node_map_get(v, "readOnlyRootFilesystem")))
		bad |= check_bool(c, w, "spec.defaults.readOnlyRootFilesystem", &p->read_only_root) < 0;
	return bad ? -1 : 0;
}

static int
parse_images(struct profile *p, struct check *c, const struct node *v)
{
	static const char *const keys[] = { "requireDigest", NULL };
	const struct node *w;
	int bad = 0;

	if (check_is_map(c, v, "spec.images") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.images", keys) != 0;
	if ((w = node_map_get(v, "requireDigest")))
		bad |= check_bool(c, w, "spec.images.requireDigest", &p->require_digest) < 0;
	return bad ? -1 : 0;
}

/*
 * spec.admission.writers: distinct usernames, each as the API server puts it
 * in request.userInfo.username. They go into a CEL string literal, so the
 * characters CEL would read as an escape or an end of string are refused.
 */
#define PROFILE_MAX_WRITERS 64
#define PROFILE_MAX_WRITER_LEN 512

static int
parse_admission(struct profile *p, struct check *c, const struct node *v)
{
	static const char *const keys[] = { "writers", NULL };
	const struct node *w, *it, *jt;
	char path[CHECK_PATH];
	size_t i = 0;
	int bad = 0;

	if (check_is_map(c, v, "spec.admission") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.admission", keys) != 0;
	if (!(w = check_required(c, v, "spec.admission", "writers")))
		return -1;
	if (check_is_seq(c, w, "spec.admission.writers") < 0)
		return -1;
	if (w->count == 0 || w->count > PROFILE_MAX_WRITERS) {
		check_error(c, w, "spec.admission.writers: must name between 1 and %d usernames (the identities that apply agents: agentfence's, Argo CD's or Flux's controller)",
			    PROFILE_MAX_WRITERS);
		return -1;
	}
	p->writers = arena_alloc(&p->arena, w->count * sizeof(const char *));
	if (!p->writers) {
		check_error(c, w, "out of memory");
		return -1;
	}
	for (it = w->head; it; it = it->next, i++) {
		const char *s = check_str(c, it, check_index(path, "spec.admission.writers", i));
		size_t k;

		if (!s) {
			bad = 1;
			continue;
		}
		for (k = 0; k < it->len; k++)
			if ((unsigned char)s[k] <= ' ' || s[k] == 0x7f || s[k] == '\\' || s[k] == '\'' ||
			    s[k] == '"')
				break;
		if (k < it->len || it->len > PROFILE_MAX_WRITER_LEN) {
			check_error(c, it, "%s: \"%s\" is not a username agentfence can write: at most %d characters, no white space, control characters, quotes or backslashes",
				    path, s, PROFILE_MAX_WRITER_LEN);
			bad = 1;
			continue;
		}
		for (jt = w->head; jt != it; jt = jt->next)
			if (jt->kind == NODE_SCALAR && jt->len == it->len && memcmp(jt->str, s, it->len) == 0)
				break;
		if (jt != it) {
			check_error(c, it, "%s: \"%s\" is listed twice", path, s);
			bad = 1;
			continue;
		}
		p->writers[p->nwriters++] = s;
	}
	return bad ? -1 : 0;
}

/* spec.probe: the image of the init container that runs `agentfence probe` */
static int
parse_probe(struct profile *p, struct check *c, const struct node *v)
{
	static const char *const keys[] = { "image", "waitSeconds", NULL };
	const struct node *w;
	int bad = 0;

	if (check_is_map(c, v, "spec.probe") < 0)
		return -1;
	bad |= check_keys(c, v, "spec.probe", keys) != 0;
	if ((w = check_required(c, v, "spec.probe", "image"))) {
		p->probe_image = check_str(c, w, "spec.probe.image");
		if (p->probe_image && strpbrk(p->probe_image, " \t\n")) {
			check_error(c, w, "spec.probe.image: \"%s\" contains white space", p->probe_image);
			p->probe_image = NULL;
		}
	}
	bad |= !p->probe_image;
	if ((w = node_map_get(v, "waitSeconds")))
		bad |= check_int(c, w, "spec.probe.waitSeconds", 0, 600, &p->probe_wait_s) < 0;
	return bad ? -1 : 0;
}

/* Every error in the spec is recorded (a section that is not a map is
 * one error, and the others are still read). */
static const char *const enforcement_names[] = { "networkpolicy", "cilium", "clusternetworkpolicy" };

const char *
profile_enforcement_name(enum enforcement e)
{
	return enforcement_names[e];
}

static int
parse_enforcement(struct profile *p, struct check *c, const struct node *v)
{
	const char *s = check_str(c, v, "spec.enforcement");

	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(enforcement_names) / sizeof(*enforcement_names); i++) {
		if (strcmp(s, enforcement_names[i]) == 0) {
			p->enforcement = (enum enforcement)i;
			return 0;
		}
	}
	check_error(c, v, "spec.enforcement: \"%s\" is not an enforcement; expected one of: networkpolicy, cilium, clusternetworkpolicy", s);
	return -1;
}

static int
parse_spec(struct profile *p, struct check *c, const struct node *spec)
{
	static const char *const keys[] = { "podCIDRs", "serviceCIDRs", "nodeCIDRs",
		"blockedCIDRs", "ipFamilies", "nat64", "dns", "defaults", "enforcement", "admission",
		"probe", "images", NULL };
	const struct node *v;
	int bad = 0, bad_fam = 0;

	if (check_is_map(c, spec, "spec") < 0)
		return -1;
	bad |= check_keys(c, spec, "spec", keys) != 0;
	if ((v = node_map_get(spec, "podCIDRs")))
		bad |= parse_cidr_list(c, v, "spec.podCIDRs", &p->pod) < 0;
	if ((v = node_map_get(spec, "serviceCIDRs")))
		bad |= parse_cidr_list(c, v, "spec.serviceCIDRs", &p->service) < 0;
	if ((v = node_map_get(spec, "nodeCIDRs")))
		bad |= parse_cidr_list(c, v, "spec.nodeCIDRs", &p->node) < 0;
	if ((v = node_map_get(spec, "blockedCIDRs")))
		bad |= parse_cidr_list(c, v, "spec.blockedCIDRs", &p->blocked) < 0;
	if ((v = node_map_get(spec, "ipFamilies")) && parse_families(p, c, v) < 0)
		bad = bad_fam = 1;
	else if (!bad)
		bad |= check_families(p, c, v) < 0;
	if ((v = node_map_get(spec, "nat64")))
		bad |= check_bool(c, v, "spec.nat64", &p->nat64) < 0;
	/* after a bad ipFamilies the families are unknown: no second error */
	if (p->nat64 && !p->ipv6 && !bad_fam) {
		check_error(c, v, "spec.nat64: NAT64 serves IPv6 Pods, but IPv6 is not open (spec.ipFamilies, or no IPv6 range named)");
		bad = 1;
	}
	if ((v = node_map_get(spec, "dns")))
		bad |= parse_dns(p, c, v) < 0;
	if ((v = node_map_get(spec, "defaults")))
		bad |= parse_defaults(p, c, v) < 0;
	if ((v = node_map_get(spec, "enforcement")))
		bad |= parse_enforcement(p, c, v) < 0;
	if ((v = node_map_get(spec, "admission")))
		bad |= parse_admission(p, c, v) < 0;
	if ((v = node_map_get(spec, "probe")))
		bad |= parse_probe(p, c, v) < 0;
	if ((v = node_map_get(spec, "images")))
		bad |= parse_images(p, c, v) < 0;
	return bad ? -1 : 0;
}

static int
add_all(struct cidr_list *to, const struct cidr_list *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (cidr_list_add(to, &from->items[i]) < 0)
			return -1;
	return 0;
}

static int
add_catalog(struct cidr_list *to, const struct catalog_entry *e, size_t n)
{
	struct cidr c;

	for (size_t i = 0; i < n; i++) {
		/* the table is ours: a parse failure is a bug caught by the tests */
		if (cidr_parse(e[i].cidr, strlen(e[i].cidr), &c) < 0 || cidr_list_add(to, &c) < 0)
			return -1;
	}
	return 0;
}

/* blk->except := the entries of `never` inside blk->cidr; 0 when some entry covers it all. */
static int
make_block(struct profile *p, struct profile_block *blk, const struct cidr_list *never)
{
	char s[CIDR_STRLEN];

	for (size_t i = 0; i < never->n; i++) {
		const struct cidr *e = &never->items[i];

		if (cidr_contains(e, &blk->cidr))
			return 0;
		if (cidr_contains(&blk->cidr, e) && cidr_list_add(&blk->except, e) < 0)
			return -1;
	}
	cidr_list_normalize(&blk->except);
	blk->except_node = node_new_seq(&p->arena);
	if (!blk->except_node)
		return -1;
	for (size_t i = 0; i < blk->except.n; i++) {
		struct node *n;
		char *t;

		cidr_format(&blk->except.items[i], s, 1);
		t = arena_strndup(&p->arena, s, strlen(s));
		n = t ? node_new_str(&p->arena, t) : NULL;
		if (!n)
			return -1;
		node_seq_add(blk->except_node, n);
	}
	return 1;
}

/*
 * p->closed := everything the public blocks do not open, in both families:
 * the complement of the union of (block - except). A guard denies exactly
 * this, so it can never disagree with what the per-agent rules open.
 */
static int
derive_closed(struct profile *p)
{
	struct cidr_list open = { 0, 0, 0 }, tmp = { 0, 0, 0 };
	static const char *const all[] = { "0.0.0.0/0", "::/0" };
	int rc = -1;

	for (size_t i = 0; i < p->nblocks; i++) {
		tmp.n = 0;
		if (cidr_subtract(&p->blocks[i].cidr, &p->blocks[i].except, &tmp) < 0 ||
		    add_all(&open, &tmp) < 0)
			goto out;
	}
	cidr_list_normalize(&open);
	for (size_t f = 0; f < 2; f++) {
		struct cidr whole;

		cidr_parse(all[f], strlen(all[f]), &whole);
		tmp.n = 0;
		if (cidr_subtract(&whole, &open, &tmp) < 0 || add_all(&p->closed, &tmp) < 0)
			goto out;
	}
	cidr_list_normalize(&p->closed);
	rc = 0;
out:
	cidr_list_free(&open);
	cidr_list_free(&tmp);
	return rc;
}

static int
profile_derive(struct profile *p, struct diags *d)
{
	struct cidr_list nat = { 0, 0, 0 };
	struct profile_block *blk;
	int rc = -1, made;

	if (add_catalog(&p->never, catalog_v4, catalog_v4_len) < 0 ||
	    add_catalog(&p->never, catalog_v6, catalog_v6_len) < 0 ||
	    add_all(&p->never, &p->pod) < 0 || add_all(&p->never, &p->service) < 0 ||
	    add_all(&p->never, &p->node) < 0 || add_all(&p->never, &p->blocked) < 0)
		goto oom;
	cidr_list_normalize(&p->never);

	if (p->ipv4) {
		blk = &p->blocks[p->nblocks];
		cidr_parse("0.0.0.0/0", 9, &blk->cidr);
		if ((made = make_block(p, blk, &p->never)) < 0)
			goto oom;
		p->nblocks += (size_t)made;
	}
	if (p->ipv6) {
		blk = &p->blocks[p->nblocks];
		cidr_parse(CATALOG_V6_GLOBAL, strlen(CATALOG_V6_GLOBAL), &blk->cidr);
		if ((made = make_block(p, blk, &p->never)) < 0)
			goto oom;
		p->nblocks += (size_t)made;
	}
	if (p->nat64) {
		/* open 64:ff9b::/96 minus the image of every IPv4 range no agent reaches */
		const struct cidr_list *own[] = { &p->pod, &p->service, &p->node, &p->blocked };
		struct cidr wk, img;

		for (size_t i = 0; i < p->never.n; i++) {
			if (p->never.items[i].family != CIDR_V4)
				continue;
			img = cidr_nat64(&p->never.items[i]);
			if (cidr_list_add(&nat, &img) < 0)
				goto oom;
		}
		/* the profile's own IPv6 ranges stay blocked inside the prefix too */
		for (size_t k = 0; k < 4; k++)
			for (size_t i = 0; i < own[k]->n; i++)
				if (own[k]->items[i].family == CIDR_V6 &&
				    cidr_list_add(&nat, &own[k]->items[i]) < 0)
					goto oom;
		cidr_parse(CATALOG_NAT64, strlen(CATALOG_NAT64), &wk);
		cidr_list_normalize(&nat);
		blk = &p->blocks[p->nblocks];
		blk->cidr = wk;
		if ((made = make_block(p, blk, &nat)) < 0)
			goto oom;
		p->nblocks += (size_t)made;
	}
	for (size_t i = 0; i < 3; i++) {
		const struct cidr_list *l = i == 0 ? &p->pod : i == 1 ? &p->service : &p->node;

		for (size_t j = 0; j < l->n; j++)
			if (l->items[j].family == CIDR_V4 && cidr_list_add(&p->gw_excluded, &l->items[j]) < 0)
				goto oom;
	}
	cidr_list_normalize(&p->gw_excluded);
	if (derive_closed(p) < 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	diag_error(d, p->file, 0, 0, "out of memory");
out:
	cidr_list_free(&nat);
	return rc;
}

int
profile_default(struct profile *p, struct diags *d)
{
	profile_init(p);
	/* no ranges named: IPv4 only, whose private space the catalogue holds */
	p->ipv6 = 0;
	p->dns_labels = arena_alloc(&p->arena, sizeof(*p->dns_labels));
	if (!p->dns_labels) {
		diag_error(d, NULL, 0, 0, "out of memory");
		return -1;
	}
	p->dns_labels[0].k = dns_labels_default_k[0];
	p->dns_labels[0].v = dns_labels_default_v[0];
	p->dns_nlabels = 1;
	return profile_derive(p, d);
}

/* Check the document read into p->arena (NULL: none) and derive the lists. */
static int
profile_doc(struct profile *p, struct check *c, const struct node *doc, size_t errs)
{
	static const char *const top_keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	const struct node *v;
	const char *s;

	if (!doc) {
		diag_error(c->d, p->file, 1, 1, "no ClusterProfile document");
		return -1;
	}
	if (check_is_map(c, doc, "profile") < 0)
		return -1;
	check_keys(c, doc, "", top_keys);
	if ((v = check_required(c, doc, "", "apiVersion")) && (s = check_str(c, v, "apiVersion")) &&
	    strcmp(s, "agentfence.dev/v1alpha1") != 0)
		check_error(c, v, "apiVersion: \"%s\" is not supported; expected agentfence.dev/v1alpha1", s);
	if ((v = check_required(c, doc, "", "kind")) && (s = check_str(c, v, "kind")) &&
	    strcmp(s, "ClusterProfile") != 0)
		check_error(c, v, "kind: expected ClusterProfile in a --cluster file, got \"%s\"", s);
	if ((v = node_map_get(doc, "metadata"))) {
		static const char *const meta_keys[] = { "name", "labels", "annotations", NULL };

		if (check_is_map(c, v, "metadata") == 0) {
			check_keys(c, v, "metadata", meta_keys);
			if (node_map_get(v, "name"))
				p->name = check_str(c, node_map_get(v, "name"), "metadata.name");
		}
	}
	if ((v = check_required(c, doc, "", "spec")))
		parse_spec(p, c, v);
	if (!p->dns_labels) {
		p->dns_labels = arena_alloc(&p->arena, sizeof(*p->dns_labels));
		if (!p->dns_labels) {
			diag_error(c->d, p->file, 0, 0, "out of memory");
			return -1;
		}
		p->dns_labels[0].k = dns_labels_default_k[0];
		p->dns_labels[0].v = dns_labels_default_v[0];
		p->dns_nlabels = 1;
	}
	if (c->d->errors > errs)
		return -1;
	return profile_derive(p, c->d);
}

int
profile_load(struct profile *p, const char *path, struct diags *d)
{
	struct reader *r = NULL;
	struct node *doc = NULL, *extra = NULL;
	struct check c;
	size_t errs = d->errors;
	int rc;

	profile_init(p);
	if (reader_open(&r, path, NULL, d) < 0)
		return -1;
	p->file = arena_strndup(&p->arena, reader_name(r), strlen(reader_name(r)));
	if (!p->file) {
		diag_error(d, path, 0, 0, "out of memory");
		reader_close(r);
		return -1;
	}
	c.d = d;
	c.file = p->file;
	c.a = &p->arena;
	while ((rc = reader_next(r, &p->arena, &doc)) == 1 && !doc)
		;
	if (rc == 1) {
		struct arena scratch = ARENA_INIT;

		while ((rc = reader_next(r, &scratch, &extra)) == 1 && !extra)
			;
		if (rc == 1)
			check_error(&c, extra, "a cluster profile file holds one document");
		arena_free(&scratch);
	}
	reader_close(r);
	if (rc < 0 || d->errors > errs)
		return -1;
	return profile_doc(p, &c, doc, errs);
}

int
profile_read(struct profile *p, const char *name, const char *text, size_t len,
	     struct diags *d)
{
	struct node *docs[2];
	struct check c;
	size_t n, errs = d->errors;

	profile_init(p);
	p->file = arena_strndup(&p->arena, name, strlen(name));
	if (!p->file) {
		diag_error(d, name, 0, 0, "out of memory");
		return -1;
	}
	c.d = d;
	c.file = p->file;
	c.a = &p->arena;
	if (reader_string(p->file, text, len, &p->arena, d, docs, 2, &n) < 0)
		return -1;
	if (n == 2) {
		check_error(&c, docs[1], "a cluster profile file holds one document");
		return -1;
	}
	return profile_doc(p, &c, n ? docs[0] : NULL, errs);
}

int
profile_never(const struct profile *p, const struct cidr *c, struct cidr *hit)
{
	for (size_t i = 0; i < p->never.n; i++) {
		if (cidr_overlaps(&p->never.items[i], c)) {
			if (hit)
				*hit = p->never.items[i];
			return 1;
		}
	}
	return 0;
}

int
profile_never_nat64(const struct profile *p, const struct cidr *img, struct cidr *hit)
{
	const struct cidr_list *own[] = { &p->pod, &p->service, &p->node, &p->blocked };

	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < own[k]->n; i++)
			if (cidr_overlaps(&own[k]->items[i], img)) {
				if (hit)
					*hit = own[k]->items[i];
				return 1;
			}
	return 0;
}

void
profile_free(struct profile *p)
{
	cidr_list_free(&p->pod);
	cidr_list_free(&p->service);
	cidr_list_free(&p->node);
	cidr_list_free(&p->blocked);
	cidr_list_free(&p->never);
	cidr_list_free(&p->closed);
	cidr_list_free(&p->gw_excluded);
	for (size_t i = 0; i < 3; i++)
		cidr_list_free(&p->blocks[i].except);
	arena_free(&p->arena);
}
