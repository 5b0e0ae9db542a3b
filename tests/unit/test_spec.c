/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the agent spec (compiler/spec.c) through spec.h: each
 * egress mode with its fields, the allowlist rules, defaults taken from
 * the cluster profile, and the exact text and place of each error, every
 * error of a document reported at once. Documents are read from strings
 * (reader_string); profiles too (profile_read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "cidr.h"
#include "diag.h"
#include "profile.h"
#include "reader.h"
#include "spec.h"
#include "fmt.h"

#define HEAD "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n" \
	"metadata: {name: job-1, namespace: agents}\n"
#define IMAGE "spec:\n  image: ghcr.io/acme/agent:1\n"

/* One document against a profile: what spec_read() returns. */
struct run {
	struct arena a;
	struct diags d;
	struct spec_agent ag;
	int rc;
};

static void
run(struct run *r, const struct profile *p, const char *text)
{
	struct node *docs[1];
	size_t n;

	memset(r, 0, sizeof(*r));
	assert_int_equal(reader_string("s.yaml", text, strlen(text), &r->a, &r->d, docs, 1, &n), 0);
	assert_int_equal(n, 1);
	r->rc = spec_read(&r->ag, docs[0], "s.yaml", p, &r->a, &r->d);
}

static void
done(struct run *r)
{
	spec_free(&r->ag);
	arena_free(&r->a);
	diags_free(&r->d);
}

static struct profile builtin;

static int
setup(void **state)
{
	struct diags d = DIAGS_INIT;

	/* the built-in profile with both families open: ranges inside the
	 * catalogue name IPv4 and IPv6 and block nothing more */
	static const char dual[] = "apiVersion: agentfence.dev/v1alpha1\nkind: ClusterProfile\n"
		"spec:\n  podCIDRs: [10.0.0.0/8, 'fc00::/7']\n";

	(void)state;
	if (profile_read(&builtin, "dual.yaml", dual, strlen(dual), &d) < 0)
		return -1;
	diags_free(&d);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	profile_free(&builtin);
	return 0;
}

/* The document must be read without a diagnostic (under the built-in profile when p is NULL). */
static void
read_ok(struct run *r, const struct profile *p, const char *text)
{
	run(r, p ? p : &builtin, text);
	if (r->rc != 0 || r->d.n)
		fail_msg("unexpected: %s", r->d.n ? r->d.items[0].msg : "no agent");
}

/* It must fail with exactly these errors, in order, each "LINE:COL: message". */
static void
read_errors(const struct profile *p, const char *text, const char *const *want)
{
	struct run r;
	char got[1024];
	size_t n = 0;

	run(&r, p ? p : &builtin, text);
	assert_int_equal(r.rc, -1);
	for (; want[n]; n++) {
		if (n >= r.d.n)
			fail_msg("missing error %zu: %s", n, want[n]);
		assert_int_equal(r.d.items[n].level, DIAG_ERROR);
		assert_string_equal(r.d.items[n].file, "s.yaml");
		snprintf(got, sizeof(got), "%d:%d: %s", r.d.items[n].line, r.d.items[n].col,
			 r.d.items[n].msg);
		assert_string_equal(got, want[n]);
	}
	if (r.d.n != n)
		fail_msg("%zu errors, expected %zu; the next: %s", r.d.n, n, r.d.items[n].msg);
	assert_int_equal(r.d.errors, n);
	done(&r);
}

static void
load_profile(struct profile *p, const char *spec)
{
	struct diags d = DIAGS_INIT;
	char text[1024];

	snprintf(text, sizeof(text),
		 "apiVersion: agentfence.dev/v1alpha1\nkind: ClusterProfile\nspec:\n%s", spec);
	if (profile_read(p, "p.yaml", text, strlen(text), &d) < 0)
		fail_msg("profile: %s", d.n ? d.items[0].msg : "?");
	diags_free(&d);
}

static void
test_mode_none(void **state)
{
	struct run r;

	(void)state;
	read_ok(&r, NULL, HEAD IMAGE "  egress: {mode: none}\n");
	assert_int_equal(r.ag.mode, MODE_NONE);
	assert_string_equal(spec_mode_name(r.ag.mode), "none");
	assert_string_equal(r.ag.name, "job-1");
	assert_string_equal(r.ag.ns, "agents");
	assert_string_equal(r.ag.image, "ghcr.io/acme/agent:1");
	assert_int_equal(r.ag.line, 1);
	assert_int_equal(r.ag.col, 1);
	assert_int_equal(r.ag.nports, 0);
	assert_int_equal(r.ag.allow.n, 0);
	done(&r);
}

static void
test_mode_public(void **state)
{
	struct run r;

	(void)state;
	/* ports: sorted, each once */
	read_ok(&r, NULL, HEAD IMAGE "  egress: {mode: public, ports: [443, 80, 443]}\n");
	assert_int_equal(r.ag.mode, MODE_PUBLIC);
	assert_int_equal(r.ag.nports, 2);
	assert_int_equal(r.ag.ports[0], 80);
	assert_int_equal(r.ag.ports[1], 443);
	done(&r);
	read_ok(&r, NULL, HEAD IMAGE "  egress: {mode: public}\n");
	assert_int_equal(r.ag.nports, 0);   /* every port */
	done(&r);
}

static void
test_mode_allowlist(void **state)
{
	struct run r;

	(void)state;
	/* normalized: the two halves of 1.1.0.0/23 merge, a contained prefix goes */
	read_ok(&r, NULL, HEAD IMAGE "  egress:\n    mode: allowlist\n"
		"    allow: [1.1.1.0/24, 1.1.0.0/24, 1.1.0.128/25, '2606:4700::/32']\n"
		"    ports: [443]\n");
	assert_int_equal(r.ag.mode, MODE_ALLOWLIST);
	assert_int_equal(r.ag.allow.n, 2);
	assert_string_equal(fmt(&r.ag.allow.items[0]), "1.1.0.0/23");
	assert_string_equal(fmt(&r.ag.allow.items[1]), "2606:4700::/32");
	assert_int_equal(r.ag.nports, 1);
	done(&r);
}

static void
test_mode_gateway(void **state)
{
	struct run r;

	(void)state;
	read_ok(&r, NULL, HEAD IMAGE "  egress:\n    mode: gateway\n    staticIP: 52.10.0.7\n"
		"    gateway: {nodeSelector: {egress: 'true'}}\n");
	assert_int_equal(r.ag.mode, MODE_GATEWAY);
	assert_string_equal(fmt(&r.ag.static_ip), "52.10.0.7/32");
	assert_int_equal(r.ag.gw_nselector, 1);
	assert_string_equal(r.ag.gw_selector[0].k, "egress");
	assert_string_equal(r.ag.gw_selector[0].v, "true");
	done(&r);
}

static void
test_mode_errors(void **state)
{
	(void)state;
	read_errors(NULL, HEAD IMAGE "  egress: {mode: open}\n", (const char *const[]){
		"6:18: spec.egress.mode: \"open\" is not a mode; expected one of: none, public, allowlist, gateway",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {ports: [443]}\n", (const char *const[]){
		"6:11: spec.egress.mode is required; expected one of: none, public, allowlist, gateway",
		NULL });
	read_errors(NULL, HEAD IMAGE, (const char *const[]){
		"5:3: spec.egress is required: set egress.mode to none, public, allowlist or gateway",
		NULL });
	/* each field belongs to its mode */
	read_errors(NULL, HEAD IMAGE "  egress:\n    mode: public\n    allow: [1.1.1.0/24]\n"
		    "    staticIP: 52.10.0.7\n    gateway: {}\n", (const char *const[]){
		"8:12: spec.egress.allow is only valid with mode: allowlist (mode is public)",
		"9:15: spec.egress.staticIP is only valid with mode: gateway (mode is public)",
		"10:14: spec.egress.gateway is only valid with mode: gateway (mode is public)",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: none, ports: [80]}\n", (const char *const[]){
		"6:31: spec.egress.ports is not valid with mode: none (no egress at all)",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: allowlist}\n", (const char *const[]){
		"6:11: spec.egress.allow is required with mode: allowlist (a non-empty list of public CIDRs or DNS names)",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: gateway, staticIP: 10.0.0.1/32, gateway: {nodeSelector: {}}}\n",
		    (const char *const[]){
		"6:37: spec.egress.staticIP: \"10.0.0.1/32\" is a CIDR; write the address alone",
		"6:74: spec.egress.gateway.nodeSelector: must select the gateway nodes (empty matches every node)",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: gateway, staticIP: 127.0.0.1}\n", (const char *const[]){
		"6:37: spec.egress.staticIP: 127.0.0.1 is a loopback address, not a unicast host address",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: public, ports: [0, 65536]}\n", (const char *const[]){
		"6:34: spec.egress.ports[0]: 0 is out of range (1 to 65535)",
		"6:37: spec.egress.ports[1]: 65536 is out of range (1 to 65535)",
		NULL });
}

/* An allowlist opens public space only, and names the range it hit. */
static void
test_allowlist_rules(void **state)
{
	(void)state;
	read_errors(NULL, HEAD IMAGE "  egress:\n    mode: allowlist\n"
		    "    allow: [10.1.0.0/16, 0.0.0.0/0, 169.254.169.254/32, 'fc00::/7', '2001:db8::/48', 1.1.1.1/24, 1.1.1.0]\n",
		    (const char *const[]){
		"8:13: spec.egress.allow[0]: 10.1.0.0/16 overlaps 10.0.0.0/8, which no agent may reach",
		"8:26: spec.egress.allow[1]: 0.0.0.0/0 overlaps 0.0.0.0/8, which no agent may reach",
		"8:37: spec.egress.allow[2]: 169.254.169.254/32 overlaps 169.254.0.0/16, which no agent may reach",
		"8:57: spec.egress.allow[3]: fc00::/7 overlaps fc00::/7, which no agent may reach",
		"8:69: spec.egress.allow[4]: 2001:db8::/48 overlaps 2001:db8::/32, which no agent may reach",
		"8:86: spec.egress.allow[5]: \"1.1.1.1/24\" has bits set past the prefix length; did you mean \"1.1.1.0/24\"?",
		"8:98: spec.egress.allow[6]: \"1.1.1.0\" is not a CIDR: missing prefix length",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: allowlist, allow: []}\n", (const char *const[]){
		"6:36: spec.egress.allow: needs 1 to 1000 CIDRs or DNS names, got 0",
		NULL });
}

/* The profile's own ranges and families count. */
static void
test_allowlist_profile(void **state)
{
	struct profile p;
	struct run r;

	(void)state;
	load_profile(&p, "  blockedCIDRs: [5.6.0.0/16]\n  ipFamilies: [IPv6]\n  nat64: true\n"
		     "  podCIDRs: ['2a00:1::/64']\n");
	read_errors(&p, HEAD IMAGE "  egress: {mode: allowlist, allow: [5.6.7.0/24, '2a00:1::/48', 9.9.9.0/24]}\n",
		    (const char *const[]){
		"6:37: spec.egress.allow[0]: 5.6.7.0/24 overlaps 5.6.0.0/16, which no agent may reach",
		"6:49: spec.egress.allow[1]: 2a00:1::/48 overlaps 2a00:1::/64, which no agent may reach",
		NULL });
	/* IPv4 through NAT64 on an IPv6-only cluster */
	read_ok(&r, &p, HEAD IMAGE "  egress: {mode: allowlist, allow: [9.9.9.0/24]}\n");
	done(&r);
	/* a gateway needs IPv4 */
	read_errors(&p, HEAD IMAGE "  egress: {mode: gateway, staticIP: 52.10.0.7}\n", (const char *const[]){
		"6:18: spec.egress.mode: gateway needs IPv4, but the cluster profile has no IPv4",
		NULL });
	profile_free(&p);

	load_profile(&p, "  ipFamilies: [IPv4]\n");
	read_errors(&p, HEAD IMAGE "  egress: {mode: allowlist, allow: ['2606:4700::/32']}\n",
		    (const char *const[]){
		"6:37: spec.egress.allow[0]: 2606:4700::/32 is IPv6, but the cluster profile has no IPv6",
		NULL });
	profile_free(&p);
}

static void
test_profile_defaults(void **state)
{
	struct profile p;
	struct run r;

	(void)state;
	/* the built-in defaults */
	read_ok(&r, NULL, "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
		"metadata: {name: job-1}\n" IMAGE "  egress: {mode: none}\n");
	assert_string_equal(r.ag.ns, "default");
	assert_string_equal(r.ag.runtime_class, "kata-fc");
	assert_string_equal(r.ag.cpu, "1");
	assert_string_equal(r.ag.memory, "1Gi");
	done(&r);

	load_profile(&p, "  defaults:\n    namespace: sandbox\n    runtimeClassName: gvisor\n"
		     "    resources: {cpu: 250m, memory: 512Mi}\n");
	read_ok(&r, &p, "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
		"metadata: {name: job-1}\n" IMAGE "  egress: {mode: none}\n");
	assert_string_equal(r.ag.ns, "sandbox");
	assert_string_equal(r.ag.runtime_class, "gvisor");
	assert_string_equal(r.ag.cpu, "250m");
	assert_string_equal(r.ag.memory, "512Mi");
	done(&r);
	/* the spec's own values win */
	read_ok(&r, &p, HEAD IMAGE "  runtimeClassName: kata-qemu\n  resources: {cpu: 2}\n"
		"  egress: {mode: none}\n");
	assert_string_equal(r.ag.ns, "agents");
	assert_string_equal(r.ag.runtime_class, "kata-qemu");
	assert_string_equal(r.ag.cpu, "2");
	assert_string_equal(r.ag.memory, "512Mi");
	done(&r);
	profile_free(&p);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Pod limits: defaults, overrides, the scratch that a read-only root gets,
 * image digests, mount paths, env from Secret and ConfigMap keys. */
static void
test_pod_limits(void **state)
{
	static const char *const good_images[] = {
		"ghcr.io/acme/agent@sha256:" D64, "ghcr.io/acme/agent:1@sha256:" D64,
		"localhost:5000/a@sha512:" D64 D64, NULL };
	static const char *const bad_images[] = {
		"ghcr.io/acme/agent@sha256:" D64 "0",
		"ghcr.io/acme/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"ghcr.io/acme/agent@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"@sha256:" D64, "a@b@sha256:" D64, "a@sha256:" D64 "@sha256:" D64, "a@md5:" D64,
		"a@sha256:" D64 "/x", "a@sha512:" D64, "a@", NULL };
	static const char *const good_paths[] = { "/tmp", "/tmp/", "/home/agent", "/procfs",
		"/a/.b/c", "/devices", NULL };
	static const char *const bad_paths[] = { "tmp", "/", "///", "/a/./b", "/a/..", "/../x",
		"/proc", "//proc/x", "/sys/fs", "/dev", "/a:b", NULL };
	struct profile p;
	struct run r;
	char text[1024];
	size_t i;

	(void)state;
	read_ok(&r, NULL, HEAD IMAGE "  egress: {mode: none}\n");
	assert_string_equal(r.ag.ephemeral, "1Gi");
	assert_int_equal(r.ag.deadline, 0);       /* the template's or the profile's */
	assert_int_equal(r.ag.has_scratch, 1);    /* a read-only root writes to /tmp */
	assert_string_equal(r.ag.scratch.mount_path, "/tmp");
	assert_string_equal(r.ag.scratch.size_limit, "1Gi");
	assert_int_equal(r.ag.npull_secrets, 0);
	done(&r);
	read_ok(&r, NULL, HEAD IMAGE "  resources: {ephemeralStorage: 5Gi}\n  activeDeadlineSeconds: 60\n"
		"  scratch: {mountPath: /work}\n  imagePullSecrets: [a, b.c]\n"
		"  env:\n  - {name: K, valueFrom: {secretKeyRef: {name: s, key: k.1}}}\n"
		"  - {name: M, valueFrom: {configMapKeyRef: {name: c, key: _m, optional: false}}}\n"
		"  egress: {mode: none}\n");
	assert_string_equal(r.ag.ephemeral, "5Gi");
	assert_int_equal(r.ag.deadline, 60);
	assert_string_equal(r.ag.scratch.mount_path, "/work");
	assert_string_equal(r.ag.scratch.size_limit, "5Gi");
	assert_int_equal(r.ag.npull_secrets, 2);
	assert_string_equal(r.ag.pull_secrets[1], "b.c");
	assert_int_equal(r.ag.env[0].from, ENV_SECRET);
	assert_string_equal(r.ag.env[0].ref_key, "k.1");
	assert_int_equal(r.ag.env[1].from, ENV_CONFIGMAP);
	assert_int_equal(r.ag.env[1].has_optional, 1);
	assert_int_equal(r.ag.env[1].optional, 0);
	done(&r);

	load_profile(&p, "  defaults:\n    readOnlyRootFilesystem: false\n"
		     "    activeDeadlineSeconds: 600\n    resources: {ephemeralStorage: 3Gi}\n");
	assert_int_equal(p.read_only_root, 0);
	assert_int_equal(p.default_deadline, 600);
	read_ok(&r, &p, HEAD IMAGE "  egress: {mode: none}\n");
	assert_int_equal(r.ag.has_scratch, 0);    /* a writable root: no scratch unless asked */
	assert_string_equal(r.ag.ephemeral, "3Gi");
	done(&r);
	profile_free(&p);

	load_profile(&p, "  images: {requireDigest: true}\n");
	for (i = 0; good_images[i]; i++) {
		snprintf(text, sizeof(text), HEAD "spec:\n  image: \"%s\"\n  egress: {mode: none}\n",
			 good_images[i]);
		read_ok(&r, &p, text);
		done(&r);
	}
	for (i = 0; bad_images[i]; i++) {
		snprintf(text, sizeof(text), HEAD "spec:\n  image: \"%s\"\n  egress: {mode: none}\n",
			 bad_images[i]);
		run(&r, &builtin, text);
		if (r.rc != -1 || r.d.n != 1 || !strstr(r.d.items[0].msg, "malformed digest"))
			fail_msg("image %s: %s", bad_images[i], r.d.n ? r.d.items[0].msg : "accepted");
		done(&r);
	}
	{
		const char *const want[] = { "5:10: spec.image: \"ghcr.io/acme/agent:1\" is not pinned by digest, which the cluster profile (p.yaml) requires (images.requireDigest); expected NAME@sha256:<64 lowercase hex digits>",
			NULL };

		read_errors(&p, HEAD IMAGE "  egress: {mode: none}\n", want);
	}
	profile_free(&p);

	for (i = 0; good_paths[i]; i++) {
		snprintf(text, sizeof(text), HEAD IMAGE "  scratch: {mountPath: \"%s\"}\n  egress: {mode: none}\n",
			 good_paths[i]);
		read_ok(&r, NULL, text);
		done(&r);
	}
	for (i = 0; bad_paths[i]; i++) {
		snprintf(text, sizeof(text), HEAD IMAGE "  scratch: {mountPath: \"%s\"}\n  egress: {mode: none}\n",
			 bad_paths[i]);
		run(&r, &builtin, text);
		if (r.rc != -1 || r.d.n != 1 || !strstr(r.d.items[0].msg, "spec.scratch.mountPath"))
			fail_msg("mountPath %s: %s", bad_paths[i], r.d.n ? r.d.items[0].msg : "accepted");
		done(&r);
	}
}

static void
test_unknown_fields(void **state)
{
	(void)state;
	read_errors(NULL, HEAD IMAGE "  egres: {mode: none}\n", (const char *const[]){
		"6:3: unknown field \"spec.egres\"; expected one of: image, command, args, env, resources, runtimeClassName, activeDeadlineSeconds, scratch, imagePullSecrets, egress, ingress",
		"5:3: spec.egress is required: set egress.mode to none, public, allowlist or gateway",
		NULL });
	read_errors(NULL, HEAD IMAGE "  egress: {mode: none, allowed: []}\n", (const char *const[]){
		"6:24: unknown field \"spec.egress.allowed\"; expected one of: mode, allow, ports, staticIP, gateway, dns",
		NULL });
	read_errors(NULL, "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
		    "metadata: {name: job-1, labels: {}}\n" IMAGE "  egress: {mode: none}\nstatus: {}\n",
		    (const char *const[]){
		"7:1: unknown field \"status\"; expected one of: apiVersion, kind, metadata, spec",
		"3:25: unknown field \"metadata.labels\"; expected one of: name, namespace",
		NULL });
}

/* Every error of a document is reported, not only the first. */
static void
test_several_errors(void **state)
{
	(void)state;
	read_errors(NULL, "apiVersion: agentfence.dev/v1alpha1\nkind: AgentIsolation\n"
		    "metadata: {name: Job_1}\nspec:\n  image: a b\n"
		    "  resources: {cpu: lots, memory: -1}\n  runtimeClassName: Kata\n"
		    "  env: [{name: 1X, value: v}, {name: A}]\n"
		    "  egress: {mode: allowlist, allow: [10.0.0.0/8]}\n"
		    "  ingress: [{from: {namespace: web, podLabels: {}}}]\n",
		    (const char *const[]){
		"3:18: metadata.name: \"Job_1\" is not a valid job id (a DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)",
		"5:10: spec.image: \"a b\" contains white space",
		"8:16: spec.env[0].name: \"1X\" is not a valid environment variable name",
		"8:31: spec.env[1]: needs value or valueFrom",
		"6:20: spec.resources.cpu: \"lots\" is not a positive quantity (like 500m, 2, 1Gi)",
		"6:34: spec.resources.memory: \"-1\" is not a positive quantity (like 500m, 2, 1Gi)",
		"7:21: spec.runtimeClassName: \"Kata\" is not a valid RuntimeClass name",
		"9:37: spec.egress.allow[0]: 10.0.0.0/8 overlaps 10.0.0.0/8, which no agent may reach",
		"10:13: spec.ingress[0].ports is required",
		NULL });
}

static void
test_empty_document(void **state)
{
	struct run r;

	(void)state;
	run(&r, &builtin, "# nothing but a comment\n---\n");
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.d.n, 0);
	done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_none),
		cmocka_unit_test(test_mode_public),
		cmocka_unit_test(test_mode_allowlist),
		cmocka_unit_test(test_mode_gateway),
		cmocka_unit_test(test_mode_errors),
		cmocka_unit_test(test_allowlist_rules),
		cmocka_unit_test(test_allowlist_profile),
		cmocka_unit_test(test_profile_defaults),
		cmocka_unit_test(test_pod_limits),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_empty_document),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
