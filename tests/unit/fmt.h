/* SPDX-License-Identifier: Apache-2.0 */
/* fmt: a prefix as text, for the unit tests' messages (four at a time). */
#ifndef AGENTFENCE_TEST_FMT_H
#define AGENTFENCE_TEST_FMT_H

#include "cidr.h"

static const char *
fmt(const struct cidr *c)
{
	static char s[4][CIDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	cidr_format(c, s[i], 1);
	return s[i];
}

#endif
