/* SPDX-License-Identifier: Apache-2.0 */
#include "catalog.h"

/*
 * Every row of the IANA special-purpose registries (tests/data/iana-*.csv)
 * whose "Globally Reachable" is not True lies in an entry below, as itself
 * or inside a wider one (192.0.0.0/24 holds 192.0.0.8 and 192.0.0.170;
 * 240.0.0.0/4 holds 255.255.255.255; 2001::/23 holds Teredo, benchmarking
 * and the deprecated ORCHID). Rows that are globally reachable stay open
 * (AS112, AMT, 2620:4f:8000::/48) unless a wider entry holds them
 * (192.0.0.9 and .10 in 192.0.0.0/24, the 2001::/23 anycast, AMT, AS112,
 * ORCHIDv2 and DET rows, 64:ff9b::/96 without nat64). Multicast, cloud
 * metadata and Azure's WireServer are not registry rows.
 * tests/tools/test_iana.py holds this table to the registry files.
 */

const struct catalog_entry catalog_v4[] = {
	{ "0.0.0.0/8", "\"this network\"; 0.0.0.0 reaches the local host on Linux" },
	{ "10.0.0.0/8", "private (RFC 1918)" },
	{ "100.64.0.0/10", "shared address space (CGNAT); Alibaba Cloud metadata 100.100.100.200" },
	{ "127.0.0.0/8", "loopback" },
	{ "169.254.0.0/16", "link-local: cloud metadata 169.254.169.254, ECS, EKS Pod Identity, NodeLocal DNS" },
	{ "172.16.0.0/12", "private (RFC 1918)" },
	{ "192.0.0.0/24", "IETF protocol assignments; Oracle legacy metadata 192.0.0.192" },
	{ "192.0.2.0/24", "documentation (TEST-NET-1)" },
	{ "192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526), incl. the 6a44 relay 192.88.99.2" },
	{ "192.168.0.0/16", "private (RFC 1918)" },
	{ "198.18.0.0/15", "benchmarking" },
	{ "198.51.100.0/24", "documentation (TEST-NET-2)" },
	{ "203.0.113.0/24", "documentation (TEST-NET-3)" },
	{ "224.0.0.0/4", "multicast" },
	{ "240.0.0.0/4", "reserved, including broadcast 255.255.255.255" },
	{ "168.63.129.16/32", "Azure WireServer (host agent, DNS, DHCP)" },
};
const size_t catalog_v4_len = sizeof(catalog_v4) / sizeof(catalog_v4[0]);

/*
 * Most of these lie outside 2000::/3, the only IPv6 space a policy
 * opens; they are listed so the allowlist check sees them by name.
 */
const struct catalog_entry catalog_v6[] = {
	{ "::/128", "unspecified; reaches the local host" },
	{ "::1/128", "loopback" },
	{ "::ffff:0:0/96", "IPv4-mapped" },
	{ "64:ff9b::/96", "NAT64 well-known prefix (opened per blocked range with nat64: true)" },
	{ "64:ff9b:1::/48", "local-use NAT64" },
	{ "100::/64", "discard-only" },
	{ "100:0:0:1::/64", "dummy prefix (RFC 9780)" },
	{ "2001::/23", "IETF protocol assignments, incl. Teredo 2001::/32" },
	{ "2001:db8::/32", "documentation" },
	{ "2002::/16", "6to4 (embeds an IPv4 address)" },
	{ "3fff::/20", "documentation (RFC 9637)" },
	{ "5f00::/16", "segment routing (SRv6) SIDs (RFC 9602)" },
	{ "fc00::/7", "unique local: AWS IMDS fd00:ec2::254, GCP fd20:ce::254" },
	{ "fe80::/10", "link-local" },
	{ "ff00::/8", "multicast" },
};
const size_t catalog_v6_len = sizeof(catalog_v6) / sizeof(catalog_v6[0]);

const struct catalog_endpoint catalog_endpoints[] = {
	{ "169.254.169.254", 80, "cloud metadata: AWS, GCP, Azure, OCI, OpenStack" },
	{ "fd00:ec2::254", 80, "AWS instance metadata over IPv6" },
	{ "169.254.170.2", 80, "AWS ECS task metadata and credentials" },
	{ "169.254.170.23", 80, "EKS Pod Identity agent" },
	{ "fd00:ec2::23", 80, "EKS Pod Identity agent over IPv6" },
	{ "fd20:ce::254", 80, "GCP metadata over IPv6" },
	{ "100.100.100.200", 80, "Alibaba Cloud metadata" },
	{ "168.63.129.16", 80, "Azure WireServer" },
	{ "168.63.129.16", 32526, "Azure guest agent host plugin" },
	{ "192.0.0.192", 80, "Oracle Cloud legacy metadata" },
};
const size_t catalog_endpoints_len = sizeof(catalog_endpoints) / sizeof(catalog_endpoints[0]);
