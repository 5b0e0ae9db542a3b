/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz: the entry point every target in tests/fuzz/ defines.
 *
 * Built with clang -fsanitize=fuzzer, libFuzzer calls it (make fuzz);
 * built with replay.c and any compiler, it replays saved inputs (make
 * test). A broken invariant calls FUZZ_CHECK, which aborts, so both
 * libFuzzer and the replay driver report it as a crash.
 */
#ifndef AGENTFENCE_FUZZ_H
#define AGENTFENCE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
