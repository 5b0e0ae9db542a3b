/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cidr: the one IPv4/IPv6 prefix type of agentfence.
 *
 * Every address range in the program goes through this module: strict
 * parsing (the way Kubernetes' strict CIDR validation reads them),
 * canonical formatting (RFC 5952 for IPv6), containment, overlap and
 * subtraction. Pure functions: no allocation except in cidr_list_*,
 * nothing printed.
 *
 * Ownership: a struct cidr_list owns its items; release with
 * cidr_list_free(). Everything else works on caller-provided storage.
 */
#ifndef AGENTFENCE_CIDR_H
#define AGENTFENCE_CIDR_H

#include <stddef.h>
#include <stdint.h>

enum cidr_family { CIDR_V4 = 4, CIDR_V6 = 6 };

/* A prefix. Bits past `len` are always zero in a valid value. */
struct cidr {
	uint8_t family;    /* CIDR_V4 or CIDR_V6 */
	uint8_t len;       /* prefix length: 0..32 or 0..128 */
	uint8_t addr[16];  /* network byte order; IPv4 uses addr[0..3] */
};

/* Longest text cidr_format() writes, with the NUL. */
#define CIDR_STRLEN 50

enum cidr_err {
	CIDR_OK = 0,
	CIDR_E_SYNTAX = -1,     /* not an address at all */
	CIDR_E_NOPREFIX = -2,   /* "1.2.3.4" where "1.2.3.4/32" is needed */
	CIDR_E_PREFIX = -3,     /* prefix length missing digits, too long, /33, /129, leading zero */
	CIDR_E_LEADZERO = -4,   /* "010.0.0.0/8": IPv4 octet with a leading zero */
	CIDR_E_HOSTBITS = -5,   /* "10.1.2.3/8": bits set past the prefix */
	CIDR_E_ZONE = -6,       /* "fe80::1%eth0/64" */
	CIDR_E_SPACE = -7,      /* leading, trailing or inner white space */
};

/*
 * Parse "ADDR/LEN" strictly. `s` has length `n` (not necessarily
 * NUL-terminated). IPv4: dotted quad, each octet 0..255 decimal without
 * leading zeros. IPv6: any RFC 4291 text form, including an embedded
 * dotted quad in the last 32 bits (::ffff:1.2.3.4/128); no zone.
 * LEN: decimal, no sign, no leading zero (except "0" itself).
 * On CIDR_E_HOSTBITS, *out holds the masked prefix (the value the user
 * probably meant) so the caller can name it.
 */
int cidr_parse(const char *s, size_t n, struct cidr *out);

/* Parse a bare address (no "/LEN"); *out gets len 32 or 128. */
int cidr_parse_addr(const char *s, size_t n, struct cidr *out);

/* A short English phrase for an error code ("missing prefix length"). */
const char *cidr_strerror(int err);

/*
 * Canonical text: IPv4 dotted quad; IPv6 per RFC 5952 (lower case, the
 * longest run of two or more zero groups compressed, the first on ties,
 * no leading zeros in groups). IPv4-mapped addresses (::ffff:0:0/96)
 * are written in the RFC 5952 §5 mixed form (::ffff:1.2.3.4). Always
 * followed by "/LEN" unless `with_len` is 0. Returns the length written
 * (without NUL); `buf` must hold CIDR_STRLEN bytes.
 */
size_t cidr_format(const struct cidr *c, char *buf, int with_len);

/* Set bits past c->len to zero. */
void cidr_mask(struct cidr *c);

/* Ordering: family (v4 first), then address, then prefix length. */
int cidr_cmp(const struct cidr *a, const struct cidr *b);

/* 1 when `outer` contains all of `inner` (same family, outer->len <= inner->len). */
int cidr_contains(const struct cidr *outer, const struct cidr *inner);

/* 1 when the two share at least one address. */
int cidr_overlaps(const struct cidr *a, const struct cidr *b);

/* The NAT64 image of an IPv4 prefix in 64:ff9b::/96 (RFC 6052): len + 96. */
struct cidr cidr_nat64(const struct cidr *v4);

/* A growable list of prefixes. */
struct cidr_list {
	struct cidr *items;
	size_t n, cap;
};

/* Append; returns 0 or -1 when out of memory (the list is unchanged). */
int cidr_list_add(struct cidr_list *l, const struct cidr *c);

/*
 * Normalize: sort (cidr_cmp), drop entries contained in another, and
 * merge two sibling halves into their parent, repeatedly, so the list
 * is the shortest set of prefixes covering the same addresses.
 */
void cidr_list_normalize(struct cidr_list *l);

/*
 * out := `from` minus every entry of `minus` (same family entries only),
 * as a normalized list of prefixes. Returns 0 or -1 (out of memory,
 * `out` then empty).
 */
int cidr_subtract(const struct cidr *from, const struct cidr_list *minus,
		  struct cidr_list *out);

void cidr_list_free(struct cidr_list *l);

#endif
