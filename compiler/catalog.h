/* SPDX-License-Identifier: Apache-2.0 */
/*
 * catalog: the destinations that are never "public" (the IANA IPv4 and IPv6
 * Special-Purpose Address Registries, RFC 6890, and the cloud metadata
 * endpoints), as data.
 *
 * One table, read by the profile to build every except list and by the
 * allowlist check. The tests' policy evaluator keeps its own copy, written
 * from the same registries, on purpose.
 */
#ifndef AGENTFENCE_CATALOG_H
#define AGENTFENCE_CATALOG_H

#include <stddef.h>

struct catalog_entry {
	const char *cidr;
	const char *why;
};

extern const struct catalog_entry catalog_v4[];
extern const size_t catalog_v4_len;
extern const struct catalog_entry catalog_v6[];
extern const size_t catalog_v6_len;

/*
 * The endpoints inside those ranges that an agent would most want (the
 * metadata and credential services of the clouds): `agentfence probe`
 * tries each of them from inside the fence. Each lies in a range above
 * (tests/unit/test_probe.c checks it).
 */
struct catalog_endpoint {
	const char *addr;       /* a bare address */
	unsigned short port;    /* TCP */
	const char *what;
};

extern const struct catalog_endpoint catalog_endpoints[];
extern const size_t catalog_endpoints_len;

/* The IPv6 space that can be public at all: global unicast. */
#define CATALOG_V6_GLOBAL "2000::/3"
/* The well-known NAT64 prefix (RFC 6052). */
#define CATALOG_NAT64 "64:ff9b::/96"

#endif
