/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memfile: fuzz inputs as files, for targets that read through the real
 * reader_open() path. Needs _GNU_SOURCE (memfd_create) defined before
 * any include.
 */
#ifndef AGENTFENCE_FUZZ_MEMFILE_H
#define AGENTFENCE_FUZZ_MEMFILE_H

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding `data`, and the path that opens it. -1 on failure. */
static int
mem_file(const void *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t n = write(fd, (const char *)data + off, size - off);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
