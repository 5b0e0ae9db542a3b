/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names: DNS names as egress allowlist entries.
 *
 * An entry of spec.egress.allow that is not a CIDR may be a DNS name:
 * "api.openai.com" (that name only) or "*.example.com" (any name that
 * ends in ".example.com", with one or more labels before it; not
 * example.com itself). This module decides whether a string is such an
 * entry and, when it is not, says why in one line. Host name syntax is
 * RFC 1123 section 2.1 (letters, digits, '-'), lengths RFC 1035 section
 * 2.3.4 (63 per label, 253 for the name written without the root dot).
 *
 * Pure functions on a length-counted buffer (it may hold NUL bytes and
 * need not be NUL-terminated): no allocation, nothing printed, nothing
 * kept. The reason goes to caller-provided storage.
 */
#ifndef AGENTFENCE_NAMES_H
#define AGENTFENCE_NAMES_H

#include <stddef.h>

enum name_kind { NAME_EXACT, NAME_WILDCARD };

/* Room for the longest reason names_check() writes, with the NUL. */
#define NAMES_WHY 200

/*
 * 0 and *kind set when s[0..n) is a valid entry; -1 otherwise, with a
 * one-line reason in why (lower case start, no trailing period, made to
 * follow "spec.egress.allow[3]: \"...\" is not a valid DNS name: ").
 * why may be NULL; a reason longer than whylen - 1 is cut.
 *
 * Refused: an empty name; a character other than a-z 0-9 '-' '.' and
 * the wildcard (an upper-case letter says to write it in lower case);
 * more than 253 characters; a leading or trailing dot; an empty label;
 * a label longer than 63 or starting or ending with '-'; '*' anywhere
 * but as the whole first label; an all-numeric or 0x-hex last label
 * (an IP address); a name in a special-use domain (localhost, local,
 * internal, home.arpa, in-addr.arpa, ip6.arpa, test, invalid, onion,
 * alt); a single label, and a wildcard over a single label ("*.com").
 */
int names_check(const char *s, size_t n, enum name_kind *kind, char *why,
		size_t whylen);

/*
 * 1 when s[0..n) reads as an address or CIDR attempt rather than a
 * name, so the caller should report the CIDR parse error instead:
 * ignoring white space at either end, it holds '/' or ':', or its last
 * label is all decimal digits or 0x (or 0X) and hex digits. That covers
 * every numeric form inet_aton() reads as an IPv4 address ("10.0.0.1",
 * "127.1", "0x7f.1", "0x7f000001", "0177.1"). names_check() refuses
 * every string for which this is 1.
 */
int names_is_address_like(const char *s, size_t n);

#endif
