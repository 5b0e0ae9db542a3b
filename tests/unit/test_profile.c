/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the cluster profile (compiler/profile.c) through profile.h:
 * the built-in profile, defaults, ipFamilies and nat64, blocked ranges and
 * what is derived from them, dns settings, and the exact text and place
 * of each error, every error of a profile reported at once. Profiles are
 * read from strings (profile_read), so each case shows its YAML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"
#include "diag.h"
#include "profile.h"
#include "fmt.h"

#define HEAD "apiVersion: agentfence.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: p}\n"

static int
load(struct profile *p, const char *text, struct diags *d)
{
	return profile_read(p, "p.yaml", text, strlen(text), d);
}

/* The profile must load without a diagnostic. */
static void
load_ok(struct profile *p, const char *text)
{
	struct diags d = DIAGS_INIT;

	if (load(p, text, &d) < 0 || d.n)
		fail_msg("unexpected: %s", d.n ? d.items[0].msg : "-1 without a message");
	diags_free(&d);
}

/*
 * The profile must fail with exactly these errors, in order, each
 * "LINE:COL: message" (NULL-terminated list).
 */
static void
load_errors(const char *text, const char *const *want)
{
	struct diags d = DIAGS_INIT;
	struct profile p;
	char got[1024];
	size_t n = 0;

	assert_int_equal(load(&p, text, &d), -1);
	for (; want[n]; n++) {
		if (n >= d.n)
			fail_msg("missing error %zu: %s", n, want[n]);
		assert_int_equal(d.items[n].level, DIAG_ERROR);
		assert_string_equal(d.items[n].file, "p.yaml");
		snprintf(got, sizeof(got), "%d:%d: %s", d.items[n].line, d.items[n].col,
			 d.items[n].msg);
		assert_string_equal(got, want[n]);
	}
	if (d.n != n)
		fail_msg("%zu errors, expected %zu; the next: %s", d.n, n, d.items[n].msg);
	assert_int_equal(d.errors, n);
	profile_free(&p);
	diags_free(&d);
}

static struct cidr
prefix(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, strlen(s), &c), 0);
	return c;
}

/* The derived public block over `block`, or NULL. */
static const struct profile_block *
find_block(const struct profile *p, const char *block)
{
	struct cidr c = prefix(block);

	for (size_t i = 0; i < p->nblocks; i++)
		if (cidr_cmp(&p->blocks[i].cidr, &c) == 0)
			return &p->blocks[i];
	return NULL;
}

static int
has(const struct cidr_list *l, const char *s)
{
	struct cidr c = prefix(s);

	for (size_t i = 0; i < l->n; i++)
		if (cidr_cmp(&l->items[i], &c) == 0)
			return 1;
	return 0;
}

static void
check_defaults(const struct profile *p)
{
	assert_true(p->ipv4 && !p->ipv6);   /* no range named: IPv4 alone */
	assert_false(p->nat64);
	assert_string_equal(p->dns_namespace, "kube-system");
	assert_int_equal(p->dns_nlabels, 1);
	assert_string_equal(p->dns_labels[0].k, "k8s-app");
	assert_string_equal(p->dns_labels[0].v, "kube-dns");
	assert_false(p->has_nodelocal);
	assert_null(p->default_namespace);
	assert_null(p->default_runtime_class);
	assert_string_equal(p->default_cpu, "1");
	assert_string_equal(p->default_memory, "1Gi");
	/* IPv4 open, minus the catalogue; IPv6 closed (no IPv6 range named) */
	assert_int_equal(p->nblocks, 1);
	assert_non_null(find_block(p, "0.0.0.0/0"));
	assert_null(find_block(p, "2000::/3"));
	assert_true(has(&find_block(p, "0.0.0.0/0")->except, "10.0.0.0/8"));
	assert_true(has(&find_block(p, "0.0.0.0/0")->except, "169.254.0.0/16"));
	assert_int_equal(p->gw_excluded.n, 0);
}

static void
test_builtin(void **state)
{
	struct diags d = DIAGS_INIT;
	struct profile p;
	struct cidr c = prefix("172.20.0.0/16"), hit;

	(void)state;
	assert_int_equal(profile_default(&p, &d), 0);
	assert_int_equal(d.n, 0);
	assert_null(p.file);
	check_defaults(&p);
	assert_true(profile_never(&p, &c, &hit));
	assert_string_equal(fmt(&hit), "172.16.0.0/12");
	c = prefix("1.1.1.0/24");
	assert_false(profile_never(&p, &c, NULL));
	profile_free(&p);
	diags_free(&d);
}

/* An empty spec is the built-in profile. */
static void
test_empty_spec_is_builtin(void **state)
{
	struct profile p;

	(void)state;
	load_ok(&p, HEAD "spec: {}\n");
	assert_string_equal(p.file, "p.yaml");
	assert_string_equal(p.name, "p");
	check_defaults(&p);
	profile_free(&p);
}

static void
test_defaults(void **state)
{
	struct profile p;

	(void)state;
	load_ok(&p, HEAD "spec:\n  defaults:\n    namespace: agents\n"
		"    runtimeClassName: gvisor\n    resources: {cpu: 500m, memory: 2Gi}\n");
	assert_string_equal(p.default_namespace, "agents");
	assert_string_equal(p.default_runtime_class, "gvisor");
	assert_string_equal(p.default_cpu, "500m");
	assert_string_equal(p.default_memory, "2Gi");
	profile_free(&p);
	/* a number is a quantity too; an unset one keeps its default */
	load_ok(&p, HEAD "spec:\n  defaults:\n    resources: {cpu: 2}\n");
	assert_string_equal(p.default_cpu, "2");
	assert_string_equal(p.default_memory, "1Gi");
	profile_free(&p);
}

static void
test_defaults_errors(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  defaults:\n    resources: {cpu: 0, memory: 1GB, gpu: 1}\n",
		    (const char *const[]){
			    "6:38: unknown field \"spec.defaults.resources.gpu\"; expected one of: cpu, memory, ephemeralStorage",
			    "6:22: spec.defaults.resources.cpu: \"0\" is not a positive quantity (like 500m, 2, 1Gi)",
			    "6:33: spec.defaults.resources.memory: \"1GB\" is not a positive quantity (like 500m, 2, 1Gi)",
			    NULL });
	load_errors(HEAD "spec:\n  defaults:\n    namespace: Agents\n    runtimeClassName: -x\n",
		    (const char *const[]){
			    "6:16: spec.defaults.namespace: \"Agents\" is not a valid namespace name",
			    "7:23: spec.defaults.runtimeClassName: \"-x\" is not a valid RuntimeClass name",
			    NULL });
}

static void
test_families(void **state)
{
	struct profile p;
	const struct profile_block *b;

	(void)state;
	load_ok(&p, HEAD "spec:\n  ipFamilies: [IPv6]\n  podCIDRs: ['fd00:10::/56']\n");
	assert_false(p.ipv4);
	assert_true(p.ipv6);
	assert_int_equal(p.nblocks, 1);
	assert_non_null(find_block(&p, "2000::/3"));
	profile_free(&p);

	load_ok(&p, HEAD "spec:\n  ipFamilies: [IPv4]\n");
	assert_true(p.ipv4);
	assert_false(p.ipv6);
	assert_int_equal(p.nblocks, 1);
	assert_non_null(find_block(&p, "0.0.0.0/0"));
	profile_free(&p);

	/* nat64 opens 64:ff9b::/96 minus the image of every blocked IPv4 range */
	load_ok(&p, HEAD "spec:\n  ipFamilies: [IPv6]\n  nat64: true\n  podCIDRs: ['fd00:10::/56']\n");
	assert_true(p.nat64);
	assert_int_equal(p.nblocks, 2);
	assert_non_null(b = find_block(&p, "64:ff9b::/96"));
	assert_true(has(&b->except, "64:ff9b::a00:0/104"));   /* 10.0.0.0/8 */
	assert_false(has(&b->except, "64:ff9b::101:100/120")); /* 1.1.1.0/24 is public */
	profile_free(&p);

	/* families fail closed: without ipFamilies, IPv6 only where an IPv6
	 * range is named; IPv4 unless the cluster names IPv6 ranges alone */
	load_ok(&p, HEAD "spec:\n  podCIDRs: [10.1.0.0/16, 'fd00:10::/56']\n");
	assert_true(p.ipv4 && p.ipv6);
	profile_free(&p);
	load_ok(&p, HEAD "spec:\n  podCIDRs: [10.1.0.0/16]\n  blockedCIDRs: ['2a00:1::/32']\n");
	assert_true(p.ipv4 && p.ipv6);
	profile_free(&p);
	load_ok(&p, HEAD "spec:\n  serviceCIDRs: ['fd00:10:96::/112']\n");
	assert_true(!p.ipv4 && p.ipv6);
	profile_free(&p);
	load_ok(&p, HEAD "spec:\n  podCIDRs: [10.1.0.0/16]\n");
	assert_true(p.ipv4 && !p.ipv6);
	assert_int_equal(p.nblocks, 1);
	profile_free(&p);
}

static void
test_families_errors(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  ipFamilies: []\n",
		    (const char *const[]){
			    "5:15: spec.ipFamilies: must name IPv4, IPv6 or both", NULL });
	load_errors(HEAD "spec:\n  ipFamilies: [IPv4, IPv4, ipv6]\n",
		    (const char *const[]){
			    "5:22: spec.ipFamilies[1]: \"IPv4\" is not an IP family (or is listed twice); expected IPv4 or IPv6",
			    "5:28: spec.ipFamilies[2]: \"ipv6\" is not an IP family (or is listed twice); expected IPv4 or IPv6",
			    NULL });
	load_errors(HEAD "spec:\n  ipFamilies: [IPv4]\n  nat64: true\n",
		    (const char *const[]){
			    "6:10: spec.nat64: NAT64 serves IPv6 Pods, but IPv6 is not open (spec.ipFamilies, or no IPv6 range named)", NULL });
	load_errors(HEAD "spec:\n  podCIDRs: [10.1.0.0/16]\n  ipFamilies: [IPv4, IPv6]\n",
		    (const char *const[]){
			    "6:15: spec.ipFamilies: IPv6 is open, but no IPv6 range is named (podCIDRs, serviceCIDRs, nodeCIDRs or blockedCIDRs): name the cluster's and the VPC's IPv6 ranges, or drop IPv6",
			    NULL });
	/* a bad ipFamilies says nothing of the families: no second error on nat64 */
	load_errors(HEAD "spec:\n  ipFamilies: IPv6\n  nat64: 1\n",
		    (const char *const[]){
			    "5:15: spec.ipFamilies: expected a list, got a string",
			    "6:10: spec.nat64: expected true or false, got an integer 1",
			    NULL });
}

static void
test_blocked_ranges(void **state)
{
	struct profile p;
	struct cidr c, hit;

	(void)state;
	load_ok(&p, HEAD "spec:\n  podCIDRs: [11.0.0.0/16, 'fd00:10::/56']\n"
		"  serviceCIDRs: [11.1.0.0/20]\n  nodeCIDRs: [11.2.0.0/24]\n"
		"  blockedCIDRs: [5.6.0.0/16, '2a00:1::/32']\n");
	assert_int_equal(p.pod.n, 2);
	assert_int_equal(p.blocked.n, 2);
	/* no agent reaches them */
	c = prefix("5.6.7.0/24");
	assert_true(profile_never(&p, &c, &hit));
	assert_string_equal(fmt(&hit), "5.6.0.0/16");
	c = prefix("11.1.0.5/32");
	assert_true(profile_never(&p, &c, &hit));
	assert_string_equal(fmt(&hit), "11.1.0.0/20");
	c = prefix("2a00:1:2::/48");
	assert_true(profile_never(&p, &c, &hit));
	assert_string_equal(fmt(&hit), "2a00:1::/32");
	/* the public blocks leave them out */
	assert_true(has(&find_block(&p, "0.0.0.0/0")->except, "5.6.0.0/16"));
	assert_true(has(&find_block(&p, "0.0.0.0/0")->except, "11.0.0.0/16"));
	assert_true(has(&find_block(&p, "2000::/3")->except, "2a00:1::/32"));
	/* the gateway excludes the cluster's own IPv4 ranges, not blockedCIDRs */
	assert_int_equal(p.gw_excluded.n, 3);
	assert_true(has(&p.gw_excluded, "11.0.0.0/16"));
	assert_true(has(&p.gw_excluded, "11.1.0.0/20"));
	assert_true(has(&p.gw_excluded, "11.2.0.0/24"));
	profile_free(&p);
}

static void
test_blocked_errors(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  blockedCIDRs: [5.6.7.8/16, 5.6.0.0, x]\n  podCIDRs: 10.0.0.0/8\n",
		    (const char *const[]){
			    "6:13: spec.podCIDRs: expected a list, got a string",
			    "5:18: spec.blockedCIDRs[0]: \"5.6.7.8/16\" has bits set past the prefix length; did you mean \"5.6.0.0/16\"?",
			    "5:30: spec.blockedCIDRs[1]: \"5.6.0.0\" is not a CIDR: missing prefix length",
			    "5:39: spec.blockedCIDRs[2]: \"x\" is not a CIDR: not an IP address",
			    NULL });
}

static void
test_dns(void **state)
{
	struct profile p;

	(void)state;
	load_ok(&p, HEAD "spec:\n  dns:\n    namespace: dns\n"
		"    podLabels: {app: coredns, tier: dns}\n    nodeLocal: 169.254.20.10\n");
	assert_string_equal(p.dns_namespace, "dns");
	assert_int_equal(p.dns_nlabels, 2);
	assert_string_equal(p.dns_labels[0].k, "app");
	assert_string_equal(p.dns_labels[0].v, "coredns");
	assert_string_equal(p.dns_labels[1].k, "tier");
	assert_true(p.has_nodelocal);
	assert_string_equal(fmt(&p.nodelocal), "169.254.20.10/32");
	profile_free(&p);

	load_ok(&p, HEAD "spec:\n  dns: {nodeLocal: 'fd00::a'}\n");
	assert_string_equal(fmt(&p.nodelocal), "fd00::a/128");
	assert_string_equal(p.dns_labels[0].k, "k8s-app");
	profile_free(&p);
}

static void
test_dns_errors(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  dns:\n    namespace: Kube_System\n    podLabels: {}\n"
		    "    nodeLocal: 169.254.20.10/32\n    search: []\n",
		    (const char *const[]){
			    "9:5: unknown field \"spec.dns.search\"; expected one of: namespace, podLabels, ports, nodeLocal, localRedirect",
			    "6:16: spec.dns.namespace: \"Kube_System\" is not a valid namespace name",
			    "7:16: spec.dns.podLabels: must select the DNS Pods (empty matches every Pod)",
			    "8:16: spec.dns.nodeLocal: \"169.254.20.10/32\" is a CIDR; write the address alone",
			    NULL });
	load_errors(HEAD "spec:\n  dns: {nodeLocal: 1.2.3}\n",
		    (const char *const[]){
			    "5:20: spec.dns.nodeLocal: \"1.2.3\" is not an IP address: not an IP address",
			    NULL });
}

static void
test_admission(void **state)
{
	struct profile p;

	(void)state;
	load_ok(&p, HEAD "spec: {}\n");
	assert_null(p.writers);
	assert_int_equal(p.nwriters, 0);
	profile_free(&p);

	load_ok(&p, HEAD "spec:\n  admission:\n    writers:\n"
		"    - system:serviceaccount:argocd:argocd-application-controller\n"
		"    - 'oidc:dev@example.com'\n");
	assert_int_equal(p.nwriters, 2);
	assert_string_equal(p.writers[0], "system:serviceaccount:argocd:argocd-application-controller");
	assert_string_equal(p.writers[1], "oidc:dev@example.com");
	profile_free(&p);
}

static void
test_admission_errors(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  admission:\n    writers: [a, '', a, \"b\\\\c\", \"d e\", 1]\n"
		    "    readers: []\n",
		    (const char *const[]){
			    "7:5: unknown field \"spec.admission.readers\"; expected one of: writers",
			    "6:18: spec.admission.writers[1]: must not be empty",
			    "6:22: spec.admission.writers[2]: \"a\" is listed twice",
			    "6:25: spec.admission.writers[3]: \"b\\c\" is not a username agentfence can write: at most 512 characters, no white space, control characters, quotes or backslashes",
			    "6:33: spec.admission.writers[4]: \"d e\" is not a username agentfence can write: at most 512 characters, no white space, control characters, quotes or backslashes",
			    "6:40: spec.admission.writers[5]: expected a string, got an integer 1 (quote it to make it a string)",
			    NULL });
	load_errors(HEAD "spec:\n  admission: {writers: []}\n",
		    (const char *const[]){
			    "5:24: spec.admission.writers: must name between 1 and 64 usernames (the identities that apply agents: agentfence's, Argo CD's or Flux's controller)",
			    NULL });
	load_errors(HEAD "spec:\n  admission: []\n",
		    (const char *const[]){ "5:14: spec.admission: expected a mapping, got a list", NULL });
}

static void
test_unknown_fields(void **state)
{
	(void)state;
	load_errors(HEAD "spec:\n  podCIDR: [10.0.0.0/16]\n",
		    (const char *const[]){
			    "5:3: unknown field \"spec.podCIDR\"; expected one of: podCIDRs, serviceCIDRs, nodeCIDRs, blockedCIDRs, ipFamilies, nat64, dns, defaults, enforcement, admission, probe, images",
			    NULL });
	load_errors("apiVersion: agentfence.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {nam: p}\nspec: {}\nstatus: {}\n",
		    (const char *const[]){
			    "5:1: unknown field \"status\"; expected one of: apiVersion, kind, metadata, spec",
			    "3:12: unknown field \"metadata.nam\"; expected one of: name, labels, annotations",
			    NULL });
}

/* Every error is reported, a section that is not a mapping included. */
static void
test_several_errors(void **state)
{
	(void)state;
	load_errors("apiVersion: agentfence.dev/v1\nkind: ClusterProfile\nspec:\n"
		    "  podCIDRs: [10.0.0.1/8]\n  dns: 3\n  defaults:\n    namespace: A\n"
		    "    resources: [1]\n",
		    (const char *const[]){
			    "1:13: apiVersion: \"agentfence.dev/v1\" is not supported; expected agentfence.dev/v1alpha1",
			    "4:14: spec.podCIDRs[0]: \"10.0.0.1/8\" has bits set past the prefix length; did you mean \"10.0.0.0/8\"?",
			    "5:8: spec.dns: expected a mapping, got an integer",
			    "7:16: spec.defaults.namespace: \"A\" is not a valid namespace name",
			    "8:16: spec.defaults.resources: expected a mapping, got a list",
			    NULL });
}

static void
test_documents(void **state)
{
	(void)state;
	load_errors(HEAD "spec: {}\n---\n" HEAD "spec: {}\n",
		    (const char *const[]){ "6:1: a cluster profile file holds one document", NULL });
	load_errors("# nothing\n", (const char *const[]){ "1:1: no ClusterProfile document", NULL });
	load_errors("apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\nspec: {}\n",
		    (const char *const[]){
			    "2:7: kind: expected ClusterProfile in a --cluster file, got \"AgentIsolation\"",
			    NULL });
}

static void
test_probe(void **state)
{
	struct profile p;
	static const char *const no_image[] = {
		"7:5: spec.probe.image is required", NULL };
	static const char *const bad[] = {
		"6:37: unknown field \"spec.probe.timeout\"; expected one of: image, waitSeconds",
		"6:13: spec.probe.image: \"a b\" contains white space",
		"6:33: spec.probe.waitSeconds: -1 is out of range (0 to 600)", NULL };
	static const char *const not_map[] = { "4:36: spec.probe: expected a mapping, got a string", NULL };

	(void)state;
	load_ok(&p, HEAD "spec: {}\n");
	assert_null(p.probe_image);
	profile_free(&p);
	load_ok(&p, HEAD "spec:\n  probe: {image: ghcr.io/acme/agentfence:0.1.0}\n");
	assert_string_equal(p.probe_image, "ghcr.io/acme/agentfence:0.1.0");
	assert_int_equal(p.probe_wait_s, 30);
	profile_free(&p);
	load_ok(&p, HEAD "spec:\n  probe: {image: x, waitSeconds: 0}\n");
	assert_int_equal(p.probe_wait_s, 0);
	profile_free(&p);
	load_errors(HEAD "spec:\n  probe:\n  \n    waitSeconds: 5\n", no_image);
	load_errors(HEAD "spec:\n  probe:\n    {image: \"a b\", waitSeconds: -1, timeout: 1}\n", bad);
	load_errors(HEAD "spec: {enforcement: cilium, probe: x}\n", not_map);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_empty_spec_is_builtin),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_errors),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_families_errors),
		cmocka_unit_test(test_blocked_ranges),
		cmocka_unit_test(test_blocked_errors),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_dns_errors),
		cmocka_unit_test(test_admission),
		cmocka_unit_test(test_admission_errors),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
